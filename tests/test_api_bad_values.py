"""Every argument of the Python API a user calls, given a bad value, is refused with a ValueError
or TypeError raised by minis2s's own check and naming the argument (an OSError naming a path; a
size too large for memory, validate.TooLarge): never an AttributeError or IndexError from deep
inside NumPy or the stdlib, a hang, or a run on a value that means nothing (NaN as a momentum).
The cases come from the signatures (and the configs' fields), so a new parameter is covered, or
this test fails until it is given bad values in TARGETS; NumPy's scalars are accepted wherever a
Python number is."""

from __future__ import annotations

import dataclasses
import inspect
import math
import signal
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from minis2s import backend, decode, metrics, pipeline, scoring, validate
from minis2s._decoding_checks import OPTIONS
from minis2s.api import Translator
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
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.train import optim
from minis2s.train.config import TrainConfig
from minis2s.train.grad_norm import clip_grad_norm
from tests.tiny_run import train_tiny

NAN, INF = math.nan, math.inf
LAYER_MODULES = {m.__name__.rsplit(".", 1)[1]: m
                 for m in (lstm, gru, rnn, stack, linear, embedding, softmax, attention, loss,
                           dropout)}  # fmt: skip

# The bad values of a parameter, by its annotation (None is added where None is not allowed).
VALUES = {
    "int": [-1, 0, 2.5, NAN, INF, 10**12, True, "3"],
    "float": [-1.0, 0.0, NAN, INF, -INF, True, "0.5"],
    "bool": ["no", 1, 0],
    "str": ["", " ", "nonesuch", 3],
}
# What must be accepted wherever a Python int / float / bool is.
NUMPY = {"int": np.int64(2), "float": np.float32(0.5), "bool": np.bool_(True)}


@dataclasses.dataclass
class Target:
    """A callable of the API, the keyword arguments of a call of it that works (given the
    fixtures), and per parameter: values it may accept of those VALUES lists (allowed), its own
    bad values for annotations that VALUES does not know (bad), the arguments it needs beside a
    value to reach that value's check (needs), and other words a message may name it by."""

    call: Callable[[dict], Callable]
    base: Callable[[dict], dict]
    signature: Callable[[], inspect.Signature]
    allowed: dict[str, list] = dataclasses.field(default_factory=dict)
    bad: dict[str, list] = dataclasses.field(default_factory=dict)
    needs: dict[str, dict] = dataclasses.field(default_factory=dict)
    names: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    skip: dict[str, str] = dataclasses.field(default_factory=dict)  # parameter -> why
    numpy: dict[str, Any] = dataclasses.field(default_factory=dict)  # a NumPy scalar it takes


def sig(f: Callable) -> Callable[[], inspect.Signature]:
    return lambda: inspect.signature(f)


MODEL = {"src_vocab": 10, "tgt_vocab": 10, "emb": 8, "hidden": 8}
ZERO = [0, 0.0, -1.0 * 0]
SOURCES_BAD = ["123", (s for s in ["123"]), [["1", "2"]], [3], [None], None]
PAIRS_BAD = [[], "12", ("12", "21"), (p for p in [("12", "21")]), [("12",)], [("12", 3)],
             [(3, "21")], [("", "21")], None]  # fmt: skip


def translator(w: dict) -> Translator:
    return w["tr"]


