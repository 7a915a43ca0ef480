"""`train --init-from RUN` (minis2s/fine_tune.py): a new run that starts from RUN's parameters,
tokenizer and vocabularies, with training started afresh, on tiny runs of a few updates."""

import collections
import dataclasses
import hashlib
import json
import re
import shutil
import string

import numpy as np
import pytest

from minis2s import fine_tune, pipeline
from minis2s.api import Translator
from minis2s.backend import to_numpy
from minis2s.cli import main
from minis2s.data import bpe
from minis2s.data.tokenize import Tokenizer
from minis2s.train import checkpoint
from minis2s.train.config import TrainConfig
from minis2s.train.trainer import Trainer

SIZES = ["--hidden", "8", "--emb", "8"]
SMALL = ["--epochs", "1", "--dev-size", "16", "--batch-size", "32", "--show", "0", "--quiet"]
TINY = ["--task", "reverse-digits", "--train-size", "64", *SIZES, *SMALL]
NEW = ["--task", "reverse-digits", "--seed", "1", "--train-size", "64", *SMALL]  # other pairs
TCFG = TrainConfig(epochs=1, dev_size=16, batch_size=32)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """RUN: a tiny model trained on reverse-digits (its vocabulary: the ten digits)."""
    out = tmp_path_factory.mktemp("init_from") / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    return out


def run_params(path) -> dict:
    return checkpoint.load(path).params


def file_hashes(root) -> dict:
    return {p.relative_to(root): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}  # fmt: skip


