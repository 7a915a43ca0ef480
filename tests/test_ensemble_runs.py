"""Ensembles of trained runs: Translator.load_ensemble and `translate` / `evaluate` with several
--checkpoint options, on tiny runs trained on one corpus with different seeds."""

import json
import re
import shutil
import warnings

import numpy as np
import pytest

from minis2s.api import Translator
from minis2s.cli import main
from minis2s.data.corpus import write_tsv
from minis2s.data.tasks import get_task
from minis2s.data.vocab import BOS_ID, EOS_ID
from minis2s.models import Ensemble, Seq2Seq

TINY = ["--epochs", "1", "--hidden", "8", "--emb", "8", "--batch-size", "32", "--show", "0",
        "--quiet"]  # fmt: skip
SOURCES = ["123", "98765", "4"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Runs a (LSTM, seed 1), b (GRU of 12, seed 2) and c (no attention, seed 3), all trained on
    the same files, so that they share their vocabularies; and the test split's file."""
    root = tmp_path_factory.mktemp("ensemble")
    splits = get_task("reverse-digits").generate(seed=0)
    for split, n in (("train", 64), ("dev", 16), ("test", 24)):
        write_tsv(root / f"{split}.tsv", splits[split][:n])
    data = ["--data", str(root / "train.tsv"), "--dev-data", str(root / "dev.tsv")]
    options = {"a": ["--seed", "1"], "b": ["--seed", "2", "--cell", "gru", "--hidden", "12"],
               "c": ["--seed", "3", "--attention", "none"]}  # fmt: skip
    for name, extra in options.items():
        assert main(["train", *data, *TINY, *extra, "--out", str(root / name)]) == 0
    return {name: str(root / name) for name in options} | {"test": str(root / "test.tsv")}


def ensemble_logprob(models: list, src: list[int], out: list[int]) -> float:
    """log p(out + EOS | src) under the mean of the models' distributions, step by step: each
    model fed the output's own tokens, its probabilities exp(log p) averaged here."""
    ids, mask = np.array([src]), np.ones((1, len(src)))
    states, total = [m.encode(ids, mask) for m in models], 0.0
    for y_prev, y in zip([BOS_ID, *out], [*out, EOS_ID], strict=True):
        steps = [m.step(np.array([y_prev]), s) for m, s in zip(models, states, strict=True)]
        states = [s for _, s, _ in steps]
        total += np.log(np.mean([np.exp(lp[0, y].astype(np.float64)) for lp, _, _ in steps]))
    return float(total)


def test_an_ensemble_scores_its_outputs_by_the_mean_of_its_runs_probabilities(runs):
    tr = Translator.load_ensemble([runs["a"], runs["b"]])
    assert isinstance(tr.model, Ensemble) and tr.model.names == [runs["a"], runs["b"]]
    assert [m.config["train"]["seed"] for m in tr.members] == [1, 2]
    models = [m.model for m in tr.members]
    for t in tr.translate(SOURCES, method="beam", beam_size=3):
        src, out = tr.src_vocab.encode(t.src_tokens), tr.tgt_vocab.encode(t.tokens)
        assert t.ended
        np.testing.assert_allclose(t.logprob, ensemble_logprob(models, src, out), rtol=1e-5)


@pytest.mark.parametrize(
    "options",
    [{}, {"method": "beam", "beam_size": 3, "nbest": 2}, {"method": "sample", "seed": 4}],
)
def test_an_ensemble_of_one_run_or_of_one_run_twice_translates_as_the_run(runs, options):
    alone = Translator.load(runs["a"]).translate(SOURCES, **options)
    flat = lambda ts: [t for x in ts for t in (x if isinstance(x, list) else [x])]  # n-best
    for paths in ([runs["a"]], [runs["a"], runs["a"]]):
        with warnings.catch_warnings():  # twice: a note, which test_api_inputs checks
            warnings.filterwarnings("ignore", "(?s).*the same checkpoint twice")
            together = Translator.load_ensemble(paths).translate(SOURCES, **options)
        for t, want in zip(flat(together), flat(alone), strict=True):  # bit for bit
            assert t._replace(attention=None) == want._replace(attention=None)
            np.testing.assert_array_equal(t.attention, want.attention)  # (a + a) / 2 is a


def copy_with(run: str, dest, *, vocab=None, config=None) -> str:
    """A copy of `run`'s best checkpoint with its target vocabulary's tokens or its config
    changed by the functions given."""
    shutil.copytree(f"{run}/best", dest)
    for file, change, key in (
        ("tgt_vocab.json", vocab, "tokens"),
        ("state.json", config, "config"),
    ):
        if change is not None:
            d = json.loads((dest / file).read_text(encoding="utf-8"))
            change(d[key])
            (dest / file).write_text(json.dumps(d), encoding="utf-8")
    return str(dest)


def test_runs_with_other_vocabularies_or_tokenizers_are_refused(runs, tmp_path):
    def swap(tokens):  # ids 4 and 5 trade places: the same tokens, another order
        tokens[4], tokens[5] = tokens[5], tokens[4]

    tokens = Translator.load(runs["a"]).tgt_vocab.tokens
    swapped = copy_with(runs["a"], tmp_path / "swapped", vocab=swap)
    with pytest.raises(ValueError, match=(
        rf"{runs['b']} and {swapped} have different target vocabularies \(14 and 14 tokens; "
        rf"id 4 is '{tokens[4]}' and '{tokens[5]}'\); the members .*\(minis2s tasks --write"
    )):  # fmt: skip
        Translator.load_ensemble([runs["b"], swapped])

    def words(config):
        config["data"]["tokenizer"] = "word"

    worded = copy_with(runs["a"], tmp_path / "word", config=words)
    with pytest.raises(ValueError, match=r"and .*word have different tokenizers \(char and word\)"):
        Translator.load_ensemble([runs["a"], worded])
    with pytest.raises(ValueError, match="paths is '.*'; give a list of run or checkpoint"):
        Translator.load_ensemble(runs["a"])
    with pytest.raises(ValueError, match="paths is \\[\\]; give a list"):
        Translator.load_ensemble([])


def test_a_float64_run_and_a_float32_run_decode_together_in_float64(runs, tmp_path):
    """A float32 run's weights are exact in float64, so the ensemble computes in float64: the
    mean of the float64 run's and of the float32 run's weights widened."""

    def wide(config):
        config["dtype"] = "float64"

    wide_b = copy_with(runs["b"], tmp_path / "b64", config=wide)
    tr = Translator.load_ensemble([runs["a"], wide_b])
    assert tr.model.dtype == np.float64
    assert [m.model.dtype for m in tr.members] == [np.float32, np.float64]  # each run as saved
    widened = []
    for m in tr.members:
        params = {k: v.astype(np.float64) for k, v in m.model.params.items()}
        widened.append(Seq2Seq(m.model.cfg, params, dtype=np.float64))
    for t in tr.translate(SOURCES):
        src, out = tr.src_vocab.encode(t.src_tokens), tr.tgt_vocab.encode(t.tokens)
        assert t.logprob == pytest.approx(ensemble_logprob(widened, src, out), rel=1e-12)


def test_translate_and_evaluate_take_several_checkpoints(runs, capsys):
    both = ["--checkpoint", runs["a"], "--checkpoint", runs["b"]]
    tr = Translator.load_ensemble([runs["a"], runs["b"]])
    assert main(["translate", *both, *SOURCES]) == 0
    assert capsys.readouterr().out.splitlines() == [t.text for t in tr.translate(SOURCES)]
    assert main(["translate", *both, "--beam", "3", "--nbest", "2", "12"]) == 0
    best = tr.translate(["12"], method="beam", beam_size=3, nbest=2)[0]
    assert capsys.readouterr().out.split(" ||| ")[1].split("\t")[0] == best[1].text
    assert main(["evaluate", *both, "--data", runs["test"], "--beam", "2"]) == 0
    printed = dict(line.split("\t") for line in capsys.readouterr().out.splitlines())
    pairs = get_task("reverse-digits").generate(seed=0)["test"][:24]
    result = tr.evaluate(pairs, method="beam", beam_size=2)
    assert float(printed["exact_match"]) == pytest.approx(result["exact_match"], abs=5e-5)
    assert int(printed["n"]) == 24


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--show-attention"], "--show-attention: the ensemble of {a} and {c} has no attention: "
         "{c} was trained with --attention none, and an ensemble's attention is the mean of"),
        (["--beam", "2", "--coverage-penalty", "0.2"], "--coverage-penalty: the ensemble of {a} "
         "and {c} has no attention: {c} was trained"),
        (["--replace-unk"], "--replace-unk: the ensemble of {a} and {c} has no attention: {c} "
         "was trained with --attention none, and an ensemble's attention is the mean of"),
    ],
)  # fmt: skip
def test_options_that_need_attention_name_the_member_without_it(runs, capsys, options, message):
    argv = ["translate", "--checkpoint", runs["a"], "--checkpoint", runs["c"], *options, "12"]
    assert main(argv) == 2
    assert message.format(**runs) in capsys.readouterr().err


