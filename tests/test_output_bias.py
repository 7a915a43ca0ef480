"""`train --output-bias unigram` (ModelConfig.output_bias): the output layer's bias out.b starts at
log((count(v) + alpha) / (total + alpha V)) over the training targets' tokens, one </s> per
target, so the untrained model predicts their unigram distribution; the default leaves it at 0.
The counts here are written out by hand from the corpus, not computed by the code under test."""

import json
import re

import numpy as np
import pytest

from minis2s import fine_tune, pipeline
from minis2s.cli import main
from minis2s.cli_options import OPTION_HELP
from minis2s.data.batching import batches, encode_pairs
from minis2s.data.vocab import BOS, EOS, PAD, UNK
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.models.config import OUTPUT_BIASES
from minis2s.models.params import UNIGRAM_ALPHA, init_params, target_counts
from minis2s.train import checkpoint
from minis2s.train.config import TrainConfig

F64 = np.float64
# targets "bba", "ab", "c" (characters): b 3, a 2, c 1 and one </s> each, 3: 9 tokens, and a
# vocabulary of the 4 specials and a, b, c: V = 7
PAIRS = "ab\tbba\nba\tab\nabc\tc\n"
COUNTS = {"b": 3, "a": 2, "c": 1, EOS: 3, PAD: 0, BOS: 0, UNK: 0}
TOTAL, V = 9, 7
SIZES = {"emb": 8, "hidden": 8}
CLI = ["--epochs", "1", "--hidden", "8", "--emb", "8", "--show", "0", "--quiet"]


def hand_bias(token: str) -> float:
    return np.log((COUNTS[token] + UNIGRAM_ALPHA) / (TOTAL + UNIGRAM_ALPHA * V))


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "c.tsv"
    path.write_text(PAIRS)
    return path


@pytest.fixture
def data(corpus):
    return pipeline.load_data(data=str(corpus), dev_data=str(corpus))  # all three pairs train


def test_the_bias_is_the_smoothed_log_frequency_of_the_target_tokens(data):
    """Each token's out.b is log((count + alpha) / (total + alpha V)); <pad>, <s> and <unk>,
    which no target holds, sit at the floor log(alpha / (total + alpha V)), finite."""
    assert len(data.tgt_vocab) == V and sorted(data.tgt_vocab.tokens[4:]) == ["a", "b", "c"]
    model = pipeline.make_model(data, SIZES | {"output_bias": "unigram"}, 0, F64)
    b = model.params["out.b"]
    for token in COUNTS:
        assert b[data.tgt_vocab.id_of(token)] == pytest.approx(hand_bias(token), rel=1e-12), token
    assert np.isfinite(b).all() and np.exp(b).sum() == pytest.approx(1.0, rel=1e-12)


def test_the_untrained_model_predicts_the_unigram_distribution(data):
    """With the output weights at 0, every position's logits are out.b: the mean predicted
    distribution over the training targets' positions is the smoothed unigram one, within
    alpha's smoothing of the raw frequencies, and the loss is its cross-entropy."""
    model = pipeline.make_model(data, SIZES | {"output_bias": "unigram"}, 0, F64)
    model.params["out.W"][...] = 0.0
    examples, _ = encode_pairs(data.train, data.src_vocab, data.tgt_vocab, data.tokenizer)
    [b] = batches(examples, batch_size=8)
    state, p = model.encode(b.src, b.src_mask), []
    for t in range(b.tgt_in.shape[1]):  # teacher-forced, as the loss reads the targets
        logp, state, _ = model.step(b.tgt_in[:, t], state)
        p.append(np.exp(logp[b.tgt_mask[:, t] > 0]))
    mean_p = np.concatenate(p).mean(axis=0)  # (V,) over the 9 target positions
    want = np.array([np.exp(hand_bias(data.tgt_vocab.token_of(v))) for v in range(V)])
    np.testing.assert_allclose(mean_p, want, rtol=1e-12)
    freq = np.array([COUNTS[data.tgt_vocab.token_of(v)] / TOTAL for v in range(V)])
    np.testing.assert_allclose(mean_p, freq, atol=0.02)  # alpha = 0.1 moves them this little
    total, n = model.nll(b)
    assert n == TOTAL and total / n == pytest.approx(-(freq * np.log(want)).sum(), rel=1e-12)


def test_the_default_leaves_out_b_at_zero_and_unigram_changes_nothing_else(data):
    assert ModelConfig(src_vocab=5, tgt_vocab=5).output_bias == "zero"
    zero = pipeline.make_model(data, SIZES, 0, F64)
    unigram = pipeline.make_model(data, SIZES | {"output_bias": "unigram"}, 0, F64)
    assert not zero.params["out.b"].any()
    for name, w in zero.params.items():
        if name != "out.b":  # the same draws: an init of out.b alone
            np.testing.assert_array_equal(unigram.params[name], w, err_msg=name)


