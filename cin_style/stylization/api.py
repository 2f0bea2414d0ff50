"""The one-call API, :func:`stylize` and :func:`list_styles`, TensorFlow-free until a call needs it.

With the bundled model (or any exported file) images go through the runtime: LiteRT on the bundled
int8 .tflite file (``pip install cin-style`` holds nothing else). A model folder of your own or
``backend="tf"`` use the TensorFlow backend, which needs the ``[train]`` extra.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PIL import Image

from cin_style.errors import StyleError
from cin_style.files.images import ImageSource, PathLike
from cin_style.model.bundled import bundled_runtime_path
from cin_style.model.styles import StyleSpec
from cin_style.optional_deps import require_tensorflow
from cin_style.stylization.controls import Region
from cin_style.stylization.pipeline import Backend, stylize_with

if TYPE_CHECKING:  # the TensorFlow backend's types, without importing TensorFlow
    from cin_style.stylization.tf_backend import ModelSource, Stylizer

__all__ = ["stylize", "list_styles", "backend_for", "BACKENDS"]

BACKENDS = ("auto", "tflite", "tf")


def stylize(image: ImageSource, style: StyleSpec | None = None, *, model: ModelSource | Stylizer = None,
            preserve_color: bool = False, strength: float = 1.0, regions: Sequence[Region] | None = None,
            feather_px: float = 8.0,
            style_scale: float | str = "auto", backend: str = "auto", tflite_model: PathLike | None = None,
            num_threads: int | None = None, style_image: ImageSource | None = None) -> Image.Image:
    """Stylizes an image with a multi-style model.

    Args:
      image: a file path, a PIL image, or a numpy array (HxW, HxWx3 or HxWx4;
        uint8, uint16 or float in [0, 1]). EXIF orientation is applied; grayscale,
        palette, 16-bit and CMYK images work; an alpha channel is kept and
        re-attached to the output.
      style: which style, or which blend:

        - an index ``3`` or a name ``"starry_night"``;
        - a blend ``{"starry_night": 0.7, "great_wave": 0.3}`` or the text
          ``"starry_night=0.7,great_wave=0.3"``;
        - a sequence of N non-negative weights (N = number of styles).

        Weights are divided by their sum.
      model: None for the bundled pretrained model, a model directory path, or a
        loaded :class:`~cin_style.CinModel` / :class:`~cin_style.Stylizer` (these need TensorFlow).
      preserve_color: keep the photo's colours (luminance-only style transfer).
      strength: 0 returns the photo, 1 (default) the full style; between, a blend.
      regions: different styles in different parts of the image, as a list of
        ``(mask, style)`` pairs (mask: path, PIL image or HxW array, white/1 where
        that style applies; soft edges allowed). Replaces ``style``. The TensorFlow
        backend blends the styles' gamma/beta per pixel; the runtime runs once per
        region and cross-fades the outputs in the soft edges (the same inside regions).
      feather_px: Gaussian softening of the region masks, in pixels.
      style_scale: size of the style's strokes relative to the image. The network
        paints strokes of a fixed size in pixels, so on a 24 MP photo they would
        be a fine dust. A number s in [0.25, 8] stylizes at 1/s of the size and
        resizes back (Lanczos): ``style_scale=4`` gives a 24 MP photo the look of
        the same painting at 1.5 MP. ``"auto"`` (default) is 1 for images up to
        1 MP (1024 x 1024 pixels) and stylizes larger images at 1 MP, so every
        size looks like the same painting; use 1 for the finest texture at full
        resolution.
      backend: ``"auto"`` (default): the runtime (LiteRT) for the bundled model or a
        ``tflite_model``, TensorFlow for a model folder; ``"tflite"``;
        ``"tf"`` (the float model; needs the ``[train]`` extra).
      tflite_model: a .tflite file made by ``cin-style export`` (default: the bundled one).
      num_threads: LiteRT threads (default: every CPU this process may use).
      style_image: any picture (a painting, a texture, a photo) as one more style of the model:
        its gamma/beta are fitted against the model's frozen convolutions (a minute or two on 2
        CPU cores the first time; then read from ``~/.cache/cin-style``). The style is named
        after the file (``my_painting.jpg`` -> ``my_painting``) and is what ``style`` defaults
        to; ``style`` may also blend it with the model's own styles. Needs the ``[train]`` extra
        (it runs on TensorFlow).

    Returns:
      A PIL image with the input's width and height (RGB, or RGBA if the input
      had alpha).

    Raises:
      ImageError: the image cannot be read. StyleError: the style does not fit
      the model. ModelError: the model cannot be loaded, or no bundled model.
      MissingExtra: the call needs TensorFlow and the ``[train]`` extra is not installed.

    Example::

        >>> import cin_style
        >>> cin_style.stylize("photo.jpg", "starry_night").save("out.jpg")
    """
    if style is None and regions is None and style_image is None:
        raise StyleError("give a style (a name, an index, a blend or weights) or regions=[(mask, style), ...]")
    stylizer, picture_style = backend_for(model=model, backend=backend, tflite_model=tflite_model,
                                          num_threads=num_threads, style_image=style_image)
    return stylize_with(stylizer, image, picture_style if style is None else style, preserve_color=preserve_color,
                        strength=strength, regions=regions, feather_px=feather_px, style_scale=style_scale)


def backend_for(*, model: ModelSource | Stylizer = None, backend: str = "auto", tflite_model: PathLike | None = None,
                num_threads: int | None = None, style_image: ImageSource | None = None,
                fit_progress: Callable[[int, int], None] | None = None) -> tuple[Backend, str | None]:
    """The stylizer that :func:`stylize` uses for these arguments (cached across calls), and the name of the
    ``style_image`` style (None without one). See :func:`stylize` for the arguments; ``fit_progress`` is called
    with (step, steps) while a new ``style_image`` is learnt."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if style_image is not None:
        if backend == "tflite":
            raise ValueError("style_image= needs the TensorFlow backend (a .tflite file's styles are fixed)")
        require_tensorflow("a picture as the style (style_image=)")
        from cin_style.stylization.tf_backend import Stylizer, resolve_model
        from cin_style.train.style_fit import with_style_picture

        base = model.model if isinstance(model, Stylizer) else resolve_model(model)
        fitted, name = with_style_picture(base, style_image, progress=fit_progress)
        return Stylizer(fitted), name
    if backend == "auto":
        backend = "tflite" if tflite_model is not None or model is None else "tf"
    if backend == "tflite":
        if model is not None:
            raise ValueError("model= is a TensorFlow model; with backend='tflite' pass tflite_model=PATH")
        path = bundled_runtime_path() if tflite_model is None else os.path.abspath(os.fspath(tflite_model))
        return _runtime(path, num_threads), None
    require_tensorflow("stylizing with a model folder or backend='tf'")
    from cin_style.stylization.tf_backend import stylizer_for

    return stylizer_for(model), None


@functools.lru_cache(maxsize=4)
def _runtime(path: str, num_threads: int | None):
    from cin_style.stylization.tflite_backend import TFLiteStylizer

    return TFLiteStylizer(path, num_threads=num_threads)


def list_styles(model: ModelSource | Stylizer = None) -> list[str]:
    """Style names of ``model`` (None: the bundled model, read without TensorFlow), in index order."""
    if model is None:
        return list(_runtime(bundled_runtime_path(), None).style_names)
    require_tensorflow("reading a model folder")
    from cin_style.stylization.tf_backend import Stylizer, resolve_model

    if isinstance(model, Stylizer):
        return model.style_names
    return resolve_model(model).style_names
