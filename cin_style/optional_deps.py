"""The optional dependencies: ``[train]`` (TensorFlow and friends) and ``[video]`` (PyAV, OpenCV); checks and
imports with an error that says, in one line, which extra to install."""

from __future__ import annotations

import importlib.util
import types

from cin_style.errors import MissingExtra

__all__ = ["MissingExtra", "tensorflow_available", "require_tensorflow", "import_tfmot", "TRAIN_EXTRA",
           "VIDEO_EXTRA", "import_video_module"]

TRAIN_EXTRA = "pip install 'cin-style[train]'"
VIDEO_EXTRA = "pip install 'cin-style[video]'"


def tensorflow_available() -> bool:
    """Whether TensorFlow is installed (found without importing it)."""
    return importlib.util.find_spec("tensorflow") is not None


def require_tensorflow(feature: str) -> None:
    """Raises MissingExtra naming ``feature`` and the extra to install when TensorFlow is not installed."""
    if not tensorflow_available():
        raise MissingExtra(f"{feature} needs TensorFlow, which the plain install leaves out: {TRAIN_EXTRA}")


def import_tfmot(feature: str) -> types.ModuleType:
    """The ``tensorflow_model_optimization`` module, needed by ``feature`` (named in the error)."""
    try:
        import tensorflow_model_optimization as tfmot
    except ImportError as exc:
        raise MissingExtra(f"{feature} needs tensorflow-model-optimization: {TRAIN_EXTRA}") from exc
    return tfmot


def import_video_module(module: str, distribution: str) -> types.ModuleType:
    """``module`` of the ``[video]`` extra (``av``: PyAV; ``cv2``: OpenCV), or MissingExtra naming
    ``distribution`` and the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(f"video needs {distribution}, which the plain install leaves out: {VIDEO_EXTRA}") from exc
