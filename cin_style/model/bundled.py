"""Where the models shipped inside the package live (TensorFlow-free).

``cin_style/pretrained/`` holds the bundled model as a model folder (for the TensorFlow backend, training
and export); ``cin_style/pretrained_tflite/`` the same model exported for the runtime (LiteRT, int8 with
float ends), which the plain install stylizes with. ``tools/package_model.py`` writes both."""

from __future__ import annotations

import os
from importlib import resources

from cin_style.errors import ModelError

__all__ = ["bundled_model_path", "bundled_runtime_path", "MODEL_FILE", "RUNTIME_FILE"]

MODEL_FILE = "model.json"
RUNTIME_FILE = "cin_style.tflite"


def bundled_model_path() -> str:
    """Directory of the pretrained model folder shipped inside the package.

    Raises:
      ModelError: no bundled model is installed with this copy of cin-style.
    """
    path = str(resources.files("cin_style") / "pretrained")
    if not os.path.isfile(os.path.join(path, MODEL_FILE)):
        raise ModelError("no bundled model is installed with this copy of cin-style; "
                         "pass model=PATH (a directory made by `cin-style train`)")
    return path


def bundled_runtime_path() -> str:
    """The bundled model's .tflite file for the runtime (its metadata beside it).

    Raises:
      ModelError: no bundled runtime model is installed with this copy of cin-style.
    """
    path = str(resources.files("cin_style") / "pretrained_tflite" / RUNTIME_FILE)
    if not os.path.isfile(path):
        raise ModelError("no bundled runtime model is installed with this copy of cin-style; "
                         "pass tflite_model=PATH (a file made by `cin-style export`)")
    return path