def letters_corpus(path, n=40):
    """Pairs of digits with letters mixed in, which RUN's vocabularies lack."""
    rng = np.random.default_rng(0)
    chars = string.digits + "abc"
    lines = []
    for _ in range(n):
        s = "".join(rng.choice(list(chars), size=rng.integers(1, 8)))
        lines.append(f"{s}\t{s[::-1]}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("dtype", [None, "float64"])
def test_the_first_update_starts_from_runs_parameters(run, tmp_path, monkeypatch, dtype):
    """Before its first update the new model holds RUN's parameters exactly (cast to float64
    when asked: float32 -> float64 is exact); the dtype is RUN's unless given."""
    first = []
    step = Trainer.step

    def spy(self, *batches):
        if not first:
            first.append({k: to_numpy(p).copy() for k, p in self.model.params.items()})
        return step(self, *batches)

    monkeypatch.setattr(Trainer, "step", spy)
    data = pipeline.load_data(task="reverse-digits", seed=1, train_size=64)
    tr = pipeline.train(data, {}, TCFG, str(tmp_path / "new"), dtype=dtype, progress=False,
                        init_from=str(run))  # fmt: skip
    assert tr.model.dtype == (dtype or "float32")
    own = run_params(run / "best")
    assert sorted(first[0]) == sorted(own)
    for name, p in own.items():
        assert first[0][name].dtype == tr.model.dtype
        np.testing.assert_array_equal(first[0][name], p.astype(tr.model.dtype), err_msg=name)


def test_fine_tuning_trains_afresh_and_leaves_run_untouched(run, tmp_path):
    before = file_hashes(run)
    new = tmp_path / "new"
    assert (
        main(["train", *NEW, "--init-from", str(run), "--dropout", "0.1", "--out", str(new)]) == 0
    )
    assert file_hashes(run) == before
    ckpt, own = checkpoint.load(new / "last"), run_params(run / "best")
    assert any(not np.array_equal(ckpt.params[k], own[k]) for k in own)
    # step and epoch from 0: one epoch of two batches of 32, a log of one line
    assert (ckpt.trainer_state["epoch"], ckpt.trainer_state["step"]) == (1, 2)
    assert len((new / "log.jsonl").read_text().splitlines()) == 1
    run_config = checkpoint.load_config(run / "best")
    assert ckpt.config["model"] == run_config["model"] | {"dropout": 0.1}  # dropout may change
    assert ckpt.config["init_from"]["path"] == str(run / "best")
    assert ckpt.vocabs == checkpoint.load(run / "best").vocabs
    tr = Translator.load(new)  # translates, with RUN's vocabularies
    assert all(isinstance(t.text, str) for t in tr.translate(["123", "98765"]))
    # its own data's source, as any run's: a --resume needs only its --out
    assert ckpt.config["data"]["source"] == {"task": "reverse-digits"}
    assert main(["train", "--out", str(new), "--resume", "--epochs", "2", "--quiet"]) == 0
    assert len((new / "log.jsonl").read_text().splitlines()) == 2


def test_the_unknown_share_is_that_of_tokens_outside_runs_vocabularies(run, tmp_path, capsys):
    assert set(Translator.load(run).tgt_vocab.tokens[4:]) == set(string.digits)  # the premise
    corpus = letters_corpus(tmp_path / "letters.tsv")
    data = pipeline.load_data(data=str(corpus), dev_data=str(corpus))
    with pytest.warns(UserWarning) as caught:  # a share above 0 is warned of
        tr = pipeline.train(data, {}, TCFG, str(tmp_path / "new"), init_from=str(run))
    pairs = [line.split("\t") for line in corpus.read_text().splitlines()]
    for side, texts in (("src", [s for s, _ in pairs]), ("tgt", [t for _, t in pairs])):
        chars = "".join(texts)
        share = sum(c not in string.digits for c in chars) / len(chars)
        assert tr.config["init_from"]["unknown"][side] == pytest.approx(share, rel=1e-12)
    assert f"{share:.1%} of the target tokens" in str(caught[0].message)


def test_the_unknown_share_is_counted_without_tokenizing_the_training_set_again(
    run, tmp_path, monkeypatch
):
    """The share comes from the encoded training pairs: each training text is tokenized once
    (by encode_pairs), not a second time to count its unknown tokens."""
    corpus = letters_corpus(tmp_path / "letters.tsv")
    dev = tmp_path / "dev.tsv"
    dev.write_text("9999999\t9999999\n")  # no training text; no longer than the longest (7)
    data = pipeline.load_data(data=str(corpus), dev_data=str(dev))
    texts = {text for pair in data.train for text in pair}
    calls = []
    tokenize = Tokenizer.tokenize

    def counting(self, text):
        calls.append(text)
        return tokenize(self, text)

    monkeypatch.setattr(Tokenizer, "tokenize", counting)
    with pytest.warns(UserWarning, match="of the target tokens"):
        tcfg = dataclasses.replace(TCFG, dev_size=1)  # the one dev pair: no note of too few
        pipeline.train(data, {}, tcfg, str(tmp_path / "new"), init_from=str(run))
    per_text = collections.Counter(t for t in calls if t in texts)
    repeats = collections.Counter(t for pair in data.train for t in pair)  # a palindrome: twice
    assert per_text == repeats


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--hidden", "4"], "--hidden 4 .*has hidden 8.* leave --hidden out"),
        (["--cell", "gru"], "--cell gru .*has cell lstm.* leave --cell out"),
        (["--resume"], "--resume conflicts with --init-from: a fine-tuned run resumes"),
        (["--min-freq", "2"], "--min-freq conflicts with --init-from: .*RUN's vocabularies"),
        (["--max-vocab", "9"], "--max-vocab conflicts with --init-from: .*RUN's vocabularies"),
        (["--src-vectors", "VEC"], "--src-vectors conflicts with --init-from: .*are RUN's"),
        (["--tgt-vectors", "VEC"], "--tgt-vectors conflicts with --init-from: .*are RUN's"),
    ],
)
def test_an_option_that_conflicts_is_refused_before_training(run, tmp_path, capsys, extra, match):
    (tmp_path / "vec.txt").write_text("1 8\n")
    extra = [str(tmp_path / "vec.txt") if a == "VEC" else a for a in extra]
    out = tmp_path / "new"
    assert main(["train", *NEW, *extra, "--init-from", str(run), "--out", str(out)]) == 2
    assert re.search(match, capsys.readouterr().err)
    assert not (out / "last").exists()


