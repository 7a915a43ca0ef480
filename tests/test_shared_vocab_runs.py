"""`train --share-vocab` (one vocabulary built from both sides) and `--share-embeddings` end to
end, on tiny runs: the vocabulary, BPE's joint merges, a saved run that reloads and translates
the same, --resume, --init-from, ensembles, `average`, `vectors`, and every refusal."""

import json
import re
import shutil

import numpy as np
import pytest

from minis2s import pipeline
from minis2s.api import Translator
from minis2s.cli import main
from minis2s.data.tokenize import get_tokenizer
from minis2s.models import Seq2Seq
from minis2s.train import checkpoint
from minis2s.train.config import TrainConfig

SIZES = ["--hidden", "8", "--emb", "8", "--dev-size", "16", "--batch-size", "32"]
SMALL = [*SIZES, "--epochs", "1", "--show", "0", "--quiet"]
SHARED = ["--share-vocab", "--share-embeddings"]
# targets spell a source word in capitals, so the two sides share some tokens and not others
PAIRS = [("ab ba", "AB ab"), ("ba cd", "ba CD"), ("cd ab", "CD ab"), ("ab", "AB"), ("x", "y")]
DEV = [("ba ab", "ba AB"), ("cd", "CD")]


def corpus(path, pairs=PAIRS, n=8):
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs * n), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two seeds of a shared run (--tie-embeddings too) on one corpus, and its data files."""
    root = tmp_path_factory.mktemp("shared")
    data = ["--data", corpus(root / "train.tsv"), "--dev-data", corpus(root / "dev.tsv", DEV),
            "--tokenizer", "word"]  # fmt: skip
    for seed in ("1", "2"):
        argv = ["train", *data, *SMALL, *SHARED, "--tie-embeddings", "--seed", seed]
        assert main([*argv, "--out", str(root / f"run{seed}")]) == 0
    assert main(["train", *data, *SMALL, "--out", str(root / "plain")]) == 0  # not shared
    return root, data


def test_one_vocabulary_counts_both_sides_together(tmp_path):
    path, dev = corpus(tmp_path / "c.tsv", n=1), corpus(tmp_path / "d.tsv", DEV)
    kw = dict(data=path, dev_data=dev, tokenizer="word")
    apart = pipeline.load_data(**kw, min_freq=2)
    one = pipeline.load_data(**kw, min_freq=2, share_vocab=True)
    assert one.src_vocab is one.tgt_vocab and one.options["share_vocab"] is True
    assert "share_vocab" not in apart.options  # a run without it records what older runs did
    # counts: ab 3 + 2, ba 2 + 1, cd 2 + 0, AB 0 + 2, CD 0 + 2, x 1 + 0, y 0 + 1. "ba", once
    # in targets, is a target token at --min-freq 2 only when both sides count together
    assert "ba" not in apart.tgt_vocab and "ba" in one.tgt_vocab and "x" not in one.src_vocab
    assert one.src_vocab.tokens[4:] == ["ab", "ba", "AB", "CD", "cd"]  # ties: string order
    assert pipeline.load_data(**kw, max_vocab=6, share_vocab=True).src_vocab.tokens[4:] == [
        "ab",
        "ba",
    ]


def test_bpe_merges_are_learned_from_both_sides_so_a_word_splits_alike(tmp_path):
    """A word seen only in targets is merged whole in a source sentence too: one set of merges
    for both sides, with or without --share-vocab."""
    pairs = [("low lower", "newest widest"), ("lowest", "newest wide")] * 6
    path, dev = corpus(tmp_path / "c.tsv", pairs, n=1), corpus(tmp_path / "d.tsv", DEV)
    for share in (False, True):
        data = pipeline.load_data(data=path, dev_data=dev, tokenizer="bpe", bpe_merges=40,
                                  share_vocab=share)  # fmt: skip
        tok = get_tokenizer(data.tokenizer)
        assert tok.tokenize("newest") == ["newest"] and tok.tokenize("lowest") == ["lowest"]
        assert ("newest" in data.src_vocab) is share


def test_a_saved_run_reloads_shared_and_translates_the_same(runs, tmp_path):
    """A shared, tied model saved as a run saves it and loaded again: one vocabulary, one
    embedding matrix, and the translations and scores of the model that was saved."""
    root, _ = runs
    tr = Translator.load(root / "run1")
    assert tr.model.cfg.share_embeddings and tr.model.cfg.tie_embeddings
    assert tr.src_vocab is tr.tgt_vocab and not any(k.startswith(("enc.emb", "out.W"))
                                                    for k in tr.model.params)  # fmt: skip
    model = Seq2Seq(tr.model.cfg, seed=7)  # other weights than the run's, to be saved
    saved = Translator(model, tr.src_vocab, tr.tgt_vocab, tr.tokenizer)
    config = checkpoint.load_config(root / "run1" / "last")
    checkpoint.save(tmp_path / "c", model.params, config, vocabs={"src": tr.src_vocab.to_dict(),
                    "tgt": tr.tgt_vocab.to_dict()})  # fmt: skip
    loaded = Translator.load(tmp_path / "c")
    src = [s for s, _ in PAIRS + DEV]
    assert [t.text for t in loaded.translate(src)] == [t.text for t in saved.translate(src)]
    want = [score.logprob for score in saved.score(PAIRS + DEV)]
    assert [score.logprob for score in loaded.score(PAIRS + DEV)] == want


def test_resume_goes_on_with_one_vocabulary(runs, tmp_path):
    root, data = runs
    shutil.copytree(root / "run1", tmp_path / "r")
    argv = ["train", *data, *SIZES, "--epochs", "2", "--show", "0", "--quiet", "--resume"]
    assert main([*argv, "--out", str(tmp_path / "r")]) == 0
    state = checkpoint.load_config(tmp_path / "r" / "last")
    assert state["data"]["options"]["share_vocab"] is True and state["model"]["share_embeddings"]
    assert len((tmp_path / "r" / "log.jsonl").read_text().splitlines()) == 2


def test_init_from_a_shared_run_keeps_it_shared_and_refuses_share_vocab(runs, tmp_path, capsys):
    root, data = runs
    argv = ["train", *data[:-2], *SMALL, "--init-from", str(root / "run1")]  # its tokenizer
    assert main([*argv, "--out", str(tmp_path / "ft")]) == 0
    assert Translator.load(tmp_path / "ft").model.cfg.share_embeddings
    assert main([*argv, "--share-vocab", "--out", str(tmp_path / "ft2")]) == 2
    assert "--share-vocab conflicts with --init-from" in capsys.readouterr().err


def test_an_ensemble_and_an_average_of_shared_runs(runs, tmp_path, capsys):
    root, _ = runs
    one, two = str(root / "run1"), str(root / "run2")
    assert main(["translate", "--checkpoint", one, "--checkpoint", two, "ab ba", "x"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    out = tmp_path / "avg"
    assert main(["average", "--checkpoint", f"{one}/best", "--checkpoint", f"{one}/last",
                 "--out", str(out)]) == 0  # fmt: skip
    assert Translator.load(out).model.cfg.share_embeddings


def test_vectors_writes_the_one_matrix_for_either_side(runs, tmp_path):
    root, _ = runs
    for side in ("src", "tgt"):
        out = tmp_path / f"{side}.vec"
        assert main(["vectors", "--checkpoint", str(root / "run1"), "--side", side,
                     "--out", str(out)]) == 0  # fmt: skip
    assert (tmp_path / "src.vec").read_text() == (tmp_path / "tgt.vec").read_text()


@pytest.mark.parametrize("option", ["--share-vocab", "--share-embeddings"])
def test_a_resume_that_would_share_what_the_run_did_not_is_refused(runs, tmp_path, option, capsys):
    root, data = runs
    shutil.copytree(root / "plain", tmp_path / "r")
    argv = ["train", *data, *SIZES, "--epochs", "2", "--quiet", "--resume", option]
    assert main([*argv, "--out", str(tmp_path / "r")]) == 2
    name = {"--share-vocab": "data.options.share_vocab", "--share-embeddings": "model.share_"}
    assert f"this run asks {name[option]}" in capsys.readouterr().err


def test_a_checkpoint_from_before_sharing_loads_as_not_shared(runs, tmp_path):
    """Its state.json has no share_embeddings: a model with two matrices, as it was."""
    root, data = runs
    shutil.copytree(root / "plain", tmp_path / "plain")
    state = tmp_path / "plain" / "last" / "state.json"
    config = json.loads(state.read_text())
    del config["config"]["model"]["share_embeddings"]
    state.write_text(json.dumps(config))
    tr = Translator.load(tmp_path / "plain" / "last")
    assert not tr.model.cfg.share_embeddings and "enc.emb.W" in tr.model.params


def test_a_shared_model_with_two_different_vocabularies_is_refused(runs, tmp_path):
    root, _ = runs
    shutil.copytree(root / "run1" / "last", tmp_path / "c")
    ckpt = checkpoint.load(tmp_path / "c")
    vocabs = dict(ckpt.vocabs)
    tokens = vocabs["src"]["tokens"]
    vocabs["src"] = vocabs["src"] | {"tokens": [*tokens[:4], *reversed(tokens[4:])]}
    checkpoint.save(tmp_path / "d", ckpt.params, ckpt.config, vocabs=vocabs)
    with pytest.raises(ValueError, match="shares one embedding matrix .* vocabularies differ"):
        Translator.load(tmp_path / "d")


REFUSED = [
    (["--share-embeddings"], "needs one vocabulary for both sides: add --share-vocab"),
    ([*SHARED, "--freeze-embeddings", "src"], "cannot be frozen for one side only; freeze 'both'"),
    ([*SHARED, "--tie-embeddings", "--freeze-embeddings", "both"], "also the output layer"),
    ([*SHARED, "--src-vectors", "V", "--tgt-vectors", "V"], "one file initialises: give one"),
    (["--tie-embeddings", "--freeze-embeddings", "tgt"], "target embeddings are also the output"),
]


@pytest.mark.parametrize("extra,message", REFUSED)
def test_what_sharing_cannot_do_is_refused_before_training(runs, tmp_path, capsys, extra, message):
    root, data = runs
    (tmp_path / "V").write_text("ab 0.5 0.5 0.5 0.5 0.5 0.5 0.5 0.5\n")
    extra = [str(tmp_path / "V") if a == "V" else a for a in extra]
    assert main(["train", *data, *SMALL, *extra, "--out", str(tmp_path / "x")]) == 2
    out, err = capsys.readouterr()
    assert message in err
    assert out == ""  # only the refusal: no note on the frozen embeddings' random start first
    assert not (tmp_path / "x" / "last").exists()


def test_share_vocab_on_feature_frames_and_with_given_vocabularies_is_refused(runs):
    with pytest.raises(ValueError, match=r"\(S, 10\) feature frames, which have none"):
        pipeline.load_data(task="noisy-digits", share_vocab=True)
    tr = Translator.load(runs[0] / "run1")
    with pytest.raises(ValueError, match="^share_vocab shapes a vocabulary built on the"):
        pipeline.load_data(task="copy", vocabs=(tr.src_vocab, tr.tgt_vocab), share_vocab=True)
    with pytest.raises(
        ValueError, match=re.escape("load_data: share_vocab='no'; give True or False")
    ):
        pipeline.load_data(task="copy", share_vocab="no")


def test_the_python_api_refuses_sharing_over_two_vocabularies(tmp_path):
    path, dev = corpus(tmp_path / "c.tsv", n=1), corpus(tmp_path / "d.tsv", DEV)
    data = pipeline.load_data(data=path, dev_data=dev, tokenizer="word")
    options = {"hidden": 8, "emb": 8, "share_embeddings": True}
    with pytest.raises(ValueError, match=r"pipeline.load_data\(\.\.\., share_vocab=True\)"):
        pipeline.train(data, options, TrainConfig(epochs=1), str(tmp_path / "x"), progress=False)
    hand_made = data._replace(options=None)  # no options: its two vocabularies are told apart
    with pytest.raises(ValueError, match="needs one vocabulary for both sides"):
        pipeline.train(hand_made, options, TrainConfig(epochs=1), str(tmp_path / "y"))


def test_sharing_without_share_vocab_is_refused_where_both_vocabularies_are_alike(tmp_path):
    """copy's sides have the same letters, so its two vocabularies come out equal: sharing still
    asks for share_vocab, so that whether it is refused does not depend on the data."""
    data = pipeline.load_data(task="copy", train_size=8)
    assert data.src_vocab == data.tgt_vocab
    with pytest.raises(ValueError, match=r"both sides: load the data with .*share_vocab=True\)"):
        pipeline.train(data, {"share_embeddings": True}, TrainConfig(), str(tmp_path / "x"))


def test_freezing_both_keeps_the_one_matrix_as_it_started(runs, tmp_path):
    from minis2s.models.params import init_params

    root, data = runs
    argv = ["train", *data, *SMALL, *SHARED, "--freeze-embeddings", "both", "--seed", "3"]
    assert main([*argv, "--out", str(tmp_path / "f")]) == 0
    tr = Translator.load(tmp_path / "f")
    start = init_params(tr.model.cfg, seed=3)
    np.testing.assert_array_equal(tr.model.params["dec.emb.W"], start["dec.emb.W"])
    assert not np.array_equal(tr.model.params["out.W"], start["out.W"])


def test_init_from_refuses_data_loaded_with_its_own_shared_vocabulary(runs, tmp_path):
    root, data = runs
    shared = pipeline.load_data(data=data[1], dev_data=data[3], tokenizer="word", share_vocab=True)
    with pytest.raises(
        ValueError, match="^load_data's share_vocab=True shaped the data's vocabularies"
    ):
        pipeline.train(shared, {}, TrainConfig(), str(tmp_path / "x"), init_from=root / "run1")


@pytest.mark.parametrize("limit", [{"max_vocab": 6}, {"min_freq": 5}])
@pytest.mark.parametrize("side", ["target", "source"])
def test_a_shared_vocabulary_that_keeps_none_of_a_side_s_tokens_is_refused(tmp_path, limit, side):
    """The limits count both sides together, so they can keep only the other side's tokens
    (here a 10 and b 8 against X 4 and Y 4): every word of that side would be <unk>, which a
    model learns to write without a word of warning; refused, naming the limit and the fix."""
    pairs = [("a b a b", "X"), ("b a", "Y"), ("a a b", "X Y")]
    pairs = pairs if side == "target" else [(t, s) for s, t in pairs]
    path, dev = corpus(tmp_path / "c.tsv", pairs, n=2), corpus(tmp_path / "d.tsv", DEV)
    kw = dict(data=path, dev_data=dev, tokenizer="word", **limit)
    fix = {"max_vocab": "raise max_vocab", "min_freq": "lower min_freq"}[next(iter(limit))]
    with pytest.raises(ValueError, match=f"keeps none of the {side} tokens .*: {fix}"):
        pipeline.load_data(**kw, share_vocab=True)
    if "max_vocab" in limit:  # apart, each side keeps its own most frequent tokens
        apart = pipeline.load_data(**kw)
        assert "X" in (apart.tgt_vocab if side == "target" else apart.src_vocab)


def test_sharing_embeddings_over_feature_frames_is_refused_in_the_option_s_name(tmp_path, capsys):
    argv = ["train", "--task", "noisy-digits", "--train-size", "8", "--share-embeddings"]
    assert main([*argv, *SMALL, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "sources of noisy-digits are (S, 10) feature frames" in err
    assert "leave --share-embeddings out" in err
