"""Write expected.json for this fixture; run it under minis2s at commit e8921b3 (the last commit
that wrote checkpoint format 1), from that checkout's root:

    python -m minis2s train --task reverse-digits --train-size 3000 --epochs 3 --emb 8 \
        --hidden 16 --dev-size 50 --lr 0.01 --out RUN
    cp -r RUN/last tests/data/format1/last
    python -m minis2s train --task reverse-digits --train-size 3000 --out RUN --resume --epochs 4
    python tests/data/format1/make_expected.py tests/data/format1/last RUN/log.jsonl \
        > tests/data/format1/expected.json

The figures: the float64 summed NLL of five pairs (float64, so that no BLAS kernel changes
it), greedy and beam-3 translations, and epoch 4's log line of the resumed run.
"""

import json
import sys

import numpy as np

from minis2s.api import Translator
from minis2s.data.batching import encode_pairs, make_batch
from minis2s.models import Seq2Seq

PAIRS = [("4371093", "3901734"), ("128499", "994821"), ("32233", "33223"), ("7", "7"),
         ("90125", "52109")]  # fmt: skip

tr = Translator.load(sys.argv[1])
examples, _ = encode_pairs(PAIRS, tr.src_vocab, tr.tgt_vocab, tr.tokenizer)
p64 = {k: v.astype(np.float64) for k, v in tr.model.params.items()}
total, n = Seq2Seq(tr.model.cfg, p64, dtype=np.float64).nll(make_batch(examples, np.arange(5)))
sources = [s for s, _ in PAIRS]
with open(sys.argv[2]) as f:
    epoch4 = [json.loads(line) for line in f][3]
expected = {
    "pairs": PAIRS,
    "nll_sum_float64": float(total),
    "tokens": int(n),
    "greedy": [t.text for t in tr.translate(sources)],
    "beam3": [t.text for t in tr.translate(sources, method="beam", beam_size=3)],
    "resumed_epoch4": {k: epoch4[k] for k in ("epoch", "step", "train_loss", "loss")},
}
print(json.dumps(expected, indent=1))
