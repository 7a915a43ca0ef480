"""Tests that kill the mutants of the last session's code (0d4b87a..a8b3c80) which the suite let
through: check_model's sampled mode, the memory refusals of validate.py, the optimizer's
argument checks, the decoding options' checks, and the moved provenance and wordpunct code.
Each test names the mutant behaviour it rules out."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re

import numpy as np
import pytest

from minis2s import backend, cli_options, evaluation, scoring, validate
from minis2s._decoding_checks import check_replace_unk, first_table_problem, normalized_table
from minis2s.data import bpe, provenance
from minis2s.data.tokenize import get_tokenizer
from minis2s.data.wordpunct import wordpunct_detokenize, wordpunct_tokenize
from minis2s.decode import beam_search, greedy
from minis2s.gradcheck import FLOOR, check_model
from minis2s.layers import linear, lstm, stack
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.train import optim
from minis2s.train.grad_norm import global_norm
from tests.test_gradcheck_sampled import BATCH, SineModel

# --- gradcheck.py: check_model(entries=, directions=)


@pytest.mark.parametrize(
    "kw, name",
    [
        (dict(entries=0, directions=0), "entries"),
        (dict(entries=0), "entries"),
        (dict(entries=-1), "entries"),
        (dict(entries=2.5), "entries"),
        (dict(entries=True), "entries"),
        (dict(entries="3"), "entries"),
        (dict(entries=3, directions=-1), "directions"),
        (dict(entries=3, directions=1.5), "directions"),
        (dict(entries=3, directions=None), "directions"),
    ],
)
def test_check_model_refuses_a_sample_that_checks_nothing_or_is_no_count(kw, name):
    """entries=0 with directions=0 (or directions=-1) compared empty vectors and passed a wrong
    gradient; entries=-1 or 2.5 was NumPy's error naming neither argument."""
    with pytest.raises(ValueError, match=f"check_model: {name}"):
        check_model(SineModel(wrong_at=17), BATCH, **kw)


class Recorder(SineModel):
    """A SineModel that keeps a copy of its parameters at every loss evaluated."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.seen = []

    def loss(self, batch, rng=None, **opts):
        self.seen.append({k: v.copy() for k, v in self.params.items()})
        return super().loss(batch)


def moves(model, name, w0):
    """The displacements of parameter `name` from w0 at each loss evaluated."""
    return [seen[name] - w0 for seen in model.seen if np.any(seen[name] != w0)]


def test_the_directions_are_random_unit_vectors_stepped_by_h():
    """Each direction is evaluated at +-h and +-2h along a unit vector, and the two differ.
    Mutants: v not normalised, steps of 2h or 10h, v all ones, v drawn from a generator
    re-seeded for each direction (the same v twice)."""
    h = 1e-3
    model = Recorder()
    w0 = model.params["w"].copy()
    check_model(model, BATCH, entries=3, directions=2, h=h)
    along = [d for d in moves(model, "w", w0) if np.count_nonzero(d) > 1]
    assert len(along) == 8  # 2 directions x 4 points of the stencil
    norms = [float(np.linalg.norm(d)) / h for d in along]
    assert np.allclose(sorted(norms), [1, 1, 1, 1, 2, 2, 2, 2])
    first, second = along[0] / norms[0] / h, along[4] / norms[4] / h
    assert abs(float(first @ second)) < 0.9  # two directions, not one twice


def test_a_parameter_no_larger_than_entries_costs_its_entries_only():
    """b (one entry) takes the 4 points of its one entry, no direction: the sampled mode is
    there to save forward passes. Mutant: directions drawn through every parameter."""
    model = Recorder()
    b0 = model.params["b"].copy()
    check_model(model, BATCH, entries=3, directions=2)
    assert len(moves(model, "b", b0)) == 4


def test_the_sampled_floor_is_the_full_checks():
    """Blocks are compared on at least FLOOR x the largest entry of the whole gradients, as the
    full check does, not of the values sampled. Mutant: block_errors without scale= (the floor
    of the 3 entries and 2 projections drawn)."""

    class SmallB(SineModel):  # the largest gradient entry is in w, which is sampled
        def __init__(self):
            super().__init__()
            self.params["b"] = np.array([0.01])

    full = FLOOR * float(np.abs(np.cos(SmallB().params["w"]) * BATCH).max())
    for seed in range(5):
        assert check_model(SmallB(), BATCH, seed=seed, entries=3).floor == pytest.approx(full)


def test_each_seed_draws_its_own_entries_and_the_same_seed_the_same():
    """Mutant: the entries drawn from a generator seeded with a constant, whatever `seed`."""
    notes = [check_model(SineModel(), BATCH, seed=s, entries=3).notes["w"] for s in range(5)]
    assert len(set(notes)) > 1
    assert check_model(SineModel(), BATCH, seed=3, entries=3).notes["w"] == notes[3]


def test_the_entries_drawn_are_distinct():
    """entries=30 of 40 checks 30 different entries. Mutant: drawn with replacement."""
    note = check_model(SineModel(), BATCH, seed=0, entries=30).notes["w"]
    drawn = re.findall(r"\((\d+),\)", note)
    assert len(drawn) == 30 and len(set(drawn)) == 30, note


def test_without_directions_the_note_names_no_directions():
    """Mutant: the note says "3-2 random directions" when there are none."""
    note = check_model(SineModel(), BATCH, seed=0, entries=3, directions=0).notes["w"]
    assert "positions 0-2 are entries" in note and "direction" not in note, note


def test_a_right_float64_gradient_checks_far_below_the_tolerance():
    """The backward's values are compared in float64: a right float64 gradient's sampled
    errors are ~1e-12. Mutant: the gradient read as float32 (errors ~1e-8, under 1e-7)."""
    for seed in range(3):
        assert max(check_model(SineModel(), BATCH, seed=seed, entries=3).values()) < 1e-9


def test_a_matrix_is_sampled_over_all_its_rows_and_named_by_row_and_column():
    """A (5, 8) parameter: a right gradient passes, and 30 entries drawn are 30 distinct
    (row, column) pairs in every row. Mutants: n = w.shape[0] (entries of the first row only),
    entries unravelled in Fortran order against the C-order gradient, the note's flat indices."""

    def matrix_model():
        model = SineModel()
        model.params["w"] = model.params["w"].reshape(5, 8)
        return model

    batch = BATCH.reshape(5, 8)
    for seed in range(3):
        assert max(check_model(matrix_model(), batch, seed=seed, entries=3).values()) < 1e-7
    note = check_model(matrix_model(), batch, seed=0, entries=30).notes["w"]
    drawn = set(re.findall(r"\((\d+), (\d+)\)", note))
    assert len(drawn) == 30 and {r for r, _ in drawn} == set("01234"), note


