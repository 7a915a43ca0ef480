"""Checkpoints: exact round trips (arrays, JSON state, RNG state, optimizer resume), atomic
replacement under a crash at each stage, clear errors, and the compatibility check."""

import json
import os
import re
import tempfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s.train import checkpoint
from minis2s.train.checkpoint_read import read_whole
from minis2s.train.optim import Adam
from tests.strategies import dims


def small_checkpoint(r, value=1.0):
    params = {"enc.emb.W": np.full((3, 2), value, np.float32), "dec.out.b": r.standard_normal(4)}
    config = {"model": {"hidden": 128, "cell": "lstm", "layers": (2, 1)}, "seed": 0}
    return params, config


def leftovers(parent, name):
    return sorted(p for p in os.listdir(parent) if p != name)


# -- round trips -----------------------------------------------------------------------------


@given(
    st.lists(st.lists(dims, max_size=3), min_size=1, max_size=4),
    st.sampled_from([np.float32, np.float64]),
    st.integers(0, 2**16),
)
def test_params_round_trip_exactly(shapes, dtype, seed):
    r = np.random.default_rng(seed)
    params = {f"enc.l{i}.W": r.standard_normal(s).astype(dtype) for i, s in enumerate(shapes)}
    with tempfile.TemporaryDirectory() as d:
        checkpoint.save(os.path.join(d, "ckpt"), params, {"hidden": 3})
        got = checkpoint.load(os.path.join(d, "ckpt"))
    assert set(got.params) == set(params)
    for k, v in params.items():
        assert got.params[k].dtype == v.dtype and got.params[k].shape == v.shape
        np.testing.assert_array_equal(got.params[k], v)
    assert got.optimizer_state is None and got.trainer_state is None and got.vocabs is None


def test_everything_round_trips(tmp_path, rng):
    params, config = small_checkpoint(rng)
    history = [{"epoch": 1, "loss": np.float32(0.1), "bleu": 1 / 3}, {"loss": float("inf")}]
    trainer_state = {"step": np.int64(7), "epoch": 2, "best": None, "history": history}
    vocabs = {"src": {"tokens": ["<pad>", "a"]}, "tgt": {"tokens": ["<pad>", "b", "é"]}}
    checkpoint.save(tmp_path / "c", params, config, trainer_state=trainer_state, vocabs=vocabs)
    assert sorted(os.listdir(tmp_path / "c")) == [
        "params.npz",
        "src_vocab.json",
        "state.json",
        "tgt_vocab.json",
    ]
    got = checkpoint.load(tmp_path / "c")
    assert got.config == {"model": {"hidden": 128, "cell": "lstm", "layers": [2, 1]}, "seed": 0}
    assert got.trainer_state["step"] == 7 and isinstance(got.trainer_state["step"], int)
    assert got.trainer_state["history"][0] == {
        "epoch": 1,
        "loss": float(np.float32(0.1)),
        "bleu": 1 / 3,
    }
    assert got.trainer_state["history"][1]["loss"] == float("inf")
    assert got.vocabs == vocabs


@pytest.mark.parametrize(
    "bitgen",
    [np.random.PCG64, np.random.MT19937, np.random.Philox, np.random.SFC64, np.random.PCG64DXSM],
)
def test_rng_state_round_trips_through_json_exactly(bitgen, tmp_path, rng):
    gen = np.random.Generator(bitgen(2024))
    gen.standard_normal(5)  # move off the seed, and leave a cached half of a 64-bit draw
    gen.integers(0, 10, dtype=np.uint32)
    params, config = small_checkpoint(rng)
    checkpoint.save(tmp_path / "c", params, config, trainer_state={"rng": gen.bit_generator.state})
    restored = np.random.Generator(bitgen(0))
    restored.bit_generator.state = checkpoint.load(tmp_path / "c").trainer_state["rng"]
    np.testing.assert_array_equal(
        restored.integers(0, 10, 7, dtype=np.uint32), gen.integers(0, 10, 7, dtype=np.uint32)
    )
    np.testing.assert_array_equal(restored.standard_normal(9), gen.standard_normal(9))


def test_optimizer_resume_through_disk_is_exact(tmp_path, rng):
    w0 = rng.standard_normal((3, 4)).astype(np.float32)
    grads = [{"w": rng.standard_normal((3, 4)).astype(np.float32)} for _ in range(6)]
    straight = {"w": w0.copy()}
    opt = Adam(straight, lr=0.01, weight_decay=0.1)
    for g in grads:
        opt.step(straight, g)

    p = {"w": w0.copy()}
    opt = Adam(p, lr=0.01, weight_decay=0.1)
    for g in grads[:3]:
        opt.step(p, g)
    checkpoint.save(tmp_path / "c", p, {}, optimizer_state=opt.state_dict())
    got = checkpoint.load(tmp_path / "c")
    assert got.optimizer_state["step"] == 3 and isinstance(got.optimizer_state["step"], int)
    p2 = {k: v.copy() for k, v in got.params.items()}
    opt2 = Adam(p2, lr=0.5, weight_decay=0.1)
    opt2.load_state_dict(got.optimizer_state)
    for g in grads[3:]:
        opt2.step(p2, g)
    np.testing.assert_array_equal(p2["w"], straight["w"])


