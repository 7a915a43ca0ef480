"""Corpus readers: round trips, and every error names file:line and how to fix it."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s.data.corpus import CorpusError, read_corpus, read_parallel, read_tsv, write_tsv
from tests.files import raises_at, write

# Fields as read_tsv keeps them: no TAB or line break; not blank; no byte order mark at the
# start (the reader drops one there); no NUL (refused: UTF-16's mark).
field = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\t\n\r\ufeff\0"), min_size=1
).filter(lambda s: s.strip() != "")


@given(st.lists(st.tuples(field, field), min_size=1, max_size=8))
def test_tsv_round_trip(tmp_path_factory, pairs):
    path = tmp_path_factory.mktemp("c") / "data.tsv"
    write_tsv(path, pairs)
    got = read_tsv(path)
    assert got == pairs and got.skipped == ()


@given(st.lists(st.tuples(field, field), min_size=1, max_size=8))
def test_parallel_round_trip(tmp_path_factory, pairs):
    d = tmp_path_factory.mktemp("c")
    (d / "src.txt").write_text("".join(s + "\n" for s, _ in pairs), encoding="utf-8")
    (d / "tgt.txt").write_text("".join(t + "\n" for _, t in pairs), encoding="utf-8")
    assert read_parallel(d / "src.txt", d / "tgt.txt") == pairs
    assert read_corpus([d / "src.txt", d / "tgt.txt"]) == pairs
    write_tsv(d / "all.tsv", pairs)
    assert read_corpus(d / "all.tsv") == read_corpus([str(d / "all.tsv")]) == pairs


def test_line_ends_bom_and_spaces(tmp_path):
    path = write(tmp_path / "a.tsv", "\ufeffab\t ba\r\n é \tx".encode())
    assert read_tsv(path) == [("ab", " ba"), (" é ", "x")]  # fields are not stripped


def test_missing_file_and_directory(tmp_path):
    with raises_at(tmp_path / "nope.tsv", None, "no such file"):
        read_tsv(tmp_path / "nope.tsv")
    with raises_at(tmp_path, None, "is a directory"):
        read_tsv(tmp_path)
    assert issubclass(CorpusError, ValueError)


def test_empty_file(tmp_path):
    path = write(tmp_path / "a.tsv", b"")
    with raises_at(path, None, "the file is empty"):
        read_tsv(path)


@pytest.mark.parametrize(
    "data, line, message",
    [
        (b"a\tb\nab\n", 2, "expected exactly one TAB between source and target; found 0"),
        (b"a\tb\tc\n", 1, "expected exactly one TAB .*found 2 .*Tatoeba.*cut -f1,2 .*train.tsv"),
        (b"a\tb\n\nc\td\n", 2, "blank line; remove it, or write source<TAB>target on it"),
        (b"a\tb\n  \n", 2, "blank line"),
        (b"a\tb\n\n", 2, "blank line"),
        (b"a\tb\n\tc\n", 2, "empty source"),
        (b"a\tb\nc\t\n", 2, "empty target"),
        (b"a\tb\r\r\nc\td\n", 1, r"a carriage return \(\\r\) inside the line.*doubled.*tr -d"),
        (b"a\tb\r\r\n", 1, r"a carriage return .*doubled \\r\\r\\n endings"),
        (b"a\tb\rc\td\r", 1, r"a carriage return .*old Mac \\r endings; .*tr '\\r' '\\n'"),
        (b"a\tb\nc\td\n\xe9t\xe9\tx\n", 3, r"not valid UTF-8 \(byte 1 of the line is b'\\xe9'\)"),
    ],
)
def test_tsv_errors_name_file_and_line(tmp_path, data, line, message):
    path = write(tmp_path / "train.tsv", data)
    with raises_at(path, line, message) as e:
        read_tsv(path)
    assert e.value.line == line and e.value.path == str(path)


@pytest.mark.parametrize("name", ["train.tsv", "pairs.tsv"])
def test_the_cut_hint_never_writes_over_the_file_it_reads(tmp_path, monkeypatch, name):
    """`cut -f1,2 pairs.tsv > pairs.tsv`, run as the hint writes it, would empty the corpus (the
    shell truncates the output before cut reads the input)."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / name, b"a\tb\tCC-BY 2.0 (France) Attribution: tatoeba.org\n")
    with pytest.raises(CorpusError) as e:
        read_tsv(name)
    given, out = re.search(r"`cut -f1,2 (\S+) > (\S+)`", str(e.value)).groups()
    assert given == name and out != name