def test_one_entry_a_parameter_is_a_sample():
    """entries=1 is the least sample (with directions). Mutant: entries >= 2 required."""
    assert max(check_model(SineModel(), BATCH, entries=1).values()) < 1e-7


def test_every_entry_can_be_drawn_the_last_too():
    """37 entries of 40 leave out three, others seed by seed, and the last is drawn on some (38
    or more, with the 2 directions, would check every entry: gradcheck_sampled.py).
    Mutant: drawn from range(n - 1), never the last entry."""
    drawn, left_out = set(), set()
    for seed in range(8):
        note = check_model(SineModel(), BATCH, seed=seed, entries=37).notes["w"]
        these = {int(i) for i in re.findall(r"\((\d+),\)", note)}
        drawn |= these
        left_out |= set(range(40)) - these
    assert 39 in drawn and len(left_out) > 1


# --- train/grad_norm.py (check_arrays) and train/_optim_checks.py


class TorchLike:
    """An array whose dtype is no NumPy dtype (torch.Tensor's has no `.kind`)."""

    dtype = type("dtype", (), {"__str__": lambda self: "torch.float32"})()
    shape = (2,)


@pytest.mark.parametrize(
    "call",
    [lambda p: optim.SGD(p, lr=0.1), lambda p: optim.Adam(p, lr=0.1), global_norm],
    ids=["SGD", "Adam", "global_norm"],
)
def test_arrays_whose_dtype_is_not_numpys_are_refused_naming_them(call):
    """A torch tensor given as a parameter was an AttributeError ('torch.dtype' object has no
    attribute 'kind') from inside check_arrays."""
    with pytest.raises(ValueError, match=r"\['w'\] is a torch.float32 array"):
        call({"w": TorchLike()})


def test_adam_refuses_three_betas_naming_them():
    """Mutant: len(betas) >= 2 (a third beta, then an unpacking error naming nothing)."""
    with pytest.raises(ValueError, match="betas must be two numbers"):
        optim.Adam({"w": np.zeros(2)}, lr=0.1, betas=(0.9, 0.99, 0.5))


# --- validate.py: memory_bytes, fits, weights (and the sizes layers, Seq2Seq and beam give it)


@pytest.fixture
def memory(monkeypatch):
    """Set this machine's memory as validate.memory_bytes reports it: memory(1000)."""
    return lambda nbytes: monkeypatch.setattr(validate, "memory_bytes", lambda: nbytes)


def test_a_machine_that_does_not_say_its_memory_checks_nothing(monkeypatch):
    """Where os.sysconf fails (Windows) memory_bytes is None and nothing is refused. Mutants:
    memory_bytes 0 there (every size refused), check_model_fits comparing with None."""

    def no_sysconf(name):
        raise OSError("no such configuration name")

    monkeypatch.setattr(os, "sysconf", no_sysconf)
    assert validate.memory_bytes() is None
    validate.fits("here", "weights", 10**30)
    cli_options.check_model_fits({"enc_layers": 10**12, "dec_layers": 1, "hidden": 10**6})