def test_tied_embeddings_keep_their_own_output_bias(data):
    """--tie-embeddings reuses dec.emb.W as the output matrix, but out.b is the output layer's."""
    model = pipeline.make_model(
        data, SIZES | {"tie_embeddings": True, "output_bias": "unigram"}, 0, F64
    )
    assert "out.W" not in model.params
    assert model.params["out.b"][data.tgt_vocab.id_of("b")] == pytest.approx(hand_bias("b"))


def test_the_counts_are_the_losss_tokens():
    """One </s> per target; <pad> and <s> count 0 even where a target holds them."""
    counts = target_counts([[4, 5, 4], [], [1, 0, 6]], 8)
    np.testing.assert_array_equal(counts, [0, 0, 3, 0, 2, 1, 1, 0])
    with pytest.raises(ValueError, match=r"target ids must be in \[0, 8\).*from 0 to 8"):
        target_counts([[0, 8]], 8)


def test_init_params_asks_for_the_counts_exactly_when_they_are_used():
    unigram = ModelConfig(src_vocab=7, tgt_vocab=V, emb=4, hidden=4, output_bias="unigram")
    with pytest.raises(ValueError, match="does not know: pass tgt_counts=target_counts"):
        Seq2Seq(unigram)
    with pytest.raises(ValueError, match=r"tgt_counts must be \(7,\) counts >= 0.*shape \(6,\)"):
        init_params(unigram, tgt_counts=np.ones(6))
    with pytest.raises(ValueError, match="tgt_counts must be .* smallest -1"):
        init_params(unigram, tgt_counts=np.full(V, -1))
    zero = ModelConfig(src_vocab=7, tgt_vocab=V, emb=4, hidden=4)
    with pytest.raises(ValueError, match="output_bias='zero'; leave tgt_counts out"):
        init_params(zero, tgt_counts=np.ones(V))
    with pytest.raises(ValueError, match="output_bias='log'; choose one of zero, unigram"):
        ModelConfig(src_vocab=7, tgt_vocab=V, output_bias="log")


def test_the_option_is_explained_with_its_choices():
    for choice in OUTPUT_BIASES:
        assert re.search(rf"(^|[ :]){choice}( |$)", OPTION_HELP["output_bias"]), choice


def test_the_cli_option_sets_the_bias_and_resume_refuses_another_value(corpus, tmp_path, capsys):
    """--output-bias unigram is recorded in the run's config; --resume goes on with it and the
    checkpoint's out.b, as the uninterrupted run would, and refuses --output-bias zero."""
    data = ["--data", str(corpus), "--dev-data", str(corpus)]
    whole, halves = str(tmp_path / "whole"), str(tmp_path / "halves")
    assert main(["train", *data, *CLI, "--output-bias", "unigram", "--out", halves]) == 0
    assert checkpoint.load_config(f"{halves}/last")["model"]["output_bias"] == "unigram"
    assert main(["train", *data, *CLI, "--resume", "--output-bias", "zero", "--out", halves]) == 2
    assert "checkpoint was trained with model.output_bias='unigram'" in capsys.readouterr().err
    assert main(["train", *data, *CLI, "--epochs", "2", "--resume", "--out", halves]) == 0
    assert main(["train", *data, *CLI, "--epochs", "2", "--output-bias", "unigram",
                 "--out", whole]) == 0  # fmt: skip
    a, b = (checkpoint.load(f"{run}/last").params for run in (whole, halves))
    np.testing.assert_array_equal(a["out.b"], b["out.b"])
    log = [json.loads(line) for line in open(f"{halves}/log.jsonl")]
    assert [e["epoch"] for e in log if "epoch" in e][-1] == 2


def test_the_python_api_and_init_from(data, tmp_path):
    """pipeline.train's model_options take output_bias as --resume checks it; a run started
    from another (--init-from) keeps that run's output_bias and out.b, and refuses another."""
    run = str(tmp_path / "run")
    tcfg = TrainConfig(epochs=1, dev_size=3)  # the three pairs
    pipeline.train(data, SIZES | {"output_bias": "unigram"}, tcfg, run, progress=False)
    with pytest.raises(ValueError, match="model.output_bias='unigram', this run asks .*'zero'"):
        pipeline.train(data, SIZES | {"output_bias": "zero"}, tcfg, run, resume=True)
    start = fine_tune.load_run(run)
    assert fine_tune.model_options(start, {})["output_bias"] == "unigram"
    with pytest.raises(
        ValueError, match="model_options output_bias=.zero.: .*has output_bias unigram"
    ):
        pipeline.train(data, {"output_bias": "zero"}, tcfg, str(tmp_path / "b"), init_from=run)
