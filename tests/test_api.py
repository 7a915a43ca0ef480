"""The Python API on a feature-vector model: train, save, load, translate, bad input."""

import shutil

import numpy as np
import pytest

from minis2s import metrics, pipeline
from minis2s.api import Translation, Translator
from minis2s.data.batching import encode_pairs
from minis2s.data.tokenize import get_tokenizer
from minis2s.data.vocab import Vocab
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.train.config import TrainConfig


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    data = pipeline.load_data(task="noisy-digits", train_size=64)
    out = str(tmp_path_factory.mktemp("api") / "run")
    tr = pipeline.train(data, {"hidden": 8, "emb": 8}, TrainConfig(epochs=1, dev_size=8), out,
                        progress=False)  # fmt: skip
    return data, tr, out


def test_loaded_translator_matches_the_trained_one(run):
    data, tr, out = run
    frames = [src for src, _ in data.test[:5]]
    loaded = Translator.load(out)
    assert loaded.model.cfg.src_features == 10 and loaded.src_vocab is None
    assert [t.text for t in loaded.translate(frames)] == [t.text for t in tr.translate(frames)]
    t = loaded.translate(frames[:1], method="beam", beam_size=3)[0]
    assert t.src_tokens == [f"f{k}" for k in range(len(frames[0]))]


def test_wrong_feature_shape_is_explained(run):
    _, tr, _ = run
    with pytest.raises(ValueError, match=r"sources\[0\] has shape \(3, 7\), expected \(S, F\)"):
        tr.translate([np.zeros((3, 7))])
    assert tr.translate([]) == []  # nothing to translate is not an error for the API


def test_non_finite_feature_frames_are_refused_not_decoded_to_nothing(run):
    """A NaN frame made NaN states: greedy returned '' and beam search an IndexError."""
    data, tr, _ = run
    good, bad = data.test[0][0], data.test[1][0].copy()
    bad[2, 3] = np.nan
    for method in ("greedy", "beam"):
        with pytest.raises(ValueError, match=r"sources\[1\] holds NaN or infinity at frame 2"):
            tr.translate([good, bad], method=method)
    huge = np.full_like(good, 1e39, dtype=np.float64)  # beyond float32: inf once cast
    with pytest.raises(ValueError, match=r"sources\[0\] holds NaN or infinity at frame 0"):
        tr.translate([huge])
    with pytest.raises(ValueError, match="the source of pair 1 holds NaN or infinity at frame 2"):
        encode_pairs([data.test[0], (bad, "1")], None, tr.tgt_vocab, "char")


@pytest.mark.parametrize("method", ["greedy", "beam", "sample"])
def test_every_decoder_names_a_sentence_it_cannot_score(run, monkeypatch, method):
    """By its place in the sources, not in its batch (the error said "sentence 0"); greedy and
    sampling gave an empty or <pad> output without a word."""
    _, tr, _ = run
    real = tr.model.step
    rows = 2 if method == "beam" else 1  # of the second batch: 1 sentence (x 2 beams)

    def nan_step(y, state, **kw):  # NaN for the second batch only
        logp, state, w = real(y, state, **kw)
        return (logp * np.nan if len(y) == rows else logp), state, w

    monkeypatch.setattr(tr.model, "step", nan_step)
    kw = {"beam_size": 2} if method == "beam" else {}
    with pytest.raises(ValueError, match=r"sources\[2\] has no hypothesis with a finite score"):
        tr.translate([np.zeros((3, 10))] * 3, method=method, batch_size=2, **kw)


def test_a_run_without_a_best_checkpoint_loads_its_last_one(run, tmp_path):
    """A run stopped before its first dev evaluation (by max_steps, Ctrl-C) has only `last`:
    loading the run takes it and says so, and a directory with no checkpoint is named."""
    data, _, out = run
    frames = [src for src, _ in data.test[:3]]
    shutil.copytree(f"{out}/last", tmp_path / "early" / "last")
    with pytest.warns(UserWarning, match="has no best checkpoint yet.*using .*last"):
        early = Translator.load(tmp_path / "early")
    last = Translator.load(out, "last")
    assert [t.text for t in early.translate(frames)] == [t.text for t in last.translate(frames)]
    (tmp_path / "early" / "last").rename(tmp_path / "early" / ".last.old")  # a save cut short
    with pytest.warns(UserWarning, match="no best checkpoint yet"):
        assert Translator.load(tmp_path / "early").translate(frames[:1])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no checkpoint at .*empty: expected a run"):
        Translator.load(tmp_path / "empty")
    with pytest.raises(ValueError, match="which='bset'; give 'best' or 'last'"):
        Translator.load(out, "bset")