# -- atomic replacement ----------------------------------------------------------------------


@pytest.mark.parametrize("writer", ["_write_npz", "_write_json"])
def test_crash_while_writing_keeps_the_old_checkpoint(writer, tmp_path, rng, monkeypatch):
    params, config = small_checkpoint(rng, value=1.0)
    checkpoint.save(
        tmp_path / "c", params, config, optimizer_state={"step": 1, "m/x": params["dec.out.b"]}
    )
    real = getattr(checkpoint, writer)
    calls = []

    def crash_on_second_file(file, data):
        calls.append(file)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        real(file, data)

    monkeypatch.setattr(checkpoint, writer, crash_on_second_file)
    new_params, _ = small_checkpoint(rng, value=2.0)
    with pytest.raises(OSError, match="simulated"):
        checkpoint.save(
            tmp_path / "c",
            new_params,
            config,
            optimizer_state={"step": 2},
            vocabs={"src": {}, "tgt": {}},
        )
    assert len(calls) == 2  # it really crashed midway, after writing one file
    assert leftovers(tmp_path, "c") == []  # no temporary directory left behind
    got = checkpoint.load(tmp_path / "c")
    np.testing.assert_array_equal(got.params["enc.emb.W"], 1.0)
    assert got.optimizer_state["step"] == 1


def test_crash_between_the_renames_is_recovered(tmp_path, rng, monkeypatch):
    params, config = small_checkpoint(rng, value=1.0)
    checkpoint.save(tmp_path / "c", params, config)
    real, calls = os.replace, []

    def crash_on_second_rename(src, dst):  # and on every one after it: no undoing it either
        calls.append(dst)
        if len(calls) >= 2:
            raise OSError("power cut (simulated)")
        real(src, dst)

    monkeypatch.setattr(checkpoint.os, "replace", crash_on_second_rename)
    with pytest.raises(OSError, match="simulated"):
        checkpoint.save(tmp_path / "c", small_checkpoint(rng, value=2.0)[0], config)
    monkeypatch.undo()
    assert not (tmp_path / "c").exists()  # the old one was moved aside, the new not yet in
    np.testing.assert_array_equal(checkpoint.load(tmp_path / "c").params["enc.emb.W"], 1.0)

    def crash(file, text):
        raise OSError("killed (simulated)")

    monkeypatch.setattr(checkpoint, "_write_json", crash)  # the next save moves the old one back
    with pytest.raises(OSError, match="simulated"):
        checkpoint.save(tmp_path / "c", small_checkpoint(rng, value=2.0)[0], config)
    monkeypatch.undo()
    assert leftovers(tmp_path, "c") == []
    np.testing.assert_array_equal(checkpoint.load(tmp_path / "c").params["enc.emb.W"], 1.0)
    checkpoint.save(tmp_path / "c", small_checkpoint(rng, value=3.0)[0], config)
    np.testing.assert_array_equal(checkpoint.load(tmp_path / "c").params["enc.emb.W"], 3.0)
    assert leftovers(tmp_path, "c") == []


def test_a_crash_before_the_old_copy_is_deleted_leaves_the_new_checkpoint(
    tmp_path, rng, monkeypatch
):
    """Cut after both renames, before `.NAME.old` is deleted: NAME holds the new checkpoint,
    which load reads, and the next save drops the old copy instead of moving it back."""
    params, config = small_checkpoint(rng, value=1.0)
    checkpoint.save(tmp_path / "c", params, config)
    monkeypatch.setattr(checkpoint.shutil, "rmtree", lambda *a, **k: None)  # cut before it
    checkpoint.save(tmp_path / "c", small_checkpoint(rng, value=2.0)[0], config)
    monkeypatch.undo()
    assert leftovers(tmp_path, "c") == [".c.old"]
    np.testing.assert_array_equal(checkpoint.load(tmp_path / "c").params["enc.emb.W"], 2.0)
    checkpoint.save(tmp_path / "c", small_checkpoint(rng, value=3.0)[0], config)
    np.testing.assert_array_equal(checkpoint.load(tmp_path / "c").params["enc.emb.W"], 3.0)
    assert leftovers(tmp_path, "c") == []


