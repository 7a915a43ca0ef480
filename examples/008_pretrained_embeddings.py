"""Seed 000's "each word is represented as a vector (word embeddings)": start from vectors
learned elsewhere, as GloVe or fastText vectors are used.

Real pretrained vectors come from billions of words of plain text; this example makes its own.
It trains a model on the en-es task (English -> Spanish, the first 15,000 training pairs) and
writes its source and target embeddings as word-vector files (`write_vectors`: the text format
of word2vec, GloVe and fastText .vec). Then it trains the other direction, Spanish -> English,
on a few hundred of the pairs that model never saw, three ways: embeddings initialised at
random, from those files (`src_vectors=`, `tgt_vectors=`; `--src-vectors FILE` on the command
line), and from the files and kept fixed (`freeze_embeddings="both"`). Prints test exact match.

    python examples/008_pretrained_embeddings.py
"""

import os
import tempfile

from _common import QUICK, quick_splits, show

from minis2s import pipeline
from minis2s.data.corpus import write_tsv
from minis2s.data.vectors import write_vectors
from minis2s.train.config import TrainConfig

out = tempfile.mkdtemp(prefix="minis2s-008-")
n_first = 200 if QUICK else 15000
en_es = quick_splits(pipeline.load_data(task="en-es", train_size=n_first))
first = TrainConfig(epochs=1 if QUICK else 5, dev_size=16 if QUICK else 300)
tr = pipeline.train(en_es, {}, first, os.path.join(out, "en-es"), progress=False)
test = en_es.test[:300]
em = tr.evaluate(test, bleu=False)["exact_match"]
print(f"en-es, {n_first} pairs: exact match {em:.3f} on {len(test)} test pairs")
vectors = {"en": os.path.join(out, "en.vec"), "es": os.path.join(out, "es.vec")}
write_vectors(vectors["en"], en_es.src_vocab, tr.model.params["enc.emb.W"])
write_vectors(vectors["es"], en_es.tgt_vocab, tr.model.params["dec.emb.W"])

# Spanish -> English from pairs the en-es model never trained on
splits = pipeline.load_data(task="en-es")
files = {}
for split, pairs in (("train", splits.train[n_first:]), ("dev", splits.dev[:300]),
                     ("test", splits.test)):  # fmt: skip
    files[split] = os.path.join(out, f"es-en-{split}.tsv")
    write_tsv(files[split], [(es, en) for en, es in pairs[: 16 if QUICK else None]])

ways = {
    "random": {},
    "pretrained": {"src_vectors": vectors["es"], "tgt_vectors": vectors["en"]},
    "pretrained, frozen": {"src_vectors": vectors["es"], "tgt_vectors": vectors["en"]},
}
results = {}
for n in (16,) if QUICK else (100, 300, 1000):
    data = pipeline.load_data(data=files["train"], dev_data=files["dev"], test_data=files["test"],
                              tokenizer="word", train_size=n)  # fmt: skip
    for way, vectors_of in ways.items():
        freeze = "both" if way.endswith("frozen") else "none"
        # the dev loss, not exact match, for best/, early stopping and the lr schedule: exact
        # match sits near 0 for many epochs at these sizes, and would halve the lr meanwhile;
        # every size gets about 480 updates (30 epochs of 1,000 pairs)
        train = TrainConfig(epochs=1 if QUICK else 30 * 1000 // n, dev_size=16 if QUICK else 300,
                            metric="loss", freeze_embeddings=freeze)  # fmt: skip
        run = os.path.join(out, f"es-en-{n}-{way.replace(', ', '-')}")
        es_en = pipeline.train(data, {}, train, run, progress=False, **vectors_of)
        results[n, way] = es_en.evaluate(data.test, bleu=False)["exact_match"]
        if way == "pretrained":
            shown = (n, es_en, data.test)

n, es_en, test = shown
print(f"\nes-en, {n} pairs, embeddings started from the en-es model's vectors:")
show(es_en, test, n=3)

print(f"\n{'es-en pairs':>11} " + " ".join(f"{way:>18}" for way in ways))
for n in sorted({n for n, _ in results}):
    print(f"{n:>11} " + " ".join(f"{results[n, way]:>18.3f}" for way in ways))
print(f"corpus, vectors, checkpoints and logs in {out}/ (a temporary directory: delete it when "
      "done)")  # fmt: skip
