"""Mutation pass over the modules no earlier pass named: data/token_ids.py (a corpus's texts held
as token ids), data/corpus_lines.py (a corpus file's lines), data/toy_translation.py (the en-es
task), data/load_checks.py (load_data's checks), train/checkpoint_diff.py (what a --resume may
not change), train/_average_checks.py (average's paths), train/runlog.py (a run's log.jsonl),
run_model.py (a new run's model), run_config.py (what a checkpoint records of its run),
disk_errors.py (a failed write reworded), backend_heap.py (glibc's malloc thresholds),
cli_types.py (the options' argparse types), layers/_attention_checks.py (forward_with_keys's fast
path), _translate_checks.py (translate's checks), _api_checks.py (a loaded model's checks) and
average_commands.py (`minis2s average`). Each test kills a hand-made mutant that the suite let
live, named in its docstring; every expected value is worked out by hand, never by the code
under test."""

from __future__ import annotations

import argparse
import errno

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


@pytest.mark.parametrize("chunk", [1, 2, 3, 4, 7])
def test_id_counts_are_the_same_whatever_the_chunk(monkeypatch, chunk):
    """Kills `hi = lo + CHUNK - 1` in id_counts (a text at each chunk's end never counted), which
    only test_load_once's 200k-text corpus reached (minutes under the mutant): with CHUNK of 1 to
    7 texts, the counts of 5 pairs' texts are Python's Counter over the same texts."""
    from collections import Counter

    monkeypatch.setattr(token_ids, "CHUNK", chunk)
    pairs = [("a b", "c"), ("b b", "a d"), ("e", "e e"), ("a", "f"), ("c d", "b")]
    index = token_ids.new_index()
    texts = token_ids.TextIds(index)
    for src, tgt in pairs:
        texts.add(src.split())
        texts.add(tgt.split())
    rows = [4, 0, 2, 1]  # pair 3 left out
    for sides in ((0,), (1,), (0, 1)):
        want = Counter(w for i in rows for side in sides for w in pairs[i][side].split())
        counts = token_ids.id_counts(token_ids.Split(texts, rows), sides)
        assert {w: int(counts[i]) for w, i in index.items() if counts[i]} == want


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


# --- data/load_checks.py -------------------------------------------------------------------------


def test_a_shared_vocabulary_that_kept_only_target_tokens_says_so():
    """Kills `other = "source" if side == "source" else "target"` (the refusal of a shared
    vocabulary that keeps none of the source's tokens saying the ones it kept are source
    tokens: the very side it has none of)."""
    from minis2s.data.load_checks import check_each_side_kept
    from minis2s.data.vocab import Vocab

    vocab = Vocab(["t1", "t2"])  # what min_freq 2 kept of both sides' counts: target tokens
    sides = {"source": ({"s1": 1}, vocab), "target": ({"t1": 2, "t2": 3}, vocab)}
    with pytest.raises(ValueError) as e:
        check_each_side_kept(sides, 3, 2, None, shared=True)
    message = str(e.value)
    assert "min_freq=2 keeps none of the source tokens (the 2 kept are target tokens)" in message
    assert "every source word would be <unk>: lower min_freq, or leave share_vocab out" in message


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


# --- run_model.py and run_config.py ---------------------------------------------------------------

# targets "bba", "ab", "c" (characters): b 3, a 2, c 1 and one </s> each: 9 tokens; sources
# "ab", "ba", "abc" count a 3, b 2, c 1 instead. Vocabulary: 4 specials and a, b, c, V = 7.
PAIRS = "ab\tbba\nba\tab\nabc\tc\n"
TARGET_COUNTS = {"b": 3, "a": 2, "c": 1, "</s>": 3, "<pad>": 0, "<s>": 0, "<unk>": 0}


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "c.tsv"
    path.write_text(PAIRS)
    return str(path)


