"""When an output is wrong, is the model to blame or the search? (Stahlberg and Byrne 2019, "On
NMT search errors and model errors: cat got your tongue?")

Decoding looks for the output y of highest log p(y | x), greedily or with a beam, and may miss
it. Forced decoding (`Translator.score`) gives log p of any output, so each wrong output can be
set against its reference:

    log p(output) >= log p(reference)   a model error: the model prefers its wrong output, and
                                        no better search would give the reference
    log p(output) <  log p(reference)   a search error: the reference was the better answer,
                                        and the search did not find it (a better search might
                                        still find a third, wrong, output above both)

The script writes the `dates` task once as files (so that runs of different seeds share one
vocabulary and can make an ensemble), trains two 1-epoch runs with seeds 1 and 2, and decodes
the test set greedily and with beam 5, with run d1 alone and with the ensemble of both. It prints
exact match and the split of the wrong outputs, a few of each kind, and the references'
perplexity. The learner should see that most errors are the model's: beam search mends search
errors, which are few, and no search can mend the rest; the ensemble, a better model (lower
perplexity), mends model errors.

    python examples/009_model_or_search_errors.py
"""

import os
import tempfile
from typing import NamedTuple

from _common import quick_splits, sizes

from minis2s import pipeline, scoring
from minis2s.api import Translator
from minis2s.data.corpus import write_tsv
from minis2s.data.tasks import get_task
from minis2s.train.config import TrainConfig

s = sizes(epochs=1)
out = tempfile.mkdtemp(prefix="minis2s-009-")
files = {}  # as `minis2s tasks --write dates DIR`: the splits drawn with seed 0
for split, pairs in get_task("dates").generate(seed=0).items():
    files[split] = os.path.join(out, f"{split}.tsv")
    write_tsv(files[split], pairs)

runs = {}
for seed in (1, 2):
    data = quick_splits(pipeline.load_data(data=files["train"], dev_data=files["dev"],
                                           test_data=files["test"], train_size=s["train_size"],
                                           seed=seed))  # fmt: skip
    train = TrainConfig(epochs=s["epochs"], dev_size=s["dev_size"], seed=seed)
    runs[f"d{seed}"] = pipeline.train(data, {}, train, os.path.join(out, f"d{seed}"),
                                      progress=False)  # fmt: skip
runs["d1 + d2"] = Translator.load_ensemble([os.path.join(out, "d1"), os.path.join(out, "d2")])
test = data.test[: s["test_size"]]  # the same test file for every run


class Wrong(NamedTuple):
    source: str
    reference: str
    output: str
    lp_output: float  # log p(output | source), by forced decoding
    lp_reference: float  # log p(reference | source)


def wrong_outputs(tr, pairs, translations):
    """A Wrong for each wrong output; and the largest gap between an output's score and the logprob
    its decoder summed (the same number, but for float rounding; None: no output to compare)."""
    wrong = [(src, ref, t) for (src, ref), t in zip(pairs, translations, strict=True)
             if t.text != tr.as_output(ref)]  # fmt: skip
    if not wrong:
        return [], None
    outputs = tr.score([(src, t.text) for src, _, t in wrong])
    references = tr.score([(src, ref) for src, ref, _ in wrong])
    rows, gaps = [], []
    for (src, ref, t), output, reference in zip(wrong, outputs, references, strict=True):
        rows.append(Wrong(src, ref, t.text, output.logprob, reference.logprob))
        if t.ended:  # one cut at the length limit has no </s> in its logprob; its score adds one
            gaps.append(abs(t.logprob - output.logprob))
    return rows, max(gaps, default=None)


decoders = {"greedy": {}, "beam 5": {"method": "beam", "beam_size": 5}}
print(f"{len(test)} test dates\n")
print(f"{'model':<8} {'decoding':<8} {'exact match':>11} {'wrong':>6} {'model errors':>13} "
      f"{'search errors':>14} {'|logprob - score|':>18}")  # fmt: skip
shown = {}
for name in ("d1", "d1 + d2"):
    tr = runs[name]
    for decoding, options in decoders.items():
        translations = tr.translate([src for src, _ in test], **options)
        rows, gap = wrong_outputs(tr, test, translations)
        model_errors = [w for w in rows if w.lp_output >= w.lp_reference]
        search_errors = [w for w in rows if w.lp_output < w.lp_reference]
        share = 100 / max(len(rows), 1)
        print(f"{name:<8} {decoding:<8} {1 - len(rows) / len(test):>11.3f} {len(rows):>6} "
              f"{len(model_errors):>6} ({len(model_errors) * share:3.0f}%) "
              f"{len(search_errors):>6} ({len(search_errors) * share:3.0f}%) "
              f"{'-' if gap is None else f'{gap:.1e}':>18}")  # fmt: skip
        if (name, decoding) == ("d1", "greedy"):
            shown = {"model errors": model_errors[:3], "search errors": search_errors[:3]}

print("\nd1, greedy: a few wrong outputs, with log p (nats) of the output and of the reference")
for kind, rows in shown.items():
    print(f"  {kind}:")
    for src, ref, output, lp_output, lp_reference in rows:
        print(f"    {src!s:>24} -> {output:<12} {lp_output:8.3f}   reference {ref:<12} "
              f"{lp_reference:8.3f}")  # fmt: skip

print("\nthe references' cross-entropy and perplexity (forced decoding of the test set):")
for name, tr in runs.items():
    summary = scoring.summarize(tr.score(test))
    print(f"  {name:<8} {summary.cross_entropy:.4f} nats a token, perplexity "
          f"{summary.perplexity:.4f}")  # fmt: skip
print(f"task files, checkpoints and logs in {out}/ (a temporary directory: delete it when done)")
