"""Mutation pass over the modules no earlier pass named: data/token_ids.py (a corpus's texts held
as token ids), data/corpus_lines.py (a corpus file's lines), data/toy_translation.py (the en-es
task), train/checkpoint_diff.py (what a --resume may not change), train/_average_checks.py
(average's paths) and train/runlog.py (a run's log.jsonl). Each test kills a hand-made mutant
that the suite let live, named in its docstring; every expected value is worked out by hand,
never by the code under test."""

from __future__ import annotations

import numpy as np
import pytest

from minis2s.data import token_ids, toy_translation
from minis2s.data.corpus_lines import CorpusError, read_lines
from minis2s.train import checkpoint_diff

# --- data/token_ids.py ----------------------------------------------------------------------------


def test_word_counts_count_sources_and_targets_of_the_rows_chosen():
    """Kills `word_counts: id_counts(split, (1,))` (the words BPE learns its merges from counted
    on the target side only: a joint BPE that never saw the sources' words). Pairs
    ("a a b", "c"), ("d", "a"), ("e", "e"); rows 0 and 1 only: a 3 times, b, c and d once, e
    (only in row 2) not at all."""
    index = token_ids.new_index()
    texts = token_ids.TextIds(index)
    for text in ("a a b", "c", "d", "a", "e", "e"):
        texts.add(text.split())
    split = token_ids.Split(texts, [0, 1])
    assert token_ids.word_counts(split) == {"a": 3, "b": 1, "c": 1, "d": 1}


# --- data/corpus_lines.py -------------------------------------------------------------------------


def test_a_big_endian_utf16_file_is_named_by_its_byte_order_mark(tmp_path):
    """Kills `data.startswith((b"\\xff\\xfe",))` (the big-endian mark left out): a UTF-16BE file
    with its mark then reads as a NUL on line 1 whose fix converts from UTF-16LE, which turns a
    big-endian file into garbage; the mark names it UTF-16, and `iconv -f UTF-16` reads either
    byte order from the mark."""
    path = tmp_path / "be.tsv"
    path.write_bytes(b"\xfe\xff" + "ab\tcd\n".encode("utf-16-be"))
    with pytest.raises(CorpusError) as e:
        read_lines(path)
    message = str(e.value)
    assert message.startswith(f"{path}:1: the file starts with a UTF-16 byte order mark")
    assert "iconv -f UTF-16 -t UTF-8" in message and "UTF-16LE" not in message


# --- data/toy_translation.py ----------------------------------------------------------------------


def test_the_english_verb_agrees_with_its_subject_and_translates_the_spanish_one():
    """Kills `(en_sg, es_pl) if plural[k, 0]` (the English verb left singular after a plural
    subject: "the cats sees") and an English verb drawn from another VERBS row than the
    Spanish one (the pair no longer a translation). The English subject is plural where its
    noun, the word before the verb, ends in "s" (no singular noun here does), and the Spanish
    subject where its determiner is los/las/unos/unas."""
    forms = {}  # English verb -> (its Spanish translation, plural)
    for en_sg, en_pl, es_sg, es_pl in toy_translation.VERBS:
        forms[en_sg], forms[en_pl] = (es_sg, False), (es_pl, True)
    assert not any(en.endswith("s") for en, _, _ in toy_translation.NOUNS)
    pairs = toy_translation.sentences(np.random.default_rng(0), 400)
    seen = set()
    for en, es in pairs:
        en_words, es_words = en.split(), es.split()
        (at,) = [k for k, w in enumerate(en_words) if w in forms]
        es_verb, plural = forms[en_words[at]]
        assert en_words[at - 1].endswith("s") == plural, en
        assert (es_words[0] in ("los", "las", "unos", "unas")) == plural, (en, es)
        assert es_verb in es_words, (en, es)
        seen.add(plural)
    assert seen == {False, True}


# --- train/checkpoint_diff.py ---------------------------------------------------------------------


def test_a_field_one_config_lacks_differs_from_a_field_set_to_none():
    """Kills `not (fa.get(k) == fb.get(k))` (a field missing from one config taken as equal to
    the other's None): a checkpoint without a field and a run that sets it to None are not
    one run's, as the docstring says ("one lacking a field included")."""
    assert checkpoint_diff.differences({"model": {"x": None, "h": 4}}, {"model": {"h": 4}}) == [
        "model.x"
    ]
    assert checkpoint_diff.differences({"a": 1}, {"b": None}) == ["a", "b"]


def test_a_list_of_ten_items_is_shown_whole_and_one_of_eleven_by_its_length():
    """Kills `len(value) < SHOWN_ITEMS` (a list of exactly SHOWN_ITEMS = 10 items named by its
    length): check_compatible names a list of up to 10 items in full."""
    ten, eleven = list(range(10)), list(range(11))
    with pytest.raises(ValueError) as e:
        checkpoint_diff.check_compatible({"m": ten}, {"m": ten[::-1]})
    assert f"checkpoint was trained with m={ten!r}, this run asks m={ten[::-1]!r}" in str(e.value)
    with pytest.raises(ValueError) as e:
        checkpoint_diff.check_compatible({"m": eleven}, {"m": eleven[::-1]})
    assert "m=[11 items] (item 0 is 0)" in str(e.value)


def test_a_changed_dev_set_is_explained_as_its_fingerprint():
    """Kills `{"data.train"} & set(changed)` (the note that the checkpoint keeps the data's
    fingerprints, not its files, left out where only the dev set differs: the user is left to
    wonder why the same --dev-data path is refused)."""
    with pytest.raises(ValueError) as e:
        checkpoint_diff.check_compatible(
            {"data": {"train": "f1", "dev": "f2"}}, {"data": {"train": "f1", "dev": "f3"}}
        )
    assert "data.dev='f2'" in str(e.value)
    assert "keeps a fingerprint of its data, not the names of its files" in str(e.value)


# --- train/_average_checks.py ---------------------------------------------------------------------


def _fake_checkpoints(tmp_path, *names):
    """Folders that _average_checks takes for checkpoints (a state.json each); none is read."""
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "state.json").write_text("{}")
    return [str(tmp_path / name) for name in names]


def test_an_out_spelled_otherwise_than_a_checkpoint_averaged_is_named_as_one(tmp_path):
    """Kills `os.fspath(out) in seen` for `os.path.realpath(out)` (out compared as spelled):
    `--out a/` for checkpoint `a` was then refused as a folder that "holds a checkpoint
    already", not as the checkpoint being averaged that it is."""
    from minis2s.train._average_checks import check_paths

    a, b = _fake_checkpoints(tmp_path, "a", "b")
    with pytest.raises(ValueError, match=f"--out {a}/ is one of the checkpoints averaged"):
        check_paths([a, b], a + "/")


def test_a_checkpoint_whose_save_was_cut_between_its_renames_is_averaged(tmp_path):
    """Kills `_check_checkpoint: if os.path.exists(NAME/state.json)` without `not isdir(NAME)`:
    a save cut between its two renames leaves the checkpoint at .NAME.old only, which
    checkpoint.exists and load accept; the mutant refused it as a folder that "holds no
    checkpoint"."""
    from minis2s.train._average_checks import check_paths

    _fake_checkpoints(tmp_path, ".a.old", "b")
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    assert check_paths([a, b], tmp_path / "mean") == [a, b]
