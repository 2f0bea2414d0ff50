"""The contract of an exported .tflite file, shared by the exporter (which writes it), the LiteRT
backend and the Android sample (which read it); TensorFlow-free.

A model ``style.tflite`` has one signature, :data:`SIGNATURE_KEY`, with inputs ``image``
([1, H, W, 3], H and W multiples of :data:`~cin_style.model.architecture.SIZE_MULTIPLE`) and
``style_weights`` ([1, N]) and output ``stylized``; ``style.tflite.json`` beside it holds the
metadata: format, style names, architecture, I/O types and value ranges.
"""

from __future__ import annotations

import json
import os

from cin_style.errors import ModelError
from cin_style.model.architecture import Architecture

__all__ = ["SIGNATURE_KEY", "INPUT_NAMES", "OUTPUT_NAME", "METADATA_FORMAT", "METADATA_VERSION", "metadata_path",
           "read_metadata", "check_metadata"]

SIGNATURE_KEY = "serving_default"
INPUT_NAMES = ("image", "style_weights")
OUTPUT_NAME = "stylized"
METADATA_FORMAT = "cin-style-tflite-metadata"
METADATA_VERSION = 1


def metadata_path(tflite_path: str) -> str:
    """Where the metadata of ``tflite_path`` lives: ``<file>.json`` beside it."""
    return os.fspath(tflite_path) + ".json"


def read_metadata(tflite_path: str) -> dict | None:
    """The parsed metadata file of ``tflite_path``, or None when there is none."""
    path = metadata_path(tflite_path)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable metadata ({exc})") from exc


def check_metadata(metadata, tflite_path: str, num_styles: int) -> tuple[list[str], Architecture]:
    """Style names and architecture from ``metadata``; a wrong field is a ModelError naming it."""
    path = metadata_path(tflite_path)
    if not isinstance(metadata, dict):
        raise ModelError(f"{path}: metadata must be a JSON object")
    styles = metadata.get("styles")
    if (not isinstance(styles, list) or not all(isinstance(s, dict) and isinstance(s.get("name"), str)
                                                 and s["name"] for s in styles)):
        raise ModelError(f"{path}: \"styles\" must be a list of objects with a non-empty \"name\"")
    if len(styles) != num_styles:
        raise ModelError(f"{path}: lists {len(styles)} styles but the model takes {num_styles}")
    names = [s["name"] for s in styles]
    if len(set(names)) != len(names):
        raise ModelError(f"{path}: style names must be unique")
    architecture = metadata.get("architecture")
    if not isinstance(architecture, dict):
        raise ModelError(f"{path}: bad \"architecture\" entry (must be an object, got {architecture!r})")
    try:
        return names, Architecture(**architecture)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{path}: bad \"architecture\" entry ({exc})") from exc
