"""The README's training sections and its Python API walked as a new user walks them, second
part (tests/test_walkthrough_train.py is the first): data loaded with given vocabularies, and
what a refused command line quotes back."""

import pytest

from minis2s import pipeline
from minis2s.data.corpus import write_tsv
from minis2s.data.encoded import encoded_pairs
from tests.test_walkthrough_train import (
    TINY,
    no_training,  # noqa: F401 (a fixture, used by its name)
    refusal,
)


def _corpus(path, words: list[str]) -> str:
    """A TSV corpus whose pairs are each word of `words` copied, source and target alike, five
    times over, so BPE's merges come from these words alone."""
    write_tsv(path, [(w, w) for w in words for _ in range(5)])
    return str(path)


def test_given_vocabularies_are_not_read_with_newly_learned_bpe_merges(tmp_path):
    """load_data(vocabs=..., tokenizer="bpe") learned new merges from the new corpus, whose
    pieces the given vocabularies (built with other merges) do not hold: the pieces were read as
    <unk>, or as ids the model learnt for other pieces, and nothing said so. It is refused,
    naming the fix: the Tokenizer the vocabularies were built with, which then reads the new
    corpus into pieces the vocabularies hold."""
    words = ["lower", "lowest", "slow", "newer"]
    first = pipeline.load_data(
        data=_corpus(tmp_path / "a.tsv", words), tokenizer="bpe", bpe_merges=3
    )
    # each piece of these, as first's merges split them, is one of first's: n@@ e@@ w@@ ... er
    new = _corpus(tmp_path / "b.tsv", ["newest slower"])
    vocabs = (first.src_vocab, first.tgt_vocab)
    with pytest.raises(ValueError, match=r"tokenizer.*bpe.*learns.*vocabs") as e:
        pipeline.load_data(data=new, dev_data=new, tokenizer="bpe", vocabs=vocabs)
    assert "tokenizer=" in str(e.value) and ".tokenizer" in str(e.value)  # the fix, named
    data = pipeline.load_data(data=new, dev_data=new, tokenizer=first.tokenizer, vocabs=vocabs)
    assert data.tokenizer is first.tokenizer
    assert encoded_pairs(data, "train")[1] == 0  # no piece read as <unk>


@pytest.mark.parametrize(
    "typed,value",
    [(["--lr", "1e-400"], "1e-400"), (["--lr=1e-400"], "1e-400"), (["--lr", "-0.0"], "-0.0"),
     (["--label-smoothing", "1.00"], "1.00")],
)  # fmt: skip
@pytest.mark.usefixtures("no_training")
def test_a_refused_value_is_quoted_as_typed(tmp_path, capsys, typed, value):
    """--lr 1e-400 is refused (float reads it as 0.0, below any learning rate there is), but the
    refusal said `--lr 0`, which the user never typed, and which looks like a mistyped
    command line rather than a number too small: the refusal quotes the text typed."""
    line = refusal(capsys, ["train", *TINY, "--out", str(tmp_path / "run"), *typed])
    option = typed[0].partition("=")[0]
    assert line.startswith(f"minis2s train: error: {option} {value}: "), line
