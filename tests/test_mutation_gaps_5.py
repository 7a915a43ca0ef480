"""Mutation pass over the code of a8b3c80..HEAD: each test kills a hand-made mutant that the
suite let live (the per-step layers' fast-path checks, the command line's fixes)."""

import types
from typing import NamedTuple

import numpy as np
import pytest

from minis2s import load_run, viz_log
from minis2s.api import Translator
from minis2s.cli import main
from minis2s.cli_parser import ONCE, build_parser, refuse_repeated
from minis2s.data.batching import pad
from minis2s.data.vocab import EOS_ID
from minis2s.decode import beam_search
from minis2s.evaluate_commands import _print_bands
from minis2s.layers import attention, embedding, linear, softmax
from minis2s.train import average
from minis2s.translate_commands import _note_tabs, _refuse_runs_as_sentences

N, S, D, H = 3, 4, 5, 6
F32 = np.float32


# --- linear.forward's fast path ----------------------------------------------------------------


def _lin(r):
    return r.standard_normal((N, D)).astype(F32), linear.init(D, H, r, F32)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda x, p: (x, {**p, "W": p["W"][:, :, None]}), r"p\['W'\] has shape \(6, 5, 1\)"),
        (lambda x, p: (x, {**p, "b": p["b"][:, None]}), r"p\['b'\] has shape \(6, 1\)"),
        (lambda x, p: (x, {**p, "b": p["b"][:D]}), r"p\['b'\] has shape \(5,\)"),
        (lambda x, p: (x[:, :-1], p), r"x has shape \(3, 4\)"),
        (lambda x, p: (x, [p["W"], p["b"]]), "not a dict"),
        (lambda x, p: (x.astype(np.complex64), {k: v.astype(np.complex64) for k, v in p.items()}),
         "must be a float array"),
    ],
)  # fmt: skip
def test_linear_fast_path_takes_no_shape_or_dtype_the_full_checks_refuse(change, match):
    """Rules out a fast path that takes a 3-D W, a 2-D b or one of D entries, a narrower x (<=),
    a complex dtype, or lets a list p's TypeError escape unnamed."""
    x, p = change(*_lin(np.random.default_rng(0)))
    with pytest.raises(ValueError, match=match):
        linear.forward(x, p)


# --- embedding.forward's fast path -------------------------------------------------------------


def test_embedding_fast_path_names_a_list_for_p():
    """Rules out a fast path that lets a list p's TypeError (p["W"]) escape unnamed."""
    W = np.zeros((7, D), F32)
    with pytest.raises(ValueError, match="not a dict"):
        embedding.forward(np.array([1, 2]), [W], ids_checked=True)


# --- attention.forward_with_keys's fast path ---------------------------------------------------


def _att(score, r, n=N, s=S, dtype=F32):
    p = attention.init(score, H, H, r, dtype=dtype)
    enc = r.standard_normal((n, s, H)).astype(dtype)
    keys = attention.keys_forward(enc, p, score)[0] if n and s else enc.copy()  # dot: enc
    q = r.standard_normal((n, 1, H)).astype(dtype)
    return q, keys, enc, p, np.ones((n, s), dtype)


def test_forward_with_keys_fast_path_refuses_a_3d_w_a_of_concat():
    """Rules out a concat fast path that checks W_a's width but not that it is 2-D."""
    q, keys, enc, p, mask = _att("concat", np.random.default_rng(0))
    p = {**p, "W_a": p["W_a"][:, :, None]}
    with pytest.raises(ValueError, match=r"p\['W_a'\] has shape"):
        attention.forward_with_keys(q, keys, enc, p, mask, "concat", mask_checked=True)


def test_forward_with_keys_fast_path_refuses_integer_inputs():
    """Rules out a fast path that compares the dtypes but not that they are floating."""
    q, keys, enc, _, mask = _att("dot", np.random.default_rng(0))
    q, keys, enc = (np.rint(a).astype(np.int64) for a in (q, keys, enc))
    with pytest.raises(ValueError, match="q must be a float array"):
        attention.forward_with_keys(q, keys, enc, {}, mask.astype(np.int64), "dot",
                                    mask_checked=True)  # fmt: skip


@pytest.mark.parametrize("n, s", [(0, S), (N, 0)])
def test_forward_with_keys_fast_path_refuses_an_empty_batch_or_source(n, s):
    """Rules out a fast path that lets N = 0 or S = 0 through (it checks each of N, Tq, S)."""
    q, keys, enc, p, mask = _att("dot", np.random.default_rng(0), n, s)
    with pytest.raises(ValueError, match="empty batch"):
        attention.forward_with_keys(q, keys, enc, p, mask, "dot", mask_checked=True)


