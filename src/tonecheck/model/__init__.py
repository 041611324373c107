"""The trained detector: a linear model over character n-grams, beside the rules.

``features`` turns a sentence and its setting into n-gram strings (the same
code for training and inference); ``detector`` scores sentences with the
shipped weights (numpy only) and explains each score by its heaviest n-grams.
The weights are trained by ``tools/train.py`` from ``corpus/``.
"""
from __future__ import annotations

from .detector import ModelDetector, ModelHit, load_default

__all__ = ["ModelDetector", "ModelHit", "load_default"]