@pytest.mark.parametrize("extra", [["--tokenizer", "word"], ["--bpe-merges", "10"]])
def test_a_tokenizer_option_is_refused(run, tmp_path, capsys, extra):
    data = ["--data", str(letters_corpus(tmp_path / "c.tsv")), *SMALL]
    assert main(["train", *data, *extra, "--init-from", str(run), "--out", str(tmp_path)]) == 2
    assert f"{extra[0]} conflicts with --init-from: the new run reads text with RUN's" in (
        capsys.readouterr().err
    )


def test_the_options_equal_to_runs_and_from_python_are_checked_alike(run, tmp_path):
    data = pipeline.load_data(task="reverse-digits", seed=1, train_size=64)
    out = str(tmp_path / "new")
    pipeline.train(data, {"hidden": 8, "cell": "lstm"}, TCFG, out, init_from=run, progress=False)
    for name, value in {"resume": True, "src_vectors": __file__}.items():  # train's words
        with pytest.raises(ValueError, match=f"^train: {name} conflicts with init_from"):
            pipeline.train(data, {}, TCFG, str(tmp_path / "x"), init_from=run, **{name: value})
    with pytest.raises(ValueError, match="^load_data's min_freq=2 shaped the data's vocabularies"):
        pipeline.train(pipeline.load_data(task="reverse-digits", min_freq=2), {}, TCFG,
                       str(tmp_path / "y"), init_from=run)  # fmt: skip
    with pytest.raises(ValueError, match="^max_vocab shapes a vocabulary built on the training"):
        pipeline.load_data(
            task="reverse-digits", max_vocab=8, vocabs=fine_tune.load_run(run).vocabs
        )


def test_a_run_that_is_missing_or_not_a_run_is_named(tmp_path, capsys):
    data = pipeline.load_data(task="reverse-digits", train_size=64)
    with pytest.raises(FileNotFoundError, match="init_from .*nope: no such directory"):
        pipeline.train(data, {}, TCFG, str(tmp_path / "a"), init_from=tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no checkpoint at .*empty: expected a run"):
        pipeline.train(data, {}, TCFG, str(tmp_path / "b"), init_from=tmp_path / "empty")


def test_a_run_of_another_dtype_is_named(run, tmp_path):
    shutil.copytree(run / "best", tmp_path / "odd")
    state = json.loads((tmp_path / "odd" / "state.json").read_text())
    state["config"]["dtype"] = "float16"
    (tmp_path / "odd" / "state.json").write_text(json.dumps(state))
    data = pipeline.load_data(task="reverse-digits", train_size=64)
    with pytest.raises(ValueError, match="says dtype float16; minis2s models are float32 or"):
        pipeline.train(data, {}, TCFG, str(tmp_path / "new"), init_from=tmp_path / "odd")


def test_text_and_feature_frames_do_not_mix(run, tmp_path):
    frames = tmp_path / "frames"
    assert main(["train", *TINY[2:], "--task", "noisy-digits", "--out", str(frames)]) == 0
    text = pipeline.load_data(task="reverse-digits", train_size=64)
    with pytest.raises(
        ValueError, match=r"reads \(S, 10\) feature frames .*reverse-digits are text"
    ):
        pipeline.train(text, {}, TCFG, str(tmp_path / "a"), init_from=frames)
    feats = pipeline.load_data(task="noisy-digits", train_size=64)
    with pytest.raises(ValueError, match=r"reads text .*noisy-digits are \(S, 10\) feature frames"):
        pipeline.train(feats, {}, TCFG, str(tmp_path / "b"), init_from=run)


def test_resuming_a_fine_tuning_reproduces_the_uninterrupted_one(run, tmp_path):
    """--resume of the new run goes on from its own last/ (not from RUN again), bit for bit."""
    whole, halves = str(tmp_path / "whole"), str(tmp_path / "halves")
    start = ["train", *NEW, "--init-from", str(run / "last"), "--dropout", "0.3"]
    assert main([*start, "--epochs", "2", "--out", whole]) == 0
    assert main([*start, "--epochs", "1", "--out", halves]) == 0
    assert main(["train", *NEW, "--epochs", "2", "--resume", "--out", halves]) == 0
    a, b = checkpoint.load(f"{whole}/last"), checkpoint.load(f"{halves}/last")
    assert b.trainer_state["step"] == a.trainer_state["step"] == 4
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name], err_msg=name)
    for name, value in a.optimizer_state.items():
        np.testing.assert_array_equal(value, b.optimizer_state[name], err_msg=name)
    assert a.config["init_from"] == b.config["init_from"]


