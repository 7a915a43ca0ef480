"""A run's saved vocabulary (RUN/*/src_vocab.json, tgt_vocab.json) holding a token that no
tokenizer makes, an empty one or one with whitespace inside a longer token, is refused naming
the file, the token's place and that the file was edited; it loaded, and decoded such tokens into
outputs (helper-190). The char tokenizer makes every character a token, whitespace included,
so a single " " or "\\n" stays. Each refusal test fails on the code before its change."""

import json
import shutil
import unicodedata

import pytest

from minis2s import pipeline
from minis2s.api import Translator
from minis2s.cli import main
from minis2s.data.bpe import learn_tokenizer
from minis2s.data.tokenize import get_tokenizer
from minis2s.data.vocab import Vocab
from tests.tiny_run import train_tiny

SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace()]  # 29 code points
MARKS = ["\u0301", "\u200d", "\u200c", "\U0001f3fd", "\ufe0f"]  # what wordpunct keeps joined


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("saved-vocab") / "r")


def edited(run, tmp_path, token: str, at: int = 5):
    """A copy of `run` whose best/tgt_vocab.json holds `token` at tokens[at], as if edited."""
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    file = copy / "best" / "tgt_vocab.json"
    saved = json.loads(file.read_text(encoding="utf-8"))
    saved["tokens"][at] = token
    file.write_text(json.dumps(saved), encoding="utf-8")
    return copy, file


def test_no_tokenizer_makes_an_empty_token_or_one_with_whitespace_inside():
    """What the refusal rests on: over text of every whitespace character, next to letters and
    to the marks wordpunct keeps with a letter, char makes single characters (whitespace ones
    included) and word, wordpunct and bpe make no token holding whitespace; none an empty one."""
    texts = [
        f"{a}{s}{m}{b}" for s in SPACES for m in ["", *MARKS] for a, b in (("a", "1"), ("", ""))
    ]
    texts += ["".join(SPACES), "a  b\t\tc\n", " é ", "x" + "".join(MARKS) + " y"]
    tokenizers = [get_tokenizer(n) for n in ("char", "word", "wordpunct")]
    tokenizers += [learn_tokenizer(texts * 2, 50, 1)]
    for tok in tokenizers + [t._replace(form=None) for t in tokenizers]:  # old runs: as written
        tokens = {t for text in texts for t in tok.tokenize(text)}
        assert "" not in tokens, tok.name
        spaced = {t for t in tokens if any(c.isspace() for c in t)}
        if tok.name == "char":
            assert all(len(t) == 1 for t in spaced) and " " in spaced and "\n" in spaced
        else:
            assert not spaced, (tok.name, spaced)
    NFC = {unicodedata.normalize("NFC", s) for s in SPACES}
    assert NFC <= {t for t in get_tokenizer("char").tokenize("".join(SPACES))}


@pytest.mark.parametrize("token, what", [("", "empty"), ("a b", "'a b', whitespace inside"),
                                         ("7\n", "'7\\n', whitespace inside")])  # fmt: skip
def test_an_edited_vocabulary_is_refused_naming_its_file_and_place(run, tmp_path, capsys, token,
                                                                  what):  # fmt: skip
    copy, file = edited(run, tmp_path, token)
    said = f"{file}: tokens[5] is {what}"
    with pytest.raises(ValueError, match="was the file edited") as e:
        Translator.load(str(copy))
    assert str(e.value).startswith(said), e.value
    assert main(["translate", "--checkpoint", str(copy), "123"]) == 2
    err = capsys.readouterr().err
    assert f"minis2s translate: error: {said}" in err and "was the file edited" in err, err


@pytest.mark.parametrize("token", [" ", "\n", "\u3000"])
def test_a_whitespace_character_alone_is_a_char_token_and_loads(run, tmp_path, token):
    copy, _ = edited(run, tmp_path, token)
    assert Translator.load(str(copy)).tgt_vocab.tokens[5] == token


def test_average_refuses_such_a_vocabulary_rather_than_write_it_again(run, tmp_path, capsys):
    """It averaged, and wrote the token into an average that would not load."""
    copy, file = edited(run, tmp_path, "")
    out = tmp_path / "avg"
    argv = ["average", "--checkpoint", str(copy / "best"), "--checkpoint", str(copy / "last"),
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 2
    assert f"error: {file}: tokens[5] is empty" in capsys.readouterr().err
    assert not out.exists()


def test_load_data_refuses_vocabularies_holding_such_a_token():
    """A run trained with them would save a vocabulary that loads no more."""
    digits = Vocab(list("0123456789"))
    with pytest.raises(ValueError, match=r"^load_data: vocabs\[1\]: its tokens\[4\] is empty, "):
        pipeline.load_data(task="reverse-digits", train_size=16, vocabs=(digits, Vocab([""])))
