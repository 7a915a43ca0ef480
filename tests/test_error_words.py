"""A refusal names the call or option the user wrote, not the function inside minis2s that found
the fault: `Translator.evaluate` with an empty source is refused as evaluate's, not translate's;
a decoding value out of range is refused as `translate: beam_size=0 ...` in Python and as
`--beam-size` on the command line, while the decode functions, public too, keep their own names
for their direct callers."""

import pytest

from tests.test_decoding_check_words import PAIRS, translator

# sources that encode_sources refuses, and a word of each message
BAD_SOURCES = [
    ("", "is empty"),
    (3, "is int 3"),
]


@pytest.mark.parametrize("source, words", BAD_SOURCES)
def test_evaluate_names_itself_when_a_source_is_refused(source, words):
    with pytest.raises(ValueError) as e:
        translator().evaluate([*PAIRS, (source, "1")])
    message = str(e.value)
    assert message.startswith("evaluate: sources[2]") and words in message, message


def test_evaluate_names_itself_when_a_feature_source_is_refused():
    import numpy as np

    tr = translator(features=3)
    with pytest.raises(ValueError) as e:
        tr.evaluate([(np.ones((2, 3)), "1"), (np.ones((0, 3)), "2")])
    assert str(e.value).startswith("evaluate: sources[1]"), e.value


@pytest.mark.parametrize("source, words", BAD_SOURCES)
def test_translate_keeps_its_name(source, words):
    with pytest.raises(ValueError) as e:
        translator().translate(["12", source])
    assert str(e.value).startswith("translate: sources[1]") and words in str(e.value), e.value


def test_evaluate_refuses_a_source_before_decoding_and_counts_unknowns_once():
    """evaluate reads its sources before translating (a refusal decodes nothing) without
    counting them: tr.unknown grows by the sources' unknown tokens once, as translate's."""
    pairs = [("12", "21"), ("4x", "x4")]  # x: not a digit, <unk>
    alone, evaluating = translator(), translator()
    alone.translate([s for s, _ in pairs])
    evaluating.evaluate(pairs)
    assert evaluating.unknown == alone.unknown == 1
    tr = translator()
    tr.translate = lambda sources, **kw: pytest.fail("decoded before the sources were read")
    with pytest.raises(ValueError, match="^evaluate: sources.1. .sentence 2. is empty"):
        tr.evaluate([("12", "21"), ("", "1")])


# decoding values out of range, the argument a refusal must name, and whether the model needs
# no attention to show the fault; each was refused as "beam_search: ...", "sample: ..." or
# "decode: ...", functions the caller of translate or evaluate never called
OUT_OF_RANGE = [
    ({"method": "beam", "beam_size": 0}, "beam_size", "general"),
    ({"method": "beam", "beam_size": "2"}, "beam_size", "general"),
    ({"method": "beam", "length_penalty": "x"}, "length_penalty", "general"),
    ({"method": "beam", "length_penalty": "gnmt", "alpha": 100}, "alpha", "general"),
    ({"method": "beam", "length_penalty": "gnmt", "alpha": float("nan")}, "alpha", "general"),
    ({"method": "beam", "beta": -1}, "beta", "general"),
    ({"method": "beam", "beta": 0.2}, "beta", "none"),
    ({"method": "sample", "temperature": 0}, "temperature", "general"),
    ({"method": "sample", "temperature": float("nan")}, "temperature", "general"),
    ({"method": "sample", "top_p": 0}, "top_p", "general"),
    ({"method": "sample", "top_k": -1}, "top_k", "general"),
    ({"max_len_a": -1}, "max_len_a", "general"),
    ({"max_len_a": 0, "max_len_b": 0}, "max_len_b", "general"),
    ({"max_len_b": float("inf")}, "max_len_b", "general"),
    ({"max_len_a": 1e300}, "max_len_a", "general"),
    ({"method": "beam", "max_len_a": 1e300}, "max_len_a", "general"),
]
INNER = ("beam_search", "sample:", "decode:", "greedy:")


@pytest.mark.parametrize("call", ["translate", "evaluate"])
@pytest.mark.parametrize("options, name, attention", OUT_OF_RANGE)
def test_a_value_out_of_range_is_refused_as_the_callers_argument(call, options, name, attention):
    tr = translator(attention)
    with pytest.raises(ValueError) as e:
        if call == "translate":
            tr.translate(["12", "345"], **options)
        else:
            tr.evaluate(PAIRS, **options)
    message = str(e.value)
    assert message.startswith(f"{call}: ") and name in message, message
    assert not any(word in message for word in INNER), message


