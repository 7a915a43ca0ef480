"""load_data's argument checks, run before any file is read: a task or a corpus (not both), the
corpus-only options only with a corpus, paths that are paths, counts that are integers, a known
tokenizer with --bpe-merges only for BPE, vocabulary options that leave room for a word, and
vocabularies given (vocabs) as two Vocab, not read with merges learned now; and, once the
vocabularies are built, that each side kept a token of its own. Each error names the argument
and the fix: a count's or bpe_merges' is load_data's ConfigError, which `minis2s train` words as
its flag (cli_options.option_words); the others name load_data's keywords, or with `cli`
(minis2s train's calls) its options: `named` and `given` spell them."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from numbers import Integral
from typing import Any

from minis2s.config_error import ConfigError
from minis2s.data.tokenize import Tokenizer, get_tokenizer
from minis2s.data.vocab import SPECIALS, Vocab

Corpus = str | os.PathLike | Sequence[str | os.PathLike]  # one TSV file, or source and target


def as_list(corpus: Corpus) -> list:
    """A corpus's paths as a list: one path, or the (source, target) pair given."""
    return [corpus] if isinstance(corpus, (str, os.PathLike)) else list(corpus)


def named(key: str, cli: bool) -> str:
    """load_data's keyword `key` as a message names it: itself (max_vocab), or with `cli` as
    minis2s train's option (--max-vocab)."""
    return "--" + key.replace("_", "-") if cli else key


def given(key: str, value: Any, cli: bool) -> str:
    """load_data's keyword `key` with its `value`, as its caller wrote it: `max_vocab=6`, or
    with `cli` as typed on the command line, `--max-vocab 6`."""
    return f"{named(key, cli)} {value}" if cli else f"{key}={value!r}"


def check_choices(
    task, data, dev_data, test_data, tokenizer, max_len, train_size, bpe_merges, seed,
    *, cli: bool = False,
) -> None:  # fmt: skip
    """load_data's arguments fit together: a task or a corpus, and the corpus-only options only
    with a corpus. Refusals name load_data's keywords (dev_data), with `cli` train's options."""
    said = "" if cli else "load_data: "
    if (task is None) == (data is None):
        raise ValueError(f"{said}give exactly one of {named('task', cli)} (a built-in task) and "
                         f"{named('data', cli)} (a corpus)")  # fmt: skip
    for key, corpus in (("data", data), ("dev_data", dev_data), ("test_data", test_data)):
        if corpus is not None:  # not a falsy test: dev_data="" is no dev set, not "held out"
            check_paths(said + named(key, cli), corpus, key != "data")
    corpus_only = {"dev_data": dev_data, "test_data": test_data, "max_len": max_len,
                   "tokenizer": tokenizer, "bpe_merges": bpe_merges}  # fmt: skip
    asked = [named(key, cli) for key, value in corpus_only.items() if value is not None]
    if task is not None and asked:
        from minis2s.data.tasks import get_task

        get_task(task)  # an unknown name is refused as such, naming the tasks
        corpus = "a --data corpus" if cli else "a corpus (data)"
        raise ValueError(
            f"{said}{' and '.join(asked)} {'applies' if len(asked) == 1 else 'apply'} to "
            f"{corpus}; the built-in task {task!r} has its own {_tokenizer_of(task)}dev and test "
            "splits and lengths"
        )
    for name, value in (("train_size", train_size), ("max_len", max_len)):
        if value is not None and (not_int(value) or value < 1):
            raise ConfigError("load_data", name, value, "must be an integer >= 1 (or left out)",
                              "{field} {body}; got {value_r}")  # fmt: skip
    if not_int(seed) or seed < 0:
        raise ValueError(f"load_data: seed must be an integer >= 0; got {seed!r}")


def _tokenizer_of(task: str) -> str:
    """ "tokenizer (char), " for a built-in task's name."""
    from minis2s.data.tasks import TASKS

    return f"tokenizer ({TASKS[task].tokenizer}), "


def not_int(value: Any) -> bool:
    return isinstance(value, bool) or not isinstance(value, Integral)


def check_paths(flag: str, corpus: Any, optional: bool = False) -> None:
    """A corpus is one path or a (source, target) pair of them, each a non-empty str or
    os.PathLike (bytes, or a list of anything else, would be read as something else); `flag`
    names it, `optional` where it may be left out."""
    paths = as_list(corpus) if isinstance(corpus, (str, os.PathLike, list, tuple)) else [corpus]
    for path in paths:
        if not isinstance(path, (str, os.PathLike)):
            raise ValueError(f"{flag}: a corpus path must be a str or pathlib.Path; got "
                             f"{type(path).__name__} {path!r:.60}")  # fmt: skip
    if not paths or any(os.fspath(path) == "" for path in paths):
        raise ValueError(
            f"{flag} {corpus!r} is empty: give a TSV file, or a source and a target file"
            + (" (or leave it out)" if optional else "")
        )


def is_bpe(tokenizer: str | Tokenizer | None) -> bool:
    """Whether the tokenizer is "bpe", to be learned, or a BPE Tokenizer learned before."""
    return tokenizer == "bpe" or isinstance(tokenizer, Tokenizer) and tokenizer.name == "bpe"


