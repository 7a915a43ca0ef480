"""PyTorch-layout state dicts <-> minis2s parameters: exact key maps, round trips, and errors
that name the offending key. No torch needed (see test_torch_parity.py for that)."""

import numpy as np
import pytest

from minis2s import interop
from minis2s.layers import embedding, linear, stack

CONFIGS = [(c, L, bi) for c in ("rnn", "lstm", "gru") for L in (1, 3) for bi in (False, True)]


@pytest.mark.parametrize("cell, L, bi", CONFIGS)
def test_rnn_round_trip(cell, L, bi, rng):
    p = stack.init(cell, 3, 4, L, bi, rng, dtype=np.float64)
    state = interop.to_torch_rnn(p, prefix="enc.rnn.")
    suffixes = ("", "_reverse") if bi else ("",)
    want = {
        f"enc.rnn.{w}_{io}_l{k}{s}"
        for k in range(L)
        for s in suffixes
        for w in ("weight", "bias")
        for io in ("ih", "hh")
    }
    assert set(state) == want
    back = interop.from_torch_rnn({**state, "dec.out.weight": np.zeros(2)}, prefix="enc.rnn.")
    assert set(back) == set(p)
    for k, v in p.items():
        assert back[k].dtype == v.dtype
        np.testing.assert_array_equal(back[k], v)
    again = interop.to_torch_rnn(back)
    for k, v in again.items():
        np.testing.assert_array_equal(v, state["enc.rnn." + k])


def test_rnn_keys_map_to_the_right_arrays(rng):
    p = stack.init("gru", 2, 3, 2, True, rng)
    state = interop.to_torch_rnn(p)
    assert state["weight_ih_l1_reverse"] is not p["l1.bwd.W_ih"]  # a copy
    np.testing.assert_array_equal(state["weight_ih_l1_reverse"], p["l1.bwd.W_ih"])
    np.testing.assert_array_equal(state["bias_hh_l0"], p["l0.fwd.b_hh"])
    np.testing.assert_array_equal(state["weight_hh_l0_reverse"], p["l0.bwd.W_hh"])
    state["bias_hh_l0"][:] = 7
    assert not np.any(p["l0.fwd.b_hh"] == 7)


def test_from_torch_copies_the_arrays(rng):
    """The arrays come back as copies (module docstring), so training the minis2s parameters
    never writes into the state dict they were read from."""
    rnn = interop.to_torch_rnn(stack.init("lstm", 2, 3, 1, False, rng))
    lin = {"weight": rng.standard_normal((2, 3)), "bias": rng.standard_normal(2)}
    emb = {"weight": rng.standard_normal((4, 2))}
    for read, state in [
        (interop.from_torch_rnn, rnn),
        (interop.from_torch_linear, lin),
        (interop.from_torch_embedding, emb),
    ]:
        for name, a in read(state).items():
            assert not any(np.shares_memory(a, b) for b in state.values()), name


def test_rnn_errors_name_the_key(rng):
    state = interop.to_torch_rnn(stack.init("lstm", 3, 4, 2, True, rng), prefix="m.")
    fr = interop.from_torch_rnn
    missing = {k: v for k, v in state.items() if k != "m.bias_hh_l1_reverse"}
    with pytest.raises(ValueError, match="missing m.bias_hh_l1_reverse"):
        fr(missing, prefix="m.")
    with pytest.raises(ValueError, match="unexpected key 'm.weight_hr_l0'.*proj_size"):
        fr({**state, "m.weight_hr_l0": np.zeros((4, 4))}, prefix="m.")
    gap = {k.replace("_l1", "_l2"): v for k, v in state.items()}
    with pytest.raises(ValueError, match="missing m.weight_ih_l1"):
        fr(gap, prefix="m.")
    uneven = {k: v for k, v in state.items() if not k.endswith("_l1_reverse")}
    with pytest.raises(ValueError, match="missing m.weight_ih_l1_reverse"):
        fr(uneven, prefix="m.")
    wrong = {**state, "m.weight_ih_l1": np.zeros((16, 4))}
    with pytest.raises(ValueError, match=r"m.weight_ih_l1 has shape \(16, 4\).*\(16, 8\)"):
        fr(wrong, prefix="m.")
    with pytest.raises(ValueError, match=r"m.bias_ih_l0 has shape \(15,\)"):
        fr({**state, "m.bias_ih_l0": np.zeros(15)}, prefix="m.")
    two_gates = {k: v[:8] for k, v in state.items() if k.endswith("_l0")}
    with pytest.raises(ValueError, match=r"m.weight_hh_l0 has shape \(8, 4\); its rows must be"):
        fr(two_gates, prefix="m.")
    with pytest.raises(ValueError, match="unexpected key 'm.weight_ih_l01'"):
        fr({**state, "m.weight_ih_l01": state["m.weight_ih_l1"]}, prefix="m.")
    with pytest.raises(ValueError, match="no key of state starts with prefix 'enc.'"):
        fr(state, prefix="enc.")
    with pytest.raises(ValueError, match="unexpected parameter 'l0.fwd.W_x'"):
        interop.to_torch_rnn({"l0.fwd.W_x": np.zeros((4, 4))})


def test_linear_round_trip_and_errors(rng):
    p = linear.init(3, 5, rng, dtype=np.float64)
    state = interop.to_torch_linear(p, prefix="out.")
    assert set(state) == {"out.weight", "out.bias"}
    np.testing.assert_array_equal(state["out.weight"], p["W"])
    back = interop.from_torch_linear({**state, "emb.weight": np.zeros((2, 2))}, prefix="out.")
    assert set(back) == {"W", "b"}
    np.testing.assert_array_equal(back["W"], p["W"])
    np.testing.assert_array_equal(back["b"], p["b"])
    with pytest.raises(ValueError, match="missing key 'out.bias'"):
        interop.from_torch_linear({"out.weight": state["out.weight"]}, prefix="out.")
    with pytest.raises(ValueError, match="unexpected key 'extra'"):
        interop.from_torch_linear({"weight": p["W"], "bias": p["b"], "extra": p["b"]})
    with pytest.raises(ValueError, match=r"bias has shape \(4,\), expected \(O,\) = \(5,\)"):
        interop.from_torch_linear({"weight": p["W"], "bias": np.zeros(4)})
    with pytest.raises(ValueError, match="missing key 'b'"):
        interop.to_torch_linear({"W": p["W"]})


def test_embedding_round_trip_and_errors(rng):
    p = embedding.init(7, 3, rng, dtype=np.float64)
    state = interop.to_torch_embedding(p, prefix="emb.")
    assert set(state) == {"emb.weight"}
    back = interop.from_torch_embedding(state, prefix="emb.")
    assert set(back) == {"W"}
    np.testing.assert_array_equal(back["W"], p["W"])
    with pytest.raises(ValueError, match=r"weight has shape \(7,\), expected \(V, E\)"):
        interop.from_torch_embedding({"weight": np.zeros(7)})
    with pytest.raises(ValueError, match="unexpected key 'emb.bias'"):
        interop.from_torch_embedding({**state, "emb.bias": np.zeros(3)}, prefix="emb.")