def test_a_path_that_is_not_there_is_named_with_what_to_give(tmp_path):
    """A mistyped run (`--checkpoint runs/reverse-long` before training it) says what
    --checkpoint takes, as --init-from's message does, not only that nothing is there."""
    with pytest.raises(FileNotFoundError) as e:
        Translator.load(tmp_path / "nope")
    said = str(e.value)
    assert said.startswith(f"no run or checkpoint at {tmp_path / 'nope'}: no such directory")
    assert "minis2s train --out" in said and "runs/x/best" in said


def _digits_translator() -> Translator:
    """An untrained digit model (its outputs are noise; the checks here are on the input)."""
    v = Vocab("0123456789")
    return Translator(Seq2Seq(ModelConfig(len(v), len(v), emb=4, hidden=4)), v, v)


def test_a_wordpunct_translator_splits_sources_refuses_empty_ones_and_scores_words(monkeypatch):
    """Sources are split as tokenize splits them ("Go!" is the known "Go" and "!"), the output
    is the detokenized tokens, a whitespace-only source is refused as with "word", and BLEU is
    over words (sacrebleu's "13a"), not characters."""
    v = Vocab.build([["Go", ".", "!", "Va"]])
    tr = Translator(Seq2Seq(ModelConfig(len(v), len(v), emb=4, hidden=4)), v, v, "wordpunct")
    t = tr.translate(["Go!"])[0]
    assert t.src_tokens == ["Go", "!"] and tr.unknown == 0
    assert t.text == get_tokenizer("wordpunct").detokenize(t.tokens)
    with pytest.raises(ValueError, match=r"sources\[1\] \(sentence 2\) is empty"):
        tr.translate(["Go.", " \t"])
    levels = []
    monkeypatch.setattr(metrics, "bleu", lambda hyps, refs, tokenize: levels.append(tokenize))
    tr.evaluate([("Go.", "Va !")])
    assert levels == ["13a"]


def test_a_bad_source_is_named_by_its_place_in_the_whole_list():
    """Sources go through the model in batches; an error names the caller's index, not the
    index inside the batch that held it."""
    text = _digits_translator()
    with pytest.raises(ValueError, match=r"sources\[5\] \(sentence 6\) is empty"):
        text.translate(["12"] * 5 + ["", "3"], batch_size=2)
    v = text.tgt_vocab
    frames = Translator(Seq2Seq(ModelConfig(0, len(v), src_features=10, emb=4, hidden=4)), None, v)
    with pytest.raises(ValueError, match=r"sources\[5\] has shape \(0, 10\)"):
        frames.translate([np.zeros((2, 10))] * 5 + [np.zeros((0, 10))], batch_size=2)
    with pytest.raises(ValueError, match=r"sources\[0\] is text, but this model reads"):
        frames.translate(["123"])
    in_ones = [t.text for t in text.translate(["12", "3", "45"], batch_size=1)]
    assert in_ones == [t.text for t in text.translate(["12", "3", "45"])]


def test_unknown_source_tokens_are_counted_over_every_batch_and_call():
    """translator.unknown and .source_tokens count every source read so far (the CLI's note on
    unknown tokens reads them after translating in batches), not only the last batch's."""
    tr = _digits_translator()
    tr.translate(["1x", "yz3", "45"], batch_size=1)  # x, y, z are not digits
    assert (tr.unknown, tr.source_tokens) == (3, 7)
    tr.translate(["q"])
    assert (tr.unknown, tr.source_tokens) == (4, 8)


def test_evaluate_refuses_nbest():
    """evaluate(..., method="beam", nbest=3) failed with an AttributeError on a list."""
    tr = _digits_translator()
    with pytest.raises(ValueError, match="evaluate: nbest=3; scoring takes the best output"):
        tr.evaluate([("12", "21")], method="beam", beam_size=3, nbest=3)
    assert tr.evaluate([("12", "21")], method="beam", beam_size=3, nbest=1)["n"] == 1


