"""Checkpoint averaging (train/average.py, `minis2s average`): the mean of one run's checkpoints,
a checkpoint that loads, translates and evaluates like any other, and the refusals of checkpoints
that are not of one model. The run: 64 pairs in batches of 16 over 2 epochs, scored every 2
updates (2, 4, 6, 8), keeping 3."""

import json
import shutil
import warnings

import numpy as np
import pytest

from minis2s.api import Translator
from minis2s.cli import main
from minis2s.data.corpus import write_tsv
from minis2s.data.tasks import get_task
from minis2s.train import checkpoint
from minis2s.train.average import average, last_kept

TINY = ["--epochs", "2", "--hidden", "8", "--emb", "8", "--batch-size", "16", "--show", "0",
        "--quiet", "--eval-every", "2", "--keep-checkpoints", "3"]  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("average")
    splits = get_task("reverse-digits").generate(seed=0)
    for split, n in (("train", 64), ("dev", 16), ("test", 24)):
        write_tsv(root / f"{split}.tsv", splits[split][:n])
    data = ["--data", str(root / "train.tsv"), "--dev-data", str(root / "dev.tsv")]
    assert main(["train", *data, *TINY, "--out", str(root / "r")]) == 0
    return root / "r"


def step(run, n: int) -> str:
    return str(run / "steps" / f"step-{n:07d}")


def copy_with(src, dest, *, state=None, vocab=None, params=None) -> str:
    """A copy of checkpoint `src` with its state.json, target vocabulary or parameters changed
    by the functions given (each changes its dict in place)."""
    shutil.copytree(src, dest)
    for file, change in (("state.json", state), ("tgt_vocab.json", vocab)):
        if change is not None:
            d = json.loads((dest / file).read_text(encoding="utf-8"))
            change(d)
            (dest / file).write_text(json.dumps(d), encoding="utf-8")
    if params is not None:
        p = checkpoint.load(dest).params
        params(p)
        np.savez(dest / "params.npz", **p)
    return str(dest)


def test_the_run_keeps_its_last_3(run):
    assert sorted(p.name for p in (run / "steps").iterdir()) == [
        "step-0000004", "step-0000006", "step-0000008"
    ]  # fmt: skip


def test_one_checkpoint_is_refused_with_cp(run, tmp_path, capsys):
    """The mean of one checkpoint would be a copy of it (less its optimizer state)."""
    with pytest.raises(ValueError, match=r"paths holds one checkpoint .*a mean needs two or more"):
        average([step(run, 8)], tmp_path / "one")
    argv = ["average", "--run", str(run), "--last", "1", "--out", str(tmp_path / "one")]
    assert main(argv) == 2
    assert f"`cp -r {step(run, 8)} {tmp_path / 'one'}`" in capsys.readouterr().err
    assert not (tmp_path / "one").exists()


def test_an_out_named_as_a_kept_checkpoint_is_refused(run, tmp_path):
    """In a steps/ folder a later --last K would take it for one of the run's, and a trim would
    delete it; other names there, and step-N outside steps/, are the user's."""
    for out in (run / "steps" / "step-0000700", tmp_path / "r" / "steps" / "step-0000001"):
        with pytest.raises(ValueError, match=rf"--out {out} is named as a checkpoint kept in"):
            average([step(run, 6), step(run, 8)], out)
        assert not out.exists()
    for out in (tmp_path / "steps" / "avg", tmp_path / "x" / "step-0000700",
                tmp_path / "steps" / "step-00000700"):  # fmt: skip
        assert checkpoint.exists(average([step(run, 6), step(run, 8)], out))


@pytest.mark.parametrize("steps", [(4, 8), (4, 6, 8)])
def test_the_average_is_the_mean_in_float64(run, tmp_path, steps):
    """Cast to float32 once, at the end: a mean of three summed in float32 rounds differently."""
    out = average([step(run, n) for n in steps], tmp_path / "avg")
    ckpts, mean = [checkpoint.load(step(run, n)).params for n in steps], checkpoint.load(out).params
    for name in mean:
        want = np.mean([c[name] for c in ckpts], axis=0, dtype=np.float64).astype(np.float32)
        assert mean[name].dtype == np.float32
        np.testing.assert_array_equal(mean[name], want, err_msg=name)
    assert not np.array_equal(ckpts[0]["out.W"], ckpts[-1]["out.W"])  # training moved them


