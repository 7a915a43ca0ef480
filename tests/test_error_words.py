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
