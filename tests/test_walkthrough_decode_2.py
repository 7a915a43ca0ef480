"""The README's "Decoding, evaluating and ensembles" and "The Python API", walked again as a new
user would: what the Python API accepts and refuses agrees with the command line, and a refusal
names what the Python caller wrote."""

import os

import pytest

from minis2s.api import Translation, Translator
from minis2s.data.vocab import Vocab
from minis2s.models import ModelConfig, Seq2Seq


def _digits() -> Translator:
    """An untrained digit model (its outputs are noise; the checks here are on the input)."""
    v = Vocab("0123456789")
    return Translator(Seq2Seq(ModelConfig(len(v), len(v), emb=4, hidden=4)), v, v)


def _words() -> Translator:
    words = Vocab("the cat sat on mat a b".split())
    model = Seq2Seq(ModelConfig(len(words), len(words), emb=4, hidden=4))
    return Translator(model, words, words, "word")


def test_translations_in_another_order_than_the_pairs_are_refused():
    """evaluate_translations scored a list reordered (sorted, shuffled, another split's) against
    the pairs without a word: each translation's source tokens must be its pair's source's."""
    tr = _digits()
    pairs = [("12", "21"), ("345", "543")]
    translations = tr.translate([s for s, _ in pairs])
    assert tr.evaluate_translations(pairs, translations, bleu=False)["n"] == 2
    with pytest.raises(ValueError, match=r"translations\[0\] translates '345', but pairs\[0\]"):
        tr.evaluate_translations(pairs, translations[::-1])
    by_hand = [Translation(r, list(r), 0.0, 0.0, list(s), None) for s, r in pairs]
    with pytest.raises(ValueError, match=r"translations\[1\] translates None, but pairs\[1\]"):
        tr.evaluate_translations(pairs, [by_hand[0], by_hand[1]._replace(src_tokens=None)])
    assert tr.evaluate_translations(pairs, by_hand, bleu=False)["exact_match"] == 1.0


@pytest.mark.parametrize("reference, why", [("", "is empty"), (" \t", "has no word tokens")])
def test_an_empty_reference_is_refused_in_python_as_on_the_command_line(reference, why):
    """`minis2s evaluate` refuses a pair with an empty target; Translator.evaluate scored it, and
    a word model's empty output then counted as an exact match."""
    tr = _words()
    tr.translate = lambda sources, **kw: [Translation("", [], 0.0, 0.0, ["a"], None)]
    pairs = [("a", reference)]
    with pytest.raises(ValueError, match=rf"evaluate: pairs\[0\]'s reference {why}"):
        tr.evaluate(pairs, bleu=False)
    with pytest.raises(ValueError, match=rf"evaluate: pairs\[0\]'s reference {why}"):
        tr.evaluate_translations(pairs, tr.translate(["a"]), bleu=False)
    assert len(tr.score(pairs)) == 1  # forced decoding scores an empty target: its </s>


@pytest.mark.parametrize("method, more", [("greedy", {}), ("beam", {"beam_size": 2})])
def test_places_outside_sampling_is_refused_as_seed_is(method, more):
    """places picks each source's sampling stream; greedy and beam search draw nothing, so it was
    ignored there, where seed is refused."""
    tr = _digits()
    kw = {"method": method, **more}
    for option in ({"seed": 1}, {"places": [4, 7]}):
        name = next(iter(option))
        with pytest.raises(ValueError, match=rf"^translate: {name} .*method='{method}' draws"):
            tr.translate(["12", "3"], **kw, **option)
        with pytest.raises(ValueError, match=rf"^evaluate: {name} .*method='{method}' draws"):
            tr.evaluate([("12", "21"), ("3", "3")], **kw, **option)
    assert len(tr.translate(["12", "3"], method="sample", places=[4, 7])) == 2