def test_average_run_last_k_translates_evaluates_and_does_not_resume(run, tmp_path, capsys):
    out = str(tmp_path / "avg")
    assert main(["average", "--run", str(run), "--last", "3", "--out", out]) == 0
    steps = [step(run, n) for n in (4, 6, 8)]
    assert capsys.readouterr().out.startswith(f"{out}: the mean of 3 checkpoints ({steps[0]}, ")
    want = checkpoint.load(out).params
    tr = Translator.load(out)
    for name, p in tr.model.params.items():
        np.testing.assert_array_equal(p, want[name], err_msg=name)
    texts = [t.text for t in tr.translate(["123", "4567"])]
    assert main(["translate", "--checkpoint", out, "123", "4567"]) == 0
    assert capsys.readouterr().out.splitlines() == texts
    assert main(["evaluate", "--checkpoint", out, "--data", str(run.parent / "test.tsv")]) == 0
    assert "exact_match" in capsys.readouterr().out
    assert main(["train", "--resume", "--out", out]) == 2
    err = capsys.readouterr().err
    assert f"--resume: {out} is a checkpoint, not a run directory" in err
    assert f"train on from it as a new run: --init-from {out} --out NEW" in err
    data = ["--data", str(run.parent / "test.tsv"), "--epochs", "1", "--quiet"]
    assert main(["train", *data, "--out", out]) == 2  # its best/ and last/ would go inside it
    assert f"--out {out} is a checkpoint, not a run directory" in capsys.readouterr().err
    assert main(["train", *data, "--init-from", out, "--out", str(tmp_path / "on")]) == 0
    start = checkpoint.load(str(tmp_path / "on" / "last")).config["init_from"]
    assert start["path"] == out


def test_checkpoints_of_other_models_are_refused_naming_both_and_the_difference(run, tmp_path):
    a = step(run, 8)

    def edit(name, **change):
        return copy_with(a, tmp_path / name, **change)

    def swap(d):  # ids 4 and 5 trade places: the same tokens, another order
        d["tokens"][4], d["tokens"][5] = d["tokens"][5], d["tokens"][4]

    def drop(p):
        del p["out.b"]

    def widen(p):
        p["out.b"] = p["out.b"].astype(np.float64)

    def cut(p):
        p["out.b"] = p["out.b"][:-1]

    cases = [
        (edit("init", state=lambda d: d["config"]["model"].update(init_scale=0.2)),
         r"different model configs \(model.init_scale 0.1 and 0.2\)"),
        (edit("dtype", state=lambda d: d["config"].update(dtype="float64")),
         r"different dtypes \(dtype 'float32' and 'float64'\)"),
        (edit("word", state=lambda d: d["config"]["data"].update(tokenizer="word")),
         r"different tokenizers \(char and word\)"),
        (edit("written", state=lambda d: d["config"]["data"].pop("normalization")),
         r"tokenizers that read text in different Unicode forms \(NFC and None\)"),
        (edit("vocab", vocab=swap),
         r"different target vocabularies \(14 and 14 tokens; id 4 is '.' and '.'\)"),
        (edit("names", params=drop), r"different parameters \(out.b in the first only\)"),
        (edit("wide", params=widen),
         r"different parameters \(out.b has dtype float32 and float64\)"),
        (edit("cut", params=cut), r"different parameters \(out.b has shape \(14,\) and \(13,\)\)"),
    ]  # fmt: skip
    for other, why in cases:
        with pytest.raises(ValueError, match=rf"^{a} and {other} have {why}; average the"):
            average([a, other], tmp_path / "out")
        assert not (tmp_path / "out").exists()


def test_bpe_merges_are_compared(run, tmp_path):
    def bpe(merges):
        return lambda d: d["config"]["data"].update(tokenizer="bpe", bpe_merges=merges)

    one = copy_with(step(run, 8), tmp_path / "one", state=bpe([["1", "2"]]))
    two = copy_with(step(run, 8), tmp_path / "two", state=bpe([["1", "2"], ["3", "4"]]))
    with pytest.raises(ValueError, match=r"have different BPE merges \(1 and 2 merges\)"):
        average([one, two], tmp_path / "out")


