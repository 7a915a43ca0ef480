"""The checks of the attention layer's inputs and upstream gradients, apart from its math: which
parameters each score kind needs, and shapes and dtypes that agree, each refused with a message
that names the function, the argument and the shape it expected."""

from __future__ import annotations

from typing import Any

from minis2s import validate

WHERE = "attention"
SCORES = ("dot", "scaled_dot", "general", "concat", "additive")
PARAMS = {
    "dot": (),
    "scaled_dot": (),
    "general": ("W_a",),
    "concat": ("W_a", "v"),
    "additive": ("W_q", "W_k", "b", "v"),
}
# the parameters keys_forward uses, and those forward_with_keys uses (concat: W_a in both)
KEY_PARAMS = {"dot": (), "scaled_dot": (), "general": ("W_a",), "concat": ("W_a",),
              "additive": ("W_k", "b")}  # fmt: skip
QUERY_PARAMS = {"dot": (), "scaled_dot": (), "general": (), "concat": ("W_a", "v"),
                "additive": ("W_q", "v")}  # fmt: skip


def check_score(score: str) -> None:
    if score not in SCORES:
        raise ValueError(
            f"{WHERE}: unknown score kind {score!r}; choose one of {', '.join(SCORES)}"
        )


def need(where: str, p: dict[str, Any], names: tuple[str, ...], score: str) -> None:
    """p a dict that holds `names` (what the caller reads of it) as arrays, and nothing the score
    kind does not use: another kind's weights (p of "general" called as "dot") would go unread."""
    init = f"attention.init({score!r}, Hq, He, rng)"
    if not isinstance(p, dict):
        raise ValueError(
            f"{where}: p must be a dict of the score's parameters, as `{init}` makes it; got "
            f"{type(p).__name__}"
        )
    missing = [k for k in names if k not in p]
    if missing:
        raise ValueError(
            f"{where}: score {score!r} needs parameters {', '.join(names)}; "
            f"p lacks {', '.join(missing)}"
        )
    validate.unused(where, p, PARAMS[score], f"score {score!r}", init)
    for k in names:  # None or a list: an AttributeError of its .shape in the checks that follow
        validate.array(where, f"p[{k!r}]", p[k])


def _queries(where: str, q: Any, enc: Any, p: dict[str, Any], score: str, names: tuple) -> tuple:
    """The checks forward and forward_with_keys share: the score kind, its parameters `names`,
    q (N, Tq, Hq) and enc (N, S, He) of the same N; returns (N, Tq, Hq, S)."""
    check_score(score)
    need(where, p, names, score)
    validate.shape(where, "q", q, (None, None, None), "N, Tq, Hq")
    validate.shape(where, "enc", enc, (q.shape[0], None, None), "N, S, He")
    return (*q.shape, enc.shape[1])


def check_forward(q: Any, enc: Any, p: dict[str, Any], score: str) -> tuple[int, int]:
    """Validate q, enc against each other and against p; return (N, S)."""
    where = f"{WHERE}.forward"
    N, Tq, Hq, S = _queries(where, q, enc, p, score, PARAMS.get(score, ()))
    if score in ("dot", "scaled_dot"):
        validate.shape(where, "enc", enc, (N, None, Hq), "N, S, He = Hq")  # q . k needs He == Hq
    elif score == "general":
        validate.shape(where, "q", q, (N, None, p["W_a"].shape[0]), "N, Tq, Hq")
        validate.shape(where, "enc", enc, (N, None, p["W_a"].shape[1]), "N, S, He")
    elif score == "concat":
        validate.shape(where, "p['W_a']", p["W_a"], (None, Hq + enc.shape[2]), "A, Hq + He")
    else:
        validate.shape(where, "q", q, (N, None, p["W_q"].shape[1]), "N, Tq, Hq")
        validate.shape(where, "enc", enc, (N, None, p["W_k"].shape[1]), "N, S, He")
    dtype = p[PARAMS[score][0]].dtype if PARAMS[score] else None  # dot kinds: q's
    _floats(where, (("q", q), ("enc", enc)), dtype)
    if N == 0 or Tq == 0 or S == 0:
        raise ValueError(f"{where}: empty batch: N = {N}, Tq = {Tq}, S = {S}; each must be >= 1")
    return N, S


def _floats(where: str, arrays: tuple, dtype: Any) -> None:
    """Each (name, array) of `arrays` a float array of `dtype`, the parameters' dtype, or where
    None (no parameter is used: the dot kinds) of the first array's, which the message names."""
    (first_name, first), *rest = arrays
    validate.floating(where, first_name, first, dtype)
    for name, a in rest:
        if dtype is not None:
            validate.floating(where, name, a, dtype)
            continue
        validate.floating(where, name, a)
        if a.dtype != first.dtype:
            raise ValueError(
                f"{where}: {name} has dtype {a.dtype} but {first_name} is {first.dtype}; cast one "
                f"of them (e.g. {name}.astype({first.dtype}))"
            )


