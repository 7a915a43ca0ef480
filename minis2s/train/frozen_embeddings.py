"""Which embedding matrices `--freeze-embeddings` keeps fixed: TrainConfig.freeze_embeddings
("none", "src", "tgt", "both") read against a model's config.

Apart from train/config.py because it needs the model too: the same TrainConfig freezes
"enc.emb.W" in one model and is refused in another (a model of source feature vectors has no
source embeddings; with share_embeddings the two sides are one matrix; a tied output layer
would never learn). TrainConfig checks only that the word is one of FROZEN's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from minis2s.config_error import ConfigError
from minis2s.models.config import ModelConfig

if TYPE_CHECKING:
    from minis2s.train.config import TrainConfig

# freeze_embeddings -> the embedding matrices the optimizer leaves as they are
FROZEN = {"none": (), "src": ("enc.emb.W",), "tgt": ("dec.emb.W",),
          "both": ("enc.emb.W", "dec.emb.W")}  # fmt: skip


def frozen_params(t: TrainConfig, model: ModelConfig) -> tuple[str, ...]:
    """The names of the parameters `t.freeze_embeddings` keeps fixed in a model of `model`;
    ValueError for a matrix the model does not have or that is more than an embedding."""
    names = FROZEN[t.freeze_embeddings]
    if model.share_embeddings and names:
        return _frozen_shared(t.freeze_embeddings, model)
    if "enc.emb.W" in names and model.src_features > 0:
        raise ConfigError(
            "", "freeze_embeddings", t.freeze_embeddings, "this model reads source feature "
            f"vectors (src_features = {model.src_features}), so it has no source embeddings to "
            "freeze; freeze 'tgt' or 'none'", FROZEN_LAYOUT, "this model reads source feature "
            "vectors, so it has no source embeddings to freeze; freeze 'tgt' or 'none'",
        )  # fmt: skip
    if "dec.emb.W" in names and model.tie_embeddings:
        why = "the target embeddings are also the output layer, which would then never learn"
        raise ConfigError(
            "",
            "freeze_embeddings",
            t.freeze_embeddings,
            f"with tie_embeddings {why}; untie them, or freeze 'src' only",
            FROZEN_LAYOUT,
            f"with --tie-embeddings {why}; untie them, or freeze 'src' only",
        )
    return names


FROZEN_LAYOUT = "{field}={value_r}: {body}"  # frozen_params' refusals, which have no owner


def _frozen_shared(freeze: str, model: ModelConfig) -> tuple[str, ...]:
    """What freeze_embeddings `freeze` (not 'none') keeps fixed with share_embeddings: the one
    matrix both sides read, "dec.emb.W", frozen as 'both'; 'src' or 'tgt' alone, or it as the
    tied output layer too, are refused."""
    if freeze != "both":
        why = ("the source and target embeddings are one matrix, which cannot be frozen for one "
               "side only")  # fmt: skip
        raise ConfigError(
            "",
            "freeze_embeddings",
            freeze,
            f"with share_embeddings {why}; freeze 'both' (that matrix) or 'none'",
            FROZEN_LAYOUT,
            f"with --share-embeddings {why}; freeze 'both' (that matrix) or 'none'",
        )
    if model.tie_embeddings:
        why = "the one embedding matrix is also the output layer, which would then never learn"
        raise ConfigError(
            "", "freeze_embeddings", freeze,
            f"with share_embeddings and tie_embeddings {why}; untie it, or freeze 'none'",
            FROZEN_LAYOUT, f"with --share-embeddings and --tie-embeddings {why}; untie it, or "
            "freeze 'none'",
        )  # fmt: skip
    return ("dec.emb.W",)
