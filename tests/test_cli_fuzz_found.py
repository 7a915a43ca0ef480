"""What a fuzzer of the command line found (every command, a few of its options, each given a
plausible mistake: 0, -1, nan, a huge number, a missing path, a file of garbage): each a command
line that gave a traceback or Python's own multi-line warnings instead of one line of minis2s's.
One test per finding; its docstring is the command line."""

import pytest

from minis2s.cli import main

TSV = "".join(f"{s}\t{s[::-1]}\n" for s in ("a b", "c", "b c a", "a", "c b", "a a b", "b", "c c"))
TINY = ["--epochs", "1", "--hidden", "8", "--emb", "8", "--quiet", "--show", "0"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("fuzz-found") / "tiny.tsv"
    path.write_text(TSV)
    return str(path)


@pytest.fixture(scope="module")
def run(corpus, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("fuzz-found-run") / "run"
    assert main(["train", "--data", corpus, *TINY, "--out", str(out)]) == 0
    return str(out)


def test_by_length_wider_than_any_int64_is_one_band(run, corpus, capsys):
    """minis2s evaluate --checkpoint RUN --data tiny.tsv --by-length 99999999999999999999

    raised OverflowError (Python int too large to convert to C long) from NumPy's `(L - 1) //
    width`; a width above the longest source puts every sentence in its first band, 1..W."""
    W = 10**20
    assert main(["evaluate", "--checkpoint", run, "--data", corpus, "--by-length", str(W)]) == 0
    out = capsys.readouterr().out
    exact_match = float(out.split("exact_match\t")[1].split()[0])
    band = out.split("exact_match by source length")[1].splitlines()[-1].split()
    assert band[:2] == [f"1-{W}", str(len(TSV.splitlines()))], out
    assert float(band[2]) == exact_match


@pytest.mark.parametrize(
    "option,status",
    [
        ("--lr", 2),  # diverges: refused at the first nan loss, after NumPy's warnings
        ("--init-scale", 2),
    ],
)
def test_a_float_overflow_is_one_note_naming_the_numbers_given(
    corpus, tmp_path, capsys, option, status
):
    """minis2s train --data tiny.tsv --epochs 1 ... --lr 99999999999999999999 (and --init-scale:
    the same number; --weight-decay's is refused before training, test_weight_decay_bounds.py)

    printed NumPy's RuntimeWarnings as Python does (`.../layers/_gemm.py:12: RuntimeWarning:
    overflow encountered in matmul` and the source line under it, several times) before the
    one-line refusal. Now one note, naming the option."""
    huge = "99999999999999999999"
    argv = ["train", "--data", corpus, *TINY, "--out", str(tmp_path / "run"), option, huge]
    assert main(argv) == status
    lines = capsys.readouterr().err.strip().splitlines()
    notes = [line for line in lines if line.startswith("minis2s train: note: ")]
    assert len(notes) == 1 and f"{option} {huge}" in notes[0], lines
    assert all(line.startswith("minis2s train: ") for line in lines), lines