def on_task(seed: int, data_seed: int | None = None):
    """A config change: the run was trained on reverse-digits with --seed `seed`, on the
    training pairs that the task's seed `data_seed` (default `seed`) draws."""
    from minis2s.pipeline import fingerprint

    drawn = get_task("reverse-digits").generate(seed=seed if data_seed is None else data_seed)

    def change(config):
        config["data"]["name"], config["train"]["seed"] = "reverse-digits", seed
        config["data"]["train"] = fingerprint(drawn["train"])
        config["data"]["options"]["train_size"] = None

    return change


def test_evaluate_task_refuses_members_trained_on_other_splits(runs, tmp_path, capsys):
    one, two = (copy_with(runs["a"], tmp_path / f"s{s}", config=on_task(s)) for s in (1, 2))
    argv = ["evaluate", "--task", "reverse-digits", "--checkpoint", one]
    assert main([*argv, "--checkpoint", two]) == 2
    assert (
        f"--task reverse-digits: {one} (--seed 1) and {two} (--seed 2) were trained on other "
        "splits of it" in capsys.readouterr().err
    )
    assert main([*argv, "--checkpoint", one]) == 0  # one split: its test pairs, as for one run


def test_members_of_one_split_with_other_training_seeds_are_scored_on_that_split(
    runs, tmp_path, capsys
):
    """pipeline.load_data(task=..., seed=0) once, then TrainConfig(seed=N) per run: the runs
    share seed 0's split, on whose test pairs they are scored (not on their training seeds')."""
    from minis2s.evaluate_commands import task_split

    one, two = (
        copy_with(runs["a"], tmp_path / f"s{s}", config=on_task(s, data_seed=0)) for s in (1, 2)
    )
    tr = Translator.load_ensemble([one, two])
    test = get_task("reverse-digits").generate(seed=0)["test"]
    assert task_split(tr.config, "reverse-digits", "test") == test
    assert test != get_task("reverse-digits").generate(seed=1)["test"]
    argv = ["evaluate", "--task", "reverse-digits", "--checkpoint", one, "--checkpoint", two]
    assert main(argv) == 0
    printed = dict(line.split("\t") for line in capsys.readouterr().out.splitlines())
    assert float(printed["exact_match"]) == pytest.approx(
        tr.evaluate(test)["exact_match"], abs=5e-5
    )