def test_a_file_put_where_a_cut_save_moved_the_checkpoint_aside_keeps_its_only_copy(tmp_path, rng):
    """Cut between the renames, the checkpoint is only at `.c.old`; a file the user then puts at
    `c` is refused by the next save, and `.c.old` is kept (it was deleted before the refusal),
    so the checkpoint still loads once the file is moved away."""
    params, config = small_checkpoint(rng, value=1.0)
    checkpoint.save(tmp_path / "c", params, config)
    os.replace(tmp_path / "c", tmp_path / ".c.old")  # the save's first rename, then the cut
    (tmp_path / "c").write_text("notes")
    with pytest.raises(ValueError, match="is not a checkpoint directory") as e:
        checkpoint.save(tmp_path / "c", small_checkpoint(rng, value=2.0)[0], config)
    assert f"the checkpoint a cut save left at {tmp_path / '.c.old'} is kept" in str(e.value)
    assert leftovers(tmp_path, "c") == [".c.old"]
    (tmp_path / "c").unlink()
    np.testing.assert_array_equal(checkpoint.load(tmp_path / "c").params["enc.emb.W"], 1.0)


def test_save_replaces_an_old_checkpoint_and_nothing_else(tmp_path, rng):
    params, config = small_checkpoint(rng, value=1.0)
    checkpoint.save(tmp_path / "c", params, config, vocabs={"tgt": {"a": 1}})
    checkpoint.save(tmp_path / "c", small_checkpoint(rng, value=2.0)[0], config)
    got = checkpoint.load(tmp_path / "c")
    np.testing.assert_array_equal(got.params["enc.emb.W"], 2.0)
    assert got.vocabs is None and leftovers(tmp_path, "c") == []
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "log.jsonl").write_text("{}\n")
    with pytest.raises(ValueError, match="is not a checkpoint directory; refusing to replace"):
        checkpoint.save(tmp_path / "run", params, config)
    assert (tmp_path / "run" / "log.jsonl").read_text() == "{}\n"


def test_bad_input_writes_nothing(tmp_path, rng):
    params, _ = small_checkpoint(rng)
    with pytest.raises(ValueError, match="must be JSON-able.*object is not JSON-able"):
        checkpoint.save(tmp_path / "c", params, {"fn": object()})
    with pytest.raises(ValueError, match="vocabs has keys \\['source'\\]; allowed: src, tgt"):
        checkpoint.save(tmp_path / "c", params, {}, vocabs={"source": {}})
    assert os.listdir(tmp_path) == []


# -- loading errors --------------------------------------------------------------------------


