"""Boundaries of the scale work (lazy batches, chunked BLEU/chrF, checkpoints read whole while a
run saves) that a mutation test found untested: each test here failed on a one-line mutant of
the library (a condition widened, a fallback's arguments swapped, a retry skipped) that every
other test passed. The races of a load and a save are played out step by step, each save's
rename put where the mutant would mishandle it."""

import os

import numpy as np
import pytest

from minis2s import metrics, pipeline
from minis2s.data.batching import batches, lazy_batches
from minis2s.train import checkpoint, checkpoint_read

sacrebleu = pytest.importorskip("sacrebleu")

EXAMPLES = [([4 + i % 3] * (1 + i % 4), [5] * (i % 3)) for i in range(10)]


def _indices(bs):
    return [b.index.tolist() for b in bs]


def test_a_slice_of_lazy_batches_is_that_slice_of_the_batches():
    """A slice keeps its end: lazy[1:3] is two batches, those of batches(...)[1:3]."""
    reference = batches(EXAMPLES, batch_size=2, rng=0)
    lazy = lazy_batches(EXAMPLES, batch_size=2, rng=0)
    for k in (slice(1, 3), slice(None, 2), slice(-3, -1)):
        assert _indices(lazy[k]) == _indices(reference[k])


def test_without_bucketing_the_seed_shuffles_the_examples_and_keeps_the_cut_order():
    """bucket=False: the examples are shuffled with the seed's generator, then cut in order;
    the batches are not shuffled a second time (the same seed gives the documented batches)."""
    order = np.random.default_rng(3).permutation(len(EXAMPLES)).tolist()
    expected = [order[k : k + 3] for k in range(0, len(order), 3)]
    assert _indices(batches(EXAMPLES, batch_size=3, rng=3, bucket=False)) == expected
    assert _indices(lazy_batches(EXAMPLES, batch_size=3, rng=3, bucket=False)) == expected


@pytest.mark.parametrize("bucket", [True, False])
def test_a_numpy_integer_seed_is_a_seed(bucket):
    """rng=np.int64(5) (a seed taken from an array) gives the batches of rng=5."""
    for make in (batches, lazy_batches):
        got = make(EXAMPLES, batch_size=3, rng=np.int64(5), bucket=bucket)
        assert _indices(got) == _indices(make(EXAMPLES, batch_size=3, rng=5, bucket=bucket))


class _Whole:
    """A sacrebleu metric with its corpus score only (no sentence statistics to gather)."""

    def __init__(self, metric):
        self.metric = metric

    def corpus_score(self, hypotheses, references):
        return self.metric.corpus_score(hypotheses, references)


def test_a_sacrebleu_without_sentence_statistics_scores_the_corpus_whole(monkeypatch):
    """The fallback for a sacrebleu without the private methods the chunked score uses is its
    corpus score of (hyps, [refs]), in that order: BLEU's brevity penalty and chrF's beta tell
    a hypothesis from its reference."""
    hyps = ["the cat", "a dog sat on the mat", "on"]
    refs = ["the cat sat on the mat", "a dog sat", "on the mat"]
    whole = sacrebleu.corpus_bleu(hyps, [refs], force=True).score
    assert whole != sacrebleu.corpus_bleu(refs, [hyps], force=True).score
    whole_chrf = sacrebleu.corpus_chrf(hyps, [refs]).score
    BLEU, CHRF = sacrebleu.metrics.BLEU, sacrebleu.metrics.CHRF
    monkeypatch.setattr(sacrebleu.metrics, "BLEU", lambda **kw: _Whole(BLEU(**kw)))
    monkeypatch.setattr(sacrebleu.metrics, "CHRF", lambda: _Whole(CHRF()))
    assert metrics.bleu(hyps, refs, chunk=1) == whole
    assert metrics.chrf(hyps, refs, chunk=1) == whole_chrf


def _vocabs(tmp_path, text, **options):
    corpus, dev = tmp_path / "pairs.tsv", tmp_path / "dev.tsv"
    corpus.write_text(text)
    dev.write_text("q\tr\n")  # not counted: the vocabularies are the training pairs'
    data = pipeline.load_data(data=str(corpus), dev_data=str(dev), tokenizer="word", **options)
    return data.src_vocab.tokens[4:], data.tgt_vocab.tokens[4:]


def test_a_token_repeated_in_one_sentence_counts_each_time(tmp_path):
    """--min-freq counts occurrences, not the sentences a token is in: "a a" is twice."""
    got = _vocabs(tmp_path, "a a x\tb y b\nc\td\n", min_freq=2)
    assert got == (["a"], ["b"])


def test_a_shared_vocabulary_counts_a_token_on_both_sides_together(tmp_path):
    """--share-vocab counts a token's occurrences on both sides summed: "x" once in each source
    and target is seen twice, kept by --min-freq 2 (y, z once: dropped); and the most frequent
    over both sides comes first."""
    got = _vocabs(tmp_path, "x y\tx z\nw w\tx\n", min_freq=2, share_vocab=True)
    assert got == (["x", "w"], ["x", "w"])


def _save(path, i):
    checkpoint.save(path, {"w": np.full(4, i)}, {"i": i})


def _config(folder):
    return checkpoint._state(folder)["config"]


@pytest.fixture(params=[True, False], ids=["openat", "by-path"])
def dir_fd(request, monkeypatch):
    monkeypatch.setattr(checkpoint_read, "_DIR_FD", request.param and checkpoint_read._DIR_FD)


