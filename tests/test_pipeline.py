"""pipeline.load_data and pipeline.train refuse what cannot train, before any training: a corpus
that leaves no training pair, a --min-freq that leaves no token, an --out that is a file or
holds another run's log; and the dev pairs it holds out of a corpus are never trained on."""

import numpy as np
import pytest

from minis2s import pipeline
from minis2s.api import Translator
from minis2s.data.batching import batches, encode_pairs
from minis2s.data.corpus import read_corpus
from minis2s.data.tokenize import get_tokenizer
from minis2s.long_sources import LongSourceWarning
from minis2s.train.config import TrainConfig

PAIRS = "abc\tcba\nabcd\tdcba\nbca\tacb\n"


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "c.tsv"
    path.write_text(PAIRS)
    return path


def test_a_one_pair_corpus_says_its_pair_went_to_dev(tmp_path):
    path = tmp_path / "one.tsv"
    path.write_text("ab\tba\n")
    with pytest.raises(
        ValueError, match="has 1 distinct pair, all held out for dev.*pass dev_data"
    ):
        pipeline.load_data(data=str(path))
    data = pipeline.load_data(data=str(path), dev_data=str(path))  # what the message suggests
    assert len(data.train) == 1
    path.write_text("ab\tba\n" * 3)  # copies of one pair are one pair: dev would see it trained
    with pytest.raises(ValueError, match="has 1 distinct pair, all held out"):
        pipeline.load_data(data=str(path))


def test_the_held_out_dev_pairs_are_never_trained_on(tmp_path):
    pairs = [(f"{i}", f"{i}{i}") for i in range(60)]
    lines = [pairs[i % 60] for i in range(150)]  # every pair repeated, some three times
    path = tmp_path / "rep.tsv"
    path.write_text("".join(f"{s}\t{t}\n" for s, t in lines))
    data = pipeline.load_data(data=str(path), seed=3)
    assert len(data.dev) == len(set(data.dev)) == 3  # 5% of 60 distinct pairs
    assert not set(data.dev) & set(data.train)
    assert sorted(data.train) == sorted(pair for pair in lines if pair not in data.dev)  # repeats


def test_a_corpus_without_repeats_splits_as_before(corpus):
    """The hold-out took the first 5% of a seeded shuffle before repeats were grouped; a corpus
    without repeats splits the same way, so its earlier runs still resume."""
    pairs = list(read_corpus(str(corpus)))
    order = np.random.default_rng(7).permutation(len(pairs))
    data = pipeline.load_data(data=str(corpus), seed=7)
    assert data.dev == [pairs[order[0]]]
    assert data.train == [pairs[i] for i in order[1:]]


def test_a_max_len_that_drops_every_pair_is_named(corpus):
    with pytest.raises(ValueError, match="^max_len 2 drops all 2 training pairs.*raise max_len"):
        pipeline.load_data(data=str(corpus), max_len=2)


def test_a_min_freq_that_leaves_no_token_is_refused(corpus):
    with pytest.raises(ValueError, match="^min_freq=9 leaves the source vocabulary no token"):
        pipeline.load_data(data=str(corpus), min_freq=9)
    assert len(pipeline.load_data(data=str(corpus), min_freq=2).src_vocab) > 4


def test_an_out_that_is_a_file_is_refused_before_training(corpus, tmp_path):
    out = tmp_path / "afile"
    out.write_text("mine")
    data = pipeline.load_data(data=str(corpus), dev_data=str(corpus))
    with pytest.raises(NotADirectoryError, match="--out .*afile is a file, not a directory"):
        pipeline.train(data, {"emb": 2, "hidden": 2}, TrainConfig(epochs=1), str(out))
    assert out.read_text() == "mine"


