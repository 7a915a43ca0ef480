"""Forced decoding (`Translator.score`, `minis2s.scoring`, `minis2s score`): a target's log p is the
sum of its tokens' log-probabilities, taken here one decoding step at a time by a plain loop;
their mean is the training loss; padding, batches and backends do not change a score."""

import argparse
import json
import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s import backend, evaluate_commands, scoring
from minis2s.api import Translator
from minis2s.cli import main
from minis2s.data.batching import batches, encode_pairs
from minis2s.data.bpe import learn_tokenizer
from minis2s.data.tokenize import get_tokenizer
from minis2s.data.vocab import BOS_ID, EOS_ID, Vocab
from minis2s.evaluate_commands import task_split
from minis2s.models import ModelConfig, Seq2Seq
from tests.test_cli import TINY

DIGITS = Vocab("0123456789")
PAIRS = [("12", "21"), ("3", ""), ("4567", "7654"), ("89", "9x8")]  # an empty and an unknown target


def translator(dtype=np.float64, attention="general", cell="lstm", tokenizer="char", vocab=DIGITS):
    """An untrained model whose weights (U(-2, 2)) give peaked, unequal distributions."""
    cfg = ModelConfig(len(vocab), len(vocab), emb=6, hidden=5, cell=cell, attention=attention,
                      input_feed=attention != "none", init_scale=2.0)  # fmt: skip
    return Translator(Seq2Seq(cfg, seed=3, dtype=dtype), vocab, vocab, tokenizer)


def log_softmax(z: np.ndarray) -> np.ndarray:
    return z - np.logaddexp.reduce(z)


def stepwise_logprobs(tr: Translator, source: str, target: str) -> list[float]:
    """log p of each target token and </s>: the decoder run one step at a time from <s>, fed the
    reference, its logits W_out h~_t + b_out normalised here."""
    m = tr.model
    x = np.array([tr.src_vocab.encode(tr.tokenizer.tokenize(source))])
    state = m.encode(x, np.ones(x.shape))
    y_prev, out = BOS_ID, []
    for y in [*tr.tgt_vocab.encode(tr.tokenizer.tokenize(target)), EOS_ID]:
        _, state, _ = m.step(np.array([y_prev]), state)
        logits = state.out[0] @ m.params["out.W"].T + m.params["out.b"]  # (V,)
        out.append(float(log_softmax(logits)[y]))
        y_prev = y
    return out


@pytest.mark.parametrize("cell, attention", [("lstm", "general"), ("gru", "none"),
                                             ("rnn", "additive")])  # fmt: skip
def test_a_score_is_the_sum_of_the_steps_log_softmax(cell, attention):
    tr = translator(cell=cell, attention=attention)
    for (src, tgt), s in zip(PAIRS, tr.score(PAIRS, batch_size=3), strict=True):
        steps = stepwise_logprobs(tr, src, tgt)
        np.testing.assert_allclose(s.token_logprobs, steps, rtol=1e-10, atol=0)
        assert s.logprob == pytest.approx(sum(steps), rel=1e-12)
        assert s.n_tokens == len(steps) == len(s.tokens) and s.tokens[-1] == "</s>"
        assert s.tokens[:-1] == list(tgt) and s.mean_logprob == s.logprob / s.n_tokens
    assert [s.n_unknown for s in tr.score(PAIRS)] == [0, 0, 0, 1]  # "x" scored as <unk>
    assert tr.score([("3", "")])[0].tokens == ["</s>"]


def test_a_decoded_outputs_score_is_its_logprob_from_decoding():
    """Forced decoding of greedy decoding's own output retraces its steps: the same log p."""
    tr = translator()
    sources = ["12", "3", "9", "55"]
    outputs = tr.translate(sources, max_len_a=0, max_len_b=10)
    ended = [(s, t) for s, t in zip(sources, outputs, strict=True) if t.ended]
    assert len(ended) == 2  # "12" and "9" (a cut output's log p has no </s> to compare)
    scores = tr.score([(s, t.text) for s, t in ended])
    for (_, t), score in zip(ended, scores, strict=True):
        assert score.logprob == pytest.approx(t.logprob, rel=1e-10)