# --- softmax.forward's fast path ---------------------------------------------------------------


def test_softmax_fast_path_refuses_a_mask_with_a_shape_but_no_dtype():
    """Rules out a fast path that takes any object of the scores' shape for the mask."""
    s = np.zeros((N, 1, S))
    with pytest.raises(ValueError, match="mask must be an array"):
        softmax.forward(s, types.SimpleNamespace(shape=s.shape))


# --- beam search: _keep_best -------------------------------------------------------------------


class _OnlyEos:
    """A decoder that offers </s> alone at every step (every other token -inf), counting steps."""

    steps = 0

    class State(NamedTuple):
        enc: np.ndarray

    def encode(self, src, src_mask):
        return self.State(np.zeros(len(src)))

    @staticmethod
    def select(state, index, *, same_sources=False):
        return _OnlyEos.State(state.enc[np.asarray(index)])

    def step(self, y, state, ids_checked=False):
        _OnlyEos.steps += 1
        logp = np.full((len(state.enc), 12), -np.inf)
        logp[:, EOS_ID] = 0.0
        return logp, state, None


def test_beam_stops_when_no_hypothesis_is_left_alive_though_fewer_than_nbest_ended():
    """Rules out _keep_best keeping a sentence active with no live hypothesis (-inf best score)
    because it has fewer than nbest outputs: it would step on, for nothing, to the length limit."""
    _OnlyEos.steps = 0
    [hyps] = beam_search(_OnlyEos(), *pad([[4, 5, 6, 7, 8]]), beam_size=3, nbest=3)
    assert [h.ids for h in hyps] == [[]] and _OnlyEos.steps == 1


# --- the command line: refuse_repeated (cli_parser) --------------------------------------------


def _once_options():
    parser = build_parser()
    return [(command, option) for command, sub in parser.commands.items() for option in ONCE
            if option in sub._option_string_actions]  # fmt: skip


def test_once_holds_each_commands_options_of_what_it_reads_or_writes():
    """Rules out a name in ONCE that no command has (a typo) or one dropped from it (--json,
    --log ...: given twice, the last taken without a word)."""
    assert {option for _, option in _once_options()} == set(ONCE)
    assert sorted(_once_options()) == sorted((c, o) for c, os_ in ONCE_OF.items() for o in os_)


# each command's options that name what it reads or writes, written out: not read from ONCE, so
# that a name dropped from ONCE leaves its case here to fail
ONCE_OF = {
    "train": ["--data", "--dev-data", "--test-data", "--task", "--out", "--init-from",
              "--src-vectors", "--tgt-vectors"],
    "translate": ["--phrase-table"],
    "evaluate": ["--data", "--task", "--split", "--phrase-table"],
    "score": ["--data", "--task", "--split"],
    "tasks": ["--write"],
    "plot": ["--out", "--sentence", "--log"],
    "vectors": ["--out", "--side"],
    "average": ["--out", "--run"],
    "bench": ["--json"],
}  # fmt: skip


@pytest.mark.parametrize("command, option", [(c, o) for c, os_ in ONCE_OF.items() for o in os_])
def test_each_once_option_given_twice_is_refused_naming_both_values(command, option, capsys):
    """Rules out an option of ONCE dropped from the list (--json, --log ...) and a message that
    names the option but not the two values given."""
    with pytest.raises(SystemExit) as stop:
        refuse_repeated(build_parser().commands[command], [option, "A", option, "B"])
    assert stop.value.code == 2
    assert f"{option} given twice ({option} A, then {option} B)" in capsys.readouterr().err


def test_an_option_given_twice_with_equals_signs_names_both_values(capsys):
    """Rules out reading the next token as the value of `--opt=value`."""
    with pytest.raises(SystemExit):
        refuse_repeated(build_parser().commands["evaluate"], ["--data=A", "--data=B", "--quiet"])
    assert "--data given twice (--data A, then --data B)" in capsys.readouterr().err


def test_options_after_a_double_dash_are_text_not_repeated_options():
    """Rules out reading the tokens after `--` (sentences to translate) as options."""
    argv = ["--checkpoint", "r", "--", "--phrase-table", "x", "--phrase-table", "y"]
    refuse_repeated(build_parser().commands["translate"], argv)  # no SystemExit


def test_translate_show_without_a_number_gets_the_same_refusal(capsys):
    """Rules out --show taking exactly one value: alone, it got argparse's 'expected one
    argument' instead of the refusal naming evaluate's and train's --show N."""
    with pytest.raises(SystemExit):
        build_parser().commands["translate"].parse_args(["--checkpoint", "r", "--show"])
    assert "--show N is evaluate's and train's" in capsys.readouterr().err


