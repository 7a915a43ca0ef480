"""The Python API on a feature-vector model: train, save, load, translate, bad input."""

import numpy as np
import pytest

from minis2s import pipeline
from minis2s.api import Translator
from minis2s.train.config import TrainConfig


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    data = pipeline.load_data(task="noisy-digits", train_size=64)
    out = str(tmp_path_factory.mktemp("api") / "run")
    tr = pipeline.train(data, {"hidden": 8, "emb": 8}, TrainConfig(epochs=1, dev_size=8), out,
                        progress=False)  # fmt: skip
    return data, tr, out


def test_loaded_translator_matches_the_trained_one(run):
    data, tr, out = run
    frames = [src for src, _ in data.test[:5]]
    loaded = Translator.load(out)
    assert loaded.model.cfg.src_features == 10 and loaded.src_vocab is None
    assert [t.text for t in loaded.translate(frames)] == [t.text for t in tr.translate(frames)]
    t = loaded.translate(frames[:1], method="beam", beam_size=3)[0]
    assert t.src_tokens == [f"f{k}" for k in range(len(frames[0]))]


def test_wrong_feature_shape_is_explained(run):
    _, tr, _ = run
    with pytest.raises(ValueError, match=r"source 0 has shape \(3, 7\), expected \(S, F\)"):
        tr.translate([np.zeros((3, 7))])
    assert tr.translate([]) == []  # nothing to translate is not an error for the API