@pytest.mark.parametrize("method, nbest", [("greedy", 2), ("sample", 3), ("beam", 0)])
def test_nbest_other_than_one_needs_beam_search(method, nbest):
    tr = _digits_translator()
    with pytest.raises(ValueError, match=f"nbest={nbest} with method='{method}'"):
        tr.translate(["12"], method=method, nbest=nbest)


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(method="greedy", beam_size=3), "beam_size is not an option of method='greedy'"),
        (dict(method="beam", top_k=3), "top_k is not an option of method='beam'"),
        (dict(method="greedy", top_p=0.9), "top_p is not an option of method='greedy'"),
        (dict(method="sample", top_p=0.0), r"top_p must be in \(0, 1\]"),
        (dict(batch_size=0), "batch_size must be >= 1"),
        (dict(batch_size=1.5), "batch_size must be an integer >= 1; got 1.5"),
        (dict(method="beam", beam_size=2.5), "beam_size must be an integer >= 1; got 2.5"),
        (dict(method="beam", beam_size=-1), "beam_size must be >= 1; got -1"),
        (dict(method="sample", top_k=2.5), "top_k .* must be an integer >= 0; got 2.5"),
        (dict(method="beam", nbest=1.5), "nbest must be an integer; got 1.5"),
        (dict(max_len_a=float("nan")), "max_len_a must be a finite number; got nan"),
        (dict(max_len_a=float("inf")), "max_len_a must be a finite number; got inf"),
        (dict(method="sample", temperature=float("inf")), "temperature must be a finite"),
        (dict(method="beam", length_penalty="gnmt", alpha=float("nan")), "alpha must be a finite"),
        (dict(method="beam", alpha=0.5), "alpha is the exponent of length_penalty='gnmt'"),
        (dict(seed=3), "seed seeds sampling, but method='greedy' draws nothing"),
        (dict(method="beam", seed=0), "seed seeds sampling, but method='beam'"),
        (dict(method="sample", seed=-1), "seed must be >= 0; got -1"),
    ],
)
def test_decoding_options_are_checked_against_the_method(kw, message):
    tr = _digits_translator()
    with pytest.raises(ValueError, match=message):
        tr.translate(["12"], **kw)


def test_one_source_is_not_taken_for_a_list_of_them():
    """A string is a sequence of characters: translate("12") would translate "1" and "2"."""
    tr = _digits_translator()
    with pytest.raises(
        ValueError, match=r"sources is one string; pass a list.*translate\(\[text\]\)"
    ):
        tr.translate("12")
    with pytest.raises(ValueError, match=r"sources is an array of shape \(3, 10\)"):
        tr.translate(np.zeros((3, 10)))


@pytest.mark.parametrize(
    "pairs, message",
    [
        ([], "pairs is empty"),
        (("12", "21"), r"pairs is one \(source, reference\) pair; pass a list of pairs"),
        ([("12", "21"), ("3",)], r"pairs\[1\] is \('3',\)"),
        ([("12", 21)], "with the reference a string"),
        ([("12", "21", "x")], r"pairs\[0\] is \('12', '21', 'x'\)"),  # three, not a pair
    ],
)
def test_evaluate_wants_a_list_of_source_reference_pairs(pairs, message):
    with pytest.raises(ValueError, match=message):
        _digits_translator().evaluate(pairs)


@pytest.mark.parametrize(
    "source, what",
    [(np.zeros((3, 10)), r"an array of shape \(3, 10\)"), (12, "int 12"), (None, "None")],
)
def test_a_text_model_wants_strings(source, what):
    """The opposite of a feature model given text: named, not a TypeError from the vocabulary."""
    with pytest.raises(ValueError, match=rf"sources\[1\] is {what}, but this model reads text"):
        _digits_translator().translate(["12", source])


def test_the_options_a_method_takes_are_accepted():
    tr = _digits_translator()
    beam = dict(method="beam", beam_size=np.int64(2), length_penalty="gnmt", alpha=0.2, beta=0.2)
    assert len(tr.translate(["12"], nbest=2, **beam)[0]) == 2
    sampled = dict(method="sample", seed=4, top_k=3, top_p=0.9, temperature=0.5)
    one = tr.translate(["12", "3"], **sampled)
    assert [t.text for t in one] == [t.text for t in tr.translate(["12", "3"], **sampled)]


