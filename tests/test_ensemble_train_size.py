"""An ensemble of runs trained on one built-in task with one --seed but different --train-size:
a task's splits are drawn by its seed alone and --train-size keeps the first N training pairs,
so the members share their dev and test pairs and `evaluate --task` scores them on those."""

import pytest

from minis2s.api import Translator
from minis2s.cli import main
from minis2s.data.tasks import get_task
from minis2s.pipeline import load_data
from tests.tiny_run import TINY, train_tiny

TASK = "reverse-digits"


def without_train_size(options: list[str]) -> list[str]:
    i = options.index("--train-size")
    return options[:i] + options[i + 2 :]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Runs of TASK with --seed 0 on its first 64 and its first 96 training pairs, the second
    fine-tuned from the first (--init-from), whose vocabularies it reads: the vocabularies of
    runs trained apart on other pairs may list their tokens in other orders."""
    root = tmp_path_factory.mktemp("train_size")
    out = {n: str(root / f"n{n}") for n in (64, 96)}
    train_tiny(root / "n64", "--seed", "0")  # TINY: --train-size 64
    more = ["--train-size", "96", "--seed", "0", "--init-from", out[64], "--out", out[96]]
    assert main(["train", *without_train_size(TINY), *more]) == 0
    return out


def test_train_size_cuts_the_training_pairs_only():
    """The premise: --train-size leaves a task's dev and test splits as its seed draws them."""
    small, large = (load_data(task=TASK, seed=0, train_size=n) for n in (64, 96))
    assert small.dev == large.dev and small.test == large.test
    assert small.train == large.train[:64]


def test_evaluate_task_scores_members_of_other_train_sizes_on_their_shared_test_split(runs, capsys):
    argv = ["evaluate", "--task", TASK, "--checkpoint", runs[64], "--checkpoint", runs[96]]
    assert main(argv) == 0, capsys.readouterr().err
    printed = dict(line.split("\t") for line in capsys.readouterr().out.splitlines())
    test = get_task(TASK).generate(seed=0)["test"]
    tr = Translator.load_ensemble([runs[64], runs[96]])
    assert int(printed["n"]) == len(test)
    assert float(printed["exact_match"]) == pytest.approx(
        tr.evaluate(test)["exact_match"], abs=5e-5
    )


def test_score_task_takes_them_too(runs, capsys):
    argv = ["score", "--task", TASK, "--checkpoint", runs[96], "--checkpoint", runs[64]]
    assert main(argv) == 0, capsys.readouterr().err
    total = capsys.readouterr().out.splitlines()[-1]
    assert f"pairs={len(get_task(TASK).generate(seed=0)['test'])}" in total


def test_their_train_split_is_the_pairs_every_member_trained_on(runs, capsys):
    """--split train of members of 64 and 96 pairs: the first 64, which both saw, said so."""
    argv = ["evaluate", "--task", TASK, "--split", "train"]
    assert main([*argv, "--checkpoint", runs[96], "--checkpoint", runs[64]]) == 0
    out, err = capsys.readouterr()
    printed = dict(line.split("\t") for line in out.splitlines() if "\t" in line)
    assert int(printed["n"]) == 64
    assert "the 64 pairs every member" in err and "--train-size 64 and 96" in err


def test_members_of_other_seeds_are_still_refused_naming_the_seeds(runs, tmp_path, capsys):
    other = train_tiny(tmp_path / "s1", "--seed", "1", "--init-from", runs[64])  # its vocabs
    argv = ["evaluate", "--task", TASK, "--checkpoint", runs[64], "--checkpoint", str(other)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{runs[64]} (--seed 0) and {other} (--seed 1) were trained on other splits" in err


def test_members_trained_apart_on_other_train_sizes_are_refused_naming_it(runs, tmp_path):
    """Trained apart, runs of 64 and 96 pairs build their vocabularies on other pairs (a token's
    id follows its count): the refusal names the vocabularies, the --train-size that made them
    differ, and a fix (--init-from reads a run's vocabularies)."""
    apart = tmp_path / "apart96"
    assert (
        main(["train", *without_train_size(TINY), "--train-size", "96", "--out", str(apart)]) == 0
    )
    small, large = Translator.load(runs[64]), Translator.load(str(apart))
    assert small.src_vocab != large.src_vocab  # the premise
    with pytest.raises(ValueError) as refusal:
        Translator.load_ensemble([runs[64], str(apart)])
    message = str(refusal.value)
    assert "different source vocabularies" in message
    assert "--train-size 64 and 96" in message and "--init-from" in message
