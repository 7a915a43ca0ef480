"""Seed 001's "words (or subword units)": words, characters or byte-pair-encoded pieces?

Writes a corpus of made-up words built from 40 syllables ("salama ponote"); the target spells
each syllable with a fixed cipher ("sa" -> "NA") and reverses the word order. About half of the
test words never occur whole in training, so a word vocabulary cannot even read them, while
every syllable is frequent. Trains the same model on the same pairs with each tokenizer and
prints test exact match: words, characters, and BPE with few and with many merges (the first
merges learn syllables; thousands of them learn whole words again).

    python examples/006_subword_pieces.py
"""

import os

import numpy as np
from _common import QUICK, show, write_splits

from minis2s import pipeline
from minis2s.train.config import TrainConfig

rng = np.random.default_rng(0)
syllables = [c + v for c in "kmrstpnl" for v in "aeiou"]
cipher = dict(zip(syllables, (syllables[i].upper() for i in rng.permutation(40)), strict=True))


def sentence() -> tuple[str, str]:
    """2 to 4 words of 2 or 3 syllables -> their enciphered spellings in reverse order."""
    words = [rng.choice(syllables, rng.integers(2, 4)) for _ in range(rng.integers(2, 5))]
    source = " ".join("".join(w) for w in words)
    target = " ".join("".join(cipher[s] for s in w) for w in reversed(words))
    return source, target


out, files = write_splits("006", sentence, n_train=3000)

train = TrainConfig(epochs=1 if QUICK else 10, dev_size=16 if QUICK else 300)
tokenizers = {
    "word": {},
    "char": {},
    "bpe, 60 merges": {"bpe_merges": 60},
    "bpe, 400 merges": {"bpe_merges": 400},
    "bpe, 4000 merges": {"bpe_merges": 4000},
}
results = {}
for name, options in tokenizers.items():
    data = pipeline.load_data(data=files["train"], dev_data=files["dev"],
                              test_data=files["test"], tokenizer=name.split(",")[0],
                              **options)  # fmt: skip
    run = os.path.join(out, name.replace(", ", "-").replace(" merges", ""))  # out/bpe-60 ...
    tr = pipeline.train(data, {}, train, run, progress=False)
    seen = {w for s, _ in data.train for w in s.split()}
    unseen = np.mean([w not in seen for s, _ in data.test for w in s.split()])
    merges = len(data.tokenizer.merges) if name.startswith("bpe") else "-"
    results[name] = (tr.evaluate(data.test)["exact_match"], len(data.src_vocab), merges)
    if name == "bpe, 60 merges":
        t = tr.translate([data.test[0][0]])[0]
        print(f"bpe, 60 merges reads {data.test[0][0]!r} as {' '.join(t.src_tokens)}")
        show(tr, data.test, n=3)

print(f"\ntest words never seen whole in training: {unseen:.0%}")
print(f"{'tokenizer':<18} {'test exact match':>16} {'source vocabulary':>18} {'merges':>7}")
for name, (em, vocab, merges) in results.items():
    print(f"{name:<18} {em:>16.3f} {vocab:>18} {merges!s:>7}")
print(f"corpus, checkpoints and logs in {out}/ (a temporary directory: delete it when done)")
