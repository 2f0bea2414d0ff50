"""cin-style: fast multi-style neural style transfer with mobile export.

One feed-forward network holds N styles through conditional instance
normalization; style vectors select or blend them.

Quick start::

    import cin_style
    cin_style.list_styles()                       # the bundled model's styles
    cin_style.stylize("photo.jpg", "starry_night").save("out.jpg")
    cin_style.stylize("photo.jpg", {"starry_night": 0.5, "great_wave": 0.5})

Public API (attributes load on first use, so ``import cin_style`` is cheap). Without TensorFlow (the
plain install): ``stylize`` and ``list_styles`` with the bundled model, ``TFLiteStylizer``, ``style_sheet``,
``Architecture``; with the ``[video]`` extra ``stylize_video``; the errors ``CinStyleError``,
``ImageError``, ``StyleError``, ``ModelError``, ``MissingExtra``, ``VideoError``. With the ``[train]`` extra
also: ``Stylizer``, ``load_model``, ``save_model``, ``CinModel``, ``StyleInfo``, ``build_transform_network``,
``ConditionalInstanceNorm``, ``optimize`` (Gatys reference).
"""

from __future__ import annotations

import importlib

from cin_style import _moved
from cin_style.errors import CinStyleError, ImageError, MissingExtra, ModelError, StyleError, VideoError

_moved.install()  # old flat module paths (cin_style.stylizer, ...) still import, with a warning

__version__ = "0.1.0"

_LAZY = {
    "stylize": "cin_style.stylization.api",
    "list_styles": "cin_style.stylization.api",
    "style_sheet": "cin_style.stylization.sheet",
    "stylize_video": "cin_style.stylization.video",
    "Stylizer": "cin_style.stylization.tf_backend",
    "TFLiteStylizer": "cin_style.stylization.tflite_backend",
    "load_model": "cin_style.model.format",
    "save_model": "cin_style.model.format",
    "CinModel": "cin_style.model.format",
    "StyleInfo": "cin_style.model.format",
    "Architecture": "cin_style.model.architecture",
    "build_transform_network": "cin_style.model.network",
    "ConditionalInstanceNorm": "cin_style.model.layers",
    "optimize": "cin_style.quality.gatys",
}

__all__ = [*_LAZY, "CinStyleError", "ImageError", "StyleError", "ModelError", "MissingExtra", "VideoError",
           "__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cin_style' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