def test_a_save_renaming_the_checkpoint_between_the_look_and_the_open_is_read_again(
    tmp_path, monkeypatch, dir_fd
):
    """A save's first rename (NAME to .NAME.old) after the load found NAME and before it opened
    it: the load starts again and reads .NAME.old, not 'no checkpoint directory'."""
    path = tmp_path / "last"
    _save(path, 1)
    real = checkpoint_read.Folder
    opened = []

    def renamed_first(p):
        if not opened:
            path.rename(tmp_path / ".last.old")
        opened.append(p.name)
        return real(p)

    monkeypatch.setattr(checkpoint_read, "Folder", renamed_first)
    assert checkpoint_read.read_whole(path, _config) == {"i": 1}
    assert opened == ["last", ".last.old"]


def test_a_save_ending_between_the_looks_at_name_and_its_old_copy_is_found(
    tmp_path, monkeypatch, dir_fd
):
    """A save takes NAME away as the load opens it; looking again, the load finds NAME missing
    (the save is between its renames), then .NAME.old gone too, as the save put its new NAME in
    place and deleted the old one meanwhile: NAME is looked at a second time, found and read,
    not 'no checkpoint directory'."""
    path = tmp_path / "last"
    _save(path, 1)
    away = tmp_path / ".last.old"
    real = checkpoint_read.Folder

    class OldCopy:
        """.NAME.old, deleted by the save as the load looks at it."""

        def is_dir(self):
            if away.exists():  # the save's new NAME in place, its old copy deleted
                away.rename(path)
            return False

    opened = []

    def opening(p):
        if not opened:
            path.rename(away)  # the save's first rename, as the load opens NAME
        opened.append(p.name)
        return real(p)

    monkeypatch.setattr(checkpoint_read, "Folder", opening)
    monkeypatch.setattr(checkpoint_read, "_sibling", lambda p, kind: OldCopy())
    assert checkpoint_read.read_whole(path, _config) == {"i": 1}
    assert opened == ["last", "last"]


def test_a_checkpoint_gone_between_the_two_looks_of_replaced_is_read_again(
    tmp_path, monkeypatch, dir_fd
):
    """A read fails while a save replaces the checkpoint; _replaced finds NAME, and the save's
    rename takes it away before its stat: that is a replacement (the load starts again and reads
    the checkpoint), not the checkpoint's own 'incomplete checkpoint'."""
    path = tmp_path / "last"
    _save(path, 1)
    real = checkpoint_read._current
    reads = []

    def failing_first(folder):
        reads.append(folder.path.name)
        if len(reads) == 1:
            monkeypatch.setattr(checkpoint_read, "_current", renamed_after_the_look)
            raise ValueError("incomplete checkpoint: state.json is missing")
        return _config(folder)

    def renamed_after_the_look(p):
        monkeypatch.setattr(checkpoint_read, "_current", real)
        path.rename(tmp_path / ".last.old")  # the save's first rename, just after the look
        return path

    assert checkpoint_read.read_whole(path, failing_first) == {"i": 1}
    assert reads == ["last", ".last.old"]


def test_every_directory_a_load_opens_is_closed(tmp_path, monkeypatch, dir_fd):
    """A load closes the directory it opened, after a read that failed (and was started again)
    as after one that succeeded: a translate or evaluate reading checkpoints for hours would
    otherwise run out of file descriptors."""
    path = tmp_path / "last"
    _save(path, 1)
    opened, closed = [], []
    real = checkpoint_read.Folder

    class Watched(real):
        def __init__(self, p):
            super().__init__(p)
            opened.append(self)

        def close(self):
            closed.append(self)
            super().close()

    monkeypatch.setattr(checkpoint_read, "Folder", Watched)

    def replaced_once(folder):
        if len(opened) == 1:  # a save replaced it as it was read
            _save(path, 2)
            raise ValueError("incomplete checkpoint: state.json is missing")
        return _config(folder)

    assert checkpoint_read.read_whole(path, replaced_once) == {"i": 2}
    (path / "state.json").write_text("{")
    with pytest.raises(ValueError, match="corrupt checkpoint file"):
        checkpoint.load(path)
    assert len(opened) == 3 and closed == opened


def test_by_path_a_directory_with_a_reused_inode_is_another_directory(tmp_path, monkeypatch):
    """By path no directory is held open, so a save that deleted the checkpoint and made its
    next in its place may reuse the inode: the change time tells the two apart. With openat the
    inode cannot be reused while it is open, and the change time is not looked at."""
    st = os.stat(tmp_path)
    later = os.stat_result(tuple(st), {"st_ctime_ns": st.st_ctime_ns + 1})
    monkeypatch.setattr(checkpoint_read, "_DIR_FD", False)
    assert checkpoint_read._identity(st) != checkpoint_read._identity(later)
    monkeypatch.setattr(checkpoint_read, "_DIR_FD", True)
    assert checkpoint_read._identity(st) == checkpoint_read._identity(later)


def test_a_file_where_the_checkpoint_should_be_is_no_checkpoint_directory(tmp_path, dir_fd):
    """A file (a run's log, say) given as the checkpoint is not read as a directory that saves
    kept replacing ('could not read it whole: 10 saves replaced it')."""
    path = tmp_path / "last"
    path.write_text("not a checkpoint\n")
    with pytest.raises(FileNotFoundError, match=f"no checkpoint directory at {path}$"):
        checkpoint.load(path)