TARGETS: dict[str, Target] = {
    "ModelConfig": Target(
        call=lambda w: ModelConfig,
        base=lambda w: dict(MODEL),
        signature=sig(ModelConfig),
        allowed={
            "src_vocab": [-1, 0, 10**12],  # read only without src_features: below
            "tgt_vocab": [10**12],
            "emb": [10**12],
            "hidden": [10**12],
            "enc_layers": [10**12],
            "dec_layers": [10**12],  # Seq2Seq refuses what cannot fit
            "src_features": [0, 10**12],
            "forget_bias": [-1.0, *ZERO],
            "dropout": ZERO,
        },  # fmt: skip
        numpy={"tgt_vocab": np.int64(12)},
        needs={"src_vocab": {"src_features": 0}, "attention": {"input_feed": False}},
    ),
    "TrainConfig": Target(
        call=lambda w: TrainConfig,
        base=lambda w: {},
        signature=sig(TrainConfig),
        allowed={
            **dict.fromkeys(
                [
                    "epochs",
                    "dev_size",
                    "batch_size",
                    "tokens_per_batch",
                    "accum_steps",
                    "patience",
                    "max_steps",
                    "eval_every",
                    "keep_checkpoints",
                    "seed",
                    "lr_patience",
                    "warmup_steps",
                    "sampling_steps",
                ],
                [10**12],
            ),
            **dict.fromkeys(
                [
                    "batch_size",
                    "tokens_per_batch",
                    "patience",
                    "max_steps",
                    "eval_every",
                    "keep_checkpoints",
                    "seed",
                    "lr_patience",
                ],
                [0, 10**12],
            ),
            **dict.fromkeys(
                [
                    "weight_decay",
                    "momentum",
                    "clip",
                    "min_lr",
                    "label_smoothing",
                    "teacher_forcing",
                ],
                ZERO,
            ),
        },  # fmt: skip
        needs={
            "batch_size": {"tokens_per_batch": 0},
            "tokens_per_batch": {"batch_size": 0},
            "momentum": {"optimizer": "sgd"},
            "nesterov": {"optimizer": "sgd", "momentum": 0.9},
            "lr_decay": {"lr_schedule": "exponential"},
            "warmup_steps": {"lr_schedule": "warmup"},
            "sampling_k": {"teacher_forcing": 0.5, "sampling_schedule": "inverse_sigmoid"},
            "sampling_steps": {"teacher_forcing": 0.5, "sampling_schedule": "linear"},
            "sampling_schedule": {"teacher_forcing": 0.5},
        },
        numpy={"min_lr": np.float32(1e-4), "sampling_k": np.float32(2.0)},
    ),
}


class Derived:
    """A bad value made at call time from the fixtures (`world`) and the base call's value of
    the parameter (`base`): a path of the test's, an array of another shape or dtype."""

    def __init__(self, label: str, make: Callable[[dict, Any], Any]) -> None:
        self.label, self.make = label, make

    def __repr__(self) -> str:
        return self.label


MISSING = Derived("MISSING", lambda w, b: str(w["root"] / "missing"))
FILE = Derived("FILE", lambda w, b: str(w["root"] / "file.txt"))
DIR = Derived("DIR", lambda w, b: str(w["root"] / "dir"))
PATHS = [MISSING, FILE, DIR, "", " ", 3, None]
IN_A_LIST = Derived("[MISSING]", lambda w, b: [str(w["root"] / "missing")])


def arrays(*, floats: bool = True) -> list[Derived]:
    """The bad forms of the base call's array: another number of dimensions, a list, and the
    dtypes it must refuse (ints for floats, float16, objects; floats for ids)."""
    out = [Derived("one more dim", lambda w, b: b[..., None]),
           Derived("one dim fewer", lambda w, b: b[0]),
           Derived("a list", lambda w, b: b.tolist()),
           Derived("object dtype", lambda w, b: b.astype(object))]  # fmt: skip
    if floats:
        out += [Derived("int dtype", lambda w, b: b.astype(np.int64)),
                Derived("float16", lambda w, b: b.astype(np.float16))]  # fmt: skip
    else:
        out += [Derived("float dtype", lambda w, b: b.astype(np.float64)),
                Derived("an id >= V", lambda w, b: b + 1000),
                Derived("a negative id", lambda w, b: b - 1000)]  # fmt: skip
    return out


MASKS = [*arrays(), Derived("NaN in the mask", lambda w, b: np.where(b > 0, np.nan, b)),
         Derived("a 2 in the mask", lambda w, b: b * 2)]  # fmt: skip
COUNTS = {"hyps": ["hypotheses"], "refs": ["references"]}  # "2 hypotheses for 1 references"
SRC = np.array([[4, 5, 6], [6, 5, 4]])
DECODE = {"beam_size": {"beam_size": 2}, "nbest": {"beam_size": 2},
          "length_penalty": {"beam_size": 2}, "alpha": {"length_penalty": "gnmt"}}  # fmt: skip


def data_of(w: dict):
    if "data" not in w:
        w["data"] = pipeline.load_data(task="reverse-digits", train_size=32)
    return w["data"]


def model_of(w: dict) -> Seq2Seq:
    if "model" not in w:
        w["model"] = Seq2Seq(ModelConfig(**MODEL))
    return w["model"]


