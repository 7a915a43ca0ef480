"""Synthetic tasks: sizes, determinism, disjoint splits, and targets checked from first
principles (dates are parsed with datetime.strptime, not with the generator's formats)."""

import datetime
import functools
import re

import numpy as np
import pytest

from minis2s.data import tasks
from minis2s.data.tasks import NOISE_STD, SPLITS, TASKS, get_task, ordinal

TEXT_TASKS = [name for name, t in TASKS.items() if t.features is None]


@functools.cache
def splits(name, seed=0):
    return get_task(name).generate(seed)


def all_pairs(name):
    return [pair for s in SPLITS for pair in splits(name)[s]]


def test_registry():
    assert set(TASKS) == {"reverse-digits", "reverse-long", "reverse-string", "copy", "sort",
                          "addition", "dates", "en-es", "noisy-digits"}  # fmt: skip
    for name, task in TASKS.items():
        assert task.name == name and task.description
        assert task.tokenizer == ("word" if name == "en-es" else "char")
        assert task.features == (10 if name == "noisy-digits" else None)
    with pytest.raises(ValueError, match="unknown task 'nope'; choose one of: reverse-digits, "):
        get_task("nope")


@pytest.mark.parametrize("name", TASKS)
def test_sizes_and_determinism(name):
    task, got = get_task(name), splits(name)
    assert [len(got[s]) for s in SPLITS] == list(task.sizes)
    again = task.generate(seed=0)
    other = task.generate(seed=1)
    for s in SPLITS:
        assert _plain(again[s]) == _plain(got[s])
    assert _plain(other["test"]) != _plain(got["test"])


def _plain(pairs):
    """Pairs with array sources turned into bytes, so lists compare with ==."""
    return [(s.tobytes() if isinstance(s, np.ndarray) else s, t) for s, t in pairs]


@pytest.mark.parametrize("name", TASKS)
def test_splits_do_not_overlap(name):
    # Dates are keyed by the date (any spelling), noisy digits by the digit string.
    by_target = name in ("dates", "noisy-digits")
    keys = {s: [t if by_target else x for x, t in splits(name)[s]] for s in SPLITS}
    for s in SPLITS:
        assert len(set(keys[s])) == len(keys[s]), f"repeats within {s}"
    assert not set(keys["train"]) & set(keys["test"])
    assert not set(keys["train"]) & set(keys["dev"])
    assert not set(keys["dev"]) & set(keys["test"])


@pytest.mark.parametrize("name", TEXT_TASKS)
def test_lengths_vary(name):
    src_lengths = {len(x) for x, _ in splits(name)["train"]}
    assert len(src_lengths) >= 5
    assert all(len(x) > 0 and len(t) > 0 for x, t in all_pairs(name))


@pytest.mark.parametrize(
    "name, alphabet, max_len, target",
    [
        ("reverse-digits", "0123456789", 10, lambda s: s[::-1]),
        ("reverse-long", "0123456789", 40, lambda s: s[::-1]),
        ("reverse-string", "abcdefghijklmnopqrstuvwxyz ", 10, lambda s: s[::-1]),
        ("copy", "abcdefghijklmnopqrstuvwxyz", 12, lambda s: s),
        ("sort", "abcdefghijklmnopqrstuvwxyz", 10, lambda s: "".join(sorted(s))),
    ],
)
def test_string_task_targets(name, alphabet, max_len, target):
    pairs = all_pairs(name)
    for src, tgt in pairs:
        assert 1 <= len(src) <= max_len and set(src) <= set(alphabet)
        assert tgt == target(src)
    assert max(len(s) for s, _ in pairs) == max_len and min(len(s) for s, _ in pairs) == 1


