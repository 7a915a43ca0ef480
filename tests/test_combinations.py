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
    line yet; `plot --log RUN` (and `--log RUN/log.jsonl`) said "no such file (a run writes its
    log.jsonl)", as of a path that is no run at all."""
    run = str(tmp_path / "r")
    assert main(["train", *data(digits), *TINY, "--epochs", "1", "--max-steps", "2",
                 "--out", run]) == 0  # fmt: skip
    capsys.readouterr()
    for log in (run, f"{run}/log.jsonl"):  # the run, or its log as the README's commands name it
        assert main(["plot", "--log", log, "--out", str(tmp_path / "c.png")]) == 2
        err = capsys.readouterr().err
        assert f"{run} has no dev evaluation yet" in err and "--eval-every" in err, log
    assert not (tmp_path / "c.png").exists()


@pytest.fixture(scope="module")
def names_runs(tmp_path_factory):
    """Two word runs on a corpus whose names are rare (--min-freq 2 makes them <unk>): a one-way
    LSTM reading its source reversed, and a bidirectional GRU with concat attention."""
    import random

    root = tmp_path_factory.mktemp("names")
    r = random.Random(0)
    nouns = [("dog", "perro"), ("cat", "gato"), ("cow", "vaca")]
    verbs = [("sees", "ve"), ("eats", "come")]
    pairs = []
    for _ in range(96):
        (e, s), (v, w) = r.choice(nouns), r.choice(verbs)
        name = "".join(r.choice("bdgkmptz") + r.choice("aeiou") for _ in range(3)).capitalize()
        pairs.append((f"{name} {v} the {e} .", f"{name} {w} el {s} .") if r.random() < 0.5
                     else (f"the {e} {v} {name} .", f"el {s} {w} a {name} ."))  # fmt: skip
    write_tsv(root / "train.tsv", pairs[:80])
    write_tsv(root / "test.tsv", pairs[80:])
    common = ["--data", str(root / "train.tsv"), *TINY, "--tokenizer", "word", "--min-freq", "2",
              "--epochs", "5", "--lr", "0.03"]  # fmt: skip
    runs = [str(root / "rev"), str(root / "bi")]
    assert main(["train", *common, "--no-bidirectional", "--reverse-source", "--cell", "lstm",
                 "--out", runs[0]]) == 0  # fmt: skip
    assert main(["train", *common, "--cell", "gru", "--attention", "concat", "--dropout", "0.2",
                 "--out", runs[1]]) == 0  # fmt: skip
    return root, runs


def test_replace_unk_with_a_reversed_source_and_beam_copies_the_attended_word(names_runs, capsys):
    """--reverse-source puts the encoder's outputs back in source order, so attention indexes
    the source as written: each <unk> of every n-best hypothesis, of one run and of an ensemble
    of a reversed and a plain run, is written as the source word of its step's largest weight;
    the command line prints what the API returns."""
    root, runs = names_runs
    sources = [line.split("\t")[0] for line in (root / "test.tsv").read_text().splitlines()]
    both = [x for r in runs for x in ("--checkpoint", r)]
    for tr, flags in ((Translator.load(runs[0]), both[:2]), (Translator.load_ensemble(runs), both)):
        kw = dict(method="beam", beam_size=3, nbest=2, length_penalty="gnmt", alpha=0.5)
        plain = tr.translate(sources, **kw)
        copied = tr.translate(sources, replace_unk=True, **kw)
        replaced = 0
        for hyps, hyps_copied in zip(plain, copied, strict=True):
            for h, c in zip(hyps, hyps_copied, strict=True):
                assert (h.score, len(h.tokens)) == (c.score, len(c.tokens))
                for t, (a, b) in enumerate(zip(h.tokens, c.tokens, strict=True)):
                    want = h.src_tokens[int(np.argmax(h.attention[t]))] if a == "<unk>" else a
                    assert b == want
                    replaced += a == "<unk>"
        assert replaced > 0  # the runs write <unk> for the names
        capsys.readouterr()
        argv = ["translate", *flags, "--beam", "3", "--nbest", "2", "--length-penalty", "gnmt",
                "--alpha", "0.5", "--replace-unk", *sources]  # fmt: skip
        assert main(argv) == 0
        want = [" ||| ".join(f"{t.text}\t{t.score:.4f}" for t in hyps) for hyps in copied]
        assert capsys.readouterr().out.splitlines() == want


def test_an_ensemble_of_one_run_decodes_as_that_run(names_runs):
    """Beam search with both penalties, and sampling, through an ensemble of one run: the run's
    own outputs and scores (the mean of one distribution is that distribution)."""
    root, runs = names_runs
    sources = [line.split("\t")[0] for line in (root / "test.tsv").read_text().splitlines()]
    one, alone = Translator.load_ensemble(runs[1:]), Translator.load(runs[1])
    for kw in (dict(method="beam", beam_size=3, beta=0.3, length_penalty="average"),
               dict(method="sample", seed=3, top_k=4, temperature=1.5)):  # fmt: skip
        for a, b in zip(one.translate(sources, **kw), alone.translate(sources, **kw), strict=True):
            assert a.text == b.text and a.score == pytest.approx(b.score, abs=1e-4)


@pytest.mark.parametrize(
    "argv",
    [
        ["evaluate", "--checkpoint", "RUN", "--data", "TEST", "--data", "DEV"],
        ["score", "--checkpoint", "RUN", "--data", "TEST", "--dat", "DEV"],  # an abbreviation
        ["train", "--init-from", "RUN", "--init-from", "RUN", "--data", "TEST", "--out", "NEW"],
        ["train", "--data", "TEST", "--out", "NEW", "--out=NEW2"],
        ["plot", "--checkpoint", "RUN", "--sentence", "123", "--sentence", "45", "--out", "P.png"],
    ],
)
def test_a_data_or_path_option_given_twice_is_refused(argv, digits, digits_run, tmp_path, capsys):
    """argparse keeps the last of an option given twice: `evaluate --data test.tsv --data
    dev.tsv` scored dev alone, and `--init-from A --init-from B` started from B, without a word.
    An option that names what to read or write is refused when given twice."""
    names = {"RUN": digits_run, "TEST": str(digits / "test.tsv"), "DEV": str(digits / "dev.tsv"),
             "NEW": str(tmp_path / "new"), "P.png": str(tmp_path / "p.png")}  # fmt: skip
    argv = [names.get(a, a.replace("NEW2", str(tmp_path / "new2"))) for a in argv]
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    out, err = capsys.readouterr()
    assert "given twice" in err and "give it once" in err and out == ""
    assert not (tmp_path / "new").exists() and not (tmp_path / "p.png").exists()
