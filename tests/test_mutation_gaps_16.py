"""Mutation pass over the Numba attention and loss twins (kernels/numba_attention.py,
kernels/numba_loss.py, their fastmath flags), threads.py (the BLAS pools and the OpenBLAS kernel
family checks) and dev_figures.py (the dev evaluation of a training run). Each test kills a
hand-made mutant that the suite let live, named in its docstring; every expected value is worked
out by hand or by NumPy, never by the code under test."""

from __future__ import annotations

import math
import types
import warnings

import numpy as np
import pytest
from numba.core.registry import CPUDispatcher

from minis2s import dev_figures, long_sources, threads
from minis2s.decode.common import NoHypothesis
from minis2s.kernels import (
    fast_math,
    numba_attention,
    numba_embedding,
    numba_gru,
    numba_loss,
    numba_lstm,
    numba_optim,
    numba_rnn,
)
from minis2s.layers import attention, loss
from minis2s.train.config import TrainConfig

# --- the fastmath flags of the compiled kernels ---------------------------------------------------


def test_only_row_dot_is_compiled_with_fastmath_and_only_to_reassociate():
    """Kills `fastmath=True` on numba_attention.forward_into (whose masked softmax relies on
    exp(-inf) = 0 and on the max skipping nothing: `ninf` / `nnan` let LLVM assume neither
    occurs), on row_dot (`True` for {"reassoc"}) and on any loss row pass (row_max skips NaN,
    exp_f32 passes NaN through its clamp). On this LLVM none of them changed a result the
    suite compares beyond rounding (measured on -inf, +inf and NaN scores and logits), so the
    flags are read off the dispatchers: the module docstrings promise row_dot alone."""
    modules = (numba_attention, numba_loss, fast_math, numba_rnn, numba_lstm, numba_gru,
               numba_embedding, numba_optim)  # fmt: skip
    seen = []
    for module in modules:
        for name, f in vars(module).items():
            if isinstance(f, CPUDispatcher) and f.py_func.__module__ == module.__name__:
                flags = f.targetoptions.get("fastmath") or set()
                want = {"reassoc"} if f is numba_attention.row_dot else set()
                assert set(flags) == want, f"{module.__name__}.{name}: fastmath {flags}"
                seen.append(name)
    assert {"forward_into", "row_dot", "row_max", "softmax_minus_target_rows"} <= set(seen)


# --- numba_attention: the scale cast to the dtype, mixed dtypes --------------------------------


def _scaled_ties(r):
    """float32 pairs (a, b), a != b, with f32(a * f32(s)) == f32(b * f32(s)) but
    f32(a * s) != f32(b * s) in float64, s = 1 / sqrt(3): NumPy's float32 * Python float rounds
    s to float32 first (NEP 50), and only that rounding makes the scores tie."""
    s64 = 1.0 / math.sqrt(3.0)
    s32 = np.float32(s64)
    a = (1.75 + 0.25 * r.random(200_000)).astype(np.float32)
    b = np.nextafter(a, np.float32(2))
    tie32 = (a * s32) == (b * s32)
    split64 = (a.astype(np.float64) * s64).astype(np.float32) != (
        b.astype(np.float64) * s64
    ).astype(np.float32)
    keep = tie32 & split64
    assert keep.sum() >= 4
    return a[keep][:4], b[keep][:4]


def test_scaled_dot_scores_round_as_numpys_float32_times_the_python_scale():
    """Kills forward_into without `scale = q.dtype.type(scale)` (the float32 scores multiplied
    by the float64 scale and rounded once): two scores that tie in the reference, q . k = a and
    b one float32 apart, differ in the mutant, whose weights are then not [0.5, 0.5]. Hk = 3,
    q = (a, 0, 0) and (b, 0, 0) against k = (1, 0, 0): each dot product is exact."""
    a, b = _scaled_ties(np.random.default_rng(0))
    N = len(a)
    q = np.zeros((N, 1, 3), np.float32)
    q[:, 0, 0] = 1.0
    keys = np.zeros((N, 2, 3), np.float32)
    keys[:, 0, 0], keys[:, 1, 0] = a, b
    enc = np.ones((N, 2, 3), np.float32)
    for module in (attention, numba_attention):
        _, w, _ = module.forward_with_keys(q, keys, enc, {}, None, "scaled_dot")
        assert np.array_equal(w, np.full((N, 1, 2), 0.5, np.float32)), module.__name__


def test_scaled_dot_query_grads_equal_the_reference_bit_for_bit_in_float32():
    """Kills query_grads_into without `scale = keys.dtype.type(scale)` (dq = scale * (ds k)
    rounded from float64). With S = 1 the product ds @ keys is one exact-rounded product per
    entry, so the twin must give the reference's float32 numbers exactly."""
    r = np.random.default_rng(1)
    N, Hk = 64, 3
    keys = r.standard_normal((N, 1, Hk)).astype(np.float32)
    q = r.standard_normal((N, 1, Hk)).astype(np.float32)
    enc = r.standard_normal((N, 1, 2)).astype(np.float32)
    ds = r.standard_normal((N, 1, 1)).astype(np.float32)
    _, _, cache = attention.forward_with_keys(q, keys, enc, {}, None, "scaled_dot")
    want = attention.query_grads(ds, cache)
    got = numba_attention.query_grads(ds, cache)
    assert got.dtype == np.float32 and np.array_equal(got, want)


