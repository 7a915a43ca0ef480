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