def check_keys(enc: Any, p: dict[str, Any], score: str) -> None:
    where = f"{WHERE}.keys_forward"
    check_score(score)
    need(where, p, KEY_PARAMS[score], score)
    W = p.get("W_k", p.get("W_a"))  # the matrix applied to enc; None for the dot kinds
    validate.shape(where, "enc", enc, (None, None, None), "N, S, He")
    if score in ("general", "additive"):
        validate.shape(where, "enc", enc, (None, None, W.shape[1]), "N, S, He")
    elif score == "concat" and enc.shape[2] >= W.shape[1]:
        raise ValueError(f"{where}: enc has shape {enc.shape}, expected (N, S, He) with He < "
                         f"{W.shape[1]}, as W_a is (A, Hq + He) = {W.shape}")  # fmt: skip
    validate.floating(where, "enc", enc, None if W is None else W.dtype)
    if enc.shape[0] == 0 or enc.shape[1] == 0:
        raise ValueError(f"{where}: empty batch: enc has shape {enc.shape}; N, S must be >= 1")


def check_query(q: Any, keys: Any, enc: Any, p: dict[str, Any], score: str) -> tuple[int, int]:
    """Validate forward_with_keys's q, keys, enc against each other and against p; return (N, S).
    The numba twin checks its inputs with it too. A decoder calls it at every step, so the usual
    case costs a few compares; anything else gets the checks that name what is wrong."""
    where = f"{WHERE}.forward_with_keys"
    try:
        N, Tq, Hq = q.shape
        S, He = enc.shape[1:]
        dtype = p["v"].dtype if "v" in p else q.dtype
        Hk = p["v"].shape[0] if "v" in p else Hq  # A for the tanh kinds
        if (
            isinstance(p, dict) and len(p) == len(PARAMS[score])
            and all(k in p for k in QUERY_PARAMS[score]) and enc.shape[0] == N
            and (score != "concat" or p["W_a"].ndim == 2 and p["W_a"].shape[1] == Hq + He)
            and (score != "additive" or p["W_q"].shape[1] == Hq)
            and keys.shape == (N, S, Hk) and dtype.kind == "f"
            and q.dtype == keys.dtype == enc.dtype == dtype and N > 0 and Tq > 0 and S > 0
        ):  # fmt: skip
            return N, S  # the usual case
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        pass  # named below
    N, Tq, Hq, S = _queries(where, q, enc, p, score, QUERY_PARAMS.get(score, ()))
    if score == "concat":
        validate.shape(where, "p['W_a']", p["W_a"], (None, Hq + enc.shape[2]), "A, Hq + He")
    elif score == "additive":
        validate.shape(where, "q", q, (N, None, p["W_q"].shape[1]), "N, Tq, Hq")
    Hk = p["v"].shape[0] if "v" in p else Hq  # A for the tanh kinds
    validate.shape(where, "keys", keys, (N, S, Hk), "N, S, Hk")
    _floats(where, (("q", q), ("keys", keys), ("enc", enc)), p["v"].dtype if "v" in p else None)
    if N == 0 or Tq == 0 or S == 0:
        raise ValueError(f"{where}: empty batch: N = {N}, Tq = {Tq}, S = {S}; each must be >= 1")
    return N, S


def check_grads(where: str, cache: Any, **grads: Any) -> None:
    """Check upstream gradients against the forward pass (`cache`, a QueryCache) before any
    product broadcasts them into a wrong result: dcontext (N, Tq, He), dweights (N, Tq, S) or
    None, ds (N, Tq, S), all in the dtype of the weights."""
    (N, Tq, S), He, dtype = cache.w.shape, cache.enc.shape[2], cache.w.dtype
    for name, g in grads.items():
        if name == "dcontext":
            validate.gradient(where, name, g, (N, Tq, He), "N, Tq, He", dtype)
        elif g is not None or name == "ds":  # dweights may be None
            validate.gradient(where, name, g, (N, Tq, S), "N, Tq, S", dtype)


def query_mask(mask: Any, N: int, S: int, dtype: Any, checked: bool) -> Any:
    """The (N, S) float mask of forward_with_keys: checked here, or only its shape and dtype when
    the caller has checked its values (`mask_checked`)."""
    where = f"{WHERE}.forward_with_keys"
    if not checked or mask is None:
        return validate.mask(where, mask, N, S, dtype)
    if getattr(mask, "shape", None) == (N, S) and getattr(mask, "dtype", None) == dtype:
        return mask  # the usual case, at every step of a decoder: what validate.mask returned
    validate.shape(where, "mask", mask, (N, S), "N, S")
    validate.floating(where, "mask", mask, dtype)
    return mask