def test_twins_refuse_upstream_gradients_of_another_dtype_as_the_reference():
    """Kills `_compiled` checking only the first array's dtype, score_grads leaving dweights out
    of it, and query_grads leaving ds out: a float64 dcontext, dweights or ds after a float32
    forward ran the compiled loop, which wrote float32 results with no word, where the reference
    refuses it ("... has dtype float64 but the forward pass ran in float32")."""
    r = np.random.default_rng(2)
    q, keys, enc = (
        r.standard_normal(s).astype(np.float32) for s in ((2, 1, 3), (2, 4, 3), (2, 4, 3))
    )
    _, _, cache = numba_attention.forward_with_keys(q, keys, enc, {}, None, "dot")
    dcontext, dweights = np.ones((2, 1, 3), np.float32), np.ones((2, 1, 4), np.float32)
    calls = {
        "dcontext": lambda m: m.score_grads(dcontext.astype(np.float64), dweights, cache),
        "dweights": lambda m: m.score_grads(dcontext, dweights.astype(np.float64), cache),
        "ds": lambda m: m.query_grads(dweights.astype(np.float64), cache),
    }
    for name, call in calls.items():
        with pytest.raises(ValueError) as want:
            call(attention)
        with pytest.raises(ValueError) as got:
            call(numba_attention)
        assert f"{name} has dtype float64 but the forward pass ran in float32" in str(want.value)
        assert str(got.value) == str(want.value), name


# --- numba_loss: label smoothing with V = 1 -----------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_smoothed_gradient_of_one_class_is_the_references_rounding_bit_for_bit(dtype):
    """Kills softmax_minus_target_rows without the casts of eps / V, 1 - eps and scale to the
    dtype (float64 arithmetic rounded once at the end). With V = 1, p = q = 1 and the exact
    gradient is 0; both compute (1 - f(eps)) - f(1 - eps), whose float32 rounding residue is
    not 0 for every eps: the twin must leave the reference's residue exactly."""
    eps = [k / 100 for k in range(1, 100)]  # Python floats, as TrainConfig holds them
    M = len(eps)
    logp = np.zeros((1, 1), dtype)  # log softmax of one logit
    t, keep = np.zeros(1, np.int64), np.ones((1, 1), dtype)
    got = np.stack([numba_loss.softmax_minus_target(logp, t, keep, e, 1.0) for e in eps])
    want = np.stack([loss.softmax_minus_target(logp, t, keep, e, 1.0) for e in eps])
    assert got.dtype == dtype and np.array_equal(got, want)
    if dtype == np.float32:  # the residue is there to see: not a comparison of zeros
        assert np.count_nonzero(want) > 0 and np.count_nonzero(want) < M


# --- threads.py: the OpenBLAS kernel family and thread count ---------------------------------


def _cpu(monkeypatch, forced, core, flags):
    monkeypatch.setenv("OPENBLAS_CORETYPE", forced)
    monkeypatch.setattr(threads, "blas_core", lambda: core)
    monkeypatch.setattr(threads, "cpu_flags", lambda: flags)


def test_a_forced_family_named_in_other_case_is_the_family_that_runs(monkeypatch):
    """Kills `core != forced` for the case-blind compare: OPENBLAS_CORETYPE=haswell runs the
    Haswell kernels (OpenBLAS reads the name without case), and an AVX2 CPU loses nothing, so
    there is no note; the mutant said OpenBLAS "knows no kernel family by that name"."""
    _cpu(monkeypatch, "haswell", "Haswell", {"sse2", "avx", "avx2"})
    assert threads.forced_core_note() is None


def test_a_forced_family_that_needs_no_listed_instructions_is_not_refused(monkeypatch):
    """Kills `if need not in flags` without `need and`: Sandybridge is in no entry of NEEDS, so
    nothing is known to be missing; the mutant refused it (None is not among the flags)."""
    _cpu(monkeypatch, "Sandybridge", "Sandybridge", {"sse2", "avx"})
    assert threads.check_forced_core() is None


def test_zen_kernels_on_a_cpu_without_avx2_are_refused_naming_avx2(monkeypatch):
    """Kills NEEDS without its "Zen": "avx2" entry: OPENBLAS_CORETYPE=Zen on an AVX-only CPU
    would stop the first matrix product with SIGILL."""
    _cpu(monkeypatch, "Zen", "Zen", {"sse2", "avx"})
    with pytest.raises(RuntimeError, match=r"OPENBLAS_CORETYPE=Zen .* its Zen kernels, which need "
                       r"avx2 instructions"):  # fmt: skip
        threads.check_forced_core()


