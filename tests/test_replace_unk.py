"""Unknown-word replacement: each <unk> of an output written as the source token it attends to
most (`translate(..., replace_unk=True)`, `--replace-unk`), and how evaluate scores a copy."""

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minis2s import backend
from minis2s.api import Translator
from minis2s.cli import main
from minis2s.data.bpe import learn_tokenizer
from minis2s.data.corpus import CorpusError, read_phrase_table
from minis2s.data.tokenize import get_tokenizer
from minis2s.data.vocab import UNK, UNK_ID, Vocab
from minis2s.decode.replace_unk import replace_unknown
from minis2s.models import ModelConfig, Seq2Seq
from tests.test_api import _outputs


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_each_unk_becomes_the_source_token_of_its_rows_largest_weight(data):
    S = data.draw(st.integers(1, 6), label="S")
    T = data.draw(st.integers(1, 6), label="T")
    ids = data.draw(st.lists(st.sampled_from([UNK_ID, 4, 5]), min_size=T, max_size=T))
    src = [f"w{j}" for j in range(S)]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    rows = T + data.draw(st.integers(0, 1), label="EOS row")  # the step that chose EOS, if any
    attention = rng.dirichlet(np.ones(S), rows)
    tokens = [UNK if i == UNK_ID else f"t{i}" for i in ids]
    table = {w: w.upper() for w in data.draw(st.sets(st.sampled_from(src)), label="in table")}
    got = replace_unknown(ids, tokens, attention, src)
    in_table = replace_unknown(ids, tokens, attention, src, table)
    for t in range(T):
        if ids[t] == UNK_ID:
            most = src[max(range(S), key=lambda j: attention[t, j])]
            assert got[t] == most and in_table[t] == table.get(most, most)
        else:
            assert got[t] == in_table[t] == tokens[t]


def _unk_translator(attention: str = "general") -> Translator:
    """A word model whose output layer always prefers <unk> (and never </s>): every output
    token is <unk>, so each one is replaced."""
    src = Vocab.build([["Ana", "sees", "Bo", "and", "Cy"]])
    tgt = Vocab.build([["ve", "a", "y"]])
    cfg = ModelConfig(len(src), len(tgt), emb=4, hidden=6, attention=attention,
                      input_feed=attention != "none")  # fmt: skip
    model = Seq2Seq(cfg)
    model.params["out.b"][...] = 0.0
    model.params["out.b"][UNK_ID] = 50.0
    return Translator(model, src, tgt, "word")