def decode_base(w: dict) -> dict:
    return {"model": model_of(w), "src": SRC, "src_mask": np.ones(SRC.shape)}


def params_of(w: dict) -> dict:
    return {"W": np.ones((2, 3), np.float32)}


TARGETS |= {
    "pipeline.load_data": Target(
        call=lambda w: pipeline.load_data,
        base=lambda w: {"task": "reverse-digits", "train_size": 32},
        signature=sig(pipeline.load_data),
        bad={
            "task": ["", " ", "nonesuch", 3],
            "data": [MISSING, DIR, "", 3, ["a"], ("a", "b", "c")],
            "dev_data": [MISSING, DIR, 3],
            "test_data": [MISSING, DIR, 3],
            "tokenizer": ["", "nonesuch", 3],
            "vocabs": ["x", (None,), (None, None)],
        },  # fmt: skip
        allowed={
            "train_size": [10**12],
            "min_freq": [10**12],
            "max_vocab": [10**12],
            "max_len": [10**12],
            "seed": [0, 10**12],
            "bpe_merges": [0, 10**12],
        },
        numpy={"max_vocab": np.int64(20), "max_len": np.int64(20), "cli": np.bool_(False)},
        needs={
            n: {"task": None, "data": FILE}
            for n in (
                "data",
                "dev_data",
                "test_data",
                "tokenizer",
                "max_len",
                "min_freq",
                "max_vocab",
                "bpe_merges",
                "share_vocab",
                "vocabs",
            )
        }  # fmt: skip
        | {"bpe_merges": {"task": None, "data": FILE, "tokenizer": "bpe"}},
        names={
            "data": ["corpus"],
            "dev_data": ["corpus"],
            "test_data": ["corpus"],
            "task": ["task"],
        },  # fmt: skip
    ),
    "Translator": Target(
        call=lambda w: Translator,
        base=lambda w: {
            "model": w["tr"].model,
            "src_vocab": w["tr"].src_vocab,
            "tgt_vocab": w["tr"].tgt_vocab,
            "tokenizer": w["tr"].tokenizer,
            "config": w["tr"].config,
        },
        signature=sig(Translator),
        bad={
            "model": [None, "x", Derived("its ModelConfig", lambda w, b: b.cfg)],
            **dict.fromkeys(
                ["src_vocab", "tgt_vocab"],
                [
                    None,
                    "0123",
                    Derived("its tokens", lambda w, b: b.tokens),
                    Derived("another size", lambda w, b: type(b)(b.tokens[5:])),
                ],
            ),
            "tokenizer": ["", "nonesuch", 3, None],
            "config": ["x", [], 3],
        },
    ),
    "Translator.load": Target(
        call=lambda w: Translator.load,
        base=lambda w: {"path": w["run"]},
        signature=sig(Translator.load),
        bad={"path": PATHS},
    ),
    "Translator.load_ensemble": Target(
        call=lambda w: Translator.load_ensemble,
        base=lambda w: {"paths": [w["run"], w["run"]]},
        signature=sig(Translator.load_ensemble),
        bad={
            "paths": [
                [],
                Derived("one path", lambda w, b: b[0]),
                IN_A_LIST,
                None,
                [3],
                Derived("a generator", lambda w, b: (p for p in b)),
            ]
        },  # fmt: skip
    ),
    "Translator.translate": Target(
        call=lambda w: w["tr"].translate,
        base=lambda w: {"sources": ["123"]},
        signature=sig(Translator.translate),
        bad={
            "sources": SOURCES_BAD,
            "phrase_table": ["x", {"1": 3}, {3: "1"}, [("1", "2")]],
            "places": [[-1], [1.5], "0", [0, 0], [np.nan]],
        },  # fmt: skip
        allowed={"batch_size": [10**12], "seed": [0, 10**12]},
        needs={
            "seed": {"method": "sample"},
            "places": {"method": "sample"},  # its values' check (greedy refuses any places)
            "nbest": {"method": "beam"},
            "phrase_table": {"replace_unk": True},
        },  # fmt: skip
    ),
    "Translator.evaluate": Target(
        call=lambda w: w["tr"].evaluate,
        base=lambda w: {"pairs": [("123", "321")]},
        signature=sig(Translator.evaluate),
        bad={"pairs": [*PAIRS_BAD, [("123", "")]]},  # an empty reference (score takes one)
        names={"pairs": ["sources["]},  # a pair's source, refused as translate's
        allowed={"by_length": [10**12]},
    ),
    "Translator.evaluate_translations": Target(
        call=lambda w: w["tr"].evaluate_translations,
        base=lambda w: {"pairs": [("123", "321")], "translations": w["tr"].translate(["123"])},
        signature=sig(Translator.evaluate_translations),
        bad={
            "pairs": [*PAIRS_BAD, [("123", "")]],
            "translations": [[], None, ["321"], "321"],
        },  # fmt: skip
        names={"pairs": ["sources["]},  # a pair's source, read as translate reads it
        allowed={"by_length": [10**12]},
    ),
    "Translator.score": Target(
        call=lambda w: w["tr"].score,
        base=lambda w: {"pairs": [("123", "321")]},
        signature=sig(Translator.score),
        bad={"pairs": PAIRS_BAD},
        names={"pairs": ["sources["]},  # a pair's source, refused as translate's
        allowed={"batch_size": [10**12]},
    ),
    "Translator.as_output": Target(
        call=lambda w: w["tr"].as_output,
        base=lambda w: {"reference": "321"},
        signature=sig(Translator.as_output),
        bad={"reference": [None, 3, ["3"]]},
    ),
    "metrics.exact_match": Target(
        call=lambda w: metrics.exact_match,
        base=lambda w: {"hyps": ["a"], "refs": ["a"]},
        signature=sig(metrics.exact_match),
        bad=dict.fromkeys(["hyps", "refs"], [[], "a", None, ["a", "b"], (x for x in "a")]),
        names=COUNTS,
    ),
    "metrics.exact_match_by_length": Target(
        call=lambda w: metrics.exact_match_by_length,
        base=lambda w: {"src_lengths": [2], "hyps": ["a"], "refs": ["a"], "width": 2},
        signature=sig(metrics.exact_match_by_length),
        bad={
            "src_lengths": [[], [0], [-1], [1.5], ["2"], None, [2, 3]],
            **dict.fromkeys(["hyps", "refs"], [[], "a", None, ["a", "b"]]),
        },  # fmt: skip
        names=COUNTS,
        allowed={"width": [10**12]},
    ),
    "metrics.token_accuracy": Target(
        call=lambda w: metrics.token_accuracy,
        base=lambda w: {"hyp_ids": [[1, 2]], "ref_ids": [[1, 2]]},
        signature=sig(metrics.token_accuracy),
        bad=dict.fromkeys(["hyp_ids", "ref_ids"], [[], "a", None, [[1], [2]], [[[1]]]]),
        names={"hyp_ids": ["hyps", "hypotheses"], "ref_ids": ["refs", "references"]},
        allowed={"pad_id": [-1, 0, 10**12]},
    ),
    "metrics.perplexity": Target(
        call=lambda w: metrics.perplexity,
        base=lambda w: {"total_nll": 1.0, "n_tokens": 2},
        signature=sig(metrics.perplexity),
        allowed={"total_nll": [*ZERO, NAN, INF], "n_tokens": [10**12]},  # nan: a diverged run's
    ),
    "metrics.bleu": Target(
        call=lambda w: metrics.bleu,
        base=lambda w: {"hyps": ["a b"], "refs": ["a b"]},
        signature=sig(metrics.bleu),
        bad=dict.fromkeys(["hyps", "refs"], [[], "a", None, ["a", "b"], [3]]),
        names=COUNTS,
        allowed={"chunk": [10**12]},
    ),
    "metrics.chrf": Target(
        call=lambda w: metrics.chrf,
        base=lambda w: {"hyps": ["a b"], "refs": ["a b"]},
        signature=sig(metrics.chrf),
        bad=dict.fromkeys(["hyps", "refs"], [[], "a", None, ["a", "b"], [3]]),
        names=COUNTS,
        allowed={"chunk": [10**12]},
    ),
    "scoring.summarize": Target(
        call=lambda w: scoring.summarize,
        base=lambda w: {"scores": w["tr"].score([("123", "321")])},
        signature=sig(scoring.summarize),
        bad={"scores": [[], None, "x", [3], (s for s in [])]},
    ),
    "backend.use": Target(
        call=lambda w: backend.use,
        base=lambda w: {"name": "numpy"},
        signature=sig(backend.use),
        names={"name": ["backend"]},
    ),
    "Seq2Seq": Target(
        call=lambda w: Seq2Seq,
        base=lambda w: {"cfg": ModelConfig(**MODEL)},
        signature=sig(Seq2Seq),
        bad={
            "cfg": [
                None,
                dict(MODEL),
                ModelConfig(**MODEL | {"hidden": 10**12}),
                ModelConfig(**MODEL | {"enc_layers": 10**12}),
            ],
            "params": [
                {},
                "x",
                {"nonesuch": np.ones(1)},
                Derived(
                    "a wrong shape",
                    lambda w, b: model_of(w).params | {"dec.out.b": np.ones(3, np.float32)},
                ),
            ],
            "dtype": ["float16", np.int32, "nonesuch", None, 3],
        },  # fmt: skip
        allowed={"seed": [0, 10**12]},
        names={"params": ["parameters"]},
    ),
    **{
        f"decode.{f.__name__}": Target(
            call=lambda w, f=f: f,
            base=lambda w, f=f: (
                decode_base(w) | ({"rng": np.random.default_rng(0)} if f is decode.sample else {})
            ),
            signature=sig(f),
            bad={
                "model": [None, "x", ModelConfig(**MODEL)],
                "rng": [None, 3, "x"],
                "src": [a for a in arrays(floats=False) if a.label != "a list"],
                "src_mask": [a for a in MASKS if a.label in ("one more dim", "one dim fewer")]
                + MASKS[-2:],
            },  # fmt: skip
            allowed={
                "max_len_a": [*ZERO],
                "max_len_b": [0, 2.5, 10**12],
                "top_k": [0, 10**12],
                "alpha": [-1.0, *ZERO],
                "beta": ZERO,
            },  # fmt: skip
            needs=DECODE,
            names={"src_mask": ["mask"], "max_len_a": ["max length a"], "max_len_b": ["+ b"]},
        )
        for f in (decode.greedy, decode.beam_search, decode.sample)
    },
    **{
        f"optim.{c.__name__}": Target(
            call=lambda w, c=c: c,
            base=lambda w, c=c: {"params": params_of(w)} | ({"lr": 0.1} if c is optim.SGD else {}),
            signature=sig(c),
            bad={
                "params": [{}, None, "x", {"W": [1.0]}, {"W": np.ones(2, np.int64)}],
                "betas": [(0.9,), (1.0, 0.9), (NAN, 0.9), "ab", None],
            },  # fmt: skip
            allowed={
                "weight_decay": ZERO,
                "momentum": ZERO,
                "initial_accumulator_value": ZERO,
                "lr": ZERO,
            },  # fmt: skip
            needs={"nesterov": {"momentum": 0.9}},
        )
        for c in (optim.SGD, optim.Adam, optim.AdamW, optim.Adagrad)
    },
    "clip_grad_norm": Target(
        call=lambda w: clip_grad_norm,
        base=lambda w: {"grads": params_of(w), "max_norm": 1.0},
        signature=sig(clip_grad_norm),
        bad={"grads": [None, "x", {"W": [1.0]}, {}, {"W": np.ones(2, np.int64)}]},
        allowed={"max_norm": [INF]},  # no clipping
    ),
}
# translate's **options: those of each method (OPTIONS), typed by the decoding function's own
# parameter of that name, called through translate.
DECODERS = {"greedy": decode.greedy, "beam": decode.beam_search, "sample": decode.sample}
TARGETS |= {
    f"translate(method={m!r})": Target(
        call=lambda w: w["tr"].translate,
        base=lambda w, m=m: {"sources": ["123"], "method": m},
        signature=lambda m=m: inspect.Signature(
            [inspect.signature(DECODERS[m]).parameters[o] for o in OPTIONS[m]]
        ),
        allowed=TARGETS["decode.beam_search"].allowed,
        needs=DECODE,
        names={"max_len_a": ["max-len-a", "max length a"], "max_len_b": ["max-len-b", "+ b"]},
    )
    for m in OPTIONS
}
RUNS = iter(range(10**6))


