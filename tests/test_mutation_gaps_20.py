"""Mutation pass 20 over modules no earlier pass named: train/_optim_checks.py (Adam's and
Adagrad's decay term squared in the parameters' dtype), resume_options.py (a resume's data and
the words for a run that cannot resume), decode/beam.py's `widest`, beam_checks.py,
models/seq2seq_checks.py, data/corpus.py and data/vector_lines.py. Each test kills a hand-made
mutant that the suite let live, named in its docstring; every expected value is worked out by
hand or by an independent computation, never by the code under test."""

import argparse
import re

import numpy as np
import pytest

from minis2s import resume_options
from minis2s.decode.beam import widest
from minis2s.train import resume
from minis2s.train.optim import Adagrad, Adam

# --- train/_optim_checks.py -----------------------------------------------------------------------

SQRT_F32_MAX = 1.8446743e19  # sqrt(3.4028235e38), the largest float32 whose square is finite


@pytest.mark.parametrize("cls", [Adam, Adagrad])
def test_the_decay_term_bound_reads_a_parameter_of_one_entry(cls):
    """Kills `p.size <= 1` for `p.size == 0` in check_decay_range (a one-entry parameter, a
    bias of one unit, skipped): weight_decay * |p| = 1e-3 * 1e30 = 1e27 > 1.8e19, so g * g of
    g = grad + weight_decay * p is inf in float32."""
    assert 1e-3 * 1e30 > SQRT_F32_MAX
    with pytest.raises(ValueError, match=re.escape("weight_decay=0.001 times |b| up to 1e+30")):
        cls({"b": np.array([1e30], np.float32)}, lr=1e-3, weight_decay=1e-3)


@pytest.mark.parametrize("cls", [Adam, Adagrad])
def test_the_decay_term_bound_reads_a_negative_parameter_by_its_size(cls):
    """Kills `p.max()` for `abs(p).max()` in check_decay_range: the entry -1e30 squares as 1e30
    does (1e-3 * 1e30 = 1e27 > 1.8e19), though the largest entry, 0, is harmless."""
    with pytest.raises(ValueError, match=r"up to 1e\+30"):
        cls({"W": np.array([-1e30, 0.0], np.float32)}, lr=1e-3, weight_decay=1e-3)


# --- resume_options.py ----------------------------------------------------------------------------


def _resume_args(**given) -> argparse.Namespace:
    none = dict.fromkeys(("task", "data", "dev_data", "test_data"))
    return argparse.Namespace(**none | {"resume": True} | given)


def _saved_source(monkeypatch, source: dict) -> None:
    saved = {"data": {"name": "tiny", "tokenizer": "char", "source": source}}
    monkeypatch.setattr(resume_options, "_saved_config", lambda out: saved)


def test_a_resume_keeps_the_dev_data_given_over_the_runs_own(monkeypatch, tmp_path):
    """Kills `source.get(k)` for `getattr(args, k) or source.get(k)` in data_of_run: --dev-data
    given to --resume wins over the run's, and the --test-data not given is the run's."""
    train, dev, new_dev, test = (str(tmp_path / f) for f in ("t.tsv", "d.tsv", "n.tsv", "e.tsv"))
    for path in (train, dev, new_dev, test):
        open(path, "w").close()
    _saved_source(monkeypatch, {"data": [train], "dev_data": [dev], "test_data": [test]})
    args = resume_options.data_of_run(_resume_args(dev_data=[new_dev]), str(tmp_path))
    assert (args.data, args.dev_data, args.test_data) == ([train], [new_dev], [test])


def test_a_resume_refuses_a_run_whose_training_file_is_gone(monkeypatch, tmp_path):
    """Kills checking only the first of the run's files (--dev-data, here none) in
    data_of_run: the training file, listed last, is gone, and the resume names it."""
    gone = str(tmp_path / "gone.tsv")
    _saved_source(monkeypatch, {"data": [gone]})
    with pytest.raises(FileNotFoundError, match=re.escape(f"--data {gone}, which is gone")):
        resume_options.data_of_run(_resume_args(), str(tmp_path))


