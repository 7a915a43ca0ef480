"""The entry point of `minis2s` (`python -m minis2s`): main reads --threads before anything
imports NumPy, parses the command line (cli_parser.py), runs the command (commands.py), and turns
errors into exit codes and the library's own warnings into one-line notes.

build_parser (cli_parser.py) and decode_kwargs (cli_decoding.py) are still importable from here.
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any

from minis2s.cli_decoding import SEARCH_OPTIONS as SEARCH_OPTIONS
from minis2s.cli_decoding import decode_kwargs as decode_kwargs
from minis2s.cli_parser import ENSEMBLE_HELP as ENSEMBLE_HELP
from minis2s.cli_parser import SCORE_SEARCHES_NOTHING as SCORE_SEARCHES_NOTHING
from minis2s.cli_parser import build_parser, refuse_repeated

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _set_threads(argv: list[str]) -> None:
    """Honour --threads N: BLAS reads its thread count once, when NumPy is first imported, so
    this runs before anything imports NumPy (only the command line can promise that). Only the
    options before the command are read (a sentence after `--` is not an option), and an
    abbreviation that argparse would accept (`--thread 1`) counts as --threads too."""
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--" or not a.startswith("-"):  # the command (or a value-less token): stop
            return
        name, eq, value = a.partition("=")
        threads = len(name) > 2 and "--threads".startswith(name)  # "--t" .. "--threads"
        if not eq and (threads or (len(name) > 2 and "--backend".startswith(name))):
            value, i = (argv[i + 1] if i + 1 < len(argv) else ""), i + 1
        if threads and value.isascii() and value.isdigit() and int(value) > 0:
            for var in THREAD_VARS:
                os.environ[var] = str(int(value))
        i += 1


def _note(
    command: str,
    show: Callable[..., None],
    numbers: list[str],
    message: Warning | str,
    category: type,
    *rest: Any,
) -> None:
    """Print the library's own warnings (a UserWarning: a fallback it took, such as loading the
    last checkpoint of a run that has no best one) as one line; NumPy's floating-point warnings
    (`overflow encountered in matmul`) as one line too, the first only (an overflow's inf makes
    the next nan), naming the `numbers` typed (see _numbers_given); others with `show`, as
    Python would. `numbers` is emptied once its note is printed."""
    if issubclass(category, UserWarning):
        print(f"minis2s {command}: note: {message}", file=sys.stderr)
    elif issubclass(category, RuntimeWarning) and " encountered in " in str(message):
        if numbers:  # the first; `train --lr 1e20` gave one for each step's matmul
            given = "" if numbers == ["a number"] else f" (given: {', '.join(numbers)})"
            print(f"minis2s {command}: note: NumPy: {message}: a number left the float range; "
                  f"one given too large or too small?{given}", file=sys.stderr)  # fmt: skip
            numbers.clear()
    else:
        show(message, category, *rest)


def _numbers_given(argv: list[str]) -> list[str]:
    """The options of `argv` (parsed: each --name is an option) given a number, as typed
    (`--lr 1e20`, `--epochs=1`), for _note; ["a number"] where none is (_note empties the list
    once it has noted an overflow)."""
    numbers = []
    for i, token in enumerate(argv):
        if token == "--":
            break
        name, eq, value = token.partition("=")
        value = value if eq else (argv[i + 1] if i + 1 < len(argv) else "")
        if name.startswith("--") and _is_number(value):
            numbers.append(f"{name} {value}")
    return numbers or ["a number"]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _stray_checkpoints(command: str, argv: list[str], unknown: list[str]) -> str:
    """A hint for directories left unrecognized right after a --checkpoint's path, as in
    `evaluate --checkpoint runs/d1 runs/d2` (an ensemble, or the checkpoints of an average,
    typed as one option with several paths), naming the command line that was meant; "" for
    other unrecognized arguments. (translate takes them for sentences and refuses them there.)"""
    meant, strays, i = [], 0, 0
    while i < len(argv) and argv[i] != "--":
        name, eq, value = argv[i].partition("=")
        i += 1
        if name != "--checkpoint":
            continue
        if not eq:
            value, i = (argv[i] if i < len(argv) else ""), i + 1
        meant.append(value)
        while i < len(argv) and argv[i] in unknown and os.path.isdir(argv[i]):
            meant.append(argv[i])  # a stray path: argparse left it over
            strays, i = strays + 1, i + 1
    if not strays:  # each path has its own option: what is unrecognized is something else
        return ""
    if command == "vectors":
        return "; vectors writes the embeddings of one run: give one --checkpoint"
    runs = " ".join(f"--checkpoint {c}" for c in meant)
    return f"; --checkpoint takes one path: give it before each ({runs})"


def _task_named(command: str, unknown: list[str]) -> str:
    """A hint for `minis2s tasks dates`, a task named where tasks takes none: how to write its
    splits; "" otherwise."""
    from minis2s.data.tasks import TASKS

    named = [u for u in unknown if u in TASKS]
    if command != "tasks" or not named:
        return ""
    return f"; tasks lists every task; to write one's splits as files: tasks --write {named[0]} DIR"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _set_threads(argv)
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    refuse_repeated(parser.commands[args.command], argv)  # argparse keeps the last: one only
    if unknown:  # refused by the command's own parser: its usage line, and _Parser's hints
        hint = _stray_checkpoints(args.command, argv, unknown) or _task_named(args.command, unknown)
        parser.commands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}{hint}")
    from minis2s import backend

    with warnings.catch_warnings():  # restores showwarning: main may run inside a caller
        numbers = _numbers_given(argv)
        warnings.showwarning = functools.partial(_note, args.command, warnings.showwarning, numbers)
        try:
            if args.threads is not None:  # NumPy's pool too: the parser imported NumPy already
                from minis2s.threads import set_blas_threads

                set_blas_threads(args.threads)
            from minis2s.threads import check_forced_core

            check_forced_core()  # a kernel family the CPU cannot run: refused, not SIGILL
            backend.use(args.backend)
            from minis2s import commands

            return getattr(commands, args.command)(args)
        except BrokenPipeError:  # the reader went away (`minis2s translate ... | head`)
            # stop quietly; stdout goes to /dev/null so that exit's flush cannot fail
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141  # 128 + SIGPIPE, as a shell reports it
        except (ValueError, OSError, RuntimeError, ImportError) as e:  # OSError: files, disks
            from minis2s.cli_options import option_words

            said = option_words(e, parser.commands[args.command], argv)  # --lr, not lr
            print(f"minis2s {args.command}: error: {said}", file=sys.stderr)
            return 2
        except MemoryError as e:  # NumPy's refusal of an allocation (`--beam 1000000000000`)
            why = f"out of memory ({e}); a size option (a beam, a batch, a layer) is too large"
            print(
                f"minis2s {args.command}: error: {why} for this machine: lower it", file=sys.stderr
            )
            return 2
        except KeyboardInterrupt as e:  # Ctrl-C: 130; SIGTERM while training: 143
            from minis2s.train.interrupts import exit_status

            return exit_status(e)


if __name__ == "__main__":
    sys.exit(main())
