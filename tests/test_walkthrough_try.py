"""The README's Built-in tasks and quality and Things to try walked as a new user walks them:
what the commands they show (average of kept checkpoints, ensembles, fine-tuning from a run)
say when given the input a user plausibly types wrong."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from minis2s.cli import main
from tests.refusals import refusal
from tests.test_walkthrough_train import no_training  # noqa: F401 (a fixture, used by its name)
from tests.tiny_run import TINY, train_tiny


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """TINY's run (2 updates), scored after each update with both points kept in steps/."""
    out = tmp_path_factory.mktemp("try") / "rl"
    return train_tiny(out, "--eval-every", "1", "--keep-checkpoints", "2")


@pytest.mark.parametrize("inside", ["best", "last", "steps/step-0000002", "steps"])
def test_average_run_given_a_checkpoint_names_its_run(run, tmp_path, capsys, inside):
    """Things to try 14: `minis2s average --run runs/rl/best --last 2` said that runs/rl/best
    keeps no checkpoints in runs/rl/best/steps and to train it with --keep-checkpoints, which
    runs/rl was: the run to give is the one that holds the checkpoint."""
    given = run / inside
    out = tmp_path / "avg"
    line = refusal(capsys, ["average", "--run", str(given), "--last", "2", "--out", str(out)])
    assert f"--run {given}" in line and f"give --run {run}" in line, line
    assert "train it with" not in line
    assert not out.exists()


def test_average_run_given_an_average_says_it_is_one(run, tmp_path, capsys):
    """An average (`minis2s average --out runs/rl-avg2`) given as --run was told to train it with
    --keep-checkpoints: it is a checkpoint, not a run, and no training makes it one."""
    avg = tmp_path / "avg"
    assert main(["average", "--run", str(run), "--last", "2", "--out", str(avg)]) == 0
    capsys.readouterr()
    line = refusal(
        capsys, ["average", "--run", str(avg), "--last", "2", "--out", str(tmp_path / "b")]
    )
    assert f"--run {avg} is a checkpoint, not a run" in line, line
    assert "train it with" not in line


@pytest.mark.parametrize("command", ["evaluate", "score", "average"])
def test_a_second_checkpoint_without_its_option_is_named(run, tmp_path, capsys, command):
    """`minis2s evaluate --checkpoint runs/d1 runs/d2 --task dates` (an ensemble, or two
    checkpoints to average, typed as one option with two paths) said only `unrecognized
    arguments: runs/d2`; translate already named the fix, --checkpoint before each."""
    first, second = run / "steps" / "step-0000001", run / "steps" / "step-0000002"
    argv = [command, "--checkpoint", str(first), str(second)]
    argv += ["--out", str(tmp_path / "avg")] if command == "average" else ["--task", "sort"]
    line = refusal(capsys, argv)
    assert f"unrecognized arguments: {second}" in line, line
    assert f"--checkpoint {first} --checkpoint {second}" in line, line


def test_a_second_run_given_to_vectors_is_named(run, tmp_path, capsys):
    """`minis2s vectors --checkpoint runs/en-es runs/es-en` (Things to try 11): vectors writes one
    run's embeddings, and its refusal says so rather than only `unrecognized arguments`."""
    out = tmp_path / "en.vec"
    line = refusal(
        capsys, ["vectors", "--checkpoint", str(run), str(run / "best"), "--out", str(out)]
    )
    assert line.endswith("vectors writes the embeddings of one run: give one --checkpoint"), line
    assert not out.exists()


@pytest.mark.parametrize("typed", ["--no-bidirectional", "--no-input-feed"])
@pytest.mark.usefixtures("no_training")
def test_init_from_names_a_negated_model_flag_as_typed(run, tmp_path, capsys, typed):
    """Things to try 13 with `--init-from runs/rd --no-bidirectional`: the refusal said
    `--bidirectional False` and to leave --bidirectional out, an option never typed; it names
    the one typed, the one to leave out."""
    argv = ["train", *TINY, "--init-from", str(run), typed, "--out", str(tmp_path / "ft")]
    line = refusal(capsys, argv)
    assert line.startswith(f"minis2s train: error: {typed} (model option "), line
    assert f"leave {typed} out" in line
    assert "False (model option" not in line


