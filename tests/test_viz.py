"""viz.plot_by_length draws its curves, and says how to get matplotlib when it is missing."""

import json
import math
import struct
import sys

import numpy as np
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


def test_plots_leave_the_callers_matplotlib_backend_alone(tmp_path):
    """A notebook plots with its own backend (inline): the plots used pyplot after forcing
    Agg, which switched the whole session to Agg. They now make Figures without pyplot."""
    pytest.importorskip("matplotlib")
    import subprocess

    code = f"""
import sys, matplotlib
matplotlib.use("svg")
import numpy as np
from minis2s import viz
from minis2s.metrics import Band
viz.plot_by_length({{"a": [Band(1, 10, 5, 1.0)]}}, {str(tmp_path / "b.png")!r})
viz.plot_attention(np.full((2, 2), 0.5), ["a", "b"], ["c"])
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
assert "matplotlib.pyplot" not in sys.modules
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"


def test_each_plot_returns_its_figure_and_writes_only_when_asked(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    (tmp_path / "log.jsonl").write_text(json.dumps({"epoch": 1, "train_loss": 1.0}) + "\n")
    figures = [
        viz.plot_attention(np.full((2, 3), 0.3), ["a", "b", "c"], ["x"]),
        viz.plot_log(str(tmp_path)),
        viz.plot_by_length(CURVES),
    ]
    assert [len(f.axes) for f in figures] == [1, 2, 1]
    assert all(isinstance(f, Figure) for f in figures)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.jsonl"]
    out = tmp_path / "a.svg"
    assert isinstance(viz.plot_attention(np.eye(2), ["a", "b"], ["x"], str(out)), Figure)
    assert out.read_text().lstrip().startswith("<?xml")


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


def _plotted(monkeypatch):
    """Record each line that matplotlib is asked to draw: (label, xs, ys)."""
    from matplotlib.axes import Axes

    lines, real = [], Axes.plot

    def plot(self, xs, ys, *args, **kw):
        lines.append((kw.get("label"), list(xs), list(ys)))
        return real(self, xs, ys, *args, **kw)

    monkeypatch.setattr(Axes, "plot", plot)
    return lines


def test_plot_log_draws_each_epochs_figures_with_metrics_as_percentages(tmp_path, monkeypatch):
    """Losses as logged; exact match (a fraction) times 100 and BLEU (already a percentage) on
    one % axis; an epoch without a figure leaves a gap (NaN); blank lines are skipped; a run's
    directory stands for its log.jsonl."""
    pytest.importorskip("matplotlib")
    records = [
        {"epoch": 1, "train_loss": 2.5, "loss": 2.25, "exact_match": 0.125, "bleu": 30.0},
        {"epoch": 2, "train_loss": 1.5, "loss": 1.75, "exact_match": 0.5},
    ]
    (tmp_path / "log.jsonl").write_text(
        "\n".join(json.dumps(r) for r in records) + "\n\n", encoding="utf-8"
    )
    lines = _plotted(monkeypatch)
    viz.plot_log(str(tmp_path), str(tmp_path / "c.png"))
    got = {label: (xs, ys) for label, xs, ys in lines}
    assert got.keys() == {"train loss", "dev loss", "dev exact match", "dev BLEU"}
    assert got["train loss"] == ([1, 2], [2.5, 1.5]) and got["dev loss"] == ([1, 2], [2.25, 1.75])
    assert got["dev exact match"] == ([1, 2], [12.5, 50.0])
    assert got["dev BLEU"][1][0] == 30.0 and math.isnan(got["dev BLEU"][1][1])


def test_plot_log_draws_the_gradient_norms_where_the_log_has_them(tmp_path, monkeypatch):
    """A third panel: each epoch's mean and largest gradient norm, on a log scale."""
    pytest.importorskip("matplotlib")
    from matplotlib.axes import Axes

    records = [
        {"epoch": 1, "train_loss": 2.5, "loss": 2.25, "grad_norm": 3.0, "grad_norm_max": 40.0},
        {"epoch": 2, "train_loss": 1.5, "loss": 1.75, "grad_norm": 1.0, "grad_norm_max": 2.0},
    ]
    (tmp_path / "log.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    scales = []
    monkeypatch.setattr(Axes, "set_yscale", lambda self, scale: scales.append(scale))
    lines = _plotted(monkeypatch)
    viz.plot_log(str(tmp_path), str(tmp_path / "c.png"))
    got = {label: (xs, ys) for label, xs, ys in lines}
    assert got["mean gradient norm"] == ([1, 2], [3.0, 1.0])
    assert got["largest"] == ([1, 2], [40.0, 2.0]) and scales == ["log"]


def test_plot_log_draws_a_log_with_lines_inside_epochs_against_updates(tmp_path, monkeypatch):
    """train --eval-every logs several lines an epoch: they are drawn at their steps, on axes
    labelled "update"; a log of one line per epoch keeps its epochs and their label."""
    pytest.importorskip("matplotlib")
    records = [{"epoch": e, "step": s, "train_loss": 1.0 / s, "loss": 2.0 / s, "grad_norm": s,
                "grad_norm_max": 2 * s} for e, s in ((1, 2), (1, 4), (1, 5), (2, 6))]  # fmt: skip
    (tmp_path / "log.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    lines = _plotted(monkeypatch)
    fig = viz.plot_log(str(tmp_path))
    got = {label: (xs, ys) for label, xs, ys in lines}
    assert got["train loss"] == ([2, 4, 5, 6], [0.5, 0.25, 0.2, 1 / 6])
    assert got["dev loss"][0] == got["largest"][0] == [2, 4, 5, 6]
    assert [ax.get_xlabel() for ax in fig.axes] == ["update"] * 3
    epoch_ends = [records[2] | {"epoch": 1}, records[3] | {"epoch": 2}]
    (tmp_path / "log.jsonl").write_text("\n".join(json.dumps(r) for r in epoch_ends) + "\n")
    fig = viz.plot_log(str(tmp_path))
    assert lines[-1][1] == [1, 2] and [ax.get_xlabel() for ax in fig.axes] == ["epoch"] * 3
    (tmp_path / "log.jsonl").write_text('{"epoch": 1, "step": 2}\n{"epoch": 1}\n')
    with pytest.raises(ValueError, match=r"log.jsonl:2: no \"step\" number, which a log with"):
        viz.plot_log(str(tmp_path))


def test_plot_by_length_draws_each_band_at_its_middle_in_percent(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    lines = _plotted(monkeypatch)
    viz.plot_by_length(CURVES, str(tmp_path / "b.png"))
    assert lines == [
        ("no attention", [5.5, 15.5], [100.0, 25.0]),
        ("attention", [5.5, 15.5], [100.0, 100.0]),
    ]


def test_plot_by_length_labels_every_curve_as_written(tmp_path):
    """matplotlib's legend() leaves out a label that starts with "_" and reads "$...$" as a
    formula ("$$" alone fails to parse): a run named so is still labelled, as written."""
    pytest.importorskip("matplotlib")
    labels = ["_baseline", "$$ model", "attention"]
    fig = viz.plot_by_length({k: CURVES["attention"] for k in labels}, str(tmp_path / "b.png"))
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == labels


def test_a_long_heatmap_is_capped_in_size(tmp_path):
    """100 tokens at 0.45 in each would be 46 in: the longer side is capped at MAX_INCHES."""
    pytest.importorskip("matplotlib")
    out = tmp_path / "a.png"
    tokens = [str(k % 10) for k in range(100)]
    viz.plot_attention(np.full((100, 100), 0.01), tokens, tokens, str(out))
    head = out.read_bytes()[:24]  # the PNG signature, then the IHDR chunk: width, height
    width, height = struct.unpack(">II", head[16:24])
    assert max(width, height) <= viz.MAX_INCHES * 120  # savefig's dpi


def test_attention_text_draws_the_source_tokens_only_and_escapes_them():
    """Weights wider than the source (its </s> or padding) are cut to the source's columns, and
    a token is written as repr writes it (a tab as \\t)."""
    w = [[0.0, 1.0, 1.0], [1.0, 0.0, 1.0]]
    assert viz.attention_text(w, ["\t", "b"], ["x"]).splitlines() == [
        "      \\ b",
        "      t",
        "   x    @",
        "</s>  @",
    ]


def test_a_space_token_is_labelled_on_the_heatmap(tmp_path, monkeypatch):
    """A char model reads and writes " ": its tick shows "␣" (a blank label would hide it);
    tokens with other characters keep their spaces, and text keeps its own form."""
    pytest.importorskip("matplotlib")
    from matplotlib.axes import Axes

    ticks = {}
    set_xticks, set_yticks = Axes.set_xticks, Axes.set_yticks
    monkeypatch.setattr(Axes, "set_xticks",
                        lambda ax, t, labels, **kw: ticks.update(x=list(labels))
                        or set_xticks(ax, t, labels, **kw))  # fmt: skip
    monkeypatch.setattr(Axes, "set_yticks",
                        lambda ax, t, labels, **kw: ticks.update(y=list(labels))
                        or set_yticks(ax, t, labels, **kw))  # fmt: skip
    viz.plot_attention(
        np.full((3, 3), 0.3), ["a", " ", "b c"], ["  ", "x"], str(tmp_path / "a.png")
    )
    assert ticks == {"x": ["a", "\u2423", "b c"], "y": ["\u2423\u2423", "x", "</s>"]}


def test_dollar_signs_in_tokens_are_drawn_as_written(tmp_path):
    """A word model reads "$$" and "$x$" as tokens: matplotlib took "$...$" for math, so "$$"
    failed to parse (the plot raised) and "$x$" showed as an italic x."""
    pytest.importorskip("matplotlib")
    src, out = ["pay", "$$", "$x$"], ["$_$", "now"]
    fig = viz.plot_attention(np.full((3, 3), 0.3), src, out, str(tmp_path / "a.png"))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == src
    assert [t.get_text() for t in ax.get_yticklabels()] == [*out, "</s>"]
    assert not any(t.get_parse_math() for t in ax.get_xticklabels() + ax.get_yticklabels())


def test_a_pgf_path_needs_the_tex_that_writes_it(tmp_path, monkeypatch):
    """matplotlib lists .pgf but writes it through a TeX program: without one, the check passed
    and plot failed after translating, on matplotlib's error."""
    matplotlib = pytest.importorskip("matplotlib")
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    tex = matplotlib.rcParams["pgf.texsystem"]
    with pytest.raises(ValueError, match=rf"--out .*a\.pgf: .pgf is written by {tex}, which"):
        viz.check_image_path("--out", str(tmp_path / "a.pgf"))
    viz.check_image_path("--out", str(tmp_path / "a.pdf"))
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    viz.check_image_path("--out", str(tmp_path / "a.pgf"))


def test_plot_log_skips_a_partial_last_line_and_says_so(tmp_path, monkeypatch):
    """A run killed mid-append leaves half a line at the end of its log (its resume mends it):
    the whole lines are drawn, with a note; a broken line followed by others is still an error."""
    pytest.importorskip("matplotlib")
    records = [{"epoch": e, "train_loss": 1.0 / e, "loss": 2.0 / e} for e in (1, 2)]
    whole = "".join(json.dumps(r) + "\n" for r in records)
    (tmp_path / "log.jsonl").write_text(whole + '{"epoch": 3, "tra')
    lines = _plotted(monkeypatch)
    with pytest.warns(UserWarning, match=r"log.jsonl:3: skipped a partial last line \(a run "):
        viz.plot_log(str(tmp_path))
    assert {label: xs for label, xs, _ in lines}["train loss"] == [1, 2]
    (tmp_path / "log.jsonl").write_text('{"epoch": 3, "tra\n' + whole)
    with pytest.raises(ValueError, match=r"log.jsonl:1: not a JSON line"):
        viz.plot_log(str(tmp_path))