@pytest.mark.parametrize("dtype, rel", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_the_mean_over_tokens_is_the_training_loss_of_the_same_batch(dtype, rel):
    tr = translator(dtype)
    examples, _ = encode_pairs(PAIRS, DIGITS, DIGITS, "char")
    [batch] = batches(examples, batch_size=8)  # the trainer's batching, sorted by length
    total = scoring.summarize(tr.score(PAIRS))
    assert total.tokens == batch.n_tokens == 3 + 1 + 5 + 4
    assert total.cross_entropy == pytest.approx(tr.model.loss(batch), rel=rel)
    assert total.nll == pytest.approx(tr.model.nll(batch)[0], rel=rel)
    per_token = np.asarray(tr.model.token_logprobs(batch))  # (N, T), 0 at padding
    assert per_token.shape == batch.tgt_out.shape and (per_token[batch.tgt_mask == 0] == 0).all()
    assert -per_token.sum() / batch.n_tokens == pytest.approx(tr.model.loss(batch), rel=rel)


texts = st.text(alphabet="0123456789", max_size=6)


@given(st.lists(st.tuples(texts.filter(bool), texts), min_size=1, max_size=5), st.integers(1, 3))
def test_padding_and_the_other_pairs_do_not_change_a_score(pairs, batch_size):
    """Each pair alone (no padding) against the pairs in batches with longer ones, targets of
    length 0 and 1 included."""
    tr = translator()
    together = tr.score(pairs, batch_size=batch_size)
    for pair, s in zip(pairs, together, strict=True):
        [alone] = tr.score([pair])
        np.testing.assert_allclose(s.token_logprobs, alone.token_logprobs, rtol=1e-12, atol=0)
        assert s.tokens == alone.tokens and s.n_tokens == len(pair[1]) + 1


def test_a_uniform_model_has_the_vocabulary_size_for_perplexity():
    tr = translator()
    tr.model.params["out.W"][:] = 0  # every logit 0: p = 1 / V for every token
    tr.model.params["out.b"][:] = 0
    total = scoring.summarize(tr.score(PAIRS))
    V = len(DIGITS)
    assert total.perplexity == pytest.approx(V, rel=1e-12)
    assert total.cross_entropy == pytest.approx(math.log(V), rel=1e-12)
    assert total.nll == pytest.approx(total.tokens * math.log(V), rel=1e-12)
    assert (total.pairs, total.unknown) == (4, 1)


def test_a_perplexity_past_float64_is_inf_not_an_error():
    far = scoring.Score(-800.0, 1, np.array([-800.0]), ["</s>"], 0)
    total = scoring.summarize([far])
    assert total.cross_entropy == 800.0 and total.perplexity == math.inf
    with pytest.raises(ValueError, match="summarize: no scores"):
        scoring.summarize([])


@pytest.mark.parametrize("dtype, rel", [(np.float64, 1e-10), (np.float32, 1e-5)])
def test_the_numba_backend_scores_as_numpy_does(dtype, rel):
    want = translator(dtype).score(PAIRS)
    backend.use("numba")  # conftest restores numpy after the test
    got = translator(dtype).score(PAIRS)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.token_logprobs, w.token_logprobs, rtol=rel)
        assert g.token_logprobs.dtype == dtype


def test_word_wordpunct_and_bpe_targets_are_the_tokenizers_tokens():
    words = Vocab.build([["Go", ".", "!", "Va", "vite"]])
    for name in ("word", "wordpunct"):
        tr = translator(tokenizer=name, vocab=words)
        [s] = tr.score([("Go !", "Va vite!")])
        want = get_tokenizer(name).tokenize("Va vite!")
        assert s.tokens == [*want, "</s>"] and s.n_unknown == (name == "word")  # "vite!"
        assert s.logprob == pytest.approx(sum(stepwise_logprobs(tr, "Go !", "Va vite!")))
    bpe = learn_tokenizer(["lower lowest", "low lower"] * 3, merges=4)
    pieces = Vocab.build([bpe.tokenize("lower lowest low")])
    tr = translator(tokenizer=bpe, vocab=pieces)
    [s] = tr.score([("low", "lowest")])
    assert s.tokens == [*bpe.tokenize("lowest"), "</s>"] and len(s.tokens) > 2 and not s.n_unknown


def test_a_feature_model_scores_frames():
    cfg = ModelConfig(0, len(DIGITS), src_features=3, emb=4, hidden=4)
    tr = Translator(Seq2Seq(cfg, dtype=np.float64), None, DIGITS)
    frames = np.random.default_rng(0).normal(size=(5, 3))
    [s, short] = tr.score([(frames, "123"), (frames[:1], "4")])
    assert s.n_tokens == 4 and short.n_tokens == 2
    assert short.logprob == pytest.approx(tr.score([(frames[:1], "4")])[0].logprob, rel=1e-12)
    with pytest.raises(ValueError, match=r"score: sources\[0\] is text, but this model reads"):
        tr.score([("123", "321")])


