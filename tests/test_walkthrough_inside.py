"""A reader of "What is inside" tries the layers and `check_layer` directly, with the bad input a
learner gives: a params dict that is a list, None, or holds a key the layer does not use (another
score kind's weights), a mask that is complex, of the wrong number of axes or not 0/1, scores
with no positions, an empty or NaN input to a gradient check, an upstream gradient that is
True. Each gets a ValueError that names the argument and the fix, never a silent wrong answer or
an error from deep inside NumPy or Python."""

import warnings

import numpy as np
import pytest

from minis2s.gradcheck import check_layer
from minis2s.layers import attention, embedding, gru, linear, loss, lstm, rnn, softmax

N, T, D, H, S = 2, 3, 4, 5, 6
CELLS = (rnn, lstm, gru)


def _cell_args(mod, r):
    """(x (N, T, D), the initial state forward takes, p) for a cell, in float64."""
    p = mod.init(D, H, r, np.float64)
    return r.standard_normal((N, T, D)), None, p


# --- recurrent cells: p ----------------------------------------------------------------------


@pytest.mark.parametrize("mod", CELLS, ids=lambda m: m.__name__.split(".")[-1])
def test_a_cell_given_its_parameters_as_a_list_says_p_is_no_dict(mod):
    """Was NumPy's "truth value of an array ... is ambiguous", from `name in p`."""
    x, s0, p = _cell_args(mod, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"p is list, not a dict.*init\(D, H, rng\)"):
        mod.forward(x, s0, list(p.values()))


@pytest.mark.parametrize("mod", CELLS, ids=lambda m: m.__name__.split(".")[-1])
def test_a_cell_refuses_a_parameter_it_does_not_use(mod):
    """A key the cell never reads (PyTorch's projection W_hr, a misspelt second bias) was
    ignored: the answer came from the four it knows, whatever the caller meant the fifth for.
    (The single steps take more: a decoder's p there carries its weights transposed once per
    batch, kernels/step_weights.py.)"""
    x, s0, p = _cell_args(mod, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"p has W_hr, which .* does not use.*W_ih, W_hh"):
        mod.forward(x, s0, {**p, "W_hr": p["W_hh"].copy()})
    mod.forward(x, s0, p)  # the four it makes still pass


def test_linear_and_embedding_refuse_a_parameter_they_do_not_use():
    """{"W", "b"} given to embedding.forward looked up W and dropped b without a word."""
    r = np.random.default_rng(0)
    p = linear.init(D, H, r, np.float64)
    with pytest.raises(ValueError, match=r"linear.forward: p has v, which linear does not use"):
        linear.forward(r.standard_normal((N, D)), {**p, "v": p["b"]})
    with pytest.raises(ValueError, match=r"embedding.forward: p has b, which embedding does not"):
        embedding.forward(r.integers(0, H, (N, T)), {"W": p["W"], "b": p["b"]})


# --- attention: p ----------------------------------------------------------------------------


def _att_args(r, score="general"):
    p = attention.init(score, H, H, r, dtype=np.float64)
    q, enc = r.standard_normal((N, T, H)), r.standard_normal((N, S, H))
    return q, enc, p


@pytest.mark.parametrize("bad", [None, [1, 2]], ids=["None", "list"])
@pytest.mark.parametrize("score", ["dot", "general", "additive"])
def test_attention_given_p_that_is_no_dict_says_so(score, bad):
    """Was Python's "argument of type 'NoneType' is not iterable" or "'list' object has no
    attribute 'get'", from inside the checks."""
    q, enc, _ = _att_args(np.random.default_rng(0), score)
    with pytest.raises(ValueError, match=r"attention.forward: p must be a dict"):
        attention.forward(q, enc, bad, None, score)
    with pytest.raises(ValueError, match=r"attention.keys_forward: p must be a dict"):
        attention.keys_forward(enc, bad, score)
    with pytest.raises(ValueError, match=r"attention.forward_with_keys: p must be a dict"):
        attention.forward_with_keys(q, enc, enc, bad, None, score)


@pytest.mark.parametrize("made, used", [("general", "dot"), ("general", "scaled_dot"),
                                        ("additive", "dot")])  # fmt: skip
def test_attention_refuses_the_weights_of_another_score_kind(made, used):
    """p made for `general` and called with score="dot" gave dot's weights without a word:
    W_a, the weights the caller trained, went unused."""
    q, enc, p = _att_args(np.random.default_rng(0), made)
    with pytest.raises(ValueError, match=rf"score '{used}' does not use .*init\('{used}'"):
        attention.forward(q, enc, p, None, used)
    with pytest.raises(ValueError, match=rf"score '{used}' does not use"):
        attention.keys_forward(enc, p, used)
    attention.forward(q, enc, p, None, made)  # its own kind still passes
    attention.forward(q, enc, {}, None, "dot")


