"""Seed 001: reverse strings with an attention decoder, and look at where it attends.

A bidirectional GRU encoder and a decoder with additive (Bahdanau) attention; the heatmap of a
translation should show the anti-diagonal of a reversal.

    python examples/001_reverse_string_attention.py
"""

import tempfile

from _common import QUICK, quick_splits, show, sizes

from minis2s import pipeline, viz
from minis2s.train.config import TrainConfig

s = sizes(epochs=8)
data = quick_splits(pipeline.load_data(task="reverse-string", train_size=s["train_size"]))
model = {"cell": "gru", "emb": 32, "hidden": 128, "attention": "additive"}
out = tempfile.mkdtemp(prefix="minis2s-001-")
tr = pipeline.train(data, model, TrainConfig(epochs=s["epochs"], dev_size=s["dev_size"]), out)
print("test:", tr.evaluate(data.test[: s["test_size"]]))
show(tr, data.test)
t = tr.translate(["hello world"])[0]
viz.plot_attention(t.attention, t.src_tokens, t.tokens, f"{out}/attention.png")
print(f"attention heatmap of 'hello world' -> {t.text!r}: {out}/attention.png")
if not QUICK:
    print("try: minis2s plot --log", f"{out}/log.jsonl", "--out curves.png")
