"""viz.plot_by_length draws its curves, and says how to get matplotlib when it is missing."""

import sys

import pytest

from minis2s import viz
from minis2s.metrics import Band

CURVES = {
    "no attention": [Band(1, 10, 5, 1.0), Band(11, 20, 4, 0.25)],
    "attention": [Band(1, 10, 5, 1.0), Band(11, 20, 4, 1.0)],
}


def test_plot_by_length_writes_an_image(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "by_length.png"
    viz.plot_by_length(CURVES, str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_by_length_without_matplotlib_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(ImportError, match=r"pip install 'minis2s\[plot\]'"):
        viz.plot_by_length(CURVES, str(tmp_path / "x.png"))


def test_attention_text_shades_each_weight_under_its_source_token():
    w = [[0.0, 1.0, 0.0], [0.5, 0.5, 0.0], [0.1, 0.2, 0.7]]  # the last row: the step of </s>
    text = viz.attention_text(w, ["ab", "c", " "], ["x", "yz"])
    assert text.splitlines() == [
        "      a c",  # source tokens downwards, one column each (a space shows as a space)
        "      b",
        "   x    @",
        "  yz  = =",  # round(9 * 0.5) = 4 -> "="; 0 -> " "
        "</s>  . : *",  # 0.1 -> ".", 0.2 -> ":", 0.7 -> round(6.3) = 6 -> "*"
    ]
