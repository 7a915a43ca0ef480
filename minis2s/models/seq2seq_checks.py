"""What a Seq2Seq refuses before any layer runs, apart from the model's composition
(seq2seq.py): a cfg that is no ModelConfig or a dtype other than float32 and float64
(`check_config`), a seed that is no integer >= 0 (`check_seed`), a config too large for memory
(`check_fits`), parameters that do not match the config (`check_params`) or are not the current
backend's arrays (`check_backend`), a batch that is no Batch, has a source row of only padding,
or whose tgt_mask disagrees with tgt_out's padding (`check_batch`), a sampling_eps out of [0, 1]
or without an rng (`check_sampling`), and a source to encode of the wrong shape or ids
(`check_source`). Each message starts with "Seq2Seq", the class the user called.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minis2s import backend, validate
from minis2s.data.vocab import PAD_ID
from minis2s.models.config import ModelConfig
from minis2s.models.params import shapes

BATCH_FIELDS = ("src", "src_mask", "tgt_in", "tgt_out", "tgt_mask")  # a Batch's arrays


def check_config(cfg: Any, dtype: Any) -> None:
    """ValueError unless cfg is a ModelConfig and dtype float32 or float64 (a name, a type or an
    np.dtype)."""
    if not isinstance(cfg, ModelConfig):
        raise ValueError(
            f"Seq2Seq: cfg must be a ModelConfig; got {type(cfg).__name__} (a dict d of its "
            "fields: ModelConfig(**d), or ModelConfig.from_dict(d))"
        )
    # np.dtype(None) was float64, np.dtype(3) NumPy's TypeError
    if dtype not in ("float32", "float64", np.float32, np.float64):
        name = dtype.__name__ if isinstance(dtype, type) else dtype
        raise ValueError(
            f"Seq2Seq: dtype {name!r:.40} is not supported; use float32 (the default) or float64"
        )


def check_seed(seed: Any) -> None:
    """ValueError unless the seed of a new model's weights is an integer >= 0."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"Seq2Seq: seed must be an integer >= 0; got {seed!r}")


def check_fits(cfg: ModelConfig, dtype: np.dtype) -> None:
    """ValueError for a model too large for this machine's memory, before a weight is drawn:
    hidden 10**12 was NumPy's MemoryError, enc_layers 10**12 built a layer at a time for ever.
    The least it needs: an H x H matrix a layer, and the (V, H) output layer."""
    H, layers = cfg.hidden, cfg.enc_layers + cfg.dec_layers
    validate.fits(
        "Seq2Seq",
        f"cfg's enc_layers {cfg.enc_layers}, dec_layers {cfg.dec_layers}, hidden {H} and "
        f"tgt_vocab {cfg.tgt_vocab}",
        (layers * H * H + cfg.tgt_vocab * H) * dtype.itemsize,
    )


def check_params(params: Any, cfg: ModelConfig, dtype: np.dtype) -> None:
    """ValueError unless `params` is a dict of exactly the parameters `cfg` makes (their dotted
    names), each an array of the shape the config gives it and of the model's `dtype`."""
    if not isinstance(params, dict):
        got = type(params).__name__
        raise ValueError(f"Seq2Seq: params must be a dict of arrays by name; got {got}")
    want = shapes(cfg)
    missing, extra = sorted(set(want) - set(params)), sorted(set(params) - set(want))
    if missing or extra:
        raise ValueError(
            f"Seq2Seq: parameters do not match the config (missing {missing}, unexpected "
            f"{extra}); was this checkpoint trained with another config?"
        )
    for k, s in want.items():
        validate.array("Seq2Seq", f"parameter {k}", params[k])
        if tuple(params[k].shape) != s:
            raise ValueError(
                f"Seq2Seq: parameter {k} has shape {tuple(params[k].shape)}, expected "
                f"{s} by the config; was this checkpoint trained with another config?"
            )
    for k in want:  # after the shapes: a checkpoint of another config is told as such
        if params[k].dtype != dtype:
            raise ValueError(
                f"Seq2Seq: parameter {k} has dtype {params[k].dtype}, the model "
                f"{dtype.name}; pass dtype={params[k].dtype.name!r} or cast the "
                "parameters"
            )


def check_backend(params: dict[str, Any]) -> None:
    """ValueError unless the parameters are arrays of the current backend: a model built
    before `backend.use(...)` holds the other backend's, which CuPy would refuse deep inside
    the first GEMM."""
    be = backend.current()
    on_gpu = backend.is_device_array(next(iter(params.values())))
    if on_gpu == (be.xp is not np):
        return
    have, move = ("cupy", "backend.to_numpy(v)") if on_gpu else ("NumPy", "be.asarray(v)")
    raise ValueError(
        f"Seq2Seq: the model's parameters are {have} arrays but the backend is {be.name}: "
        "build the model after backend.use(...) (Translator.load and pipeline.train build it "
        "on the current backend), or move them: Seq2Seq(model.cfg, {k: "
        f"{move} for k, v in model.params.items()}}, dtype=model.dtype) with "
        "be = backend.current()"
    )


