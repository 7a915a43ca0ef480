"""Encoder-decoder models: a frozen config and thin compositions of the layers."""

from minis2s.models.config import ModelConfig
from minis2s.models.decode_state import DecodeState
from minis2s.models.ensemble import Ensemble
from minis2s.models.seq2seq import Seq2Seq

__all__ = ["ModelConfig", "Seq2Seq", "DecodeState", "Ensemble"]
