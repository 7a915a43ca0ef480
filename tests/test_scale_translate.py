"""`minis2s translate` of a long file, a chunk of lines at a time: every output keeps its
attention weights (~14 KB a line), so 50k lines held 0.73 GB until the last was printed. The
output, the notes and the samples must be those of the file translated whole."""

import io
import sys

import pytest

from minis2s import cli, translate_commands
from tests.tiny_run import train_tiny


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("scale") / "run")


LINES = ["123", "", "4567", "89", "", "1", "2345678901234567890123", "55", "0"]


def _translate(capsys, monkeypatch, run, chunk, *options):
    monkeypatch.setattr(translate_commands, "CHUNK", chunk)
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(LINES) + "\n"))
    assert cli.main(["translate", "--checkpoint", str(run), *options]) == 0
    return capsys.readouterr()


OPTIONS = [(), ("--beam", "2", "--nbest", "2"), ("--sample", "--seed", "3")]


@pytest.mark.parametrize("options", OPTIONS)
def test_chunked_output_and_notes_are_those_of_the_whole_file(
    tiny_run, capsys, monkeypatch, options
):
    whole = _translate(capsys, monkeypatch, tiny_run, 10**6, *options)
    for chunk in (1, 2, 4):
        chunked = _translate(capsys, monkeypatch, tiny_run, chunk, *options)
        assert chunked.out == whole.out
        assert chunked.err == whole.err
    assert len(whole.out.splitlines()) == len(LINES)


def test_each_chunk_is_printed_before_the_next_is_translated(tiny_run, capsys, monkeypatch):
    from minis2s.api import Translator

    sizes, printed = [], []
    real = Translator.translate

    def watched(self, sources, **kw):
        sizes.append(len(sources))
        printed.append(capsys.readouterr().out.count("\n"))  # lines out so far
        return real(self, sources, **kw)

    monkeypatch.setattr(Translator, "translate", watched)
    _translate(capsys, monkeypatch, tiny_run, 4)
    assert max(sizes) <= 4
    assert printed[0] == 0 and printed[1:] and all(n > 0 for n in printed[1:])


# evaluate (and train's final figures) kept every output with its attention weights until the
# figures were computed: 1.0 GB at 50k lines. They translate a chunk at a time and keep no
# weights; the figures, notes and samples must be those of the pairs translated whole.

LONG = "2345678901234567890123"
PAIRS = [("123", "321"), ("4567", "7654"), ("89", "98"), ("1", "1"), (LONG, LONG[::-1]),
         ("55", "55"), ("0", "0")]  # fmt: skip


def _evaluate(capsys, monkeypatch, run, tmp_path, chunk, *options):
    from minis2s import command_translations

    corpus = tmp_path / "pairs.tsv"
    corpus.write_text("".join(f"{s}\t{t}\n" for s, t in PAIRS))
    monkeypatch.setattr(command_translations, "CHUNK", chunk)
    argv = ["evaluate", "--checkpoint", str(run), "--data", str(corpus), "--show", "7"]
    assert cli.main([*argv, *options]) == 0
    return capsys.readouterr()


@pytest.mark.parametrize("options", [(), ("--beam", "2"), ("--sample", "--seed", "3")])
def test_evaluate_a_chunk_at_a_time_gives_the_figures_of_the_whole(
    tiny_run, capsys, monkeypatch, tmp_path, options
):
    whole = _evaluate(capsys, monkeypatch, tiny_run, tmp_path, 10**6, *options)
    assert "note: pair 5 has 22 tokens" in whole.err
    for chunk in (1, 3):
        chunked = _evaluate(capsys, monkeypatch, tiny_run, tmp_path, chunk, *options)
        assert (chunked.out, chunked.err) == (whole.out, whole.err)


def test_translate_naming_keeps_no_attention_weights_unless_asked(tiny_run, monkeypatch):
    from minis2s import command_translations
    from minis2s.api import Translator

    tr = Translator.load(tiny_run)
    sources = [s for s, _ in PAIRS]
    sizes = []
    real = Translator.translate

    def watched(self, some, **kw):
        sizes.append(len(some))
        return real(self, some, **kw)

    monkeypatch.setattr(Translator, "translate", watched)
    monkeypatch.setattr(command_translations, "CHUNK", 3)
    kept = command_translations.translate_naming(tr, sources, {}, "pair", attention=True)
    assert sizes == [3, 3, 1]
    dropped = command_translations.translate_naming(tr, sources, {}, "pair")
    assert all(t.attention is not None for t in kept)
    assert all(t.attention is None for t in dropped)
    assert [t._replace(attention=None) for t in kept] == dropped
