"""Mutation pass over the pictures and tables a user reads: viz.py (the attention heatmap, the
training curves, exact match by length), viz_log.py (what plot_log reads of a log.jsonl),
models/summary.py (Seq2Seq.summary), bench/report.py, bench/timing.py, bench/layers.py,
wording.py, cli_options.py and cli_parser.py (the argparse types and defaults). Each test kills
a hand-made mutant that the suite let live, named in its docstring; what a plot drew is read
back from its Figure and Axes, and every expected value is worked out by hand or by NumPy,
never by the code under test."""

from __future__ import annotations

import json

import numpy as np
import pytest

from minis2s import viz, viz_log
from minis2s.metrics import Band
from minis2s.models import ModelConfig, Seq2Seq

pytest.importorskip("matplotlib")

W = np.array(
    [[0.7, 0.2, 0.1, 0.0], [0.1, 0.1, 0.3, 0.5], [0.0, 0.0, 0.4, 0.6]]
)  # (T_out 3, S 4), none 1
SRC, TGT = ["a", "b", "c", "d"], ["x", "y", "z"]


# --- viz.py: the attention heatmap ----------------------------------------------------------------


def test_the_heatmap_draws_outputs_down_and_source_tokens_across_on_a_fixed_0_to_1_scale():
    """Kills `ax.imshow(w.T, ...)` (source down, outputs across: a (3, 4) grid drawn (4, 3)),
    `imshow` without vmax=1.0 (the colours stretched to the largest weight, so a row that is
    0.5 at most looks as sure as a one-hot one) and the axis labels swapped ("output" across)."""
    fig = viz.plot_attention(W, SRC, TGT)
    ax = fig.axes[0]
    (image,) = ax.get_images()
    assert np.array_equal(np.asarray(image.get_array()), W)  # row t: where output t looked
    assert image.get_clim() == (0.0, 1.0)
    assert [t.get_text() for t in ax.get_xticklabels()] == SRC
    assert [t.get_text() for t in ax.get_yticklabels()] == TGT
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("source", "output")


def test_the_heatmap_gives_each_token_0_45_inches_and_shrinks_its_labels_with_its_cells():
    """Kills `1 + 0.9 * n` for the 0.45 in a token (a 5-token source 5.5 in wide, not 3.25)
    and `size = 10.0` (the labels of a capped heatmap keep their size while the cells shrink,
    so they overlap). By hand: 5 tokens by 2 rows is (max(2.5, 1 + 2.25), max(2.5, 1.9)) =
    (3.25, 2.5) in, unshrunk, labels at 10 pt; 60 by 60 tokens would be 28 in, so shrink =
    24 / 28 and the labels are 10 * 24 / 28 pt."""
    fig = viz.plot_attention(np.full((2, 5), 0.2), list("abcde"), ["x", "y"])
    assert fig.get_size_inches() == pytest.approx([3.25, 2.5])
    assert {t.get_fontsize() for t in fig.axes[0].get_xticklabels()} == {10.0}
    tokens = [str(k % 10) for k in range(60)]
    fig = viz.plot_attention(np.full((60, 60), 1 / 60), tokens, tokens)
    assert fig.get_size_inches() == pytest.approx([24.0, 24.0])
    ax = fig.axes[0]
    sizes = [t.get_fontsize() for t in ax.get_xticklabels() + ax.get_yticklabels()]
    assert sizes == pytest.approx([10 * 24 / 28] * 120)


# --- viz.py: plot_log and plot_by_length ----------------------------------------------------------


def _log(tmp_path, records, text=None):
    (tmp_path / "log.jsonl").write_text(
        text if text is not None else "".join(json.dumps(r) + "\n" for r in records),
        encoding="utf-8",
    )
    return str(tmp_path / "log.jsonl")


def test_plot_log_labels_the_loss_axis_and_counts_epochs_in_whole_numbers(tmp_path):
    """Kills the loss panel's y label written "%" (the metric panel's) and
    `set_params(integer=False)`: two epochs on a default locator get ticks 1.0, 1.2, ... 2.0,
    half of them between epochs; with integer=True every tick is a whole number."""
    records = [{"epoch": e, "train_loss": 3.0 - e, "loss": 3.5 - e, "exact_match": e / 10}
               for e in (1, 2)]  # fmt: skip
    path = _log(tmp_path, records)
    fig = viz.plot_log(path)
    ax_loss, ax_metric = fig.axes
    assert (ax_loss.get_ylabel(), ax_metric.get_ylabel()) == ("cross-entropy per token", "%")
    for ax in fig.axes:
        ticks = ax.get_xticks()
        assert len(ticks) >= 2 and np.array_equal(ticks, np.round(ticks))


