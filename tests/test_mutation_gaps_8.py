"""Mutation pass over the code whose mistakes give wrong results that a gradient check cannot see
(a mistake made alike in a forward and a backward pass, or in decoding, which has no gradient):
layers/loss.py, softmax.py, attention.py, attention_keys.py, dropout.py, decode/beam.py,
greedy.py, sample.py, common.py, replace_unk.py and train/average.py. Each test kills a
hand-made mutant that the suite let live, named in its comment; every expected value is worked
out by hand, never by the code under test."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest

from minis2s.cli import main
from minis2s.data.batching import pad
from minis2s.data.corpus import write_tsv
from minis2s.data.tasks import get_task
from minis2s.data.vocab import EOS_ID
from minis2s.decode import beam_search, sample
from minis2s.layers import loss
from minis2s.train import checkpoint
from minis2s.train.average import average, last_kept
from tests.table_decoder import Table

# --- layers/loss.py ----------------------------------------------------------------------------


@pytest.mark.parametrize("eps", [0.001, 0.01])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_a_small_label_smoothing_reaches_the_gradient(eps, reduction):
    # kills `softmax_minus_target: if eps > 0.01` (the eps / V of q dropped below it): dlogits is
    # p - q by a naive reference, q = (1 - eps) one-hot + eps / V, 0 on the ignored row (-100)
    z = np.array([[1.0, -2.0, 0.5, 3.0], [0.2, 0.1, -0.3, 0.0], [9.0, 9.0, 9.0, 9.0]])
    y = np.array([2, 0, -100])
    _, cache = loss.forward(z, y, ignore_index=-100, label_smoothing=eps, reduction=reduction)
    dz = loss.backward(0.5, cache)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    q = np.full(z.shape, eps / 4)
    q[[0, 1], [2, 0]] += 1.0 - eps
    want = 0.5 * (p - q) / (2.0 if reduction == "mean" else 1.0)
    want[2] = 0.0
    np.testing.assert_allclose(dz, want, rtol=1e-12, atol=1e-15)


# --- decode/beam.py -----------------------------------------------------------------------------


def test_the_search_goes_on_while_a_live_hypothesis_could_beat_the_nbest_th_finished_one():
    # kills `_keep_best: finished[n][0].score >= best_live`: the search may stop only when the
    # nbest-th finished hypothesis, not the best one, scores at least what a live one still could.
    # K = nbest = 2, no penalty. Step 0: </s> ends at -0.1; 4 (-0.5) and 5 (-0.6) live.
    # Step 1: 4 6 (-0.51) and 5 7 (-2.6) live, 4 </s> ends at -0.8: two finished, the best
    # (-0.1) above the best live (-0.51), the second (-0.8) below it. Step 2: 4 6 </s> ends at
    # -0.52, the second best output; stopping after step 1 would return 4 (-0.8) instead.
    model = Table({
        (): {EOS_ID: -0.1, 4: -0.5, 5: -0.6},
        (4,): {EOS_ID: -0.3, 6: -0.01},
        (5,): {7: -2.0},
        (4, 6): {EOS_ID: -0.01},
    })  # fmt: skip
    hyps = beam_search(model, *pad([[4]]), beam_size=2, nbest=2)[0]
    assert [h.ids for h in hyps] == [[], [4, 6]]
    np.testing.assert_allclose([h.logprob for h in hyps], [-0.1, -0.52], rtol=1e-12)


def test_the_average_penalty_bounds_a_live_hypothesis_by_the_length_limit_itself():
    # kills `_keep_best: attainable(..., limits[n] - 1, ...)`: a live hypothesis may end with as
    # many tokens as the limit (6 here). Step 0: </s> ends at -0.4 / 1; 4 (-2.2) lives, and
    # could end at -2.2 / 6 = -0.367 (with 5 tokens, only at -0.44, below -0.4). Five more 4s
    # (-1e-3 each) reach the limit: 4 x 6 is cut there, without </s>, at -2.205 / 6 = -0.3675.
    more = {(4,) * n: {4: -1e-3} for n in range(1, 6)}
    model = Table({(): {EOS_ID: -0.4, 4: -2.2}, **more})
    [[h]] = beam_search(model, *pad([[4]]), beam_size=1, length_penalty="average",
                        max_len_a=0.0, max_len_b=6)  # fmt: skip
    assert h.ids == [4] * 6 and not h.ended
    np.testing.assert_allclose([h.logprob, h.score], [-2.205, -2.205 / 6], rtol=1e-12)


# --- decode/sample.py ---------------------------------------------------------------------------


def test_a_tuple_of_generators_is_one_per_sentence_as_a_list_is():
    # kills `per_sentence = isinstance(rng, list)`: the docstring's "one Generator per sentence"
    # is any sequence of them; a tuple drawing as the list of the same seeds does
    model = Table({(): {4: np.log(0.5), 5: np.log(0.25), EOS_ID: np.log(0.25)}})
    ids, mask = pad([[4], [4, 5], [6]])
    out = {}
    for kind in (list, tuple):
        rngs = kind(np.random.default_rng(seed) for seed in (1, 2, 3))
        out[kind] = sample(model, ids, mask, rng=rngs, max_len_a=0.0, max_len_b=3)
    assert [h[0].ids for h in out[tuple]] == [h[0].ids for h in out[list]]


# --- train/average.py ---------------------------------------------------------------------------

TINY = ["--epochs", "2", "--hidden", "8", "--emb", "8", "--batch-size", "16", "--show", "0",
        "--quiet", "--eval-every", "2", "--keep-checkpoints", "3"]  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A run of 64 pairs in batches of 16 over 2 epochs, scored every 2 updates, keeping 3:
    steps/step-0000004, -6 and -8, and best/ and last/."""
    root = tmp_path_factory.mktemp("average8")
    splits = get_task("reverse-digits").generate(seed=0)
    for split, n in (("train", 64), ("dev", 16)):
        write_tsv(root / f"{split}.tsv", splits[split][:n])
    data = ["--data", str(root / "train.tsv"), "--dev-data", str(root / "dev.tsv")]
    assert main(["train", *data, *TINY, "--out", str(root / "r")]) == 0
    return root / "r"