def test_a_new_run_does_not_add_to_an_earlier_runs_log(corpus, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "log.jsonl").write_text('{"epoch": 1}\n')
    data = pipeline.load_data(data=str(corpus), dev_data=str(corpus))
    with pytest.raises(FileExistsError, match="holds the log.jsonl of an earlier run"):
        pipeline.train(data, {"emb": 2, "hidden": 2}, TrainConfig(epochs=1), str(out))
    assert (out / "log.jsonl").read_text() == '{"epoch": 1}\n'
    assert sorted(p.name for p in out.iterdir()) == ["log.jsonl"]


def test_a_new_run_over_a_run_is_refused_and_resume_goes_on(corpus, tmp_path):
    out = str(tmp_path / "run")
    data = pipeline.load_data(data=str(corpus), dev_data=str(corpus))
    opts = {"emb": 2, "hidden": 2}
    pipeline.train(data, opts, TrainConfig(epochs=1), out, progress=False)
    with pytest.raises(FileExistsError, match=r"holds a run; pass resume=True to continue it or"):
        pipeline.train(data, opts, TrainConfig(epochs=2), out, progress=False)
    pipeline.train(data, opts, TrainConfig(epochs=2), out, resume=True, progress=False)
    assert len((tmp_path / "run" / "log.jsonl").read_text().splitlines()) == 2


def test_the_resume_line_says_where_the_run_goes_on(corpus, tmp_path, capsys):
    """After a whole epoch, or inside one: the epoch a log line would name (1-based), not the
    count of finished epochs, which said 'epoch 0' of a run stopped inside its first."""
    out = str(tmp_path / "run")
    data = pipeline.load_data(data=str(corpus), dev_data=str(corpus))
    opts, one = {"emb": 2, "hidden": 2}, dict(batch_size=1, dev_size=2)
    pipeline.train(data, opts, TrainConfig(epochs=1, max_steps=2, **one), out, progress=False)
    pipeline.train(data, opts, TrainConfig(epochs=1, **one), out, resume=True)
    assert (
        f"resumed from {out}/last at update 2, 2 batches into epoch 1\n" in capsys.readouterr().out
    )
    n = len(data.train)
    pipeline.train(data, opts, TrainConfig(epochs=2, max_steps=n + 1, **one), out, resume=True)
    assert f"resumed from {out}/last at update {n}, after epoch 1\n" in capsys.readouterr().out


def test_a_new_adamw_run_without_weight_decay_is_refused(corpus, tmp_path):
    """AdamW with weight decay 0 is Adam; a run saved that way before this check still resumes."""
    data = pipeline.load_data(data=str(corpus), dev_data=str(corpus))
    tcfg = TrainConfig(epochs=1, optimizer="adamw")
    out = str(tmp_path / "w")
    with pytest.raises(
        ValueError, match="optimizer='adamw' with weight_decay 0 is Adam; give a weight_decay"
    ):
        pipeline.train(data, {"emb": 2, "hidden": 2}, tcfg, out, progress=False)
    pipeline.train(data, {"emb": 2, "hidden": 2}, TrainConfig(epochs=1, optimizer="adamw",
                   weight_decay=0.01), out, progress=False)  # fmt: skip


def test_resuming_from_python_keeps_the_runs_dtype(corpus, tmp_path):
    data = pipeline.load_data(data=str(corpus), dev_data=str(corpus))
    out, opts = str(tmp_path / "r64"), {"emb": 2, "hidden": 2}
    pipeline.train(data, opts, TrainConfig(epochs=1), out, dtype="float64", progress=False)
    tr = pipeline.train(data, opts, TrainConfig(epochs=2), out, resume=True, progress=False)
    assert tr.model.dtype == "float64"


def test_a_max_vocab_with_room_for_the_specials_only_is_named(corpus):
    with pytest.raises(
        ValueError, match="max_vocab=4 leaves no room for a word besides the 4 special"
    ):
        pipeline.load_data(data=str(corpus), max_vocab=4)


