"""Byte-pair encoding (Sennrich, Haddow & Birch 2016): words split into learned subword pieces.

A word-level vocabulary has no id for a word it never saw; a character-level one makes long
sequences. BPE sits between them. It starts from the characters of each word and learns, one
step at a time, to merge the adjacent pair of symbols that is most frequent in the corpus into
a new symbol. Frequent words end up as one piece, rare ones as a few pieces that frequent words
share, and any word can still be spelled from its characters.

Learned on low x5, lower x2, newest x6, widest x3, the first merges are (e, s) and (s, t) tied
at 9, the smaller pair first, then (es, t) at 9, then (l, o) and (o, w) tied at 7, the smaller
first, then (lo, w) at 7. With those four, "lowest" (never seen) is "low" + "est". Every piece
of a word but its last carries the continuation mark MARK at its end, as subword-nmt writes
them, so that detokenize knows which pieces make one word.

>>> merges = learn_merges({"low": 5, "lower": 2, "newest": 6, "widest": 3}, merges=4)
>>> merges
[('e', 's'), ('es', 't'), ('l', 'o'), ('lo', 'w')]
>>> tok = bpe_tokenizer(merges)
>>> tok.tokenize("The lowest.")
['T@@', 'h@@', 'e', 'low@@', 'est', '.']
>>> tok.detokenize(['T@@', 'h@@', 'e', 'low@@', 'est', '.'])
'The lowest.'

Words are those of wordpunct_tokenize, and the merges are learned over source and target
sentences together (joint BPE), so that a name spelled alike on both sides splits alike.
"""

from __future__ import annotations

import functools
import heapq
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

from minis2s import validate
from minis2s.data.tokenize import Tokenizer, normalize
from minis2s.data.wordpunct import wordpunct_detokenize, wordpunct_tokenize

# Why the mark is unambiguous: wordpunct_tokenize makes "@" a token of its own, except that a
# combining mark, a joiner control or an emoji modifier may stick to it ("@\u0301"); and "@" is
# never merged with anything (AT below; bpe_tokenizer refuses such merges). So a piece that
# contains "@" is "@" itself, and a token ends with "@@" only when it is a marked piece ("@"
# marked is "@@@").
MARK = "@@"
AT = "@"
# words whose pieces a bpe tokenizer remembers (least recently used go first): as many as a
# corpus of a million pairs has, or each pass over it splits its rare words again (at most
# ~150 MB of words and their pieces)
CACHED = 2**18

Pair = tuple[str, str]
Index = defaultdict[Pair, set[int]]  # pair -> ids of the words that contain it
Heap = list[tuple[int, str, str]]  # (-count, a, b): the first entry is the most frequent pair


def merge_pair(symbols: Sequence[str], pair: Pair) -> list[str]:
    """`symbols` with each occurrence of `pair` made one symbol, left to right without overlap:
    ["a", "a", "a"] with (a, a) -> ["aa", "a"]."""
    a, b = pair
    merged, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and symbols[i] == a and symbols[i + 1] == b:
            merged.append(a + b)
            i += 2
        else:
            merged.append(symbols[i])
            i += 1
    return merged


def mergeable(pair: Pair) -> bool:
    """Whether a learner may merge `pair`: any pair but one with an "@" (see MARK)."""
    return AT not in pair[0] and AT not in pair[1]


# learning ----------------------------------------------------------------------------------


def _pair_counts(symbols: Sequence[str]) -> Counter[Pair]:
    """How often each adjacent pair occurs in one word (overlaps count: "aaa" has (a, a) twice)."""
    return Counter(zip(symbols, symbols[1:], strict=False))


def _index(words: list[list[str]], counts: list[int]) -> tuple[Counter[Pair], Index]:
    """Total count of each pair over the corpus (count-weighted), and pair -> ids of the words
    that contain it."""
    total: Counter[Pair] = Counter()
    where: Index = defaultdict(set)
    for i, symbols in enumerate(words):
        for pair, k in _pair_counts(symbols).items():
            total[pair] += k * counts[i]
            where[pair].add(i)
    return total, where


