"""Mutation pass over the code whose mistakes give wrong numbers without an error: metrics.py,
data/batching.py, vocab.py, bpe.py, tokenize.py, wordpunct.py, and train/grad_norm.py,
schedule.py, scheduled_sampling.py, stopping.py, accumulate.py, tally.py. Each test kills a
hand-made mutant that the suite let live, named in its comment; every expected value is worked
out by hand or by NumPy, never by the code under test."""

from __future__ import annotations

import math
import types

import numpy as np
import pytest

from minis2s.data.batching import batch_indices, encode_pairs
from minis2s.data.bpe import learn_tokenizer
from minis2s.data.tokenize import get_tokenizer
from minis2s.data.vocab import Vocab
from minis2s.data.wordpunct import wordpunct_detokenize, wordpunct_tokenize
from minis2s.metrics import exact_match, exact_match_by_length
from minis2s.train import tally
from minis2s.train.accumulate import group_loss_and_grads
from minis2s.train.grad_norm import clip_grad_norm
from minis2s.train.schedule import (
    Constant,
    EarlyStopping,
    Exponential,
    ReduceOnPlateau,
    Warmup,
    sampling_probability,
)

# --- metrics.py ---------------------------------------------------------------------------------


def test_exact_match_compares_tokens_in_order():
    # kills `_as_key: return tuple(sorted(key))`: the same tokens in another order are not a match
    hyps, refs = [[1, 2, 3], np.array([5, 4])], [[3, 2, 1], np.array([5, 4])]
    assert exact_match(hyps, refs) == 0.5
    assert exact_match_by_length([3, 2], hyps, refs, width=1) == [(2, 2, 1, 1.0), (3, 3, 1, 0.0)]


# --- data/batching.py ---------------------------------------------------------------------------


def test_unbucketed_batches_are_the_shuffled_examples_cut_in_order():
    # kills `if rng is not None:` (for `if bucket and rng is not None:`), which shuffled the
    # batches again after cutting the shuffled examples: the docstring's order is "shuffle the
    # examples with rng, then cut", so a seed gives the batches NumPy's permutation gives
    examples = [([1] * (n + 1), [4]) for n in range(10)]
    plan = batch_indices(examples, batch_size=3, rng=7, bucket=False)
    order = np.random.default_rng(7).permutation(10).tolist()
    assert plan == [order[0:3], order[3:6], order[6:9], order[9:]]


def test_tokens_per_batch_remembers_the_longest_target_of_the_batch():
    # kills `s_max, t_max = S[i], T[i]` (for s, t) in _cut_by_tokens: the batch's longest target
    # was forgotten once a longer source came, and three rows padded to T = 9 (27 tokens) went
    # into one batch of at most 20
    examples = [
        ([5] * 1, [4] * 8),
        ([5] * 2, [4]),
        ([5] * 3, [4]),
    ]  # (S, T) = (1, 9), (2, 2), (3, 2)
    plan = batch_indices(examples, tokens_per_batch=20)
    assert plan == [[0, 1], [2]]  # 9 * 2 = 18 <= 20; with row 2, 9 * 3 = 27 > 20
    for g in plan:
        longest = max(max(len(examples[i][0]), len(examples[i][1]) + 1) for i in g)
        assert longest * len(g) <= 20


def test_encode_pairs_refuses_frames_that_overflow_float32():
    # kills check_frames casting to float64 (for float32): a float64 frame of 1e39 is finite, but
    # the batch holds float32, where it is inf; the API casts first, encode_pairs does not
    frames = np.full((2, 3), 1e39)
    with pytest.raises(ValueError, match="the source of pair 0 holds NaN or infinity at frame 0"):
        encode_pairs([(frames, "a")], None, Vocab(["a"]), "char")


def test_a_target_longer_than_tokens_per_batch_is_refused():
    # kills `if S[i] > budget` (for max(S[i], T[i])): a target of 9 tokens (T = 10 with EOS)
    # made a batch of 10 padded tokens under a budget of 5, without a word
    with pytest.raises(ValueError, match=r"alone needs max\(S, T\) = 10 padded tokens"):
        batch_indices([([5], [4] * 9)], tokens_per_batch=5)


# --- data/vocab.py ------------------------------------------------------------------------------


def test_decode_each_stops_at_the_first_eos():
    # kills `if i == EOS_ID: continue` (for break) in decode_each, the path of NumPy scalars
    v = Vocab(["a", "b"])  # a = 4, b = 5
    assert v.decode_each([4, 2, 5]) == ["a"]
    assert v.decode([np.int64(4), np.int64(2), np.int64(5)]) == ["a"]


@pytest.mark.parametrize("call", [lambda v: v.token_of(-1), lambda v: v.decode_each([-1])])
def test_a_negative_id_is_refused_not_read_from_the_end(call):
    # kills `if not -1 <= i < len(self._itos)` in token_of: id -1 gave the last token, silently
    with pytest.raises(ValueError, match="id -1 is out of range"):
        call(Vocab(["a", "b"]))


