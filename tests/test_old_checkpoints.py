"""A checkpoint written by an earlier minis2s loads, translates and resumes as it did there.

tests/data/format1 is a run's `last/` checkpoint written at commit e8921b3 (checkpoint format 1),
and the figures that commit computed from it; `make_expected.py` beside it says how. Its model is
an LSTM with the learned bridge of that time (the decoder's c started at 0), which format 2 calls
"learned_h".
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from minis2s.api import Translator
from minis2s.cli import main
from minis2s.data.batching import encode_pairs, make_batch
from minis2s.models import Seq2Seq
from minis2s.train import checkpoint

FORMAT1 = Path(__file__).parent / "data" / "format1"
EXPECTED = json.loads((FORMAT1 / "expected.json").read_text())


def test_a_format1_learned_lstm_bridge_loads_as_learned_h():
    assert json.loads((FORMAT1 / "last" / "state.json").read_text())["format"] == 1
    ckpt = checkpoint.load(FORMAT1 / "last")
    assert ckpt.config["model"]["bridge"] == "learned_h"
    assert checkpoint.load_config(FORMAT1 / "last")["model"]["bridge"] == "learned_h"
    assert not any(k.startswith("bridge_c.") for k in ckpt.params)


def test_a_format1_model_scores_and_translates_as_it_did():
    tr = Translator.load(FORMAT1 / "last")
    examples, _ = encode_pairs(EXPECTED["pairs"], tr.src_vocab, tr.tgt_vocab, tr.tokenizer)
    p64 = {k: v.astype(np.float64) for k, v in tr.model.params.items()}
    model = Seq2Seq(tr.model.cfg, p64, dtype=np.float64)
    total, n = model.nll(make_batch(examples, np.arange(len(examples))))
    assert n == EXPECTED["tokens"]
    np.testing.assert_allclose(total, EXPECTED["nll_sum_float64"], rtol=1e-12)
    sources = [s for s, _ in EXPECTED["pairs"]]
    assert [t.text for t in tr.translate(sources)] == EXPECTED["greedy"]
    assert [t.text for t in tr.translate(sources, method="beam", beam_size=3)] == EXPECTED["beam3"]


def resume_format1(tmp_path):
    """(a run directory holding a copy of the fixture, the command line that resumes it for one
    more epoch: the fixture's own data options)."""
    run = tmp_path / "run"
    shutil.copytree(FORMAT1 / "last", run / "last")
    args = ["train", "--task", "reverse-digits", "--train-size", "3000", "--out", str(run),
            "--resume", "--epochs", "4", "--quiet"]  # fmt: skip
    return run, args


def test_a_format1_run_resumes_and_writes_format2(tmp_path):
    """The resumed epoch matches the one e8921b3 trained from the same checkpoint (float32, so to
    the BLAS kernels' rounding), and the checkpoint it writes is format 2 with bridge learned_h."""
    run, args = resume_format1(tmp_path)
    assert main(args) == 0
    epoch4 = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()][-1]
    want = EXPECTED["resumed_epoch4"]
    assert (epoch4["epoch"], epoch4["step"]) == (want["epoch"], want["step"])
    for key in ("train_loss", "loss"):
        assert epoch4[key] == pytest.approx(want[key], rel=1e-3), key
    state = json.loads((run / "last" / "state.json").read_text())
    assert state["format"] == checkpoint.FORMAT == 2
    assert state["config"]["model"]["bridge"] == "learned_h"


def test_resuming_a_format1_run_as_bridge_learned_says_what_it_is_now(tmp_path, capsys):
    """Its owner trained it with --bridge learned: the refusal says why that is learned_h now."""
    run, args = resume_format1(tmp_path)
    assert main([*args, "--bridge", "learned"]) == 2
    err = capsys.readouterr().err
    assert "checkpoint was trained with model.bridge='learned_h', this run asks" in err
    assert "before checkpoint format 2 with bridge 'learned' started an LSTM decoder's c" in err
    assert "--bridge learned_h resumes it" in err
    assert main([*args, "--bridge", "learned_h"]) == 0
