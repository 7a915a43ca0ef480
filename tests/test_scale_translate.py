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