def step(run, n: int) -> str:
    return str(run / "steps" / f"step-{n:07d}")


def copy_with(src, dest, change) -> str:
    """A copy of checkpoint `src` whose state.json's config `change` changes in place."""
    shutil.copytree(src, dest)
    state = json.loads((dest / "state.json").read_text(encoding="utf-8"))
    change(state["config"])
    (dest / "state.json").write_text(json.dumps(state), encoding="utf-8")
    return str(dest)


def test_last_kept_refuses_no_checkpoints(tmp_path):
    # kills `last_kept: if k < 1` made `k < 0`: --last 0 would take found[-0:], every kept one
    with pytest.raises(ValueError, match=r"--last must be >= 1 \(checkpoints to average\); got 0"):
        last_kept(tmp_path, 0)


def test_a_checkpoint_holding_nan_is_refused_not_averaged(run, tmp_path):
    # kills `_load` without check_finite_params: a NaN in one input makes that parameter's mean NaN
    bad = tmp_path / "bad"
    shutil.copytree(step(run, 8), bad)
    params = dict(np.load(bad / "params.npz"))
    params["out.W"][0, 0] = np.nan
    np.savez(bad / "params.npz", **params)
    for name, order in (("a", [step(run, 6), str(bad)]), ("b", [str(bad), step(run, 6)])):
        with pytest.raises(ValueError, match=r"parameters hold NaN or infinite values \(out\.W\)"):
            average(order, tmp_path / name)
        assert not (tmp_path / name).exists()


def test_a_checkpoint_that_records_no_dtype_is_float32(run, tmp_path):
    # kills the "float64" default of `average: dtype = ...get("dtype", ...)` and of
    # `config_difference`: a checkpoint saved before configs recorded the dtype holds float32
    # (load_run reads it so), is one model with a float32 one, and averages to float32
    def undated(n):
        return copy_with(step(run, n), tmp_path / f"u{n}", lambda c: c.pop("dtype"))

    assert checkpoint.load_config(step(run, 8))["dtype"] == "float32"
    for name, order in (
        ("a", [undated(6), undated(8)]),
        ("b", [step(run, 4), str(tmp_path / "u8")]),
    ):
        out = average(order, tmp_path / name)
        assert {str(p.dtype) for p in checkpoint.load(out).params.values()} == {"float32"}


def test_a_config_without_a_seed_is_not_another_run(run, tmp_path):
    # kills `_warn_other_runs: if x != y`: a config that records no seed (None) tells nothing
    unseeded = copy_with(step(run, 8), tmp_path / "u", lambda c: c["train"].pop("seed"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        average([step(run, 6), unseeded], tmp_path / "out")
        average([unseeded, step(run, 6)], tmp_path / "out2")


def test_the_average_records_the_steps_of_its_inputs_in_their_order(run, tmp_path):
    # kills `steps.insert(0, ...)`: steps[i] is the step of checkpoints[i] (4, 8, 6 as named)
    out = average([step(run, 4), step(run, 8), step(run, 6)], tmp_path / "avg")
    entry = checkpoint.load_config(out)["average"]
    assert entry["steps"] == [4, 8, 6]
    assert entry["checkpoints"] == [step(run, 4), step(run, 8), step(run, 6)]


def test_an_average_descends_from_the_runs_of_its_inputs(run, tmp_path):
    # kills `lineage: pass` for `starts += average's checkpoints`: an average of RUN and a run of
    # seed 7 holds seed 7's config, yet it descends from RUN, so averaging it with RUN's
    # checkpoint mixes no stranger's units and warns of nothing
    seeded = copy_with(step(run, 8), tmp_path / "s7", lambda c: c["train"].update(seed=7))
    with pytest.warns(UserWarning, match=r"other seeds: 0 and 7"):
        mixed = average([step(run, 6), seeded], tmp_path / "mixed")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        average([mixed, step(run, 4)], tmp_path / "out")


def test_two_averages_in_one_folder_are_not_one_run(run, tmp_path):
    # kills `_run_of: return str(path.parent)` for a checkpoint in no run: two averages side by
    # side in one folder, one of RUN (seed 0), one of copies of seed 7, are of different runs
    ours = average([step(run, 4), step(run, 6)], tmp_path / "ours")
    sevens = [copy_with(step(run, n), tmp_path / f"s{n}", lambda c: c["train"].update(seed=7))
              for n in (6, 8)]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # both of seed 7, no run each: one lineage's data alike
        theirs = average(sevens, tmp_path / "theirs")
    with pytest.warns(UserWarning, match=r"come from different runs \(other seeds: 0 and 7\)"):
        average([ours, theirs], tmp_path / "out")