@pytest.mark.parametrize("value", ["true", "yes", "2"])
def test_examples_refuse_a_quick_switch_they_would_not_read(value):
    """`MINIS2S_QUICK=true python examples/005_bottleneck_attention.py` ran the full example, two
    minutes or more, since only "1" turns the smoke run on: the value is refused, naming both."""
    examples = Path(__file__).parent.parent / "examples"
    env = os.environ | {"MINIS2S_QUICK": value}
    done = subprocess.run([sys.executable, "-c", "import _common"], cwd=examples, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    line = done.stderr.strip()
    assert line.startswith(f"MINIS2S_QUICK={value}: ") and "to 1 for" in line, line


def test_a_dev_size_beyond_the_dev_pairs_is_noted(tmp_path, capsys):
    """Things to try 1 and 4 shrink the dev scoring with --dev-size 200; `--dev-size 5000` on a
    dev set of 1000 pairs decoded the 1000 and said nothing, where --train-size beyond the
    training pairs notes that all there are are used: so does --dev-size."""
    corpus = tmp_path / "c.tsv"
    corpus.write_text("".join(f"{i} {i + 1}\t{i + 1} {i}\n" for i in range(40)), encoding="utf-8")
    dev = tmp_path / "dev.tsv"
    dev.write_text("".join(f"{i} {i}\t{i} {i}\n" for i in range(7)), encoding="utf-8")
    small = TINY[TINY.index("--epochs") :]  # the model and training options, not the task
    argv = ["train", "--data", str(corpus), "--dev-data", str(dev), *small, "--dev-size", "50"]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    assert "--dev-size 50 asks for more than the 7 dev pairs there are" in err, err


def test_an_example_given_arguments_refuses_them_rather_than_run_for_minutes():
    """`python examples/005_bottleneck_attention.py --help`, asking what it takes, ran the
    whole example (two minutes or more): the examples read no arguments, and now say so."""
    script = Path(__file__).parent.parent / "examples" / "000_reverse_digits_lstm.py"
    env = os.environ | {"MINIS2S_QUICK": "1"}  # old code ran it: a smoke run, not minutes
    done = subprocess.run([sys.executable, str(script), "--help"], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    line = done.stderr.strip()
    assert line.startswith("000_reverse_digits_lstm.py takes no arguments (got --help)"), line
    assert "MINIS2S_QUICK=1" in line and done.stdout == ""


def test_tasks_write_with_its_two_values_swapped_names_the_order(tmp_path, capsys):
    """Things to try 12 writes `dates` as files, as `minis2s tasks --write dates DIR` does;
    `--write data/dates dates` said only that data/dates is an unknown task, as if the name were
    mistyped: the two values are in the wrong order, which the refusal now says."""
    out = tmp_path / "dates"
    line = refusal(capsys, ["tasks", "--write", str(out), "dates"])
    assert f"--write takes the task first, then the directory: --write dates {out}" in line, line
    assert not out.exists()


def test_a_task_named_after_tasks_says_how_to_write_it(capsys):
    """`minis2s tasks dates` said only `unrecognized arguments: dates`: tasks lists them all,
    and writes one's splits with --write TASK DIR, which the refusal now names."""
    line = refusal(capsys, ["tasks", "dates"])
    assert "unrecognized arguments: dates" in line
    assert "--write dates DIR" in line, line


@pytest.mark.parametrize(
    "command",
    [
        ["vectors", "--side", "src", "--out", "{out}"],
        ["plot", "--sentence", "123", "--out", "{out}.png"],
    ],
    ids=["vectors", "plot"],
)
def test_a_file_written_inside_a_runs_checkpoint_is_refused(run, capsys, command):
    """`vectors --out runs/rl/best/v.txt` or `plot --out runs/rl/best/a.png` wrote the file
    inside the checkpoint, which the run's next save (its --resume) replaces whole, the file
    with it; train's --out there is refused already."""
    out = run / "best" / "mine"
    argv = [word.replace("{out}", str(out)) for word in command]
    line = refusal(capsys, [argv[0], "--checkpoint", str(run), *argv[1:]])
    assert f"is inside the checkpoint {run / 'best'}" in line, line
    assert "next save replaces whole" in line and "outside it" in line, line
    assert sorted(os.listdir(run / "best")) == sorted(os.listdir(run / "last"))  # nothing added
