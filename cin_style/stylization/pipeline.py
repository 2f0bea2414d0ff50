"""The one stylize pipeline, shared by every backend: read the image, turn the style (or regions) into
weights, apply the style scale and border margin around the backend's network, then colour preservation
and strength. A backend only runs its network on one float image (:class:`Backend`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from PIL import Image

from cin_style.errors import StyleError
from cin_style.files.images import ImageSource, load_image, to_pil
from cin_style.model.styles import StyleSpec, style_weights
from cin_style.stylization import controls
from cin_style.stylization.controls import MIN_SIDE, Region

__all__ = ["Backend", "stylize_with"]


class Backend(Protocol):
    """What the pipeline needs of a backend."""

    @property
    def style_names(self) -> list[str]:
        """The model's style names, in index order."""
        ...

    @property
    def max_pixels(self) -> int:
        """Images with more pixels are refused before decoding."""
        ...

    @property
    def supports_regions(self) -> bool:
        """Whether :meth:`stylize_array` takes per-pixel [H, W, N] weights (spatial blends)."""
        ...

    def stylize_array(self, rgb: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """[H, W, 3] float32 in [0, 1] and [N] (or [H, W, N]) weights -> [H, W, 3] float32 in [0, 1]."""
        ...


def stylize_with(backend: Backend, image: ImageSource, style: StyleSpec | None, *, preserve_color: bool = False,
                 strength: float = 1.0, regions: Sequence[Region] | None = None, feather_px: float = 8.0,
                 style_scale: float | str = "auto") -> Image.Image:
    """Stylizes one image with ``backend``; see :func:`cin_style.stylize` for the arguments.

    Returns:
      A PIL image of the input's size (RGBA when the input had alpha).
    """
    loaded = load_image(image, backend.max_pixels)
    height, width = loaded.rgb.shape[:2]
    if regions is not None:
        if not backend.supports_regions:
            raise StyleError(f"regions need per-pixel style weights, which the {type(backend).__name__} backend "
                             "does not take")
        weights = controls.region_weights(regions, lambda s: style_weights(s, backend.style_names), height, width,
                                          feather_px)
    elif style is None:
        raise StyleError("give a style (a name, an index, a blend or weights) or regions=[(mask, style), ...]")
    else:
        weights = style_weights(style, backend.style_names)
    scale = controls.resolve_style_scale(style_scale, height, width)
    output = controls.stylize_at_scale(backend.stylize_array, loaded.rgb, weights, scale, MIN_SIDE)
    if preserve_color:
        output = controls.preserve_color(output, loaded.rgb)
    return to_pil(controls.apply_strength(output, loaded.rgb, strength), loaded.alpha)
