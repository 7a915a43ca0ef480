"""BPE on a large corpus. Learning is incremental (only the words holding the merged pair are
recounted), so its cost follows the distinct words, not the lines. Applying it: a corpus's
words are split into pieces once each, when the tokenizer remembers as many words as a large
corpus has; with 65,536 remembered, a corpus of more distinct words (1M pairs of real text
have a few hundred thousand) re-split most of its rare words on every pass over it (load_data
makes two to four), three times slower a pass."""

from minis2s.data import bpe


def test_a_corpus_of_200k_distinct_words_is_split_once_a_word(monkeypatch):
    calls = []
    real = bpe.segment
    monkeypatch.setattr(bpe, "segment", lambda word, ranks: (calls.append(1), real(word, ranks))[1])
    tok = bpe.bpe_tokenizer([("a", "b")])
    words = [f"w{i}" for i in range(200_000)]
    text = [" ".join(words[k : k + 50]) for k in range(0, len(words), 50)]
    for _ in range(2):  # two passes over the corpus, as building the vocabulary and encoding
        for line in text:
            tok.tokenize(line)
    assert len(calls) == len(words)
