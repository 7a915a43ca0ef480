"""Seed 001's "handling out-of-vocabulary words": copy a rare word rather than learn it.

Writes a corpus of lists of 2 to 5 made-up words ("solo musuto nurako") whose target is the list
reversed, the words drawn from 30,000 with Zipf's law: a few are frequent, most occur once or
never, and about a tenth of the test words never occur in training. A word-level model trained
with every training word in its vocabulary (--min-freq 1) sees most of them once or twice and
learns them badly. With --min-freq 5 the rare ones are <unk> on both sides in training, so the
model learns to write <unk> where its source has one; `replace_unk=True` (translate / evaluate
--replace-unk) then writes each output <unk> as the source word its step attends to most
(Luong et al., 2015). Prints test exact match with and without the replacement.

    python examples/007_rare_words_copied.py
"""

import os

import numpy as np
from _common import QUICK, show, write_splits

from minis2s import pipeline
from minis2s.train.config import TrainConfig

rng = np.random.default_rng(0)
# arrays, not lists: rng.choice would make an array of a list at every call (seconds of the run)
syllables = np.array([c + v for c in "kmrstpnl" for v in "aeiou"])
words = sorted({"".join(rng.choice(syllables, rng.integers(2, 4))) for _ in range(30000)})
rng.shuffle(words)
words = np.array(words)
zipf = 1.0 / np.arange(1, len(words) + 1)  # the k-th word's share falls as 1 / k
zipf /= zipf.sum()


def pair() -> tuple[str, str]:
    w = rng.choice(words, rng.integers(2, 6), p=zipf)
    return " ".join(w), " ".join(reversed(w))


out, files = write_splits("007", pair, n_train=10000)

train = TrainConfig(epochs=1 if QUICK else 10, dev_size=16 if QUICK else 300)
results = {}
for min_freq in (1, 2, 5):
    data = pipeline.load_data(data=files["train"], dev_data=files["dev"], test_data=files["test"],
                              tokenizer="word", min_freq=min_freq)  # fmt: skip
    tr = pipeline.train(data, {}, train, os.path.join(out, f"min-freq-{min_freq}"), progress=False)
    test_words = [w for s, _ in data.test for w in s.split()]
    unknown = data.src_vocab.count_unknown(test_words) / len(test_words)
    plain, copied = (tr.evaluate(data.test, bleu=False, replace_unk=r)["exact_match"]
                     for r in (False, True))  # fmt: skip
    results[min_freq] = (len(data.src_vocab), unknown, plain, copied)
    if min_freq == 5:
        print("min-freq 5, without and with replace_unk:")
        show(tr, data.test, n=3)
        show(tr, data.test, n=3, replace_unk=True)

print(f"\n{'min-freq':>8} {'vocabulary':>10} {'test words <unk>':>16} {'exact match':>11} "
      f"{'with replace_unk':>16}")  # fmt: skip
for min_freq, (vocab, unknown, plain, copied) in results.items():
    print(f"{min_freq:>8} {vocab:>10} {unknown:>16.0%} {plain:>11.3f} {copied:>16.3f}")
print(f"corpus, checkpoints and logs in {out}/ (a temporary directory: delete it when done)")