def test_parallel_errors_name_the_right_file(tmp_path):
    src = write(tmp_path / "src.txt", b"a\nb\nc\n")
    tgt = write(tmp_path / "tgt.txt", b"x\ny\n")
    with raises_at(src, 3, "the source file has 3 lines but the target file .*tgt.txt has 2; "):
        read_parallel(src, tgt)
    with raises_at(src, 3, "the target file has 3 lines but the source file .*tgt.txt has 2"):
        read_parallel(tgt, src)
    tgt = write(tmp_path / "tgt.txt", b"x\n\nz\n")
    with raises_at(tgt, 2, "blank line; remove it"):
        read_parallel(src, tgt)
    tgt = write(tmp_path / "tgt.txt", b"x\ny\n\xff\n")
    with raises_at(tgt, 3, "not valid UTF-8"):
        read_parallel(src, tgt)
    with raises_at(tmp_path / "none.txt", None, "no such file"):
        read_parallel(src, tmp_path / "none.txt")


def test_max_len_error_and_skip(tmp_path):
    path = write(tmp_path / "a.tsv", b"ab\tc\nabcd\tx\nx\tabcd\nabc\tabc\n")
    with raises_at(path, 2, "the source has 4 tokens, more than max_len=3; .*on_long='skip'"):
        read_tsv(path, tokenizer="char", max_len=3)
    got = read_tsv(path, tokenizer="char", max_len=3, on_long="skip")
    assert got == [("ab", "c"), ("abc", "abc")] and got.skipped == (2, 3)


def test_max_len_counts_tokens_of_the_tokenizer(tmp_path):
    path = write(tmp_path / "a.tsv", b"the cat sat\tle chat\n")
    assert read_tsv(path, tokenizer="word", max_len=3) == [("the cat sat", "le chat")]
    with raises_at(path, 1, "the source has 3 tokens, more than max_len=2"):
        read_tsv(path, tokenizer="word", max_len=2)
    path = write(tmp_path / "b.tsv", b"Go, now!\tVas-y !\n")
    assert read_tsv(path, tokenizer="word", max_len=2) == [("Go, now!", "Vas-y !")]
    with raises_at(path, 1, "the source has 4 tokens, more than max_len=3"):  # Go , now !
        read_tsv(path, tokenizer="wordpunct", max_len=3)


def test_parallel_max_len_names_the_long_side(tmp_path):
    src = write(tmp_path / "src.txt", b"a\nb\n")
    tgt = write(tmp_path / "tgt.txt", b"x\nyyyy\n")
    with raises_at(tgt, 2, "the target has 4 tokens"):
        read_parallel(src, tgt, tokenizer="char", max_len=3)
    got = read_parallel(src, tgt, tokenizer="char", max_len=3, on_long="skip")
    assert got == [("a", "x")] and got.skipped == (2,)


@pytest.mark.parametrize("tokenizer", ["word", "wordpunct"])
def test_field_without_tokens(tmp_path, tokenizer):
    path = write(tmp_path / "a.tsv", b"a\tb\n \tb\n")
    assert read_tsv(path, tokenizer="char") == [("a", "b"), (" ", "b")]  # a space is a char
    with raises_at(path, 2, f"the source has no {tokenizer} tokens"):
        read_tsv(path, tokenizer=tokenizer)


def test_bad_options(tmp_path):
    path = write(tmp_path / "a.tsv", b"a\tb\n")
    with pytest.raises(ValueError, match="on_long must be one of"):
        read_tsv(path, tokenizer="char", max_len=3, on_long="truncate")
    with pytest.raises(ValueError, match="max_len=3 needs a tokenizer"):
        read_tsv(path, max_len=3)
    with pytest.raises(ValueError, match="unknown tokenizer"):
        read_tsv(path, tokenizer="sentencepiece")
    with pytest.raises(ValueError, match="bpe tokenizer is learned from a corpus"):
        read_tsv(path, tokenizer="bpe")  # a learned one is a Tokenizer (minis2s.data.bpe)


