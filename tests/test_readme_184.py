"""The README read as a new user reads it (helper-184): its layer snippet in "What is inside" and
the messages it quotes there, the parameter names it reads out of `model.summary()`, and the
refusal of `minis2s average` given one checkpoint, each as the README says them."""

import re
from pathlib import Path

import numpy as np
import pytest

from minis2s.cli import main
from minis2s.layers import gru, lstm
from minis2s.models import ModelConfig, Seq2Seq

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
INSIDE = README.split("\n## What is inside\n", 1)[1].split("\n## ", 1)[0]


def flat(text: str) -> str:
    return " ".join(text.split())


def test_the_layer_pair_shown_runs_with_the_shapes_it_names():
    """`ys, (h_T, c_T), cache = lstm.forward(x, (h0, c0), p, mask=mask)  # x (N, T, D) -> ys
    (N, T, H)` and its backward, run as written on arrays of those shapes."""
    [code] = [b for b in re.findall(r"```python\n(.*?)```", INSIDE, re.S) if "lstm.forward" in b]
    N, T, D, H = 3, 4, 2, 5
    r = np.random.default_rng(0)
    names = {"x": r.standard_normal((N, T, D)), "h0": np.zeros((N, H)), "c0": np.zeros((N, H)),
             "p": lstm.init(D, H, r, np.float64), "mask": np.ones((N, T)),
             "dys": r.standard_normal((N, T, H)), "dh_T": np.zeros((N, H)),
             "dc_T": np.zeros((N, H))}  # fmt: skip
    exec(compile(code, "README.md", "exec"), names)
    assert names["ys"].shape == (N, T, H) and names["dx"].shape == (N, T, D)
    assert names["dh0"].shape == names["dc0"].shape == (N, H)
    assert set(names["dp"]) == set(names["p"])


def test_the_messages_quoted_beside_it_are_the_layers_own():
    r = np.random.default_rng(0)
    x, mask = r.standard_normal((4, 2, 3)), np.ones((4, 2))
    p = lstm.init(3, 5, r, np.float64)
    _, _, gru_cache = gru.forward(x, np.zeros((4, 5)), gru.init(3, 5, r, np.float64), mask=mask)
    with pytest.raises(ValueError) as wrong_cache:
        lstm.backward(np.zeros((4, 2, 5)), None, gru_cache)
    with pytest.raises(ValueError) as wrong_shape:
        lstm.forward(x, (np.zeros((3, 5)), np.zeros((4, 5))), p)
    quoted = re.search(r"`lstm\.backward\(dys,\s+None, gru_cache\)` says `([^`]+)`", INSIDE)
    assert quoted and flat(quoted[1]) in str(wrong_cache.value)
    shape = "`lstm.forward: h0 has shape (3, 5), expected (N, H) = (4, 5)`"
    assert shape in flat(README)
    assert shape.strip("`") == str(wrong_shape.value)


def test_the_summary_names_read_out_are_the_default_model_s():
    """ "`enc.rnn.l0.fwd.W_ih (512, 64)` is the input weights of the encoder's first layer ...
    (4H = 512 rows for E = 64)", and a shared matrix's last line, as quoted."""
    said = flat(README.split("### Reading it, coming from a seq2seq tutorial", 1)[1])
    name, shape = re.search(
        r"`(enc\.rnn\.l0\.fwd\.W_ih) (\(\d+, \d+\))` is the input", said
    ).groups()
    table = Seq2Seq(ModelConfig(src_vocab=20, tgt_vocab=20), seed=0).summary()
    assert re.search(rf"^{re.escape(name)}\s+{re.escape(shape)}\s", table, re.M), table
    shared = re.search(r"a last line says what else it is \(`([^`]+)`\)", said)[1]
    cfg = ModelConfig(src_vocab=20, tgt_vocab=20, share_embeddings=True)
    assert Seq2Seq(cfg, seed=0).summary().splitlines()[-1] == shared


def test_average_refuses_one_checkpoint_saying_why_once(tmp_path, capsys):
    """ "One checkpoint is refused: a mean needs two or more, and `cp -r` copies one." The
    command's error was `minis2s average: error: average: one checkpoint given ...`, its own
    name said twice."""
    assert "One checkpoint is refused: a mean needs two or more, and `cp -r` copies one" in flat(
        README
    )
    one, out = str(tmp_path / "a"), str(tmp_path / "avg")
    assert main(["average", "--checkpoint", one, "--out", out]) == 2
    err = capsys.readouterr().err
    assert f"minis2s average: error: --checkpoint {one} given once: a mean needs two or more" in err
    assert f"`cp -r {one} {out}`" in err and "error: average:" not in err