@pytest.mark.parametrize("raw, want", [(b"Haswell  \n", "Haswell"), (b"  ", None), (b"", None)])
def test_blas_core_strips_openblas_padding(monkeypatch, raw, want):
    """Kills blas_core without `.strip()`: a padded name printed "OpenBLAS kernels Haswell  " in
    the bench head line, and a blank one counted as known."""

    def corename():
        return raw

    monkeypatch.setattr(threads, "openblas_libs", lambda: [types.SimpleNamespace(
        openblas_get_corename=corename)])  # fmt: skip
    assert threads.blas_core() == want


def test_no_note_where_the_kernel_family_that_runs_is_unknown(monkeypatch):
    """Kills `if core in AVX512_CORES` without `core is None or`: where OpenBLAS does not say
    which family runs, the note said "holds NumPy's OpenBLAS to its None kernels"."""
    _cpu(monkeypatch, "Haswell", None, {"avx2", "avx512f"})
    assert threads.forced_core_note() is None


def test_blas_threads_skips_an_environment_value_that_is_no_count(monkeypatch):
    """Kills the `.isdigit()` test dropped: OPENBLAS_NUM_THREADS=junk was int("junk"), a
    ValueError, where the next variable holds the count."""
    monkeypatch.setattr(threads, "openblas_libs", lambda: [])
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "junk")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.blas_threads() == 3


# --- dev_figures.py: the dev evaluation ----------------------------------------------------------


class _Model:
    def nll(self, batch):
        return 3.0, 2  # (summed NLL, tokens): loss 1.5 per token


class _Translator:
    """Translations that are the sources reversed; sources longer than 2 characters are long."""

    longest_source, source_unit = 2, "characters"

    def __init__(self, fail=False):
        self.fail = fail

    def as_output(self, text):
        return " ".join(text.split())  # the word tokenizer's normal form: single spaces

    def translate(self, sources):
        if self.fail:
            raise NoHypothesis(0)
        # as the API's own translate notes a long source
        warnings.warn(long_sources.LongSourceWarning("translate's own note"), stacklevel=2)
        return [types.SimpleNamespace(text=s[::-1], src_tokens=list(s)) for s in sources]


def _evaluator(monkeypatch, tokenizer="char", fail=False, **tcfg):
    monkeypatch.setattr(dev_figures, "batches", lambda examples, batch_size: [None])
    data = types.SimpleNamespace(dev=[("ab", "ba "), ("abcd", "dcba"), ("xy", "zz")],
                                 tokenizer=tokenizer)  # fmt: skip
    return dev_figures.dev_evaluator(data, _Translator(fail), TrainConfig(**tcfg), [])


def test_the_default_dev_size_above_the_dev_pairs_says_nothing(monkeypatch):
    """Kills the warning without `!= TrainConfig.dev_size`: the default 200 is not asked for, so
    3 dev pairs are decoded without a note (an asked-for 5 is noted: test_python_words)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _evaluator(monkeypatch)
    with pytest.warns(UserWarning, match="dev_size=5 asks for more than the 3 dev pairs"):
        _evaluator(monkeypatch, dev_size=5)


def test_long_dev_sources_are_named_once_and_translates_own_notes_never(monkeypatch):
    """Kills `noted.append(True)` dropped (dev pair 2 named at every evaluation) and the
    `simplefilter("ignore", LongSourceWarning)` around translate dropped (the API's per-call
    note let through beside the dev pairs' own), the references taken as written, not as the
    model's output spells them (translator.as_output), and the perplexity of one token, not of
    the mean. By hand: "ab" -> "ba" right against "ba " (as output "ba"), "abcd" -> "dcba"
    right, "xy" -> "yx" against "zz" wrong: exact match 2 / 3; loss 3 / 2, ppl exp(1.5)."""
    evaluate = _evaluator(monkeypatch)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        first = evaluate(_Model())
        evaluate(_Model())
    texts = [str(w.message) for w in said]
    assert len(texts) == 1 and texts[0].startswith("dev pair 2 has 4 characters"), texts
    assert first["loss"] == 1.5 and first["exact_match"] == pytest.approx(2 / 3)
    assert first["ppl"] == pytest.approx(math.exp(1.5))


@pytest.mark.parametrize("tokenizer, level", [("char", "char"), ("word", "13a")])
def test_dev_bleu_counts_characters_for_a_character_task(monkeypatch, tokenizer, level):
    """Kills `level = "13a"` whatever the tokenizer: a char task's outputs are one "word"
    each, so word 4-grams would not exist."""
    asked = []
    monkeypatch.setattr(dev_figures.metrics, "bleu", lambda h, r, lv: asked.append(lv) or 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _evaluator(monkeypatch, tokenizer, metric="bleu")(_Model())
    assert asked == [level]


def test_a_dev_decode_with_no_hypothesis_gives_nan_for_every_decoded_figure(monkeypatch):
    """Kills the NaN figures without tcfg.metric: with metric "bleu" the result lacked "bleu",
    which the trainer reads to stop on NaN figures (a KeyError instead)."""
    got = _evaluator(monkeypatch, fail=True, metric="bleu")(_Model())
    assert set(got) == {"loss", "ppl", "exact_match", "bleu"} and got["loss"] == 1.5
    assert math.isnan(got["exact_match"]) and math.isnan(got["bleu"])