def test_the_commands_decode_without_places_unless_they_sample(run, capsys):
    """translate and evaluate give each source's place to translate only when sampling."""
    from minis2s.cli import main

    for options in ([], ["--beam", "2"], ["--sample", "--seed", "3"]):
        assert main(["translate", "--checkpoint", run, *options, "12", "", "345"]) == 0
        assert main(["evaluate", "--checkpoint", run, "--task", "reverse-digits", *options]) == 0
    capsys.readouterr()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny reverse-digits run (tests/tiny_run.py), its path."""
    from tests.tiny_run import train_tiny

    return str(train_tiny(tmp_path_factory.mktemp("walkthrough-2") / "run"))


def test_a_checkpoint_given_with_a_which_that_names_another_is_refused(run):
    """Translator.load("run/best", which="last") loaded best/ without a word."""
    best, last = os.path.join(run, "best"), os.path.join(run, "last")
    with pytest.raises(ValueError) as e:
        Translator.load(best, which="last")
    said = str(e.value)
    assert f"{best} is a checkpoint" in said and "which='last'" in said, said
    assert f"give {last}" in said and "leave which out" in said, said
    with pytest.raises(ValueError, match="which='last'"):
        Translator.load_ensemble([best, last], which="last")
    assert Translator.load(last, which="last").config == Translator.load(run, "last").config
    assert Translator.load(best).config == Translator.load(run).config


@pytest.mark.parametrize("config", ["runs/x/best/state.json", [("data", {})], 3])
def test_a_translator_built_by_hand_refuses_a_config_that_is_not_a_dict(config):
    """Translator(model, vocab, vocab, config=...) kept any value: a list became {} without a
    word, a string failed later with an AttributeError (or gave no figure it recorded)."""
    v = Vocab("0123456789")
    model = Seq2Seq(ModelConfig(len(v), len(v), emb=4, hidden=4))
    with pytest.raises(ValueError, match=r"^Translator: config is .*; give a dict"):
        Translator(model, v, v, config=config)
    assert Translator(model, v, v, config=None).config == {}
    recorded = {"data": {"longest_source": 5}}
    assert Translator(model, v, v, config=recorded).longest_source == 5


def _corpus(tmp_path):
    corpus = tmp_path / "c.tsv"
    corpus.write_text("".join(f"a b {i}\t{i} b a\n" for i in range(30)), encoding="utf-8")
    return str(corpus)


def test_python_refusals_of_bpe_merges_and_vectors_name_the_keywords(tmp_path):
    """load_data(bpe_merges=5) and train(src_vectors=..., tgt_vectors=...) were refused in the
    command line's words (--bpe-merges, --src-vectors), options a Python caller never wrote."""
    from minis2s import pipeline
    from minis2s.models.pretrained import check_shared

    corpus = _corpus(tmp_path)
    cases = [
        (lambda: pipeline.load_data(data=corpus, tokenizer="word", bpe_merges=5),
         "load_data: bpe_merges applies to tokenizer='bpe', which learns"),
        (lambda: pipeline.load_data(data=corpus, tokenizer="bpe", bpe_merges=-1),
         "load_data: bpe_merges must be an integer >= 0; got -1"),
        (lambda: check_shared(ModelConfig(9, 9, share_embeddings=True), "v.txt", "v.txt"),
         "train: src_vectors and tgt_vectors both given, but with share_embeddings"),
    ]  # fmt: skip
    for call, words in cases:
        with pytest.raises(ValueError) as e:
            call()
        assert str(e.value).startswith(words) and "--" not in str(e.value), e.value


def test_the_command_line_refuses_them_in_its_option_words(tmp_path, capsys):
    from minis2s.cli import main
    from tests.tiny_run import TINY

    corpus, vectors = _corpus(tmp_path), tmp_path / "v.txt"
    vectors.write_text("a 0.5 0.5\n", encoding="utf-8")
    shared = ["--share-vocab", "--share-embeddings"]
    cases = [
        (["--data", corpus, "--tokenizer", "word", "--bpe-merges", "5"],
         "--bpe-merges 5: applies to --tokenizer bpe, which learns"),
        (["--data", corpus, "--tokenizer", "bpe", "--bpe-merges", "-1"],
         "--bpe-merges -1: must be an integer >= 0"),
        ([*TINY, *shared, "--src-vectors", str(vectors), "--tgt-vectors", str(vectors)],
         f"--tgt-vectors {vectors}: given with --src-vectors, but with --share-embeddings"),
    ]  # fmt: skip
    for i, (argv, words) in enumerate(cases):
        assert main(["train", *argv, "--out", str(tmp_path / f"r{i}")]) == 2
        assert words in capsys.readouterr().err


