"""The lesson of the seed notebooks: a fixed-size encoder state is a bottleneck, attention is not.

Two LSTM encoder-decoders learn to reverse digit strings of 1..40 digits (task reverse-long)
with the same data, sizes and number of updates. The first sees the source only through the
encoder's final states (attention "none", bridge "last": the forward and backward final states
summed, Sutskever et al. 2014), H numbers for h and H for c whatever the length of the source;
the second also attends over every encoder state at every step (additive attention, Bahdanau
et al. 2015). Exact match per band of 5 source digits shows the first falling as the sources
grow and the second staying high, as in Fig. 2 of Bahdanau et al. Saves the two curves as a
plot when matplotlib is installed.

    python examples/005_bottleneck_attention.py
"""

import os
import tempfile
import time

from _common import QUICK, quick_splits, show, sizes

from minis2s import pipeline, viz
from minis2s.train.config import TrainConfig

WIDTH = 5  # source digits per band

s = sizes(epochs=3)
data = quick_splits(pipeline.load_data(task="reverse-long", train_size=s["train_size"]))
test = data.test[: s["test_size"]]
# H = 32 in a smoke run (MINIS2S_QUICK=1): the same code, 1.5 s instead of 5 (the LSTMs' steps
# and additive attention's (N, T, S, A) gradients at H = 128 were most of it)
H = 32 if QUICK else 128
base = {"cell": "lstm", "emb": 32, "hidden": H, "bidirectional": True, "bridge": "last"}
models = {
    "no attention": base | {"attention": "none", "input_feed": False},
    "attention": base | {"attention": "additive"},
}
# The same budget: the same pairs in the same batches for the same epochs, no early stopping;
# 200 dev sentences decoded per epoch choose the best epoch (1000 would add a minute).
train = TrainConfig(epochs=s["epochs"], dev_size=min(s["dev_size"], 200), patience=0)
out = tempfile.mkdtemp(prefix="minis2s-005-")
bands, exact = {}, {}
for name, model in models.items():
    start = time.perf_counter()
    tr = pipeline.train(data, model, train, os.path.join(out, name.replace(" ", "-")))
    result = tr.evaluate(test, by_length=WIDTH)
    bands[name], exact[name] = result.pop("by_length"), result["exact_match"]
    figures = "  ".join(f"{k}={v:.4g}" for k, v in result.items())
    print(f"{name}: {figures}  ({time.perf_counter() - start:.0f} s)")
    show(tr, test, n=3)

print(f"\ntest exact match by source length ({len(test)} pairs):")
print(f"  {'length':>6}  {'n':>5}  {'no attention':>12}  {'attention':>9}")
for fixed, attended in zip(bands["no attention"], bands["attention"], strict=True):
    # both models scored the same pairs, so their bands are the same
    band = f"{fixed.lo}-{fixed.hi}"
    print(f"  {band:>6}  {fixed.n:>5}  {fixed.exact_match:>12.3f}  {attended.exact_match:>9.3f}")
print(f"  {'all':>6}  {len(test):>5}  {exact['no attention']:>12.3f}  {exact['attention']:>9.3f}")
try:
    viz.plot_by_length(bands, os.path.join(out, "by_length.png"))
    print(f"exact match against source length: {out}/by_length.png")
except ImportError as e:  # matplotlib is an optional extra
    print(f"no plot: {e}")
if not QUICK:
    print(f"try: minis2s evaluate --checkpoint {out}/attention --task reverse-long --by-length 10")
