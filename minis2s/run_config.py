"""What a run records of itself, and how a resumed run reads its data as it did: `run_config`,
the config a checkpoint saves (model and training options, the data's name, tokenizer, normal form,
BPE merges and fingerprints, the dtype and backend), which a resume must match; and
`as_the_run_reads`, the data read as a run saved before minis2s normalised text reads it.
`minis2s.pipeline` uses both, and re-exports them.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from minis2s import backend
from minis2s.data.loading import Data
from minis2s.data.provenance import fingerprint
from minis2s.data.tasks import TASKS, get_task
from minis2s.data.tokenize import get_tokenizer
from minis2s.models import Seq2Seq
from minis2s.train.config import TrainConfig


def as_the_run_reads(data: Data, saved: dict[str, Any], out_dir: str) -> Data:
    """`data` as the run saved in `out_dir` (its config `saved`) reads text, for its resume. A
    corpus run saved before minis2s normalised text (no data.normalization) goes on reading text
    as written, as `minis2s train --resume` resumes it (a task's text is NFC: its runs go on in
    NFC). Training text all in NFC has the same tokens either way; ValueError, saying how to
    load the data as the run reads it, where it has other text, whose vocabulary read in NFC is
    not the run's. Whether the run trained on a task is its recorded data.source; a run saved
    before minis2s recorded that is guessed: a corpus file named like a task with that task's
    tokenizer is taken for the task."""
    tok = get_tokenizer(data.tokenizer)
    source = saved.get("data", {}).get("source")
    if source is not None:
        task = "task" in source
    else:
        task = data.name in TASKS and data.tokenizer == get_task(data.name).tokenizer
    if "normalization" in saved.get("data", {}) or tok.form is None or task:
        return data
    for i, pair in enumerate(data.train):
        if not all(unicodedata.is_normalized(tok.form, t) for t in pair if isinstance(t, str)):
            raise ValueError(
                f"{out_dir} was saved before minis2s put text in Unicode {tok.form} (its "
                "state.json has no data.normalization), so it goes on reading text as written, "
                f"as it was trained; but data.train[{i}] = {pair!r:.60} is not in {tok.form}, "
                f"so read in {tok.form} the data's tokens and vocabulary are not the run's. "
                "Load the data with the run's tokenizer: pipeline.load_data(..., tokenizer="
                f"Translator.load({out_dir!r}, 'last').tokenizer)"
            )
    return data._replace(tokenizer=tok._replace(form=None))


def run_config(data: Data, model: Seq2Seq, tcfg: TrainConfig) -> dict[str, Any]:
    """What a checkpoint records of its run, and a resume must match: the model and training
    options, the data (name, tokenizer, the Unicode normal form it reads text in and a BPE
    tokenizer's merges, options, fingerprints of the train and dev pairs; where it was read,
    data.source, which `--resume` reads it from again and does not compare), the dtype and the
    backend (a resume on another one only warns)."""
    tok = get_tokenizer(data.tokenizer)
    data_config = {
        "name": data.name,
        "tokenizer": tok.name,
        "options": data.options or {},
        "train": fingerprint(data.train),
        "dev": fingerprint(data.dev),
    }
    if data.source is not None:  # a Data built by hand, not by load_data, has none
        data_config["source"] = data.source
    if tok.form is not None:  # a run resumed from before normalisation reads text as written
        data_config["normalization"] = tok.form
    if tok.name == "bpe":  # what it learned: Translator.load and --resume rebuild it from these
        data_config["bpe_merges"] = [list(pair) for pair in tok.merges]
    return {
        "model": model.cfg.to_dict(),
        "train": tcfg.to_dict(),
        "data": data_config,
        "dtype": model.dtype.name,
        "backend": backend.current().name,
    }
