"""minis2s: encoder-decoder networks from scratch, every backward pass checked.

Import what you need: `from minis2s import backend`, `from minis2s.layers import lstm`,
`from minis2s.models import ModelConfig, Seq2Seq`, `from minis2s.api import Translator`.
(Nothing is imported eagerly, so `minis2s --threads N` can set BLAS threads before NumPy loads.)
"""

__version__ = "0.1.0"