@pytest.mark.parametrize("keyword", ["resume", "src_vectors", "tgt_vectors"])
def test_python_conflicts_with_init_from_name_the_keywords(run, tmp_path, keyword):
    """pipeline.train(..., init_from=RUN, src_vectors=...) said '--src-vectors conflicts with
    --init-from', two options a Python caller never wrote."""
    from minis2s import pipeline
    from minis2s.train.config import TrainConfig

    data = pipeline.load_data(task="reverse-digits", train_size=16)
    value = True if keyword == "resume" else str(tmp_path / "v.txt")
    with pytest.raises(ValueError) as e:
        pipeline.train(data, {}, TrainConfig(epochs=1), str(tmp_path / "new"), init_from=run,
                       progress=False, **{keyword: value})  # fmt: skip
    said = str(e.value)
    assert said.startswith(f"train: {keyword} conflicts with init_from: "), said
    assert "--" not in said, said


def test_python_refusals_of_vector_files_name_the_keywords(tmp_path, capsys):
    """pipeline.train(src_vectors=...) of a missing file, a directory, or on resume was refused
    as --src-vectors; minis2s train, which checks them first, keeps its option words."""
    from minis2s import pipeline
    from minis2s.cli import main
    from minis2s.train.config import TrainConfig

    data = pipeline.load_data(task="reverse-digits", train_size=16)
    cases = [({"src_vectors": str(tmp_path / "nope.vec")}, "src_vectors .*nope.vec: no such file"),
             ({"tgt_vectors": str(tmp_path)}, "tgt_vectors .*: a directory"),
             ({"src_vectors": str(tmp_path), "resume": True},
              "src_vectors initialises a new run's embeddings")]  # fmt: skip
    for kw, words in cases:
        with pytest.raises((ValueError, OSError), match=f"^{words}") as e:
            pipeline.train(data, {}, TrainConfig(epochs=1), str(tmp_path / "r"), **kw)
        assert "--" not in str(e.value), e.value
    argv = ["train", "--task", "reverse-digits", "--out", str(tmp_path / "r")]
    assert main([*argv, "--src-vectors", str(tmp_path / "nope.vec")]) == 2
    assert f"--src-vectors {tmp_path / 'nope.vec'}: no such file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "keyword, value, words",
    [("train_size", -3, "must be an integer >= 1 (or left out)"),
     ("max_len", 0, "must be an integer >= 1 (or left out)"),
     ("min_freq", 0, "must be an integer >= 1"),
     ("max_vocab", 4, "leaves no room for a word besides the 4 special tokens")],
)  # fmt: skip
def test_load_data_names_its_counts_as_keywords_and_train_as_options(
    tmp_path, capsys, keyword, value, words
):
    """load_data(min_freq=0) said '--min-freq must be ...'; minis2s train keeps --min-freq."""
    from minis2s import pipeline
    from minis2s.cli import main

    corpus = _corpus(tmp_path)
    with pytest.raises(ValueError) as e:
        pipeline.load_data(data=corpus, tokenizer="word", **{keyword: value})
    said = str(e.value)
    assert said.startswith(f"load_data: {keyword}") and words in said and "--" not in said, said
    flag = "--" + keyword.replace("_", "-")
    argv = ["train", "--data", corpus, flag, str(value), "--out", str(tmp_path / "r")]
    assert main(argv) == 2
    assert f"{flag} {value}: {words}" in capsys.readouterr().err