def test_the_unigram_bias_of_the_encoded_examples_counts_their_targets(corpus):
    """Kills `make_model: (y for y, _ in train_ex)` (the unigram out.b counted on the encoded
    examples' sources): pipeline.train gives make_model the examples load_data encoded
    (train_ex), a path tests/test_output_bias.py's make_model calls, without them, miss. out.b =
    log((count + 0.1) / (9 + 0.1 * 7)), as that file writes it out."""
    from minis2s import pipeline
    from minis2s.data.encoded import encoded_pairs

    data = pipeline.load_data(data=corpus, dev_data=corpus)
    train_ex, _ = encoded_pairs(data, "train")
    options = {"emb": 4, "hidden": 4, "output_bias": "unigram"}
    model = pipeline.make_model(data, options, 0, np.float64, train_ex)
    b = model.params["out.b"]
    assert len(data.tgt_vocab) == 7
    for token, count in TARGET_COUNTS.items():
        want = np.log((count + 0.1) / (9 + 0.1 * 7))
        assert b[data.tgt_vocab.id_of(token)] == pytest.approx(want, rel=1e-12), token


def test_share_embeddings_needs_share_vocab_even_where_the_vocabularies_came_out_equal(tmp_path):
    """Kills `.get("share_vocab", True)` for `.get("share_vocab", data.options is None)`: data
    that load_data read without share_vocab (its options then name none) whose two
    vocabularies came out equal by chance (a copy corpus) was taken as asking for one
    vocabulary; the docstring refuses it (a run resumed on other data would not be)."""
    from minis2s import pipeline
    from minis2s.train.config import TrainConfig

    path = tmp_path / "copy.tsv"
    path.write_text("ab\tab\nba\tba\nabc\tabc\n")
    data = pipeline.load_data(data=str(path), dev_data=str(path))
    assert data.src_vocab == data.tgt_vocab and "share_vocab" not in data.options
    with pytest.raises(ValueError, match="needs one vocabulary for both sides"):
        pipeline.check_new_model(data, {"share_embeddings": True}, TrainConfig())


def test_run_config_records_the_dev_pairs_apart_from_the_train_pairs(corpus, tmp_path):
    """Kills `"dev": fingerprint(data.train)` (the dev pairs' fingerprint taken from the train
    pairs): a --resume on another dev set then matched the checkpoint, and the run went on
    choosing its best checkpoint on other pairs than those it chose by before."""
    from minis2s import pipeline
    from minis2s.run_config import run_config
    from minis2s.train.config import TrainConfig

    other = tmp_path / "other.tsv"
    other.write_text("ca\tac\n")
    data = pipeline.load_data(data=corpus, dev_data=corpus)
    moved = pipeline.load_data(data=corpus, dev_data=str(other))
    model = pipeline.make_model(data, {"emb": 4, "hidden": 4}, 0, np.float64)
    a, b = (run_config(d, model, TrainConfig())["data"] for d in (data, moved))
    assert a["train"] == b["train"] and a["dev"] != b["dev"]


# --- disk_errors.py -------------------------------------------------------------------------------


def test_a_file_above_a_relative_path_is_named_as_the_user_wrote_it(tmp_path, monkeypatch):
    """Kills `named = lambda f: f` (the file above a relative path named by its absolute path,
    not as the user wrote the path: `--out f/run` names `f`)."""
    from minis2s.disk_errors import file_above

    monkeypatch.chdir(tmp_path)
    (tmp_path / "f").write_text("")
    assert file_above("f/run/x") == "f"
    assert file_above(str(tmp_path / "f" / "run")) == str(tmp_path / "f")


@pytest.mark.parametrize(
    "code, fix",
    [("EDQUOT", "; free some disk space"), ("EROFS", "; make runs/x writable")],
)
def test_a_quota_and_a_read_only_file_system_name_their_fix(code, fix):
    """Kills `("ENOSPC", "EFBIG")` (a full quota, EDQUOT, given no fix) and `("EACCES",
    "EPERM")` (a read-only file system, EROFS, given none), and `if False:` for `if
    e.filename is not None` (the file the system refused left unnamed)."""
    from minis2s.disk_errors import write_failed

    number = getattr(errno, code)
    e = OSError(number, "why", "runs/x/.last.tmp/params.npz")
    new = write_failed(e, "save the checkpoint runs/x/last", "the old one is kept", "runs/x")
    assert str(new) == (
        "could not save the checkpoint runs/x/last (why: runs/x/.last.tmp/params.npz); "
        f"the old one is kept{fix}"
    )
    assert new.errno == number


