"""Shared by the examples: sizes (MINIS2S_QUICK=1 makes every example a seconds-long smoke run,
as the test suite does) and a printer of translations."""

import os
import sys

# an example run as a script (not a notebook's kernel, whose argv is its own) takes no
# arguments: `--help` would otherwise run the whole example, minutes long
_script = os.path.abspath(sys.argv[0]) if sys.argv and os.path.isfile(sys.argv[0]) else ""
if os.path.dirname(_script) == os.path.dirname(os.path.abspath(__file__)) and sys.argv[1:]:
    _name = os.path.basename(_script)
    raise SystemExit(f"{_name} takes no arguments (got {' '.join(sys.argv[1:])}): what it does is "
                     f"in its docstring; MINIS2S_QUICK=1 python examples/{_name} runs it at "
                     "smoke-test size")  # fmt: skip
_QUICK = os.environ.get("MINIS2S_QUICK", "")
if _QUICK not in ("", "0", "1"):  # "true" would silently run the full example, minutes long
    raise SystemExit(f"MINIS2S_QUICK={_QUICK}: set it to 1 for a seconds-long smoke run, or to 0 "
                     "(or leave it unset) for the full example")  # fmt: skip
QUICK = _QUICK == "1"


def sizes(epochs: int, train_size: int | None = None) -> dict:
    """Training sizes for an example: its real ones, or tiny ones under MINIS2S_QUICK=1."""
    if QUICK:
        return {"epochs": 1, "train_size": 64, "dev_size": 16, "test_size": 16}
    return {"epochs": epochs, "train_size": train_size, "dev_size": 1000, "test_size": 1000}


def quick_splits(data):
    """`data` as loaded, or under MINIS2S_QUICK=1 with its dev and test splits cut to their first
    16 pairs. Why: every evaluation takes the dev loss over the whole dev split, and a task's
    1000 dev pairs made most of a smoke run's time while its training saw 64 pairs."""
    if not QUICK:
        return data
    return data._replace(dev=data.dev[:16], test=data.test[:16])


def show(translator, pairs, n: int = 5, **decode) -> None:
    """Print n source -> output (reference) lines, ok/ERR as `minis2s train --show` prints them."""
    from minis2s.command_translations import show_translations

    outs = translator.translate([s for s, _ in pairs[:n]], **decode)
    show_translations(translator, pairs[:n], [t[0] if isinstance(t, list) else t for t in outs])


def write_splits(name: str, make_pair, n_train: int) -> tuple[str, dict]:
    """Write a made-up corpus as train/dev/test TSV files (n_train, 300 and 1000 pairs of
    make_pair(), in that order; 200, 16 and 16 under MINIS2S_QUICK=1) into a new temporary
    directory named after the example: (the directory, {split: path})."""
    import tempfile

    from minis2s.data.corpus import write_tsv

    out = tempfile.mkdtemp(prefix=f"minis2s-{name}-")
    files = {}
    for split, n in (("train", 200 if QUICK else n_train), ("dev", 16 if QUICK else 300),
                     ("test", 16 if QUICK else 1000)):  # fmt: skip
        files[split] = os.path.join(out, f"{split}.tsv")
        write_tsv(files[split], [make_pair() for _ in range(n)])
    return out, files
