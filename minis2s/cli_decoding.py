"""The decoding options of `translate` and `evaluate` (--beam, --sample, --length-penalty, ...)
and their reading into translate()'s keyword arguments, which refuses an option the chosen
method would ignore. Imports no NumPy (see cli --threads)."""

from __future__ import annotations

import argparse
from typing import Any

from minis2s.cli_types import (
    finite_float,
    non_negative_float,
    non_negative_int,
    path,
    positive_float,
    positive_fraction,
    positive_int,
)

SEARCH_OPTIONS = ("--beam", "--nbest", "--length-penalty", "--alpha", "--coverage-penalty",
                  "--sample", "--temperature", "--top-k", "--top-p", "--max-len-a", "--max-len-b",
                  "--seed", "--replace-unk", "--phrase-table")  # fmt: skip  # _decode_options's


MAX_LEN_FLAGS = ("--max-len-a", "--max-len-b")  # max_len_a and max_len_b, as typed


def _decode_options(p: argparse.ArgumentParser, nbest: bool = True) -> None:
    """The decoding options; `nbest=False` (evaluate, which scores one output per sentence)
    keeps --nbest out of the help, but still parsed, to be refused by name (decode_kwargs)."""
    g = p.add_argument_group("decoding")
    g.add_argument("--beam", type=non_negative_int, default=0, help="beam size (0 = greedy)")
    nbest_help = "with --beam: print the N best" if nbest else argparse.SUPPRESS
    g.add_argument("--nbest", type=positive_int, default=1, metavar="N", help=nbest_help)
    g.add_argument(
        "--length-penalty", choices=("none", "average", "gnmt"), default="none",
        help="with --beam: rank by log p (none), log p / length (average) or GNMT's "
        "log p / ((5 + length) / 6)^alpha; length counts the EOS",
    )  # fmt: skip
    g.add_argument("--alpha", type=finite_float, default=None,
                   help="with --length-penalty gnmt: its exponent (default 0.6; 0 = no "
                   "penalty; negative: favour shorter outputs than log p does)")  # fmt: skip
    g.add_argument("--coverage-penalty", type=non_negative_float, default=None, metavar="BETA",
                   help="with --beam: add GNMT's beta * sum_i log(min(attention to word i, "
                   "1)), which ranks down outputs that leave source words unattended (try 0.2)",
                   )  # fmt: skip
    g.add_argument("--sample", action="store_true", help="sample instead of searching")
    g.add_argument("--temperature", type=positive_float, default=1.0, metavar="T",
                   help="with --sample: p^(1/T)")  # fmt: skip
    g.add_argument("--top-k", type=non_negative_int, default=0, metavar="K",
                   help="with --sample: the K best only (0: all)")  # fmt: skip
    g.add_argument("--top-p", type=positive_fraction, default=1.0, metavar="P",
                   help="with --sample: the fewest most probable tokens whose probabilities "
                   "sum to at least P (nucleus sampling; 1: all; after --temperature, --top-k)",
                   )  # fmt: skip
    g.add_argument("--max-len-a", type=non_negative_float, default=2.0,
                   help="max length a*|src|+b (2.0)")  # fmt: skip
    g.add_argument("--max-len-b", type=non_negative_int, default=10,
                   help="max length a*|src|+b (10)")  # fmt: skip
    g.add_argument("--seed", type=non_negative_int, default=None,
                   help="with --sample: seeds the draws (default 0)")  # fmt: skip
    g.add_argument("--replace-unk", action="store_true",
                   help="write each <unk> of the output as the source token it attends to most "
                   "(attention models)")  # fmt: skip
    g.add_argument("--phrase-table", metavar="FILE", type=path,
                   help="with --replace-unk: source<TAB>target lines, what to write for a source "
                   "token instead of copying it")  # fmt: skip