@pytest.mark.parametrize(
    "pairs, kw, message",
    [
        ([], {}, "score: pairs is empty"),
        ([("12", 21)], {}, r"score: pairs\[0\] is \('12', 21\); expected a \(source, reference"),
        ([("12", "21"), ("", "1")], {}, r"score: sources\[1\] \(sentence 2\) is empty"),
        (
            [("12", "21"), ("3", "3"), ("", "1")],
            {"batch_size": 2},
            r"score: sources\[2\] \(sentence 3\) is empty",
        ),  # its place in pairs, not its batch
        ([("12", "21")], {"batch_size": 0}, "score: batch_size must be >= 1"),
    ],
)
def test_bad_pairs_are_refused_by_name(pairs, kw, message):
    with pytest.raises(ValueError, match=message):
        translator().score(pairs, **kw)


def test_evaluate_adds_the_references_figures_and_counts_sources_once():
    tr = translator()
    pairs = [("12", "21"), ("3a", "3")]  # "a": an unknown source token
    got = tr.evaluate(pairs, bleu=False)
    assert tr.unknown == 1 and tr.source_tokens == 4  # translating counted them, scoring did not
    total = scoring.summarize(tr.score(pairs))
    assert (got["ref_loss"], got["ref_ppl"]) == (total.cross_entropy, total.perplexity)
    assert got["ref_unknown"] == 0 and tr.unknown == 2  # score counts, as translate does


# -- the command line -----------------------------------------------------------------------

FRAMES_FOR_TEXT = r"gives \(S, F=10\) feature frames, but the model in .* reads text: they do not "
FRAMES_FOR_TEXT += "match; score this model on"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("score") / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    return out


