"""A word vector file's lines, read as bytes one at a time (such files run to gigabytes), each
checked before vectors.py reads the word and numbers it holds: a gzip or zip archive, or a
checkpoint's .npz given by mistake, refused from its first bytes; every line UTF-8 text without
NUL (after a header `N D`, bytes that are not text are named as word2vec's binary format);
blank lines only at the end; no carriage return inside a line. Apart from vectors.py as
corpus_lines.py is from corpus.py: the lines of a file, not what they mean. Errors are
`CorpusError`s naming file:line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from minis2s.data.corpus_lines import ARCHIVES, CorpusError, nul_fix, open_binary


def header_dim(fields: list[bytes]) -> int | None:
    """D if `fields` (a first line's) is a header `N D` of two integers, else None."""
    if len(fields) == 2 and fields[0].isdigit() and fields[1].isdigit():
        return int(fields[1])
    return None


def _check_text(path, n: int, line: bytes, after_header: bool) -> None:
    """CorpusError when line n is not UTF-8 text. After a header `N D`, bytes that are not text
    (not UTF-8, or NUL) are most likely word2vec's binary format, and the message says so;
    without one, a NUL most likely UTF-16."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as e:
        byte = line[e.start : e.start + 1]
        problem = f"not valid UTF-8 (byte {e.start + 1} of the line is {byte!r})"
        fix = "save the file as UTF-8"
    else:
        if b"\x00" not in line:
            return
        problem = f"a NUL byte (byte {line.index(0) + 1} of the line), which no text holds"
        fix = "" if after_header else nul_fix(line, "a word vector file")
    if after_header:
        binary = (
            "after a header `N D` this is most likely word2vec's binary format, and this reads "
            "the text format: save the vectors with binary=False (gensim: KeyedVectors."
            "load_word2vec_format(path, binary=True).save_word2vec_format(out, binary=False))"
        )
        fix = f"{binary}; or, if it is text, {fix}" if fix else binary
    raise CorpusError(path, n, f"{problem}; {fix}")


def read_lines(path) -> Iterator[tuple[int, bytes]]:
    """(n, line) for each line of the file but the blank ones at its end, n counting from 1;
    each line without its BOM (line 1), line end and trailing spaces, and checked to be UTF-8
    and not blank. The file is read one line at a time: it may not fit in memory."""
    f = open_binary(path, "a word vector file")  # binary: lines end only at b"\n"
    n, blank, header = 0, None, False  # blank: the first of the blank lines just read
    with f:
        for n, line in enumerate(f, 1):
            if n == 1:
                line = line.removeprefix(b"\xef\xbb\xbf")
                if line.startswith(b"PK\x03\x04") and os.fspath(path).endswith(".npz"):
                    where = os.path.dirname(os.fspath(path)) or "."
                    message = (
                        "a NumPy .npz archive (a checkpoint's parameters?), and this reads word "
                        "vectors in the text format: write a run's embeddings as such with  "
                        f"minis2s vectors --checkpoint {where} --side src --out FILE  (or tgt)"
                    )
                    raise CorpusError(path, None, message)
                for magic, (what, fix) in ARCHIVES.items():
                    if line.startswith(magic):
                        message = f"{what}, and this reads the text format: {fix}"
                        raise CorpusError(path, None, message)
                header = header_dim(line.split()) is not None
            line = line.rstrip()
            _check_text(path, n, line, after_header=header)
            if line == b"":
                blank = blank or n
                continue
            if blank is not None:
                raise CorpusError(path, blank, "blank line; remove it")
            if b"\r" in line:
                message = "a carriage return (\\r) inside the line; lines must end in \\n or "
                raise CorpusError(path, n, message + "\\r\\n (convert with  tr '\\r' '\\n')")
            yield n, line
    if n == 0:
        raise CorpusError(path, None, "the file is empty")
