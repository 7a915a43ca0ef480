"""Word vector files: exact round trips, the formats in the wild, errors naming file:line and
the fix, and copying vectors into an embedding matrix."""

import os
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s.data import vectors
from minis2s.data.vectors import Coverage, Vectors, embedding_matrix, read_vectors, write_vectors
from minis2s.data.vocab import SPECIALS, Vocab
from tests.files import raises_at, write

# Tokens the format can hold: no whitespace or control characters, and not a special.
token = st.text(
    st.characters(blacklist_categories=["Cs", "Cc", "Zs", "Zl", "Zp"]), min_size=1, max_size=6
).filter(lambda t: t not in SPECIALS and not any(c.isspace() for c in t))


def same_bits(a, b) -> bool:
    """Equal as float64 bit patterns: -0.0 differs from 0.0, and no tolerance."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and a.view(np.uint64).tolist() == b.view(np.uint64).tolist()


@given(
    st.lists(token, min_size=1, max_size=6, unique=True),
    st.integers(1, 4),
    st.sampled_from([64, 32]),
    st.data(),
)
def test_write_then_read_gives_the_same_float64s(tmp_path_factory, words, D, width, data):
    """float64 and float32 matrices, values tiny (subnormal), huge, and -0.0 included."""
    vocab = Vocab(words)  # V = len(words) + 4 >= 5
    values = st.floats(allow_nan=False, allow_infinity=False, width=width)
    rows = [data.draw(st.lists(values, min_size=D, max_size=D)) for _ in range(len(vocab))]
    W = np.array(rows, dtype=np.float32 if width == 32 else np.float64)
    path = tmp_path_factory.mktemp("v") / "vectors.txt"
    assert write_vectors(path, vocab, W) == len(words)
    got = read_vectors(path)
    assert (got.path, got.dim, got.n_words) == (str(path), D, len(words))
    assert set(got.table) == set(words)
    for i, word in enumerate(vocab.tokens[4:], 4):
        assert got.table[word].dtype == np.float64 and same_bits(got.table[word], W[i])
    assert os.listdir(path.parent) == ["vectors.txt"]  # no temp file left behind


def test_negative_zero_and_extremes_survive(tmp_path):
    W = np.zeros((5, 4))
    W[4] = [-0.0, 5e-324, 1.7976931348623157e308, -1 / 3]
    write_vectors(tmp_path / "v.txt", Vocab(["x"]), W)
    x = read_vectors(tmp_path / "v.txt").table["x"]
    assert np.signbit(x[0]) and same_bits(x, W[4])


GLOVE = b"the 0.5 -1 2e-3\nCat 1.25 0 -0\n"  # no header, as GloVe writes it


def test_header_or_not_gives_the_same_table(tmp_path):
    plain = read_vectors(write(tmp_path / "glove.txt", GLOVE))
    with_header = read_vectors(write(tmp_path / "v.vec", b"2 3\n" + GLOVE))
    wrong_n = read_vectors(write(tmp_path / "w.vec", b"7 3\n" + GLOVE))  # N is not checked
    for got in plain, with_header, wrong_n:
        assert (got.dim, got.n_words, set(got.table)) == (3, 2, {"the", "Cat"})
        assert same_bits(got.table["the"], [0.5, -1.0, 0.002])
        assert same_bits(got.table["Cat"], [1.25, 0.0, -0.0])


def test_a_word_may_hold_spaces(tmp_path):
    """GloVe 840B has tokens such as ". . ." and "at name@domain.com": the last D fields are
    the numbers, what comes before them is the word."""
    path = write(tmp_path / "g.txt", b", 1 2\n. . . 3 4\nat name@domain.com 5 6\na\xc2\xa0b 7 8\n")
    got = read_vectors(path)
    assert set(got.table) == {",", ". . .", "at name@domain.com", "a\u00a0b"}
    assert same_bits(got.table[". . ."], [3, 4]) and same_bits(got.table["a\u00a0b"], [7, 8])


def test_crlf_bom_trailing_spaces_and_blank_lines_at_the_end(tmp_path):
    path = write(
        tmp_path / "v.vec", b"\xef\xbb\xbf2 2\r\n\xc3\xa9t\xc3\xa9 1 2 \t\r\nb 3 4  \r\n\n\n"
    )
    got = read_vectors(path)
    assert (got.dim, got.n_words) == (2, 2)
    assert same_bits(got.table["été"], [1, 2]) and same_bits(got.table["b"], [3, 4])


def test_a_word_listed_twice_keeps_its_first_vector(tmp_path):
    got = read_vectors(write(tmp_path / "v.txt", b"a 1\nb 2\na 3\n"))
    assert same_bits(got.table["a"], [1]) and got.n_words == 3


def test_keep_parses_only_the_words_asked_for(tmp_path):
    """A bad number on the line of a word not kept is not parsed, so it raises nothing; a
    wrong count of values raises on every line, kept or not (a cheap check, and a sign that
    the file is not what it seems)."""
    path = write(tmp_path / "v.txt", b"a 1 2\nb x nan\nc 5 6\n")
    got = read_vectors(path, keep=["a", "c", "zzz"])
    assert set(got.table) == {"a", "c"} and got.n_words == 3
    assert same_bits(got.table["c"], [5, 6])
    with raises_at(path, 2, "value 1 of 'b', 'x', is not a number"):
        read_vectors(path, keep={"b"})
    with raises_at(path, 2, "value 1 of 'b', 'x', is not a number"):
        read_vectors(path)  # keep=None parses every line
    path = write(tmp_path / "w.txt", b"a 1 2\nb 3\n")
    with raises_at(path, 2, re.escape("1 values, expected 2 (line 1 has 2)")):
        read_vectors(path, keep={"a"})


def test_missing_file_and_directory(tmp_path):
    with raises_at(tmp_path / "nope.vec", None, "no such file"):
        read_vectors(tmp_path / "nope.vec")
    with raises_at(tmp_path, None, "is a directory, expected a word vector file"):
        read_vectors(tmp_path)


@pytest.mark.parametrize(
    "data, line, message",
    [
        (b"", None, "the file is empty"),
        (b"3 300\n", None, "no vectors in the file; expected lines of a word followed by"),
        (b"\n\n", None, "no vectors in the file"),
        (b"\xef\xbb\xbf", None, "no vectors in the file"),
        (b"2 3\na 1 2 3\nb 1 2\n", 3, r"2 values, expected 3 \(the header says 3\); every line "
         "must be a word followed by 3 numbers"),
        (b"a 1 2 3\nb 1 2\n", 2, r"2 values, expected 3 \(line 1 has 3\)"),
        (b"\xef\xbb\xbfa 1 2\nb\n", 2, r"0 values, expected 2 \(line 1 has 2\)"),
        (b"a\nb 1\n", 1, "no values after the word 'a'; every line must be a word followed by"),
        (b"a 1 0.5.0\n", 1, "value 2 of 'a', '0.5.0', is not a number; every value must be a "
         "finite number"),
        (b"a 1 nan\n", 1, "value 2 of 'a', 'nan', is not finite"),
        (b"2 2\na 1 2\nb -inf 2\n", 3, "value 1 of 'b', '-inf', is not finite"),
        (b"a 1\n\nb 2\n", 2, "blank line; remove it"),
        (b"a 1\n \t \nb 2\n", 2, "blank line; remove it"),
        (b"a 1\n\n\r\nb 2\n", 2, "blank line; remove it"),  # the first blank line
        (b"3 0\na\n", 1, "the header `N D` says D=0; D is the length of every vector and must "
         "be positive"),
        (b"a 1\n\xff 2\n", 2, r"not valid UTF-8 \(byte 1 of the line is b'\\xff'\); save the "
         "file as UTF-8"),
        (b"a 1\rb 2\r", 1, r"a carriage return \(\\r\) inside the line; .*convert with"),
        (b"\x1f\x8b\x08\x00\xc3\x8a", None, r"gzip-compressed, and this reads the text format: "
         r"decompress it first \(gunzip FILE.gz\), or give <\(zcat FILE.gz\)"),
        (b"PK\x03\x04\x14\x00", None, "a zip archive, and this reads the text format: unzip it "
         "first, and give one of its files"),
        (b"2 3\nthe \xcd\xcc\xcc=\xcd\xccL>\x9a\x99\x99>\n", 2, r"not valid UTF-8 \(byte 5 .*"
         r"after a header `N D` this is most likely word2vec's binary format, .* binary=False"),
        (b"1 3\nthe \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\n", 2, r"a NUL byte \(byte "
         r"5 of the line\), which no text holds; after a header `N D` .*binary format"),
    ],
)  # fmt: skip
def test_errors_name_file_line_and_fix(tmp_path, data, line, message):
    path = write(tmp_path / "vectors.txt", data)
    with raises_at(path, line, message) as e:
        read_vectors(path)
    assert e.value.line == line and e.value.path == str(path)


def glove(dim=3):
    """A table as a lowercase file gives it, with vectors for two specials as well."""
    words = ["the", "The", "cat", "ünï", "<pad>", "<unk>"]
    table = {w: np.full(dim, float(k + 1)) for k, w in enumerate(words)}
    return Vectors("glove.txt", dim, table, len(words))


def test_embedding_matrix_fills_rows_exact_then_lowercase(rng):
    vocab = Vocab(["The", "the", "Cat", "dog", "ÜNÏ"])
    W = rng.standard_normal((len(vocab), 3)).astype(np.float32)
    W[0] = 0  # <pad>'s row, as the model keeps it
    before = W.copy()
    out, coverage = embedding_matrix(vocab, glove(), W)
    table = glove().table
    assert coverage == Coverage(exact=2, lowercase=2, total=5)  # The, the; Cat, ÜNÏ
    assert out.dtype == np.float64 and same_bits(W, before)  # W itself untouched
    assert same_bits(out[:4], W[:4]) and not out[0].any()  # specials keep W's rows
    assert same_bits(out[vocab.id_of("The")], table["The"])  # exact beats lowercase
    assert same_bits(out[vocab.id_of("the")], table["the"])
    assert same_bits(out[vocab.id_of("Cat")], table["cat"])
    assert same_bits(out[vocab.id_of("ÜNÏ")], table["ünï"])
    assert same_bits(out[vocab.id_of("dog")], W[vocab.id_of("dog")])  # not found: kept


def test_embedding_matrix_copies_a_float64_matrix(rng):
    W = rng.standard_normal((5, 3))
    out, coverage = embedding_matrix(Vocab(["dog"]), glove(), W)
    assert coverage == Coverage(0, 0, 1) and same_bits(out, W) and not np.shares_memory(out, W)


def test_embedding_matrix_shape_errors(rng):
    vocab = Vocab(["the"])
    message = re.escape(
        "glove.txt holds 3-dimensional vectors, but the embeddings are 4 wide: "
        "make the model with emb=3"
    )
    with pytest.raises(ValueError, match=message):
        embedding_matrix(vocab, glove(), np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"W has shape \(6, 3\), but the vocabulary has 5 tok"):
        embedding_matrix(vocab, glove(), np.zeros((6, 3)))


def test_write_vectors_skips_specials_and_whitespace_tokens(tmp_path, rng):
    vocab = Vocab(["a", " ", "b c", "x\ty", "d"])
    W = rng.standard_normal((len(vocab), 2))
    path = tmp_path / "v.txt"
    assert write_vectors(path, vocab, W) == 2
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "2 2" and [line.split()[0] for line in lines[1:]] == ["a", "d"]
    assert set(read_vectors(path).table) == {"a", "d"}
    assert os.listdir(tmp_path) == ["v.txt"]


def test_write_vectors_takes_a_device_array(tmp_path, rng):
    """A model's parameter on the cupy backend is a device array, which np.asarray refuses: it
    is copied to the host (here a stand-in whose type lives in a "cupy" module)."""
    W = rng.standard_normal((6, 3))
    device = type("ndarray", (), {"__module__": "cupy", "get": lambda self: W})()
    assert write_vectors(tmp_path / "v.txt", Vocab(["a", "b"]), device) == 2
    np.testing.assert_array_equal(read_vectors(tmp_path / "v.txt").table["b"], W[5])


def test_write_vectors_rejects_a_matrix_it_cannot_write(tmp_path):
    vocab = Vocab(["a"])
    for W in np.zeros(5), np.zeros((4, 2)), np.zeros((5, 0)):
        with pytest.raises(ValueError, match="expected \\(V, E\\) with V = 5"):
            write_vectors(tmp_path / "v.txt", vocab, W)
    W = np.zeros((5, 2))
    W[4, 1] = np.inf
    with pytest.raises(ValueError, match="row 4 \\('a'\\) of W is not finite"):
        write_vectors(tmp_path / "v.txt", vocab, W)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("broken", ["_line", "fsync"])
def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch, broken):
    path = tmp_path / "v.txt"
    write_vectors(path, Vocab(["old"]), np.ones((5, 2)))
    old = path.read_bytes()
    calls = []

    def fail(*args):
        calls.append(args)
        if len(calls) == 2 or broken == "fsync":  # _line: after one line is written
            raise OSError("disk full")
        return real(*args)

    owner = vectors if broken == "_line" else vectors.os
    real = getattr(owner, broken)
    monkeypatch.setattr(owner, broken, fail)
    with pytest.raises(OSError, match="disk full"):
        write_vectors(path, Vocab(["new", "newer", "newest"]), np.zeros((7, 2)))
    monkeypatch.undo()
    assert calls and path.read_bytes() == old and os.listdir(tmp_path) == ["v.txt"]