# --- data/bpe.py -------------------------------------------------------------------------------


@pytest.mark.parametrize("min_count, merges", [(4, ()), (3, (("a", "b"),))])
def test_learn_tokenizer_passes_its_min_count_on(min_count, merges):
    # kills `learn_merges(counts, merges)` (min_count dropped) in learn_tokenizer: the pair (a, b)
    # occurs 3 times, so min_count 4 learns nothing; the default 2 would have learned it
    assert learn_tokenizer(["ab ab ab"], merges=10, min_count=min_count).merges == merges


def test_get_tokenizer_names_the_choices_for_an_unhashable_name():
    # kills `except KeyError` (for KeyError, TypeError): a list for a name was a TypeError
    with pytest.raises(ValueError, match="unknown tokenizer"):
        get_tokenizer(["char"])


# --- data/wordpunct.py --------------------------------------------------------------------------


def test_a_number_with_several_separators_is_one_token():
    # kills WORDPUNCT's `\d+(?:[.,:]\d+)?` (for `+`): 1,000,000 was "1,000", ",", "000"
    assert wordpunct_tokenize("1,000,000 at 10:30:15 on 192.168.0.1") == [
        "1,000,000", "at", "10:30:15", "on", "192.168.0.1"
    ]  # fmt: skip


def test_a_flag_after_a_zero_width_joiner_stays_whole():
    # kills `_is_regional(before[-run])` (for before[-1 - run]) in _pairs_with: the regional
    # indicators were counted from the token's first character, so the second letter of the
    # flag after "😀" + ZWJ did not pair with the first and the flag was cut in two
    text = "😀\u200d\U0001f1eb\U0001f1f7 ok"  # 😀, ZWJ, 🇫 🇷
    assert wordpunct_tokenize(text) == ["😀\u200d\U0001f1eb\U0001f1f7", "ok"]


@pytest.mark.parametrize(
    "tokens, text",
    [(["don", "’", "t"], "don’t"), (["l", "’", "homme", "est", "là"], "l’homme est là")],
)
def test_a_typographic_apostrophe_between_words_joins_them(tokens, text):
    # kills JOINERS without "’": "don’t" came back as "don’ t"
    assert wordpunct_detokenize(tokens) == text


def test_a_currency_sign_before_the_last_token_opens_on_its_number():
    # kills `i < len(tokens) - 2` (for - 1) in _roles: "$" just before a number that ends the
    # sentence was spaced, "It costs $ 5"
    assert wordpunct_detokenize(["It", "costs", "$", "5"]) == "It costs $5"


# --- train/grad_norm.py ---------------------------------------------------------------------


def test_a_norm_just_above_a_small_max_norm_is_clipped():
    # kills `total > max_norm + 1e-6`: a norm of 1.5e-6 over max_norm 1e-6 must be scaled by
    # 1e-6 / (1.5e-6 + 1e-6) = 0.4 (torch's clip_grad_norm_), not left as is
    g = {"W": np.array([1.5e-6, 0.0])}
    assert clip_grad_norm(g, 1e-6) == pytest.approx(1.5e-6, rel=1e-12)
    np.testing.assert_allclose(g["W"], [6e-7, 0.0], rtol=1e-12)


# --- train/schedule.py --------------------------------------------------------------------------


@pytest.mark.parametrize("first, threshold", [(0.0, 1e-4), (1.0, 0.0)])
def test_plateau_reduces_when_the_metric_only_repeats(first, threshold):
    # kills `metric <= self.best - margin` (for <) in mode "min": with no margin (a best of 0, or
    # threshold 0) an equal metric counted as an improvement, and a flat loss never reduced
    plateau = ReduceOnPlateau(lr=1.0, factor=0.5, patience=0, threshold=threshold)
    assert plateau.step(first) == 1.0
    assert plateau.step(first) == 0.5  # one bad evaluation > patience 0: halved


def test_plateau_tiebreak_threshold_is_relative_to_the_tiebreak():
    # kills `self._margin(self.best)` (for self.best_tiebreak) in _lower_tiebreak: the margin of
    # a tie-break is 1e-4 of the best's tiebreak (2.0 -> 0.0002), not of the metric (100 -> 0.01)
    plateau = ReduceOnPlateau(lr=1.0, patience=3, mode="max", threshold=1e-4)
    plateau.step(100.0, tiebreak=2.0)
    plateau.step(100.0, tiebreak=1.995)  # 1.995 < 2.0 - 0.0002: an improvement
    assert (plateau.best_tiebreak, plateau.bad_steps) == (1.995, 0)