def test_a_sample_does_not_depend_on_the_other_sources_or_the_batch_size():
    """sources[i] draws from its own stream, default_rng([seed, i]): one Generator shared by the
    batch made a sentence's sample depend on the sentences beside it and on batch_size."""
    tr = _digits_translator()

    def texts(sources, **kw):
        return [t.text for t in tr.translate(sources, method="sample", seed=7, temperature=2.0,
                                             **kw)]  # fmt: skip

    mine = texts(["12", "345", "6"])
    assert texts(["12", "345", "6"], batch_size=1) == mine
    assert texts(["9", "345", "87654321", "1", "22"], batch_size=2)[1] == mine[1]
    seeds = [tr.translate(["345"] * 2, method="sample", seed=s, temperature=2.0) for s in (0, 1)]
    texts_by_seed = {t.text for pair in seeds for t in pair}
    assert len(texts_by_seed) > 1  # the draws do depend on the seed and the place i


def test_a_checkpoint_with_non_finite_parameters_is_refused_at_load(run, tmp_path):
    """A NaN parameter would translate every source to an empty string, silently."""
    _, _, out = run
    shutil.copytree(f"{out}/best", tmp_path / "nan")
    file = tmp_path / "nan" / "params.npz"
    with np.load(file) as z:
        params = {k: z[k] for k in z.files}
    params["out.b"] = params["out.b"].copy()
    params["out.b"][0] = np.inf
    np.savez(file, **params)
    with pytest.raises(ValueError, match=r"nan: parameters hold NaN or infinite values \(out.b\)"):
        Translator.load(tmp_path / "nan")


def test_a_checkpoint_of_another_dtype_is_refused_at_load(run, tmp_path):
    """float16 in state.json loaded, and translated to empty lines."""
    _, _, out = run
    shutil.copytree(f"{out}/best", tmp_path / "f16")
    state = tmp_path / "f16" / "state.json"
    state.write_text(state.read_text().replace('"dtype": "float32"', '"dtype": "float16"'))
    assert '"float16"' in state.read_text()
    with pytest.raises(ValueError, match=r"f16: state.json says dtype float16; minis2s models"):
        Translator.load(tmp_path / "f16")


def test_a_state_without_a_model_config_or_with_no_dtype_is_named_at_load(run, tmp_path):
    """A state.json without config["model"] used to raise KeyError('model'), and a dtype that is
    no dtype NumPy's "data type 'floaty' not understood", naming no file."""
    _, _, out = run
    for name, edit in (
        ("nomodel", lambda t: t.replace('"model":', '"modell":')),
        ("floaty", lambda t: t.replace('"dtype": "float32"', '"dtype": "floaty"')),
    ):
        shutil.copytree(f"{out}/best", tmp_path / name)
        state = tmp_path / name / "state.json"
        state.write_text(edit(state.read_text()))
    with pytest.raises(ValueError, match=r"nomodel: state.json has no model config"):
        Translator.load(tmp_path / "nomodel")
    with pytest.raises(ValueError, match=r"floaty: state.json says dtype floaty; minis2s models"):
        Translator.load(tmp_path / "floaty")


@pytest.mark.parametrize("sources", [None, {"a"}, {"a": 1}, (s for s in ["a"])])
def test_translate_names_sources_that_are_not_a_list(run, sources):
    """None, a set, a dict or a generator used to reach len() or slicing deep inside
    (TypeError: object of type 'NoneType' has no len())."""
    _, tr, _ = run
    with pytest.raises(ValueError, match="translate: sources is .*; pass a list of sources"):
        tr.translate(sources)


def test_exact_match_compares_a_reference_as_the_model_writes_it():
    """A word model writes single spaces: a reference with a double, leading or trailing space
    (or a tab) was never matched, even by a perfect output."""
    words = Vocab("the cat sat on mat a b".split())
    tr = Translator(Seq2Seq(ModelConfig(len(words), len(words), emb=4, hidden=4)), words, words,
                    "word")  # fmt: skip
    refs = ["the cat  sat on the mat", " a b ", "a\tb", "the mat"]
    assert [tr.as_output(r) for r in refs] == ["the cat sat on the mat", "a b", "a b", "the mat"]
    perfect = _outputs([tr.as_output(r).split() for r in refs], " ".join)
    tr.translate = lambda sources, **kw: perfect
    assert tr.evaluate([("x", r) for r in refs], bleu=False)["exact_match"] == 1.0
    assert _digits_translator().as_output(" 1  2 ") == " 1  2 "  # characters: as written