def test_write_tsv_rejects_fields_it_cannot_round_trip(tmp_path):
    with pytest.raises(ValueError, match=r"pair 1 has target 'a\\tb'"):
        write_tsv(tmp_path / "a.tsv", [("x", "y"), ("x", "a\tb")])
    with pytest.raises(ValueError, match="pair 0 has source ''"):
        write_tsv(tmp_path / "a.tsv", [("", "y")])


def test_a_corpus_is_one_or_two_files(tmp_path):
    with pytest.raises(ValueError, match="one TSV file .* or two files .*; got 0 paths"):
        read_corpus([])
    with pytest.raises(ValueError, match="got 3 paths: a b c"):
        read_corpus(["a", "b", "c"])


def test_whitespace_fields_read_the_same_from_tsv_and_parallel_files(tmp_path):
    """A field of spaces is text for the char tokenizer: write_tsv writes it, both readers read
    it, and a word tokenizer rejects it as having no tokens (not as a blank line)."""
    pairs = [("ab", "ba"), (" ", " "), (" ", "b")]
    write_tsv(tmp_path / "a.tsv", pairs)
    assert read_tsv(tmp_path / "a.tsv", tokenizer="char") == pairs
    write(tmp_path / "s", b"ab\n \n \n")
    write(tmp_path / "t", b"ba\n \nb\n")
    assert read_parallel(tmp_path / "s", tmp_path / "t", tokenizer="char") == pairs
    with raises_at(tmp_path / "a.tsv", 2, "the source has no word tokens"):
        read_tsv(tmp_path / "a.tsv", tokenizer="word")
    with raises_at(write(tmp_path / "b.tsv", b"a\tb\n\t\n"), 2, "empty source"):
        read_tsv(tmp_path / "b.tsv")


def test_write_tsv_rejects_a_leading_bom_it_would_lose(tmp_path):
    with pytest.raises(ValueError, match=r"pair 0 has source '\\ufeffx'"):
        write_tsv(tmp_path / "a.tsv", [("\ufeffx", "y")])
    for pair in [("x", "\ufeffy"), ("\ufeffx", "y")]:  # read_tsv refuses one inside the file
        with pytest.raises(ValueError, match=r"has (source|target) '\\ufeff"):
            write_tsv(tmp_path / "a.tsv", [("x", "y"), pair])


def test_a_stray_carriage_return_is_not_called_doubled_line_ends(tmp_path):
    path = write(tmp_path / "a.tsv", b"a\rb\tc\nd\te\n")
    with raises_at(
        path,
        1,
        r"a carriage return \(\\r\) at character 2 inside the line: if it "
        r"ends a line, the file mixes \\r and \\n",
    ):
        read_tsv(path)


@pytest.mark.parametrize(
    ("tsv", "line", "side"),
    [
        (b"a\tb\n\xef\xbb\xbfc\td\n", 2, "source"),  # cat a.tsv b.tsv, b saved with a BOM
        (b"a\t\xef\xbb\xbfb\nc\td\n", 1, "target"),  # paste a.txt b.txt, b saved with one
    ],
)
def test_a_byte_order_mark_inside_a_file_is_named(tmp_path, tsv, line, side):
    """A BOM starts a file; one inside it is what joining files saved with one leaves, an
    invisible U+FEFF that made "\\ufeffb" a token apart from "b"."""
    path = write(tmp_path / "c.tsv", tsv)
    with raises_at(path, line, f"a byte order mark \\(U\\+FEFF\\) starts the {side}.*sed"):
        read_tsv(path)
    src = write(tmp_path / "c.src", b"a\n\xef\xbb\xbfc\n")
    tgt = write(tmp_path / "c.tgt", b"\xef\xbb\xbfb\nd\n")  # a BOM that starts the file is fine
    with raises_at(src, 2, "a byte order mark \\(U\\+FEFF\\) starts the source"):
        read_parallel(src, tgt)