def test_the_split_attention_passes_refuse_another_pass_cache():
    """keys_backward unpacked attention.forward's cache ("not enough values to unpack"), and the
    query side's backward passes read `.w` of it (AttributeError); every other backward names
    the cache its own forward returned."""
    q, enc, p = _att_args(np.random.default_rng(0))
    context, w, cache = attention.forward(q, enc, p)
    ds, dkeys = np.zeros_like(w), np.zeros((N, S, H))
    with pytest.raises(ValueError, match=r"keys_backward: cache is AttentionCache, expected the "
                                         r"KeysCache that attention.keys_forward"):  # fmt: skip
        attention.keys_backward(dkeys, cache)
    calls = {
        "backward_with_keys": lambda c: attention.backward_with_keys(context, None, c),
        "score_grads": lambda c: attention.score_grads(context, None, c),
        "query_grads": lambda c: attention.query_grads(ds, c),
        "key_value_grads": lambda c: attention.key_value_grads(context, ds, c),
    }
    for name, call in calls.items():
        for wrong in (cache, cache.keys):
            with pytest.raises(ValueError, match=rf"{name}: cache is {type(wrong).__name__}, "
                                                 r"expected the QueryCache"):  # fmt: skip
                call(wrong)
        call(cache.query)  # its own still passes
    attention.keys_backward(dkeys, cache.keys)


@pytest.mark.parametrize("score", ["dot", "scaled_dot"])
def test_attention_without_parameters_names_q_not_parameters_in_a_dtype_mismatch(score):
    """A dot score has no parameters, but a float16 q beside float64 enc was told "enc has dtype
    float64 but the parameters are float16"."""
    r = np.random.default_rng(0)
    q, enc = r.standard_normal((N, T, H)).astype(np.float16), r.standard_normal((N, S, H))
    for call in (lambda: attention.forward(q, enc, {}, None, score),
                 lambda: attention.forward_with_keys(q, enc, enc, {}, None, score)):  # fmt: skip
        with pytest.raises(
            ValueError, match=r"(enc|keys) has dtype float64 but q is float16; cast"
        ):
            call()


# --- masks -----------------------------------------------------------------------------------


def test_a_complex_mask_is_refused_not_cast_with_a_warning():
    """astype(float) dropped the imaginary part with a ComplexWarning and went on."""
    r = np.random.default_rng(0)
    x, _, p = _cell_args(lstm, r)
    q, enc, pa = _att_args(r)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"lstm.forward: mask has dtype complex128.*0/1"):
            lstm.forward(x, None, p, mask=np.ones((N, T), complex))
        with pytest.raises(ValueError, match=r"attention.forward: mask has dtype complex128"):
            attention.forward(q, enc, pa, np.ones((N, S), complex))


def test_softmax_refuses_a_mask_of_fewer_axes_than_the_scores():
    """A (N, S) mask over (N, T, S) scores lined up with (T, S) when T == N, masking each
    query by another sentence's padding; with T != N it was refused, so it read as allowed."""
    r = np.random.default_rng(0)
    s = r.standard_normal((N, N, S))
    m = np.ones((N, S))
    m[0, -2:] = 0  # sentence 0 has padding, sentence 1 none
    with pytest.raises(ValueError, match=r"mask has 2 axes .* scores .* 3.*\(N, 1, S\)"):
        softmax.forward(s, m)
    w, _ = softmax.forward(s, m[:, None, :])  # as the message says: each sentence its own row
    assert np.all(w[0, :, -2:] == 0) and np.all(w[1] > 0)


@pytest.mark.parametrize("value", [0.5, 2.0, -1.0, np.nan])
@pytest.mark.parametrize("shape", [(N, T, S), (N, 1, S)], ids=["same shape", "broadcast"])
def test_softmax_refuses_a_mask_that_is_not_0_and_1(value, shape):
    """`mask > 0` read 0.5 or 2 as a real position and NaN as padding, without a word, where
    every other layer refuses such a mask."""
    s = np.random.default_rng(0).standard_normal((N, T, S))
    m = np.ones(shape)
    m[0, 0, 0] = value
    with pytest.raises(ValueError, match=r"softmax.forward: mask must hold only 0 and 1"):
        softmax.forward(s, m)
    softmax.forward(s, np.ones(shape, bool))  # a bool mask still passes


@pytest.mark.parametrize("s, what", [(np.zeros((N, 0)), r"S = 0"), (np.float64(1.0), r"no axis")])
def test_softmax_refuses_scores_with_no_positions(s, what):
    """S = 0 was NumPy's "zero-size array to reduction operation maximum"; a 0-d score went
    through as if it were a distribution."""
    with pytest.raises(ValueError, match=rf"softmax.forward: s has {what}"):
        softmax.forward(s)