def test_reverse_long_fills_every_band_of_lengths():
    """Its point is accuracy against source length (examples/005), so each band of ten lengths
    holds about a quarter of the test split. Lengths 1 and 2 have only 10 and 100 strings, which
    the no-repeat rule spreads over the three splits: 1..10 holds a little less."""
    for split in ("dev", "test"):
        lengths = np.array([len(s) for s, _ in splits("reverse-long")[split]])
        per_band = np.bincount((lengths - 1) // 10, minlength=4)
        assert len(per_band) == 4 and per_band.min() >= 180 and per_band[1:].min() >= 220, per_band
    train = [s for s, _ in splits("reverse-long")["train"]]
    assert sum(len(s) == 1 for s in train) <= 10 and sum(len(s) == 2 for s in train) <= 100


def test_rare_sources_are_spread_over_the_splits():
    """The unique examples are shuffled before the cut: without it the splits would take them in
    draw order, and the short sources (1110 strings of at most 3 digits, nearly all met in the
    first draws) would fill train and leave dev and test almost none. Each split holds about the
    same share of them."""
    share = {s: np.mean([len(x) <= 3 for x, _ in splits("reverse-digits")[s]]) for s in SPLITS}
    assert share["train"] > 0.02, share
    for s in ("dev", "test"):
        assert 0.5 < share[s] / share["train"] < 2, share


def test_tasks_do_not_share_random_streams():
    """The seed is salted with the task's name: reverse-digits and noisy-digits draw digit
    strings the same way, and on one stream they would draw the same ones. Two independent draws
    of 10-digit strings (10^10 of them) share next to none."""
    ten = {name: {t for _, t in all_pairs(name) if len(t) == 10} for name in
           ("reverse-digits", "noisy-digits")}  # fmt: skip
    a, b = ten.values()
    assert min(len(a), len(b)) > 1000 and len(a & b) < 10, len(a & b)


class _Extremes:
    """A stand-in for a Generator whose draws are all the lowest (or all the highest) allowed."""

    def __init__(self, highest):
        self.highest = highest

    def integers(self, low, high, size):
        return np.full(size, high - 1 if self.highest else low)


def test_dates_span_the_whole_range_at_the_draws_extremes():
    """The documented range is 1950-01-01 .. 2049-12-31, both ends included: the lowest and the
    highest draw give exactly those dates (a sample of 22000 dates may miss either day)."""
    for highest, want in ((False, "1950-01-01"), (True, "2049-12-31")):
        assert {t for _, _, t in tasks._dates(_Extremes(highest), 3)} == {want}


def test_reverse_string_has_words():
    pairs = all_pairs("reverse-string")
    assert all(s == " ".join(s.split()) for s, _ in pairs)  # no edge or double spaces
    assert sum(" " in s for s, _ in pairs) > len(pairs) // 3


def test_addition_targets():
    pairs = all_pairs("addition")
    operands = []
    for src, tgt in pairs:
        m = re.fullmatch(r"(0|[1-9][0-9]{0,2})\+(0|[1-9][0-9]{0,2})", src)
        assert m, src  # operands 0..999 without leading zeros
        assert re.fullmatch(r"0|[1-9][0-9]*", tgt)
        assert eval(src) == int(tgt)  # safe: src matched the pattern above
        operands += [int(m[1]), int(m[2])]
    assert min(operands) == 0 and max(operands) == 999
    # Digit counts are drawn uniformly (1/3 one-digit), but pairs of short operands soon repeat
    # and repeats are dropped, leaving ~14% one-digit operands; uniform values would give ~1%.
    one_digit = np.mean([x < 10 for x in operands])
    assert 0.10 < one_digit < 0.20


def test_ordinals():
    suffix = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}
    assert [ordinal(k) for k in range(1, 32)] == [f"{k}{suffix.get(k, 'th')}" for k in range(1, 32)]


# dates: each source must parse, by strptime under the documented conventions, to its target.
STRPTIME_FORMATS = ["%d %B %Y", "%B %d, %Y", "%m/%d/%Y", "%Y.%m.%d", "%a %d %b %y",
                    "%d of %B %Y", "%b %d %Y", "%A, %B %d, %Y", "%m/%d/%y", "%d-%b-%Y",
                    "%B %d %Y", "%d %b %Y", "%Y%m%d"]  # fmt: skip


def parse_date(text):
    """(every date `text` denotes under STRPTIME_FORMATS, the formats that matched)."""
    bare = re.sub(r"\b(\d{1,2})(st|nd|rd|th)\b", r"\1", text)  # "3rd" -> "3"
    dates, used = set(), set()
    for fmt in STRPTIME_FORMATS:
        try:
            d = datetime.datetime.strptime(bare, fmt).date()
        except ValueError:
            continue
        if "%y" in fmt and d.year >= 2050:  # strptime reads 50..68 as 20xx; we mean 19xx
            d = d.replace(year=d.year - 100)
        if "%a" in fmt or "%A" in fmt:  # strptime ignores the weekday; check it here
            assert bare.split()[0].rstrip(",") == d.strftime("%a" if "%a" in fmt else "%A")
        dates.add(d)
        used.add(fmt)
    return dates, used


def test_date_targets_match_the_source():
    pairs = splits("dates")["test"] + splits("dates")["dev"] + splits("dates")["train"][:2000]
    formats_seen = set()
    for src, tgt in pairs:
        dates, used = parse_date(src)
        assert dates == {datetime.date.fromisoformat(tgt)}, (src, tgt)
        formats_seen |= used
    assert len(formats_seen) >= 10


def test_date_range():
    years = [int(t[:4]) for _, t in all_pairs("dates")]
    assert min(years) == 1950 and max(years) == 2049
    assert parse_date("Wed 3 Mar 21")[0] == {datetime.date(2021, 3, 3)}  # the checker itself
    assert parse_date("5/6/55")[0] == {datetime.date(1955, 5, 6)}