def test_a_character_model_is_scored_with_character_bleu():
    """One-word outputs have no word 4-grams: 13a BLEU would give 0 to perfect output, so a
    character model's BLEU counts characters (the README's reverse-digits bleu=100 needs it)."""
    tr = _digits_translator()
    refs = ["12345", "987654", "1029384756"]
    tr.translate = lambda sources, **kw: _outputs(refs)
    scores = tr.evaluate([("x", r) for r in refs])
    assert scores["exact_match"] == 1.0 and scores["bleu"] == pytest.approx(100.0)


def _outputs(token_lists, join="".join, ended=None, src_tokens=None) -> list[Translation]:
    """Translations as `translate` returns them, of the given tokens (`ended`: which produced
    EOS, default all; `src_tokens`: the source tokens each read, default ["x"], the source "x"
    of the pairs they are scored against: evaluate refuses a translation of another source)."""
    n = len(token_lists)
    ended = [True] * n if ended is None else ended
    src_tokens = [["x"]] * n if src_tokens is None else src_tokens
    return [
        Translation(join(toks), list(toks), 0.0, 0.0, list(src), None, e)
        for toks, e, src in zip(token_lists, ended, src_tokens, strict=True)
    ]


def test_token_accuracy_counts_target_tokens_and_eos():
    """Per reference token, EOS included: an output cut before EOS misses that one, and a
    reference token the vocabulary lacks is never matched, not even by <unk>."""
    tr = _digits_translator()
    refs = ["12", "345", "6789", "1x"]
    outs = _outputs([["1", "2"], ["3", "4"], list("6789"), ["1", "<unk>"]],
                    ended=[True, True, False, True])  # fmt: skip
    tr.translate = lambda sources, **kw: outs
    got = tr.evaluate([("x", r) for r in refs], bleu=False)
    # 3/3 + 2/4 (the EOS comes a token early) + 4/5 (no EOS) + 2/3 (x is not <unk>)
    assert got["token_accuracy"] == pytest.approx(11 / 15)
    assert got["exact_match"] == 0.5 and got["n"] == 4  # "6789" is the text, cut or not
    assert list(got) == ["exact_match", "n", "token_accuracy", "ref_loss", "ref_ppl", "ref_unknown",
                        "cut"]  # fmt: skip
    assert got["cut"] == 1  # "6789", cut before </s>
    assert got["ref_unknown"] == 1  # "1x": the teacher-forced score reads x as <unk>


def test_evaluate_by_length_bands_the_sources_by_their_tokens():
    tr = _digits_translator()
    refs = ["1", "23", "456", "7890", "12345"]
    outs = _outputs([list("1"), list("24"), list("456"), list("7890"), list("1234")],
                    src_tokens=[list(r[::-1]) for r in refs])  # fmt: skip
    tr.translate = lambda sources, **kw: outs
    got = tr.evaluate([(r[::-1], r) for r in refs], by_length=2)
    assert list(got)[:4] == ["exact_match", "n", "bleu", "chrf"]  # as before, then the new ones
    assert list(got)[4:6] == ["token_accuracy", "by_length"] and got["exact_match"] == 0.6
    assert got["by_length"] == [metrics.Band(1, 2, 2, 0.5), metrics.Band(3, 4, 2, 1.0),
                                metrics.Band(5, 6, 1, 0.0)]  # fmt: skip
    del tr.translate  # the model's own (untrained) outputs
    assert "by_length" not in tr.evaluate([("1", "1")])


def test_evaluate_by_length_counts_source_tokens_of_a_real_translation(run):
    data, tr, _ = run  # frames: a source's length is its number of frames
    pairs = data.test[:20]
    got = tr.evaluate(pairs, by_length=3)
    lengths = [len(src) for src, _ in pairs]
    hyps = [t.text for t in tr.translate([s for s, _ in pairs])]
    assert got["by_length"] == metrics.exact_match_by_length(lengths, hyps,
                                                             [r for _, r in pairs], 3)  # fmt: skip
    assert 0.0 <= got["token_accuracy"] <= 1.0