def test_plot_log_with_gradient_norms_is_15_inches_wide(tmp_path):
    """Kills `figsize=(10, 4)` whatever the panels: a third panel (the gradient norms) gets
    its own 5 in, 15 in for three as 10 in for two."""
    path = _log(tmp_path, [{"epoch": 1, "train_loss": 2.0, "loss": 2.5, "grad_norm": 1.0}])
    fig = viz.plot_log(path)
    assert len(fig.axes) == 3 and fig.get_size_inches() == pytest.approx([15.0, 4.0])
    path = _log(tmp_path, [{"epoch": 1, "train_loss": 2.0, "loss": 2.5}])
    assert viz.plot_log(path).get_size_inches() == pytest.approx([10.0, 4.0])


def test_plot_by_length_shows_the_whole_percent_range():
    """Kills `ax.set_ylim(-3, 3)`: exact match runs 0 .. 100 %, drawn with 3 points spare each
    side so a curve at 0 or 100 is not cut by the frame."""
    fig = viz.plot_by_length({"m": [Band(1, 10, 5, 1.0), Band(11, 20, 4, 0.25)]})
    assert fig.axes[0].get_ylim() == (-3.0, 103.0)


# --- viz_log.py ---------------------------------------------------------------------------------


def test_a_step_of_true_is_no_update_number(tmp_path):
    """Kills dropping `or isinstance(step, bool)`: JSON true is a Python bool, an int to
    isinstance, and would be drawn at update 1."""
    path = _log(tmp_path, [{"epoch": 1, "step": 2}, {"epoch": 1, "step": True}])
    records, numbers = viz_log.read_epochs(path)
    with pytest.raises(ValueError, match=r"log.jsonl:2: no \"step\" number"):
        viz_log.x_axis(path, records, numbers)


def test_a_kept_steps_checkpoint_names_its_runs_log(tmp_path):
    """Kills matching the folder "step" for "steps": a checkpoint kept at runs/x/steps/step-N
    (train --keep-steps) is two folders below its run, whose log.jsonl the refusal names."""
    run = tmp_path / "x"
    ckpt = run / "steps" / "step-0000100"
    ckpt.mkdir(parents=True)
    (ckpt / "state.json").write_text("{}")
    (run / "log.jsonl").write_text('{"epoch": 1}\n')
    with pytest.raises(FileNotFoundError, match="its run's log is " + str(run / "log.jsonl")):
        viz_log.log_file(str(ckpt))


def test_a_line_whose_epoch_is_not_a_number_is_refused(tmp_path):
    """Kills `"epoch" in record` for `isinstance(record.get("epoch"), int)`: an epoch "1" (a
    string) is no epoch number, and would be drawn at x "1" among numbers."""
    path = _log(tmp_path, [{"epoch": 1}, {"epoch": "2"}])
    with pytest.raises(ValueError, match=r"log.jsonl:2: not an epoch of a run's log"):
        viz_log.read_epochs(path)


def test_a_log_of_blank_lines_holds_no_epochs(tmp_path):
    """Kills skipping `if not records`: a log of blank lines returns no records, which plot_log
    would draw as empty axes instead of saying there is nothing yet."""
    path = _log(tmp_path, [], text="\n\n")
    with pytest.raises(ValueError, match="holds no epochs yet"):
        viz_log.read_epochs(path)


# --- models/summary.py --------------------------------------------------------------------------


def test_the_summary_total_counts_a_shared_matrix_once():
    """Kills adding dec.emb.W's size again for each role it stands in for: with
    share_embeddings and tie_embeddings the total is the sum over the distinct arrays, and the
    table lists no enc.emb.W or out.W. By NumPy: the sizes of the model's parameters."""
    cfg = ModelConfig(9, 9, emb=5, hidden=5, share_embeddings=True, tie_embeddings=True)
    model = Seq2Seq(cfg, seed=0)
    assert "enc.emb.W" not in model.params and "out.W" not in model.params
    want = int(np.sum([np.size(a) for a in model.params.values()]))
    lines = model.summary().splitlines()
    assert lines[-2].split() == ["total", f"{want:,}"]


def test_the_summary_says_what_is_shared_before_that_the_source_is_reversed():
    """Kills writing the reversed line before the shared one: the lines after the total come in
    the order the docstring gives (shared, then reversed)."""
    cfg = ModelConfig(9, 9, emb=5, hidden=5, share_embeddings=True, reverse_source=True)
    lines = Seq2Seq(cfg, seed=0).summary().splitlines()
    assert lines[-3].split()[0] == "total"
    assert lines[-2].startswith("shared: ") and lines[-1].startswith("reversed: ")


