"""minis2s: encoder-decoder networks from scratch, every backward pass checked."""

from minis2s import backend

__version__ = "0.1.0"
__all__ = ["backend", "__version__"]
