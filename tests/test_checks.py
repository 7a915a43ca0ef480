"""`minis2s gradcheck` itself: every case passes, and a broken backward pass makes it fail."""

import pytest

from minis2s.checks import run_all
from minis2s.layers import linear


def test_every_gradcheck_case_passes(capsys):
    assert run_all(model=True)
    out = capsys.readouterr().out
    assert "all checks passed" in out and "seq2seq.lstm.additive" in out
    assert "seq2seq.lstm.last-bridge.one-way" in out and "seq2seq.lstm.zero-bridge" in out
    assert "seq2seq.gru.no-attention" in out and "seq2seq.lstm.tied-embeddings" in out
    assert "seq2seq.gru.feature-frames" in out


def test_a_wrong_backward_pass_fails(monkeypatch, capsys):
    real = linear.backward

    def off_by_one_percent(dy, cache):
        dx, dp = real(dy, cache)
        return dx, {"W": dp["W"] * 1.01, "b": dp["b"]}

    monkeypatch.setattr(linear, "backward", off_by_one_percent)
    assert not run_all(only="linear", model=False)
    assert "FAIL" in capsys.readouterr().out


def test_a_filter_that_matches_no_case_is_an_error_not_a_pass():
    with pytest.raises(ValueError, match="no case matches --only 'nosuch'.*lstm"):
        run_all(only="nosuch", model=False)


def test_a_model_case_with_no_model_says_what_left_it_out():
    with pytest.raises(ValueError, match="--no-model leaves out the seq2seq"):
        run_all(only="seq2seq", model=False)
