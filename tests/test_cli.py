"""The command line end to end on a tiny run: train, resume, translate, evaluate, plot, errors."""

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import warnings

import pytest

from minis2s import cli
from minis2s.api import Translator
from minis2s.cli import main
from minis2s.data.vocab import EOS_ID
from minis2s.train import checkpoint
from minis2s.viz import SHADES

TINY = [
    "--task", "reverse-digits", "--train-size", "64", "--epochs", "1", "--hidden", "8",
    "--emb", "8", "--dev-size", "16", "--batch-size", "32", "--show", "2", "--quiet",
]  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    return out


def test_train_writes_checkpoints_log_and_prints_translations(run, capsys):
    assert (run / "best" / "params.npz").exists() and (run / "last" / "state.json").exists()
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert records[0]["epoch"] == 1 and "exact_match" in records[0]


def test_shown_translations_are_ok_when_exact_match_counts_them(capsys):
    """`ok` compares the reference as the model writes it, as exact match does: a word model's
    output has single spaces, so a reference with two was marked ERR though it counted as right."""
    from types import SimpleNamespace

    from minis2s.api import Translator
    from minis2s.command_translations import show_translations
    from minis2s.data.vocab import Vocab
    from minis2s.models import ModelConfig, Seq2Seq

    v = Vocab(["a", "b"])
    tr = Translator(Seq2Seq(ModelConfig(len(v), len(v), emb=4, hidden=4)), v, v, "word")
    outputs = [SimpleNamespace(text="a b"), SimpleNamespace(text="b")]
    show_translations(tr, [("b a", "a  b"), ("a", "a")], outputs)
    assert capsys.readouterr().out.splitlines() == [
        f"  ok  {'b a':>30} -> {'a b':<30} (reference a  b)",
        f"  ERR {'a':>30} -> {'b':<30} (reference a)",
    ]


