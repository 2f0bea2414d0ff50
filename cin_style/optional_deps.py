"""Imports of the optional ``[mobile]`` dependencies, with an error that says how to install them."""

from __future__ import annotations

__all__ = ["import_tfmot"]


def import_tfmot(feature: str):
    """The ``tensorflow_model_optimization`` module, needed by ``feature`` (named in the error)."""
    try:
        import tensorflow_model_optimization as tfmot
    except ImportError as exc:  # pragma: no cover - part of the [mobile] extra
        raise ImportError(f"{feature} needs tensorflow-model-optimization: pip install 'cin-style[mobile]'") from exc
    return tfmot
