"""The Python API: a trained model with its vocabularies, to translate and evaluate text.

The Translator and its decoding live here; what its methods hand on lives beside it: reading a
run from disk (`load`: load_run.py), decoding in batches of similar length (length_batches.py),
forced decoding (`score`: scoring.py), the figures of outputs against references
(`evaluate`, `evaluate_translations`: evaluation.py), and the checks of its inputs
(_api_checks.py) and of translate's decoding options (_decoding_checks.py), which
_translate_checks.py makes into one check of translate's arguments.

>>> from minis2s.api import Translator
>>> tr = Translator.load("runs/reverse-digits")            # the best checkpoint
>>> tr.translate(["12345"])[0].text                          # doctest: +SKIP
'54321'
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from minis2s import _api_checks as checks
from minis2s import _decoding_checks as decoding_checks
from minis2s import _warn, evaluation, length_batches, load_run, long_sources, scoring, validate
from minis2s._translate_checks import check_translate_arguments
from minis2s.data.batching import pad
from minis2s.data.tokenize import Tokenizer, get_tokenizer
from minis2s.data.vocab import Vocab
from minis2s.decode.replace_unk import replace_unknown
from minis2s.models import Seq2Seq

# translate's methods and the keyword options each takes (_decoding_checks.py checks them)
METHODS, OPTIONS = decoding_checks.METHODS, decoding_checks.OPTIONS


class Translation(NamedTuple):
    """One output: its text (the tokens detokenized, in the tokenizer's normal form) and
    tokens, log-probability, ranking score, the source tokens, the attention weights
    (len(tokens) (+1 for EOS), len(src_tokens)) or None, and whether it ended with EOS (False:
    the maximum length cut it, max_len_a * |src| + max_len_b tokens)."""

    text: str
    tokens: list[str]
    logprob: float
    score: float
    src_tokens: list[str]
    attention: np.ndarray | None
    ended: bool = True


class Translator:
    """A Seq2Seq model plus what turns text into ids and back."""

    def __init__(
        self,
        model: Seq2Seq,
        src_vocab: Vocab | None,
        tgt_vocab: Vocab,
        tokenizer: str | Tokenizer = "char",
        config: dict[str, Any] | None = None,
    ) -> None:
        validate.model("Translator", model)  # its ModelConfig, say: no .cfg to read
        checks.check_given_vocabs(model.cfg, src_vocab, tgt_vocab)
        checks.check_given_config(config)
        self.model, self.src_vocab, self.tgt_vocab = model, src_vocab, tgt_vocab
        self.tokenizer = get_tokenizer(tokenizer)
        self.config = config or {}  # a loaded run's config: "model", "train", "data", "dtype"
        self.unknown = 0  # source tokens mapped to <unk> so far
        self.source_tokens = 0  # source tokens read so far, known or not
        self.members: list[Translator] = []  # an ensemble's runs (load_ensemble), each alone

    @classmethod
    def load(cls, path: str | os.PathLike, which: str = "best") -> Translator:
        """Load a run directory (its `best` or `last` checkpoint) or a checkpoint directory.

        A run has no `best` checkpoint until its first dev evaluation has finished (at an
        epoch's end, or with --eval-every N at update N; a run stopped earlier by `max_steps` or
        Ctrl-C); `which="best"` then loads `last`, with a
        warning that says so. A checkpoint directory is loaded as given: `which="last"` with one
        that is not a `last` (runs/x/best) is refused, naming the run's last/."""
        path = checks.check_run_path("Translator.load", path, which)
        checkpoint_dir = load_run.checkpoint_dir(path, which)
        return cls(*load_run.read(checkpoint_dir))

    @classmethod
    def load_ensemble(cls, paths: Sequence[str | os.PathLike], which: str = "best") -> Translator:
        """Load several runs (each as `load` does) as one model, an `Ensemble` that decodes with
        the mean of their next-token distributions. They must share the tokenizer and both
        vocabularies (train them on the same data with different --seed); they may differ in
        cell, sizes, attention and dtype (with a float64 run, the ensemble computes in float64).
        The Translator's `config` is the first run's, and `members` holds each run's own
        Translator, as loaded."""
        from minis2s import _ensemble_checks
        from minis2s.models.ensemble import Ensemble

        names = _ensemble_checks.check_paths(paths)
        names = [checks.check_run_path("Translator.load_ensemble", p, which, f"paths[{i}]")
                 for i, p in enumerate(names)]  # fmt: skip
        with warnings.catch_warnings():  # a run without best/: load warns, once a member
            warnings.simplefilter("ignore")
            checkpoints = [load_run.checkpoint_dir(path, which) for path in names]
        _ensemble_checks.check_distinct(names, checkpoints)
        members = [cls.load(path, which) for path in names]
        _ensemble_checks.check_members(names, members)
        first = members[0]
        model = Ensemble(_ensemble_checks.in_one_dtype([m.model for m in members]), names)
        tr = cls(model, first.src_vocab, first.tgt_vocab, first.tokenizer, first.config)
        tr.members = members
        return tr

    def encode_sources(
        self,
        sources: Sequence[Any],
        first: int = 0,
        *,
        where: str = "translate",
        count: bool = True,
    ) -> tuple[Any, Any, list[list[str]]]:
        """(src (N, S) ids or (N, S, F) features, src_mask (N, S), source tokens per row).
        `first`: the index of sources[0] in the caller's list, which error messages name, after
        `where`, the caller; `count`: add the tokens to `unknown` and `source_tokens` (not when
        the sources were counted already, by the translating of the same pairs)."""
        validate.boolean(where, "count", count)
        if len(sources) == 0:
            raise ValueError(f"{where}: no source sentences given")
        if self.model.cfg.src_features > 0:
            return checks.pad_feature_sources(sources, self.model.cfg.src_features, first, where)
        for i, s in enumerate(sources, start=first):
            if not isinstance(s, str):
                raise ValueError(
                    f"{where}: sources[{i}] is {checks.describe(s)}, but this model reads text "
                    "(src_features = 0): give it strings, one sentence each"
                )
        toks = [self.tokenizer.tokenize(s) for s in sources]
        for i, t in enumerate(toks, start=first):
            if not t:
                raise ValueError(
                    f"{where}: sources[{i}] (sentence {i + 1}) is empty; give each sentence "
                    "at least one token, or leave it out"
                )
        if count:
            self.unknown += sum(self.src_vocab.count_unknown(t) for t in toks)
            self.source_tokens += sum(map(len, toks))
        ids, mask = pad([self.src_vocab.encode(t) for t in toks])
        return ids, mask, toks

    def translate(
        self,
        sources: Sequence[Any],
        *,
        method: str = "greedy",
        batch_size: int = 64,
        nbest: int = 1,
        seed: int | None = None,
        replace_unk: bool = False,
        phrase_table: Mapping[str, str] | None = None,
        places: Sequence[int] | None = None,
        **options: Any,
    ) -> list[Any]:
        """Translate `sources` (strings, or (S, F) arrays for a feature model).

        method: "greedy", "beam" (options beam_size, length_penalty, alpha: alpha only with
        length_penalty="gnmt", beta: GNMT's coverage penalty) or "sample" (options
        temperature, top_k, top_p; `seed` seeds the draws, default 0: sources[i] draws from
        default_rng([seed, i]), so its sample depends on the seed, its text and its place i in
        the list, not on the other sources or batch_size); all take max_len_a, max_len_b.
        `replace_unk`: write each `<unk>` of an output as the source token it attends to most
        (`replace_unknown`; needs an attention model that reads text); its logprob and score
        stay the model's, for `<unk>`. `phrase_table` (with replace_unk): source token -> what
        to write for it instead of a copy. `places`: each source's place in the caller's input,
        whose stream it samples from in place of its index here (a caller that leaves some lines
        out, as `minis2s translate` its blank ones, keeps the others' samples; default 0..N-1;
        only with method="sample", as `seed`).
        Returns one Translation per source, or a list of
        `nbest` Translations per source when nbest > 1, in the order of `sources`.

        The sources are checked in their order, then decoded in batches of `batch_size` sorted
        by length (`length_batches`: less padding, fewer steps past a batch's shorter outputs).
        An output does not depend on the batch its source shares, but for float rounding: a
        float32 model may pick the other of two tokens tied to within its rounding.
        """
        phrase_table = self._check_decoding(
            "translate", sources, method=method, batch_size=batch_size, nbest=nbest, seed=seed,
            replace_unk=replace_unk, phrase_table=phrase_table, places=places, **options,
        )  # fmt: skip
        seed = 0 if seed is None else seed
        rows, toks = length_batches.encode_each(self, sources, batch_size)  # the caller's order
        decoding_checks.check_lengths(method, options, [len(r) for r in rows], "translate")
        self._warn_of_long([len(t) for t in toks])
        hyps = length_batches.decode(self.model, rows, method=method, batch_size=batch_size,
                                     nbest=nbest, seed=seed, options=options,
                                     places=places)  # fmt: skip
        out: list[Any] = []
        for h_list, st in zip(hyps, toks, strict=True):
            ts = [self._to_translation(h, st, replace_unk, phrase_table) for h in h_list]
            out.append(ts if nbest > 1 else ts[0])
        return out

    # translate's checks of its arguments, a method: tr._check_decoding(where, sources, /,
    # **translate's keywords); evaluate calls it too, in its own words
    _check_decoding = check_translate_arguments

    @property
    def longest_source(self) -> int | None:
        """The most tokens (frames, for a feature model) of a source the model trained on, as its
        run recorded it; None for a run saved before minis2s recorded it, or a model built by
        hand. An ensemble's is its members' largest (None if one has none)."""
        if self.members:
            figures = [m.longest_source for m in self.members]
            return None if None in figures else max(figures)
        return long_sources.recorded(self.config)

    @property
    def source_unit(self) -> str:
        """What a source's length counts: "tokens", or "frames" for a feature model."""
        return "frames" if self.model.cfg.src_features else "tokens"

    def _warn_of_long(self, lengths: list[int]) -> None:
        """A LongSourceWarning naming the sources longer than `longest_source`."""
        text = long_sources.named_note(
            lengths, self.longest_source, lambda i: f"sources[{i}]", "source", self.source_unit
        )
        if text:
            _warn.warn(long_sources.LongSourceWarning(text))

    def _to_translation(
        self, h: Any, src_tokens: list[str], replace_unk: bool, table: Mapping[str, str] | None
    ) -> Translation:
        tokens = self.tgt_vocab.decode(h.ids)
        if replace_unk:
            tokens = replace_unknown(h.ids, tokens, h.attention, src_tokens, table)
        text = self._text(tokens)
        return Translation(text, tokens, h.logprob, h.score, src_tokens, h.attention, h.ended)

    def _text(self, tokens: list[str]) -> str:
        """`tokens` joined, in the tokenizer's normal form: an output's text, and a reference's
        as compared with it (`as_output`). Joined tokens of NFC text need not be NFC: a char
        model may write "e" then a lone U+0301 (which the vocabulary holds from letters without
        a composed form), é in NFD; a tokenizer of one's own may join "e" and "\u0301" of
        "e \u0301" without the space between them."""
        return self.tokenizer.normalize(self.tokenizer.detokenize(tokens))

    def score(
        self, pairs: Sequence[tuple[Any, str]], *, batch_size: int = 64
    ) -> list[scoring.Score]:
        """Forced decoding: for each (source, target string) pair, how likely the model finds the
        target, token by token with teacher forcing (`scoring.score`). A Score holds `logprob`,
        `n_tokens` (</s> included), `token_logprobs`, `tokens` and `n_unknown` (target tokens
        scored as <unk>); `scoring.summarize(scores)` gives the corpus's cross-entropy and
        perplexity."""
        return scoring.score(self, pairs, batch_size=batch_size)

    def as_output(self, reference: str) -> str:
        """`reference` as this model's output would spell it, tokenized and joined back (in the
        tokenizer's normal form, as an output): the word tokenizer's output has single spaces,
        so "a  b " is compared as "a b"."""
        if not isinstance(reference, str):
            raise ValueError(
                f"as_output: reference is {checks.describe(reference)}; give one reference "
                "sentence, a string"
            )
        return self._text(self.tokenizer.tokenize(reference))

    def evaluate(
        self,
        pairs: Sequence[tuple[Any, str]],
        *,
        bleu: bool = True,
        by_length: int | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Translate the sources of `pairs`, a list of (source, reference) with the reference a
        string, and score the outputs (`evaluate_translations`); `options` as `translate`. Also
        the references' own teacher-forced figures (`scoring.reference_figures`): ref_loss (nats
        per token, as the dev loss), ref_ppl and ref_unknown; and cut, how many outputs the
        maximum length cut before </s> (`Translation.ended` False)."""
        return evaluation.evaluate(self, pairs, bleu=bleu, by_length=by_length, **options)

    def evaluate_translations(
        self,
        pairs: Sequence[tuple[Any, str]],
        translations: Sequence[Translation],
        *,
        bleu: bool = True,
        by_length: int | None = None,
    ) -> dict[str, Any]:
        """The figures of `translations` (one per pair, from `translate`) against the references.

        exact_match (each reference compared `as_output`), n, BLEU and chrF (when sacrebleu is
        installed and `bleu`), token_accuracy (`metrics.token_accuracy` over target ids, EOS
        included), and with `by_length` = W: "by_length", the exact match per band of W source
        tokens (a list of `metrics.Band`, see `metrics.exact_match_by_length`).
        """
        return evaluation.evaluate_translations(
            self, pairs, translations, bleu=bleu, by_length=by_length
        )
