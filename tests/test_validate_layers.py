"""Bad input to the layers a learner calls directly gets a ValueError naming the argument and the
fix, never a silent wrong answer or an error from deep inside NumPy: another layer's cache, a
gradient that would broadcast, a size that is not a positive integer, a pad_id that is no id."""

import numpy as np
import pytest

from minis2s.layers import (
    attention,
    dropout,
    embedding,
    gru,
    linear,
    loss,
    lstm,
    rnn,
    softmax,
    stack,
)

N, T, D, H, V = 2, 3, 4, 5, 7


def caches(r):
    """(backward, its upstream gradients, the cache) of every layer, in float64."""
    x = r.standard_normal((N, T, D))
    out = []
    for mod in (rnn, lstm, gru):
        ys, final, c = mod.forward(x, None, mod.init(D, H, r, np.float64))
        out.append((mod.backward, (np.ones_like(ys), None), c))
    y, c = linear.forward(x, linear.init(D, H, r, np.float64))
    out.append((linear.backward, (np.ones_like(y),), c))
    e, c = embedding.forward(r.integers(0, V, (N, T)), {"W": r.standard_normal((V, E := 3))})
    out.append((embedding.backward, (np.ones((N, T, E)),), c))
    y, c = dropout.forward(x, 0.5, r)
    out.append((dropout.backward, (np.ones_like(y),), c))
    w, c = softmax.forward(x)
    out.append((softmax.backward, (np.ones_like(w),), c))
    _, c = loss.forward(x, r.integers(0, D, (N, T)))
    out.append((loss.backward, (1.0,), c))
    ctx, w, c = attention.forward(x, x, {}, score="dot")
    out.append((attention.backward, (np.ones_like(ctx), None), c))
    ys, _, c = stack.forward(x, None, stack.init("gru", D, H, 1, False, r, np.float64), cell="gru")
    out.append((stack.backward, (np.ones_like(ys), None), c))
    return out


def test_backward_refuses_another_layers_cache():
    """Another layer's cache used to be unpacked into the wrong fields ("too many values to
    unpack") or read by attribute (AttributeError); now the backward names what it got."""
    r = np.random.default_rng(0)
    layers = caches(r)
    for k, (backward, grads, cache) in enumerate(layers):
        other = layers[(k + 1) % len(layers)][2]
        want = type(cache).__name__
        with pytest.raises(
            ValueError, match=rf"cache is {type(other).__name__}, expected the {want}"
        ):
            backward(*grads, other)
        with pytest.raises(ValueError, match=rf"cache is NoneType, expected the {want}"):
            backward(*grads, None)


def test_softmax_backward_refuses_a_gradient_that_would_broadcast():
    """dw (N, 1, S) against weights (N, T, S) used to broadcast into a wrong ds silently."""
    w, cache = softmax.forward(np.random.default_rng(0).standard_normal((N, T, V)))
    with pytest.raises(ValueError, match=r"softmax.backward: dw has shape \(2, 1, 7\)"):
        softmax.backward(np.ones((N, 1, V)), cache)


def test_softmax_forward_names_a_mask_that_does_not_broadcast_and_a_list():
    s = np.zeros((N, T, V))
    with pytest.raises(ValueError, match=r"mask has shape \(2, 8\), which does not broadcast"):
        softmax.forward(s, np.ones((N, V + 1)))
    with pytest.raises(ValueError, match="softmax.forward: s must be an array"):
        softmax.forward(s.tolist())
    w, _ = softmax.forward(s, np.ones((N, 1, V)))  # (N, 1, S) broadcasts over T, as documented
    assert np.allclose(w.sum(axis=-1), 1.0)


@pytest.mark.parametrize("mod", [rnn, lstm, gru])
def test_cell_init_refuses_sizes_that_are_not_positive_integers(mod):
    """H = -1 used to reach the generator ("high - low range exceeds valid bounds")."""
    r = np.random.default_rng(0)
    with pytest.raises(ValueError, match=rf"{mod.WHERE}.init: H must be >= 1; got -1"):
        mod.init(D, -1, r)
    with pytest.raises(ValueError, match=rf"{mod.WHERE}.init: D must be an integer >= 1"):
        mod.init(2.5, H, r)


def test_other_inits_refuse_bad_sizes():
    r = np.random.default_rng(0)
    with pytest.raises(ValueError, match="linear.init: O must be >= 1; got 0"):
        linear.init(D, 0, r)
    with pytest.raises(ValueError, match="embedding.init: V must be >= 1; got -3"):
        embedding.init(-3, D, r)
    with pytest.raises(ValueError, match="attention.init: A must be >= 1; got 0"):
        attention.init("concat", H, H, r, A=0)
    with pytest.raises(ValueError, match="stack.init: num_layers must be an integer"):
        stack.init("lstm", D, H, 1.5, False, r)


def test_embedding_refuses_a_pad_id_that_is_no_token_id_and_integer_weights():
    """pad_id=0.5 used to match no id and zero nothing; integer W used to embed to integers."""
    ids, W = np.array([[0, 1]]), np.ones((V, 3))
    with pytest.raises(ValueError, match="embedding.forward: pad_id must be an integer; got 0.5"):
        embedding.forward(ids, {"W": W}, pad_id=0.5)
    with pytest.raises(ValueError, match=r"p\['W'\] must be a float array; got dtype int64"):
        embedding.forward(ids, {"W": W.astype(np.int64)})
    out, _ = embedding.forward(ids, {"W": W}, pad_id=np.int64(0))  # a NumPy integer is one
    assert out[0, 0].tolist() == [0, 0, 0] and out[0, 1].tolist() == [1, 1, 1]


def test_linear_names_a_missing_parameter_and_dropout_a_rate_that_is_no_number():
    x = np.ones((N, D))
    with pytest.raises(ValueError, match=r"linear.forward: p has no b; .*init\(D, O, rng\)"):
        linear.forward(x, {"W": np.ones((H, D))})
    with pytest.raises(
        ValueError, match="dropout.forward: rate must be a finite number; got '0.5'"
    ):
        dropout.forward(x, "0.5", np.random.default_rng(0))
