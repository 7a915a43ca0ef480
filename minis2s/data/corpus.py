"""Read parallel text: one example per line, as `source<TAB>target` or as two aligned files.

Every problem raises `CorpusError` (a ValueError) whose message starts with `file:line:` so an
editor can jump to it, and says how to fix it:

    data/train.tsv:17: expected exactly one TAB between source and target; found 2
    data/train.tsv:18: blank line; remove it, or write source<TAB>target on it

How a file's bytes become lines (UTF-8, line ends, a byte order mark) is corpus_lines.py's,
with CorpusError itself (importable from here as before). Text is kept exactly as written:
spaces are tokens for the "char" tokenizer, so fields are not stripped, and the tokenizers, not
the readers, put it in Unicode NFC (minis2s.data.tokenize), so `max_len` counts the tokens of
the NFC text.

With a tokenizer and `max_len`, a pair with more than `max_len` tokens on either side is an
error (`on_long="error"`) or is dropped (`on_long="skip"`); the dropped line numbers come back
in `Pairs.skipped`.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Iterable, Sequence

from minis2s import _warn, validate
from minis2s.atomic import atomic_text_file
from minis2s.data.corpus_lines import BOM, CorpusError, read_lines
from minis2s.data.tokenize import Tokenizer, get_tokenizer

ON_LONG = ("error", "skip")


class Pairs(list):
    """A list of (source, target) string pairs that also records `skipped`: the 1-based line
    numbers dropped by `on_long="skip"` (empty otherwise)."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = (), skipped: Iterable[int] = ()):
        super().__init__(pairs)
        self.skipped: tuple[int, ...] = tuple(skipped)


def _options(tokenizer: str | Tokenizer | None, max_len: int | None, on_long: str, record=None):
    if on_long not in ON_LONG:
        raise ValueError(
            f"read_corpus: on_long must be one of {', '.join(ON_LONG)}; got {on_long!r}"
        )
    if max_len is not None and (tokenizer is None or max_len < 1):
        raise ValueError(f"max_len={max_len} needs a tokenizer and must be >= 1")
    if record is not None and tokenizer is None:  # else it would be called never, silently
        raise ValueError("record needs a tokenizer: it is given each text's tokens")
    return None if tokenizer is None else get_tokenizer(tokenizer)


def _keep(paths, n, src, tgt, tok, max_len, on_long, record=None) -> bool:
    """Check one pair; True to keep it, False to skip it (too long, on_long="skip"). `record`
    is given the tokens of the source, then the target, of a pair kept."""
    sides = []
    for path, side, text in ((paths[0], "source", src), (paths[1], "target", tgt)):
        if text == "":
            raise CorpusError(path, n, f"empty {side}; every line needs a source and a target")
        if text.startswith(BOM):  # one that starts the file is gone (read_lines)
            raise CorpusError(
                path,
                n,
                f"a byte order mark (U+FEFF) starts the {side}: files saved with one were "
                "joined (cat, paste), and it would read as an invisible character; remove it, "
                "e.g. with  sed 's/\\xef\\xbb\\xbf//g' < in.tsv > out.tsv",
            )
        if tok is None:
            continue
        tokens = tok.tokenize(text)
        L = len(tokens)
        if L == 0:
            raise CorpusError(path, n, f"the {side} has no {tok.name} tokens ({text!r})")
        if max_len is not None and L > max_len:
            if on_long == "skip":
                return False
            raise CorpusError(
                path,
                n,
                f"the {side} has {L} tokens, more than max_len={max_len}; "
                "raise max_len or pass on_long='skip' to drop such lines",
            )
        sides.append(tokens)
    if record is not None:  # only now: a pair refused or skipped above records nothing
        for tokens in sides:
            record(tokens)
    return True


