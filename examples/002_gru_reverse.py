"""Seed 002: a GRU encoder-decoder reversing sequences, trained with SGD (Nesterov momentum,
gradient clipping).

The seed notebook trains one sequence at a time with SGD; here the same model trains on padded,
length-bucketed batches, with the Luong "general" attention that makes the task easy.

    python examples/002_gru_reverse.py
"""

import tempfile

from _common import quick_splits, show, sizes

from minis2s import pipeline
from minis2s.train.config import TrainConfig

s = sizes(epochs=10)
data = quick_splits(pipeline.load_data(task="reverse-string", train_size=s["train_size"]))
model = {"cell": "gru", "emb": 32, "hidden": 128, "bidirectional": False, "attention": "general"}
train = TrainConfig(
    epochs=s["epochs"],
    dev_size=s["dev_size"],
    optimizer="sgd",
    lr=0.5,
    momentum=0.9,
    nesterov=True,
    clip=1.0,
)
out = tempfile.mkdtemp(prefix="minis2s-002-")
tr = pipeline.train(data, model, train, out)
print("test:", tr.evaluate(data.test[: s["test_size"]]))
show(tr, data.test)
print(f"checkpoints and log in {out}/ (a temporary directory: delete it when done)")