# --- bench/report.py, bench/timing.py -----------------------------------------------------------

INFO = {
    "gemm_peak_gflops": 100.0,
    "gemm_peak_n": 1024,
    "torch": "n/a",
    "blas_threads": 2,
    "numpy": "2.0",
    "cpus": 2,
}  # fmt: skip  (what bench.report._head reads, by hand)


def _row(ms: float, torch_ms: float | None = None) -> dict:
    from minis2s.bench.report import make_row

    return make_row("x", "numpy", "float32", "N=1", ms, sequences=2, tokens=8, flops=4e6,
                    peak=10.0, torch_ms=torch_ms)  # fmt: skip


def test_merged_rounds_take_the_median_ms_not_the_mean():
    """Kills `statistics.mean` for the rows' ms: of 1, 2 and 9 ms (one round hit by a burst of
    load) the median is 2 ms, the mean 4; the rates follow: 4e6 flops in 2 ms is 2 GFLOP/s."""
    from minis2s.bench.report import merge_rounds

    (row,) = merge_rounds([[_row(1.0)], [_row(2.0)], [_row(9.0)]], {"cpu": 10.0})
    assert row["ms"] == 2.0 and row["gflops"] == pytest.approx(2.0)
    assert row["seq_per_s"] == pytest.approx(1000.0) and row["peak_frac"] == pytest.approx(0.2)


def test_the_table_writes_ms_and_peak_with_two_decimals_and_right_aligns_the_figures():
    """Kills ms written with 1 decimal ("1.2" for 1.234 ms: two rows 0.04 ms apart read the
    same), the peak fraction with none (0.3 of the peak written "0") and every column
    right-aligned: the four text columns align left ("---"), the seven figures right ("---:").
    By hand: 4e6 flops in 1.234 ms is 3.2415 GFLOP/s, 0.32 of a 10 GFLOP/s peak."""
    from minis2s.bench.report import markdown

    lines = markdown([_row(1.234, torch_ms=2.5)], INFO).splitlines()
    assert lines[3] == "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|"
    cells = [c.strip() for c in lines[4].strip("|").split("|")]
    assert cells == ["x", "numpy", "float32", "N=1", "1.23", "1,621", "6,483", "3.2", "0.32",
                     "2.50", "2.03"]  # fmt: skip


def test_the_wall_clock_counts_milliseconds():
    """Kills WallClock.ms returning seconds: a call that sleeps 30 ms takes at least 30 (a
    loaded machine may make it longer, never shorter)."""
    import time

    from minis2s.bench.timing import WALL

    assert 30.0 <= WALL.ms(lambda: time.sleep(0.03)) < 3e3


# --- cli_options.py, cli_parser.py ----------------------------------------------------------------


def test_top_p_of_1_is_the_whole_distribution():
    """Kills `0 < value < 1` in positive_fraction: --top-p 1 keeps every token (plain
    sampling), the upper end of (0, 1]."""
    from minis2s.cli_types import positive_fraction

    assert positive_fraction("1") == 1.0 and positive_fraction("0.5") == 0.5


def test_a_negative_zero_is_written_as_zero():
    """Kills dropping `+ 0.0` in non_negative_float: "-0" passes the >= 0 check as -0.0, which
    a config or message would then print as "-0.0"."""
    import math

    from minis2s.cli_types import non_negative_float

    value = non_negative_float("-0")
    assert value == 0.0 and math.copysign(1.0, value) == 1.0


@pytest.mark.parametrize("flag", ["--seed", "--eval-every"])
def test_train_refuses_a_negative_seed_or_eval_every(flag, capsys):
    """Kills dropping `typ = non_negative_int if f.name in ("seed", "eval_every")`: a plain int
    takes -1, which NumPy's seeding refuses only later, and eval_every -1 is no schedule."""
    from minis2s.cli_parser import build_parser

    parser = build_parser()
    assert parser.parse_args(["train", "--task", "reverse", flag, "0"]) is not None
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--task", "reverse", flag, "-1"])
    assert "must be an integer >= 0" in capsys.readouterr().err


def test_score_batches_64_pairs_as_its_help_says():
    """Kills score's --batch-size default changed away from the 64 its help names."""
    from minis2s.cli_parser import build_parser

    args = build_parser().parse_args(["score", "--checkpoint", "r", "--task", "reverse"])
    assert args.batch_size == 64
