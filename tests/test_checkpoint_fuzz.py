"""A run's checkpoints damaged one thing at a time, as a disk, an editor or a copy from another
run damages them: a field of state.json set to a value of another kind, an array of params.npz or
optimizer.npz of another shape or dtype, a vocabulary token changed, a file cut short. Loading
the run (Translator.load, then a translation) and resuming it (pipeline.train(resume=True))
either works or is refused by a ValueError or OSError that names the damaged checkpoint; never
an error from inside NumPy or the trainer. A damage that no run could have written (a parameter
of another shape or dtype, a file cut short) is always refused. The findings of the fuzzer this
samples are tests/test_checkpoint_fuzz_found.py's."""

import json
import os
import shutil
import tempfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s import pipeline
from minis2s.api import Translator
from minis2s.train.config import TrainConfig
from tests.test_checkpoint_fuzz_found import checkpoints, edit_npz, edit_state, trained  # noqa: F401

VALUES = [None, float("nan"), float("inf"), 1e308, 10**30, -3, 0, "x", "", [1], {"x": 1}, True]


def json_paths(obj, prefix=()):
    """Every path into `obj` (dict keys and list indices), deepest last."""
    children = (
        obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    )
    for k, v in children:
        yield prefix + (k,)
        yield from json_paths(v, prefix + (k,))


ARRAY_EDITS = {  # none of these can a run write: each must be refused
    "transpose": lambda a: a.T.copy() if a.ndim == 2 and a.shape[0] != a.shape[1] else a[..., None],
    "row": lambda a: np.concatenate([a, a[:1]]) if a.ndim else a.reshape(1),
    "scalar": lambda a: np.array(1.0, a.dtype),
    "int": lambda a: a.astype(np.int32),
    "complex": lambda a: a.astype(np.complex64),
    "str": lambda a: a.astype(str),
}


@st.composite
def damages(draw):
    kind = draw(st.sampled_from(["json", "npz", "bytes"]))
    if kind == "json":
        return kind, draw(st.integers(0, 10**6)), draw(st.sampled_from(VALUES))
    if kind == "npz":
        file = draw(st.sampled_from(["params.npz", "optimizer.npz"]))
        return kind, file, draw(st.integers(0, 10**6)), draw(st.sampled_from(sorted(ARRAY_EDITS)))
    file = draw(st.sampled_from(["state.json", "params.npz", "optimizer.npz", "src_vocab.json"]))
    return kind, file, draw(st.floats(0, 0.99))


def damage(run: str, d) -> bool:
    """Apply damage `d` to every checkpoint of `run`; whether no run could have written it."""
    if d[0] == "json":
        _, index, value = d
        with open(checkpoints(run)[0]) as f:
            paths = list(json_paths(json.load(f)))
        path = paths[index % len(paths)]

        def edit(state):
            parent = state
            for k in path[:-1]:
                parent = parent[k]
            parent[path[-1]] = value

        edit_state(run, edit)
        return False  # some fields are never read back (a log line's figures)
    if d[0] == "npz":
        _, file, index, op = d
        with np.load(os.path.join(os.path.dirname(checkpoints(run)[0]), file)) as z:
            keys = sorted(k for k in z.files if z[k].ndim)  # an optimizer's step and lr: numbers
        key = keys[index % len(keys)]
        edit_npz(run, file, lambda arrays: arrays.update({key: ARRAY_EDITS[op](arrays[key])}))
        return True
    _, file, cut = d
    for state in checkpoints(run):
        path = os.path.join(os.path.dirname(state), file)
        data = open(path, "rb").read()
        open(path, "wb").write(data[: int(len(data) * cut)])
    return True


def outcome(run: str, work) -> str | None:
    """None when `work()` worked, else its refusal, which names the run's checkpoint."""
    try:
        work()
    except (ValueError, OSError) as e:
        assert run in str(e), e
        return str(e)
    return None


@pytest.fixture(scope="module")
def data(trained) -> pipeline.Data:  # noqa: F811
    return pipeline.load_data(data=os.path.join(os.path.dirname(trained), "tiny.tsv"))


@given(damages())
def test_a_damaged_run_loads_or_is_refused_naming_it(trained, data, d):  # noqa: F811
    with tempfile.TemporaryDirectory() as tmp:
        run = os.path.join(tmp, "run")
        shutil.copytree(trained, run)
        never_written = damage(run, d)
        loaded = outcome(run, lambda: Translator.load(run).translate(["a b"]))
        if never_written and not (d[0] == "npz" and d[1] == "optimizer.npz"):
            assert loaded is not None  # a translation reads no optimizer state
        resumed = outcome(run, lambda: pipeline.train(
            data, {"hidden": 4, "emb": 4}, TrainConfig(epochs=2, batch_size=2),
            run, resume=True, progress=False))  # fmt: skip
        if never_written:
            assert resumed is not None
