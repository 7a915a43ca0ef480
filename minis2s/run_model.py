"""A new run's model from its data and options: its config (sizes from the data's vocabularies
or feature frames), the refusals of a new model, its first parameters (output_bias="unigram":
from the training targets' counts) and the pretrained word vectors put into its embeddings.
pipeline.train builds its model with these (make_model, then load_pretrained); `minis2s train`
calls check_new_model first, through pipeline, which re-exports it and make_model."""

from __future__ import annotations

import os
from typing import Any

from minis2s.data.loading import Data
from minis2s.data.tokenize import get_tokenizer
from minis2s.models import ModelConfig, Seq2Seq, pretrained
from minis2s.models.params import init_params, target_counts
from minis2s.train.config import TrainConfig
from minis2s.train.frozen_embeddings import frozen_params


def make_model(
    data: Data, model_options: dict[str, Any], seed: int, dtype: Any, train_ex: list | None = None
) -> Seq2Seq:
    """A new model of `model_options` for the data's vocabularies (or feature size), with
    output_bias="unigram" its out.b at the log frequencies of the target tokens of data.train
    (or of `train_ex`, its examples when already encoded)."""
    cfg = model_config(data, model_options)
    if cfg.output_bias == "unigram":  # out.b from the training targets (a resumed or --init-from
        tok = get_tokenizer(data.tokenizer)  # run then takes its checkpoint's, as every weight)
        ys = ((data.tgt_vocab.encode(tok.tokenize(y)) for _, y in data.train) if train_ex is None
              else (y for _, y in train_ex))  # fmt: skip
        counts = target_counts(ys, len(data.tgt_vocab))
        return Seq2Seq(cfg, init_params(cfg, seed, dtype, tgt_counts=counts), dtype=dtype)
    return Seq2Seq(cfg, seed=seed, dtype=dtype)


def model_config(data: Data, model_options: dict[str, Any]) -> ModelConfig:
    """The config of a model of `model_options` for the data's vocabularies (or feature size);
    ValueError for share_embeddings over two vocabularies (ModelConfig refuses it over feature
    frames)."""
    two_vocabs = not data.features and data.src_vocab != data.tgt_vocab
    if model_options.get("share_embeddings") and two_vocabs:
        raise ValueError(_share_vocab(cli=False))  # the command line meets check_new_model first
    sizes = {"src_vocab": len(data.src_vocab) if data.src_vocab else 0,
             "tgt_vocab": len(data.tgt_vocab), "src_features": data.features}  # fmt: skip
    if set(sizes) & set(model_options):
        raise ValueError(f"model options {sorted(set(sizes) & set(model_options))} come from the "
                         "data; leave them out")  # fmt: skip
    return ModelConfig.from_dict(sizes | dict(model_options))  # names an unknown option


def check_new_model(
    data: Data, model_options: dict[str, Any], tcfg: TrainConfig, *, cli: bool = False
) -> None:
    """The refusals of a new run's model (not resumed, not started from another run), as
    pipeline.train gives them: one vocabulary asked for share_embeddings, the options
    ModelConfig takes, a freeze the model can take. `minis2s train` checks them before its note
    on the embeddings kept at their random start, so a refused run prints only its refusal;
    with `cli`, a refusal of share_embeddings names train's options."""
    _check_share_vocab(data, model_options, cli)
    frozen_params(tcfg, model_config(data, model_options))


def _share_vocab(cli: bool) -> str:
    """The refusal of share_embeddings over two vocabularies."""
    said = "--share-embeddings" if cli else "model_options share_embeddings=True"
    fix = (
        "add --share-vocab"
        if cli
        else "load the data with pipeline.load_data(..., share_vocab=True)"
    )
    return (
        f"{said} embeds source and target ids with one matrix, so it needs one vocabulary for "
        f"both sides: {fix}"
    )


def _check_share_vocab(data: Data, model_options: dict[str, Any], cli: bool) -> None:
    """A new run with share_embeddings reads token ids and asked for one vocabulary
    (share_vocab), even where the two sides' vocabularies came out equal by chance (a Data
    built by hand records no options: there equal vocabularies do, as `model_config` checks)."""
    if not model_options.get("share_embeddings"):
        return
    if data.features:  # before ModelConfig, which names no flag
        said = "--share-embeddings" if cli else "model_options share_embeddings=True"
        out = "--share-embeddings out" if cli else "share_embeddings out of model_options"
        raise ValueError(
            f"{said} shares the source embedding with the target's, but the sources of "
            f"{data.name} are (S, {data.features}) feature frames, which have none; leave {out}"
        )
    if not (data.options or {}).get("share_vocab", data.options is None):
        raise ValueError(_share_vocab(cli))


def load_pretrained(
    model: Seq2Seq,
    data: Data,
    src_vectors: str | os.PathLike | None,
    tgt_vectors: str | os.PathLike | None,
    progress: bool,
    cli: bool,
) -> None:
    """Put the pretrained word vectors of the files given into the model's source / target
    embeddings, row by row of the data's vocabularies; with `progress`, say what was loaded.
    `cli`: a refusal names minis2s train's options, not pipeline.train's keywords."""
    pretrained.check_shared(model.cfg, src_vectors, tgt_vectors)
    vocabs_of = {"src": data.src_vocab, "tgt": data.tgt_vocab}
    for side, path in (("src", src_vectors), ("tgt", tgt_vectors)):
        if path is not None:
            loaded = pretrained.load_vectors(model, side, vocabs_of[side], path, cli=cli)
            if progress:
                print(loaded)