def test_missing_or_corrupt_checkpoints_name_the_path(tmp_path, rng):
    with pytest.raises(FileNotFoundError, match=f"no checkpoint directory at {tmp_path / 'nope'}"):
        checkpoint.load(tmp_path / "nope")
    params, config = small_checkpoint(rng)
    checkpoint.save(tmp_path / "c", params, config)
    (tmp_path / "c" / "params.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError) as e:
        checkpoint.load(tmp_path / "c")
    # not NumPy's advice to load it unsafely (allow_pickle), which a corrupt file never needs
    assert str(e.value) == (
        f"corrupt checkpoint file {tmp_path / 'c' / 'params.npz'}: not an .npz archive"
    )
    (tmp_path / "c" / "params.npz").unlink()
    with pytest.raises(ValueError, match=r"incomplete checkpoint: .*params.npz is missing"):
        checkpoint.load(tmp_path / "c")
    (tmp_path / "c" / "state.json").write_text('{"config": ')
    with pytest.raises(ValueError, match=r"corrupt checkpoint file .*state.json"):
        checkpoint.load(tmp_path / "c")
    (tmp_path / "c" / "state.json").write_text(json.dumps({"weights": 1}))
    with pytest.raises(ValueError, match="is not a minis2s checkpoint state"):
        checkpoint.load(tmp_path / "c")


# -- compatibility ---------------------------------------------------------------------------


def test_check_compatible_lists_every_difference():
    saved = {"model": {"hidden": 128, "cell": "lstm", "layers": [2, 1]}, "tokenizer": "char"}
    checkpoint.check_compatible(
        saved, {"model": {"hidden": 128, "cell": "lstm", "layers": (2, 1)}, "tokenizer": "char"}
    )
    now = {"model": {"hidden": 256, "cell": "gru", "layers": [2, 1]}, "extra": True}
    with pytest.raises(ValueError) as e:
        checkpoint.check_compatible(saved, now)
    msg = str(e.value)
    assert "checkpoint was trained with model.hidden=128, this run asks model.hidden=256" in msg
    assert "model.cell='lstm', this run asks model.cell='gru'" in msg
    assert "checkpoint was trained with no extra, this run asks extra=True" in msg
    assert "tokenizer='char', this run asks no tokenizer" in msg
    assert msg.endswith("or start a new --out directory")
    checkpoint.check_compatible(
        saved,
        {**saved, "model": {**saved["model"], "hidden": 7}, "epochs": 3},
        ignore=("model.hidden", "epochs"),
    )
    # an ignored name skips its field and the fields under it, not those it is a prefix of
    with pytest.raises(ValueError, match="model.hiddens=1, this run asks model.hiddens=2"):
        checkpoint.check_compatible(
            {"model": {"hidden": 1, "hiddens": 1}},
            {"model": {"hidden": 2, "hiddens": 2}},
            ignore=("model.hidden",),
        )
    # an empty dict is a value too: {} where the run has nothing is a difference
    with pytest.raises(ValueError, match="trained with extra={}, this run asks no extra"):
        checkpoint.check_compatible({"a": 1, "extra": {}}, {"a": 1})


def test_check_compatible_names_a_long_list_by_its_length():
    """A bpe run's merges (thousands of pairs) are not written out when a resume changes them:
    `train --resume --tokenizer wordpunct` on a bpe run printed all 4000 of them."""
    merges = [["a", str(i)] for i in range(4000)]
    saved = {"data": {"tokenizer": "bpe", "bpe_merges": merges}}
    with pytest.raises(ValueError) as e:
        checkpoint.check_compatible(saved, {"data": {"tokenizer": "wordpunct"}})
    msg = str(e.value)
    assert "trained with data.bpe_merges=[4000 items], this run asks no data.bpe_merges" in msg
    assert "data.tokenizer='bpe', this run asks data.tokenizer='wordpunct'" in msg
    assert len(msg) < 500
    other = [*merges[:12], ["b", "c"], *merges[13:]]
    with pytest.raises(ValueError) as e:
        checkpoint.check_compatible(saved, {"data": {"tokenizer": "bpe", "bpe_merges": other}})
    assert (
        "data.bpe_merges=[4000 items] (item 12 is ['a', '12']), this run asks "
        "data.bpe_merges=[4000 items] (item 12 is ['b', 'c'])"
    ) in str(e.value)
    with pytest.raises(ValueError, match=r"trained with x=\[1, 2\], this run asks x=\[1\]"):
        checkpoint.check_compatible({"x": [1, 2]}, {"x": [1]})  # a short list is written out


# -- earlier formats (tests/test_old_checkpoints.py loads a real one) -------------------------


def write_state(path, fmt, model):
    params, config = small_checkpoint(np.random.default_rng(0))
    checkpoint.save(path, params, {**config, "model": model})
    state = json.loads((path / "state.json").read_text())
    (path / "state.json").write_text(json.dumps({**state, "format": fmt}))


@pytest.mark.parametrize(
    "model, bridge",
    [
        ({"cell": "lstm", "bridge": "learned"}, "learned_h"),  # c started at 0 in format 1
        ({"hidden": 8}, "learned_h"),  # a field left out had its default: lstm, learned
        ({"cell": "gru", "bridge": "learned"}, "learned"),  # no c: nothing to keep
        ({"cell": "lstm", "bridge": "last"}, "last"),
        ({"cell": "lstm", "bridge": "zero"}, "zero"),
    ],
)
def test_format1_configs_are_upgraded_to_what_they_ran(tmp_path, model, bridge):
    write_state(tmp_path / "c", 1, model)
    got = checkpoint.load(tmp_path / "c").config["model"]
    assert got.get("bridge", "learned") == bridge
    assert {k: v for k, v in got.items() if k != "bridge"} == {
        k: v for k, v in model.items() if k != "bridge"
    }
    write_state(tmp_path / "d", 2, model)  # the current format is read as written
    assert checkpoint.load(tmp_path / "d").config["model"] == model


def test_a_newer_format_asks_for_a_newer_minis2s(tmp_path):
    write_state(tmp_path / "c", 3, {"cell": "lstm"})
    with pytest.raises(ValueError, match="is checkpoint format 3, from a newer minis2s; this one "
                       "reads formats 1 to 2: upgrade minis2s to read it"):  # fmt: skip
        checkpoint.load(tmp_path / "c")


@pytest.mark.parametrize("fmt", [0, -1, "2", 2.0, True, None])
def test_a_format_minis2s_never_writes_is_named(tmp_path, fmt):
    write_state(tmp_path / "c", fmt, {"cell": "lstm"})
    with pytest.raises(ValueError, match=rf"says checkpoint format {re.escape(repr(fmt))}; minis2s "
                       r"writes an integer from 1 to 2 \(was the file edited\?\)"):  # fmt: skip
        checkpoint.load(tmp_path / "c")


def test_an_upgraded_state_says_the_current_format(tmp_path):
    write_state(tmp_path / "c", 1, {"cell": "lstm"})
    assert read_whole(tmp_path / "c", checkpoint._state)["format"] == checkpoint.FORMAT