def new_run(w: dict) -> str:
    return str(w["root"] / f"new-run-{next(RUNS)}")


TARGETS["pipeline.train"] = Target(
    call=lambda w: pipeline.train,
    base=lambda w: {
        "data": data_of(w),
        "model_options": {"hidden": 8, "emb": 8},
        "tcfg": TrainConfig(epochs=1, dev_size=8),
        "out_dir": new_run(w),
        "progress": False,
    },  # fmt: skip
    signature=sig(pipeline.train),
    bad={
        "data": [None, "reverse-digits", [("12", "21")]],
        "model_options": [None, "x", {"nonesuch": 1}, {"hidden": -1}, {"hidden": NAN}],
        "tcfg": [None, {"epochs": 1}, "x"],
        "out_dir": [FILE, "", " ", 3, None],
        "dtype": ["float16", "nonesuch", "", 3],
        "src_vectors": [MISSING, DIR, "", 3],
        "tgt_vectors": [MISSING, DIR, "", 3],
        "init_from": [MISSING, FILE, DIR, "", 3],
    },  # fmt: skip
    names={
        "model_options": ["ModelConfig", "hidden"],
        "tcfg": ["TrainConfig"],
        "src_vectors": ["vectors"],
        "tgt_vectors": ["vectors"],
        "init_from": ["init-from"],
        "dtype": ["float16", "nonesuch", "''", "3"],
    },  # fmt: skip
    numpy={"resume": np.bool_(False), "cli": np.bool_(False), "progress": np.bool_(False)},
)