def test_checkpoints_of_different_runs_are_averaged_with_a_warning(run, tmp_path):
    seeded = copy_with(step(run, 8), tmp_path / "s7", state=lambda d: d["config"]["train"].update(
        seed=7))  # fmt: skip
    with pytest.warns(UserWarning, match=r"come from different runs \(other seeds: 0 and 7\)"):
        average([step(run, 6), seeded], tmp_path / "out")
    with pytest.warns(UserWarning, match=r"other training pairs"):
        average([step(run, 6), copy_with(step(run, 8), tmp_path / "d", state=lambda d: d[
            "config"]["data"].update(train="0" * 16))], tmp_path / "out2")  # fmt: skip


def test_the_average_of_runs_keeps_the_longest_training_source_of_them(run, tmp_path):
    """translate's note of sources longer than any training source reads the average's config:
    of checkpoints of runs trained on other pairs, the longest of their figures; where one was
    saved without the figure, none (no note rather than a wrong one)."""
    own = checkpoint.load_config(step(run, 8))["data"]["longest_source"]

    def longest(n):
        return lambda d: d["config"]["data"].update(train="0" * 16, longest_source=n)

    longer = copy_with(step(run, 8), tmp_path / "long", state=longest(own + 5))
    with pytest.warns(UserWarning, match="other training pairs"):
        for out, order in (("a", [longer, step(run, 6)]), ("b", [step(run, 6), longer])):
            average(order, tmp_path / out)
            assert Translator.load(tmp_path / out).longest_source == own + 5
    unknown = copy_with(step(run, 8), tmp_path / "old", state=longest(None))
    with pytest.warns(UserWarning, match="other training pairs"):
        average([step(run, 6), unknown], tmp_path / "c")
    assert Translator.load(tmp_path / "c").longest_source is None


def test_paths_and_out_are_refused_by_name(run, tmp_path, capsys):
    a, b = step(run, 6), step(run, 8)
    refusals = [
        ([a, b], run / "best", "holds a checkpoint already; choose a new path"),
        ([a, b], b, f"--out {b} is one of the checkpoints averaged"),
        ([a, b], run, f"--out {run} exists; choose a new path"),
        ([str(run), b], tmp_path / "x", f"{run} is a run directory: give its checkpoints"),
        ([a, a + "/"], tmp_path / "x", f"{a} and {a}/ are one checkpoint: give each once"),
        (a, tmp_path / "x", "paths is '.*; give a list of checkpoint directories"),
    ]
    for paths, out, message in refusals:
        with pytest.raises((ValueError, FileExistsError), match=message):
            average(paths, out)
    argv = ["average", "--run", str(run), "--out", str(tmp_path / "x")]
    for extra, message in [
        (["--last", "4"], f"--last 4: {run} keeps 3 checkpoints in steps/ (step-0000004, "),
        ([], "give --last K, how many of its newest kept checkpoints"),
    ]:
        assert main([*argv, *extra]) == 2
        assert message in capsys.readouterr().err or pytest.fail(message)
    assert main(["average", "--checkpoint", a, "--last", "2", "--out", str(tmp_path / "x")]) == 2
    assert "--last K counts the checkpoints kept in a run's steps/" in capsys.readouterr().err
    shutil.rmtree(tmp_path / "x", ignore_errors=True)
    assert main(["average", "--run", str(run / "steps"), "--last", "1", "--out", "x"]) == 2
    assert f"is the folder of the checkpoints {run} keeps: give --run {run}" in (
        capsys.readouterr().err
    )