@pytest.mark.parametrize(
    "method, options",
    [("greedy", {}), ("beam", {"beam_size": 3}), ("sample", {"temperature": 0.5}),
     ("beam", {"beam_size": 3, "nbest": 2})],
)  # fmt: skip
def test_translate_replaces_each_unk_by_its_most_attended_source_token(method, options):
    tr = _unk_translator()
    sources = ["Ana sees Bo", "Zed and Cy", "Xu"]  # Zed and Xu: not in the vocabulary
    kw = {"method": method, "max_len_b": 2, **options}
    flat = lambda outs: [t for o in outs for t in (o if isinstance(o, list) else [o])]  # noqa: E731
    plain = flat(tr.translate(sources, **kw))
    copied = flat(tr.translate(sources, replace_unk=True, **kw))
    assert len(plain) == len(copied) == len(sources) * options.get("nbest", 1)
    for p, c in zip(plain, copied, strict=True):
        most = [p.src_tokens[int(np.argmax(row))] for row in p.attention]  # per step
        want = [most[t] if token == UNK else token for t, token in enumerate(p.tokens)]
        assert c.tokens == want and c.text == " ".join(want)
        assert (c.logprob, c.score, c.src_tokens) == (p.logprob, p.score, p.src_tokens)
        np.testing.assert_array_equal(c.attention, p.attention)
    best = plain[:: options.get("nbest", 1)]  # an n-best list's others hold other words too
    assert all(t.tokens and set(t.tokens) == {UNK} and not t.ended for t in best)
    assert set(copied[-len(plain) // len(sources)].tokens) == {"Xu"}  # unknown, copied as written


def test_replace_unk_is_refused_where_there_is_nothing_to_copy():
    with pytest.raises(ValueError, match=r"this model has no attention \(attention='none'\)"):
        _unk_translator("none").translate(["Ana"], replace_unk=True)
    assert set(_unk_translator("none").translate(["Ana"])[0].tokens) == {UNK}
    v = Vocab("01")
    frames = Translator(Seq2Seq(ModelConfig(0, len(v), src_features=3, emb=4, hidden=4)), None, v)
    with pytest.raises(ValueError, match=r"reads feature vectors \(src_features = 3\)"):
        frames.translate([np.zeros((2, 3))], replace_unk=True)
    with pytest.raises(ValueError, match=r"replace_unk='yes'; give True or False"):
        _unk_translator().translate(["Ana"], replace_unk="yes")


def test_a_phrase_table_translates_the_words_it_lists():
    tr = _unk_translator()
    kw = {"replace_unk": True, "max_len_b": 1}
    assert set(tr.translate(["Xu"], phrase_table={"Xu": "Su"}, **kw)[0].tokens) == {"Su"}
    assert set(tr.translate(["Xu"], phrase_table={"Bo": "Bu"}, **kw)[0].tokens) == {"Xu"}
    with pytest.raises(ValueError, match="phrase_table is read by replace_unk only"):
        tr.translate(["Xu"], phrase_table={"Xu": "Su"})
    for bad in ([("Xu", "Su")], {"Xu": 1}):
        with pytest.raises(ValueError, match="phrase_table must map source tokens"):
            tr.translate(["Xu"], phrase_table=bad, **kw)
    with pytest.raises(ValueError, match=r"read_phrase_table\('table.tsv'\)"):
        tr.translate(["Xu"], phrase_table="table.tsv", **kw)  # a file, as --phrase-table takes


def test_a_phrase_table_source_that_is_not_one_token_is_refused():
    """A source the tokenizer never makes ("New York" for a word model, a word for a char
    model) would never match: it was silently ignored."""
    kw = {"replace_unk": True, "max_len_b": 1}
    for bad in ({"Xu": "Su", "New York": "Nueva York"}, {"Xu ": "Su"}, {"": "Su"}):
        with pytest.raises(ValueError, match="never match"):
            _unk_translator().translate(["Xu"], phrase_table=bad, **kw)
    tr = _unk_translator()
    tr.tokenizer = get_tokenizer("char")
    with pytest.raises(ValueError, match=r"the char tokenizer reads it as \['X', 'u'\]"):
        tr.translate(["Xu"], phrase_table={"Xu": "Su"}, **kw)
    assert set(tr.translate(["X"], phrase_table={"X": "Su", " ": "_"}, **kw)[0].tokens) == {"Su"}
    tr.tokenizer = learn_tokenizer(["Ana sees Bo"] * 3, 5)  # a piece is written with its @@
    assert tr.translate(["Xu"], phrase_table={"X@@": "Su", "u": "-"}, **kw)


def test_a_phrase_table_file_is_read_as_a_corpus_and_lists_each_word_once(tmp_path):
    path = tmp_path / "table.tsv"
    path.write_text("gato\tcat\nperro\tdog\n", encoding="utf-8")
    assert read_phrase_table(path) == {"gato": "cat", "perro": "dog"}
    path.write_text("gato\tcat\nperro\tdog\ngato\tkitten\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"table.tsv:3: 'gato' is listed again \(first on line 1"):
        read_phrase_table(path)
    path.write_text("gato\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"table.tsv:1: expected exactly one TAB"):
        read_phrase_table(path)


def test_a_copied_word_counts_where_it_spells_the_reference():
    """Token accuracy compares spellings outside the vocabulary, as exact match compares texts:
    a copied "Zed" matches the reference's "Zed" (which the vocabulary lacks), an output <unk>
    matches only a reference that says "<unk>" (a corpus whose rare words were replaced before
    it was written), and a copy of the wrong word matches nothing."""
    tr = _unk_translator()
    refs = ["Zed ve a Bo", "Zed ve a Bo", "Zed ve a Bo", "<unk> ve a Bo"]
    outs = _outputs([["Zed", "ve", "a", "Bo"], [UNK, "ve", "a", "Bo"], ["Xu", "ve", "a", UNK],
                     [UNK, "ve", "a", "Bo"]], join=" ".join)  # fmt: skip
    tr.translate = lambda sources, **kw: outs
    got = tr.evaluate([("x", r) for r in refs], bleu=False)
    assert got["exact_match"] == pytest.approx(2 / 4)
    assert got["token_accuracy"] == pytest.approx((5 + 4 + 3 + 5) / 20)  # EOS counted in each


def test_the_command_line_replaces_unknown_words(tmp_path, capsys, monkeypatch):
    corpus = tmp_path / "names.tsv"
    corpus.write_text("".join(f"hi {n} .\thola {n} .\n" for n in ("Ana", "Bo", "Cy", "Di")),
                      encoding="utf-8")  # fmt: skip
    train = ["train", "--data", str(corpus), "--dev-data", str(corpus), "--tokenizer", "word",
             "--epochs", "1", "--hidden", "4", "--emb", "4", "--quiet", "--show", "0"]  # fmt: skip
    assert main([*train, "--out", str(tmp_path / "run")]) == 0
    tr = Translator.load(tmp_path / "run")
    bias = np.zeros(len(tr.tgt_vocab))
    bias[UNK_ID] = 50.0  # every output token <unk>, as in _unk_translator
    tr.model.params["out.b"][...] = backend.current().asarray(bias)
    want = tr.translate(["hi Zed ."], replace_unk=True, max_len_b=1)[0]
    assert want.tokens[0] in ("hi", "Zed", ".")
    monkeypatch.setattr(Translator, "load", classmethod(lambda cls, path, which="best": tr))
    argv = ["translate", "--checkpoint", str(tmp_path / "run"), "--max-len-b", "1", "hi Zed ."]
    capsys.readouterr()
    assert main([*argv, "--replace-unk"]) == 0
    assert capsys.readouterr().out == want.text + "\n"
    assert main(argv) == 0
    assert capsys.readouterr().out == " ".join([UNK] * len(want.tokens)) + "\n"
    table = tmp_path / "table.tsv"
    table.write_text("".join(f"{w}\t{w.upper()}\n" for w in ("hi", "Zed", ".")), encoding="utf-8")
    assert main([*argv, "--replace-unk", "--phrase-table", str(table)]) == 0
    assert capsys.readouterr().out == want.text.upper() + "\n"
    assert main([*argv, "--phrase-table", str(table)]) == 2
    assert "--phrase-table is read by --replace-unk only" in capsys.readouterr().err
    monkeypatch.undo()
    assert main([*train, "--attention", "none", "--out", str(tmp_path / "bare")]) == 0
    argv = ["evaluate", "--checkpoint", str(tmp_path / "bare"), "--data", str(corpus)]
    capsys.readouterr()
    assert main([*argv, "--replace-unk"]) == 2
    assert "--replace-unk: the model in " in (err := capsys.readouterr().err)
    assert "bare has no attention (it was trained with --attention none), so no weights" in err


def test_the_command_line_refuses_replace_unk_before_it_reads_stdin(monkeypatch, capsys):
    """Sentences typed at the terminal are read to the end (Ctrl-D) before any is translated: a
    model with nothing to copy is refused before that, as --show-attention is."""
    stdin = io.StringIO("Ana sees Bo\n")
    monkeypatch.setattr("sys.stdin", stdin)
    bare = _unk_translator("none")
    monkeypatch.setattr(Translator, "load", classmethod(lambda cls, path, which="best": bare))
    assert main(["translate", "--checkpoint", "bare", "--replace-unk"]) == 2
    assert "--replace-unk: the model in bare has no attention" in capsys.readouterr().err
    assert stdin.tell() == 0


def test_the_command_line_refuses_a_table_source_that_is_not_a_token_before_stdin(
    tmp_path, monkeypatch, capsys
):
    table = tmp_path / "table.tsv"
    table.write_text("Xu\tSu\nNew York\tNueva York\n", encoding="utf-8")
    stdin = io.StringIO("Ana sees Bo\n")
    monkeypatch.setattr("sys.stdin", stdin)
    tr = _unk_translator()
    monkeypatch.setattr(Translator, "load", classmethod(lambda cls, path, which="best": tr))
    argv = ["translate", "--checkpoint", "m", "--replace-unk", "--phrase-table", str(table)]
    assert main(argv) == 2
    assert (  # where the entry is, as other errors of a file say (CorpusError's FILE:LINE)
        f"minis2s translate: error: {table}:2: 'New York' is read by the word tokenizer as "
        "['New', 'York'], so it never matches a source token; give one token as the model reads "
        "it, or remove the line\n"
    ) == capsys.readouterr().err
    table.write_text("Xu\tSu\ncaf\u00e9\tcafe\nBo\tBu\ncafe\u0301\tcafe\n", encoding="utf-8")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"error: {table}:4: 'cafe\u0301' is the token of line 2, 'caf\u00e9', in another " in err
    assert (
        "(code points U+0063+U+0061+U+0066+U+00E9 and U+0063+U+0061+U+0066+U+0065+U+0301), which "
        "the word tokenizer reads alike; keep one of the two lines"
    ) in err
    assert stdin.tell() == 0
