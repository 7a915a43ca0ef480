"""Pictures: the attention heatmap of one translation (also as text, for a terminal), a run's
training curves, and exact match against source length.

matplotlib is an optional extra (`pip install 'minis2s[plot]'`), imported on use. The plots are
matplotlib Figures made without pyplot: no backend is chosen and no global list keeps them, so
they render without a display and leave a notebook's own plotting as it was. Each plot function
returns its Figure (a notebook shows it inline, as it shows one of its own) and, given `out`,
writes it to that file. What plot_log reads of a run's log.jsonl, and the refusals of a path
that holds none, are in viz_log.py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from minis2s import viz_log


def _figure(**kw: Any) -> Any:
    """A new matplotlib Figure (keywords as Figure's: figsize ...), not made through pyplot."""
    try:
        import matplotlib  # noqa: F401  (first: what a missing install fails on)
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("plots need matplotlib: pip install 'minis2s[plot]'") from e
    return Figure(**kw)


def _save(fig: Any, out: str | None) -> Any:
    fig.tight_layout()
    if out is not None:
        fig.savefig(out, dpi=120)
    return fig


def _check_out(where: str, out: Any) -> None:
    """A path `out` is one `check_image_path` takes, checked before drawing (a file object,
    which savefig also takes, is the caller's; anything else, savefig's AttributeError after
    drawing)."""
    if isinstance(out, str | os.PathLike):
        check_image_path(f"{where}: out", os.fspath(out))
    elif out is not None and not callable(getattr(out, "write", None)):
        raise ValueError(
            f"{where}: out is {type(out).__name__} {out!r:.40}; give an image path "
            "('attention.png'), a file opened for writing bytes, or leave it out"
        )


def check_image_path(option: str, path: str) -> None:
    """ValueError unless matplotlib can write an image at `path`: an extension it knows (without
    one, savefig would write `path`.png, another file than the one asked for) in a directory
    that exists (NotADirectoryError where a folder above `path` is a file)."""
    ext = os.path.splitext(path)[1][1:].lower()
    formats = _figure().canvas.get_supported_filetypes()
    if ext not in formats:
        got = f"'.{ext}' is not an image format matplotlib writes" if ext else "has no extension"
        raise ValueError(f"{option} {path}: {got}; end it in one of "
                         f"{', '.join('.' + f for f in sorted(formats))}")  # fmt: skip
    if ext == "pgf":  # listed, but written through a TeX program (for the text's sizes)
        import shutil

        import matplotlib

        tex = matplotlib.rcParams["pgf.texsystem"]
        if shutil.which(tex) is None:
            raise ValueError(f"{option} {path}: .pgf is written by {tex}, which is not "
                             "installed; install it, or end the path in .pdf or .svg")  # fmt: skip
    from minis2s.bench.report import check_writable

    check_writable(option, path)


MAX_INCHES = 24.0  # a heatmap's longest side: 0.45 in a token would make a 100-token one 46 in


def plot_attention(
    weights: np.ndarray,
    src_tokens: Sequence[str],
    tgt_tokens: Sequence[str],
    out: str | None = None,
) -> Any:
    """Heatmap of weights (T_out, S): row t is where output token t looked in the source.

    A row beyond `tgt_tokens` (the step that produced EOS) is labelled </s>. Returns the
    Figure, written to `out` when given.
    """
    w, src, rows = _attention_grid("plot_attention", weights, src_tokens, tgt_tokens)
    _check_out("plot_attention", out)
    src, rows = ([_visible(t) for t in labels] for labels in (src, rows))
    width, height = (max(2.5, 1 + 0.45 * n) for n in (w.shape[1], w.shape[0]))  # inches
    shrink = min(1.0, MAX_INCHES / max(width, height))  # the labels shrink with the cells
    fig = _figure(figsize=(width * shrink, height * shrink))
    ax = fig.subplots()
    ax.imshow(w, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    size = max(2.0, 10 * shrink)
    text = {"fontsize": size, "parse_math": False}  # a token "$$" is text, not a formula
    ax.set_xticks(range(w.shape[1]), src, rotation=90, **text)
    ax.set_yticks(range(w.shape[0]), rows, **text)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    return _save(fig, out)


def _visible(label: str) -> str:
    """A tick label that shows: a token of spaces (a char model's " ") as that many "␣" (U+2423,
    which matplotlib's default font has), which would otherwise leave its tick unlabelled."""
    return label.replace(" ", "\u2423") if label and label.strip(" ") == "" else label


def _attention_grid(
    where: str, weights: Any, src_tokens: Sequence[str], tgt_tokens: Sequence[str]
) -> tuple[np.ndarray, list[str], list[str]]:
    """(weights (T_out, S) as a NumPy array, the source tokens' labels, a label per row: the
    output tokens, then </s> for the step that produced EOS), tokens written as repr writes
    them inside its quotes (a tab as \\t). ValueError, naming `where`, for no weights (a model
    without attention) or fewer columns than source tokens (wider weights are cut: padding)."""
    if weights is None:
        raise ValueError(
            f"{where}: weights is None: the translation has no attention weights, as its model "
            "has no attention (attention='none'); train a model with --attention to see them"
        )
    w = np.asarray(weights)
    if w.dtype.kind not in "biuf":  # strings: matplotlib's TypeError, after the figure was made
        raise ValueError(
            f"{where}: weights has dtype {w.dtype}; give the (T_out, S) attention weights, "
            "numbers: a Translation's attention"
        )
    if w.ndim != 2 or w.shape[1] < len(src_tokens):
        raise ValueError(
            f"{where}: weights has shape {w.shape}, expected (T_out, S) with a column for each "
            f"of the {len(src_tokens)} source tokens: a Translation's attention, with its "
            "src_tokens and tokens"
        )
    w = w[:, : len(src_tokens)]
    rows = list(tgt_tokens) + ["</s>"] * (w.shape[0] - len(tgt_tokens))
    src, rows = ([repr(t)[1:-1] for t in tokens] for tokens in (src_tokens, rows[: w.shape[0]]))
    return w, src, rows


SHADES = " .:-=+*#%@"  # attention weight 0 .. 1, in tenths


def attention_text(
    weights: np.ndarray, src_tokens: Sequence[str], tgt_tokens: Sequence[str]
) -> str:
    """The heatmap of plot_attention as text: one row per output token (</s> for the step that
    produced EOS), one column per source token, written downwards above its column, and each
    weight w as SHADES[round(9 w)]: " " for 0, "@" for 1. Needs no matplotlib.

    weights (T_out, S) as in plot_attention.
    """
    w, src, labels = _attention_grid("attention_text", weights, src_tokens, tgt_tokens)
    src = [t or "''" for t in src]  # a space shows as a space; "" as ''
    left = max([len(t) for t in labels] + [1]) + 2
    tall = max(len(t) for t in src)
    lines = [" " * left + " ".join(t[k] if k < len(t) else " " for t in src) for k in range(tall)]
    for label, row in zip(labels, w, strict=True):
        cells = " ".join(SHADES[int(np.rint(9 * min(max(x, 0.0), 1.0)))] for x in row)
        lines.append(f"{label:>{left - 2}}  {cells}")
    return "\n".join(line.rstrip() for line in lines)


def plot_log(log_path: str, out: str | None = None) -> Any:
    """Training loss, dev loss and the dev metrics per evaluation from a run's log.jsonl (or the
    run directory that holds it), and where the log has them, the gradient norms before clipping
    (each line's mean and largest, on a log scale: a gradient that explodes shows as a jump).
    Against epochs, or against updates (the lines' "step") where an epoch has several lines
    (train --eval-every). Returns the Figure, written to `out` when given."""
    if not isinstance(log_path, str | os.PathLike):  # os.path.join's TypeError named nothing
        raise ValueError(
            f"plot_log: log_path is {type(log_path).__name__} {log_path!r:.40}; give a run "
            "directory or its log.jsonl, as a str or pathlib.Path"
        )
    log_path = viz_log.log_file(log_path)
    _check_out("plot_log", out)
    records, numbers = viz_log.read_epochs(log_path)
    xs, x_label = viz_log.x_axis(log_path, records, numbers)
    grads = any("grad_norm" in r for r in records)  # logs from before they were logged: none
    fig = _figure(figsize=(15 if grads else 10, 4))
    axes = fig.subplots(1, 3 if grads else 2)
    _draw_curves(axes, records, xs, x_label)
    for ax in axes:
        ax.xaxis.get_major_locator().set_params(integer=True)  # epochs, updates: whole numbers
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    return _save(fig, out)


def _draw_curves(axes: Any, records: list[dict[str, Any]], xs: list[int], x_label: str) -> None:
    """The losses on axes[0], the dev metrics on axes[1] and, where there is an axes[2], the
    gradient norms; a key no record has draws no line."""

    def curve(key: str, scale: float = 1.0) -> list[float] | None:
        if not any(key in r for r in records):
            return None
        return [scale * r[key] if key in r else float("nan") for r in records]

    ax_loss, ax_metric = axes[:2]
    for key, label in (("train_loss", "train loss"), ("loss", "dev loss")):
        if (ys := curve(key)) is not None:
            ax_loss.plot(xs, ys, marker="o", label=label)
    ax_loss.set_xlabel(x_label)
    ax_loss.set_ylabel("cross-entropy per token")
    # exact match is a fraction, BLEU a percentage: both as percentages on one axis
    for key, scale, label in (("exact_match", 100.0, "dev exact match"), ("bleu", 1.0, "dev BLEU")):
        if (ys := curve(key, scale)) is not None:
            ax_metric.plot(xs, ys, marker="o", label=label)
    ax_metric.set_xlabel(x_label)
    ax_metric.set_ylabel("%")
    if len(axes) > 2:
        ax_grad = axes[2]
        for key, label in (("grad_norm", "mean gradient norm"), ("grad_norm_max", "largest")):
            if (ys := curve(key)) is not None:
                ax_grad.plot(xs, ys, marker="o", label=label)
        ax_grad.set_yscale("log")
        ax_grad.set_xlabel(x_label)
        ax_grad.set_ylabel("global gradient norm, before clipping")


def plot_by_length(curves: dict[str, Sequence[Any]], out: str | None = None) -> Any:
    """Exact match (%) against source length, one line per model. `curves` maps a label to its
    bands (`metrics.Band`s, as `Translator.evaluate(pairs, by_length=W)["by_length"]` gives
    them); each band is drawn at the middle of its lengths. Returns the Figure, written to `out`
    when given."""
    if not isinstance(curves, Mapping):
        raise ValueError(
            f"plot_by_length: curves is {type(curves).__name__} {curves!r:.40}; give a dict "
            "{label: bands}, each bands as evaluate(pairs, by_length=W)['by_length'] gives them"
        )
    for label, bands in curves.items():  # not an AttributeError of b.lo from inside the drawing
        if not isinstance(bands, Sequence) or not all(
            hasattr(b, "lo") and hasattr(b, "hi") and hasattr(b, "exact_match") for b in bands
        ):
            raise ValueError(
                f"plot_by_length: curves[{label!r}] is {type(bands).__name__} {bands!r:.40}; give "
                "its bands (metrics.Band), as evaluate(pairs, by_length=W)['by_length'] gives them"
            )
    _check_out("plot_by_length", out)
    fig = _figure(figsize=(6, 4))
    ax = fig.subplots()
    lines = []
    for label, bands in curves.items():
        middles = [(b.lo + b.hi) / 2 for b in bands]
        lines += ax.plot(middles, [100 * b.exact_match for b in bands], marker="o", label=label)
    ax.set_xlabel("source length (tokens, middle of each band)")
    ax.set_ylabel("exact match (%)")
    ax.set_ylim(-3, 103)
    ax.grid(alpha=0.3)
    # the labels given, not ax.legend()'s pick: that drops a label starting with "_", and so
    # does legend(lines, labels) before matplotlib 3.10: placeholders, then the labels' text
    legend = ax.legend(lines, ["-"] * len(lines))
    for text, label in zip(legend.get_texts(), curves, strict=True):
        text.set_text(str(label))
        text.set_parse_math(False)  # a label "$5 model" is text, not a formula
    return _save(fig, out)