def test_nesterov_without_momentum_is_refused_by_the_config_not_mid_run():
    """SGD refused it once the trainer built the optimizer, after the run directory was made."""
    with pytest.raises(ValueError, match="TrainConfig: nesterov=True needs momentum > 0"):
        TrainConfig(optimizer="sgd", nesterov=True)


def test_translate_refuses_an_unknown_option_naming_it(world):
    with pytest.raises(ValueError, match="beam is not an option of method='greedy'"):
        world["tr"].translate(["123"], beam=2)


# The layers' forward passes (README: "Every differentiable piece is a pair of pure functions"),
# on float64 arrays of N = 2, T = 3, D = 4, H = 5, V = 7; a parameter dict's bad values are
# PARAMS, an array's `arrays()` (a mask's MASKS), with the forms a layer may take listed allowed.
def layer_world(w: dict) -> dict:
    if "layers" not in w:
        r = np.random.default_rng(0)
        f64 = lambda p: {k: v.astype(np.float64) for k, v in p.items()}  # noqa: E731
        w["layers"] = {
            "x": r.standard_normal((2, 3, 4)), "h0": np.zeros((2, 5)), "mask": np.ones((2, 3)),
            "ids": np.array([[1, 2, 3], [4, 5, 6]]), "enc": r.standard_normal((2, 3, 5)),
            "q": r.standard_normal((2, 1, 5)), "logits": r.standard_normal((6, 7)),
            "lstm": f64(lstm.init(4, 5, r)), "gru": f64(gru.init(4, 5, r)),
            "rnn": f64(rnn.init(4, 5, r)), "linear": f64(linear.init(4, 5, r)),
            "embedding": f64(embedding.init(7, 4, r)),
            "attention": f64(attention.init("general", 5, 5, r)),
            "stack": f64(stack.init("gru", 4, 5, 2, False, r)),
        }  # fmt: skip
    return w["layers"]