def test_train_refuses_to_overwrite_and_resumes(run, capsys):
    assert main(["train", *TINY, "--out", str(run)]) == 2
    err = capsys.readouterr().err  # the flag, not the Python keyword (resume=True)
    assert "already holds a run; pass --resume to continue it or choose another --out" in err
    args = [a if a != "1" else "2" for a in TINY]  # --epochs 2
    assert main(["train", *args, "--out", str(run), "--resume"]) == 0
    lines = (run / "log.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in lines] == [1, 2]


def test_resume_keeps_the_runs_own_options(tmp_path, capsys):
    """`--resume` needs only where the run is and what to change (when to stop): the options it
    was trained with come from its checkpoint; another value for one of them is refused."""
    out = str(tmp_path / "r")
    assert main(["train", *TINY, "--out", out, "--batch-size", "16", "--lr", "0.01"]) == 0
    bare = ["--task", "reverse-digits", "--quiet"]  # --train-size 64 and --dev-size 16 too
    assert main(["train", *bare, "--out", out, "--resume", "--epochs", "2"]) == 0
    records = [json.loads(line) for line in (tmp_path / "r" / "log.jsonl").read_text().splitlines()]
    assert [(r["epoch"], r["step"], r["lr"]) for r in records] == [(1, 4, 0.01), (2, 8, 0.01)]
    capsys.readouterr()
    assert main(["train", *TINY, "--out", out, "--resume", "--epochs", "3", "--lr", "0.05"]) == 2
    assert "train.lr=0.01, this run asks train.lr=0.05" in capsys.readouterr().err
    smaller = ["--resume", "--epochs", "3", "--train-size", "32"]
    assert main(["train", *bare, "--out", out, *smaller]) == 2
    err = capsys.readouterr().err
    assert "data.options.train_size=64, this run asks data.options.train_size=32" in err
    assert "data.train='64 pairs, sha256" in err


def test_resume_names_an_option_that_differs_before_merging_it(run, capsys):
    """--emb 4 on a run of emb 8 with tied embeddings read "tie_embeddings needs emb == hidden":
    the merged options failed ModelConfig before the trainer compared them with the run's."""
    tied = run.parent / "tied"
    assert main(["train", *TINY, "--tie-embeddings", "--out", str(tied)]) == 0
    capsys.readouterr()
    assert main(["train", *TINY, "--out", str(tied), "--resume", "--emb", "4"]) == 2
    err = capsys.readouterr().err
    assert "model.emb=8, this run asks model.emb=4" in err and "tie_embeddings" not in err


def test_resume_keeps_the_runs_own_dtype(tmp_path, capsys):
    """A float64 run resumed without --dtype goes on in float64 (it was refused, with advice to
    leave the option out, which was what had been done); --dtype float32 is refused."""
    out = str(tmp_path / "r64")
    assert main(["train", *TINY, "--dtype", "float64", "--out", out]) == 0
    assert main(["train", "--task", "reverse-digits", "--quiet", "--out", out, "--resume",
                 "--epochs", "2"]) == 0  # fmt: skip
    assert len((tmp_path / "r64" / "log.jsonl").read_text().splitlines()) == 2
    capsys.readouterr()
    assert main(["train", *TINY, "--dtype", "float32", "--out", out, "--resume"]) == 2
    assert "dtype" in capsys.readouterr().err
    bare = ["--task", "reverse-digits", "--quiet", "--out", out, "--resume"]
    assert main(["train", *bare, "--tokens-per-batch", "500"]) == 2
    err = capsys.readouterr().err  # the usual "options differ", not TrainConfig's own error
    assert "train.tokens_per_batch=0, this run asks train.tokens_per_batch=500" in err


def test_translate_says_when_the_maximum_length_cut_an_output(run, tmp_path, capsys):
    ckpt = checkpoint.load(run / "best")  # made never to choose </s>, so that both are cut
    ckpt.params["out.b"][EOS_ID] = -1e4
    checkpoint.save(tmp_path / "no-eos", ckpt.params, ckpt.config, vocabs=ckpt.vocabs)
    assert main(["translate", "--checkpoint", str(tmp_path / "no-eos"), "--max-len-a", "0",
                 "--max-len-b", "1", "123456", "987654"]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert (
        "note: 2 of the 2 outputs (100%) reached the maximum length (--max-len-a 0 x source length"
        in err
    )


def test_translate_greedy_beam_nbest_and_stdin(run, capsys, monkeypatch):
    assert main(["translate", "--checkpoint", str(run), "123", "4567"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    assert main(["translate", "--checkpoint", str(run), "--beam", "3", "--nbest", "2", "12"]) == 0
    assert capsys.readouterr().out.count("|||") == 1
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("12\r\n345\n"))  # a Windows line end too
    assert main(["translate", "--checkpoint", str(run)]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2 and "vocabulary" not in captured.err  # no "\r"


def test_translate_shows_the_attention_weights_as_text(run, capsys, tmp_path):
    assert main(["translate", "--checkpoint", str(run), "--show-attention", "123", "45"]) == 0
    out = capsys.readouterr().out.split("\n\n")  # a blank line after each grid
    first, second = (block.splitlines() for block in out[:2])
    assert first[1].split() == ["1", "2", "3"] and second[1].split() == ["4", "5"]
    rows, left = first[2:], len(first[1]) - len(first[1].lstrip())  # the cells' first column
    labels = [r[:left].strip() for r in rows]  # a row per output character, then </s> if it ended
    ended = Translator.load(run).translate(["123"])[0].ended
    assert labels == list(first[0]) + (["</s>"] if ended else [])
    assert all(set(r[left:]) <= set(SHADES) for r in rows)
    bare = tmp_path / "bare"
    assert main(["train", *TINY, "--attention", "none", "--out", str(bare)]) == 0
    capsys.readouterr()
    assert main(["translate", "--checkpoint", str(bare), "--show-attention", "12"]) == 2
    assert "--show-attention: the model in" in capsys.readouterr().err


def test_translate_a_run_stopped_before_its_first_dev_evaluation(tmp_path, capsys):
    """--max-steps ends this run mid-epoch, so it has no best checkpoint: translate, evaluate
    and plot use its last one, with a note that says so."""
    out = tmp_path / "early"
    assert main(["train", *TINY, "--max-steps", "1", "--out", str(out)]) == 0
    assert not (out / "best").exists()
    capsys.readouterr()
    assert main(["translate", "--checkpoint", str(out), "123"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 1
    assert f"minis2s translate: note: {out} has no best checkpoint yet" in captured.err
    assert main(["evaluate", "--checkpoint", str(out), "--task", "reverse-digits"]) == 0
    assert "exact_match" in capsys.readouterr().out


def test_a_checkpoint_with_a_missing_or_foreign_vocabulary_is_refused(run, tmp_path, capsys):
    import shutil

    from minis2s.data.vocab import Vocab

    ckpt = tmp_path / "ckpt"
    shutil.copytree(run / "best", ckpt)
    (ckpt / "src_vocab.json").unlink()
    assert main(["translate", "--checkpoint", str(ckpt), "12"]) == 2
    assert f"incomplete checkpoint: {ckpt / 'src_vocab.json'} is missing" in capsys.readouterr().err
    shutil.copy(run / "best" / "src_vocab.json", ckpt)
    (ckpt / "tgt_vocab.json").write_text(json.dumps(Vocab("abc").to_dict()), encoding="utf-8")
    assert main(["translate", "--checkpoint", str(ckpt), "12"]) == 2
    assert (
        "tgt_vocab.json holds 7 tokens but the model's tgt_vocab is 14" in capsys.readouterr().err
    )
    larger = Vocab("abcdefghijklmnopqrstuvwxyz")  # more tokens than the model's: refused too
    (ckpt / "tgt_vocab.json").write_text(json.dumps(larger.to_dict()), encoding="utf-8")
    assert main(["translate", "--checkpoint", str(ckpt), "12"]) == 2
    assert f"holds {len(larger)} tokens but the model's tgt_vocab is 14" in capsys.readouterr().err


def test_unknown_tokens_are_counted(run, capsys):
    assert main(["translate", "--checkpoint", str(run), "12x"]) == 0
    assert "1 of the 3 source tokens (33%) was not in the vocabulary" in capsys.readouterr().err


def test_evaluate_on_another_task_says_so(run, capsys):
    """A model scored on a task it was not trained on reads mostly <unk>: the note gives the
    share and names both tasks, so the low figures are not taken for the model's quality."""
    assert main(["evaluate", "--checkpoint", str(run), "--task", "reverse-string"]) == 0
    captured = capsys.readouterr()
    assert f"the model in {run} was trained on 'reverse-digits', not on task 'reverse-string'" in (
        captured.err
    )
    unknown = int(captured.out.split("unknown_source_tokens\t")[1].split()[0])
    assert f"note: {unknown} of the " in captured.err
    assert main(["evaluate", "--checkpoint", str(run), "--task", "reverse-digits"]) == 0
    assert "note:" not in capsys.readouterr().err
    # reverse-long's digits are all in the vocabulary: no <unk> note, but the task is named
    assert main(["score", "--checkpoint", str(run), "--task", "reverse-long"]) == 0
    err = capsys.readouterr().err
    assert "not in the vocabulary" not in err
    assert f"the model in {run} was trained on 'reverse-digits', not on task 'reverse-long'" in err


@pytest.mark.parametrize("seed,noted", [(0, False), (5, True)])
def test_evaluate_task_notes_a_corpus_run_that_its_seed_0_split_may_have_trained(
    tmp_path, capsys, seed, noted
):
    """A run trained on `tasks --write reverse-digits DIR --seed N` files is scored on seed 0's
    test split, which holds some of seed N's training pairs: noted, with the --data fix, unless
    the run's training pairs are seed 0's own (its first --train-size of them, here 64)."""
    from minis2s.data.tasks import get_task

    assert (
        main(["tasks", "--write", "reverse-digits", str(tmp_path / "d"), "--seed", str(seed)]) == 0
    )
    splits = get_task("reverse-digits").generate(seed=0)
    written = get_task("reverse-digits").generate(seed=seed)["train"]
    assert (
        (set(written) & set(splits["test"])) if noted else not (set(written) & set(splits["test"]))
    )
    data = [
        "--data",
        str(tmp_path / "d" / "train.tsv"),
        "--dev-data",
        str(tmp_path / "d" / "dev.tsv"),
    ]
    options = [o for o in TINY if o not in ("--task", "reverse-digits")]
    assert main(["train", *data, *options, "--out", str(tmp_path / "r")]) == 0
    capsys.readouterr()
    for command in ("evaluate", "score"):
        argv = [command, "--checkpoint", str(tmp_path / "r"), "--task", "reverse-digits"]
        assert main(argv) == 0
        err = " ".join(capsys.readouterr().err.split())
        assert ("--seed N` with N other than 0, this split may hold some of them; score it with "
                "--data DIR/test.tsv instead" in err) is noted  # fmt: skip


def test_evaluate_on_task_and_corpus(run, capsys, tmp_path):
    assert main(["evaluate", "--checkpoint", str(run), "--task", "reverse-digits"]) == 0
    out = capsys.readouterr().out
    assert "exact_match" in out and "bleu" in out and "chrf" in out
    corpus = tmp_path / "c.tsv"
    corpus.write_text("123\t321\n45\t54\n", encoding="utf-8")
    assert main(["evaluate", "--checkpoint", str(run), "--data", str(corpus), "--beam", "2"]) == 0
    assert "n\t2" in capsys.readouterr().out


def test_evaluate_by_length_and_show(run, capsys):
    """The figures as before, then token accuracy, the table of bands and the shown examples,
    which agree with the Python API's figures of the same outputs."""
    from minis2s.api import Translator
    from minis2s.evaluate_commands import task_split

    argv = ["evaluate", "--checkpoint", str(run), "--task", "reverse-digits"]
    assert main([*argv, "--by-length", "4", "--show", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[8:11] == ["", "exact_match by source length, in bands of 4 tokens:",
                           "  length       n  exact_match"]  # fmt: skip
    tr = Translator.load(run)
    test = task_split(tr.config, "reverse-digits", "test")
    api = tr.evaluate(test, by_length=4)
    keys = ["exact_match", "n", "bleu", "chrf", "token_accuracy", "ref_loss", "ref_ppl"]
    assert lines[:7] == [f"{k}\t{api[k]:.4f}" if k != "n" else "n\t1000" for k in keys]
    assert lines[7] == "ref_unknown\t0"
    rows = [f"  {f'{b.lo}-{b.hi}':>6}  {b.n:>6}  {b.exact_match:.4f}" for b in api["by_length"]]
    assert lines[11:14] == rows and rows[0].startswith("     1-4  ")  # lengths 1..10: 3 bands
    assert lines[14] == ""
    shown = lines[15:]
    assert len(shown) == 3
    outputs = tr.translate([s for s, _ in test[:3]])
    for line, (src, ref), t in zip(shown, test[:3], outputs, strict=True):
        mark = "ok " if t.text == ref else "ERR"
        assert line == f"  {mark} {src:>30} -> {t.text:<30} (reference {ref})"


def test_evaluate_without_the_new_options_prints_what_it_did(run, capsys):
    """The lines evaluate printed before --by-length and --show, token_accuracy after them, and
    the references' own cross-entropy, perplexity and unknown tokens after that."""
    argv = ["evaluate", "--checkpoint", str(run), "--task", "reverse-digits", "--split", "dev"]
    assert main(argv) == 0
    keys = [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()]
    assert keys == ["exact_match", "n", "bleu", "chrf", "token_accuracy", "ref_loss", "ref_ppl",
                    "ref_unknown"]  # fmt: skip


def test_evaluate_show_uses_the_decoding_it_scored(run, capsys, tmp_path):
    """--show prints the outputs that were scored (here beam search's), not a second decoding;
    a width of one token labels each band with its one length, and --show beyond the pairs
    shows them all."""
    corpus = tmp_path / "c.tsv"
    corpus.write_text("123\t321\n45\t54\n6\t6\n", encoding="utf-8")
    argv = ["evaluate", "--checkpoint", str(run), "--data", str(corpus), "--beam", "2"]
    assert main([*argv, "--show", "5", "--by-length", "1"]) == 0
    out = capsys.readouterr().out
    assert "  length       n  exact_match\n       1       1  " in out
    assert "\n       2       1  " in out and "\n       3       1  " in out
    from minis2s.api import Translator

    beams = Translator.load(run).translate(["123", "45", "6"], method="beam", beam_size=2)
    shown = [line for line in out.splitlines() if line.startswith(("  ok ", "  ERR "))]
    assert [line.split(" -> ")[1].split(" (reference")[0].rstrip() for line in shown] == [
        t.text for t in beams
    ]


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--by-length", "0", "argument --by-length: must be an integer >= 1; got '0'"),
        ("--by-length", "-2", "argument --by-length: must be an integer >= 1; got '-2'"),
        ("--by-length", "ten", "argument --by-length: must be an integer >= 1; got 'ten'"),
        ("--show", "-1", "argument --show: must be an integer >= 0; got '-1'"),
        ("--show", "1.5", "argument --show: must be an integer >= 0; got '1.5'"),
    ],
)
def test_evaluate_refuses_a_bad_band_width_or_show_count(option, value, message, capsys):
    with pytest.raises(SystemExit) as exit_:  # argparse's usage error, before anything loads
        main(["evaluate", "--checkpoint", "/no/such/run", "--task", "copy", option, value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_evaluate_scores_a_task_run_on_the_split_its_seed_made(tmp_path):
    """Task splits depend on the training seed; with seed 0's test split, a run trained with
    --seed 3 would be scored partly on pairs it was trained on."""
    from minis2s.api import Translator
    from minis2s.data.tasks import get_task
    from minis2s.evaluate_commands import task_split

    out = tmp_path / "seeded"
    assert main(["train", *TINY, "--seed", "3", "--out", str(out)]) == 0
    config = Translator.load(out).config
    splits = {seed: get_task("reverse-digits").generate(seed=seed) for seed in (0, 3)}
    assert splits[0]["test"] != splits[3]["test"]
    assert task_split(config, "reverse-digits", "test") == splits[3]["test"]
    # a run saved before fingerprints (no data.train) gets the split its training seed drew
    unprinted = config | {"data": {k: v for k, v in config["data"].items() if k != "train"}}
    assert task_split(unprinted, "reverse-digits", "test") == splits[3]["test"]
    assert task_split(config, "copy", "test") == get_task("copy").generate(seed=0)["test"]


def test_plots(run, tmp_path):
    heat, curves = tmp_path / "a.png", tmp_path / "c.png"
    assert main(["plot", "--checkpoint", str(run), "--sentence", "1234", "--out", str(heat)]) == 0
    assert main(["plot", "--log", str(run / "log.jsonl"), "--out", str(curves)]) == 0
    assert heat.read_bytes()[:4] == b"\x89PNG" and curves.read_bytes()[:4] == b"\x89PNG"
    curves.unlink()
    assert main(["plot", "--log", str(run), "--out", str(curves)]) == 0  # the run's directory
    assert curves.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--log", "nope.jsonl"], "nope.jsonl: no such file"),
        (["--log", "{bad}"], r"bad.jsonl:2: not a JSON line of a run's log"),
        (["--log", "{run}", "--checkpoint", "{run}"], "not both"),
        (["--checkpoint", "{run}", "--sentence", ""], "--sentence '' has no token"),
        (["--checkpoint", "{run}"], "give --log FILE, or --checkpoint DIR with --sentence TEXT"),
    ],
)
def test_plot_explains_what_it_cannot_draw(run, tmp_path, capsys, args, message):
    bad = tmp_path / "bad.jsonl"
    # a line cut short with lines after it (a partial last line is skipped: test_viz.py)
    bad.write_text('{"epoch": 1}\n{"epo\n{"epoch": 2}\n', encoding="utf-8")
    args = [a.format(run=run, bad=bad) for a in args]
    assert main(["plot", *args, "--out", str(tmp_path / "x.png")]) == 2
    assert re.search(message, capsys.readouterr().err)


@pytest.mark.parametrize(
    "out, message",
    [
        ("curves", "--out {out}: has no extension"),  # savefig would write curves.png
        ("curves.xyz", "'.xyz' is not an image format matplotlib writes"),
        ("no/dir/c.png", "the directory {dir} does not exist"),
    ],
)
def test_plot_checks_its_out_path_first(run, tmp_path, capsys, out, message):
    out = tmp_path / out
    assert main(["plot", "--log", str(run), "--out", str(out)]) == 2
    assert message.format(out=out, dir=out.parent) in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("line", ['{"a": 1}', "[1, 2]", "5"])
def test_plot_names_a_log_line_that_is_not_an_epoch(tmp_path, capsys, line):
    log = tmp_path / "log.jsonl"
    log.write_text(line + "\n", encoding="utf-8")
    assert main(["plot", "--log", str(log), "--out", str(tmp_path / "c.png")]) == 2
    assert f"{log}:1: not an epoch of a run's log" in capsys.readouterr().err


def test_plot_log_of_a_checkpoint_names_where_the_log_is(run, tmp_path, capsys):
    # a run's log is beside its checkpoints; an average (minis2s average) has none
    out = str(tmp_path / "c.png")
    assert main(["plot", "--log", str(run / "last"), "--out", out]) == 2
    assert f"{run / 'last'} is a checkpoint; its run's log is {run / 'log.jsonl'}" in (
        capsys.readouterr().err
    )
    kept = tmp_path / "r" / "steps" / "step-0000004"  # train --keep-checkpoints
    shutil.copytree(run / "last", kept)
    (tmp_path / "r" / "log.jsonl").write_text("", encoding="utf-8")
    assert main(["plot", "--log", str(kept), "--out", out]) == 2
    assert f"its run's log is {tmp_path / 'r' / 'log.jsonl'}" in capsys.readouterr().err
    avg = tmp_path / "avg"
    both = ["--checkpoint", str(run / "best"), "--checkpoint", str(run / "last")]
    assert main(["average", *both, "--out", str(avg)]) == 0
    capsys.readouterr()
    assert main(["plot", "--log", str(avg), "--out", out]) == 2
    assert f"{avg} is a checkpoint without a log (an average writes none): plot the log " in (
        capsys.readouterr().err
    )


def test_plot_notes_unknown_tokens_as_translate_does(run, tmp_path, capsys):
    assert main(["plot", "--checkpoint", str(run), "--sentence", "12ab",
                 "--out", str(tmp_path / "h.png")]) == 0  # fmt: skip
    assert "2 of the 4 source tokens (50%) were not in the vocabulary" in capsys.readouterr().err


def test_a_feature_model_is_pointed_to_the_python_api(tmp_path, capsys):
    """The command line gives text; a model that reads feature frames is translated from Python,
    and the end of training says so."""
    out = str(tmp_path / "frames")
    small = ["--train-size", "32", "--hidden", "4", "--emb", "4", "--epochs", "1", "--quiet"]
    assert main(["train", "--task", "noisy-digits", *small, "--show", "1", "--out", out]) == 0
    assert f"try: Translator.load({out!r}).translate([frames]) in Python" in capsys.readouterr().out
    assert main(["translate", "--checkpoint", out, "123"]) == 2
    assert "this model reads (S, F=10) float frames" in capsys.readouterr().err
    assert main(["evaluate", "--checkpoint", out, "--task", "reverse-digits"]) == 2
    assert "--task reverse-digits gives text, but the model in" in capsys.readouterr().err


def test_evaluate_refuses_a_task_the_model_cannot_read(run, capsys):
    """A text model scored on a task of feature frames: the mismatch, not a TypeError."""
    assert main(["evaluate", "--checkpoint", str(run), "--task", "noisy-digits"]) == 2
    err = capsys.readouterr().err
    assert "--task noisy-digits gives (S, F=10) feature frames, but the model in" in err
    assert "reads text: they do not match" in err


def test_an_unwritable_path_is_an_error_before_any_training(tmp_path, capsys, monkeypatch):
    """An OSError (here: a path through a file) is a one-line error, and train meets it before
    its first epoch, not when it first saves."""
    from minis2s.train.trainer import Trainer

    fits = []
    monkeypatch.setattr(Trainer, "fit", lambda self: fits.append(self))
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    assert main(["train", *TINY, "--out", str(blocker / "run")]) == 2
    err = capsys.readouterr().err
    assert f"minis2s train: error: --out {blocker / 'run'}: {blocker} is a file, not a" in err
    assert main(["train", *TINY, "--out", str(blocker)]) == 2  # --out names the file itself
    assert f"--out {blocker} is a file, not a directory" in capsys.readouterr().err
    assert fits == []


def test_bench_checks_its_json_path_before_timing_anything(tmp_path, capsys, monkeypatch):
    runs = []
    monkeypatch.setattr("minis2s.bench.run", lambda **kw: runs.append(kw))
    missing = tmp_path / "no" / "b.json"
    assert main(["bench", "--quick", "--json", str(missing)]) == 2
    assert f"--json {missing}: the directory {missing.parent} does not exist" in (
        capsys.readouterr().err
    )
    assert main(["bench", "--quick", "--json", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert runs == []


def test_attention_none_alone_turns_input_feeding_off(tmp_path, capsys):
    """Input feeding (on by default) feeds the attentional state, which needs attention: asking
    for no attention turns it off, unless --input-feed is given too (then the config refuses)."""
    from minis2s.api import Translator

    out = str(tmp_path / "plain")
    assert main(["train", *TINY, "--attention", "none", "--out", out]) == 0
    cfg = Translator.load(out).model.cfg
    assert (cfg.attention, cfg.input_feed) == ("none", False)
    assert main(["train", *TINY, "--attention", "none", "--input-feed", "--out", out + "2"]) == 2
    assert "--input-feed feeds the attentional state" in capsys.readouterr().err


def test_version(capsys):
    from minis2s import __version__

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out == f"minis2s {__version__}\n"


def test_tasks_lists_every_task(capsys):
    from minis2s.data.tasks import TASKS

    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in TASKS)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--backend", "tpu", "tasks"], "unknown backend 'tpu'"),
        (["train", "--task", "nope"], "nope"),
        (["train", "--data", "/no/such/file.tsv"], "/no/such/file.tsv"),
        (["translate", "--checkpoint", "/no/such/run", "1"], "/no/such/run"),
        (["train", "--task", "copy", "--data", "x.tsv"], "exactly one of --task"),
        (
            ["train", "--task", "copy", "--dev-data", "d.tsv"],
            "--dev-data applies to a --data corpus",
        ),
        (["train", "--task", "copy", "--max-len", "5"], "--max-len applies to a --data corpus"),
        (["train", "--task", "copy", "--tokenizer", "word"], "--tokenizer applies to a --data"),
        (["train", "--task", "copy", "--train-size", "-3"], "--train-size -3: must be an integer"),
        (["train", "--task", "copy", "--show", "-1"], "--show must be >= 0"),
        (
            ["evaluate", "--checkpoint", ".", "--data", "x.tsv", "--split", "dev"],
            "--split chooses a split of a --task",
        ),
    ],
)
def test_bad_input_gets_a_clear_message(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "options, message",
    [
        (["--momentum", "0.9"], "--momentum 0.9: is for --optimizer sgd; the default --optimizer"),
        (["--lr-schedule", "constant", "--lr-decay", "0.5"], "--lr-decay has no effect without"),
        (["--warmup-steps", "10"], "--warmup-steps has no effect without --lr-schedule warmup"),
        (["--lr-schedule", "warmup", "--min-lr", "1e-5"], "--min-lr has no effect without"),
        (["--sampling-schedule", "linear"], "--sampling-schedule has no effect without"),
        (["--teacher-forcing", "0.5", "--sampling-k", "5"], "--sampling-k has no effect"),
        (["--init", "xavier", "--init-scale", "0.2"], "--init-scale has no effect without"),
        (["--cell", "gru", "--forget-bias", "2"], "--forget-bias has no effect without --cell"),
        (["--batch-size", "8", "--tokens-per-batch", "100"], "give one of them"),
        (
            ["--attention", "none", "--input-feed"],
            "--input-feed feeds the attentional state h~ "
            "into the next decoder step, so it needs attention: leave --input-feed out with "
            "--attention none, or choose an --attention",
        ),  # was ModelConfig's 'pass input_feed=False'
    ],
)
def test_a_training_option_the_rest_would_ignore_is_refused(options, message, tmp_path, capsys):
    assert main(["train", *TINY, "--out", str(tmp_path / "r"), *options]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_options_that_take_effect_are_accepted(tmp_path):
    """--tokens-per-batch alone replaces the default batch size; each option with what it needs."""
    i = TINY.index("--batch-size")
    no_batch_size = TINY[:i] + TINY[i + 2 :]
    options = ["--tokens-per-batch", "200", "--optimizer", "sgd", "--momentum", "0.9",
               "--teacher-forcing", "0.5", "--sampling-schedule", "linear",
               "--sampling-steps", "10", "--init", "xavier", "--attention", "additive",
               "--init-scale", "0.2"]  # fmt: skip
    assert main(["train", *no_batch_size, "--out", str(tmp_path / "r"), *options]) == 0
    config = json.loads((tmp_path / "r" / "last" / "state.json").read_text())["config"]
    assert (config["train"]["batch_size"], config["train"]["tokens_per_batch"]) == (0, 200)
    assert config["train"]["momentum"] == 0.9 and config["model"]["init_scale"] == 0.2


def test_malformed_corpus_names_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.tsv"
    bad.write_text("ab\tba\nno tab here\n", encoding="utf-8")
    assert main(["train", "--data", str(bad), "--quiet", "--out", str(tmp_path / "o")]) == 2
    assert f"{bad}:2" in capsys.readouterr().err


def test_an_empty_source_gives_an_empty_output_line(run, capsys):
    """It was refused, with the rest; now the output stays line for line with the input
    (tests/test_user_inputs.py: blank lines of stdin)."""
    assert main(["translate", "--checkpoint", str(run), "12", ""]) == 0
    result = capsys.readouterr()
    assert result.out.splitlines()[1] == "" and len(result.out.splitlines()) == 2
    assert "1 of the 2 sentences (2) has no token: its output is empty" in result.err


@pytest.mark.parametrize(
    "options, message",
    [
        (["--nbest", "3"], "--nbest would be ignored by greedy decoding: it is for --beam N; "
         "add --beam N, or leave it out"),
        (["--temperature", "0.5"], "--temperature would be ignored by greedy decoding"),
        (["--beam", "3", "--top-k", "2"], "--top-k would be ignored by beam search: it is for "
         "--sample; use --sample instead of --beam, or leave it out"),
        (["--top-p", "0.9"], "--top-p would be ignored by greedy decoding: it is for --sample; "
         "add --sample, or leave it out"),
        (["--top-p", "0.9", "--nbest", "2"], "--nbest would be ignored by greedy decoding: it is "
         "for --beam N; add --beam N, or leave it out; --top-p would be ignored by greedy "
         "decoding: it is for --sample"),
        (["--sample", "--length-penalty", "gnmt"], "--length-penalty would be ignored by "
         "sampling: it is for --beam N; use --beam N instead of --sample, or leave it out"),
        (["--sample", "--beam", "3"], "--sample and --beam are two decoding methods"),
        (["--seed", "5"], "--seed would be ignored by greedy decoding"),
        (["--coverage-penalty", "0.2"], "--coverage-penalty would be ignored by greedy decoding"),
        (["--beam", "2", "--seed", "5"], "--seed would be ignored by beam search"),
        (["--alpha", "0.5"], "--alpha would be ignored by greedy decoding"),
        (["--beam", "2", "--alpha", "0.5"], "--alpha is the exponent of --length-penalty gnmt"),
        (["--beam", "2", "--length-penalty", "gnmt", "--alpha", "5000"], "alpha must be in [-10"),
    ],
)  # fmt: skip
def test_a_decoding_option_the_method_would_ignore_is_refused(run, capsys, options, message):
    assert main(["translate", "--checkpoint", str(run), *options, "12"]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "options, message",
    [
        (["--sample", "--temperature", "nan"], "--temperature: must be a finite number > 0"),
        (["--sample", "--temperature", "inf"], "--temperature: must be a finite number > 0"),
        (["--beam", "2", "--length-penalty", "gnmt", "--alpha", "nan"], "--alpha: must be a fin"),
        (["--max-len-a", "inf"], "--max-len-a: must be a finite number"),
        (["--beam", "-1"], "--beam: must be an integer >= 0; got '-1'"),
        (["--sample", "--seed", "-5"], "--seed: must be an integer >= 0; got '-5'"),
        (["--sample", "--top-k", "2.5"], "--top-k: must be an integer >= 0; got '2.5'"),
        (["--sample", "--top-p", "0"], "--top-p: must be a number in (0, 1]; got '0'"),
        (["--sample", "--top-p", "1.5"], "--top-p: must be a number in (0, 1]; got '1.5'"),
        (["--sample", "--top-p", "nan"], "--top-p: must be a number in (0, 1]; got 'nan'"),
    ],
)
def test_a_decoding_value_that_would_decode_nothing_is_refused(run, capsys, options, message):
    with pytest.raises(SystemExit) as exit_:
        main(["translate", "--checkpoint", str(run), *options, "12"])
    assert exit_.value.code == 2
    assert f"minis2s translate: error: argument {message}" in capsys.readouterr().err


@pytest.mark.parametrize("option", [["--backend", "numba"], ["--threads", "1"]])
def test_a_global_option_after_the_command_says_where_it_goes(capsys, option):
    """argparse only called it unrecognized (and translate took its value for a sentence)."""
    with pytest.raises(SystemExit) as exit_:
        main(["translate", "--checkpoint", "run", *option, "12"])
    assert exit_.value.code == 2
    assert "--backend and --threads go before the command, e.g. minis2s --backend numba" in (
        capsys.readouterr().err
    )
    with pytest.raises(SystemExit):
        main(["translate", "--checkpoint", "run", "--bogus", "12"])
    assert "go before the command" not in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--seed", "--eval-every"])
def test_train_wants_a_non_negative_seed_and_eval_every(capsys, option):
    with pytest.raises(SystemExit) as exit_:
        main(["train", *TINY, option, "-1"])
    assert exit_.value.code == 2
    assert f"minis2s train: error: argument {option}: must be an integer >= 0" in (
        capsys.readouterr().err
    )


def test_the_options_each_method_takes_are_accepted(run, capsys):
    argv = ["translate", "--checkpoint", str(run)]
    assert main([*argv, "--sample", "--seed", "3", "--top-k", "2", "--temperature", "0.5",
                 "12"]) == 0  # fmt: skip
    assert main([*argv, "--beam", "2", "--length-penalty", "gnmt", "--alpha", "0.2", "12"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_stdin_that_is_not_utf8_is_an_error_naming_its_line(run, capsys, monkeypatch):
    """Whatever the locale's encoding (here ASCII with replacement, which would hide the byte),
    stdin is read as UTF-8, and a wrong byte is named by its line, as in a corpus file."""
    import io

    data = "\ufeff12\r\n3é\n".encode() + b"4\xff5\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), "ascii", "replace"))
    assert main(["translate", "--checkpoint", str(run)]) == 2
    assert "stdin:3: not valid UTF-8 (byte 2 of the line is b'\\xff')" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data[:-5]), "ascii", "replace"))
    assert main(["translate", "--checkpoint", str(run)]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2
    assert "1 of the 4 source tokens (25%) was not in" in captured.err  # é; no BOM, no "\r"


def test_a_run_that_diverges_on_an_epochs_last_update_says_so(tmp_path, capsys):
    """One update an epoch at lr 1e20 leaves finite parameters that overflow on use: the dev
    evaluation's decoding must not stop the run with NoHypothesis before the trainer names it.
    Whether the overflow ends in a NaN dev loss or a finite one past exp's range (2.7e20 on an
    AVX-512 CPU) depends on the machine's SIMD kernels; both are named."""
    out = tmp_path / "diverged"
    args = ["train", *TINY, "--batch-size", "64", "--lr", "1e20", "--out", str(out)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's overflows on the way
        assert main(args) == 2
    err = capsys.readouterr().err
    assert re.search(r"epoch 1: dev loss (nan|\S+ nats a token, a perplexity past float64's "
                     r"range): the model has diverged", err), err  # fmt: skip


def test_a_checkpoint_with_non_finite_parameters_is_refused(run, tmp_path, capsys):
    import shutil

    import numpy as np

    shutil.copytree(run / "best", tmp_path / "nan")
    file = tmp_path / "nan" / "params.npz"
    with np.load(file) as z:
        params = {k: z[k] for k in z.files}
    name = sorted(params)[0]
    params[name] = np.full_like(params[name], np.nan)
    np.savez(file, **params)
    assert main(["translate", "--checkpoint", str(tmp_path / "nan"), "12"]) == 2
    assert f"{tmp_path / 'nan'}: parameters hold NaN or infinite values ({name})" in (
        capsys.readouterr().err
    )


def test_evaluate_refuses_nbest(run, capsys):
    argv = ["evaluate", "--checkpoint", str(run), "--task", "reverse-digits", "--split", "dev"]
    assert main([*argv, "--beam", "2", "--nbest", "2"]) == 2
    assert "--nbest: this command scores one translation" in capsys.readouterr().err


def test_checkpoint_from_another_config_is_refused(run, tmp_path, capsys):
    args = [a if a != "8" else "16" for a in TINY]  # --hidden 16 --emb 16
    assert main(["train", *args, "--out", str(run), "--resume"]) == 2
    assert "hidden" in capsys.readouterr().err


def test_resuming_a_corpus_run_without_its_dev_file_says_to_give_it(tmp_path, capsys):
    """The checkpoint keeps fingerprints of its data, not file names: forgetting --dev-data on
    --resume holds part of --data out as dev instead, and the error said to leave options out."""
    corpus, dev = tmp_path / "c.tsv", tmp_path / "d.tsv"
    corpus.write_text("".join(f"{k}{k + 1}\t{k + 1}{k}\n" for k in range(40)), encoding="utf-8")
    dev.write_text("12\t21\n34\t43\n", encoding="utf-8")
    args = ["train", "--data", str(corpus), "--epochs", "1", "--hidden", "4", "--emb", "4",
            "--quiet", "--show", "0", "--out", str(tmp_path / "o")]  # fmt: skip
    assert main([*args, "--dev-data", str(dev)]) == 0
    capsys.readouterr()
    assert main([*args, "--epochs", "2", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "checkpoint was trained with data.dev='2 pairs" in err
    assert "a run trained on files resumes with the same --data, --dev-data and --test-data" in err
    assert main([*args, "--epochs", "2", "--resume", "--dev-data", str(dev)]) == 0


def test_long_training_pairs_are_skipped_and_counted_but_test_pairs_are_kept(tmp_path, capsys):
    """--max-len filters what the model trains on; the dev and test sets are scored whole (a
    filtered test set would report a score on its easy part only)."""
    corpus = tmp_path / "c.tsv"
    lines = [f"{'ab' * (k % 5 + 1)}\t{'ba' * (k % 5 + 1)}" for k in range(40)]  # 2..10 chars
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["train", "--data", str(corpus), "--dev-data", str(corpus), "--test-data", str(corpus),
            "--max-len", "6", "--epochs", "1", "--hidden", "4", "--emb", "4", "--quiet",
            "--show", "1", "--out", str(tmp_path / "o")]  # fmt: skip
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "skipped 16 training pairs longer than --max-len 6" in out  # k % 5 in (3, 4)
    assert "test: exact_match=" in out and " n=40 " in out
    # the kept dev and test pairs longer than any trained on are named (dev at its first
    # evaluation, whose --dev-size 200 default takes all 40): k % 5 == 3 has 8 chars, == 4 has 10
    long = [k + 1 for k in range(40) if k % 5 in (3, 4)]
    for split in ("dev", "test"):
        said = f"note: 16 {split} pairs are longer than any training source (at most 6 tokens): "
        assert said in err
        assert f"{split} pair {long[0]} (8), {split} pair {long[1]} (10)," in err


def test_a_corpus_in_two_aligned_files(tmp_path, capsys):
    """--data SOURCE TARGET (and --dev-data, --test-data, evaluate --data) read two files
    aligned line by line, as one TSV file of the same pairs reads."""
    pairs = [(f"{k} {k + 1}", f"{k + 1} {k}") for k in range(30)]
    src, tgt, tsv = tmp_path / "c.src", tmp_path / "c.tgt", tmp_path / "c.tsv"
    src.write_text("".join(f"{s}\n" for s, _ in pairs), encoding="utf-8")
    tgt.write_text("".join(f"{t}\n" for _, t in pairs), encoding="utf-8")
    tsv.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    small = ["--tokenizer", "word", "--epochs", "1", "--hidden", "4", "--emb", "4", "--quiet"]
    out = str(tmp_path / "two")
    assert main(["train", "--data", str(src), str(tgt), "--test-data", str(src), str(tgt),
                 *small, "--out", out]) == 0  # fmt: skip
    assert main(["train", "--data", str(tsv), *small, "--out", str(tmp_path / "one")]) == 0
    capsys.readouterr()
    for corpus in ([str(src), str(tgt)], [str(tsv)]):
        assert main(["evaluate", "--checkpoint", out, "--data", *corpus]) == 0
    two, one = capsys.readouterr().out.split("exact_match")[1:]
    assert two == one and "n\t30" in two  # the same 30 pairs, read either way
    one_run = (tmp_path / "one" / "last" / "params.npz").read_bytes()
    assert (tmp_path / "two" / "last" / "params.npz").read_bytes() == one_run
    resume = ["--resume", "--epochs", "2", "--quiet", "--out", out]  # --tokenizer word is kept
    assert main(["train", "--data", str(src), str(tgt), *resume]) == 0
    assert len((tmp_path / "two" / "log.jsonl").read_text().splitlines()) == 2
    assert main(["train", "--data", str(src), str(tgt), str(tsv), "--out", out + "3"]) == 2
    assert "one TSV file (source<TAB>target) or two files" in capsys.readouterr().err


def test_a_wordpunct_run_splits_punctuation_from_words_and_keeps_the_tokenizer(tmp_path, capsys):
    """--tokenizer wordpunct: the vocabularies hold "Go" and "!", not "Go." and "Run!", the
    checkpoint records the tokenizer, and translate (the command and Translator.load) reads
    "Go!", never seen whole, as the two known tokens "Go" and "!"."""
    from minis2s.api import Translator

    pairs = [
        ("Go.", "Va !"),
        ("Run!", "Cours !"),
        ("Don't go.", "N'y va pas."),
        ("Wait... (here)", "Attends... (ici)"),
        ("It's 3.5 km.", "C'est à 3,5 km."),
    ]
    corpus = tmp_path / "c.tsv"
    corpus.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    out = str(tmp_path / "run")
    assert main(["train", "--data", str(corpus), "--dev-data", str(corpus), "--tokenizer",
                 "wordpunct", "--epochs", "1", "--hidden", "4", "--emb", "4", "--quiet",
                 "--out", out]) == 0  # fmt: skip
    config = json.loads((tmp_path / "run" / "last" / "state.json").read_text())["config"]
    assert config["data"]["tokenizer"] == "wordpunct"
    tr = Translator.load(out)
    assert tr.tokenizer.name == "wordpunct"
    for token in ("Go", "!", ".", "3.5", "Don", "'", "t", "(", "Va"):
        assert token in tr.src_vocab.tokens or token in tr.tgt_vocab.tokens, token
    assert not {"Go.", "Run!", "km."} & set(tr.src_vocab.tokens)
    assert tr.translate(["Go!"])[0].src_tokens == ["Go", "!"]
    capsys.readouterr()
    assert main(["translate", "--checkpoint", out, "Go!", "Run."]) == 0
    result = capsys.readouterr()
    assert len(result.out.splitlines()) == 2
    assert "not in the vocabulary" not in result.err  # "Go!" and "Run." would be, as words
    assert main(["translate", "--checkpoint", out, "Go.", " "]) == 0  # no wordpunct token
    result = capsys.readouterr()
    assert result.out.splitlines()[1] == "" and "(2) has no token" in result.err


@pytest.mark.parametrize("count", ["0", "-2", "two"])
def test_threads_must_be_a_positive_count(count, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--threads", count, "tasks"])
    assert exit_.value.code == 2
    assert f"--threads: must be an integer >= 1; got '{count}'" in capsys.readouterr().err


@pytest.mark.parametrize("spelling", [["--threads", "1"], ["--thread", "1"], ["--thr=1"]])
def test_threads_sets_the_blas_threads_however_argparse_accepts_it(spelling):
    """argparse takes an abbreviation of --threads; the thread count must follow it too."""
    # main() also sets NumPy's pool at run time (build_parser imports NumPy), so the pool alone
    # would pass without _set_threads: the environment shows that the argv scan read it too
    code = ("import os, sys; from minis2s import cli, commands, threads; "  # NumPy not imported yet
            "commands.tasks = lambda a: print(threads.blas_threads(), "
            "os.environ.get('OPENBLAS_NUM_THREADS')) or 0; "
            "sys.exit(cli.main(sys.argv[1:]))")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in cli.THREAD_VARS}
    done = subprocess.run([sys.executable, "-c", code, *spelling, "tasks"], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "1"]


def test_a_closed_pipe_ends_the_command_quietly():
    """`minis2s tasks | head -1`: no traceback when the reader stops reading."""
    command = [sys.executable, "-m", "minis2s", "tasks"]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    run.stdout.close()  # before the command writes: its first write meets a closed pipe
    assert run.wait(timeout=120) == 141
    assert run.stderr.read() == b""


def test_every_model_and_train_option_is_explained_with_its_choices():
    from minis2s.cli_options import DATA_FIELDS, OPTION_HELP
    from minis2s.models import config
    from minis2s.train import optim, schedule
    from minis2s.train.config import METRICS, TrainConfig

    fields = [f.name for c in (config.ModelConfig, TrainConfig) for f in dataclasses.fields(c)]
    assert set(OPTION_HELP) == set(fields) - DATA_FIELDS
    choices = {"cell": config.CELLS, "attention": config.ATTENTIONS, "bridge": config.BRIDGES,
               "init": config.INITS, "optimizer": optim.OPTIMIZERS, "metric": METRICS,
               "lr_schedule": schedule.SCHEDULES}  # fmt: skip
    for name, values in choices.items():
        for v in values:
            assert re.search(rf"(^|[ :]){v}( |$)", OPTION_HELP[name]), (name, v)


@pytest.mark.parametrize(
    "name, applies, ignored",
    [
        ("lr_decay", {"lr_schedule": "exponential"}, {"lr_schedule": "warmup"}),
        ("lr_decay", {"lr_schedule": "plateau"}, {"lr_schedule": "constant"}),
        ("min_lr", {"lr_schedule": "plateau"}, {"lr_schedule": "warmup"}),
        ("lr_patience", {"lr_schedule": "plateau"}, {"lr_schedule": "exponential"}),
        ("warmup_steps", {"lr_schedule": "warmup"}, {"lr_schedule": "plateau"}),
        ("sampling_schedule", {"teacher_forcing": 0.5}, {"teacher_forcing": 1.0}),
        ("sampling_steps", {"teacher_forcing": 0.5, "sampling_schedule": "linear"},
         {"teacher_forcing": 0.5, "sampling_schedule": "exponential"}),
        ("sampling_k", {"teacher_forcing": 0.5, "sampling_schedule": "inverse_sigmoid"},
         {"teacher_forcing": 0.5, "sampling_schedule": "linear"}),
        ("init_scale", {"init": "xavier", "attention": "additive"},
         {"init": "xavier", "attention": "general"}),
        ("forget_bias", {"cell": "lstm"}, {"cell": "gru"}),
    ],
)  # fmt: skip
def test_an_option_is_refused_exactly_where_its_help_says_it_has_no_effect(name, applies, ignored):
    from minis2s.cli_options import check_given_options

    base = {"lr_schedule": "constant", "teacher_forcing": 1.0, "sampling_schedule": "constant",
            "init": "uniform", "attention": "none", "cell": "rnn"}  # fmt: skip
    check_given_options({name: 1}, base | applies)
    with pytest.raises(ValueError, match=f"--{name.replace('_', '-')} has no effect without"):
        check_given_options({name: 1}, base | ignored)


def test_options_given_as_zero_or_false_count_as_given():
    """from_args keeps 0 and --no-... (False): only an option left out is None."""
    import argparse

    from minis2s.cli_options import add_dataclass_options, from_args
    from minis2s.models import ModelConfig

    p = argparse.ArgumentParser()
    add_dataclass_options(p, ModelConfig, skip=set())
    args = p.parse_args(["--no-input-feed", "--dropout", "0", "--bidirectional"])
    assert from_args(ModelConfig, args, skip=set()) == {
        "input_feed": False, "dropout": 0.0, "bidirectional": True
    }  # fmt: skip


@pytest.mark.parametrize(
    "options, expected",
    [
        ([], {}),
        (["--sample", "--seed", "5", "--top-k", "2", "--temperature", "0.5"],
         {"method": "sample", "seed": 5, "top_k": 2, "temperature": 0.5, "top_p": 1.0}),
        (["--sample", "--top-p", "0.9"],
         {"method": "sample", "seed": 0, "top_k": 0, "temperature": 1.0, "top_p": 0.9}),
        (["--beam", "1", "--length-penalty", "gnmt", "--alpha", "0.3"],
         {"method": "beam", "beam_size": 1, "nbest": 1, "length_penalty": "gnmt", "alpha": 0.3}),
        (["--beam", "4", "--nbest", "3", "--length-penalty", "average", "--max-len-a", "1.5",
          "--max-len-b", "3"],
         {"method": "beam", "beam_size": 4, "nbest": 3, "length_penalty": "average",
          "max_len_a": 1.5, "max_len_b": 3}),
        (["--replace-unk", "--beam", "2", "--coverage-penalty", "0.2"],
         {"method": "beam", "beam_size": 2, "nbest": 1, "length_penalty": "none",
          "replace_unk": True, "beta": 0.2}),
    ],
)  # fmt: skip
def test_every_decoding_option_given_reaches_translate(options, expected):
    """What translate() is called with: each option as given (a beam of 1 is beam search, with
    its length penalty), the defaults for the rest, nothing left behind."""
    args = cli.build_parser().parse_args(["translate", "--checkpoint", "run", *options, "12"])
    assert cli.decode_kwargs(args) == {"max_len_a": 2.0, "max_len_b": 10} | expected


def test_sample_with_a_beam_of_one_is_refused_too(run, capsys):
    assert main(["translate", "--checkpoint", str(run), "--sample", "--beam", "1", "12"]) == 2
    assert "--sample and --beam are two decoding methods" in capsys.readouterr().err


def test_train_scores_and_shows_the_test_set_not_the_dev_set(tmp_path, capsys):
    """With a test set the final figures and the --show lines are the test set's (the dev set
    chose the checkpoint), and --show N prints its first N pairs."""
    dev, test = tmp_path / "dev.tsv", tmp_path / "test.tsv"
    dev.write_text("".join(f"{k}\t{k}\n" for k in range(10, 15)), encoding="utf-8")
    pairs = [(f"{k}{k + 1}", f"{k + 1}{k}") for k in range(7)]
    test.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    args = ["train", "--data", str(test), "--dev-data", str(dev), "--test-data", str(test),
            "--epochs", "1", "--hidden", "4", "--emb", "4", "--quiet", "--show", "3",
            "--out", str(tmp_path / "o")]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "test: exact_match=" in out and " n=7 " in out
    shown = [line for line in out.splitlines() if line.startswith(("  ok ", "  ERR "))]
    assert [line.split()[1] for line in shown] == [s for s, _ in pairs[:3]]


def test_evaluate_scores_the_split_it_is_given(run, capsys):
    """--split dev scores (and shows) the dev split, not the test split."""
    from minis2s.evaluate_commands import task_split

    tr = Translator.load(run)
    dev, test = (task_split(tr.config, "reverse-digits", s) for s in ("dev", "test"))
    assert [s for s, _ in dev[:3]] != [s for s, _ in test[:3]]
    argv = ["evaluate", "--checkpoint", str(run), "--task", "reverse-digits", "--split", "dev"]
    assert main([*argv, "--show", "3"]) == 0
    shown = [line for line in capsys.readouterr().out.splitlines() if line[2:5] in ("ok ", "ERR")]
    assert [line.split()[1] for line in shown] == [s for s, _ in dev[:3]]


def test_translate_nbest_shows_the_attention_of_the_best(run, capsys):
    """With --nbest, --show-attention draws the grid of the first (best) of the list."""
    from minis2s.viz import attention_text

    argv = ["translate", "--checkpoint", str(run), "--beam", "4", "--nbest", "4"]
    assert main([*argv, "--show-attention", "1234"]) == 0
    out = capsys.readouterr().out
    hyps = Translator.load(run).translate(["1234"], method="beam", beam_size=4, nbest=4)[0]
    assert len({h.text for h in hyps}) > 1  # the list holds other grids than the best's
    best = attention_text(hyps[0].attention, hyps[0].src_tokens, hyps[0].tokens)
    assert out.split("\n", 1)[1] == best + "\n\n"


def test_gradcheck_fails_when_a_check_fails_and_no_model_leaves_the_model_out(monkeypatch, capsys):
    from minis2s.layers import linear

    assert main(["gradcheck", "--only", "seq2seq", "--no-model"]) == 2
    assert "--no-model leaves out the seq2seq" in capsys.readouterr().err
    real = linear.backward
    monkeypatch.setattr(linear, "backward",
                        lambda dy, cache: (lambda dx, dp: (dx, {**dp, "b": 2 * dp["b"]}))(
                            *real(dy, cache)))  # fmt: skip
    assert main(["gradcheck", "--only", "linear", "--no-model"]) == 1
    assert "SOME CHECKS FAILED" in capsys.readouterr().out


def test_threads_sets_numpys_pool_when_numpy_was_imported_first(monkeypatch):
    """Called from Python, NumPy (and its BLAS pool) may be loaded before main() runs: the
    environment is read too late then, so main() sets the running pool itself."""
    from minis2s import commands, threads

    before = threads.blas_threads()
    if before is None:
        pytest.skip("this BLAS does not say its thread count")
    for var in cli.THREAD_VARS:
        monkeypatch.delenv(var, raising=False)  # main sets them; monkeypatch puts them back
    want = 2 if before == 1 else 1
    seen = []
    monkeypatch.setattr(commands, "tasks", lambda args: seen.append(threads.blas_threads()) or 0)
    try:
        assert main(["--threads", str(want), "tasks"]) == 0
    finally:
        threads.set_blas_threads(before)
    assert seen == [want]


def _bpe_corpus(path) -> list[tuple[str, str]]:
    """Verbs sharing stems and endings: "walked talks ." -> "talks walked ." (word order
    swapped). "jumping" is left out of training, so only subword pieces can read it."""
    words = [s + e for s in ("walk", "talk", "jump", "play") for e in ("", "s", "ed", "ing")]
    words.remove("jumping")
    pairs = [(f"{a} {b} .", f"{b} {a} .") for a in words for b in words if a != b]
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    return pairs


def test_a_bpe_run_learns_subword_pieces_keeps_its_merges_and_resumes(tmp_path, capsys):
    """--tokenizer bpe: the vocabularies hold pieces marked with @@, the checkpoint keeps the
    merges (config data.bpe_merges, and the number asked for in data.options), Translator.load
    and translate rebuild the same tokenizer, a word never seen whole is read as known pieces,
    outputs carry no marks, and --resume goes on with the run's merges without --tokenizer."""
    corpus = tmp_path / "c.tsv"
    _bpe_corpus(corpus)
    out = str(tmp_path / "run")
    small = ["--epochs", "1", "--hidden", "8", "--emb", "8", "--quiet", "--out", out]
    assert main(["train", "--data", str(corpus), "--tokenizer", "bpe", "--bpe-merges", "12",
                 *small]) == 0  # fmt: skip
    assert re.search(
        r"bpe: learned 12 merges; \d+% of the training words are one piece; "
        r"vocabularies of \d+ source and \d+ target pieces",
        capsys.readouterr().out,
    )
    config = json.loads((tmp_path / "run" / "last" / "state.json").read_text())["config"]
    data = config["data"]
    assert data["tokenizer"] == "bpe" and data["options"]["bpe_merges"] == 12
    assert 0 < len(data["bpe_merges"]) <= 12
    tr = Translator.load(out)
    assert tr.tokenizer.name == "bpe"
    assert tr.tokenizer.merges == tuple(tuple(m) for m in data["bpe_merges"])
    assert any(t.endswith("@@") for t in tr.src_vocab.tokens)  # pieces, not whole words
    t = tr.translate(["jumping walks ."])[0]
    assert "".join(p.removesuffix("@@") for p in t.src_tokens) == "jumpingwalks."
    assert tr.unknown == 0 and "@@" not in t.text
    capsys.readouterr()
    assert main(["translate", "--checkpoint", out, "jumping walks ."]) == 0
    result = capsys.readouterr()
    assert "@@" not in result.out and "not in the vocabulary" not in result.err
    assert main(["evaluate", "--checkpoint", out, "--data", str(corpus)]) == 0
    assert "exact_match" in capsys.readouterr().out
    resume = ["--resume", "--epochs", "2", "--quiet", "--out", out]
    from minis2s.data import bpe

    def learn_again(*args, **kwargs):
        raise AssertionError("--resume learned the merges again")

    with pytest.MonkeyPatch.context() as mp:  # a later minis2s may learn otherwise: keep these
        mp.setattr(bpe, "learn_merges", learn_again)
        assert main(["train", "--data", str(corpus), *resume]) == 0
    assert len((tmp_path / "run" / "log.jsonl").read_text().splitlines()) == 2
    resumed = json.loads((tmp_path / "run" / "last" / "state.json").read_text())["config"]
    assert resumed["data"]["bpe_merges"] == data["bpe_merges"]
    capsys.readouterr()
    assert main(["train", "--data", str(corpus), "--bpe-merges", "5", *resume[:-2],
                 "--epochs", "3", "--out", out]) == 2  # fmt: skip
    assert (
        "--resume goes on with the run's BPE merges (12 asked, 12 learned): leave "
        "--bpe-merges out, or start a new --out to learn 5"
    ) in capsys.readouterr().err
    assert main(["train", "--data", str(corpus), "--tokenizer", "wordpunct", *resume]) == 2
    err = capsys.readouterr().err
    assert "data.tokenizer='bpe', this run asks data.tokenizer='wordpunct'" in err
    # the change named, not --bpe-merges (taken from the run) refused for wordpunct, and the
    # merges named by their number, not listed
    assert "data.bpe_merges=[12 items], this run asks no data.bpe_merges" in err


@pytest.mark.parametrize(
    "argv,message",
    [
        (
            ["--tokenizer", "word", "--bpe-merges", "5"],
            "--bpe-merges 5: applies to --tokenizer bpe",
        ),
        (["--bpe-merges", "5"], "the tokenizer here is char (the default)"),
        (["--tokenizer", "bpe", "--bpe-merges", "-1"], "--bpe-merges -1: must be an integer >= 0"),
    ],
)
def test_bpe_merges_needs_the_bpe_tokenizer(tmp_path, capsys, argv, message):
    corpus = tmp_path / "c.tsv"
    _bpe_corpus(corpus)
    assert main(["train", "--data", str(corpus), *argv, "--out", str(tmp_path / "r")]) == 2
    assert message in capsys.readouterr().err
    assert main(["train", "--task", "copy", "--bpe-merges", "5"]) == 2
    assert "--bpe-merges applies to a --data corpus" in capsys.readouterr().err


def test_no_fewer_merges_are_advised_when_none_were_learned(tmp_path, capsys):
    """Words of one character each (Chinese written a character at a time) are all one piece,
    and BPE learns nothing: "fewer merges keep more of them in pieces" was false there."""
    corpus = tmp_path / "c.tsv"
    pairs = [(f"{a} {b}", f"{b} {a}") for a in "我你他是好人大小" for b in "我你他是好人大小"]
    corpus.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    assert main(["train", "--data", str(corpus), "--tokenizer", "bpe", "--epochs", "1",
                 "--hidden", "4", "--emb", "4", "--quiet", "--show", "0",
                 "--out", str(tmp_path / "r")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "bpe: learned 0 merges of the 4000 asked" in out
    assert "100% of the training words are one piece; vocabularies" in out
    assert "fewer merges" not in out


def test_a_bpe_checkpoint_without_its_merges_is_refused_by_name(tmp_path, capsys):
    corpus = tmp_path / "c.tsv"
    _bpe_corpus(corpus)
    out = tmp_path / "run"
    assert main(["train", "--data", str(corpus), "--tokenizer", "bpe", "--bpe-merges", "400",
                 "--epochs", "1", "--hidden", "4", "--emb", "4", "--quiet",
                 "--out", str(out)]) == 0  # fmt: skip
    learned = re.search(r"bpe: learned (\d+) merges of the 400 asked \(then no pair occurred "
                        r"twice\)", capsys.readouterr().out)  # fmt: skip
    assert learned and int(learned[1]) < 400
    assert "100% of the training words are one piece; fewer merges (--bpe-merges)" in learned.string
    state_file = out / "best" / "state.json"
    state = json.loads(state_file.read_text())
    state["config"]["data"]["bpe_merges"] = [["a"]]
    state_file.write_text(json.dumps(state))
    with pytest.raises(ValueError, match="state.json: its bpe_merges are not BPE merges"):
        Translator.load(out)
    del state["config"]["data"]["bpe_merges"]
    state_file.write_text(json.dumps(state))
    with pytest.raises(ValueError, match="says tokenizer bpe but holds no bpe_merges"):
        Translator.load(out)
    for name in ("sentencepiece", None):  # named by the file, not get_tokenizer's list sans bpe
        state["config"]["data"]["tokenizer"] = name
        state_file.write_text(json.dumps(state))
        with pytest.raises(ValueError, match=rf"best.state.json says tokenizer {name!r}, which is "
                           r"none of char, word, wordpunct, bpe \(was it edited\?\)"):  # fmt: skip
            Translator.load(out)


def test_tasks_write_puts_a_tasks_splits_in_files_that_train_reads(tmp_path, capsys):
    """`tasks --write en-es DIR` writes the splits that `train --task en-es --seed N` trains on,
    as TSV files that --data reads back pair for pair; it never writes over a file."""
    from minis2s.data.corpus import read_corpus
    from minis2s.data.tasks import get_task

    out = tmp_path / "en-es"
    assert main(["tasks", "--write", "en-es", str(out), "--seed", "3"]) == 0
    splits = get_task("en-es").generate(seed=3)
    for split in ("train", "dev", "test"):
        assert list(read_corpus(out / f"{split}.tsv")) == splits[split]
    printed = capsys.readouterr().out
    assert f"wrote 20000 train pairs to {out / 'train.tsv'}" in printed
    assert f"--test-data {out / 'test.tsv'} --tokenizer word" in printed
    before = (out / "dev.tsv").read_bytes()
    assert main(["tasks", "--write", "en-es", str(out)]) == 2
    assert "--write would replace" in capsys.readouterr().err
    assert (out / "dev.tsv").read_bytes() == before  # nothing written over
    assert main(["tasks", "--write", "reverse-digits", str(tmp_path / "rd")]) == 0
    rd = get_task("reverse-digits").generate(seed=0)  # --seed's default
    assert list(read_corpus(tmp_path / "rd" / "test.tsv")) == rd["test"]


@pytest.mark.parametrize(
    "argv,message",
    [
        (["tasks", "--write", "noisy-digits", "X"], "feature frames for sources"),
        (["tasks", "--write", "nope", "X"], "unknown task 'nope'"),
        (["tasks", "--seed", "3"], "--seed applies to --write"),
    ],
)
def test_tasks_write_refuses_what_it_cannot_write(argv, message, capsys, tmp_path):
    argv = [str(tmp_path / a) if a == "X" else a for a in argv]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "X").exists()


def test_tasks_write_wants_a_non_negative_seed(tmp_path, capsys):
    """As train --seed: NumPy's "expected non-negative integer" named no option."""
    with pytest.raises(SystemExit) as exit_:
        main(["tasks", "--write", "copy", str(tmp_path / "d"), "--seed", "-1"])
    assert exit_.value.code == 2
    assert "minis2s tasks: error: argument --seed: must be an integer >= 0; got '-1'" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "d").exists()


def test_tasks_write_refuses_a_file_for_its_directory(tmp_path, capsys):
    (tmp_path / "f").write_text("mine")
    assert main(["tasks", "--write", "copy", str(tmp_path / "f")]) == 2
    assert "is a file; give a directory" in capsys.readouterr().err
    assert (tmp_path / "f").read_text() == "mine"


def test_a_new_run_over_a_run_is_refused_before_the_data_is_read(tmp_path, capsys, monkeypatch):
    """Reading a large corpus and learning its BPE merges take a while: the refusal comes first."""
    from minis2s import pipeline

    corpus = tmp_path / "c.tsv"
    _bpe_corpus(corpus)
    out = str(tmp_path / "run")
    small = ["--epochs", "1", "--hidden", "4", "--emb", "4", "--quiet", "--out", out]
    assert main(["train", "--data", str(corpus), "--tokenizer", "bpe", *small]) == 0

    def read(**kwargs):
        raise AssertionError("the data was read before the run in --out was refused")

    monkeypatch.setattr(pipeline, "load_data", read)
    capsys.readouterr()
    assert main(["train", "--data", str(corpus), "--tokenizer", "bpe", *small]) == 2
    assert "already holds a run; pass --resume" in capsys.readouterr().err
    (tmp_path / "run2").mkdir()
    (tmp_path / "run2" / "log.jsonl").write_text("{}\n")
    assert main(["train", "--data", str(corpus), *small[:-1], str(tmp_path / "run2")]) == 2
    assert "holds the log.jsonl of an earlier run" in capsys.readouterr().err


def test_evaluate_help_does_not_offer_the_nbest_it_refuses(capsys):
    """evaluate scores one output per sentence: its -h listed --nbest ("print the N best"),
    which it then refused; --nbest is kept out of its help, and still refused by name."""
    with pytest.raises(SystemExit):
        main(["evaluate", "-h"])
    assert "--nbest" not in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["translate", "-h"])
    assert "--nbest N" in capsys.readouterr().out
    argv = ["evaluate", "--checkpoint", "run", "--task", "dates", "--beam", "2", "--nbest", "2"]
    assert main(argv) == 2
    assert "minis2s evaluate: error: --nbest: this command scores one translation per" in (
        capsys.readouterr().err
    )


def test_train_help_calls_the_n_it_speaks_of_n():
    """`--train-size TRAIN_SIZE  use the first N train pairs` left the reader to guess that N
    is the value; --max-len did not say what it counts."""
    import argparse

    parser = cli.build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    shown = " ".join(sub.choices["train"].format_help().split())  # help lines rejoined
    assert "--train-size N use the first N train pairs" in shown
    assert "--max-len N skip train pairs > N tokens a side" in shown
    assert "--max-vocab N vocabulary size N" in shown


def test_translate_help_calls_the_value_by_the_letter_its_help_uses():
    """`--temperature TEMPERATURE  with --sample: p^(1/T)`: the T, K and N the help speaks of
    are the values given, as --top-p P's P is."""
    import argparse

    parser = cli.build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    shown = " ".join(sub.choices["translate"].format_help().split())
    assert "--temperature T with --sample: p^(1/T)" in shown
    assert "--top-k K with --sample: the K best only" in shown
    assert "--nbest N with --beam: print the N best" in shown
