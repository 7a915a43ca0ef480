"""`minis2s translate`: its sentences (the arguments, or the lines of standard input for none or
`-`), decoded with the options given; a sentence without a token (a blank line) keeps its place as
an empty output line, so the output is line for line with the input."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from minis2s.cli import decode_kwargs
from minis2s.cli_decoding import MAX_LEN_FLAGS
from minis2s.command_translations import (
    CHUNK,
    check_decode_options,
    note_long,
    note_unknown,
    translate_naming,
)
from minis2s.config_error import as_typed
from minis2s.wording import percent

if TYPE_CHECKING:
    from minis2s.api import Translator


def translate(args: argparse.Namespace) -> int:
    from minis2s import viz
    from minis2s.ensemble_commands import load_translator, no_attention

    kw = decode_kwargs(args)  # before reading anything: a wrong option costs no waiting
    _refuse_runs_as_sentences(args.sentences, args.checkpoint)
    tr = load_translator(args.checkpoint)
    if args.show_attention and no_attention(tr, args.checkpoint):
        raise ValueError(
            f"--show-attention: {no_attention(tr, args.checkpoint)}, so there are no weights to "
            "show"
        )
    check_decode_options(tr, args, kw)  # before any sentence is read
    sentences = _sentences(args.sentences)
    if not sentences:
        raise ValueError("no sentences: give them as arguments or one per line on stdin")
    what = "line" if args.sentences in ([], ["-"]) else "sentence"
    lengths: list[int] = []  # each line's source tokens (0: blank), for the notes at the end
    cut = 0  # outputs cut at the length limit
    # printed and let go CHUNK lines at a time: an output keeps its attention weights until it
    # is printed (~14 KB a line; a 50k-line file held 0.73 GB)
    for start in range(0, len(sentences), CHUNK):
        results = _translate_keeping_blanks(tr, sentences[start : start + CHUNK], kw, what, start)
        best = [r[0] if isinstance(r, list) else r for r in results]  # an n-best list's first
        for r, b in zip(results, best, strict=True):
            if r is None:  # a blank line keeps its place: the output stays line for line
                print("\n" * args.show_attention)  # an empty grid after it
            elif isinstance(r, list):  # n-best
                print(" ||| ".join(f"{t.text}\t{t.score:.4f}" for t in r))
            else:
                print(r.text)
            if args.show_attention and r is not None:
                print(viz.attention_text(b.attention, b.src_tokens, b.tokens) + "\n")
        lengths += [0 if t is None else len(t.src_tokens) for t in best]
        cut += sum(not t.ended for t in best if t is not None)
    blank = [i for i, n in enumerate(lengths) if n == 0]
    note_unknown(tr, args)
    if blank:
        _note_blank(blank, len(sentences), what)
    read = [s if n else "" for s, n in zip(sentences, lengths, strict=True)]  # blanks: unread
    _note_tabs(read, what, args.checkpoint)
    note_long(tr, lengths, what)
    note_cut(args, cut, sum(n > 0 for n in lengths))  # of the outputs decoded: blanks are not
    return 0


def note_cut(args: argparse.Namespace, cut: int, total: int) -> None:
    """The note on stderr, translate's, evaluate's, plot's and train's (of its test figures), that
    `cut` of the `total` outputs decoded reached the maximum length without </s> and were cut
    there (none where `cut` is 0): the limit named as given (`_as_given`), or, for a command
    without --max-len-a/b (train, plot), as the defaults it decoded with; one output alone is
    "the output"."""
    if not cut:
        return
    if all(hasattr(args, _dest(flag)) for flag in MAX_LEN_FLAGS):
        a, b = (_as_given(args, flag) for flag in MAX_LEN_FLAGS)
        limit = f"{a} x source length + {b}"
    else:
        a, b = (as_typed(_default(flag)) for flag in MAX_LEN_FLAGS)
        flags = " and ".join(MAX_LEN_FLAGS)
        limit = f"{a} x source length + {b}, the defaults of translate's {flags}"
    if total == 1:
        outputs = "the output"
    else:
        outputs = f"{cut} of the {total} outputs ({percent(cut, total)})"
    print(f"note: {outputs} reached the maximum length ({limit}) without </s>: cut there",
          file=sys.stderr)  # fmt: skip


def _as_given(args: argparse.Namespace, flag: str) -> str:
    """A decoding option as a note names it: `--max-len-a 1.5`, or `the default --max-len-a 2`
    at its default, which the user most likely did not type (as cli_options.as_set names a
    config option)."""
    value = getattr(args, _dest(flag))
    return f"{'the default ' * (value == _default(flag))}{flag} {as_typed(value)}"


def _dest(flag: str) -> str:
    return flag.removeprefix("--").replace("-", "_")


def _default(flag: str) -> Any:
    """The default of decoding option `flag`, read from where the options are made."""
    from minis2s.cli_decoding import _decode_options

    parser = argparse.ArgumentParser()
    _decode_options(parser)
    return parser.get_default(_dest(flag))


def _refuse_runs_as_sentences(sentences: list[str], checkpoints: list[str]) -> None:
    """ValueError for a sentence argument that names a run or checkpoint directory: the second
    run of an ensemble given without its own --checkpoint (`--checkpoint A B "text"`), which
    would be translated as text while the ensemble went on without it."""
    import os

    from minis2s.train import checkpoint

    for i, s in enumerate(sentences, 1):
        if not s or not os.path.isdir(s):
            continue
        if os.path.isfile(os.path.join(s, "state.json")):
            what = "a checkpoint"
        elif checkpoint.is_run(s):
            what = "a run directory"
        else:
            continue
        runs = " ".join(f"--checkpoint {c}" for c in [*checkpoints, s])
        raise ValueError(
            f"sentence {i}, {s}, is {what}, not text to translate: for an ensemble, give "
            f"--checkpoint before each run ({runs})"
        )


def _sentences(given: list[str]) -> list[str]:
    """The sentences to translate: those given as arguments (a byte order mark that starts one
    dropped, as a line's), else (none, or `-` alone, as cat and sacrebleu read it) the lines of
    standard input."""
    if given == ["-"] or not given:
        return _stdin_lines()
    if "-" in given:
        raise ValueError(
            "`-` reads the sentences from standard input, one per line; give sentences as "
            "arguments or `-`, not both (a sentence that is `-` itself: give it on stdin)"
        )
    for i, s in enumerate(given, 1):
        _check_argument_bytes(i, s)
    return [s.removeprefix("\ufeff") for s in given]  # "$(cat file)" of a file saved with one


def _check_argument_bytes(i: int, sentence: str) -> None:
    """ValueError for sentence argument `i` whose bytes were not valid in the locale's encoding
    (UTF-8, mostly): Python keeps each such byte as a lone surrogate (U+DC80..U+DCFF), which
    the model would read as <unk>; refused naming the byte, as a line of stdin is."""
    import codecs
    import os

    bad = next((j for j, c in enumerate(sentence) if "\udc80" <= c <= "\udcff"), None)
    if bad is None:
        return
    encoding = codecs.lookup(sys.getfilesystemencoding()).name
    encoding = "UTF-8" if encoding == "utf-8" else encoding
    byte = len(os.fsencode(sentence[:bad])) + 1
    raise ValueError(
        f"sentence {i}: not valid {encoding} (byte {byte} of the argument is "
        f"{bytes([ord(sentence[bad]) - 0xDC00])!r}); give the sentences as {encoding} text"
    )


def _stdin_lines() -> list[str]:
    """The lines of standard input without their line ends (a Windows CR too), decoded as UTF-8
    whatever the locale says: a wrong byte is an error naming its line, as in a corpus file,
    not a token silently mapped to <unk>. A byte order mark that starts a line is dropped, the
    first line's or one that `cat` of files saved with one put inside. At a terminal a note
    says so first: a user who forgot the sentence would otherwise wait on a blank screen."""
    if sys.stdin is None:  # closed (`<&-`, a job started without one): Python leaves None
        raise ValueError(
            "no sentences: none was given as an argument, and standard input is closed; give "
            "them as arguments or one per line on stdin"
        )
    if sys.stdin.isatty():
        print("minis2s translate: reading sentences from the terminal, one a line; end with "
              "Ctrl-D (Ctrl-Z, Enter on Windows)", file=sys.stderr)  # fmt: skip
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream put in stdin's place (a test, a notebook)
        lines = []
        for n, raw in enumerate(sys.stdin, 1):
            _refuse_carriage_return(n, raw.rstrip("\r\n"), n > 1 or raw.endswith("\n"))
            lines.append(raw.rstrip("\r\n").removeprefix("\ufeff"))
        return lines
    lines = []
    for n, raw in enumerate(stream, 1):
        b = raw.removesuffix(b"\n").removesuffix(b"\r")
        try:
            line = b.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(
                f"stdin:{n}: not valid UTF-8 (byte {e.start + 1} of the line is "
                f"{b[e.start : e.start + 1]!r}); give the sentences as UTF-8 text"
            ) from None
        _refuse_carriage_return(n, line, n > 1 or raw.endswith(b"\n"))
        lines.append(line.removeprefix("\ufeff"))  # any line's: `cat` of files saved with one
    return lines


def _refuse_carriage_return(n: int, line: str, newlines: bool) -> None:
    """ValueError for a carriage return left in line `n` of stdin once its \\n or \\r\\n end is
    removed, as a corpus file's is refused (data/corpus_lines.py): old Mac \\r line ends
    (`newlines` False: the input has no \\n) would make the whole input one sentence, and a word
    tokenizer splits on \\r as on a space, so two sentences gave one output line."""
    if "\r" not in line:
        return
    if newlines and not line.endswith("\r"):  # a stray byte, or a \r line end among \n ones
        at = line.index("\r") + 1
        raise ValueError(
            f"stdin:{n}: a carriage return (\\r) at character {at} inside the line: if it ends a "
            "line, the input mixes \\r and \\n line ends (convert it with  tr '\\r' '\\n'); "
            "if not, delete it"
        )
    kind, fix = (
        ("doubled \\r\\r\\n", "tr -d '\\r'") if newlines else ("old Mac \\r", "tr '\\r' '\\n'")
    )
    raise ValueError(
        f"stdin:{n}: a carriage return (\\r) inside the line: lines must end in \\n or \\r\\n, "
        f"and this input has {kind} line ends; convert it, e.g. with  {fix}"
    )


def _translate_keeping_blanks(
    tr: Translator, sentences: list[str], kw: dict, what: str, start: int = 0
) -> list:
    """tr.translate(sentences, **kw), but for None in the place of each sentence without a token
    (a blank line: between a document's paragraphs, at its end), which the model cannot read and
    whose output line stays empty, so the output is line for line with the input. `sentences`
    start at line `start` (0-based) of the input. A sentence without a hypothesis is named by
    its place in the input, `what` 1-based ("line 3")."""
    has_tokens = [bool(tr.tokenizer.tokenize(s)) for s in sentences]
    read = [i for i, ok in enumerate(has_tokens) if ok]
    some = [sentences[i] for i in read]
    places = [start + i for i in read]  # line i samples from stream i, and is named by it
    outputs = translate_naming(tr, some, kw, what, note=False, attention=True, places=places)
    translated = iter(outputs)
    return [next(translated) if ok else None for ok in has_tokens]


def _numbered(rows: list[int]) -> str:
    """The first ten of `rows` (0-based) numbered from 1 for a note, then ", ..." if more."""
    return ", ".join(str(i + 1) for i in rows[:10]) + ", ..." * (len(rows) > 10)


def _note_blank(blank: list[int], n: int, what: str) -> None:
    """The note on stderr for the sentences without a token (`blank`, 0-based, of `n`), whose
    outputs `translate` left empty to keep the output line for line with its input."""
    k, where = len(blank), _numbered(blank)
    verb, outputs = ("has", "its output is") if k == 1 else ("have", "their outputs are")
    print(f"note: {k} of the {n} {what}s ({where}) {verb} no token: {outputs} empty",
          file=sys.stderr)  # fmt: skip


def _note_tabs(sentences: list[str], what: str, checkpoints: list[str]) -> None:
    """A note on stderr naming the sentences that hold a TAB: a corpus's `source<TAB>target`
    lines piped into translate (`translate < test.tsv`) are read whole, the reference too, as
    one sentence, and translated as such. A source may hold a TAB on purpose, so it is a note,
    as for a corpus side that holds one."""
    tabbed = [i for i, s in enumerate(sentences) if "\t" in s]
    if not tabbed:
        return
    k, n, where = len(tabbed), len(sentences), _numbered(tabbed)
    verb = "holds" if k == 1 else "hold"
    runs = " ".join(f"--checkpoint {c}" for c in checkpoints)
    print(f"note: {k} of the {n} {what}s ({where}) {verb} a TAB, and each was translated whole "
          "as one sentence; for a corpus of source<TAB>target lines, translate its sources alone "
          f"(`cut -f1 FILE | minis2s translate {runs}`) or score it with `minis2s evaluate "
          f"{runs} --data FILE`", file=sys.stderr)  # fmt: skip
