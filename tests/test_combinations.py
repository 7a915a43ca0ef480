"""Features used together, as a careful user combines them, each result checked against a second
route: a fine-tuning averaged with its start, ... Tiny models on tiny corpora written to tmp."""

import warnings

import numpy as np
import pytest

from minis2s.api import Translator
from minis2s.cli import main
from minis2s.data.corpus import write_tsv
from minis2s.data.tasks import get_task
from minis2s.train import checkpoint
from minis2s.train.average import average

TINY = ["--hidden", "8", "--emb", "8", "--batch-size", "16", "--show", "0", "--quiet"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """reverse-digits pairs written as files: 64 to train on, 16 for dev, 24 for test."""
    root = tmp_path_factory.mktemp("digits")
    splits = get_task("reverse-digits").generate(seed=0)
    for split, n in (("train", 64), ("dev", 16), ("test", 24)):
        write_tsv(root / f"{split}.tsv", splits[split][:n])
    return root


def data(root) -> list[str]:
    return ["--data", str(root / "train.tsv"), "--dev-data", str(root / "dev.tsv")]


def test_a_fine_tuning_with_other_dropout_averages_with_its_start(digits, tmp_path):
    """--init-from may change --dropout ("which shapes no parameter"), and the README offers the
    mean of a fine-tuning and its start (WiSE-FT): the two together must average, not be refused
    as models of different configs."""
    start, tuned = str(tmp_path / "start"), str(tmp_path / "tuned")
    assert main(["train", *data(digits), *TINY, "--epochs", "1", "--dropout", "0.3",
                 "--out", start]) == 0  # fmt: skip
    assert main(["train", *data(digits), *TINY, "--epochs", "1", "--init-from", start,
                 "--dropout", "0", "--out", tuned]) == 0  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one lineage: no note of different runs
        out = average([f"{start}/last", f"{tuned}/last"], tmp_path / "wise")
    a, b = checkpoint.load(f"{start}/last").params, checkpoint.load(f"{tuned}/last").params
    got = checkpoint.load(str(out))
    for name, p in got.params.items():
        np.testing.assert_allclose(p, (a[name] + b[name].astype(np.float64)) / 2, rtol=1e-6)
    assert got.config["model"]["dropout"] == 0  # the last checkpoint's config, as documented
    assert Translator.load(str(out)).translate(["123"])[0].text is not None


def test_by_length_of_a_feature_model_counts_frames(tmp_path, capsys):
    """`evaluate --by-length` of a model that reads feature frames (noisy-digits) bands its
    sources by frames, and its table must say so, not "tokens" (it has none)."""
    run = str(tmp_path / "nd")
    assert main(["train", "--task", "noisy-digits", "--train-size", "32", "--dev-size", "8",
                 *TINY, "--epochs", "1", "--out", run]) == 0  # fmt: skip
    capsys.readouterr()
    assert (
        main(["evaluate", "--checkpoint", run, "--task", "noisy-digits", "--by-length", "5"]) == 0
    )
    out = capsys.readouterr().out
    assert "exact_match by source length, in bands of 5 frames:" in out
    assert "token" not in out.split("exact_match by source length")[1]


def test_last_k_of_a_run_that_keeps_one_gives_a_fix_that_works(digits, tmp_path, capsys):
    """A run resumed with a smaller --keep-checkpoints keeps fewer; `average --last 2` of a run
    that keeps one must not advise "ask for 1 or fewer", which average refuses in turn (a mean
    needs two): it names a fix that works."""
    run = str(tmp_path / "r")
    base = ["train", *data(digits), *TINY, "--epochs", "2", "--eval-every", "2", "--out", run]
    assert main([*base, "--keep-checkpoints", "3", "--max-steps", "4"]) == 0
    assert main(["train", "--out", run, "--resume", "--quiet", "--show", "0", "--max-steps", "6",
                 "--keep-checkpoints", "1"]) == 0  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "r" / "steps").iterdir()) == ["step-0000006"]
    capsys.readouterr()
    assert main(["average", "--run", run, "--last", "2", "--out", str(tmp_path / "avg")]) == 2
    err = capsys.readouterr().err
    assert "ask for 1 or fewer" not in err
    assert "a mean needs two or more" in err and "--keep-checkpoints" in err
    assert "checkpoints of other points with --checkpoint" in err


@pytest.fixture(scope="module")
def digits_run(digits, tmp_path_factory):
    """A run on the reverse-digits files (one epoch, attention, a bidirectional GRU)."""
    run = str(tmp_path_factory.mktemp("digits_run") / "r")
    assert (
        main(["train", *data(digits), *TINY, "--epochs", "1", "--cell", "gru", "--out", run]) == 0
    )
    return run


