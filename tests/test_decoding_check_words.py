"""A refusal of a decoding option names the call the user made: `Translator.evaluate(pairs,
**options)` passes its options on to `translate`, and a bad one is refused as evaluate's
("evaluate: seed seeds sampling ..."), not as a translate the user never called; `translate`'s
own refusals keep its name; and the command line's name the option as typed (--replace-unk),
not the Python keyword."""

import inspect

import pytest

from minis2s.api import Translator
from minis2s.cli import main
from minis2s.data.vocab import Vocab
from minis2s.models import ModelConfig, Seq2Seq

DIGITS = Vocab("0123456789")
PAIRS = [("12", "21"), ("3", "3")]


def translator(attention: str = "general", features: int = 0) -> Translator:
    cfg = ModelConfig(0 if features else len(DIGITS), len(DIGITS), emb=4, hidden=4,
                      attention=attention, input_feed=attention != "none",
                      src_features=features)  # fmt: skip
    return Translator(Seq2Seq(cfg, seed=0), None if features else DIGITS, DIGITS, "char")


# options that _decoding_checks.py (and translate's places check) refuse, with a word of each
# message; each is a keyword of translate, and so of evaluate
BAD = [
    ({"method": "bogus"}, "method 'bogus'"),
    ({"bogus": 1}, "bogus is not an option"),
    ({"seed": 3}, "seed seeds sampling"),
    ({"method": "sample", "seed": -1}, "seed must be >= 0"),
    ({"batch_size": 0}, "batch_size must be >= 1"),
    ({"method": "beam", "length_penalty": "none", "alpha": 0.5}, "alpha is the exponent"),
    ({"replace_unk": "yes"}, "replace_unk='yes'"),
    ({"phrase_table": {"1": "2"}}, "phrase_table is read by replace_unk only"),
    ({"replace_unk": True, "phrase_table": "table.tsv"}, "read_phrase_table"),
    ({"replace_unk": True, "phrase_table": {"12": "x"}}, "would never match"),
    ({"replace_unk": True, "phrase_table": {"\u00e9": "x", "e\u0301": "y"}}, "two Unicode forms"),
    ({"places": [0, 0]}, "places is [0, 0]"),
    ({"where": "x"}, "where is not an option"),  # _check_decoding's own argument, not an option
]


@pytest.mark.parametrize("options, words", BAD)
def test_evaluate_names_itself_in_a_decoding_refusal(options, words):
    with pytest.raises(ValueError) as e:
        translator().evaluate(PAIRS, **options)
    assert str(e.value).startswith("evaluate: ") and words in str(e.value), e.value


@pytest.mark.parametrize("options, words", BAD)
def test_translate_names_itself_in_a_decoding_refusal(options, words):
    with pytest.raises(ValueError) as e:
        translator().translate([s for s, _ in PAIRS], **options)
    assert str(e.value).startswith("translate: ") and words in str(e.value), e.value


@pytest.mark.parametrize(
    "model, words",
    [
        (lambda: translator(attention="none"), "has no attention"),
        (lambda: translator(features=3), "reads feature vectors"),
    ],
)
def test_replace_unk_for_a_model_that_cannot_copy_names_the_call(model, words):
    with pytest.raises(ValueError) as e:
        model().evaluate(PAIRS, replace_unk=True)
    assert str(e.value).startswith("evaluate: ") and words in str(e.value), e.value
    with pytest.raises(ValueError) as e:
        model().translate(["12"], replace_unk=True)
    assert str(e.value).startswith("translate: ") and words in str(e.value), e.value


@pytest.fixture(scope="module")
def frames_run(tmp_path_factory):
    """A run of noisy-digits, whose sources are feature frames (no tokens to copy)."""
    out = tmp_path_factory.mktemp("frames") / "run"
    argv = ["train", "--task", "noisy-digits", "--train-size", "32", "--epochs", "1",
            "--hidden", "4", "--emb", "4", "--dev-size", "8", "--batch-size", "32", "--show",
            "0", "--quiet", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    return out


@pytest.mark.parametrize("command", ["evaluate", "translate"])
def test_the_command_line_names_replace_unk_as_typed(frames_run, command, capsys):
    """Before any frame is read; the Python keyword replace_unk is not an option of the CLI."""
    source = ["--task", "noisy-digits"] if command == "evaluate" else ["1"]
    assert main([command, "--checkpoint", str(frames_run), "--replace-unk", *source]) == 2
    err = capsys.readouterr().err.strip()
    message = err.removeprefix(f"minis2s {command}: error: ")
    assert message.startswith("--replace-unk: ") and "feature" in message, err
    assert "replace_unk" not in message and "translate: " not in message


def test_translate_and_its_checks_have_the_same_defaults():
    """Translator._check_decoding (translate's checks, which evaluate calls in its own name)
    repeats translate's keywords: a default changed in one only would check evaluate's options
    otherwise than translate decodes them."""

    def keywords(f) -> list:
        params = inspect.signature(f).parameters.values()
        return [(p.name, p.kind, p.default) for p in params if p.kind >= p.KEYWORD_ONLY]

    assert keywords(Translator.translate) == keywords(Translator._check_decoding)