def _best(heap: Heap, total: Counter[Pair]) -> Pair | None:
    """The pair of highest count, the smallest (a, b) among ties: the heap's first entry that is
    current. An entry whose count is not its pair's count now is stale and dropped (each change
    pushed a new one); an old entry whose count came back is a duplicate, and harmless."""
    while heap:
        minus_count, a, b = heap[0]
        if total.get((a, b), 0) == -minus_count:
            return a, b
        heapq.heappop(heap)
    return None


def _merge_everywhere(
    pair: Pair,
    words: list[list[str]],
    counts: list[int],
    total: Counter[Pair],
    where: Index,
    heap: Heap,
) -> None:
    """Merge `pair` in the words that contain it, and update the pair counts, the index and the
    heap for those words alone: the other words keep their pairs."""
    change: Counter[Pair] = Counter()
    for i in where.pop(pair):
        old = _pair_counts(words[i])
        words[i] = merge_pair(words[i], pair)
        new = _pair_counts(words[i])
        for p in old.keys() - new.keys():
            where[p].discard(i)
        for p in new.keys() - old.keys():
            where[p].add(i)
        for p in old.keys() | new.keys():
            change[p] += (new[p] - old[p]) * counts[i]
    for p, d in change.items():
        if d == 0:
            continue
        total[p] += d
        if total[p] == 0:
            del total[p]
        elif mergeable(p):
            heapq.heappush(heap, (-total[p], *p))


def learn_merges(
    word_counts: Mapping[str, int], merges: int, min_count: int = 2
) -> list[tuple[str, str]]:
    """Up to `merges` merge rules (a, b), in the order learned, from word -> count (words as
    wordpunct_tokenize gives them). Each step merges the adjacent pair with the highest total
    count over all words; ties go to the smallest pair (a, b) in string order, so the result
    does not depend on dict order. Stops early when the best pair occurs fewer than `min_count`
    times, or no pair is left. A pair with "@" is never merged (see MARK).

    Incremental: after a merge only the words that contained the pair are recounted, and a heap
    of (-count, a, b) finds the best pair (stale entries are skipped when they reach the top).
    """
    validate.integer("learn_merges", "merges", merges, 0)
    validate.integer("learn_merges", "min_count", min_count, 1)
    words, counts = [], []
    for word, count in word_counts.items():
        if not isinstance(word, str):
            raise ValueError(f"learn_merges: words must be strings; got {word!r}")
        validate.integer("learn_merges", f"the count of {word!r}", count, 0)
        if count > 0:
            words.append(list(word))
            counts.append(count)
    total, where = _index(words, counts)
    heap = [(-k, *p) for p, k in total.items() if mergeable(p)]
    heapq.heapify(heap)
    learned: list[Pair] = []
    while len(learned) < merges:
        pair = _best(heap, total)
        if pair is None or total[pair] < min_count:
            break
        learned.append(pair)
        _merge_everywhere(pair, words, counts, total, where, heap)
    return learned


# applying ----------------------------------------------------------------------------------


def segment(word: str, ranks: Mapping[tuple[str, str], int]) -> list[str]:
    """The pieces of one word, without marks: start from its characters and repeatedly merge the
    adjacent pair of lowest rank (ranks: pair -> its index in the merges), until no adjacent
    pair has a rank. "".join(segment(w, ranks)) == w always."""
    symbols = list(word)
    while len(symbols) > 1:
        ranked = [(ranks[p], p) for p in zip(symbols, symbols[1:], strict=False) if p in ranks]
        if not ranked:
            break
        symbols = merge_pair(symbols, min(ranked)[1])
    return symbols


def bpe_detokenize(tokens: Sequence[str]) -> str:
    """Glue each token that ends with MARK to the next (mark removed), then space the words as
    wordpunct_detokenize does. Any tokens are accepted, in any order: a marked token at the end
    ends its word, and a word left empty (a lone MARK, an empty token) is dropped."""
    words, pieces = [], []
    for t in tokens:
        if t.endswith(MARK):
            pieces.append(t[: -len(MARK)])
            continue
        pieces.append(t)
        words.append("".join(pieces))
        pieces = []
    words.append("".join(pieces))
    return wordpunct_detokenize([w for w in words if w])