def test_a_run_named_after_a_task_but_read_with_another_tokenizer_is_a_corpus():
    """Kills dropping `tokenizer == TASKS[name].tokenizer` from _no_source: a corpus file named
    copy.tsv, read with the word tokenizer (the task copy reads chars), is no task, so the
    advice is --data, not --task copy."""
    said = resume_options._no_source("run", {"name": "copy", "tokenizer": "word"})
    assert "a corpus read with the word tokenizer" in said and "--task copy" not in said


def test_a_resume_refused_for_its_given_options_names_them_not_the_saved_run():
    """Kills `pass` for `raise e` in check_saved_train: lr=-1 given to the resume is refused
    on the defaults too, so the error is TrainConfig's about lr, not the run's saved options."""
    with pytest.raises(ValueError, match="lr must be a finite number > 0") as e:
        resume.check_saved_train("run", {"lr": 1e-3}, {"lr": -1})
    assert "was saved with" not in str(e.value)


def test_a_resume_of_a_run_saved_before_a_field_takes_that_fields_default():
    """Kills dropping `with_new_fields` from _check_resumed_options: a run saved before
    TrainConfig had min_lr ran with no floor, min_lr = 0, so --min-lr 0 given to its resume
    is the run's own value (the mutant compared it with None, a missing entry, and refused it),
    while --min-lr 0.001 is a change the resume refuses."""
    saved = {"model": {}, "train": {"lr": 0.002}}  # no min_lr: saved before the field
    resume_options._check_resumed_options(saved, {}, {"min_lr": 0.0})
    with pytest.raises(ValueError, match="min_lr"):
        resume_options._check_resumed_options(saved, {}, {"min_lr": 0.001})


def test_a_resume_given_the_runs_own_tokenizer_goes_on_with_the_runs_tokenizer(monkeypatch):
    """Kills `tokenizer is None` for `tokenizer in (None, the run's)` in resumed_options:
    --tokenizer char given again to a char run's resume (with --data) still reads the run's own
    tokenizer from its checkpoint (its normal form; a bpe run's merges), not a new one."""
    from minis2s import _api_checks
    from minis2s.models import ModelConfig

    model = ModelConfig(src_vocab=8, tgt_vocab=8).to_dict()  # a saved model config that loads
    saved = {"model": model, "train": {}, "data": {"tokenizer": "char", "options": {}}}
    monkeypatch.setattr(resume_options, "_saved_config", lambda out: saved)
    runs_own = argparse.Namespace(name="char")  # stands in for the checkpoint's tokenizer
    read = []
    monkeypatch.setattr(_api_checks, "tokenizer_of", lambda *a: read.append(a) or runs_own)
    args = argparse.Namespace(data=["c.tsv"], tokenizer="char", bpe_merges=None)
    *_, tokenizer = resume_options.resumed_options(args, "run", {}, {}, {})
    assert tokenizer is runs_own and read


# --- decode/beam.py: widest -----------------------------------------------------------------------


def test_widest_leaves_the_beam_of_a_model_with_no_vocabulary_past_its_specials():
    """Kills `V < 3` for `V < 4`: V = 3 (<pad>, <s>, EOS) leaves beam_size as it is, where the
    count (V - 2) (V - 3)^(T - 1) would make it 1 from a factor V - 3 = 0."""
    assert widest(3, np.array([5]), 4) == 4


def test_widest_counts_the_candidates_at_the_batchs_longest_limit():
    """Kills `limits.min()` for `limits.max()`: limits 1 and 3 over V = 5 give the most
    candidates at T = 3, C = (5 - 2) (5 - 3)^2 = 12, so K = 12 / 2 = 6 (not 2 from T = 1)."""
    assert widest(5, np.array([1, 3]), 10) == 6


