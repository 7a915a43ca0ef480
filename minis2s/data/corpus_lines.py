"""A corpus file's lines: its bytes read as UTF-8 and cut at line ends, every problem a
`CorpusError` whose message starts with `file:line:` and says how to fix it.

Lines end in "\\n" (a "\\r" before it is dropped, so Windows files read the same; any other
"\\r" is an error, since it means old Mac or doubled line endings); a UTF-8 byte order mark at
the start of a file is ignored, and a UTF-16 one, or a NUL byte, is refused as UTF-16. Nothing
else is changed: the readers of corpus.py decide what a line holds, and vector_lines.py reads its
files with `open_binary` too.
"""

from __future__ import annotations

import os
from typing import BinaryIO

BOM = "\ufeff"  # a UTF-8 byte order mark, as text
# The first bytes of the archives that corpora and word vectors are downloaded in (glove.6B.zip,
# .vec.gz, fra-eng.zip)
ARCHIVES = {  # magic -> (what the file is, how to read it)
    b"\x1f\x8b": ("gzip-compressed", "decompress it first (gunzip FILE.gz), or give "
                  "<(zcat FILE.gz) on a bash command line"),
    b"PK\x03\x04": ("a zip archive", "unzip it first, and give one of its files"),
}  # fmt: skip
UTF16_FIX = "save the file as UTF-8 (iconv -f {} -t UTF-8 < in.tsv > out.tsv)"


class CorpusError(ValueError):
    """A malformed corpus file; `path` and `line` (1-based, None for the whole file) say where."""

    def __init__(self, path: str | os.PathLike, line: int | None, message: str) -> None:
        self.path, self.line = os.fspath(path), line
        seen = self.path.strip() and "\0" not in self.path  # "" as '', a NUL as \x00
        shown = self.path if seen else repr(self.path)
        where = shown if line is None else f"{shown}:{line}"
        super().__init__(f"{where}: {message}")


def open_binary(path: str | os.PathLike, what: str = "a text file") -> BinaryIO:
    """`path` opened for reading bytes; a CorpusError that names the file when it is missing,
    a directory (`what` says what was expected) or unreadable; a ValueError for a path that is
    no str or os.PathLike: open() takes an int (True too) for a file descriptor, which it reads
    and then closes (True: standard output)."""
    if not isinstance(path, str | os.PathLike):
        what_path = "None" if path is None else f"{type(path).__name__} {path!r:.40}"
        raise ValueError(f"path is {what_path}; give the path of {what}, as a str or pathlib.Path")
    try:
        return open(path, "rb")
    except FileNotFoundError:
        dash = " (standard input is not read for `-`: give /dev/stdin)" * (os.fspath(path) == "-")
        blank = f" (the path is blank: give the path of {what})" * (not os.fspath(path).strip())
        raise CorpusError(path, None, "no such file" + dash + blank) from None
    except ValueError:  # open()'s "embedded null byte", naming no file
        nul = "the path holds a NUL character (\\0), which no file name has"
        raise CorpusError(path, None, f"{nul}; give the path of {what}") from None
    except IsADirectoryError:
        raise CorpusError(path, None, f"is a directory, expected {what}") from None
    except OSError as e:
        raise CorpusError(path, None, f"cannot read the file ({e.strerror})") from None


def read_lines(path: str | os.PathLike) -> list[str]:
    """The lines of a UTF-8 text file without their line ends; CorpusError naming file:line."""
    with open_binary(path) as f:
        data = f.read()
    if not data:
        raise CorpusError(path, None, "the file is empty")
    for magic, (what, fix) in ARCHIVES.items():
        if data.startswith(magic):
            raise CorpusError(path, None, f"{what}, and a corpus is a text file: {fix}")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CorpusError(path, 1, f"the file starts with a UTF-16 byte order mark ({data[:2]!r}): "
                          f"it is UTF-16, not UTF-8; {UTF16_FIX.format('UTF-16')}")  # fmt: skip
    nul = b"\x00" in data  # text holds none; UTF-16 holds one in each ASCII character
    raw = data.split(b"\n")  # not splitlines(): that also splits on \x0b, \x1c, U+2028, ...
    if raw[-1] == b"":
        raw.pop()  # the newline that ends the last line
    lines = []
    for n, b in enumerate(raw, 1):
        b = b[:-1] if b.endswith(b"\r") else b
        if nul and b"\x00" in b:
            raise CorpusError(path, n, f"a NUL byte (byte {b.index(0) + 1} of the line), which "
                              f"no text holds; {nul_fix(b)}")  # fmt: skip
        try:
            line = b.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CorpusError(
                path,
                n,
                f"not valid UTF-8 (byte {e.start + 1} of the line is "
                f"{b[e.start : e.start + 1]!r}); save the file as UTF-8",
            ) from None
        if "\r" in line:
            if b"\n" not in data:  # every line ends in \r alone
                kind, fix = "old Mac \\r endings", "tr '\\r' '\\n'"
            elif line.endswith("\r"):  # \r\r\n: the \r before \n is already gone
                kind, fix = "doubled \\r\\r\\n endings", "tr -d '\\r'"
            else:  # a \r mid-line: a stray byte, or an old Mac line end in a \n file
                at = line.index("\r") + 1
                raise CorpusError(
                    path,
                    n,
                    f"a carriage return (\\r) at character {at} inside the "
                    "line: if it ends a line, the file mixes \\r and \\n line ends (convert "
                    "with  tr '\\r' '\\n'  and remove the blank lines that leaves); if not, "
                    "delete it",
                )
            raise CorpusError(
                path,
                n,
                "a carriage return (\\r) inside the line: lines must end in \\n or \\r\\n, and "
                f"this file has {kind}; convert it, e.g. with  {fix} < in.tsv > out.tsv",
            )
        lines.append(line.removeprefix(BOM) if n == 1 else line)
    return lines


def nul_fix(line: bytes, what: str = "a corpus") -> str:
    """What to do about a line of `what` that holds a NUL byte: UTF-16 where every other byte is
    one (an ASCII character's), else a file that is not text."""
    if 3 * line.count(0) >= len(line):
        utf16 = 'UTF-16 (Windows\' "Unicode") writes one in each ASCII character'
        return f"{utf16}: {UTF16_FIX.format('UTF-16LE')}"
    return f"is it a text file? {what} is UTF-8 text: save it as such"