def test_fits_refuses_one_byte_more_than_memory_as_a_memory_error(memory):
    """Exactly the memory passes, a byte more is TooLarge, which is a MemoryError (what the
    command line reports as out of memory). Mutants: >= memory refused, 2 x memory allowed,
    TooLarge a ValueError."""
    memory(1000)
    validate.fits("here", "weights", 1000)
    with pytest.raises(MemoryError, match="here: weights need at least"):
        validate.fits("here", "weights", 1001)


def test_init_counts_every_shape_with_its_float64_draw(memory):
    """linear.init(10, 10) draws 110 float64 values cast to float32: 1320 bytes, refused in 1000;
    lstm.init(2, 4) has 128 weights in four shapes, 1536 bytes. Mutants: the cast alone counted
    (440 bytes), the largest shape only (768 bytes)."""
    memory(1000)
    r = np.random.default_rng(0)
    with pytest.raises(validate.TooLarge, match="linear.init: weights of D 10, O 10"):
        linear.init(10, 10, r)
    with pytest.raises(validate.TooLarge, match="lstm.init: weights of D 2, H 4"):
        lstm.init(2, 4, r)
    memory(1320)
    linear.init(10, 10, r)


def test_init_takes_a_dtype_by_its_name():
    """dtype="float32" (a name, as np.dtype takes it) is accepted. Mutant: the name refused."""
    p = linear.init(2, 3, np.random.default_rng(0), dtype="float32")
    assert p["W"].dtype == np.float32


def test_a_model_whose_step_is_no_method_is_refused_naming_it():
    """Mutant: hasattr(m, "step") (a non-callable step was "'int' object is not callable")."""

    class NoStep:
        step = 3

        def encode(self, src, src_mask):
            raise AssertionError("decoded")

    with pytest.raises(ValueError, match="greedy: model is NoStep"):
        greedy(NoStep(), np.array([[4, 5]]), np.ones((1, 2), dtype=bool))


def test_a_stack_counts_an_h_by_h_matrix_a_layer_before_it_builds_one(memory):
    """stack.init refuses 10 layers of H 8 (2560 bytes) in 2000 itself, before any layer's own
    init. Mutant: num_layers x H x 4 bytes (320), refused only later by lstm.init."""
    memory(2000)
    with pytest.raises(validate.TooLarge, match="stack.init: num_layers 10 of H 8"):
        stack.init("lstm", 8, 8, 10, False, np.random.default_rng(0))


def test_seq2seq_counts_its_recurrent_layers_and_its_output_layer(memory):
    """8 layers of H 8 (2048 float32 bytes) and a (10, 8) output layer (320): refused in 2100 by
    Seq2Seq naming the config. Mutants: either term alone counted, refused only later by a
    layer's init."""
    memory(2100)
    cfg = ModelConfig(src_vocab=10, tgt_vocab=10, emb=8, hidden=8, enc_layers=4, dec_layers=4)
    with pytest.raises(validate.TooLarge, match="Seq2Seq: cfg's enc_layers 4, dec_layers 4"):
        Seq2Seq(cfg)


def test_beam_search_counts_its_hypotheses_log_probabilities_in_float64(memory):
    """One source, beam 13, a vocabulary of 10: 8 x 13 x 10 = 1040 bytes, refused in 1000
    naming beam_size. Mutants: 1 byte a log-probability, the vocabulary taken as 1."""
    model = Seq2Seq(ModelConfig(src_vocab=10, tgt_vocab=10, emb=8, hidden=8))
    src, mask = np.array([[4, 5, 6]]), np.ones((1, 3), dtype=bool)
    memory(1000)
    with pytest.raises(validate.TooLarge, match="beam_search: beam_size=13: 1 x 13 hypotheses"):
        beam_search(model, src, mask, beam_size=13)


# --- _decoding_checks.py: replace_unk and the phrase table

ATTENDS = ModelConfig(src_vocab=10, tgt_vocab=10, emb=8, hidden=8, attention="general")


def test_replace_unk_is_refused_for_a_model_of_one_feature():
    """Mutant: src_features > 1 refused, so one feature a position passed."""
    with pytest.raises(ValueError, match="feature vectors"):
        check_replace_unk(dataclasses.replace(ATTENDS, src_features=1), True)


def test_a_phrase_table_given_as_a_path_says_how_to_read_it():
    """A pathlib.Path is a file as --phrase-table takes it too. Mutant: the hint for str only."""
    with pytest.raises(ValueError, match="read_phrase_table"):
        check_replace_unk(ATTENDS, True, pathlib.Path("table.tsv"))