def read_tsv(
    path: str | os.PathLike,
    tokenizer: str | Tokenizer | None = None,
    max_len: int | None = None,
    on_long: str = "error",
    record: Callable[[list[str]], object] | None = None,
) -> Pairs:
    """(source, target) pairs from a file of `source<TAB>target` lines (UTF-8).

    `tokenizer` (a name or Tokenizer) is needed only for `max_len` and `record`, and to reject
    fields that have no tokens; `record`, given, is called with each kept pair's source tokens,
    then its target tokens, so that a caller tokenizes each text once (load_data). Raises
    CorpusError naming file:line for a missing file, bad UTF-8, a blank line, a line without
    exactly one TAB, an empty source or target, or a too-long pair.
    """
    tok = _options(tokenizer, max_len, on_long, record)
    pairs, skipped = [], []
    for n, line in enumerate(read_lines(path), 1):
        if line.strip() == "" and "\t" not in line:  # " \t " is two fields of one space
            raise CorpusError(path, n, "blank line; remove it, or write source<TAB>target on it")
        n_tabs = line.count("\t")
        if n_tabs != 1:
            message = f"expected exactly one TAB between source and target; found {n_tabs}"
            if n_tabs > 1:  # e.g. Tatoeba / Anki exports: source, target, attribution
                # not the file itself: the shell would empty it before cut reads it
                out = "two-columns.tsv" if os.path.basename(path) == "pairs.tsv" else "pairs.tsv"
                message += (" (a file with more columns, such as Tatoeba's source<TAB>target"
                            "<TAB>attribution, reads as two columns after `cut -f1,2 "
                            f"{shlex.quote(os.fspath(path))} > {out}`)")  # fmt: skip
            raise CorpusError(path, n, message)
        src, tgt = line.split("\t")
        if _keep((path, path), n, src, tgt, tok, max_len, on_long, record):
            pairs.append((src, tgt))
        else:
            skipped.append(n)
    return Pairs(pairs, skipped)


def read_phrase_table(path: str | os.PathLike) -> dict[str, str]:
    """The phrase table of unknown-word replacement (`--replace-unk --phrase-table FILE`):
    `source<TAB>target` lines read as `read_tsv` reads a corpus, the source one token as the
    model's tokenizer splits it, the target what to write for it. A source token listed twice
    is a CorpusError naming both lines (which translation to keep is the user's choice)."""
    table: dict[str, str] = {}
    first: dict[str, int] = {}
    for n, (src, tgt) in enumerate(read_tsv(path), 1):
        if src in table:
            raise CorpusError(path, n, f"{src!r} is listed again (first on line {first[src]}); "
                              "keep one translation per source token")  # fmt: skip
        table[src], first[src] = tgt, n
    return table


def _a_tsv_file(side: str, given_as: str | None, also: str) -> str:
    """What is wrong with a `side` file whose every line holds one TAB, and its fix in the words
    of the caller: `given_as` the option or keyword the paths came in (--data, dev_data; None
    for a direct call), `also` where the other corpora go ("and a dev or test corpus with
    --dev-data or --test-data"; empty where there is no such option)."""
    one = "as one path alone"
    if given_as is not None:
        one += f" ({given_as} FILE)" if given_as.startswith("-") else f" ({given_as}=FILE)"
    return (
        "every line holds one TAB, as a TSV corpus's source<TAB>target lines do, but it is given "
        f"as the {side} file of two files aligned line by line, whose lines are whole sentences: "
        f"give a TSV corpus {one}{f', {also}' if also else ''}"
    )


def _check_tsv_sides(
    src_path: str | os.PathLike,
    src_lines: list[str],
    tgt_path: str | os.PathLike,
    tgt_lines: list[str],
    given_as: str | None = None,
    also: str = "",
) -> None:
    """Two files with one TAB on every line are two TSV corpora (a CorpusError, before the line
    counts); one such side is only warned of: a source may hold one TAB a line on purpose
    (question<TAB>context), and is read as written. `given_as`, `also`: as `_a_tsv_file`."""
    sides = [("source", src_path, src_lines), ("target", tgt_path, tgt_lines)]
    tabbed = [(side, path) for side, path, lines in sides if all(x.count("\t") == 1 for x in lines)]
    if len(tabbed) == 2:
        raise CorpusError(src_path, None, _a_tsv_file("source", given_as, also))
    for side, path in tabbed:
        _warn.warn(f"{os.fspath(path)}: {_a_tsv_file(side, given_as, also)}; read as whole "
                   "sentences that hold a TAB, as given")  # fmt: skip


