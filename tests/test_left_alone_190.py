"""Items left alone by earlier passes (helper-190): `average` of one checkpoint refused in the
words of the interface used (Python's `paths`, the command line's --last / --checkpoint); train's
test figures and plot note outputs cut at the maximum length with translate's note_cut; the size
checks of a beam made before decoding (translate's, the command line's, beam_search's own) check
the width the search runs at (beam.widest), not the one typed. Each test fails on the code before
its change."""

import re

import pytest

from minis2s.api import Translator
from minis2s.cli import main
from minis2s.data.tasks import get_task
from minis2s.train.average import average
from tests.tiny_run import never_ending, train_tiny

# the limit train and plot decode with, which they have no options to set
DEFAULTS = "2 x source length + 10, the defaults of translate's --max-len-a and --max-len-b"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny reverse-digits run keeping its one scored checkpoint in steps/ (step-0000002)."""
    return train_tiny(tmp_path_factory.mktemp("left-alone-190") / "r", "--keep-checkpoints", "2")


def test_average_of_one_checkpoint_is_refused_in_python_words(run, tmp_path):
    """It said `(--last K of 2 or more)` and `cp -r`, words of a command not run."""
    one, out = str(run / "best"), str(tmp_path / "avg")
    with pytest.raises(ValueError) as e:
        average([one], out)
    said = str(e.value)
    assert said.startswith(f"average: paths holds one checkpoint ({one}); a mean needs two"), said
    assert f"shutil.copytree({one!r}, {out!r})" in said, said
    assert "--" not in said and "cp -r" not in said, said


def test_last_1_is_refused_by_the_command_in_its_words(run, tmp_path, capsys):
    """--run R --last 1 went through to the Python refusal; now the command's own: --last 2."""
    out = tmp_path / "avg"
    assert main(["average", "--run", str(run), "--last", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    newest = run / "steps" / "step-0000002"
    assert "error: --last 1: a mean needs two or more checkpoints; give --last 2 or more" in err
    assert f"`cp -r {newest} {out}`" in err and "paths" not in err, err
    assert not out.exists()


def test_last_1_of_no_run_says_so_first(tmp_path, capsys):
    """The run's own refusal comes before --last 1's: there is nothing to copy."""
    nope = tmp_path / "nope"
    assert main(["average", "--run", str(nope), "--last", "1", "--out", "x"]) == 2
    assert f"error: --run {nope}: no such directory" in capsys.readouterr().err


def test_one_checkpoint_option_is_refused_by_the_command_in_its_words(run, tmp_path, capsys):
    one, out = run / "best", tmp_path / "avg"
    assert main(["average", "--checkpoint", str(one), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert (
        f"error: --checkpoint {one} given once: a mean needs two or more; give --checkpoint "
        "again for each" in err
    ), err
    assert f"`cp -r {one} {out}`" in err and "paths" not in err, err


def _limit_holds(note: str, tr: Translator, source: str) -> None:
    """The limit `note` names, a x source length + b, is the length of `source`'s cut output."""
    a, b = map(float, re.search(r"\((\S+) x source length \+ (\S+),", note).groups())
    t = tr.translate([source])[0]
    assert not t.ended and len(t.tokens) == a * len(t.src_tokens) + b, (t, note)


def test_train_notes_its_cut_test_outputs(tmp_path, capsys):
    """A barely trained model that never chooses </s> scored 0 with no word of why; evaluate
    of the same run said 'K of the N outputs reached the maximum length'. 256 pairs, 16 units:
    every test output runs on to the limit (checked below, by translating them again)."""
    run = train_tiny(tmp_path / "r", "--train-size", "256", "--hidden", "16")
    err = capsys.readouterr().err
    tr = Translator.load(str(run))
    sources = [s for s, _ in get_task("reverse-digits").generate(seed=0)["test"]]
    cut, n = sum(not t.ended for t in tr.translate(sources)), len(sources)
    assert cut > 0, "the run ends its outputs: no cut to note"
    said = rf"note: {cut} of the {n} outputs \(\d+%\) reached the maximum length \((.+?)\)"
    note = re.search(said + r" without </s>: cut there\n", err)
    assert note and note[1] == DEFAULTS, err
    _limit_holds(note[0], tr, sources[0])


def test_plot_names_the_limit_its_output_was_cut_at(tmp_path, capsys):
    """plot said 'the output reached the maximum length without </s>', naming no limit, in
    words of its own; now translate's, with the defaults it decodes with."""
    run = train_tiny(tmp_path / "r")
    no_eos = never_ending(run, tmp_path / "no-eos")
    capsys.readouterr()
    png = tmp_path / "a.png"
    assert main(["plot", "--checkpoint", str(no_eos), "--sentence", "1234", "--out", str(png)]) == 0
    err = capsys.readouterr().err
    note = f"note: the output reached the maximum length ({DEFAULTS}) without </s>: cut there\n"
    assert note in err, err
    _limit_holds(note, Translator.load(str(no_eos)), "1234")


# --- a beam checked at the width the search runs ----------------------------------------------

HUGE = 10**12  # 10**12 x V float64 log-probabilities: more memory than any machine has


def test_a_huge_beam_the_search_narrows_is_decoded(run, capsys):
    """V tokens and outputs of 3 at most (--max-len-a 0 --max-len-b 3): a step's candidates are
    at most (V - 2) (V - 3)^2, and the search runs half of them a sentence; --beam 10**12 was
    refused as 10**12 hypotheses though the search never holds more."""
    tr = Translator.load(str(run))
    V = tr.model.cfg.tgt_vocab
    assert 8 * (V - 2) * (V - 3) ** 2 < 2**30 < 8 * HUGE * V  # searched: fits; typed: not
    argv = ["translate", "--checkpoint", str(run), "--beam", str(HUGE), "--max-len-a", "0",
            "--max-len-b", "3", "123"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    assert len(capsys.readouterr().out.splitlines()) == 1
    (t,) = tr.translate(["123"], method="beam", beam_size=HUGE, max_len_a=0, max_len_b=3)
    assert len(t.tokens) <= 3


def test_a_huge_beam_the_search_cannot_narrow_is_refused_before_decoding(run, capsys):
    """Outputs of 12: (V - 2) (V - 3)^11 candidates, far past 2 x 10**12, so the search would
    run all 10**12: refused as before, in the command's words."""
    argv = ["translate", "--checkpoint", str(run), "--beam", str(HUGE), "--max-len-a", "0",
            "--max-len-b", "12", "123"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"(--beam {HUGE}: 1 x {HUGE} hypotheses of " in err, err
    with pytest.raises(MemoryError, match=rf"^translate: beam_size={HUGE}: 1 x {HUGE} hyp"):
        Translator.load(str(run)).translate(["123"], method="beam", beam_size=HUGE, max_len_b=12,
                                            max_len_a=0)  # fmt: skip


def test_a_narrowed_beam_still_too_wide_names_both_widths(run, capsys):
    """--max-len-b 12: the search would narrow 10**14 to half of (V - 2) (V - 3)^11, which is
    still far past memory: the refusal says the width it would have searched at."""
    V = Translator.load(str(run)).model.cfg.tgt_vocab
    K = ((V - 2) * (V - 3) ** 11 + 1) // 2
    assert K < 10**14 and 8 * K * V > 2**47
    argv = ["translate", "--checkpoint", str(run), "--beam", str(10**14), "--max-len-a", "0",
            "--max-len-b", "12", "123"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"(--beam {10**14} (searched at width {K}, as wide as outputs of these " in err, err
    assert f"1 x {K} hypotheses of {V} log-probabilities each need" in err, err