@pytest.mark.parametrize("width, message", [(0, "must be >= 1; got 0"),
                                            (2.5, "must be an integer >= 1; got 2.5")])  # fmt: skip
def test_a_bad_band_width_is_refused_before_decoding(width, message):
    tr = _digits_translator()
    tr.translate = lambda sources, **kw: pytest.fail("decoded before checking by_length")
    with pytest.raises(ValueError, match=rf"by_length \(source tokens per band\) {message}"):
        tr.evaluate([("12", "21")], by_length=width)


def test_evaluate_translations_wants_one_translation_per_pair():
    tr = _digits_translator()
    pairs = [("12", "21"), ("3", "3")]
    with pytest.raises(ValueError, match="1 translations for 2 pairs; give one translation"):
        tr.evaluate_translations(pairs, _outputs([["2", "1"]], src_tokens=[["1", "2"]]))
    with pytest.raises(ValueError, match="pairs is empty"):
        tr.evaluate_translations([], [])
    outs = _outputs([["2", "1"], ["4"]], src_tokens=[["1", "2"], ["3"]])
    both = tr.evaluate_translations(pairs, outs, bleu=False)
    assert both == {"exact_match": 0.5, "n": 2, "token_accuracy": 4 / 5}  # 3/3, 1/2
    nbest = tr.translate(["12", "3"], method="beam", beam_size=2, nbest=2)
    with pytest.raises(ValueError, match=r"translations\[0\] is list, not a Translation"):
        tr.evaluate_translations(pairs, nbest)  # an AttributeError on the list
    assert tr.evaluate_translations(pairs, [ts[0] for ts in nbest])["n"] == 2


def test_a_translator_built_by_hand_checks_its_vocabularies_against_the_model():
    """Translator.load checks a run's vocabularies against its model (load_run.py); one built
    from a model and two vocabularies by hand is checked too: their sizes, and one vocabulary
    for both sides of a model with share_embeddings, which embeds both with one matrix."""
    v, w = Vocab("0123456789"), Vocab("9876543210")  # the same digits, other ids
    plain = Seq2Seq(ModelConfig(len(v), len(v), emb=4, hidden=4))
    Translator(plain, w, v)  # two vocabularies of the model's sizes
    with pytest.raises(ValueError, match=(
        r"^Translator: the tgt_vocab given holds 13 tokens but the model's tgt_vocab is 14: "
        r"pass the vocabulary the model was trained with \(Translator.load"
    )):  # fmt: skip
        Translator(plain, v, Vocab("012345678"))
    with pytest.raises(ValueError, match="the src_vocab given holds 15 tokens but the model's"):
        Translator(plain, Vocab("0123456789a"), v)
    with pytest.raises(ValueError, match=r"reads source token ids \(its src_vocab is 14\)"):
        Translator(plain, None, v)
    shared = Seq2Seq(ModelConfig(len(v), len(v), emb=4, hidden=4, share_embeddings=True))
    Translator(shared, Vocab("0123456789"), v)  # equal: one vocabulary, as far as ids go
    for src in (w, None):
        with pytest.raises(ValueError, match=(
            r"^Translator: the model embeds source and target with one matrix "
            r"\(share_embeddings\), .* pass the same Vocab for both: Translator\(model, vocab, "
        )):  # fmt: skip
            Translator(shared, src, v)


def test_an_interrupted_python_run_says_how_python_resumes_it(tmp_path, monkeypatch, capsys):
    """pipeline.train interrupted (Ctrl-C between updates) names its keyword, resume=True; the
    command line names its flag (tests/test_sigterm.py)."""
    from minis2s.train.trainer import Trainer

    def interrupt(self, batch):
        raise KeyboardInterrupt

    data = pipeline.load_data(task="reverse-digits", train_size=16)
    monkeypatch.setattr(Trainer, "step", interrupt)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        pipeline.train(data, {"hidden": 8, "emb": 8}, TrainConfig(epochs=1), out, progress=False)
    said = capsys.readouterr().out
    assert f"interrupted: checkpoint saved to {out}/last; to go on, call pipeline.train with " \
        "the same arguments and resume=True" in said  # fmt: skip
    assert "--resume" not in said
