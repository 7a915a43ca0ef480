"""What a fuzzer of the Python API found (bad arguments drawn at random for the public entry
points; tests/test_api_fuzz.py keeps a small version of it): each refused with a ValueError that
names the argument and the fix, where it was Python's or NumPy's error from deep inside, or
worse. One test a finding, its docstring naming the call."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from minis2s import gradcheck
from minis2s.data.vocab import Vocab
from minis2s.layers import attention, linear


def _linear_case() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((2, 3)), linear.init(3, 2, rng, np.float64)


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


@pytest.mark.parametrize("inputs", ["x", ["x"], [1.5], [[1.0, 2.0]]])
def test_check_layer_of_inputs_that_are_no_arrays(inputs):
    """gradcheck.check_layer(linear.forward, linear.backward, "x", p) (and [1.5], ["x"]):
    AttributeError: 'str' object has no attribute 'size', from the check of empty inputs."""
    _, p = _linear_case()
    with pytest.raises(ValueError, match=r"check_layer: .*give .*arrays"):
        gradcheck.check_layer(linear.forward, linear.backward, inputs, p)


def test_check_layer_of_more_inputs_than_forward_takes():
    """gradcheck.check_layer(linear.forward, linear.backward, [x, x, x], p): IndexError: list
    index out of range (the inputs' names are forward's parameters, and it has two)."""
    x, p = _linear_case()
    with pytest.raises(ValueError, match=r"check_layer: inputs has 3 entries, but forward takes"):
        gradcheck.check_layer(linear.forward, linear.backward, [x, x, x], p)


@pytest.mark.parametrize("seed", [-5, 1.5, None, "nonesuch", True])
def test_check_layer_of_a_seed_that_is_no_integer(seed):
    """gradcheck.check_layer(..., seed=-5) (1.5, None, "nonesuch"): NumPy's "expected
    non-negative integer", "seed must be integer", "object of type 'NoneType' has no len()"
    from default_rng((seed, 1)); True ran as seed 1."""
    x, p = _linear_case()
    with pytest.raises(ValueError, match=r"check_layer: seed .*must be (an integer )?>= 0"):
        gradcheck.check_layer(linear.forward, linear.backward, [x], p, seed=seed)


@pytest.mark.parametrize("score", ["general", "concat", "additive"])
@pytest.mark.parametrize("weight", [None, [[1.0]], 3])
def test_attention_forward_of_a_parameter_that_is_no_array(score, weight):
    """attention.forward(q, enc, p, score=...) with p["W_a"] (a weight the score reads) None or a
    list: AttributeError: 'NoneType' object has no attribute 'shape' from the shape checks."""
    rng = np.random.default_rng(0)
    p = attention.init(score, 4, 4, rng, dtype=np.float64)
    name = next(iter(p))
    p[name] = weight
    q, enc = rng.standard_normal((1, 2, 4)), rng.standard_normal((1, 3, 4))
    with pytest.raises(ValueError, match=rf"attention.forward: p\['{name}'\] must be an array"):
        attention.forward(q, enc, p, None, score)


@pytest.mark.parametrize("read", ["read_phrase_table", "read_vectors", "read_corpus"])
def test_file_readers_of_a_number_read_no_file_descriptor(read):
    """corpus.read_phrase_table(3) (read_vectors(3), read_corpus([3])): open() took the int for
    a file descriptor, read it and closed it (True: the process's standard output); here a
    descriptor of /dev/null stands in, and must stay open."""
    from minis2s.data import corpus, vectors

    fd = os.open(os.devnull, os.O_RDONLY)
    try:
        with pytest.raises(ValueError, match=r"path is int \d+; give the path of"):
            reader = getattr(corpus if read != "read_vectors" else vectors, read)
            reader([fd] if read == "read_corpus" else fd)
        os.fstat(fd)  # OSError (Bad file descriptor) if the reader closed it
    finally:
        os.close(fd)


def test_plots_of_a_number_for_a_path():
    """viz.plot_log(3): os.path.join's TypeError; viz.plot_attention(w, src, out, out=3):
    AttributeError: 'int' object has no attribute 'write', after drawing (savefig took the int
    for a file object)."""
    from minis2s import viz

    with pytest.raises(ValueError, match=r"plot_log: log_path is int 3; give a run directory"):
        viz.plot_log(3)
    with pytest.raises(ValueError, match=r"plot_attention: out is int 3; give an image path"):
        viz.plot_attention(np.ones((2, 2)), ["a", "b"], ["c", "d"], out=3)


def test_read_corpus_of_no_paths():
    """corpus.read_corpus(3): TypeError: object of type 'int' has no len(), naming neither the
    argument nor what it takes."""
    from minis2s.data import corpus

    with pytest.raises(ValueError, match=r"read_corpus: paths is int 3; give one TSV file"):
        corpus.read_corpus(3)


def test_plot_by_length_of_bands_that_are_no_bands():
    """viz.plot_by_length({"x": np.array(["12"])}) (or [0.5, 0.7]): AttributeError:
    'numpy.str_' object has no attribute 'lo', from inside the drawing."""
    from minis2s import viz

    for bands in (np.array(["12"]), [0.5, 0.7], 3):
        with pytest.raises(ValueError, match=r"plot_by_length: curves\['x'\] is .*; give "):
            viz.plot_by_length({"x": bands})


def test_attention_plots_of_weights_that_are_no_numbers():
    """viz.plot_attention(np.array([["a", "b"]] * 2), src, out) (and attention_text):
    matplotlib's TypeError "Image data of dtype <U1 cannot be converted to float"."""
    from minis2s import viz

    for plot in (viz.plot_attention, viz.attention_text):
        with pytest.raises(ValueError, match=r"weights has dtype <U1; .*numbers"):
            plot(np.array([["a", "b"]] * 2), ["x", "y"], ["c", "d"])


def test_write_tsv_of_no_path(tmp_path, monkeypatch):
    """corpus.write_tsv(["x.tsv"], pairs): pathlib's TypeError ("expected str, bytes or
    os.PathLike object, not list"), naming neither the call nor the argument."""
    from minis2s.data import corpus

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"write_tsv: path is list \['x.tsv'\]; give the path"):
        corpus.write_tsv(["x.tsv"], [("a", "b")])
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("read", ["read_phrase_table", "read_vectors", "read_corpus"])
@pytest.mark.parametrize("path", ["", " "])
def test_file_readers_of_a_blank_path(read, path, tmp_path, monkeypatch):
    """corpus.read_phrase_table("") (read_vectors, read_corpus, and load_data(data=" ")):
    CorpusError(": no such file"), a message that starts with the blank path it names, unseen."""
    from minis2s.data import corpus, vectors

    monkeypatch.chdir(tmp_path)
    reader = getattr(corpus if read != "read_vectors" else vectors, read)
    with pytest.raises(corpus.CorpusError, match=rf"^{path!r}: no such file \(the path is blank"):
        reader(path)