def test_the_table_is_normalised_on_both_sides():
    """The translation is written as output, which is in the tokenizer's normal form (NFC).
    Mutant: only the sources normalised."""
    table = normalized_table({"gato": "cafe\u0301"}, get_tokenizer("word"))
    assert table == {"gato": "caf\u00e9"}


def test_a_table_source_in_another_form_than_an_earlier_one_is_named_first_in_nfd():
    """NFD "café" then NFC "café": the same token twice. Mutant: the sources seen kept as
    spelled, so only an NFC source before its NFD twin was found."""
    problem = first_table_problem({"cafe\u0301": "a", "caf\u00e9": "b"}, get_tokenizer("word"))
    assert problem == ("caf\u00e9", "cafe\u0301")


def test_a_bpe_table_is_split_in_the_tokenizers_own_form():
    """A bpe tokenizer of text as written (form None, runs saved before normalisation) reads an
    NFD source as one token. Mutant: split by the NFC word tokenizer (read as another token)."""
    assert first_table_problem({"cafe\u0301": "x"}, bpe.bpe_tokenizer([], form=None)) is None


# --- evaluation.py


def test_translations_given_as_a_string_are_refused_naming_them():
    """Mutant: a str taken for the sequence of translations (refused later as 'translations[0]
    is str' or '2 translations for 3 pairs')."""
    pairs = [("12", "21"), ("34", "43"), ("56", "65")]
    with pytest.raises(ValueError, match="evaluate: translations is"):
        evaluation.evaluate_translations(None, pairs, "ab")


# --- data/provenance.py


def test_a_corpus_is_recorded_by_absolute_paths(tmp_path, monkeypatch):
    """A resume from another directory reads the same files. Mutant: the paths as given."""
    monkeypatch.chdir(tmp_path)
    source = provenance.source_of(None, ["a.src", "a.tgt"], "dev.tsv", None)
    assert source == {
        "data": [str(tmp_path / "a.src"), str(tmp_path / "a.tgt")],
        "dev_data": [str(tmp_path / "dev.tsv")],
        "test_data": None,
    }


def test_a_run_is_named_after_its_source_file():
    """Mutants: named after the target file of a (source, target) pair of files, a
    pathlib.Path indexed as a pair."""
    assert provenance.run_name(None, ["data/train.src.txt", "data/other.txt"]) == "train.src"
    assert provenance.run_name("dates", None) == "dates"

    assert provenance.run_name(None, pathlib.Path("data/dates.tsv")) == "dates"


def test_the_fingerprint_tells_apart_targets_shapes_and_dtypes():
    """Mutants: the targets of text pairs left out, an array's shape and dtype left out (its
    bytes alone), 11 hex digits."""
    fp = provenance.fingerprint
    assert fp([("a b", "x")]) != fp([("a b", "y")])
    z = np.zeros((2, 3))
    assert fp([(z, "x")]) != fp([(z.reshape(3, 2), "x")])
    assert fp([(z, "x")]) != fp([(z.view(np.int64), "x")])
    assert re.fullmatch(r"1 pairs, sha256 [0-9a-f]{12}", fp([("a", "b")]))


# --- data/wordpunct.py


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("\U0001f44d\U0001f3ff ok", ["\U0001f44d\U0001f3ff", "ok"]),  # the last skin tone
        ("\U0001f1ff\U0001f1e6!", ["\U0001f1ff\U0001f1e6", "!"]),  # ZA: the last indicator
    ],
)
def test_the_last_code_point_of_each_emoji_range_belongs_to_it(text, tokens):
    """Mutants: the ranges of emoji modifiers and regional indicators one short at the end."""
    assert wordpunct_tokenize(text) == tokens


def test_a_hyphen_after_a_word_ending_in_a_combining_accent_joins():
    """A word that ends in a combining mark (NFD "café") is a word on the left of a joiner.
    Mutant: _in_word without marks (spaced "café - bar")."""
    assert wordpunct_detokenize(["cafe\u0301", "-", "bar"]) == "cafe\u0301-bar"


def test_an_ellipsis_closes():
    """Mutant: "…" left out of CLOSING ("Wait …")."""
    assert wordpunct_detokenize(["Wait", "\u2026"]) == "Wait\u2026"


# --- scoring.py, backend.py


def test_summarize_names_a_later_score_that_is_not_one():
    """Mutant: only scores[0] checked (a later str was an AttributeError)."""
    score = scoring.Score(-1.0, 2, np.array([-0.5, -0.5]), ["a", "</s>"], 0)
    with pytest.raises(ValueError, match=r"summarize: scores\[1\] is"):
        scoring.summarize([score, "x"])


def test_backend_use_refuses_twins_that_are_no_bool_with_a_value_error():
    """As every refusal of a bad value is. Mutant: a TypeError."""
    with pytest.raises(ValueError, match="backend.use: twins='no'"):
        backend.use("numpy", twins="no")