PARAMS = [None, {}, "x", Derived("a key missing", lambda w, b: dict(list(b.items())[1:])),
          Derived("a float32 array", lambda w, b: b | {k: v.astype(np.float32)
                                                       for k, v in list(b.items())[:1]}),
          Derived("a wrong shape", lambda w, b: b | {k: v[..., :1]
                                                     for k, v in list(b.items())[:1]})]  # fmt: skip
ANY_FLOAT = ["float16", "int dtype"]  # what a layer without parameters takes: any float array
MASK_DTYPES = ["object dtype", "int dtype", "float16"]  # a 0/1 mask of any dtype is read as one
LAYERS = {  # layer -> (the base call's arguments, from layer_world; allowed forms)
    "lstm": (lambda L: {"x": L["x"], "h0c0": (L["h0"], L["h0"]), "p": L["lstm"],
                        "mask": L["mask"]}, {"mask": MASK_DTYPES}),
    "gru": (lambda L: {"x": L["x"], "h0": L["h0"], "p": L["gru"], "mask": L["mask"]},
            {"mask": MASK_DTYPES}),
    "rnn": (lambda L: {"x": L["x"], "h0": L["h0"], "p": L["rnn"], "mask": L["mask"]},
            {"mask": MASK_DTYPES}),
    "stack": (lambda L: {"x": L["x"], "state0": None, "p": L["stack"], "mask": L["mask"],
                         "cell": "gru"},
              {"dropout": [*ZERO], "mask": MASK_DTYPES, "rng": ["None"]}),  # None: no dropout
    "linear": (lambda L: {"x": L["x"], "p": L["linear"]},
               {"x": ["one dim fewer"]}),  # (..., D): any number of leading axes
    "embedding": (lambda L: {"ids": L["ids"], "p": L["embedding"]},
                  {"ids": ["one more dim", "one dim fewer"], "pad_id": [0, -1.0 * 0],
                   "p": ["a float32 array", "a wrong shape"]}),  # ids index any (V, E) matrix
    "softmax": (lambda L: {"s": L["enc"][..., 0], "mask": L["mask"]},
                # a mask broadcasts, and is read as mask > 0: softmax is a decoder step's, where
                # a look at every value would cost a pass
                {"s": ANY_FLOAT[:1], "mask": ["one dim fewer", *MASK_DTYPES, "NaN in the mask",
                                             "a 2 in the mask"]}),
    "attention": (lambda L: {"q": L["q"], "enc": L["enc"], "p": L["attention"],
                             "mask": L["mask"]}, {"mask": MASK_DTYPES}),
    "loss": (lambda L: {"logits": L["logits"], "targets": L["ids"].reshape(-1)},
             {"logits": ["one dim fewer", *ANY_FLOAT[:1]], "label_smoothing": ZERO,
              "ignore_index": [-1, 0, 10**12]}),
    "dropout": (lambda L: {"x": L["x"], "rate": 0.5, "rng": np.random.default_rng(0)},
                {"x": ["one more dim", "one dim fewer", *ANY_FLOAT[:1]], "rate": ZERO}),
}  # fmt: skip
LAYER_BAD = {"p": PARAMS, "mask": MASKS, "h0": arrays(), "ids": arrays(floats=False),
             "targets": arrays(floats=False), "rng": [None, 3, "x"], "state0": [3, "x"],
             "h0c0": [3, Derived("one state", lambda w, b: b[0])]}  # fmt: skip