def test_widest_stops_counting_only_once_the_candidates_reach_twice_the_beam():
    """Kills `C >= beam_size` for `C >= 2 * beam_size`: V = 5, T = 3 gives C = 12 candidates
    at the last step, and ceil(12 / 2) = 6 >= 4, so beam_size 4 stays; stopping at C = 6 >= 4
    would give ceil(6 / 2) = 3, a narrower beam than asked that an exhaustive search needs."""
    assert widest(5, np.array([3]), 4) == 4


# --- decode/beam_checks.py ------------------------------------------------------------------------


def test_the_command_lines_beam_check_counts_eight_bytes_a_log_probability(monkeypatch):
    """Kills 1.0 for 8.0 bytes in check_fits' command-line branch (`where` empty, --beam): on
    a machine of 1000 bytes, 1 x 10 hypotheses of 100 float64 log-probabilities need 8000."""
    from minis2s import validate
    from minis2s.decode.beam_checks import check_fits

    monkeypatch.setattr(validate, "memory_bytes", lambda: 1000)
    with pytest.raises(validate.TooLarge, match="--beam 10: 1 x 10 hypotheses of 100"):
        check_fits(1, 10, 100, where="", name="--beam")


# --- models/seq2seq_checks.py ---------------------------------------------------------------------


def _cfg():
    from minis2s.models.config import ModelConfig

    return ModelConfig(src_vocab=7, tgt_vocab=100, emb=4, hidden=10, enc_layers=1, dec_layers=1)


def _params(cfg, dtype=np.float64):
    from minis2s.models.params import shapes

    return {k: np.zeros(s, dtype) for k, s in shapes(cfg).items()}


def test_the_model_size_check_counts_every_layer_and_the_output_bytes(monkeypatch):
    """Kills dropping dtype.itemsize, the (V, H) output layer or the decoder's layers from
    check_fits: 2 layers of 10 x 10 and the 100 x 10 output layer are 1200 float64 numbers,
    9600 bytes, refused by a machine of 9599 and taken by one of 9600."""
    from minis2s import validate
    from minis2s.models.seq2seq_checks import check_fits

    monkeypatch.setattr(validate, "memory_bytes", lambda: 9599)
    with pytest.raises(validate.TooLarge, match="hidden 10 and tgt_vocab 100"):
        check_fits(_cfg(), np.dtype(np.float64))
    monkeypatch.setattr(validate, "memory_bytes", lambda: 9600)
    check_fits(_cfg(), np.dtype(np.float64))


def test_parameters_the_config_does_not_make_are_refused_by_name():
    """Kills `if missing:` for `if missing or extra:` in check_params."""
    from minis2s.models.seq2seq_checks import check_params

    params = _params(_cfg()) | {"enc.extra": np.zeros(3)}
    with pytest.raises(ValueError, match=re.escape("unexpected ['enc.extra']")):
        check_params(params, _cfg(), np.dtype(np.float64))


def test_a_parameter_of_the_right_rank_but_another_shape_is_refused():
    """Kills comparing the ranks alone in check_params: out.W transposed has two axes too."""
    from minis2s.models.seq2seq_checks import check_params

    params = _params(_cfg())
    params["out.W"] = np.zeros(params["out.W"].shape[::-1])
    with pytest.raises(ValueError, match="parameter out.W has shape"):
        check_params(params, _cfg(), np.dtype(np.float64))


def test_parameters_of_another_dtype_than_the_models_are_refused():
    """Kills dropping the dtype loop from check_params: float32 parameters, a float64 model."""
    from minis2s.models.seq2seq_checks import check_params

    with pytest.raises(ValueError, match="has dtype float32, the model float64"):
        check_params(_params(_cfg(), np.float32), _cfg(), np.dtype(np.float64))


def test_host_parameters_on_a_gpu_backend_are_refused(monkeypatch):
    """Kills an unconditional return in check_backend: NumPy parameters while the backend's
    array module is another (a stand-in for CuPy) are named before the first GEMM."""
    from minis2s import backend
    from minis2s.models.seq2seq_checks import check_backend

    gpu = argparse.Namespace(xp=object(), name="cupy")
    monkeypatch.setattr(backend, "current", lambda: gpu)
    with pytest.raises(ValueError, match="parameters are NumPy arrays but the backend is cupy"):
        check_backend(_params(_cfg()))


