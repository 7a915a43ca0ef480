"""The model's shape and wiring, as one frozen dataclass (filled from the command line)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from minis2s.config_error import ConfigError
from minis2s.data.vocab import EOS_ID, SPECIALS
from minis2s.layers import attention, stack

CELLS = tuple(stack.CELLS)  # ("rnn", "lstm", "gru")
ATTENTIONS = ("none", *attention.SCORES)  # no attention, or one of the layer's score kinds
BRIDGES = ("zero", "last", "learned", "learned_h")
INITS = ("uniform", "xavier")
OUTPUT_BIASES = ("zero", "unigram")
FLOAT32_MAX = float(np.finfo(np.float32).max)
CHOICE = "{field}={value_r}; {body}"  # a ConfigError's layout for a value not among the choices
SETTING = "{field}={value_r} {body}"  # and for a value that needs others

# What a config field's annotation accepts: NumPy's scalars too, but no bool for a number
# (True is an int to Python, and never what a user meant by hidden=True).
_ACCEPTS = {
    "int": ((int, np.integer), "an integer"),
    "float": ((int, float, np.integer, np.floating), "a number"),
    "bool": ((bool, np.bool_), "True or False"),
    "str": ((str,), "a string"),
}


def check_field_types(obj: Any) -> None:
    """Raise TypeError naming the first field of dataclass `obj` whose value is not of its
    annotated type (`int`, `float`, `bool` or `str`): hidden=4.5 or epochs="3" would otherwise
    fail far from where it was set, or not at all."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        types, words = _ACCEPTS[str(f.type)]
        if not isinstance(value, types) or (str(f.type) != "bool" and isinstance(value, bool)):
            raise TypeError(
                f"{type(obj).__name__}: {f.name} must be {words}; got {value!r} "
                f"({type(value).__name__})"
            )