TARGETS |= {
    f"{name}.forward": Target(
        call=lambda w, name=name: LAYER_MODULES[name].forward,
        base=lambda w, name=name: LAYERS[name][0](layer_world(w)),
        signature=lambda name=name: inspect.signature(LAYER_MODULES[name].forward),
        bad={
            k: LAYER_BAD.get(k, arrays())
            for k, p in inspect.signature(LAYER_MODULES[name].forward).parameters.items()
            if p.annotation == "Any" or k in LAYER_BAD
        },  # fmt: skip
        allowed=LAYERS[name][1],
        skip={"ids_checked": "the model's own flag: its ids were checked once, by the caller"},
        names={"p": ["W", "b", "params"], "mask": ["mask"], "logits": ["targets has shape"]},
        needs={"rng": {"dropout": 0.5}} if name == "stack" else {},
    )
    for name in LAYERS
}
INITS = {"lstm": {"D": 4, "H": 5}, "gru": {"D": 4, "H": 5}, "rnn": {"D": 4, "H": 5},
         "linear": {"D": 4, "O": 5}, "embedding": {"V": 7, "E": 4},
         "attention": {"score": "general", "Hq": 5, "He": 5},
         "stack": {"cell": "gru", "D": 4, "H": 5, "num_layers": 2,
                   "bidirectional": True}}  # fmt: skip
TARGETS |= {
    f"{name}.init": Target(
        call=lambda w, name=name: LAYER_MODULES[name].init,
        base=lambda w, name=name: INITS[name] | {"rng": np.random.default_rng(0)},
        signature=lambda name=name: inspect.signature(LAYER_MODULES[name].init),
        bad={"rng": [None, 3, "x"], "dtype": ["float16", np.int32, "x", None, 3]},
        allowed={"pad_id": [0]},
        needs={"A": {"score": "concat"}},
    )
    for name in INITS
}