def test_max_len_drops_a_pair_long_on_either_side(tmp_path):
    """--max-len keeps a pair only if neither side has more tokens (a target longer than the
    source counts as much as a source longer than the target)."""
    path = tmp_path / "c.tsv"
    path.write_text("ab\tabcd\nabcd\tab\nab\tba\nabc\tcba\n")
    data = pipeline.load_data(data=str(path), dev_data=str(path), max_len=3)
    assert sorted(data.train) == [("ab", "ba"), ("abc", "cba")] and data.skipped == 2


@pytest.mark.parametrize("option", ["train_size", "max_len"])
def test_a_train_size_or_max_len_of_zero_is_refused(corpus, option):
    with pytest.raises(ValueError, match=f"^load_data: {option} must be an integer >= 1"):
        pipeline.load_data(data=str(corpus), dev_data=str(corpus), **{option: 0})


def test_the_fingerprint_of_feature_pairs_reads_the_frames():
    """A resumed run checks that its data is the same: frames that differ in one value, with the
    same shapes and targets, are other data."""
    frames = np.zeros((3, 10), dtype=np.float32)
    other = frames.copy()
    other[1, 2] = 0.5
    fp = pipeline.fingerprint
    assert fp([(frames, "12")]) == fp([(frames.copy(), "12")])
    assert fp([(frames, "12")]) != fp([(other, "12")])


def test_the_dev_evaluation_is_per_token_over_the_first_dev_size_pairs(corpus):
    """dev loss = the summed NLL of every dev target token over their count, however the dev
    set is batched; exact match over the first dev_size pairs only."""
    path = corpus.parent / "dev.tsv"
    path.write_text("".join(f"{'abc'[k % 3]}{'bca'[k % 2]}\tcab\n" for k in range(70)))
    data = pipeline.load_data(data=str(corpus), dev_data=str(path))
    model = pipeline.make_model(data, {"emb": 2, "hidden": 2}, 0, np.float64)
    translator = Translator(model, data.src_vocab, data.tgt_vocab, data.tokenizer)
    asked, real = [], translator.translate

    def translate(sources, **kw):
        asked.append(len(sources))
        return real(sources, **kw)

    translator.translate = translate
    dev_ex, _ = encode_pairs(data.dev, data.src_vocab, data.tgt_vocab, get_tokenizer("char"))
    evaluate = pipeline.dev_evaluator(data, translator, TrainConfig(dev_size=5), dev_ex)
    got = evaluate(model)
    sums = [model.nll(b) for b in batches(dev_ex, batch_size=1)]  # one pair at a time
    total, n = sum(s for s, _ in sums), sum(k for _, k in sums)
    assert n == 70 * 4  # 3 target characters and EOS per pair
    assert np.isclose(got["loss"], total / n, rtol=1e-10) and asked == [5]


def test_bpe_is_learned_on_the_training_pairs_only_and_max_len_counts_its_pieces(tmp_path):
    """The merges come from the training side of the split (the first --train-size pairs), both
    languages together; the dev pairs' words teach nothing; --max-len counts subword pieces."""
    from minis2s.data import bpe

    train = [("lower lowest", "newer newest")] * 3 + [("low", "new")] * 3
    dev = [("zzzz zzzz", "qqqq qqqq")] * 2
    path, dev_path = tmp_path / "t.tsv", tmp_path / "d.tsv"
    path.write_text("".join(f"{s}\t{t}\n" for s, t in train))
    dev_path.write_text("".join(f"{s}\t{t}\n" for s, t in dev))
    data = pipeline.load_data(data=str(path), dev_data=str(dev_path), tokenizer="bpe",
                              bpe_merges=50)  # fmt: skip
    expected = bpe.learn_tokenizer([text for pair in train for text in pair], 50)
    assert data.tokenizer.merges == expected.merges and data.tokenizer.name == "bpe"
    assert not any("z" in a + b or "q" in a + b for a, b in data.tokenizer.merges)
    assert data.options["bpe_merges"] == 50
    first3 = pipeline.load_data(data=str(path), dev_data=str(dev_path), tokenizer="bpe",
                                bpe_merges=50, train_size=3)  # fmt: skip
    assert first3.tokenizer.merges == bpe.learn_tokenizer(list(train[0]) * 3, 50).merges
    few = bpe.learn_tokenizer([text for pair in train for text in pair], 6)  # words in pieces
    pieces = lambda text: len(few.tokenize(text))  # noqa: E731
    longest = max(max(pieces(s), pieces(t)) for s, t in train)
    assert longest > 2  # "lower lowest" is more than its two words
    kept = pipeline.load_data(data=str(path), dev_data=str(dev_path), tokenizer="bpe",
                              bpe_merges=6, max_len=longest - 1)  # fmt: skip
    assert kept.train == [p for p in train if max(pieces(p[0]), pieces(p[1])) < longest]
    assert kept.skipped == len(train) - len(kept.train) > 0