@dataclass(frozen=True)
class ModelConfig:
    """An encoder-decoder with optional Luong attention.

    src_vocab / tgt_vocab: vocabulary sizes V (src_vocab is ignored when src_features > 0).
    cell: "rnn" (tanh), "lstm" or "gru", for the encoder and the decoder.
    emb, hidden: embedding size E and hidden size H (per direction in the encoder).
    enc_layers, dec_layers, bidirectional: encoder/decoder depth; bidirectional encoder.
    attention: "none" or a score ("dot", "general", "concat", "additive" (Bahdanau's score),
        "scaled_dot"); with attention the decoder's output is Luong's attentional state
        h~_t = tanh(W_c [c_t; h_t] + b_c).
    input_feed: feed h~_{t-1} into the decoder's input at step t (Luong et al. 2015, 3.3).
    dropout: inverted dropout on embeddings, between layers, and before the output layer.
    bridge: how the decoder starts: "zero"; "last" (decoder layer l starts from encoder layer l's
        final state, directions summed; needs enc_layers == dec_layers); "learned" (every decoder
        layer starts from h = tanh(W_b [final h of the top encoder layer] + b_b) and, for LSTM,
        c = W_bc [final c of the top encoder layer] + b_bc); "learned_h" (h as learned, c = 0).
    tie_embeddings: share the target embedding with the output projection (needs emb == hidden).
    share_embeddings: the encoder reads the target embedding "dec.emb.W" too, one matrix for both
        sides (needs one vocabulary: src_vocab == tgt_vocab, and token-id sources); with
        tie_embeddings as well, that matrix also serves as the output layer (Press & Wolf 2017).
    src_features: F > 0 makes the encoder read (N, S, F) float vectors instead of token ids.
    reverse_source: the encoder reads each source sentence reversed, last token first (Sutskever,
        Vinyals & Le 2014, arXiv 1409.3215, 3.3; the target is not reversed), so the first source
        words are read just before the first target words are written: short paths for their
        gradients, which helped the paper's attention-free, one-way LSTM. Its outputs are put
        back in source order (encoder.py), so attention weights index the source as written. A
        bidirectional encoder reversed is the plain one with its directions' weights exchanged:
        the same model family and init distribution, so for it the option is only another draw.
    init, init_scale, forget_bias: "uniform" U(-init_scale, init_scale) or "xavier" (Glorot
        uniform) weights, zero biases; LSTM forget-gate bias set to forget_bias. The vector v
        of concat / additive attention is U(-init_scale, init_scale) with either init.
    output_bias: the output layer's bias out.b at init: "zero", or "unigram", the log of each
        token's smoothed frequency in the training targets (params.unigram_bias), so that the
        untrained model predicts their unigram distribution; it needs those counts
        (init_params(..., tgt_counts=...); pipeline.train and make_model pass them).
    """

    src_vocab: int
    tgt_vocab: int
    cell: str = "lstm"
    emb: int = 64
    hidden: int = 128
    enc_layers: int = 1
    dec_layers: int = 1
    bidirectional: bool = True
    attention: str = "general"
    input_feed: bool = True
    dropout: float = 0.0
    bridge: str = "learned"
    tie_embeddings: bool = False
    share_embeddings: bool = False
    src_features: int = 0
    reverse_source: bool = False
    init: str = "uniform"
    init_scale: float = 0.1
    forget_bias: float = 1.0
    output_bias: str = "zero"

    def __post_init__(self) -> None:
        check_field_types(self)
        self._check_choices()
        self._check_sizes()
        self._check_numbers()
        self._check_wiring()

    def _check_choices(self) -> None:
        """ValueError unless each of cell, attention, bridge, init and output_bias is one it
        knows."""
        for name, value, choices in [
            ("cell", self.cell, CELLS),
            ("attention", self.attention, ATTENTIONS),
            ("bridge", self.bridge, BRIDGES),
            ("init", self.init, INITS),
            ("output_bias", self.output_bias, OUTPUT_BIASES),
        ]:
            if value not in choices:
                raise ConfigError("ModelConfig", name, value,
                                  f"choose one of {', '.join(choices)}", CHOICE)  # fmt: skip

    def _check_sizes(self) -> None:
        """ValueError unless the vocabularies, widths, depths and src_features can build a
        model."""
        for name in ("tgt_vocab", "emb", "hidden", "enc_layers", "dec_layers"):
            if getattr(self, name) < 1:
                raise ConfigError("ModelConfig", name, getattr(self, name), "must be >= 1")
        if self.src_features < 0:
            raise ValueError(
                f"ModelConfig: src_features must be >= 0 (0: the encoder reads token ids); "
                f"got {self.src_features}"
            )
        if self.tgt_vocab <= EOS_ID:
            raise ValueError(
                f"ModelConfig: tgt_vocab must be > {EOS_ID} (a decoder needs </s>, id {EOS_ID}; a "
                f"Vocab has the {len(SPECIALS)} specials {' '.join(SPECIALS)} first); got "
                f"{self.tgt_vocab}"
            )
        if self.src_features <= 0 and self.src_vocab < 1:
            raise ValueError("ModelConfig: src_vocab must be >= 1 (or set src_features > 0)")

    def _check_numbers(self) -> None:
        """ValueError unless init_scale, forget_bias and dropout are numbers a model can use."""
        for name in ("init_scale", "forget_bias"):  # written into float32 weights
            if not abs(getattr(self, name)) <= FLOAT32_MAX:
                why = "must be a finite number within float32 (|x| <= 3.4e38)"
                raise ConfigError("ModelConfig", name, getattr(self, name), why)
        if self.uses_init_scale and not self.init_scale > 0:
            draws = "the weights, and concat/additive attention its vector v, from U(-init_scale, "
            raise ConfigError(
                "ModelConfig",
                "init_scale",
                self.init_scale,
                f"must be > 0 (init='uniform' draws {draws}init_scale))",
                cli_body=f"must be > 0 (--init uniform draws {draws}init_scale))",
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError("ModelConfig", "dropout", self.dropout, "must be in [0, 1)")

    def _check_wiring(self) -> None:
        """ValueError for an option without what it needs: input_feed attention, bridge='learned_h'
        an LSTM, bridge='last' enc_layers == dec_layers, a dot score enc_out == hidden,
        tie_embeddings emb == hidden, share_embeddings one vocabulary of token ids."""
        if self.input_feed and self.attention == "none":
            raise ConfigError(
                "ModelConfig", "input_feed", True, "feeds the attentional state, so it needs "
                "attention; with attention='none' pass input_feed=False (the command line does)",
                "{field} {body}", "feeds the attentional state, so it needs attention: leave it "
                "out with --attention none, or choose an --attention",
            )  # fmt: skip
        if self.bridge == "learned_h" and self.cell != "lstm":
            article = "an" if self.cell == "rnn" else "a"  # "an RNN", said letter by letter
            why = (f"differs from 'learned' only for an LSTM (it starts c at 0); {article} "
                   f"{self.cell} has no c")  # fmt: skip
            raise ConfigError(
                "ModelConfig",
                "bridge",
                self.bridge,
                f"{why}: use bridge='learned'",
                SETTING,
                f"{why}: use --bridge learned",
            )
        if self.bridge == "last" and self.enc_layers != self.dec_layers:
            got = f"(got {self.enc_layers} and {self.dec_layers})"
            raise ConfigError(
                "ModelConfig",
                "bridge",
                self.bridge,
                f"needs enc_layers == dec_layers {got}; use bridge='learned' or 'zero'",
                SETTING,
                f"needs --enc-layers == --dec-layers {got}; use --bridge learned or zero",
            )
        if self.attention in ("dot", "scaled_dot") and self.enc_out != self.hidden:
            why = f"needs encoder outputs of the decoder's size ({self.enc_out} vs {self.hidden})"
            raise ConfigError(
                "ModelConfig",
                "attention",
                self.attention,
                f"{why}; use 'general' or a unidirectional encoder",
                SETTING,
                f"{why}; use --attention general or a unidirectional encoder (--no-bidirectional)",
            )
        if self.tie_embeddings and self.emb != self.hidden:
            got = f"(got {self.emb}, {self.hidden})"
            raise ConfigError("ModelConfig", "tie_embeddings", True, f"needs emb == hidden {got}",
                              "{field} {body}", f"needs --emb == --hidden {got}")  # fmt: skip
        if self.share_embeddings:
            self._check_sharing()

    def _check_sharing(self) -> None:
        """ValueError unless share_embeddings has one vocabulary of token ids on both sides."""
        if self.src_features > 0:
            raise ConfigError(
                "ModelConfig", "share_embeddings", True, "shares the source embedding with the "
                f"target's, but this encoder reads feature vectors (src_features = "
                f"{self.src_features}) and has none; leave share_embeddings out", "{field} {body}",
                "shares the source embedding with the target's, but this encoder reads feature "
                "vectors and has none; leave --share-embeddings out",
            )  # fmt: skip
        if self.src_vocab != self.tgt_vocab:
            raise ConfigError(
                "ModelConfig", "share_embeddings", True, "needs one vocabulary for both sides, "
                f"but src_vocab {self.src_vocab} != tgt_vocab {self.tgt_vocab}; build one from "
                "both sides (train --share-vocab, pipeline.load_data(share_vocab=True))",
                "{field} {body}", "needs one vocabulary for both sides, but the source's has "
                f"{self.src_vocab} tokens and the target's {self.tgt_vocab}: add --share-vocab",
            )  # fmt: skip

    @property
    def uses_init_scale(self) -> bool:
        """Whether init_scale sets any weight: every matrix with init="uniform", and the
        attention vector v of concat / additive scores with either init."""
        return self.init == "uniform" or self.attention in ("concat", "additive")

    @property
    def enc_out(self) -> int:
        """Size of the encoder's outputs: H times the number of directions."""
        return self.hidden * (2 if self.bidirectional else 1)

    @property
    def dec_in(self) -> int:
        """Size of the decoder's input at each step: E, plus H with input feeding."""
        return self.emb + (self.hidden if self.input_feed else 0)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"ModelConfig: unknown fields {unknown}; known: {sorted(known)}")
        return cls(**d)
