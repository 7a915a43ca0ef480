"""Bad input to the model and the decoders gets a ValueError naming it: a config that could never
decode, a dict where a ModelConfig or a Batch belongs, a y_prev of the wrong shape, an empty batch
or a source of only padding (which used to decode to whatever the model says for no input)."""

import numpy as np
import pytest

from minis2s import decode
from minis2s.data.batching import make_batch, pad
from minis2s.models import ModelConfig, Seq2Seq


@pytest.fixture(scope="module")
def model():
    return Seq2Seq(ModelConfig(12, 11, emb=6, hidden=6), seed=0)


def test_config_refuses_negative_src_features_and_a_target_vocabulary_without_eos():
    """src_features=-3 used to pass as 0 (token ids); tgt_vocab=2 built a model whose decoders
    could choose nothing (<pad> and <s> are never chosen) and said its log-probs were NaN."""
    with pytest.raises(ValueError, match="src_features must be >= 0 .*; got -3"):
        ModelConfig(10, 10, src_features=-3)
    with pytest.raises(ValueError, match=r"tgt_vocab must be > 2 \(a decoder needs </s>"):
        ModelConfig(10, 2)
    assert ModelConfig(10, 3).tgt_vocab == 3  # <pad> <s> </s>: it can end a sentence


def test_seq2seq_names_a_dict_config_and_parameters_that_are_not_arrays(model):
    with pytest.raises(ValueError, match=r"cfg must be a ModelConfig; got dict .*from_dict"):
        Seq2Seq(model.cfg.to_dict())
    lists = {k: v.tolist() for k, v in model.params.items()}
    with pytest.raises(ValueError, match="parameter .* must be an array"):
        Seq2Seq(model.cfg, lists)
    with pytest.raises(ValueError, match="params must be a dict of arrays by name; got list"):
        Seq2Seq(model.cfg, list(model.params.values()))


@pytest.mark.parametrize("wrap", [tuple, lambda b: b._asdict(), lambda b: [b]])
def test_loss_and_grads_names_a_batch_that_is_not_a_batch(model, wrap):
    batch = make_batch([([4, 5, 6], [4, 5])], [0])
    for call in (model.loss_and_grads, model.loss, model.token_logprobs):
        with pytest.raises(ValueError, match="batch must be a minis2s.data.batching.Batch"):
            call(wrap(batch))


def test_step_names_a_y_prev_of_the_wrong_shape(model):
    src, mask = pad([[4, 5, 6], [7, 8]])
    state = model.encode(src, mask)
    for y in (np.array([4, 4, 4]), np.array([[4], [4]])):
        with pytest.raises(ValueError, match=r"Seq2Seq.step: y_prev has shape \(.*expected \(N"):
            model.step(y, state)
    logp, _, _ = model.step([4, 5], state)  # a list of N ids is fine
    assert logp.shape == (2, 11)


@pytest.mark.parametrize("method", ["greedy", "beam_search", "sample"])
def test_decoders_refuse_an_empty_batch_and_a_source_of_only_padding(model, method):
    run = getattr(decode, method)
    kw = {"rng": np.random.default_rng(0)} if method == "sample" else {}
    with pytest.raises(ValueError, match=rf"{method}: src has shape \(0, 0\): no sentence"):
        run(model, *pad([]), **kw)
    with pytest.raises(ValueError, match=rf"{method}: src has shape \(2, 0\): no tokens"):
        run(model, np.zeros((2, 0), np.int64), np.zeros((2, 0)), **kw)
    src, mask = pad([[4, 5, 6], [7, 8]])
    mask[1] = 0
    with pytest.raises(ValueError, match=r"sentence 1 \(row 1 of src_mask\) is all padding"):
        run(model, src, mask, **kw)