def test_a_learned_bpe_tokenizer_is_used_as_given(tmp_path, corpus):
    from minis2s.data import bpe

    tok = bpe.learn_tokenizer(["ab ab ab abc"], 3)
    data = pipeline.load_data(data=str(corpus), dev_data=str(corpus), tokenizer=tok)
    assert data.tokenizer is tok and data.options["bpe_merges"] == len(tok.merges)
    tr = pipeline.train(data, {"emb": 2, "hidden": 2}, TrainConfig(epochs=1),
                        str(tmp_path / "r"), progress=False)  # fmt: skip
    assert tr.tokenizer.merges == tok.merges


@pytest.mark.parametrize("name", ["BPE", "bpe2"])
def test_an_unknown_tokenizer_name_lists_bpe_among_the_choices(corpus, name):
    """load_data takes "bpe" too: the list of get_tokenizer's fixed tokenizers left it out."""
    with pytest.raises(ValueError, match=f"unknown tokenizer '{name}'; choose one of: char, "
                       "word, wordpunct, bpe$"):  # fmt: skip
        pipeline.load_data(data=str(corpus), tokenizer=name)
    with pytest.raises(ValueError, match="choose one of: char, word, wordpunct, bpe$"):
        pipeline.load_data(data=str(corpus), tokenizer=name, bpe_merges=5)


def test_bpe_merges_may_be_a_numpy_integer(tmp_path, corpus):
    """A sweep over np.array([60, 400]) was refused: "bpe_merges must be an integer >= 0; got
    np.int64(60)" (learn_tokenizer takes one, as train_size and max_len do)."""
    data = pipeline.load_data(data=str(corpus), dev_data=str(corpus), tokenizer="bpe",
                              bpe_merges=np.int64(2))  # fmt: skip
    assert data.options["bpe_merges"] == 2 and len(data.tokenizer.merges) == 2
    pipeline.train(data, {"emb": 2, "hidden": 2}, TrainConfig(epochs=1), str(tmp_path / "r"),
                   progress=False)  # fmt: skip
    assert Translator.load(tmp_path / "r").config["data"]["options"]["bpe_merges"] == 2
    for bad in (np.float64(2.0), True, -1):
        with pytest.raises(ValueError, match="^load_data: bpe_merges must be an integer >= 0"):
            pipeline.load_data(data=str(corpus), tokenizer="bpe", bpe_merges=bad)


def test_a_bpe_run_resumes_from_python_with_its_own_tokenizer(tmp_path, corpus):
    """load_data(tokenizer=Translator.load(run).tokenizer) does not know how many merges the
    run asked for: the merges themselves are what a resume compares."""
    out = str(tmp_path / "r")
    data = pipeline.load_data(data=str(corpus), dev_data=str(corpus), tokenizer="bpe",
                              bpe_merges=100)  # fmt: skip
    opts = {"emb": 2, "hidden": 2}
    pipeline.train(data, opts, TrainConfig(epochs=1), out, progress=False)
    again = pipeline.load_data(data=str(corpus), dev_data=str(corpus),
                               tokenizer=Translator.load(out).tokenizer)  # fmt: skip
    assert again.options["bpe_merges"] == len(again.tokenizer.merges) < 100
    pipeline.train(again, opts, TrainConfig(epochs=2), out, resume=True, progress=False)
    assert len((tmp_path / "r" / "log.jsonl").read_text().splitlines()) == 2
    other = pipeline.load_data(data=str(corpus), dev_data=str(corpus), tokenizer="bpe",
                               bpe_merges=1)  # fmt: skip
    with pytest.raises(ValueError, match=r"data.bpe_merges=\[.*\], this run asks data.bpe_merges"):
        pipeline.train(other, opts, TrainConfig(epochs=3), out, resume=True, progress=False)