# --- translate: sentences that name runs, lines with a TAB -------------------------------------


def test_a_sentence_naming_a_run_with_last_only_is_refused(tmp_path):
    """Rules out recognising a run by its best/ alone: a run stopped before its first evaluation
    has last/ only, and given as a sentence it is no text either."""
    (tmp_path / "r" / "last").mkdir(parents=True)
    (tmp_path / "r" / "last" / "state.json").write_text("{}")
    with pytest.raises(ValueError, match="sentence 2, .* is a run directory"):
        _refuse_runs_as_sentences(["123", str(tmp_path / "r")], ["A"])


@pytest.mark.parametrize(
    "sentences, note",
    [
        (["a\tb", "c"], "note: 1 of the 2 lines (1) holds a TAB"),
        (["a\tb"] * 10, "note: 10 of the 10 lines (1, 2, 3, 4, 5, 6, 7, 8, 9, 10) hold a TAB"),
        (["a\tb"] * 12, "note: 12 of the 12 lines (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ...) hold a TAB"),
    ],
)
def test_the_tab_note_counts_names_and_agrees(sentences, note, capsys):
    """Rules out the note's count of all lines replaced by the tabbed ones, a plural verb for one,
    fewer than ten line numbers named, and '...' after exactly ten."""
    _note_tabs(sentences, "line", ["R"])
    err = capsys.readouterr().err
    assert note in err
    assert "(`cut -f1 FILE | minis2s translate --checkpoint R`)" in err


# --- evaluate --by-length ----------------------------------------------------------------------


@pytest.mark.parametrize("width, unit, title", [(1, "frames", "bands of 1 frame:"),
                                                (2, "frames", "bands of 2 frames:")])  # fmt: skip
def test_by_length_title_is_singular_for_bands_of_one(width, unit, title, capsys):
    """Rules out 'bands of 1 frames' (the unit's plural whatever the width)."""
    _print_bands([types.SimpleNamespace(lo=1, hi=width, n=3, exact_match=0.5)], width, unit)
    assert title in capsys.readouterr().out


# --- load_run: a run's steps/ ------------------------------------------------------------------


def _kept_run(tmp_path, *steps):
    run = tmp_path / "r"
    for step in steps:
        (run / "steps" / f"step-{step:07d}").mkdir(parents=True)
    return run


def test_the_steps_folder_is_named_with_its_run_and_count_even_with_a_trailing_slash(tmp_path):
    """Rules out a run taken as steps/ itself when the path ends in '/', and a wrong count."""
    run = _kept_run(tmp_path, 2, 4)
    with pytest.raises(FileNotFoundError) as e:
        load_run.checkpoint_dir(f"{run}/steps/", "best")
    assert f"kept (2, the newest {run}/steps/step-0000004)" in str(e.value)
    assert f"give one of them (such as {run}/steps/step-0000004)" in str(e.value)
    assert f"the run {run} (its best/)" in str(e.value) and f"--run {run} --last K" in str(e.value)


def test_another_empty_folder_of_a_run_that_keeps_checkpoints_is_no_checkpoint(tmp_path):
    """Rules out naming a run's kept checkpoints for any folder in it, not only for steps/."""
    run = _kept_run(tmp_path, 2, 4)
    (run / "notes").mkdir()
    with pytest.raises(FileNotFoundError, match=f"no checkpoint at {run}/notes: expected"):
        load_run.checkpoint_dir(str(run / "notes"), "best")


# --- average --run R --last K ------------------------------------------------------------------


def test_last_kept_of_one_names_its_folder_and_gives_it_when_one_is_asked(tmp_path):
    """Rules out the refusal of a run keeping one naming its full path (it names the folder in
    steps/), and refusing --last 1 there (one is kept, one is asked: average refuses it later)."""
    run = _kept_run(tmp_path, 2)
    with pytest.raises(ValueError, match=r"keeps 1 checkpoint in steps/ \(step-0000002\), and"):
        average.last_kept(run, 3)
    assert average.last_kept(run, 1) == [str(run / "steps" / "step-0000002")]


# --- plot --log of a run with no evaluation yet (viz) ------------------------------------------


def test_plot_log_of_a_folder_that_is_no_run_says_no_such_file(tmp_path):
    """Rules out 'no dev evaluation yet' for a folder without best/ or last/ (no run at all)."""
    with pytest.raises(FileNotFoundError, match="log.jsonl: no such file"):
        viz_log.log_file(str(tmp_path))


