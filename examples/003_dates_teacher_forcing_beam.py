"""Seeds 001 and 004 (teacher forcing, its ratio, scheduled sampling): translation-style
training with a teacher forcing ratio, then beam search.

Dates written many human ways are "translated" to ISO 8601. The decoder is fed its own
prediction instead of the reference token with a probability that grows (inverse sigmoid
schedule, Bengio et al. 2015) to 1 - teacher_forcing = 25%; decoding uses beam search with the
GNMT length penalty and prints the 3-best list.

    python examples/003_dates_teacher_forcing_beam.py
"""

import tempfile

from _common import quick_splits, show, sizes

from minis2s import pipeline
from minis2s.train.config import TrainConfig

s = sizes(epochs=10)
data = quick_splits(pipeline.load_data(task="dates", train_size=s["train_size"]))
model = {"cell": "lstm", "emb": 64, "hidden": 128, "attention": "additive"}
train = TrainConfig(
    epochs=s["epochs"],
    dev_size=s["dev_size"],
    teacher_forcing=0.75,
    sampling_schedule="inverse_sigmoid",
    sampling_k=300.0,
)
out = tempfile.mkdtemp(prefix="minis2s-003-")
tr = pipeline.train(data, model, train, out)
beam = {"method": "beam", "beam_size": 5, "length_penalty": "gnmt", "alpha": 0.6}
print("test (beam 5):", tr.evaluate(data.test[: s["test_size"]], **beam))
show(tr, data.test, **beam)
for t in tr.translate(["3rd of March 2021"], nbest=3, **beam)[0]:
    print(f"  {t.text!r}  score {t.score:.3f}")
print(f"checkpoints and log in {out}/ (a temporary directory: delete it when done)")