def test_frozen_embeddings_stay_runs(run, tmp_path):
    new = tmp_path / "new"
    assert main(["train", *NEW, "--init-from", str(run), "--freeze-embeddings", "both",
                 "--out", str(new)]) == 0  # fmt: skip
    tuned, own = run_params(new / "last"), run_params(run / "best")
    for name in own:
        same = np.array_equal(tuned[name], own[name])
        assert same == (name in ("enc.emb.W", "dec.emb.W")), name


def test_a_bpe_runs_merges_carry_over(tmp_path):
    """The new corpus is read with RUN's merges, not merges learned from it."""
    words = ["lower", "lowest", "newer", "newest", "wider", "widest"]
    (tmp_path / "a.tsv").write_text("".join(f"{w} {v}\t{v} {w}\n" for w in words for v in words))
    new_words = ["slower", "slowest", "fewer", "fewest"]
    (tmp_path / "b.tsv").write_text("".join(f"{w}\t{w}\n" for w in new_words) * 3)
    run, new = tmp_path / "run", tmp_path / "new"
    bpe_opts = ["--tokenizer", "bpe", "--bpe-merges", "12", *SIZES, *SMALL]
    assert main(["train", "--data", str(tmp_path / "a.tsv"), *bpe_opts, "--out", str(run)]) == 0
    corpus = ["--data", str(tmp_path / "b.tsv"), "--dev-data", str(tmp_path / "b.tsv"), *SMALL]
    assert main(["train", *corpus, "--init-from", str(run), "--out", str(new)]) == 0
    merges = checkpoint.load_config(run / "best")["data"]["bpe_merges"]
    learned_here = bpe.learn_tokenizer([w for w in new_words for _ in (0, 1)] * 3, 12).merges
    assert [list(m) for m in learned_here] != merges  # the premise: b.tsv would learn others
    assert checkpoint.load_config(new / "last")["data"]["bpe_merges"] == merges
    tr = Translator.load(new)
    assert tr.tokenizer == Translator.load(run).tokenizer
    pieces = [tr.tokenizer.tokenize(w) for w in new_words]
    known = set(tr.src_vocab.tokens)
    unknown = sum(t not in known for p in pieces for t in p) / sum(map(len, pieces))
    assert tr.config["init_from"]["unknown"]["src"] == pytest.approx(unknown)