def test_as_the_run_reads_takes_a_task_from_the_recorded_source_not_the_name(tmp_path):
    """A corpus file named like a task, with its tokenizer: a run saved before minis2s recorded
    data.source is guessed to be the task (NFC text, as it reads), one that recorded a corpus
    is the corpus (saved before normalisation: NFD text is refused, not read in NFC)."""
    path = tmp_path / "reverse-digits.tsv"
    path.write_text("".join(f"e\u0301{k}\t{k}\n" for k in range(30)), encoding="utf-8")
    data = pipeline.load_data(data=str(path))
    assert data.name == "reverse-digits" and data.tokenizer == "char"
    assert pipeline.as_the_run_reads(data, {"data": {"name": data.name}}, "old") is data
    saved = {"data": {"name": data.name, "source": data.source}}
    with pytest.raises(ValueError, match="is not in NFC"):
        pipeline.as_the_run_reads(data, saved, "run")
    task = pipeline.load_data(task="reverse-digits", train_size=8)
    saved = {"data": {"name": task.name, "source": task.source}}
    assert pipeline.as_the_run_reads(task, saved, "run") is task


@pytest.mark.parametrize("name", ["mine", "word"])
def test_a_tokenizer_a_checkpoint_cannot_record_is_refused_before_training(corpus, tmp_path, name):
    """A checkpoint records a tokenizer by name (and a bpe one by its merges): a Tokenizer of
    one's own trained a whole run, then failed to load it ("was it edited?"), or, named "word",
    loaded as the built-in word tokenizer, which splits text another way."""
    from minis2s.data.tokenize import Tokenizer

    mine = Tokenizer(name, lambda s: s.lower().split(), " ".join)
    data = pipeline.load_data(data=str(corpus), dev_data=str(corpus), tokenizer=mine)
    with pytest.raises(ValueError, match=f"tokenizer {name!r} of your own.*char, word, wordpunct"):
        pipeline.train(data, {"emb": 4, "hidden": 4}, TrainConfig(epochs=1), str(tmp_path / "r"))
    assert not (tmp_path / "r").exists()


def test_a_training_pair_longer_than_tokens_per_batch_names_the_fixes(tmp_path):
    """It was refused once training began, as "batches: example 2 alone needs ...; raise it or
    filter long examples", naming a position in the shuffled training pairs."""
    path = tmp_path / "c.tsv"
    path.write_text("ab\tba\nabcdefgh\thgfedcba\nabc\tcba\n")
    data = pipeline.load_data(data=str(path), dev_data=str(path))
    tcfg = TrainConfig(epochs=1, batch_size=0, tokens_per_batch=6)
    message = r"--tokens-per-batch 6 .* 9 padded tokens.*raise it to 9.*--max-len 5"
    with pytest.raises(ValueError, match=message):
        pipeline.train(data, {"emb": 4, "hidden": 4}, tcfg, str(tmp_path / "r"), progress=False)
    assert not (tmp_path / "r").exists()
    short = pipeline.load_data(data=str(path), dev_data=str(path), max_len=5)  # the advice works
    with pytest.warns(LongSourceWarning, match=r"^dev pair 2 has 8 tokens, longer than any "):
        pipeline.train(short, {"emb": 4, "hidden": 4}, tcfg, str(tmp_path / "r"), progress=False)
