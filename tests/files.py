"""Shared by the tests of file readers (corpora, word vectors): write a file's bytes, and expect
a CorpusError that names the file and line."""

import re

import pytest

from minis2s.data.corpus import CorpusError


def write(path, data: bytes):
    path.write_bytes(data)
    return path


def raises_at(path, line, message):
    """pytest.raises for a CorpusError "path:line: message..." (line None: "path: message...");
    `message` is a regular expression."""
    where = re.escape(f"{path}:{line}: ") if line is not None else re.escape(f"{path}: ")
    return pytest.raises(CorpusError, match=where + message)
