"""Parity with PyTorch in float64: the same weights (moved through minis2s.interop) give the same
outputs, final states and gradients as nn.RNN / nn.LSTM / nn.GRU on packed variable-length
batches, and as nn.Linear / nn.Embedding. Skipped when torch is not installed."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

from minis2s import interop  # noqa: E402
from minis2s.layers import embedding, linear, stack  # noqa: E402
from tests.strategies import mask_from_lengths  # noqa: E402

MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
CONFIGS = [(c, L, bi) for c in MODULES for L in (1, 2) for bi in (False, True)]
SHAPES = [  # (lengths, D, H): unsorted lengths with 1 and T, and a batch of one single step
    ([3, 5, 1, 4], 3, 4),
    ([1], 1, 1),
]
TOL = dict(rtol=1e-10, atol=1e-10)


def as_tuple(state):
    return state if isinstance(state, tuple) else (state,)


def run_torch(module, x, s0, lengths, dys, dfinal):
    """Outputs, final states and every gradient of sum(ys * dys) + sum(final * dfinal)."""
    xt = torch.tensor(x, requires_grad=True)
    s0t = tuple(torch.tensor(s, requires_grad=True) for s in s0)
    packed = pack_padded_sequence(xt, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    out, final = module(packed, s0t if len(s0t) == 2 else s0t[0])
    ys, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])  # 0 at padding
    final = as_tuple(final)
    loss = (ys * torch.tensor(dys)).sum()
    loss = loss + sum((f * torch.tensor(d)).sum() for f, d in zip(final, dfinal, strict=True))
    loss.backward()
    grads = {name: w.grad.numpy() for name, w in module.named_parameters()}
    detach = lambda ts: tuple(t.detach().numpy() for t in ts)
    return ys.detach().numpy(), detach(final), xt.grad.numpy(), detach(s.grad for s in s0t), grads


def differences(cell, L, bi, lengths, D, H, seed=0):
    """{quantity: max |ours - torch|} after asserting each agrees to 1e-10."""
    torch.manual_seed(seed)
    module = MODULES[cell](D, H, L, batch_first=True, bidirectional=bi, dtype=torch.float64)
    p = interop.from_torch_rnn({k: v.numpy() for k, v in module.state_dict().items()})
    r = np.random.default_rng(seed)
    N, T, n_states = len(lengths), max(lengths), 2 if cell == "lstm" else 1
    x = r.standard_normal((N, T, D))
    s0 = tuple(r.standard_normal((L * (2 if bi else 1), N, H)) for _ in range(n_states))
    dys = r.standard_normal((N, T, (2 if bi else 1) * H))
    dfinal = tuple(r.standard_normal(s.shape) for s in s0)
    m = mask_from_lengths(np.array(lengths), T)

    pick = (lambda s: s) if n_states == 2 else (lambda s: s[0])
    ys, final, cache = stack.forward(x, pick(s0), p, mask=m, cell=cell)
    dx, ds0, dp = stack.backward(dys, pick(dfinal), cache)
    ys_t, final_t, dx_t, ds0_t, grads_t = run_torch(module, x, s0, lengths, dys, dfinal)

    pairs = {"ys": (ys, ys_t), "dx": (dx, dx_t)}
    for i in range(n_states):
        pairs[f"final[{i}]"] = (as_tuple(final)[i], final_t[i])
        pairs[f"dstate0[{i}]"] = (as_tuple(ds0)[i], ds0_t[i])
    dp_t = interop.from_torch_rnn(grads_t)
    pairs.update({f"d{k}": (dp[k], dp_t[k]) for k in p})
    assert set(dp) == set(dp_t)
    for name, (ours, theirs) in pairs.items():
        np.testing.assert_allclose(ours, theirs, **TOL, err_msg=name)
    return {name: float(np.abs(a - b).max()) for name, (a, b) in pairs.items()}


@pytest.mark.parametrize("lengths, D, H", SHAPES)
@pytest.mark.parametrize("cell, L, bi", CONFIGS)
def test_recurrent_stack_matches_torch(cell, L, bi, lengths, D, H):
    differences(cell, L, bi, lengths, D, H)


@pytest.mark.parametrize("cell, L, bi", CONFIGS)
def test_our_weights_load_into_torch(cell, L, bi, rng):
    """to_torch_rnn writes exactly the keys and shapes torch expects (strict load)."""
    p = stack.init(cell, 3, 4, L, bi, rng, dtype=np.float64)
    module = MODULES[cell](3, 4, L, batch_first=True, bidirectional=bi, dtype=torch.float64)
    module.load_state_dict({k: torch.from_numpy(v) for k, v in interop.to_torch_rnn(p).items()})
    back = interop.from_torch_rnn({k: v.numpy() for k, v in module.state_dict().items()})
    for k, v in p.items():
        np.testing.assert_array_equal(back[k], v)


def test_linear_matches_torch(rng):
    module = nn.Linear(3, 5, dtype=torch.float64)
    p = interop.from_torch_linear({k: v.numpy() for k, v in module.state_dict().items()})
    x, dy = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4, 5))
    xt = torch.tensor(x, requires_grad=True)
    yt = module(xt)
    (yt * torch.tensor(dy)).sum().backward()
    y, cache = linear.forward(x, p)
    dx, dp = linear.backward(dy, cache)
    np.testing.assert_allclose(y, yt.detach().numpy(), **TOL)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(dp["W"], module.weight.grad.numpy(), **TOL)
    np.testing.assert_allclose(dp["b"], module.bias.grad.numpy(), **TOL)
    fresh = nn.Linear(3, 5, dtype=torch.float64)
    fresh.load_state_dict({k: torch.from_numpy(v) for k, v in interop.to_torch_linear(p).items()})
    np.testing.assert_array_equal(fresh(xt).detach().numpy(), yt.detach().numpy())


def test_embedding_matches_torch(rng):
    module = nn.Embedding(7, 3, padding_idx=0, dtype=torch.float64)
    p = interop.from_torch_embedding({k: v.numpy() for k, v in module.state_dict().items()})
    ids = np.array([[0, 3, 3, 6], [1, 0, 2, 3]])
    dout = rng.standard_normal((2, 4, 3))
    out_t = module(torch.tensor(ids))
    (out_t * torch.tensor(dout)).sum().backward()
    out, cache = embedding.forward(ids, p, pad_id=0)
    dp = embedding.backward(dout, cache)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(dp["W"], module.weight.grad.numpy(), **TOL)
    fresh = nn.Embedding(7, 3, dtype=torch.float64)
    fresh.load_state_dict(
        {k: torch.from_numpy(v) for k, v in interop.to_torch_embedding(p).items()}
    )
    np.testing.assert_array_equal(fresh.weight.detach().numpy(), module.weight.detach().numpy())
