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
    def per_pixel_weights(self) -> bool:
        """Whether :meth:`stylize_array` takes per-pixel [H, W, N] weights (regions blend gamma/beta per
        pixel); otherwise regions blend one output per region with the same feathered masks."""
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
    scale = controls.resolve_style_scale(style_scale, height, width)
    if regions is not None and not backend.per_pixel_weights:
        output = _blend_region_outputs(backend, loaded.rgb, regions, feather_px, scale)
    else:
        if regions is not None:
            weights = controls.region_weights(regions, lambda s: style_weights(s, backend.style_names), height,
                                              width, feather_px)
        elif style is None:
            raise StyleError("give a style (a name, an index, a blend or weights) or regions=[(mask, style), ...]")
        else:
            weights = style_weights(style, backend.style_names)
        output = controls.stylize_at_scale(backend.stylize_array, loaded.rgb, weights, scale, MIN_SIDE)
    if preserve_color:
        output = controls.preserve_color(output, loaded.rgb)
    return to_pil(controls.apply_strength(output, loaded.rgb, strength), loaded.alpha)


def _blend_region_outputs(backend: Backend, rgb: np.ndarray, regions: Sequence[Region], feather_px: float,
                          scale: float) -> np.ndarray:
    """Regions on a backend without per-pixel weights: one run per region's style, blended by the same
    feathered masks. Inside a region the result is that style's; in the soft edges the outputs cross-fade
    (the TensorFlow backend blends gamma/beta there instead)."""
    height, width = rgb.shape[:2]
    masks = controls.region_masks(regions, height, width, feather_px)
    total = np.zeros((height, width, 3), np.float32)
    for mask, (_, style) in zip(masks, regions):
        weights = style_weights(style, backend.style_names)
        total += mask[..., None] * controls.stylize_at_scale(backend.stylize_array, rgb, weights, scale, MIN_SIDE)
    coverage = np.sum(masks, axis=0)  # positive everywhere (region_masks checks)
    return total / coverage[..., None]