def read_parallel(
    src_path: str | os.PathLike,
    tgt_path: str | os.PathLike,
    tokenizer: str | Tokenizer | None = None,
    max_len: int | None = None,
    on_long: str = "error",
    record: Callable[[list[str]], object] | None = None,
    given_as: str | None = None,
    also: str = "",
) -> Pairs:
    """(source, target) pairs from two files aligned line by line (UTF-8).

    Same checks and options as `read_tsv`; a mismatch in line counts names the longer file and
    its first line without a partner. Tabs inside a line are ordinary characters here, but two
    files with one on every line are two TSV corpora (`--data train.tsv dev.tsv`): a CorpusError;
    one such file, a warning (it may be meant: question<TAB>context). Their message names the
    fix in the caller's words: `given_as` the option or keyword the two paths were given in
    (`--data`, `dev_data`), `also` where a dev or test corpus goes instead, if anywhere.
    """
    tok = _options(tokenizer, max_len, on_long, record)
    src_lines, tgt_lines = read_lines(src_path), read_lines(tgt_path)
    _check_tsv_sides(src_path, src_lines, tgt_path, tgt_lines, given_as, also)
    if len(src_lines) != len(tgt_lines):
        sides = [("source", src_path, len(src_lines)), ("target", tgt_path, len(tgt_lines))]
        (short, short_path, n_short), (long, long_path, n_long) = sorted(sides, key=lambda s: s[2])
        raise CorpusError(
            long_path,
            n_short + 1,
            f"the {long} file has {n_long} lines but the {short} file {os.fspath(short_path)} "
            f"has {n_short}; the files must be aligned line by line",
        )
    pairs, skipped = [], []
    for n, (src, tgt) in enumerate(zip(src_lines, tgt_lines, strict=True), 1):
        for path, text in ((src_path, src), (tgt_path, tgt)):
            if text == "":  # a line of spaces is text, as a TSV field is: the tokenizer decides
                raise CorpusError(path, n, "blank line; remove it (and its partner line)")
        if _keep((src_path, tgt_path), n, src, tgt, tok, max_len, on_long, record):
            pairs.append((src, tgt))
        else:
            skipped.append(n)
    return Pairs(pairs, skipped)


def read_corpus(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    tokenizer: str | Tokenizer | None = None,
    max_len: int | None = None,
    on_long: str = "error",
    record: Callable[[list[str]], object] | None = None,
    given_as: str | None = None,
    also: str = "",
) -> Pairs:
    """`read_tsv(path)` for one path, `read_parallel(source, target)` for two (what `--data`
    and its kin take on the command line), `record` as read_tsv takes it, `given_as` and `also`
    as read_parallel does."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not isinstance(paths, Sequence):  # an int: len()'s TypeError named nothing
        raise ValueError(
            f"read_corpus: paths is {type(paths).__name__} {paths!r:.40}; give one TSV file's "
            "path, or a (source, target) pair of paths, each a str or pathlib.Path"
        )
    if len(paths) not in (1, 2):
        raise ValueError(
            f"a corpus is one TSV file (source<TAB>target) or two files aligned line by line "
            f"(source, target); got {len(paths)} paths: {' '.join(map(os.fspath, paths))}"
        )
    if len(paths) == 1:
        return read_tsv(paths[0], tokenizer, max_len, on_long, record)
    return read_parallel(paths[0], paths[1], tokenizer, max_len, on_long, record, given_as, also)


def write_tsv(path: str | os.PathLike, pairs: Iterable[tuple[str, str]]) -> None:
    """Write (source, target) string pairs as UTF-8 `source<TAB>target` lines, atomically as
    `Vocab.save` does (`atomic_text_file`): a crash never leaves half a corpus where one was."""
    validate.path("write_tsv", "path", path, "the path of the file to write")
    lines = []
    for i, (src, tgt) in enumerate(pairs):
        for side, text in (("source", src), ("target", tgt)):
            bom = isinstance(text, str) and text.startswith(BOM)  # read_tsv drops or refuses it
            if not isinstance(text, str) or text == "" or bom or any(c in text for c in "\t\r\n\0"):
                raise ValueError(
                    f"write_tsv: pair {i} has {side} {text!r}; expected a non-empty string "
                    "without TAB, line breaks or NUL (which reads as UTF-16), nor a leading "
                    "U+FEFF, which reads as a byte order mark"
                )
        lines.append(f"{src}\t{tgt}\n")
    with atomic_text_file(path) as f:  # a missing folder named as such, not as a missing file
        f.write("".join(lines))