def test_a_run_that_is_not_there_is_named_as_missing(run, tmp_path, capsys):
    missing = tmp_path / "nope"
    argv = ["average", "--run", str(missing), "--last", "2", "--out", str(tmp_path / "x")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"--run {missing}: no such directory" in err
    assert "train it with --keep-checkpoints" not in err  # it is not there to train on


def test_a_fine_tuning_and_its_start_are_averaged_without_the_other_runs_warning(run, tmp_path):
    # a fine-tuned run starts from RUN's weights, so its hidden units are RUN's: the mean of the
    # two is the interpolation of WiSE-FT (Wortsman et al. 2022), not of two unrelated networks
    def fine_tuned_from(start):
        def change(d):
            d["config"]["data"].update(train="1000 pairs, sha256 000000000000")
            d["config"]["init_from"] = {"path": start, "params": "x", "unknown": {"tgt": 0.0}}

        return change

    ft = copy_with(step(run, 8), tmp_path / "ft" / "last", state=fine_tuned_from(str(run / "best")))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        average([str(run / "last"), ft], tmp_path / "out")
        average([ft, step(run, 6)], tmp_path / "out2")  # another checkpoint of RUN: one lineage
    grandchild = copy_with(
        step(run, 8), tmp_path / "ft2" / "last", state=fine_tuned_from(ft)
    )  # a fine-tuning of the fine-tuning: RUN's units still
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        average([grandchild, step(run, 4)], tmp_path / "out3")
    with pytest.warns(UserWarning, match="other training pairs"):  # a stranger still warns
        stranger = copy_with(step(run, 8), tmp_path / "s", state=lambda d: d["config"][
            "data"].update(train="0" * 16))  # fmt: skip
        average([ft, stranger], tmp_path / "out4")


def test_paths_that_hold_no_checkpoint_are_named_with_the_fix(run, tmp_path):
    """A typo'd --run was told to train with --keep-checkpoints; a folder that holds no
    checkpoint (steps/ itself) read 'incomplete checkpoint: steps/state.json is missing'."""
    with pytest.raises(
        FileNotFoundError, match=r"--run \S*nope: no such directory; give the --out of a run"
    ):
        average(last_kept(tmp_path / "nope", 2), tmp_path / "x")
    for path, message in [
        (run / "steps", r"steps holds no checkpoint \(no state.json\): give a checkpoint"),
        (tmp_path / "nope", r"nope: no such checkpoint directory; give a checkpoint"),
    ]:
        with pytest.raises((ValueError, FileNotFoundError), match=message):
            average([step(run, 8), path], tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_an_out_inside_a_file_is_refused_before_any_checkpoint_is_read(run, tmp_path, monkeypatch):
    """It failed in the final save, after the reading and summing, with '[Errno 17] File
    exists'."""
    (tmp_path / "notes").write_text("mine\n")
    monkeypatch.setattr(checkpoint, "load", lambda path: pytest.fail("a checkpoint was read"))
    with pytest.raises(NotADirectoryError, match=r"--out \S*notes/avg: \S*notes is a file"):
        average([step(run, 6), step(run, 8)], tmp_path / "notes" / "avg")
    assert (tmp_path / "notes").read_text() == "mine\n"


def test_an_out_inside_a_checkpoint_is_refused(run, tmp_path):
    """The next save of last/ (or trim of a kept step) replaces the checkpoint whole, and the
    average inside it with it."""
    for inside in (run / "last" / "avg", run / "steps" / "step-0000004" / "a" / "b"):
        with pytest.raises(ValueError, match=rf"--out {inside} is inside the checkpoint "):
            average([step(run, 6), step(run, 8)], inside)
        assert not inside.exists()


@pytest.mark.parametrize("trims", [1, 10])
def test_last_k_of_a_run_that_trims_meanwhile_is_picked_again(run, tmp_path, capsys, trims):
    """The run, training, saves a new kept checkpoint and deletes its oldest (--keep-checkpoints)
    while `average --run RUN --last K` reads the ones it picked: the newest K are picked again;
    a run that trims at each try is named as training, with the advice to rerun."""
    from minis2s.train import average as average_module
    from minis2s.train import keep

    copy = tmp_path / "r"
    shutil.copytree(run, copy)
    real_load, loads = average_module._load, []

    def load_while_the_run_trains(name):
        loads.append(name)
        if len(loads) <= trims:  # as the trainer's save of a new scoring point
            newest = keep.kept(copy)[-1][0]
            shutil.copytree(copy / keep.step_name(newest), copy / keep.step_name(newest + 2))
            keep.trim(str(copy), 3)
        return real_load(name)

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(average_module, "_load", load_while_the_run_trains)
    argv = ["average", "--run", str(copy), "--last", "3", "--out", str(tmp_path / "avg")]
    try:
        status = main(argv)
    finally:
        monkeypatch.undo()
    out, err = capsys.readouterr()
    if trims == 1:
        assert status == 0, err
        assert f"({step(copy, 6)}, {step(copy, 8)}, {step(copy, 10)})" in out
    else:
        assert status == 2
        assert f"--run {copy}: the run is training" in err and "rerun" in err