def test_a_state_with_a_key_too_many_is_refused():
    # kills `if not set(vars(self)) <= set(d)` (for !=) in load_state_dict: a key of another
    # schedule's state was taken in silently, as an attribute nothing reads
    plateau = ReduceOnPlateau(lr=1.0)
    with pytest.raises(ValueError, match="expected keys"):
        plateau.load_state_dict({**plateau.state_dict(), "min_delta": 0.0})


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Warmup(lr=1.0, warmup_steps=2.5), "warmup_steps must be an integer >= 1"),
        (lambda: EarlyStopping(patience=0), "patience must be an integer >= 1"),
        (lambda: sampling_probability("exponential", 0, k=0.0), r"k must be in \(0, 1\]"),
    ],
)
def test_schedule_arguments_out_of_range_are_refused(make, message):
    # kills Warmup's check without isinstance(warmup_steps, Integral) (2.5 ran as 2),
    # EarlyStopping's `patience >= 0` (0 stopped after the first evaluation, however good) and
    # the exponential sampling's `0 <= k` (k = 0 fed the model its own tokens from step 1)
    with pytest.raises(ValueError, match=message):
        make()


def test_exponential_takes_gamma_one_a_constant_rate():
    # kills `if not 0 < gamma < 1` (for <= 1): the documented range (0, 1] includes 1
    assert Exponential(lr=0.1, gamma=1.0).lr(7) == 0.1


def test_an_infinite_learning_rate_is_refused():
    # kills `_positive` without `math.isfinite(v)`: lr = inf was taken, and the first update
    # made every parameter inf or NaN
    with pytest.raises(ValueError, match="finite number > 0"):
        Constant(lr=math.inf)


def test_plateau_refuses_a_factor_of_one():
    # kills `0 < factor <= 1` (for < 1): a factor of 1 never reduces the rate, without a word
    with pytest.raises(ValueError, match=r"factor must be in \(0, 1\)"):
        ReduceOnPlateau(lr=1.0, factor=1.0)


# --- train/accumulate.py ------------------------------------------------------------------------


def test_a_group_of_one_batch_is_that_batch_bit_for_bit():
    # kills `if False:` (for `if len(group) == 1:`): weighted, the loss came back as
    # (0.1 * 3) / 3 = 0.10000000000000002, not the model's 0.1
    g = np.array([0.25, -1.5], dtype=np.float32)
    model = types.SimpleNamespace(loss_and_grads=lambda batch: (0.1, {"W": g}))
    loss, grads = group_loss_and_grads(model, [types.SimpleNamespace(n_tokens=3)])
    assert loss == 0.1
    assert grads["W"] is g


# --- train/tally.py -----------------------------------------------------------------------------


def _sums(*updates):
    """tally's sums after `updates`, each (n, loss, norm, clip, seconds so far)."""
    s = dict(tally.SUMS)
    for u in updates:
        tally.add(s, *u)
    return s


def test_an_update_at_exactly_the_clip_norm_is_not_counted_as_clipped():
    # kills `norm >= clip` (for >): clip_grad_norm scales only when the norm exceeds max_norm
    s = _sums((4, 1.0, 1.0, 1.0, 1.0), (4, 1.0, 3.0, 1.0, 2.0))
    assert tally.figures(s, clip=1.0)["clipped"] == 0.5


def test_no_update_is_counted_as_clipped_when_clipping_is_off():
    # kills `bool(norm > clip)` (for `clip > 0 and norm > clip`): with clip 0 (off), every update
    # with a gradient went into the checkpointed count of updates that --clip scaled down
    assert _sums((4, 1.0, 3.0, 0.0, 1.0))["epoch_clipped"] == 0


def test_tokens_per_second_divides_by_the_lines_time_so_far():
    # kills `s["epoch_seconds"] + seconds`: `seconds` is already the line's time so far (1 s,
    # then 2 s), so 20 tokens took 2 s: 10 a second, not 20 / 3
    s = _sums((10, 1.0, 1.0, 0.0, 1.0), (10, 1.0, 1.0, 0.0, 2.0))
    assert tally.figures(s, clip=0.0)["tokens_per_s"] == 10.0


def test_the_progress_bar_perplexity_is_of_the_mean_token_loss():
    # kills `min(s["epoch_nll"], 50)` (for epoch_nll / epoch_tokens): 6 nats over 3 tokens is a
    # mean of 2, perplexity e^2 = 7.389..., not e^6
    s = _sums((3, 2.0, 1.0, 0.0, 1.0))
    assert tally.progress(s, loss=2.0, norm=1.0)["ppl"] == "7.39"


def test_tokens_per_second_of_a_line_shorter_than_a_second():
    # kills `max(s["epoch_seconds"], 1.0)` (for 1e-9): 20 tokens in half a second is 40 a second
    s = _sums((20, 1.0, 1.0, 0.0, 0.5))
    assert tally.figures(s, clip=0.0)["tokens_per_s"] == 40.0


def test_progress_bar_tokens_per_second_of_a_line_shorter_than_a_second():
    # kills `max(s["epoch_seconds"], 1.0)` (for 1e-9) in progress: 20 tokens in 0.5 s is 40/s
    s = _sums((20, 1.0, 1.0, 0.0, 0.5))
    assert tally.progress(s, loss=1.0, norm=1.0)["tok_s"] == "40"