def _checked_merges(merges: Sequence[Sequence[str]]) -> tuple[Pair, ...]:
    """The merges as a tuple of pairs (a list [a, b], as JSON gives it back, becomes a tuple);
    ValueError for anything that is not a pair of non-empty strings without "@"."""
    if isinstance(merges, (str, bytes)) or not isinstance(merges, Sequence):
        raise ValueError(f"bpe_tokenizer: merges must be a list of pairs (a, b); got {merges!r}")
    rules = []
    for i, m in enumerate(merges):
        ok = isinstance(m, (tuple, list)) and len(m) == 2
        if not (ok and all(isinstance(s, str) and s for s in m)):
            raise ValueError(
                f"bpe_tokenizer: merge {i} must be a pair of two non-empty strings; got {m!r}"
            )
        if not mergeable(m):
            raise ValueError(
                f"bpe_tokenizer: merge {i} {tuple(m)!r} contains {AT!r}; the continuation mark "
                f"{MARK!r} is unambiguous only if no piece but {AT!r} itself has one: learn the "
                "merges with learn_merges, which never merges it"
            )
        rules.append((m[0], m[1]))
    return tuple(rules)


def word_pieces(merges: Sequence[Pair]) -> Callable[[str], tuple[str, ...]]:
    """word -> its pieces, all but the last marked with MARK, as the bpe tokenizer of `merges`
    (checked) splits a wordpunct word; load_data splits each distinct word of a corpus once."""
    ranks: dict[Pair, int] = {}
    for rank, pair in enumerate(merges):
        ranks.setdefault(pair, rank)  # a repeated rule keeps its first rank, as it was learned

    def marked_pieces(word: str) -> tuple[str, ...]:
        pieces = segment(word, ranks)
        return (*(p + MARK for p in pieces[:-1]), *pieces[-1:])

    return marked_pieces


def bpe_tokenizer(merges: Sequence[tuple[str, str]], form: str | None = "NFC") -> Tokenizer:
    """The "bpe" Tokenizer of these merges (in the order learned). tokenize puts the text in
    Unicode normal form `form` (None: as written, for runs saved before minis2s normalised
    text), splits it with wordpunct_tokenize and each word into its pieces, all but the last
    marked with MARK; detokenize is bpe_detokenize. The pieces of the last CACHED distinct words
    are kept: words repeat, and a long translate session must not keep every word it ever read."""
    rules = _checked_merges(merges)
    normalize(form, "")  # an unknown form is refused here, not at the first sentence
    marked_pieces = functools.lru_cache(maxsize=CACHED)(word_pieces(rules))

    def split(text: str) -> list[str]:
        tokens: list[str] = []
        for word in wordpunct_tokenize(text):
            tokens.extend(marked_pieces(word))
        return tokens

    return Tokenizer("bpe", split, bpe_detokenize, merges=rules, form=form)


def whole_words(tokenizer: Tokenizer, texts: Iterable[str]) -> float:
    """The share of the words of `texts` that `tokenizer` keeps in one piece (0.0 for no words).
    Near 1 on the training text, the merges have made a word vocabulary again: an unseen word
    then splits into pieces that training never showed either (they become <unk>)."""
    n_words = n_whole = 0
    for text in texts:
        for word in wordpunct_tokenize(tokenizer.normalize(text)):
            n_words += 1
            n_whole += len(tokenizer.tokenize(word)) == 1
    return n_whole / n_words if n_words else 0.0


def learn_tokenizer(texts: Iterable[str], merges: int, min_count: int = 2) -> Tokenizer:
    """A bpe Tokenizer learned on `texts`: pass the source and the target sentences together
    (joint BPE). Counts the wordpunct words of the texts in NFC, as the tokenizer reads them, and
    learns up to `merges` merges (learn_merges)."""
    if isinstance(texts, str):
        raise ValueError("learn_tokenizer: texts must be a list of sentences, not one string")
    counts: Counter[str] = Counter()
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(
                f"learn_tokenizer: texts[{i}] is {type(text).__name__} {text!r:.40}; give "
                "sentences (strings): for pairs, [text for pair in pairs for text in pair]"
            )
        counts.update(wordpunct_tokenize(normalize("NFC", text)))
    return bpe_tokenizer(learn_merges(counts, merges, min_count))