# -- the harness ------------------------------------------------------------------------------


def bad_values(target: Target, name: str, p: inspect.Parameter) -> list:
    """The values parameter `name` of `target` must refuse."""
    kinds = [k.strip() for k in str(p.annotation).split("|")]
    main = [k for k in kinds if k != "None"]
    if name in target.bad:
        values = target.bad[name]
    elif len(main) != 1 or main[0] not in VALUES:
        return ["no bad values for this annotation"]
    else:
        values = VALUES[main[0]] + ([None] if "None" not in kinds else [])
    allowed = target.allowed.get(name, [])
    return [v for v in values if not any(same(v, a) or repr(v) == a for a in allowed)]


def same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and (a == b or (a != a and b != b))


def parameters(target: Target) -> list[tuple[str, inspect.Parameter]]:
    return [(n, p) for n, p in target.signature().parameters.items()
            if n != "self" and p.kind is not p.VAR_KEYWORD]  # fmt: skip


def cases():
    for tname, target in TARGETS.items():
        for name, p in parameters(target):
            if name in target.skip:
                continue
            for i, value in enumerate(bad_values(target, name, p)):
                yield pytest.param(tname, name, i, id=f"{tname} {name}={value!r:.30}")


def numpy_cases():
    for tname, target in TARGETS.items():
        for name, p in parameters(target):
            kinds = [k.strip() for k in str(p.annotation).split("|")]
            if name not in target.bad and name not in target.skip and kinds[0] in NUMPY:
                yield pytest.param(tname, name, id=f"{tname} {name}")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("api-bad-values")
    run = train_tiny(root / "run")
    (root / "file.txt").write_text("".join(f"{i}\t{str(i)[::-1]}\n" for i in range(100, 160)))
    (root / "dir").mkdir()
    return {"root": root, "run": run, "tr": Translator.load(run)}


@pytest.fixture(autouse=True)
def in_tmp(world, monkeypatch):
    """Where a path such as " " would be made (pipeline.train made a run there)."""
    monkeypatch.chdir(world["root"] / "dir")


def call_with(world: dict, tname: str, name: str, value: Any) -> Any:
    target = TARGETS[tname]
    kwargs = target.base(world) | target.needs.get(name, {}) | {name: value}
    kwargs = {k: v.make(world, target.base(world).get(k)) if isinstance(v, Derived) else v
              for k, v in kwargs.items()}  # fmt: skip
    f = target.call(world)

    def hang(*_):
        raise TimeoutError(f"{tname}({name}={value!r}) ran for more than 20 s")

    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(20)
    try:
        return f(**kwargs)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_every_parameter_has_bad_values():
    unknown = [p.values[:2] for p in cases() if "no bad values" in p.id]
    assert not unknown, f"give these parameters bad values in TARGETS (bad=...): {unknown}"


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # NaN masks
@pytest.mark.parametrize("tname,name,i", list(cases()))
def test_a_bad_value_is_refused_by_minis2s_naming_the_argument(world, tname, name, i):
    target = TARGETS[tname]
    p = dict(parameters(target))[name]
    value = bad_values(target, name, p)[i]
    with pytest.raises((ValueError, TypeError, OSError, validate.TooLarge)) as e:
        call_with(world, tname, name, value)
    where = traceback.extract_tb(e.value.__traceback__)[-1].filename
    assert "/minis2s/" in where and "/tests/" not in where, f"raised in {where}: {e.value!r}"
    words = [name, "--" + name.replace("_", "-"), *target.names.get(name, [])]
    if isinstance(e.value, OSError) or "corpus" in words:  # a path named by itself
        words += [str(world["root"]), "''", "no such file", "directory"]
    assert any(w in str(e.value) for w in words), f"{e.value!r} does not name {name}"


@pytest.mark.parametrize("tname,name", list(numpy_cases()))
def test_numpy_scalars_are_accepted_as_numbers(world, tname, name):
    target = TARGETS[tname]
    kinds = [k.strip() for k in str(dict(parameters(target))[name].annotation).split("|")]
    call_with(world, tname, name, target.numpy.get(name, NUMPY[kinds[0]]))