def _batch(tgt_mask):
    from minis2s.data.batching import Batch

    tgt = np.array([[5, 6, 0]])
    return Batch(tgt, np.ones((1, 3), np.float32), tgt, tgt, tgt_mask, np.array([0]))


def test_a_batch_whose_mask_covers_a_pad_is_refused():
    """Kills the shapes-only comparison in check_target_mask, and dropping it from
    check_batch: tgt_out [5 6 <pad>] with the mask [1 1 1] of the same shape."""
    from minis2s.models.seq2seq_checks import check_batch

    check_batch(_batch(np.array([[1, 1, 0]], np.float32)))
    with pytest.raises(ValueError, match="tgt_mask"):
        check_batch(_batch(np.ones((1, 3), np.float32)))


def test_a_batch_without_namedtuple_replace_is_refused():
    """Kills dropping `hasattr(batch, "_replace")` from check_batch: a namespace with the
    fields is no Batch (to_device rebuilds it with _replace)."""
    from minis2s.models.seq2seq_checks import check_batch

    fields = _batch(np.array([[1, 1, 0]], np.float32))._asdict()
    with pytest.raises(ValueError, match="got Namespace"):
        check_batch(argparse.Namespace(**fields))


def test_the_target_mask_check_reads_no_device_array():
    """Kills `or` for `and` in check_target_mask's host test: a tgt_out that is no NumPy array
    (a stand-in for a CuPy one, whose comparison would wait for the device) is not read."""
    from minis2s.models.seq2seq_checks import check_target_mask

    class DeviceArray:
        shape = (1, 3)

        def __ne__(self, other):
            raise AssertionError("read a device array")

    check_target_mask(_batch(np.ones((1, 3), np.float32))._replace(tgt_out=DeviceArray()))


# --- data/corpus.py -------------------------------------------------------------------------------


def test_a_max_len_below_1_is_refused_before_any_line_is_read(tmp_path):
    """Kills dropping `max_len < 1` from corpus._options: max_len=0 with on_long='skip' would
    skip every pair (each has at least one token) and return an empty corpus without a word."""
    from minis2s.data.corpus import read_tsv

    path = tmp_path / "c.tsv"
    path.write_text("ab\tba\n", encoding="utf-8")
    with pytest.raises(ValueError, match="max_len=0 needs a tokenizer and must be >= 1"):
        read_tsv(path, tokenizer="char", max_len=0, on_long="skip")


# --- data/vector_lines.py -------------------------------------------------------------------------


def test_a_nul_after_a_header_is_told_as_word2vecs_binary_format_alone(tmp_path):
    """Kills `fix = nul_fix(...)` for `fix = "" if after_header else nul_fix(...)`: after a
    header `N D`, a line of NULs is word2vec's binary format, and the message gives that fix
    alone, not a text file's fix besides ("or, if it is text, ...")."""
    from minis2s.data.corpus_lines import CorpusError
    from minis2s.data.vector_lines import read_lines

    path = tmp_path / "v.txt"
    path.write_bytes(b"1 3\nthe \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\n")
    with pytest.raises(CorpusError, match="binary format") as e:
        list(read_lines(path))
    assert "if it is text" not in str(e.value)


def test_an_npz_in_the_working_directory_is_told_with_checkpoint_dot(tmp_path, monkeypatch):
    """Kills dropping `or "."` from the .npz message: a path with no directory, params.npz,
    would read `--checkpoint  --side`, an option with no value."""
    from minis2s.data.corpus_lines import CorpusError
    from minis2s.data.vector_lines import read_lines

    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.npz").write_bytes(b"PK\x03\x04rest")
    with pytest.raises(CorpusError, match=re.escape("--checkpoint . --side src")):
        list(read_lines("params.npz"))