@pytest.mark.parametrize("method", ["save", "load"])
def test_vocab_of_an_empty_path(method, tmp_path, monkeypatch):
    """Vocab.save(""): pathlib's ValueError "PosixPath('.') has an empty name"; Vocab.load(""):
    "No such file or directory: ''"."""
    monkeypatch.chdir(tmp_path)
    call = Vocab.build([["a"]]).save if method == "save" else Vocab.load
    with pytest.raises(ValueError, match=rf"Vocab\.{method}: path is ''; give the vocabulary"):
        call("")


def test_plot_log_of_an_empty_path():
    """viz.plot_log(""): FileNotFoundError(": no such file (a run writes its log.jsonl)"), a
    message that starts with the empty path it names (tests/test_api_fuzz.py found it)."""
    from minis2s import viz

    with pytest.raises(FileNotFoundError, match=r"^'': no such file \(a run writes its log"):
        viz.plot_log("")


def test_file_readers_of_a_path_holding_nul():
    """corpus.read_corpus(["a\\0b"]) (read_phrase_table, read_vectors): open()'s ValueError
    "embedded null byte", naming neither the path nor the call."""
    from minis2s.data import corpus, vectors

    for read in (corpus.read_corpus, corpus.read_phrase_table, vectors.read_vectors):
        with pytest.raises(corpus.CorpusError, match=r"^'a\\x00b': the path holds a NUL"):
            read("a\0b")


def test_writers_of_a_path_holding_nul(tmp_path, monkeypatch):
    """Vocab.save("a\\0b"), corpus.write_tsv("a\\0b", pairs): pathlib's ValueError "embedded null
    byte", naming neither the path nor the call (tests/test_api_fuzz.py found them)."""
    from minis2s.data import corpus

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"Vocab\.save: path is 'a\\x00b', .*NUL"):
        Vocab.build([["a"]]).save("a\0b")
    with pytest.raises(ValueError, match=r"write_tsv: path is 'a\\x00b', .*NUL"):
        corpus.write_tsv("a\0b", [("a", "b")])
    assert os.listdir(tmp_path) == []


def test_loss_of_a_batch_whose_target_mask_disagrees_with_its_padding():
    """Seq2Seq.loss_and_grads(batch) (and token_logprobs) of a Batch built by hand whose
    tgt_mask marks steps as padding that tgt_out fills with tokens: the model reads padding
    from tgt_out alone (its <pad> ids), so the mask was ignored and the loss came out as if it
    were all ones, a silent wrong answer; batch.n_tokens, which counts the mask, disagreed."""
    from minis2s.data.batching import Batch
    from minis2s.models import ModelConfig, Seq2Seq

    model = Seq2Seq(ModelConfig(src_vocab=8, tgt_vocab=8, emb=4, hidden=4), seed=0)
    ids = np.random.default_rng(0).integers(4, 8, (2, 3))
    mask = np.array([[1, 1, 0], [1, 0, 0]], np.float32)  # ids hold no <pad> where it has 0s
    batch = Batch(ids, np.ones((2, 3), np.float32), ids, ids, mask, np.arange(2))
    for call in (model.loss_and_grads, model.token_logprobs):
        with pytest.raises(ValueError, match=r"tgt_mask .* tgt_out"):
            call(batch)


@pytest.mark.parametrize("path", ["", ".", "/"])
def test_an_atomic_write_to_a_path_that_names_no_file(path, tmp_path, monkeypatch):
    """atomic_text_file(".") (under corpus.write_tsv, Vocab.save, write_vectors): a path with no
    file name gave pathlib's "PosixPath('.') has an empty name", raised inside pathlib, once
    write_tsv became atomic; now minis2s refuses it naming the path."""
    from minis2s.atomic import atomic_text_file

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=rf"could not write '{path}': it names no file"):
        with atomic_text_file(path) as f:
            f.write("a\tb\n")
    assert os.listdir(tmp_path) == []
