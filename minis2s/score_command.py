"""`minis2s score`: forced decoding of a corpus or task split (see scoring.py), one line per pair
and a closing line of corpus figures."""

from __future__ import annotations

import argparse
import sys


def score(args: argparse.Namespace) -> int:
    """Print `log p<TAB>tokens<TAB>log p / tokens` per pair (tokens count </s>), then
    `total: pairs=..  tokens=..  cross_entropy=..  perplexity=..  unknown_target_tokens=..`."""
    from minis2s.commands import _note_unknown, check_pairs_options, read_pairs
    from minis2s.ensemble_commands import load_translator
    from minis2s.scoring import summarize

    check_pairs_options(args)
    tr = load_translator(args.checkpoint)  # one run, or an ensemble of several
    scores = tr.score(read_pairs(tr, args), batch_size=args.batch_size)
    for s in scores:
        print(f"{s.logprob:.4f}\t{s.n_tokens}\t{s.mean_logprob:.4f}")
    t = summarize(scores)
    print(f"total: pairs={t.pairs}  tokens={t.tokens}  cross_entropy={t.cross_entropy:.4f}  "
          f"perplexity={t.perplexity:.4f}  unknown_target_tokens={t.unknown}")  # fmt: skip
    if t.unknown:
        print(f"note: {t.unknown} of the {t.tokens} target tokens ({t.unknown / t.tokens:.0%}) "
              f"{'was' if t.unknown == 1 else 'were'} not in the vocabulary and scored as <unk>, "
              "which flatters log p and the perplexity", file=sys.stderr)  # fmt: skip
    _note_unknown(tr, args)  # the sources'
    return 0