def test_score_prints_a_line_per_pair_and_the_corpus_figures(run, capsys, tmp_path):
    corpus = tmp_path / "c.tsv"
    corpus.write_text("123\t321\n4a5\t5x4\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["score", "--checkpoint", str(run), "--data", str(corpus)]) == 0
    out, err = capsys.readouterr()
    scores = Translator.load(run).score([("123", "321"), ("4a5", "5x4")])
    total = scoring.summarize(scores)
    assert out.splitlines() == [
        *(f"{s.logprob:.4f}\t{s.n_tokens}\t{s.logprob / s.n_tokens:.4f}" for s in scores),
        f"total: pairs=2  tokens=8  cross_entropy={total.cross_entropy:.4f}  "
        f"perplexity={total.perplexity:.4f}  unknown_target_tokens=1",
    ]
    assert "note: 1 of the 8 target tokens (12%) was not in the vocabulary and scored as <unk>" in (
        err
    )
    assert "note: 1 of the 6 source tokens (17%) was not in the vocabulary" in err


def score_args(run, **given) -> argparse.Namespace:
    """score's arguments as its parser gives them (--with-text not given: False)."""
    options = dict(checkpoint=[str(run)], data=None, task=None, split=None, batch_size=64)
    return argparse.Namespace(command="score", **options | {"with_text": False} | given)


def test_score_with_text_puts_each_pair_after_its_figures(run, capsys, tmp_path):
    """--with-text: the source and reference as read (a tab in one, which a corpus of two files
    may hold, written as \\t) as two more columns; the three figures and the total line are as
    without it, so what reads those reads either."""
    src, tgt = tmp_path / "src.txt", tmp_path / "tgt.txt"
    src.write_text("123\n4\t5\n", encoding="utf-8")
    tgt.write_text("321\n5 4\n", encoding="utf-8")
    data = [str(src), str(tgt)]
    assert evaluate_commands.score(score_args(run, data=data)) == 0
    plain = capsys.readouterr().out.splitlines()
    assert evaluate_commands.score(score_args(run, data=data, with_text=True)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[3:] for line in lines[:2]] == [["123", "321"], ["4\\t5", "5 4"]]
    assert ["\t".join(line.split("\t")[:3]) for line in lines[:2]] == plain[:2]
    assert lines[2:] == plain[2:] and plain[2].startswith("total: pairs=2 ")


def test_score_with_text_of_a_task_shows_the_split_scored(run, capsys):
    """A task's pairs are in no file to paste beside the scores: --with-text names them."""
    args = score_args(run, task="reverse-digits", split="dev", with_text=True)
    assert evaluate_commands.score(args) == 0
    lines = capsys.readouterr().out.splitlines()[:-1]
    pairs = task_split(Translator.load(run).config, "reverse-digits", "dev")
    assert [tuple(line.split("\t")[3:]) for line in lines] == pairs


def test_score_of_a_task_split_agrees_with_evaluate(run, capsys):
    argv = ["--checkpoint", str(run), "--task", "reverse-digits", "--split", "dev"]
    assert main(["score", *argv, "--batch-size", "7"]) == 0
    out = capsys.readouterr().out.splitlines()
    figures = dict(kv.split("=") for kv in out[-1].removeprefix("total: ").split("  "))
    assert main(["evaluate", *argv]) == 0
    lines = dict(line.split("\t") for line in capsys.readouterr().out.splitlines())
    assert lines["ref_loss"] == figures["cross_entropy"] and figures["unknown_target_tokens"] == "0"
    assert lines["ref_ppl"] == figures["perplexity"] and lines["n"] == figures["pairs"]
    assert len(out) == int(figures["pairs"]) + 1


def test_the_dev_splits_cross_entropy_is_the_dev_loss_in_the_runs_log(run):
    """The trainer's dev loss and ppl are these teacher-forced figures of the whole dev split."""
    tr = Translator.load(run)  # its one epoch's checkpoint
    [record] = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    total = scoring.summarize(tr.score(task_split(tr.config, "reverse-digits", "dev")))
    assert total.cross_entropy == pytest.approx(record["loss"], rel=1e-6)  # float32 batch sums
    assert total.perplexity == pytest.approx(record["ppl"], rel=1e-6)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--checkpoint", "/no/run", "--task", "reverse-digits"],
            "no run or checkpoint at /no/run",
        ),
        (["--task", "reverse-digits", "--data", "x.tsv"], "give exactly one of --data FILE and"),
        (["--data", "x.tsv", "--split", "dev"], "--split chooses a split of a --task"),
        (["--task", "noisy-digits"], FRAMES_FOR_TEXT),
    ],
)
def test_score_refuses_bad_options_by_name(run, capsys, args, message):
    if "--checkpoint" not in args:
        args = ["--checkpoint", str(run), *args]
    assert main(["score", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("minis2s score: error: ") and "Traceback" not in err
    assert re.search(message, err)


def test_score_names_a_corpus_line_without_a_tab(run, capsys, tmp_path):
    corpus = tmp_path / "c.tsv"
    corpus.write_text("123\t321\n45 54\n", encoding="utf-8")
    assert main(["score", "--checkpoint", str(run), "--data", str(corpus)]) == 2
    err = capsys.readouterr().err
    assert f"{corpus}:2: expected exactly one TAB between source and target; found 0" in err


def test_score_help_says_an_ensemble_scores_the_references(capsys):
    """score decodes nothing: its --checkpoint help names what an ensemble does there."""
    with pytest.raises(SystemExit):
        main(["score", "-h"])
    help_ = " ".join(capsys.readouterr().out.split())
    assert "an ensemble, which scores the references with the mean of" in help_
    assert "decodes" not in help_


@pytest.mark.parametrize("option", [["--beam", "5"], ["--sample"], ["--replace-unk"]])
def test_score_refuses_a_decoding_option_saying_it_searches_nothing(capsys, option):
    """`score --beam 5` is a natural next try; argparse alone printed minis2s's own usage and
    'unrecognized arguments', as if score did not exist."""
    with pytest.raises(SystemExit) as exit_:
        main(["score", "--checkpoint", "run", "--task", "dates", *option])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "usage: minis2s score" in err
    assert (
        f"minis2s score: error: unrecognized arguments: {' '.join(option)}; score searches" in err
    )
    assert "use translate (--beam N --nbest K" in err


def test_a_float32_models_logprob_sums_its_token_logprobs_without_float32_rounding():
    """Each token's log p is in the model's dtype; their sum is not rounded to float32 at each
    addition (fsum: the exact sum, rounded once to float64)."""
    scores = translator(np.float32).score(PAIRS)
    assert all(s.token_logprobs.dtype == np.float32 for s in scores)
    assert [s.logprob for s in scores] == [math.fsum(s.token_logprobs.tolist()) for s in scores]
