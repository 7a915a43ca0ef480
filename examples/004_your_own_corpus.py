"""Seed 004: train on your own parallel text, the way the command line does.

Writes a small English -> Pig Latin corpus as a TSV file (source TAB target), trains on it with a
linear scheduled-sampling schedule, evaluates BLEU / chrF / exact match, and translates with beam
search. Swap `corpus` for your own file (and tokenizer="wordpunct" for words and punctuation).

    python examples/004_your_own_corpus.py
"""

import os
import tempfile

import numpy as np
from _common import QUICK, show

from minis2s import pipeline
from minis2s.data.corpus import write_tsv
from minis2s.train.config import TrainConfig


def pig_latin(word: str) -> str:
    i = next((k for k, ch in enumerate(word) if ch in "aeiou"), len(word))
    return word[i:] + word[:i] + ("way" if i == 0 else "ay")


rng = np.random.default_rng(0)
words = [
    "".join(rng.choice(list("abcdefghijklmnoprstuvwy"), rng.integers(2, 8)))
    for _ in range(200 if QUICK else 12000)
]
out = tempfile.mkdtemp(prefix="minis2s-004-")
corpus = os.path.join(out, "pig_latin.tsv")
write_tsv(corpus, [(w, pig_latin(w)) for w in dict.fromkeys(words)])
data = pipeline.load_data(data=corpus, tokenizer="char")
model = {"cell": "lstm", "emb": 32, "hidden": 128, "attention": "general"}
train = TrainConfig(
    epochs=1 if QUICK else 12,
    dev_size=16 if QUICK else 500,
    teacher_forcing=0.8,
    sampling_schedule="linear",
    sampling_steps=2000,
)
tr = pipeline.train(data, model, train, os.path.join(out, "run"))
print("dev:", tr.evaluate(data.dev, method="beam", beam_size=4))
show(tr, data.dev, method="beam", beam_size=4)
print(f"corpus, checkpoints and log in {out}/ (a temporary directory: delete it when done)")