def test_plot_log_of_a_run_with_no_evaluation_names_the_run_to_resume(tmp_path):
    """Rules out naming the log file where the fix (train --out RUN --resume) needs the run."""
    (tmp_path / "last").mkdir()
    (tmp_path / "last" / "state.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match=f"train --out {tmp_path} --resume"):
        viz_log.log_file(str(tmp_path))


# --- train: how a batch is sized, input feeding without attention (train_commands) -------------

TINY = ["train", "--task", "reverse-digits", "--train-size", "32", "--epochs", "1", "--hidden",
        "8", "--emb", "8", "--dev-size", "8", "--show", "0", "--quiet"]  # fmt: skip


def test_tokens_per_batch_0_is_off_as_its_default_says(tmp_path, capsys):
    """--tokens-per-batch 0 is the option's default (off): it was refused in TrainConfig's words
    ("got batch_size=0 ... pass batch_size=0"), as it zeroed the default batch size; and with
    --batch-size it is not two ways to size a batch (rules out `in` for a value given)."""
    for i, extra in enumerate([[], ["--batch-size", "16"]]):
        out = tmp_path / f"r{i}"
        assert main([*TINY, *extra, "--tokens-per-batch", "0", "--out", str(out)]) == 0, (
            capsys.readouterr().err
        )
        cfg = Translator.load(str(out)).config["train"]
        assert (cfg["batch_size"], cfg["tokens_per_batch"]) == (int((extra or [0, 64])[1]), 0)


def test_attention_none_with_no_input_feed_trains(tmp_path):
    """Rules out refusing --no-input-feed with --attention none (an option given, but not on)."""
    assert main([*TINY, "--attention", "none", "--no-input-feed", "--out", str(tmp_path)]) == 0


# --- benchmarks/compare_checkouts.py -----------------------------------------------------------


@pytest.fixture(scope="module")
def compare_checkouts():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "compare_checkouts.py"
    spec = importlib.util.spec_from_file_location("compare_checkouts", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compare_alternates_which_side_goes_first_and_reports_new_over_base(
    compare_checkouts, monkeypatch
):
    """Rules out base always going first (one side always the warmer), a ratio of base/new, and
    the mean of the pair ratios for their median (one slow call would move it)."""
    order = []

    def call(p, job, clock):
        order.append(p)
        return {"base": 10.0, "new": 5.0}[p]

    monkeypatch.setattr(compare_checkouts, "call", call)
    line = compare_checkouts.compare({"base": "base", "new": "new"}, "greedy", 3, "cpu")
    assert order == ["base", "new", "new", "base", "base", "new"]
    assert line.endswith("median pair ratio 0.500") and "(0.500)" in line
    new = iter([5.0, 5.0, 40.0])  # ratios 0.5, 0.5, 4: median 0.5, mean 1.667
    monkeypatch.setattr(compare_checkouts, "call", lambda p, job, clock: 10.0 if p == "base"
                        else next(new))  # fmt: skip
    line = compare_checkouts.compare({"base": "base", "new": "new"}, "greedy", 3, "cpu")
    assert line.endswith("median pair ratio 0.500")


@pytest.mark.parametrize("clock, ms", [("cpu", 2.5), ("wall", 1.5)])
def test_call_reads_the_clock_asked_for(compare_checkouts, clock, ms):
    """Rules out reading wall time (the worker's first figure) when CPU time is asked."""
    import io

    p = types.SimpleNamespace(stdin=io.StringIO(), stdout=io.StringIO("1.5000 2.5000\n"))
    assert compare_checkouts.call(p, "train", clock) == ms
    assert p.stdin.getvalue() == "train\n"


def test_zero_threads_and_a_folder_without_minis2s_are_refused(compare_checkouts, tmp_path, capsys):
    """Rules out --threads 0 let through, and a checkout recognised by its benchmarks/ alone."""
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    with pytest.raises(SystemExit):
        compare_checkouts.parse([root, root, "--threads", "0"])
    assert "--pairs and --threads must be at least 1" in capsys.readouterr().err
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "bench_seq2seq.py").write_text("")
    with pytest.raises(SystemExit):
        compare_checkouts.parse([str(tmp_path), root])
    assert f"{tmp_path} is not a minis2s checkout" in capsys.readouterr().err


def test_each_worker_runs_with_the_blas_threads_asked(compare_checkouts, monkeypatch):
    """Rules out workers pinned to one BLAS thread whatever --threads says."""
    import io

    seen = {}

    def popen(argv, cwd, env, **kw):
        seen.update(env)
        return types.SimpleNamespace(stdout=io.StringIO("ready\n"))

    monkeypatch.setattr(compare_checkouts.subprocess, "Popen", popen)
    args = types.SimpleNamespace(threads=3, backend="numpy", workload="small", jobs="train")
    compare_checkouts.worker(compare_checkouts.Path("."), args)
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
    assert [seen[n] for n in names] == ["3"] * 4