# --- backend_heap.py ------------------------------------------------------------------------------


def test_the_thresholds_are_where_glibcs_own_rule_tops_out():
    """Kills `TRIM_THRESHOLD = MMAP_THRESHOLD` (32 MB of freed heap kept, not the 64 MB the
    module's docstring promises): glibc's dynamic mmap threshold tops out at 32 MB on 64-bit
    (DEFAULT_MMAP_THRESHOLD_MAX), and raising it sets the trim threshold to twice that."""
    from minis2s import backend_heap

    assert backend_heap.MMAP_THRESHOLD == 32 * 2**20
    assert backend_heap.TRIM_THRESHOLD == 64 * 2**20


def test_keep_freed_memory_answers_its_first_calls_answer_again(monkeypatch):
    """Kills `if True:` for `if _kept is None:` (the thresholds set again at each call): a
    MALLOC_ variable set after the first call, which found none, made a later call answer
    False though the thresholds the first call set are still in force."""
    from minis2s import backend_heap

    for name in backend_heap.user_settings():
        monkeypatch.delenv(name)
    monkeypatch.setattr(backend_heap, "_kept", None)
    first = backend_heap.keep_freed_memory()
    monkeypatch.setenv("MALLOC_ARENA_MAX", "2")
    assert backend_heap.keep_freed_memory() is first


# --- cli_types.py ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, text",
    [("positive_fraction", "0"), ("positive_fraction", "0.0"), ("positive_float", "inf")],
)
def test_a_top_p_of_zero_and_an_infinite_temperature_are_refused(kind, text):
    """Kills `0 <= value <= 1` in positive_fraction (--top-p 0, a share of nothing, taken) and
    `not (value > 0)` in positive_float (--temperature inf, p^(1/T) = 1 for every token, taken:
    sampling uniformly while saying it samples the model)."""
    from minis2s import cli_types

    with pytest.raises(argparse.ArgumentTypeError, match=f"got {text!r}"):
        getattr(cli_types, kind)(text)


# --- layers/_attention_checks.py: forward_with_keys's fast path -----------------------------------


def _general(N=2, S=3, Hq=4, He=5, dtype=np.float64):
    """q (N, 1, Hq), keys (N, S, Hq), enc (N, S, He) and the "general" p, all of `dtype`."""
    from minis2s.layers import attention

    rng = np.random.default_rng(0)
    p = attention.init("general", Hq, He, rng, dtype=dtype)
    q, enc = rng.standard_normal((N, 1, Hq)), rng.standard_normal((N, S, He))
    return q.astype(dtype), (enc @ p["W_a"].T).astype(dtype), enc.astype(dtype), p


def test_forward_with_keys_refuses_values_of_another_dtype():
    """Kills `q.dtype == keys.dtype == dtype` for `q.dtype == keys.dtype == enc.dtype == dtype`
    in check_query's fast path: float32 values (enc) under float64 queries and keys passed
    it, and the context came out float64 by NumPy's promotion, the mismatch unnamed."""
    from minis2s.layers import attention

    q, keys, enc, p = _general()
    with pytest.raises(ValueError, match="enc"):
        attention.forward_with_keys(q, keys, enc.astype(np.float32), p, score="general")


def test_forward_with_keys_refuses_a_weight_the_score_does_not_read():
    """Kills `isinstance(p, dict)` for `isinstance(p, dict) and len(p) == len(PARAMS[score])`
    in the fast path: "general"'s p called as "dot" passed it with W_a unread, the scores
    q . keys computed as if no W_a had been learned (attention.need refuses an unread weight)."""
    from minis2s.layers import attention

    q, _, enc, p = _general(He=4)
    with pytest.raises(ValueError, match="W_a"):
        attention.forward_with_keys(q, enc, enc, p, score="dot")