def test_nbest_beyond_the_beam_is_refused_as_translates():
    with pytest.raises(ValueError, match=r"^translate: .*nbest") as e:
        translator().translate(["12"], method="beam", beam_size=2, nbest=3)
    assert "beam_search" not in str(e.value)


@pytest.mark.parametrize(
    "decode, options, words",
    [
        ("beam_search", {"beam_size": 0}, "beam_search: beam_size must be >= 1"),
        ("beam_search", {"alpha": 100}, "beam_search: alpha must be in"),
        ("sample", {"temperature": 0}, "sample: temperature must be > 0"),
        ("greedy", {"max_len_a": 1e300}, "decode: max_len_a=1e+300 and max_len_b=10 allow"),
        ("greedy", {"max_len_a": 0, "max_len_b": 0}, "decode: max length"),
    ],
)
def test_the_decode_functions_keep_their_own_names(decode, options, words):
    """beam_search, sample and greedy are public: their direct callers see their names."""
    import numpy as np

    from minis2s import decode as decoding

    tr = translator()
    src, mask = np.array([[4, 5]]), np.ones((1, 2))
    extra = {"rng": np.random.default_rng(0)} if decode == "sample" else {}
    with pytest.raises(ValueError) as e:
        getattr(decoding, decode)(tr.model, src, mask, **options, **extra)
    assert str(e.value).startswith(words), e.value


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from tests.tiny_run import train_tiny

    return str(train_tiny(tmp_path_factory.mktemp("words") / "run"))


@pytest.mark.parametrize("command", ["translate", "evaluate"])
@pytest.mark.parametrize(
    "options, flag",
    [
        (["--beam", "2", "--length-penalty", "gnmt", "--alpha", "100"], "--alpha"),
        (["--max-len-a", "1e300"], "--max-len-a"),
        (["--beam", "2", "--max-len-b", "2000000"], "--max-len-b"),
    ],
)
def test_the_command_line_names_the_option(run, capsys, command, options, flag):
    from minis2s.cli import main

    what = ["12"] if command == "translate" else ["--task", "reverse-digits"]
    assert main([command, "--checkpoint", run, *options, *what]) == 2
    err = capsys.readouterr().err
    assert "error: " in err and flag in err and not any(word in err for word in INNER), err


@pytest.mark.parametrize("command", ["translate", "evaluate"])
def test_the_command_line_names_the_option_for_a_source_too_long_for_the_step_limit(
    run, capsys, command
):
    """--max-len-a 200000 lets a one-token source decode (200,010 steps), but not one of 22
    tokens (4.4 million, beyond the million allowed): found when the source is read, the
    refusal names the options and the sentence, as typed, not translate's keywords."""
    from minis2s.cli import main

    source = "1234567890123456789012"
    if command == "translate":
        what = ["5", source]
    else:
        from minis2s.data.corpus import write_tsv

        corpus = run + "-long.tsv"
        write_tsv(corpus, [("5", "5"), (source, source[::-1])])
        what = ["--data", corpus]
    assert main([command, "--checkpoint", run, "--max-len-a", "200000", *what]) == 2
    err = capsys.readouterr().err
    assert f"minis2s {command}: error: --max-len-a 200000" in err, err
    assert "--max-len-b" in err and "max_len" not in err and "error: translate: " not in err, err
    assert ("sentence 2" if command == "translate" else "pair 2") in err, err


@pytest.mark.parametrize("call", ["translate", "evaluate"])
def test_a_beam_too_large_for_memory_is_refused_as_the_callers_argument(call):
    """10^12 hypotheses of 14 log-probabilities: 112 TB, beyond any machine."""
    from minis2s.validate import TooLarge

    tr = translator()
    with pytest.raises(TooLarge) as e:
        getattr(tr, call)(["12"] if call == "translate" else PAIRS, method="beam", beam_size=10**12)
    message = str(e.value)
    assert message.startswith(f"{call}: beam_size=1000000000000: "), message


@pytest.mark.parametrize("command", ["translate", "evaluate"])
def test_the_command_line_names_the_beam_too_large_for_memory(run, capsys, command):
    from minis2s.cli import main

    what = ["12"] if command == "translate" else ["--task", "reverse-digits"]
    assert main([command, "--checkpoint", run, "--beam", str(10**12), *what]) == 2
    err = capsys.readouterr().err
    assert "out of memory (--beam 1000000000000: " in err and "beam_search" not in err, err