def test_noisy_digits_frames():
    pairs = all_pairs("noisy-digits")
    frames, digits = [], []
    for x, tgt in pairs:
        assert isinstance(x, np.ndarray) and x.dtype == np.float32 and x.shape == (len(tgt), 10)
        assert re.fullmatch(r"[0-9]{1,10}", tgt)
        frames.append(x)
        digits += [int(c) for c in tgt[::-1]]  # frame s shows the s-th digit of the source
    X, d = np.concatenate(frames), np.array(digits)
    noise = X - np.eye(10, dtype=np.float32)[d]  # should be N(0, NOISE_STD^2), independent of d
    assert abs(noise.mean()) < 0.01 and abs(noise.std() - NOISE_STD) < 0.01
    for k in range(10):
        assert np.abs(noise[d == k].mean(0)).max() < 0.02
    assert (X.argmax(1) == d).mean() > 0.9


SPANISH_DETERMINERS = {  # (definite, plural, gender), written out, not taken from the generator
    "el": (True, False, "m"), "la": (True, False, "f"), "los": (True, True, "m"),
    "las": (True, True, "f"), "un": (False, False, "m"), "una": (False, False, "f"),
    "unos": (False, True, "m"), "unas": (False, True, "f"),
}  # fmt: skip
ENGLISH_DETERMINERS = {"the", "a", "an", "some"}


def _phrases(words: list[str], determiners) -> list[list[str]]:
    """A sentence's two noun phrases, each from its determiner to the word before the next
    determiner or the verb (the verb is the word after the first phrase's noun)."""
    starts = [k for k, w in enumerate(words) if w in determiners]
    assert len(starts) == 2 and starts[0] == 0 and words[-1] == "."
    return [words[starts[0] : starts[1] - 1], words[starts[1] : -1]]


def test_en_es_agrees_in_gender_and_number_and_moves_the_adjective():
    """Checked from the Spanish alone: the determiner's gender and number agree with the noun
    (and the adjective) after it, the verb with the subject, the adjective follows its noun,
    and the English has the same words in its own order (determiner, adjective, noun)."""
    from minis2s.data.toy_translation import ADJECTIVES, NOUNS

    gender = {es: g for _, es, g in NOUNS}
    adj_en = {es[:-1]: en for en, es in ADJECTIVES}  # Spanish stem -> English
    noun_en = {es: en for en, es, _ in NOUNS}
    for en, es in all_pairs("en-es")[:3000]:
        en_words, es_words = en.split(), es.split()
        assert len(en_words) == len(es_words)  # one Spanish word per English word
        for en_np, es_np in zip(_phrases(en_words, ENGLISH_DETERMINERS),
                                _phrases(es_words, SPANISH_DETERMINERS), strict=True):  # fmt: skip
            definite, plural, g = SPANISH_DETERMINERS[es_np[0]]
            noun = es_np[1].removesuffix("s") if plural else es_np[1]
            assert gender[noun] == g and es_np[1].endswith("s") == plural
            assert en_np[-1] == noun_en[noun] + ("s" if plural else "")
            assert en_np[0] == ("the" if definite else "some" if plural else en_np[0])
            if len(es_np) == 3:  # determiner noun adjective -> determiner adjective noun
                adj = es_np[2]
                assert (
                    adj == adj[: -2 if plural else -1] + ("o" if g == "m" else "a") + "s" * plural
                )
                assert en_np[1] == adj_en[adj[: -2 if plural else -1]]
            if not definite and not plural:
                assert en_np[0] == ("an" if en_np[1][0] in "aeiou" else "a")
        subject_plural = SPANISH_DETERMINERS[es_words[0]][1]
        verb = es_words[len(_phrases(es_words, SPANISH_DETERMINERS)[0])]
        assert verb.endswith("n") == subject_plural  # ve/ven, come/comen, ...
    assert get_task("en-es").tokenizer == "word"


def test_en_es_draws_every_word_and_an_adjective_in_half_the_phrases():
    """Every noun, adjective and verb is drawn about equally often (none left out), and about half
    of the noun phrases have an adjective, counted from the English words."""
    from minis2s.data.toy_translation import ADJECTIVES, NOUNS, VERBS

    pairs = all_pairs("en-es")
    words = [w for en, _ in pairs for w in en.split()]
    count = {w: words.count(w) for w in set(words)}
    phrases, sentences = 2 * len(pairs), len(pairs)
    nouns = [count.get(en, 0) + count.get(en + "s", 0) for en, _, _ in NOUNS]
    adjectives = [count.get(en, 0) for en, _ in ADJECTIVES]
    verbs = [count.get(sg, 0) + count.get(pl, 0) for sg, pl, _, _ in VERBS]
    assert sum(nouns) == phrases and sum(verbs) == sentences
    for seen, total, kinds in ((nouns, phrases, len(NOUNS)), (verbs, sentences, len(VERBS)),
                               (adjectives, sum(adjectives), len(ADJECTIVES))):  # fmt: skip
        assert all(0.7 < n / (total / kinds) < 1.3 for n in seen), seen
    assert 0.45 < sum(adjectives) / phrases < 0.55
