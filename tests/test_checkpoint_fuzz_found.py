"""What a fuzzer of run directories on disk found (helper-182): a run copied, one thing in its
checkpoints damaged (a file's bytes, a state.json field, an array of params.npz or optimizer.npz,
a vocabulary), then translate, evaluate, average, train --resume and Translator.load on it.
Each test below was a traceback from inside NumPy or the trainer, a message without the file, or
a resume that went on with what it read; each is now a refusal naming the file and the way on.
tests/test_checkpoint_fuzz.py draws such damages with hypothesis."""

import glob
import json
import os
import shutil

import numpy as np
import pytest

from minis2s import cli, pipeline
from minis2s.api import Translator
from minis2s.train.config import TrainConfig

TSV = "".join(f"{s}\t{s[::-1]}\n" for s in ("a b", "c", "b c a", "a", "c b", "a a b", "b", "c c"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> str:
    """A run of a tiny corpus, one epoch of 4 updates, with best/ and last/."""
    root = tmp_path_factory.mktemp("ckpt-fuzz-found")
    (root / "tiny.tsv").write_text(TSV)
    data = pipeline.load_data(data=str(root / "tiny.tsv"))
    tcfg = TrainConfig(epochs=1, batch_size=2)
    pipeline.train(data, {"hidden": 4, "emb": 4}, tcfg, str(root / "run"), progress=False)
    return str(root / "run")


@pytest.fixture
def run(trained, tmp_path) -> str:
    out = str(tmp_path / "run")
    shutil.copytree(trained, out)
    return out


def checkpoints(run: str) -> list[str]:
    return sorted(glob.glob(os.path.join(run, "*", "state.json")))


def edit_state(run: str, edit) -> None:
    """`edit(state)` on the state.json of each of the run's checkpoints, as a hand edit would."""
    for path in checkpoints(run):
        with open(path) as f:
            state = json.load(f)
        edit(state)
        with open(path, "w") as f:
            json.dump(state, f)


def edit_npz(run: str, name: str, edit) -> None:
    """`edit(arrays)` on file `name` (params.npz, optimizer.npz) of each checkpoint."""
    for path in checkpoints(run):
        file = os.path.join(os.path.dirname(path), name)
        with np.load(file) as z:
            arrays = {k: z[k] for k in z.files}
        edit(arrays)
        np.savez(file, **arrays)


def refused(capsys, *argv: str) -> str:
    """The one-line refusal of `minis2s ARGV` (exit status 2, no traceback)."""
    assert cli.main(list(argv)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def average(run: str) -> list[str]:
    return ["average", "--checkpoint", os.path.join(run, "best"), "--checkpoint",
            os.path.join(run, "last"), "--out", run + "-avg"]  # fmt: skip


def resume(run: str) -> list[str]:
    return ["train", "--resume", "--out", run, "--epochs", "2", "--quiet", "--show", "0"]


def _pop(arrays):
    arrays.pop("dec.emb.W")


def _scalar(arrays):
    arrays["out.W"] = np.array(1.0, np.float32)


def _3d(arrays):
    arrays["out.W"] = arrays["out.W"][None]


def _float64(arrays):
    arrays["out.b"] = arrays["out.b"].astype(np.float64)


@pytest.mark.parametrize("edit", [_pop, _scalar, _3d, _float64])
def test_resume_refuses_parameters_unlike_the_models(run, capsys, edit):
    """A parameter missing kept its random start, a scalar one was broadcast over its matrix:
    the resume trained on without a word."""
    edit_npz(run, "params.npz", edit)
    err = refused(capsys, *resume(run))
    assert os.path.join(run, "last", "params.npz") in err and "put the run's own file" in err


def _str_slot(arrays):
    arrays["exp_avg/out.b"] = arrays["exp_avg/out.b"].astype(str)


def _complex_slot(arrays):
    arrays["exp_avg_sq/out.W"] = arrays["exp_avg_sq/out.W"].astype(np.complex64)


def _lr_array(arrays):
    arrays["lr"] = arrays["lr"].reshape(1)  # was float()'s TypeError inside Adam


def _lr_nan(arrays):
    arrays["lr"] = np.array(np.nan)  # was told as "lr * weight_decay = nan * 0 = nan >= 1"


def _inf_slot(arrays):
    arrays["exp_avg_sq/out.b"][0] = np.inf  # Adam's step m / (sqrt(v) + eps) froze out.b[0]


@pytest.mark.parametrize("edit", [_str_slot, _complex_slot, _lr_array, _lr_nan, _inf_slot])
def test_resume_refuses_optimizer_state_of_other_kinds(run, capsys, edit):
    edit_npz(run, "optimizer.npz", edit)
    err = refused(capsys, *resume(run))
    assert os.path.join(run, "last", "optimizer.npz") in err


TRAINER_EDITS = {  # each was a TypeError inside the training loop, or went on with it
    "epoch_grad_norm": lambda ts: ts.update(epoch_grad_norm="x"),
    "stopper": lambda ts: ts.update(stopper="x"),
    "step": lambda ts: ts.update(step=True),
    "rng": lambda ts: ts["rng"]["state"].update(inc=False),
    "record": lambda ts: ts.update(record=[]),
    "best_tiebreak": lambda ts: ts["lr_schedule"].update(best_tiebreak={"x": 1}),
    "mode": lambda ts: ts["stopper"].update(mode=float("inf")),
    "record'] = -inf": lambda ts: ts.update(record=float("-inf")),
    "epoch": lambda ts: ts.update(epoch=-3),  # "expected non-negative integer", from NumPy
    "min_delta": lambda ts: ts["stopper"].update(min_delta=float("nan")),  # never improved
}


@pytest.mark.parametrize("field", sorted(TRAINER_EDITS))
def test_resume_refuses_trainer_state_of_other_kinds(run, capsys, field):
    edit_state(run, lambda state: TRAINER_EDITS[field](state["trainer_state"]))
    err = refused(capsys, *resume(run))
    assert os.path.join(run, "last", "state.json") in err and field in err


@pytest.mark.parametrize("dtype", [str, np.complex64, np.int32, np.bool_])
def test_loaders_refuse_parameters_that_are_no_floats(run, capsys, dtype):
    """Strings were np.isfinite's TypeError; complex, integer and bool weights were cast to the
    model's float32 and translated with."""
    edit_npz(run, "params.npz", lambda a: a.update({"out.b": a["out.b"].astype(dtype)}))
    with pytest.raises(ValueError, match="parameter out.b is an array of") as e:
        Translator.load(run)
    assert os.path.join(run, "best", "params.npz") in str(e.value)
    avg = average(run)
    assert "params.npz" in refused(capsys, *avg)


def test_a_directory_in_place_of_state_json_is_named_by_its_path(run):
    """'[Errno 21] Is a directory: 'state.json'' named no checkpoint (the file is opened
    relative to its directory)."""
    for path in checkpoints(run):
        os.remove(path)
        os.mkdir(path)
    with pytest.raises(ValueError, match="is a directory") as e:
        Translator.load(run)
    assert os.path.join(run, "best", "state.json") in str(e.value)


@pytest.mark.parametrize("section", ["config", "model", "train"])
def test_config_sections_that_are_no_dicts(run, capsys, section):
    """average and --resume failed inside (`'int' object is not iterable`)."""
    if section == "config":
        edit_state(run, lambda state: state.update(config=10**30))
    else:
        edit_state(run, lambda state: state["config"].update({section: 2.5}))
    avg = average(run)
    assert "state.json" in refused(capsys, *avg)
    assert "not a dict" in refused(capsys, *resume(run))


@pytest.mark.parametrize("field, value", [("bridge", 1e308), ("dropout", False),
                                          ("dec_layers", "abc"), ("cell", "abc")])  # fmt: skip
def test_resume_refuses_a_saved_model_config_that_makes_no_model(run, capsys, field, value):
    """ModelConfig's TypeError escaped --resume; cell 'abc' read '--cell abc: choose one of',
    an option not given."""
    edit_state(run, lambda state: state["config"]["model"].update({field: value}))
    err = refused(capsys, *resume(run))
    assert os.path.join(run, "last", "state.json") in err and field in err


def test_a_resume_of_an_edited_config_names_the_checkpoint(trained, run):
    """ "checkpoint was trained with model.src_vocab=None, this run asks ..." named no
    checkpoint, where its state.json was the one edited (test_checkpoint_fuzz found it)."""
    edit_state(run, lambda state: state["config"]["model"].update(src_vocab=None))
    data = pipeline.load_data(data=os.path.join(os.path.dirname(trained), "tiny.tsv"))
    with pytest.raises(ValueError, match="checkpoint was trained with model.src_vocab") as e:
        pipeline.train(data, {"hidden": 4, "emb": 4}, TrainConfig(epochs=2, batch_size=2), run,
                       resume=True, progress=False)  # fmt: skip
    assert os.path.join(run, "last") in str(e.value)


@pytest.mark.parametrize("dtype", ["", 3, "int8"])
def test_a_saved_dtype_that_is_no_float_is_refused_naming_the_checkpoint(run, capsys, dtype):
    """average's and --resume's np.dtype('') was a TypeError from inside NumPy."""
    edit_state(run, lambda state: state["config"].update(dtype=dtype))
    assert "state.json says dtype" in refused(capsys, *average(run))
    assert os.path.join(run, "last") in refused(capsys, *resume(run))


def test_resume_refuses_saved_data_options_that_are_no_dict(run, capsys):
    """`saved["data"].get("options", {}) | {...}` was a TypeError inside --resume."""
    edit_state(run, lambda state: state["config"]["data"].update(options=2.5))
    assert "not a dict" in refused(capsys, *resume(run))


def test_resume_refuses_a_schedule_state_with_keys_of_its_own(run, capsys):
    """Schedule.load_state_dict's "expected keys [...], got [...]" named no file."""
    edit_state(run, lambda state: state["trainer_state"]["lr_schedule"].update(zz=1))
    err = refused(capsys, *resume(run))
    assert os.path.join(run, "last", "state.json") in err and "zz" in err


@pytest.mark.parametrize("field", ["patience", "min_lr", "label_smoothing"])
def test_resume_names_the_run_for_a_nan_saved_in_its_train_options(run, capsys, field):
    """NaN != NaN took a saved NaN for an option given: patience NaN was TrainConfig's TypeError
    from inside --resume, min_lr NaN read '--min-lr nan: must be in [0, --lr]', an option the
    user did not give."""
    edit_state(run, lambda state: state["config"]["train"].update({field: float("nan")}))
    err = refused(capsys, *resume(run))
    assert f"the run in {run} was saved with train options" in err and field in err


@pytest.mark.parametrize("field, value", [("min_freq", float("nan")), ("max_vocab", 2.5),
                                          ("max_len", [1, 2]), ("train_size", 0)])  # fmt: skip
def test_resume_names_the_checkpoint_for_saved_data_options_it_refuses(run, capsys, field, value):
    """They read as options the user did not give (--min-freq nan: must be an integer >= 1;
    --max-len applies to a --data corpus)."""
    edit_state(run, lambda state: state["config"]["data"]["options"].update({field: value}))
    err = refused(capsys, *resume(run))
    assert os.path.join(run, "last", "state.json") in err and field in err


def test_a_saved_model_too_large_for_memory_is_told_as_an_edited_state(run, capsys):
    """emb 10**30 beside a params.npz of emb 4 read 'out of memory ... a size option (a beam, a
    batch, a layer) is too large for this machine: lower it', an option translate has not."""
    edit_state(run, lambda state: state["config"]["model"].update(emb=10**30))
    err = refused(capsys, "translate", "--checkpoint", run, "a b")
    assert "state.json's model config makes a model too large" in err
    assert os.path.join(run, "best") in err


def test_resume_refuses_a_saved_data_source_that_is_no_dict(run, capsys):
    """`"task" in source` was a TypeError inside --resume and pipeline.train(resume=True)."""
    edit_state(run, lambda state: state["config"]["data"].update(source=float("inf")))
    assert "config['data']['source'] is inf, not a dict" in refused(capsys, *resume(run))