def test_a_task_run_on_a_split_of_no_seed_tried_is_refused(runs, tmp_path):
    from minis2s.evaluate_commands import task_split

    run = copy_with(runs["a"], tmp_path / "s7", config=on_task(1, data_seed=7))
    with pytest.raises(ValueError, match=r"not the task's split drawn with seed 1 or 0;"):
        task_split(Translator.load(run).config, "reverse-digits", "test")


def test_an_ensemble_scores_references_by_the_mean_of_its_runs_probabilities(runs, capsys):
    """Forced decoding of an ensemble (Translator.score, Ensemble.token_logprobs) is the
    step-by-step mean of its runs' probabilities of each reference; `score` takes several
    --checkpoint options, as translate and evaluate do."""
    from minis2s.data.corpus import read_corpus
    from minis2s.scoring import summarize

    tr = Translator.load_ensemble([runs["a"], runs["c"]])  # attention or not: both score
    models = [m.model for m in tr.members]
    pairs = [("123", "321"), ("98765", "5678"), ("4", "")]
    for (src, ref), s in zip(pairs, tr.score(pairs), strict=True):
        src_ids = tr.src_vocab.encode(tr.tokenizer.tokenize(src))
        ref_ids = tr.tgt_vocab.encode(tr.tokenizer.tokenize(ref))
        np.testing.assert_allclose(s.logprob, ensemble_logprob(models, src_ids, ref_ids), rtol=1e-5)
    assert main(["score", "--checkpoint", runs["a"], "--checkpoint", runs["c"],
                 "--data", runs["test"]]) == 0  # fmt: skip
    total = capsys.readouterr().out.splitlines()[-1]
    want = summarize(tr.score(list(read_corpus(runs["test"]))))
    assert f"pairs={want.pairs} " in total and want.pairs == 24
    assert f"cross_entropy={want.cross_entropy:.4f}" in total


def test_plot_draws_an_ensembles_attention_and_vectors_refuses_two_runs(
    runs, tmp_path, capsys, monkeypatch
):
    """plot --checkpoint A --checkpoint B draws the ensemble's (mean) attention, as translate
    --show-attention shows it, not B's alone; vectors writes one run's and refuses a second."""
    from minis2s import viz

    drawn = []
    monkeypatch.setattr(viz, "plot_attention", lambda w, *args: drawn.append(w))
    both = ["--checkpoint", runs["a"], "--checkpoint", runs["b"]]
    assert main(["plot", *both, "--sentence", "123", "--out", str(tmp_path / "a.png")]) == 0
    [want] = Translator.load_ensemble([runs["a"], runs["b"]]).translate(["123"])
    np.testing.assert_array_equal(drawn[0], want.attention)
    argv = ["plot", "--checkpoint", runs["a"], "--checkpoint", runs["c"], "--sentence", "1"]
    assert main([*argv, "--out", str(tmp_path / "c.png")]) == 2
    assert f"{runs['c']} was trained with --attention none" in capsys.readouterr().err
    assert main(["vectors", *both, "--out", str(tmp_path / "v.txt")]) == 2
    err = capsys.readouterr().err
    assert "--checkpoint given 2 times: vectors writes the embeddings of one run" in err
    assert not (tmp_path / "v.txt").exists()


def test_replace_unk_in_python_names_the_ensembles_run_without_attention(runs):
    tr = Translator.load_ensemble([runs["a"], runs["c"]])  # c: --attention none
    message = f"but the ensemble's run {runs['c']} has no attention"
    with pytest.raises(ValueError, match=re.escape(message)):
        tr.translate(["12"], replace_unk=True)