def test_forward_with_keys_refuses_a_source_of_no_positions():
    """Kills `and N > 0 and Tq > 0` without `and S > 0` in the fast path: S = 0 passed it and
    was refused by softmax.forward, naming its scores s (an array the caller never gave), not
    forward_with_keys's empty batch."""
    from minis2s.layers import attention

    q, keys, enc, p = _general(S=0)
    with pytest.raises(ValueError, match="empty batch"):
        attention.forward_with_keys(q, keys, enc, p, score="general")


# --- _translate_checks.py -------------------------------------------------------------------------


def test_a_beam_is_sized_for_the_largest_batch_not_for_batch_size(monkeypatch):
    """Kills `N = batch_size` for `N = min(batch_size, len(sources))`: one sentence's beam of
    5 over V = 7 tokens needs 8 * 1 * 5 * 7 = 280 bytes, and was refused, with 300 bytes of
    memory, as the 64 sentences batch_size=64 could hold (17 920 bytes) though there is one."""
    from minis2s import validate
    from minis2s._translate_checks import check_translate_arguments
    from minis2s.api import Translator
    from minis2s.data.vocab import Vocab
    from minis2s.models import ModelConfig, Seq2Seq

    v = Vocab(["a", "b", "c"])
    tr = Translator(Seq2Seq(ModelConfig(len(v), len(v), emb=4, hidden=4)), v, v)
    monkeypatch.setattr(validate, "memory_bytes", lambda: 300)
    check_translate_arguments(tr, "translate", ["ab"], method="beam", beam_size=5, batch_size=64)
    with pytest.raises(validate.TooLarge, match="2 x 5 hypotheses of 7 log-probabilities"):
        check_translate_arguments(tr, "translate", ["ab", "c"], method="beam", beam_size=5)


# --- _api_checks.py -------------------------------------------------------------------------------


def test_parameters_that_are_not_finite_are_named_three_and_counted_beyond():
    """Kills `more = ""` (a checkpoint with 5 damaged parameters named as if it had 3) and
    `len(bad) >= 3` for `len(bad) > 3` (3 of them followed by " and 0 more")."""
    from minis2s._api_checks import check_finite_params

    ok = np.zeros(2)
    for n, named in ((5, "p0, p1, p2 and 2 more"), (3, "p0, p1, p2")):
        params = {"ok": ok} | {
            f"p{i}": np.array([1.0, np.inf if i % 2 else np.nan]) for i in range(n)
        }
        with pytest.raises(
            ValueError, match=rf"load: parameters hold NaN or infinite values \({named}\): "
        ):
            check_finite_params("load", params)


# --- average_commands.py --------------------------------------------------------------------------


def test_average_given_a_file_names_the_checkpoint_or_run_that_holds_it(
    tmp_path, monkeypatch, capsys
):
    """Kills `if False:` for both file checks of `minis2s average` (a checkpoint's state.json
    given as --checkpoint was refused as "no such checkpoint directory", of a file the user
    can see; a run's log.jsonl as --run, likewise) and `holder = os.path.dirname(args.run)`
    without `or "."` (a log.jsonl in the working directory pointed at `--run ` and nothing)."""
    from minis2s.cli import main

    monkeypatch.chdir(tmp_path)
    a, b = _fake_checkpoints(tmp_path, "a", "b")
    assert main(["average", "--checkpoint", f"{a}/state.json", "--checkpoint", b,
                 "--out", "mean"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert f"{a}/state.json is a file, not a run or checkpoint directory: give {a}, the " in err
    (tmp_path / "log.jsonl").write_text("")
    assert main(["average", "--run", "log.jsonl", "--last", "2", "--out", "mean"]) == 2
    err = capsys.readouterr().err
    assert (
        "--run log.jsonl is a file, not a run directory: give the run that holds it, --run ." in err
    )
