"""Unicode normalisation: "é" written as one code point (NFC, U+00E9) or as "e" + U+0301 (NFD,
as macOS file names and some PDFs and web pages write it) is the same text, so it must be the
same tokens, the same vocabulary entry, the same BPE merges and the same word vector."""

import pickle
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minis2s import pipeline
from minis2s.data.bpe import bpe_tokenizer, learn_tokenizer
from minis2s.data.corpus import read_tsv
from minis2s.data.tokenize import TOKENIZERS, Tokenizer, get_tokenizer
from minis2s.data.vectors import embedding_matrix, read_vectors
from minis2s.data.vocab import Vocab
from tests.test_tasks import TEXT_TASKS, splits

E_ACUTE, E_COMBINING = "\u00e9", "e\u0301"  # é in NFC, and in NFD
GA, GA_JAMO = "\uac00", "\u1100\u1161"  # Hangul 가, and its two jamo (what NFD makes of it)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# Letters with accents stacked on them (in both orders, where canonical ordering matters),
# Hangul syllables (which NFD splits into two or three jamo), and any text at all.
marks = st.sampled_from(["\u0301", "\u0300", "\u0308", "\u0327", "\u0323", "\u0302", "\u0303"])
accented = st.tuples(st.sampled_from("aeiouncsAEIOUNCS ."), st.lists(marks, max_size=3)).map(
    lambda t: t[0] + "".join(t[1])
)
hangul = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
texts = st.one_of(
    st.text(),
    st.lists(st.one_of(accented, hangul, st.sampled_from([" ", "-", "'", "ab"])), max_size=12).map(
        "".join
    ),
)
BPE = learn_tokenizer(["élève café naïve 가나다 señor"] * 3 + ["élan ca fé"] * 2, 20)
ALL = [*TOKENIZERS.values(), BPE]


@pytest.mark.parametrize("tok", ALL, ids=lambda t: t.name)
def test_the_examples_read_as_their_composed_form(tok):
    """Worked out by hand: each decomposed spelling is the one composed code point."""
    assert tok.tokenize(E_COMBINING) == tok.tokenize(E_ACUTE)
    assert tok.tokenize(GA_JAMO) == tok.tokenize(GA)
    if tok.name == "char":
        assert tok.tokenize("cafe\u0301 \u1100\u1161") == ["c", "a", "f", "\u00e9", " ", "\uac00"]
    if tok.name in ("word", "wordpunct"):
        assert tok.tokenize("cafe\u0301 \u1100\u1161!") == [
            "caf\u00e9",
            "\uac00!" if tok.name == "word" else "\uac00",
            *(["!"] if tok.name == "wordpunct" else []),
        ]


@settings(max_examples=300)  # string work only
@given(texts)
def test_nfc_and_nfd_text_give_the_same_tokens(text):
    for tok in ALL:
        tokens = tok.tokenize(text)
        assert tok.tokenize(nfd(text)) == tokens == tok.tokenize(nfc(text)), tok.name
        assert all(unicodedata.is_normalized("NFC", t) for t in tokens), tok.name


@given(texts)
def test_char_detokenize_inverts_tokenize_up_to_nfc(text):
    char = get_tokenizer("char")
    assert char.detokenize(char.tokenize(text)) == nfc(text)
    assert char.detokenize(char.tokenize(nfd(text))) == nfc(text)


def test_compatibility_forms_stay_apart():
    """NFC, not NFKC: the ligature ﬁ, a superscript ² and a full-width Ａ are other characters
    than fi, 2 and A (NFKC would fold them, and lose what the text says: x² is not x2)."""
    char = get_tokenizer("char")
    assert char.tokenize("\ufb01x\u00b2\uff21") == ["\ufb01", "x", "\u00b2", "\uff21"]


def test_a_tokenizer_that_does_not_normalise_reads_text_as_written():
    """What runs saved before normalisation use (form=None): tokens as the text spells them."""
    for tok in ALL:
        raw = tok._replace(form=None)
        assert raw.form is None and raw != tok
        assert raw.tokenize(E_ACUTE) == tok.tokenize(E_ACUTE)
        assert raw.tokenize(E_COMBINING) != tok.tokenize(E_COMBINING)
    assert get_tokenizer("char")._replace(form=None).tokenize(E_COMBINING) == ["e", "\u0301"]