def test_a_corpus_piped_into_translate_is_noted(digits, digits_run, monkeypatch, capsys):
    """`translate < test.tsv` (a corpus, source<TAB>reference) reads each line whole, reference
    and all, as one sentence: the outputs are of other sentences than the user meant, and the
    only notes were of unknown tokens and long lines. A note names the lines with a TAB and the
    fix (their sources alone, or `evaluate --data`)."""
    import io

    lines = (digits / "test.tsv").read_text(encoding="utf-8").splitlines()[:3]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    capsys.readouterr()
    assert main(["translate", "--checkpoint", digits_run]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 3  # still line for line
    assert "3 of the 3 lines (1, 2, 3) hold a TAB" in err
    assert "cut -f1" in err and "evaluate --checkpoint" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(s.split("\t")[0] + "\n" for s in lines)))
    assert main(["translate", "--checkpoint", digits_run]) == 0
    assert "TAB" not in capsys.readouterr().err


def test_the_steps_folder_of_kept_checkpoints_is_named_as_such(digits, tmp_path, capsys):
    """--keep-checkpoints keeps RUN/steps/step-N; `translate --checkpoint RUN/steps` said only
    that no checkpoint was there, where the folder holds several: the error names them and what
    to give (one of them, the run, or their average)."""
    run = str(tmp_path / "r")
    assert main(["train", *data(digits), *TINY, "--epochs", "1", "--eval-every", "2",
                 "--keep-checkpoints", "2", "--out", run]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["translate", "--checkpoint", f"{run}/steps", "123"]) == 2
    err = capsys.readouterr().err
    assert f"{run}/steps holds the checkpoints that --keep-checkpoints kept" in err
    assert f"{run}/steps/step-0000004" in err  # the newest (4 updates an epoch)
    assert f"--run {run} --last K" in err
    with pytest.raises(FileNotFoundError, match="holds the checkpoints that --keep-checkpoints"):
        Translator.load(f"{run}/steps")


def test_batch_size_and_tokens_per_batch_together_are_refused_in_the_command_line_words(
    digits, tmp_path, capsys
):
    """--tokens-per-batch replaces --batch-size; both given (the user's usual --batch-size kept
    when trying token batches) was refused in TrainConfig's words ("pass batch_size=0"), which
    name no option of the command line."""
    argv = ["train", *data(digits), *TINY, "--tokens-per-batch", "60", "--epochs", "1",
            "--out", str(tmp_path / "r")]  # fmt: skip
    assert main(argv) == 2  # TINY holds --batch-size 16
    err = capsys.readouterr().err
    assert "--batch-size 16 and --tokens-per-batch 60" in err and "give one of them" in err
    assert "batch_size=0" not in err and not (tmp_path / "r").exists()


def test_translate_refuses_evaluates_show_instead_of_abbreviating_it(digits_run, capsys):
    """`evaluate --show N` prints N outputs; carried over to `translate --show 2 123`, argparse
    took `--show` for an abbreviation of --show-attention and "2" for a sentence: two outputs
    and their grids, where one was asked, with no word of it."""
    with pytest.raises(SystemExit) as stop:  # argparse's refusal, with the usage line
        main(["translate", "--checkpoint", digits_run, "--show", "2", "123"])
    assert stop.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and "--show N is evaluate's and train's" in err
    assert "--show-attention" in err
    assert main(["translate", "--checkpoint", digits_run, "--show-attention", "123"]) == 0
    assert main(["translate", "--checkpoint", digits_run, "--show-att", "123"]) == 0  # still


def test_a_second_run_given_without_its_checkpoint_flag_is_not_translated(digits_run, capsys):
    """`translate --checkpoint A B "text"`, an ensemble with one --checkpoint for both runs: B
    was translated as a sentence (its path, to an empty line or noise), and the ensemble was A
    alone. A sentence argument that names a run or checkpoint is refused with the fix."""
    argv = ["translate", "--checkpoint", digits_run, digits_run, "123"]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"sentence 1, {digits_run}, is a run directory" in err
    assert f"--checkpoint {digits_run} --checkpoint {digits_run}" in err
    assert main(["translate", "--checkpoint", digits_run, f"{digits_run}/last", "1"]) == 2
    assert "is a checkpoint" in capsys.readouterr().err


def test_plot_log_of_a_run_stopped_before_its_first_evaluation_says_so(digits, tmp_path, capsys):
    """A run stopped by --max-steps (or Ctrl-C) before any dev evaluation has last/ and no log
    line yet; `plot --log RUN` said "no such file (a run writes its log.jsonl)", as of a path
    that is no run at all."""
    run = str(tmp_path / "r")
    assert main(["train", *data(digits), *TINY, "--epochs", "1", "--max-steps", "2",
                 "--out", run]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["plot", "--log", run, "--out", str(tmp_path / "c.png")]) == 2
    err = capsys.readouterr().err
    assert f"{run} has no dev evaluation yet" in err and "--eval-every" in err
    assert not (tmp_path / "c.png").exists()
