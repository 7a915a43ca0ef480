"""`minis2s gradcheck`: every backward pass against finite differences, on small random inputs.

Each case builds float64 inputs with a padded mask and calls `gradcheck.check_layer` (or
`check_model`), so the table it prints is the same proof the test suite runs, at one shape. The
inputs and parameters live on the current backend (`minis2s --backend cupy gradcheck` checks the
GPU's arrays and the cupy twins).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from minis2s import backend, gradcheck
from minis2s.gradcheck import TOLERANCE, check_model

F64 = np.float64
N, T, D, H, S, V = 3, 4, 3, 4, 5, 6
MASK = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=F64)  # (N, T), padded rows


Cases = Iterator[tuple[str, Callable[[], dict[str, float]]]]  # (name, run the check)


def _r(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _on_backend(tree: Any) -> Any:
    """Every NumPy array in `tree` (tuples, lists, dicts) as an array of the current backend."""
    if isinstance(tree, np.ndarray):
        return backend.current().asarray(tree)
    if isinstance(tree, tuple | list):
        return type(tree)(_on_backend(t) for t in tree)
    if isinstance(tree, dict):
        return {k: _on_backend(v) for k, v in tree.items()}
    return tree


def _check_on_backend(forward: Callable, backward: Callable, inputs: list, params: Any,
                      **options: Any) -> dict[str, float]:  # fmt: skip
    """`gradcheck.check_layer` with the case's arrays (inputs, parameters, options such as the
    mask) on the current backend."""
    return gradcheck.check_layer(forward, backward, _on_backend(inputs), _on_backend(params),
                                 **_on_backend(options))  # fmt: skip


def _cases() -> Cases:
    """Every layer's check, in the order `minis2s gradcheck` prints them. One random stream feeds
    them all, drawn in this order (some when a check runs), so a full run's data is the same
    every time (a run of some cases only, `--only`, may draw other data for them)."""
    r = _r()
    x, h0, c0 = r.standard_normal((N, T, D)), r.standard_normal((N, H)), r.standard_normal((N, H))
    yield from _layer_cases(r, x)
    yield from _cell_cases(r, x, h0, c0)
    yield from _stack_cases(r, x)
    yield from _attention_cases(r)
    yield from _loss_cases(r)


def _layer_cases(r: np.random.Generator, x: np.ndarray) -> Cases:
    from minis2s.layers import dropout, embedding, linear

    yield (
        "linear",
        lambda: _check_on_backend(
            linear.forward, linear.backward, [r.standard_normal((N, D))], linear.init(D, H, r, F64)
        ),
    )
    ids = np.array([[1, 2, 0, 2], [3, 0, 0, 1], [5, 5, 5, 0]])
    yield (
        "embedding",
        lambda: _check_on_backend(
            embedding.forward,
            embedding.backward,
            [ids],
            embedding.init(V, D, r, F64, pad_id=0),
            pad_id=0,
        ),
    )
    yield (
        "dropout",
        lambda: _check_on_backend(
            lambda x: dropout.forward(x, 0.4, _r(7)), dropout.backward, [x], None
        ),
    )


def _cell_cases(r: np.random.Generator, x: np.ndarray, h0: np.ndarray, c0: np.ndarray) -> Cases:
    from minis2s.layers import gru, lstm, rnn

    for name, cell, state in [("rnn", rnn, h0), ("lstm", lstm, (h0, c0)), ("gru", gru, h0)]:
        p = cell.init(D, H, r, F64)
        yield (
            f"{name}",
            lambda c=cell, s=state, p=p: _check_on_backend(
                c.forward, c.backward, [x, s], p, mask=MASK
            ),
        )
        yield (
            f"{name}.step",
            lambda c=cell, s=state, p=p: _check_on_backend(
                c.step_forward, c.step_backward, [x[:, 0], s], p
            ),
        )


def _stack_cases(r: np.random.Generator, x: np.ndarray) -> Cases:
    from minis2s.layers import stack

    for cell in ("rnn", "lstm", "gru"):
        p = stack.init(cell, D, H, 2, True, r, F64)
        s0 = r.standard_normal((4, N, H))  # (L*dirs, N, H)
        s0 = (s0, r.standard_normal((4, N, H))) if cell == "lstm" else s0
        yield (
            f"stack.{cell} (2 layers, bi, dropout)",
            lambda c=cell, p=p, s0=s0: _check_on_backend(
                lambda x, state0, p: stack.forward(
                    x, state0, p, mask=MASK, cell=c, dropout=0.3, rng=_r(3)
                ),
                stack.backward,
                [x, s0],
                p,
            ),
        )


def _attention_cases(r: np.random.Generator) -> Cases:
    from minis2s.layers import attention

    enc, q = r.standard_normal((N, S, 2 * H)), r.standard_normal((N, 2, H))
    src_mask = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [0, 0, 0, 0, 0]], dtype=F64)
    for score in attention.SCORES:
        Hq = 2 * H if score in ("dot", "scaled_dot") else H
        qs = q if Hq == H else r.standard_normal((N, 2, Hq))
        p = attention.init(score, Hq, 2 * H, r, dtype=F64)
        yield (
            f"attention.{score}",
            lambda s=score, qs=qs, p=p: _check_on_backend(
                attention.forward, attention.backward, [qs, enc], p, mask=src_mask, score=s
            ),
        )
        yield (
            f"attention.{score}.keys",
            lambda s=score, p=p: _check_on_backend(
                attention.keys_forward,
                attention.keys_backward,
                [enc],
                {k: p[k] for k in attention.KEY_PARAMS[s]},
                score=s,
            ),
        )
        # .copy(): for dot scores the keys are enc itself, which must not be nudged twice
        yield (
            f"attention.{score}.with_keys",
            lambda s=score, qs=qs, p=p: _check_on_backend(
                attention.forward_with_keys,
                attention.backward_with_keys,
                [qs, attention.keys_forward(enc, p, s)[0].copy(), enc],
                {k: p[k] for k in attention.QUERY_PARAMS[s]},
                mask=src_mask,
                score=s,
            ),
        )


def _loss_cases(r: np.random.Generator) -> Cases:
    from minis2s.layers import loss

    logits, targets = r.standard_normal((N, T, V)), np.array([[1, 2, 3, 0], [4, 0, 0, 0],
                                                              [5, 1, 0, 0]])  # fmt: skip
    for eps in (0.0, 0.1):
        yield (
            f"loss (label smoothing {eps})",
            lambda eps=eps: _check_on_backend(
                loss.forward,
                loss.backward,
                [logits],
                None,
                targets=targets,
                ignore_index=0,
                label_smoothing=eps,
            ),
        )


def model_cases() -> Cases:
    """One whole-model check per cell and two attentions, with input feeding, dropout and
    sampling (bridge 'learned'); then the 'last', 'zero' and 'learned_h' bridges over a one-way
    encoder; then no attention, tied and shared embeddings, feature frames and a reversed
    source."""
    from minis2s.data.batching import make_batch
    from minis2s.models import ModelConfig, Seq2Seq

    examples = [([4, 5, 6], [4, 4, 5]), ([5], [6]), ([6, 4], [5, 6, 4, 5])]
    batch = make_batch(examples, np.arange(3))
    for cell in ("rnn", "lstm", "gru"):
        for att in ("general", "additive"):
            # emb != hidden: a gradient transposed or of the other side's width cannot fit
            cfg = ModelConfig(src_vocab=7, tgt_vocab=7, cell=cell, emb=3, hidden=2,
                              enc_layers=2, dec_layers=2, attention=att, dropout=0.2,
                              init_scale=1.0)  # fmt: skip
            model = Seq2Seq(cfg, seed=1, dtype=F64)
            yield (
                f"seq2seq.{cell}.{att}",
                lambda m=model: check_model(
                    m, batch, seed=5, sampling_eps=0.3, label_smoothing=0.1
                ),
            )
    # the other bridges, over a one-way encoder, with emb != hidden and dot-product attention
    for bridge in ("last", "zero", "learned_h"):
        cfg = ModelConfig(src_vocab=7, tgt_vocab=7, cell="lstm", emb=2, hidden=3, enc_layers=2,
                          dec_layers=2, bidirectional=False, attention="scaled_dot",
                          input_feed=False, bridge=bridge, init_scale=1.0)  # fmt: skip
        model = Seq2Seq(cfg, seed=1, dtype=F64)
        yield f"seq2seq.lstm.{bridge}-bridge.one-way", lambda m=model: check_model(m, batch)
    # the decoder without attention (its own forward and backward branch), tied embeddings (the
    # output layer's gradient flows into the target embedding), shared embeddings (the encoder's
    # too, with and without tying), an encoder of feature frames, and a one-way encoder reading
    # the source reversed (reverse_source: gathers on the input and outputs of its stack)
    others = {
        "seq2seq.gru.no-attention": dict(cell="gru", attention="none", input_feed=False,
                                         bridge="last"),
        "seq2seq.lstm.tied-embeddings": dict(cell="lstm", tie_embeddings=True, dropout=0.2),
        "seq2seq.gru.shared-embeddings": dict(cell="gru", share_embeddings=True, dropout=0.2),
        "seq2seq.lstm.shared-tied-embeddings": dict(cell="lstm", share_embeddings=True,
                                                    tie_embeddings=True),
        "seq2seq.gru.feature-frames": dict(cell="gru", src_features=4),
        "seq2seq.lstm.reversed-source": dict(cell="lstm", reverse_source=True,
                                             bidirectional=False, dropout=0.2),
    }  # fmt: skip
    r = _r(9)
    frames = make_batch([(r.standard_normal((len(s), 4)), t) for s, t in examples], np.arange(3))
    for name, options in others.items():
        cfg = ModelConfig(**({"src_vocab": 7, "tgt_vocab": 7, "emb": 3, "hidden": 3,
                              "init_scale": 1.0} | options))  # fmt: skip
        model = Seq2Seq(cfg, seed=1, dtype=F64)
        b = frames if cfg.src_features else batch
        yield name, lambda m=model, b=b: check_model(m, b, seed=5, label_smoothing=0.1)


def run_all(only: str | None = None, model: bool = True) -> bool:
    """Print a table of every check; True when all pass."""
    cases = list(_cases()) + (list(model_cases()) if model else [])
    if only and not any(only in name for name, _ in cases):
        names = ", ".join(name for name, _ in cases)
        left_out = "" if model else " (--no-model leaves out the seq2seq.* whole-model cases)"
        raise ValueError(f"no case matches --only {only!r}{left_out}; the cases: {names}")
    ok = True
    if only:  # a substring (--only lstm: the layer, its step, stack and models), so say whose
        matched = [name for name, _ in cases if only in name]
        print(f"--only {only} matches {len(matched)} of {len(cases)} cases (their names hold it): "
              f"{', '.join(matched)}\n")  # fmt: skip
    cases = [(name, run) for name, run in cases if not only or only in name]
    w = max(36, *(len(name) for name, _ in cases))  # a long case name would push its row right
    print(f"{'layer':<{w}} {'input/param':<24} {'max rel error':>14}  result")
    for name, run in cases:
        for what, err in run().items():
            passed = err < TOLERANCE
            ok &= passed
            print(f"{name:<{w}} {what:<24} {err:>14.2e}  {'pass' if passed else 'FAIL'}")
    print(f"\n{'all checks passed' if ok else 'SOME CHECKS FAILED'} (tolerance {TOLERANCE:g})")
    return ok