# --- loss ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dloss", [True, np.nan, np.inf], ids=["True", "nan", "inf"])
def test_loss_backward_refuses_a_dloss_that_is_no_finite_number(dloss):
    """True was read as 1.0 and NaN made every gradient NaN, without a word."""
    r = np.random.default_rng(0)
    _, cache = loss.forward(r.standard_normal((N, T, 7)), r.integers(0, 7, (N, T)))
    with pytest.raises(ValueError, match=r"loss.backward: dloss must be a finite number"):
        loss.backward(dloss, cache)
    loss.backward(np.float32(1.0), cache)  # a NumPy scalar still passes


# --- check_layer -----------------------------------------------------------------------------


def _linear_args():
    r = np.random.default_rng(0)
    return r.standard_normal((4, 3)), linear.init(3, 2, r, dtype=np.float64)


def test_check_layer_given_params_that_are_no_dict_says_so():
    """Was "'list' object has no attribute 'items'"."""
    x, p = _linear_args()
    with pytest.raises(ValueError, match=r"check_layer: params is list; give a dict"):
        check_layer(linear.forward, linear.backward, [x], [p["W"], p["b"]])


@pytest.mark.parametrize("which", ["forward", "backward"])
def test_check_layer_given_no_function_says_which(which):
    """Was "'NoneType' object is not callable", naming neither argument."""
    x, p = _linear_args()
    fns = {"forward": linear.forward, "backward": linear.backward, which: None}
    with pytest.raises(ValueError, match=rf"check_layer: {which} must be a function"):
        check_layer(fns["forward"], fns["backward"], [x], p)


def test_check_layer_refuses_an_input_with_no_entries():
    """An empty batch passed any backward: no entry to differ, every error 0.0."""
    x, p = _linear_args()
    with pytest.raises(ValueError, match=r"check_layer: the input x has no entries.*\(0, 3\)"):
        check_layer(linear.forward, linear.backward, [x[:0]], p)


@pytest.mark.parametrize("where", ["input", "parameter"])
def test_check_layer_refuses_a_forward_pass_that_gives_nan(where):
    """A NaN input gave errors of inf, and a diagnosis that blamed backward ("a division by
    zero"), when finite differences of a NaN loss measure nothing."""
    x, p = _linear_args()
    if where == "input":
        x[0, 0] = np.nan
    else:
        p["b"][1] = np.inf
    with pytest.raises(ValueError, match=r"check_layer: forward's output .* NaN or inf.*finite"):
        check_layer(linear.forward, linear.backward, [x], p)


# --- small refusals: an empty step, a complex src_mask, no queries to stack -------------------


@pytest.mark.parametrize("mod", CELLS, ids=lambda m: m.__name__.split(".")[-1])
def test_a_cell_step_of_no_sequences_is_refused_as_the_sequence_forward_refuses_it(mod):
    """step_forward took x (0, D) and gave back (0, H), where forward refuses an empty batch."""
    p = mod.init(D, H, np.random.default_rng(0), np.float64)
    h = np.zeros((0, H))
    state = (h, h.copy()) if mod is lstm else h
    with pytest.raises(ValueError, match=r"step_forward: x has N = 0 sequences; pass a batch"):
        mod.step_forward(np.zeros((0, D)), state, p)
    x = np.zeros((0, T, D))
    with pytest.raises(ValueError, match=r"forward: x has N = 0 sequences; pass a batch"):
        mod.forward(x, None, p)


@pytest.mark.parametrize("how", ["greedy", "beam_search", "sample"])
def test_decode_refuses_a_complex_src_mask_before_any_cast(how):
    """A complex src_mask met a NumPy ComplexWarning (the lengths' sum) before encode refused it."""
    from minis2s import decode
    from minis2s.models import Seq2Seq
    from minis2s.models.config import ModelConfig

    model = Seq2Seq(ModelConfig(src_vocab=8, tgt_vocab=8, emb=4, hidden=4), seed=0)
    src, src_mask = np.array([[4, 5, 6]]), np.ones((1, 3), dtype=np.complex128)
    kwargs = {"rng": np.random.default_rng(0)} if how == "sample" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning first fails the test
        with pytest.raises(ValueError, match=rf"^{how}: src_mask has dtype complex128; give a 0/1"):
            getattr(decode, how)(model, src, src_mask, **kwargs)


def test_stack_queries_of_no_caches_says_so():
    """Was IndexError: list index out of range."""
    with pytest.raises(ValueError, match=r"attention.stack_queries: no caches to stack; give"):
        attention.stack_queries([])