def check_batch(batch: Any) -> None:
    """ValueError unless `batch` is a Batch (its fields BATCH_FIELDS, a NamedTuple's _replace)
    with a token in every source row (`check_source_mask`) and whose tgt_mask agrees with its
    tgt_out (`check_target_mask`)."""
    fields = BATCH_FIELDS
    if not all(hasattr(batch, f) for f in fields) or not hasattr(batch, "_replace"):
        raise ValueError(
            f"Seq2Seq: batch must be a minis2s.data.batching.Batch (make_batch or batches make "
            f"one, with fields {', '.join(fields)}); got {type(batch).__name__}"
        )
    check_source_mask(batch)
    check_target_mask(batch)


def check_source_mask(batch: Any) -> None:
    """ValueError for a row of batch.src_mask that is all 0, a sentence with no source token:
    the encoder keeps h0 for it and the attention has nothing to read, so its loss was a number
    that meant nothing, where decoding refuses the row (`decode.common.length_limits`).
    make_batch refuses an empty source, so only a hand-built mask has one. Checked on host
    arrays only: on the GPU the reduction would wait for the device."""
    m = batch.src_mask
    if type(m) is not np.ndarray or m.ndim != 2:
        return  # stack.forward names a src_mask of another shape
    empty = np.flatnonzero(~(m != 0).any(axis=1))
    if empty.size:
        n = int(empty[0])
        raise ValueError(
            f"Seq2Seq: row {n} of batch.src_mask is all padding: sentence {n} has no source "
            "token, which the model cannot read; each sentence needs at least one token: leave "
            "the empty ones out (make_batch refuses an empty source)"
        )


def check_target_mask(batch: Any) -> None:
    """ValueError unless batch.tgt_mask is 1 exactly where tgt_out holds a token: the loss reads
    the padding from tgt_out's <pad> ids alone, so a hand-built mask that said otherwise was
    ignored without a word (and batch.n_tokens, which counts the mask, disagreed with the loss).
    Checked on host arrays only: on the GPU the comparison would wait for the device."""
    m, t = batch.tgt_mask, batch.tgt_out
    if not (type(m) is np.ndarray and type(t) is np.ndarray):
        return
    if m.shape != t.shape or not np.array_equal(m != 0, t != PAD_ID):
        raise ValueError(
            f"Seq2Seq: batch.tgt_mask {m.shape} is not 1 exactly where batch.tgt_out {t.shape} "
            f"holds a token and 0 where it holds <pad> (id {PAD_ID}); the loss reads padding "
            "from tgt_out: pad it with PAD_ID and give tgt_mask = (tgt_out != PAD_ID), as "
            "minis2s.data.batching's make_batch and batches do"
        )


def check_sampling(sampling_eps: float, rng: Any) -> None:
    """ValueError unless sampling_eps, the probability of feeding back the model's own token, is
    in [0, 1], and comes with an rng to draw from when it is above 0."""
    if not 0.0 <= sampling_eps <= 1.0:
        raise ValueError(
            f"Seq2Seq: sampling_eps is the probability of feeding back the model's own token, "
            f"in [0, 1]; got {sampling_eps}"
        )
    if sampling_eps > 0 and rng is None:
        raise ValueError(
            f"Seq2Seq: sampling_eps={sampling_eps} draws which tokens to feed back, so it "
            "needs rng (np.random.default_rng(seed)); without rng the pass is deterministic"
        )


def check_source(src: Any, src_mask: Any, cfg: ModelConfig, dtype: np.dtype) -> tuple[Any, Any]:
    """(src, src_mask) of `Seq2Seq.encode` on the current backend, checked: src (N, S) ids in
    [0, src_vocab), or (N, S, F) features in `dtype`, and src_mask (N, S) of 0/1 in `dtype`. The
    decoding steps trust these checks (decoder.step_forward)."""
    be = backend.current()
    src = be.asarray(src, dtype=dtype if cfg.src_features > 0 else None)
    if cfg.src_features > 0:
        validate.shape("Seq2Seq.encode", "src", src, (None, None, cfg.src_features), "N, S, F")
    else:
        validate.shape("Seq2Seq.encode", "src", src, (None, None), "N, S")
        validate.token_ids("Seq2Seq.encode", "src", src, cfg.src_vocab)
    N, S = src.shape[:2]
    return src, validate.mask("Seq2Seq.encode", be.asarray(src_mask), N, S, dtype)
