"""Seed 000: reverse a sequence of digits with a two-layer LSTM encoder-decoder, no attention.

The decoder starts from the encoder's final states (bridge "last", layer by layer) and sees the
source only through them: the classic Sutskever et al. (2014) set-up. Their trick of reading
the source reversed (`"reverse_source": True`) would hurt here: this target is the source
backwards, so the encoder already reads the first target digit last (README, Things to try 16).

    python examples/000_reverse_digits_lstm.py
"""

import tempfile

from _common import quick_splits, show, sizes

from minis2s import pipeline
from minis2s.train.config import TrainConfig

s = sizes(epochs=10)
data = quick_splits(pipeline.load_data(task="reverse-digits", train_size=s["train_size"]))
model = {
    "cell": "lstm",
    "emb": 32,
    "hidden": 256,
    "enc_layers": 2,
    "dec_layers": 2,
    "bidirectional": False,
    "attention": "none",
    "input_feed": False,
    "bridge": "last",
}
out = tempfile.mkdtemp(prefix="minis2s-000-")
tr = pipeline.train(data, model, TrainConfig(epochs=s["epochs"], dev_size=s["dev_size"]), out)
print("test:", tr.evaluate(data.test[: s["test_size"]]))
show(tr, data.test)
print(f"checkpoints and log in {out}/ (a temporary directory: delete it when done)")