def check_bpe(tokenizer: str | Tokenizer | None, bpe_merges: int | None) -> None:
    """A tokenizer name is one of TOKENIZERS or "bpe"; --bpe-merges only with --tokenizer bpe.
    With a BPE Tokenizer learned before (--resume's), it only records how many merges that one
    was asked for. A refusal is load_data's, of bpe_merges, a ConfigError that `minis2s train`
    words as its --bpe-merges (cli_options.option_words)."""
    if isinstance(tokenizer, str) and tokenizer != "bpe":
        get_tokenizer(tokenizer)  # an unknown name is refused with the list of names
    if bpe_merges is None:
        return
    if not is_bpe(tokenizer):
        name = get_tokenizer(tokenizer).name if tokenizer else "char (the default)"
        why = "which learns that many merges from the training pairs; the tokenizer here is"
        raise ConfigError("load_data", "bpe_merges", bpe_merges,
                          f"applies to tokenizer='bpe', {why} {name}", "{field} {body}",
                          f"applies to --tokenizer bpe, {why} {name}")  # fmt: skip
    if isinstance(bpe_merges, bool) or not isinstance(bpe_merges, Integral) or bpe_merges < 0:
        raise ConfigError("load_data", "bpe_merges", bpe_merges, "must be an integer >= 0",
                          "{field} {body}; got {value_r}")  # fmt: skip


def check_vocab_options(min_freq: Any, max_vocab: Any) -> None:
    """min_freq is an integer >= 1, max_vocab one with room for a word after the specials
    (before any file is read, in load_data's words rather than Vocab.build's, which `minis2s
    train` words as its --min-freq and --max-vocab: cli_options.option_words)."""
    if min_freq is not None and (not_int(min_freq) or min_freq < 1):
        raise ConfigError("load_data", "min_freq", min_freq, "must be an integer >= 1",
                          "{field} {body}; got {value_r}")  # fmt: skip
    if max_vocab is not None and (not_int(max_vocab) or max_vocab <= len(SPECIALS)):
        raise ConfigError(
            "load_data", "max_vocab", max_vocab,
            f"leaves no room for a word besides the {len(SPECIALS)} special tokens, so every "
            f"word would be <unk>: give an integer above {len(SPECIALS)}, or leave it out for no "
            "limit", "{field}={value_r} {body}",
        )  # fmt: skip


def check_vocabs(vocabs: Any, tokenizer: Any) -> None:
    """`vocabs` is None or (source Vocab or None, target Vocab): 'not enough values to unpack'
    named nothing. Given, they are not read with BPE merges learned now: their pieces are those
    of the merges they were built with, and new pieces would be <unk> or other pieces' ids."""
    if vocabs is None:
        return
    ok = isinstance(vocabs, tuple | list) and len(vocabs) == 2
    if not (ok and isinstance(vocabs[0], Vocab | None) and isinstance(vocabs[1], Vocab)):
        raise ValueError(
            f"load_data: vocabs is {vocabs!r:.60}; give (src_vocab, tgt_vocab), two Vocab (the "
            "source one None for feature sources), as a Translator holds them: (tr.src_vocab, "
            "tr.tgt_vocab)"
        )
    for k, vocab in enumerate(vocabs):  # a run saved with such a token would not load
        try:
            if vocab is not None:
                vocab.check_tokenized(f"load_data: vocabs[{k}]: its ")
        except ValueError as e:
            raise ValueError(
                f"{e}; a run's saved vocabulary holding it is refused as edited: give "
                "vocabularies of tokenized text (Vocab.build)"
            ) from None
    if tokenizer == "bpe":
        raise ValueError(
            "load_data: tokenizer='bpe' learns new merges from these training pairs, but the "
            "vocabularies given (vocabs) hold the pieces of the merges they were built with: pass "
            "that Tokenizer, tokenizer=tr.tokenizer (a Translator's) or data.tokenizer (the Data "
            "they came from)"
        )


def check_each_side_kept(
    sides: dict[str, tuple[Mapping[str, int], Vocab]], n_pairs: int, min_freq: int,
    max_vocab: int | None, shared: bool, cli: bool = False,
) -> None:  # fmt: skip
    """ValueError where a side's vocabulary holds none of that side's training tokens, so that
    every word of it would be <unk>: min_freq above all its counts, or, with share_vocab, which
    counts both sides together, min_freq or max_vocab keeping only the other side's tokens.
    `sides`: {"source" | "target": (that side's tokens (token -> count), its vocabulary)}.
    Named as load_data's keywords, with `cli` as train's options."""
    for side, (counts, vocab) in sides.items():
        kept = set(vocab.tokens[len(SPECIALS) :])
        if any(t in kept for t in counts):
            continue
        if not shared:
            raise ValueError(
                f"{given('min_freq', min_freq, cli)} leaves the {side} vocabulary no token "
                f"(every token of the {n_pairs} training pairs is rarer), so every {side} word "
                f"would be <unk>: lower {named('min_freq', cli)}"
            )
        limits, fixes = [], []  # one of them at least: without either every token is kept
        if min_freq > 1:
            limits, fixes = [given("min_freq", min_freq, cli)], [f"lower {named('min_freq', cli)}"]
        if max_vocab is not None:
            limits.append(given("max_vocab", max_vocab, cli))
            fixes.append(f"raise {named('max_vocab', cli)}")
        other = "target" if side == "source" else "source"
        share = named("share_vocab", cli)
        raise ValueError(
            f"{share} counts the source and target tokens together, and "
            f"{' with '.join(limits)} keeps none of the {side} tokens (the {len(kept)} kept are "
            f"{other} tokens), so every {side} word would be <unk>: {' or '.join(fixes)}, or "
            f"leave {share} out"
        )