def test_an_out_that_holds_a_run_is_refused_without_pointing_to_resume(run, tmp_path, capsys):
    # --resume conflicts with --init-from: the fix to name is another --out, RUN being only read
    before = file_hashes(run)
    assert main(["train", *NEW, "--init-from", str(run), "--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert f"{run} already holds a run; --init-from starts a new one: choose another --out" in err
    assert "pass --resume" not in err
    assert file_hashes(run) == before


def test_unknown_tokens_name_the_fix(run, tmp_path, capsys):
    corpus = letters_corpus(tmp_path / "letters.tsv")
    loud = [a for a in SMALL if a != "--quiet"]  # --quiet prints no start line
    assert main(["train", "--data", str(corpus), *loud, "--init-from", str(run), "--out",
                 str(tmp_path / "new")]) == 0  # fmt: skip
    assert "to learn them, train on this data without --init" in capsys.readouterr().err
    new = [a for a in NEW if a != "--quiet"]
    assert main(["train", *new, "--init-from", str(run), "--out", str(tmp_path / "n2")]) == 0
    assert "to learn them" not in capsys.readouterr().out  # RUN knows every digit


def test_max_len_counted_in_another_tokenizers_tokens_is_refused(tmp_path):
    """Data loaded in Python with the default char tokenizer and max_len 5 kept pairs of at most 5
    characters; a word RUN reads them as words, so the run recorded max_len 5 of words for pairs
    cut by characters (and a --resume, counting words, read other pairs). The fix: RUN's own."""
    corpus = tmp_path / "w.tsv"
    corpus.write_text("".join(f"{s}\t{s}\n" for s in ["a b c", "the cat sat", "a dog", "b"] * 4))
    words = pipeline.load_data(data=str(corpus), dev_data=str(corpus), tokenizer="word")
    pipeline.train(words, {"hidden": 8, "emb": 8}, TCFG, str(tmp_path / "run"), progress=False)
    chars = pipeline.load_data(data=str(corpus), dev_data=str(corpus), max_len=5)
    assert chars.skipped == 4  # the premise: "the cat sat" is 3 words but 11 characters
    with pytest.raises(
        ValueError,
        match=r"max_len 5 dropped .* by their char tokens.*different tokenizers \(char and word\)",
    ):
        pipeline.train(chars, {}, TCFG, str(tmp_path / "new"), init_from=tmp_path / "run")
    start = fine_tune.load_run(tmp_path / "run")
    own = pipeline.load_data(data=str(corpus), dev_data=str(corpus), max_len=5,
                             tokenizer=start.tokenizer, vocabs=start.vocabs)  # fmt: skip
    tr = pipeline.train(own, {}, TCFG, str(tmp_path / "new"), init_from=start, progress=False)
    assert tr.config["data"]["train"] == pipeline.fingerprint(own.train) and own.skipped == 0


def test_a_model_option_that_runs_config_predates_is_checked_at_its_default(run, tmp_path):
    """A RUN saved before a model field existed ran with its default, as Translator.load builds
    it: another value given is refused as for any other field, not taken unchecked."""
    shutil.copytree(run / "best", tmp_path / "old")
    state = json.loads((tmp_path / "old" / "state.json").read_text())
    del state["config"]["model"]["forget_bias"]
    (tmp_path / "old" / "state.json").write_text(json.dumps(state))
    assert Translator.load(tmp_path / "old").model.cfg.forget_bias == 1.0  # the premise
    data = pipeline.load_data(task="reverse-digits", seed=1, train_size=64)
    with pytest.raises(ValueError, match=r"model_options forget_bias=0.5: .*has forget_bias 1.0"):
        pipeline.train(data, {"forget_bias": 0.5}, TCFG, str(tmp_path / "a"),
                       init_from=tmp_path / "old")  # fmt: skip


def test_the_command_line_refuses_a_task_of_another_kind_unread(run, tmp_path, capsys, monkeypatch):
    """A task's kind (feature frames or text) is known from its name: no splits are drawn."""

    def no_reading(**kw):
        raise AssertionError("the data was read")

    monkeypatch.setattr(pipeline, "load_data", no_reading)
    argv = ["train", "--task", "noisy-digits", *SMALL, "--init-from", str(run)]
    assert main([*argv, "--out", str(tmp_path / "new")]) == 2
    assert re.search(r"reads text .*noisy-digits are \(S, 10\) feature frames",
                     capsys.readouterr().err)  # fmt: skip


def test_vectors_that_conflict_are_refused_as_such_even_when_missing(run, tmp_path, capsys):
    """The conflict is what to fix: a missing file's 'no such file' would have the user find it
    only to be refused again."""
    argv = ["train", *NEW, "--src-vectors", str(tmp_path / "none.txt"), "--init-from", str(run)]
    assert main([*argv, "--out", str(tmp_path / "new")]) == 2
    assert "--src-vectors conflicts with --init-from" in capsys.readouterr().err


def test_unknown_tokens_are_warned_of_with_quiet(run, tmp_path, capsys):
    """--quiet hides the start line, but not a share of unknown tokens above 0: it is warned."""
    corpus = letters_corpus(tmp_path / "letters.tsv")
    assert main(["train", "--data", str(corpus), *SMALL, "--init-from", str(run), "--out",
                 str(tmp_path / "new")]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert "minis2s train: note: init-from" in err and "% of the target tokens" in err
    # RUN's own task: no unknown token, nothing said under --quiet
    assert main(["train", *NEW, "--init-from", str(run), "--out", str(tmp_path / "n2")]) == 0
    assert "init-from" not in capsys.readouterr().err
