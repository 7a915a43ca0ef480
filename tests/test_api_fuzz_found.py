"""What a fuzzer of the Python API found (bad arguments drawn at random for the public entry
points; tests/test_api_fuzz.py keeps a small version of it): each refused with a ValueError that
names the argument and the fix, where it was Python's or NumPy's error from deep inside, or
worse. One test a finding, its docstring naming the call."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from minis2s.data.vocab import Vocab


def test_vocab_load_of_a_number_reads_no_file_descriptor():
    """Vocab.load(True): open() took True (and any int) for a file descriptor, read fd 1 as the
    vocabulary and closed it, so the process lost its standard output (Vocab.load(0) waited on
    standard input). Run in a child, whose stdout is a pipe this test reads."""
    code = (
        "from minis2s.data.vocab import Vocab\n"
        "try:\n    Vocab.load(True)\nexcept ValueError as e:\n    print('refused:', e)\n"
        "print('stdout still open')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60)  # fmt: skip
    assert "stdout still open" in done.stdout, done.stderr
    assert "refused: Vocab.load: path is bool True" in done.stdout
    assert "give the vocabulary file's path" in done.stdout


@pytest.mark.parametrize("path", [1, b"v.json", None, ["v.json"]])
def test_vocab_save_of_no_path(path, tmp_path, monkeypatch):
    """Vocab.save(1): pathlib's TypeError ("expected str, bytes or os.PathLike object, not int"),
    naming neither the call nor the argument."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"Vocab\.save: path is .*; give the vocabulary file's"):
        Vocab.build([["a"]]).save(path)
    assert os.listdir(tmp_path) == []
