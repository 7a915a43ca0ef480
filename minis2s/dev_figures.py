"""The dev figures a training run is scored on: `dev_evaluator` makes the Trainer's
evaluate(model), teacher-forced loss and perplexity over the dev split and exact match (and
BLEU) of the greedy translations of its first tcfg.dev_size sources, and names the dev sources
longer than any training source at the first evaluation. pipeline.train builds it for the
Trainer, which calls it at each scoring point (bookkeeping.py); pipeline re-exports it."""

from __future__ import annotations

import warnings
from collections.abc import Callable

from minis2s import _warn, long_sources, metrics
from minis2s.api import Translator
from minis2s.data.batching import batches
from minis2s.data.loading import Data
from minis2s.data.tokenize import get_tokenizer
from minis2s.decode.common import NoHypothesis
from minis2s.models import Seq2Seq
from minis2s.train.config import TrainConfig


def dev_evaluator(
    data: Data, translator: Translator, tcfg: TrainConfig, examples: list, *, cli: bool = False
) -> Callable[[Seq2Seq], dict[str, float]]:
    """evaluate(model) -> {"loss", "ppl", "exact_match"[, "bleu"]} on the dev split: the loss
    (per target token) and perplexity over `examples` (every dev pair, encoded), exact match and
    BLEU (tcfg.metric "bleu") of the first tcfg.dev_size pairs, translated greedily by
    `translator` (the run's own, over the model being trained). `cli`: a warning names train's
    --dev-size, not TrainConfig's dev_size."""
    dev_pairs = data.dev[: tcfg.dev_size]
    if len(dev_pairs) < tcfg.dev_size != TrainConfig.dev_size:  # asked for, not the default
        asked = f"--dev-size {tcfg.dev_size}" if cli else f"TrainConfig dev_size={tcfg.dev_size}"
        _warn.warn(f"{asked} asks for more than the {len(dev_pairs)} dev pairs there are; all "
                   f"{len(dev_pairs)} are decoded")  # fmt: skip
    refs = [translator.as_output(r) for _, r in dev_pairs]
    dev_batches = batches(examples, batch_size=64)
    noted: list = []  # the long dev sources are named at the first evaluation only

    def evaluate(model: Seq2Seq) -> dict[str, float]:
        total, n = 0.0, 0
        for b in dev_batches:
            s, k = model.nll(b)
            total, n = total + s, n + k
        out = {"loss": total / n, "ppl": metrics.perplexity(total, n)}
        try:
            with warnings.catch_warnings():  # said once, of dev pairs, below
                warnings.simplefilter("ignore", long_sources.LongSourceWarning)
                translations = translator.translate([s for s, _ in dev_pairs])
        except NoHypothesis:  # log-probabilities gone NaN: the trainer stops on the NaN figures
            return out | {k: float("nan") for k in ("exact_match", tcfg.metric) if k not in out}
        if not noted:
            _warn_of_long_dev(translator, translations)
            noted.append(True)
        hyps = [t.text for t in translations]
        out["exact_match"] = metrics.exact_match(hyps, refs)
        if tcfg.metric == "bleu":
            level = "char" if get_tokenizer(data.tokenizer).name == "char" else "13a"
            out["bleu"] = metrics.bleu(hyps, refs, level)
        return out

    return evaluate


def _warn_of_long_dev(translator: Translator, translations: list) -> None:
    """A LongSourceWarning naming the dev pairs (from 1, as a dev file's lines) whose sources
    are longer than any training source: their dev figures are likely poor."""
    lengths = [len(t.src_tokens) for t in translations]
    text = long_sources.named_note(
        lengths,
        translator.longest_source,
        lambda i: f"dev pair {i + 1}",
        "dev pair",
        translator.source_unit,
    )
    if text:
        _warn.warn(long_sources.LongSourceWarning(text))