def test_tokenizers_of_either_form_pickle_as_themselves():
    for tok in ALL:
        for form in ("NFC", None):
            t = tok._replace(form=form)
            again = pickle.loads(pickle.dumps(t))
            assert again == t and hash(again) == hash(t) and again.form == form
            assert again.tokenize(E_COMBINING) == t.tokenize(E_COMBINING)
    assert bpe_tokenizer(BPE.merges, None) != BPE and bpe_tokenizer(BPE.merges, "NFC") == BPE
    mine = Tokenizer("lower", str.split, " ".join)  # a user's: normalises too
    assert mine.tokenize(E_COMBINING) == [E_ACUTE]


def test_an_unknown_normal_form_is_refused():
    with pytest.raises(ValueError, match=r"form 'NFX'; give 'NFC', or None"):
        get_tokenizer("char")._replace(form="NFX").tokenize("a")
    with pytest.raises(ValueError, match=r"form 'NFX'; give 'NFC', or None"):
        bpe_tokenizer([], "NFX")


def test_bpe_learns_the_same_merges_from_either_form():
    texts = ["élève café naïve", "señor élan", "가나 가다"] * 3
    assert learn_tokenizer([nfd(t) for t in texts], 30) == learn_tokenizer(texts, 30)
    assert all(unicodedata.is_normalized("NFC", a + b) for a, b in BPE.merges)


def test_the_built_in_tasks_are_nfc():
    """So normalisation changes nothing they train on, and a task run saved before it resumes
    exactly as it would have."""
    for name in TEXT_TASKS:
        for split in splits(name).values():  # test_tasks's, generated once for both files
            assert all(unicodedata.is_normalized("NFC", s + t) for s, t in split), name


def test_a_corpus_in_nfd_builds_the_vocabulary_of_its_nfc_copy(tmp_path):
    pairs = ["café crème\tcoffee with cream", "naïve élève\tnaive pupil", "가다\tgo"]
    (tmp_path / "nfc.tsv").write_text("\n".join(map(nfc, pairs)) + "\n", encoding="utf-8")
    (tmp_path / "nfd.tsv").write_text("\n".join(map(nfd, pairs)) + "\n", encoding="utf-8")
    for tokenizer in ("char", "word", "wordpunct", "bpe"):
        kw = {"tokenizer": tokenizer, "dev_data": tmp_path / "nfc.tsv"}
        a = pipeline.load_data(data=tmp_path / "nfc.tsv", **kw)
        b = pipeline.load_data(data=tmp_path / "nfd.tsv", **kw)
        assert a.src_vocab == b.src_vocab and a.tgt_vocab == b.tgt_vocab, tokenizer
        assert E_ACUTE in "".join(a.src_vocab.tokens), tokenizer
        assert "\u0301" not in "".join(b.src_vocab.tokens), tokenizer


def test_max_len_counts_the_tokens_of_the_nfc_text(tmp_path):
    """ "été" in NFD is 6 code points, 3 characters: it fits max_len 3 of the char tokenizer."""
    path = tmp_path / "nfd.tsv"
    path.write_text(nfd("été\tsummer") + "\n", encoding="utf-8")
    assert len(read_tsv(path, "char", max_len=6)) == 1
    assert len(read_tsv(path, "char", max_len=3, on_long="skip")) == 0  # "summer" is 6
    path.write_text(nfd("été\tété") + "\n", encoding="utf-8")
    assert len(read_tsv(path, "char", max_len=3)) == 1


def test_a_vector_file_in_nfd_gives_the_nfc_tokens_their_vectors(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text(nfd("café 1 2\nélève 3 4\n가 5 6\nzut 7 8\n"), encoding="utf-8")
    vocab = Vocab(["café", "Élève", "가", "tea"])  # NFC, as the tokenizers give them
    vectors = read_vectors(path, keep={*vocab.tokens, *(t.lower() for t in vocab.tokens)})
    assert sorted(vectors.table) == sorted(["café", "élève", "가"])  # read in NFC
    W, coverage = embedding_matrix(vocab, vectors, [[0.0, 0.0]] * len(vocab))
    assert (coverage.exact, coverage.lowercase, coverage.total) == (2, 1, 4)
    assert W[vocab.id_of("Élève")].tolist() == [3, 4]
    assert W[vocab.id_of("café")].tolist() == [1, 2] and W[vocab.id_of("가")].tolist() == [5, 6]
    old = Vocab([nfd("café")])  # a run saved before normalisation, trained on NFD text
    assert embedding_matrix(old, vectors, [[0.0, 0.0]] * len(old))[1].exact == 1