def _check_sizes(args: argparse.Namespace) -> None:
    """ValueError for sizes that each option's type lets through but that together mean nothing,
    named as options (beam_search and decode name only their own arguments)."""
    if args.beam and args.nbest > args.beam:  # the beam holds only --beam outputs at the end
        raise ValueError(
            f"--nbest {args.nbest} is more than --beam {args.beam}: a beam ends with at most "
            "--beam outputs; raise --beam, or lower --nbest"
        )
    if args.max_len_a == 0 and args.max_len_b == 0:
        raise ValueError(
            "--max-len-a 0 and --max-len-b 0 allow no output token (the maximum length is "
            "a x source length + b); raise one of them"
        )
    # the ranges the decoders check, by their own checks, in the options' names
    from minis2s.decode.beam_checks import check_alpha
    from minis2s.decode.common import check_steps

    if args.alpha is not None:
        check_alpha(args.alpha, where="", name="--alpha")
    # a source has at least one token: a and b that allow too many steps for one allow too
    # many for all (a longer source's limit is met when translate reads it)
    check_steps(1, args.max_len_a, args.max_len_b, where="", names=MAX_LEN_FLAGS)


def decode_kwargs(args: argparse.Namespace, nbest: bool = True) -> dict[str, Any]:
    """translate() keyword arguments from the decoding options; a ValueError for an option the
    chosen method would ignore (`nbest`: whether this command prints n-best lists)."""
    beam_options = {"--nbest": args.nbest != 1, "--length-penalty": args.length_penalty != "none",
                    "--alpha": args.alpha is not None,
                    "--coverage-penalty": args.coverage_penalty is not None}  # fmt: skip
    sample_options = {"--temperature": args.temperature != 1.0, "--top-k": args.top_k != 0,
                      "--top-p": args.top_p != 1.0, "--seed": args.seed is not None}  # fmt: skip
    if args.sample and args.beam > 0:
        raise ValueError("--sample and --beam are two decoding methods; give one of them")
    if args.nbest != 1 and not nbest:
        raise ValueError("--nbest: this command scores one translation per sentence; leave it out")
    _check_sizes(args)
    chosen = "--sample" if args.sample else "--beam" if args.beam else None
    method = {"--sample": "sampling", "--beam": "beam search", None: "greedy decoding"}[chosen]
    why = []
    for options, wanted in ((beam_options, "--beam N"), (sample_options, "--sample")):
        ignored = [k for k, given in options.items() if given and wanted.split()[0] != chosen]
        if ignored:
            fix = f"use {wanted} instead of {chosen}" if chosen else f"add {wanted}"
            they = ("it is", "it") if len(ignored) == 1 else ("they are", "them")
            why.append(f"{' and '.join(ignored)} would be ignored by {method}: {they[0]} for "
                       f"{wanted}; {fix}, or leave {they[1]} out")  # fmt: skip
    if why:
        raise ValueError("; ".join(why))
    if args.alpha is not None and args.length_penalty != "gnmt":
        default = "the default " * (args.length_penalty == "none")  # not typed, most likely
        raise ValueError(
            "--alpha is the exponent of --length-penalty gnmt and would be ignored by "
            f"{default}--length-penalty {args.length_penalty}; add --length-penalty gnmt, or "
            "leave it out"
        )
    kw: dict[str, Any] = {"max_len_a": args.max_len_a, "max_len_b": args.max_len_b}
    if args.phrase_table is not None and not args.replace_unk:
        raise ValueError(
            "--phrase-table is read by --replace-unk only and would be ignored; add --replace-unk"
        )
    if args.replace_unk:
        kw["replace_unk"] = True
    if args.phrase_table is not None:
        from minis2s.data.corpus import read_phrase_table

        kw["phrase_table"] = read_phrase_table(args.phrase_table)
    if args.sample:
        return kw | {"method": "sample", "temperature": args.temperature, "top_k": args.top_k,
                     "top_p": args.top_p, "seed": args.seed or 0}  # fmt: skip
    if args.beam > 0:
        alpha = {} if args.alpha is None else {"alpha": args.alpha}
        alpha |= {} if args.coverage_penalty is None else {"beta": args.coverage_penalty}
        return kw | alpha | {"method": "beam", "beam_size": args.beam, "nbest": args.nbest,
                             "length_penalty": args.length_penalty}  # fmt: skip
    return kw
