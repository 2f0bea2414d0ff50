"""Image controls applied around the network: colour preservation, strength, region masks, style scale.

Numpy (and PIL, for resizing) functions on [H, W, 3] float32 images in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Union

import numpy as np

from cin_style.errors import StyleError
from cin_style.files.images import ImageSource, load_image, resize
from cin_style.model.styles import StyleSpec

__all__ = ["LUMA_WEIGHTS", "preserve_color", "apply_strength", "region_weights", "resolve_style_scale",
           "stylize_at_scale", "add_border_margin", "with_border_margin", "BORDER_MARGIN", "AUTO_STYLE_SCALE_PIXELS",
           "MIN_SIDE", "Region"]

#: One region of a spatial blend: a mask (an image source or an [H, W] array, white = inside) and its style.
Region = tuple[Union[ImageSource, np.ndarray], StyleSpec]
#: A backend's network call: ([H, W, 3] image in [0, 1], style weights [N] or [H, W, N]) -> [H, W, 3] image.
StylizeArray = Callable[[np.ndarray, np.ndarray], np.ndarray]

# ``style_scale="auto"`` stylizes images larger than this at this many pixels (and resizes back), so a
# 24 MP photo gets the strokes of the same painting at 1 MP instead of a fine dust of texture
# (chosen by looking at a 4800x3200 photo at scales 1, 2 and 4 next to its 600x400 and 1200x800 copies).
AUTO_STYLE_SCALE_PIXELS = 1024 * 1024

#: Images with a side shorter than this are edge-padded before the network and cropped after.
MIN_SIDE = 16
STYLE_SCALE_RANGE = (0.25, 8.0)

# ITU-R BT.601 luma and the matching chroma axes (the YCbCr that JPEG uses).
_RGB_TO_YCC = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]],
                       np.float32)
_YCC_TO_RGB = np.linalg.inv(_RGB_TO_YCC).astype(np.float32)
LUMA_WEIGHTS = _RGB_TO_YCC[0]


def preserve_color(stylized: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Luminance-only transfer: the stylized image's luma with the content's chroma.

    Why luminance transfer (Gatys et al. 2016) and not colour-histogram matching:
    with a trained network only the output can be changed, and matching its
    histogram to the photo keeps the painting's colour *distribution* moved
    around but still misplaces hues (a blue sky can turn skin-coloured); taking
    the photo's own chroma per pixel keeps every object its colour by
    construction, while brush strokes and texture live in the luma.
    """
    stylized_ycc = stylized @ _RGB_TO_YCC.T
    content_ycc = content @ _RGB_TO_YCC.T
    mixed = np.concatenate([stylized_ycc[..., :1], content_ycc[..., 1:]], axis=-1)
    return np.clip(mixed @ _YCC_TO_RGB.T, 0.0, 1.0).astype(np.float32)


def apply_strength(stylized: np.ndarray, content: np.ndarray, strength: float) -> np.ndarray:
    """``strength`` 0 gives the photo, 1 the full style; between, a pixel blend.

    A pixel blend was chosen over interpolating gamma/beta toward an identity:
    the network has no 'no style' parameters to interpolate to (any gamma/beta
    gives a painting), so a parameter blend between styles changes the *kind* of
    style, not its amount.
    """
    strength = float(strength)
    if not 0.0 <= strength <= 1.0:
        raise StyleError(f"strength must be in [0, 1], got {strength}")
    if strength == 1.0:
        return stylized
    return ((1.0 - strength) * content + strength * stylized).astype(np.float32)


def _mask_array(mask, height: int, width: int, feather_px: float) -> np.ndarray:
    if isinstance(mask, np.ndarray) and mask.ndim == 2 and np.issubdtype(mask.dtype, np.floating):
        array = mask.astype(np.float32)
        if not np.all(np.isfinite(array)) or array.min(initial=0) < 0 or array.max(initial=0) > 1:
            raise StyleError("float masks must hold values in [0, 1]")
    else:
        array = load_image(mask).rgb.mean(axis=2)
    if array.shape != (height, width):
        raise StyleError(f"mask of size {array.shape[1]}x{array.shape[0]} does not match the image "
                         f"({width}x{height})")
    if feather_px > 0:
        array = gaussian_blur(array, feather_px)
    return array


def gaussian_blur(array: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of a 2-D float array, edges extended (the kernel of ``scipy.ndimage.gaussian_filter`` with
    ``mode="nearest"``, radius 4 sigma), separable, in numpy: the runtime has no scipy."""
    radius = int(4.0 * float(sigma) + 0.5)
    taps = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (taps / float(sigma)) ** 2)
    kernel = (kernel / kernel.sum()).astype(np.float32)
    result = np.asarray(array, np.float32)
    for axis in (0, 1):
        size = result.shape[axis]
        padded = np.pad(result, [(radius, radius) if a == axis else (0, 0) for a in range(2)], mode="edge")
        blurred = np.zeros_like(result)
        for offset, weight in enumerate(kernel):
            blurred += weight * (padded[offset:offset + size] if axis == 0 else padded[:, offset:offset + size])
        result = blurred
    return result


def region_masks(regions: Sequence[Region], height: int, width: int, feather_px: float = 8.0) -> list[np.ndarray]:
    """Each region's feathered mask, [H, W] float32 (white / 1 = that region's style).

    Raises:
      StyleError: no regions, a mask of the wrong size, or pixels covered by no mask.
    """
    if not regions:
        raise StyleError("regions is empty; give at least one (mask, style) pair")
    masks = [_mask_array(mask, height, width, feather_px) for mask, _ in regions]
    if np.any(sum(masks) <= 1e-6):
        raise StyleError("some pixels are covered by no mask; add a background region (for example the "
                         "inverse mask with another style)")
    return masks


def region_weights(regions: Sequence[Region], style_weights_of: Callable[[StyleSpec], np.ndarray], height: int,
                   width: int, feather_px: float = 8.0) -> np.ndarray:
    """Per-pixel style weights [H, W, N] from ``[(mask, style), ...]``.

    Args:
      regions: pairs of a mask (path, PIL image or array the size of the image;
        white / 1 = this style) and any style argument.
      style_weights_of: turns a style argument into normalized [N] weights.
      feather_px: Gaussian blur of each mask (soft edges), in pixels.

    Raises:
      StyleError: a mask of the wrong size, or pixels covered by no mask.
    """
    masks = region_masks(regions, height, width, feather_px)
    total = sum(mask[..., None] * style_weights_of(style)[None, None, :] for mask, (_, style) in zip(masks, regions))
    assert isinstance(total, np.ndarray)
    return total.astype(np.float32)


def resolve_style_scale(style_scale: float | str, height: int, width: int) -> float:
    """The factor by which the network works below the image's size.

    ``"auto"`` is 1 up to :data:`AUTO_STYLE_SCALE_PIXELS` and grows with the
    image's side beyond it; a number must lie in ``STYLE_SCALE_RANGE``.
    """
    if isinstance(style_scale, str):
        if style_scale.strip().lower() == "auto":
            return max(1.0, math.sqrt(height * width / AUTO_STYLE_SCALE_PIXELS))
        try:
            style_scale = float(style_scale)
        except ValueError:
            raise StyleError(f"style_scale must be 'auto' or a number in [{STYLE_SCALE_RANGE[0]}, "
                             f"{STYLE_SCALE_RANGE[1]}], got {style_scale!r}") from None
    low, high = STYLE_SCALE_RANGE
    if isinstance(style_scale, bool) or not isinstance(style_scale, (int, float)) or not low <= style_scale <= high:
        raise StyleError(f"style_scale must be 'auto' or a number in [{low}, {high}], got {style_scale!r}")
    return float(style_scale)


#: Mirrored pixels added on every side before the network and cropped after (see :func:`with_border_margin`).
BORDER_MARGIN = 8


def add_border_margin(array: np.ndarray, margin: int = BORDER_MARGIN,
                      mode: str = "reflect") -> tuple[np.ndarray, tuple[int, int]]:
    """``array`` ([H, W, C]) padded by ``margin`` pixels on every side (at most H - 1 and W - 1:
    a mirror needs that much image), mirrored (numpy's ``reflect``: the edge row is not
    repeated) or with ``mode`` ``edge``. Returns ``(padded, (pad_h, pad_w))``; the image lies at
    ``padded[pad_h:pad_h + H, pad_w:pad_w + W]``. The Android sample's native padding
    reproduces this (golden vectors in ``android_demo/golden/pixels.json``)."""
    height, width = array.shape[:2]
    pad_h, pad_w = max(0, min(margin, height - 1)), max(0, min(margin, width - 1))
    pad = [(pad_h, pad_h), (pad_w, pad_w)] + [(0, 0)] * (array.ndim - 2)
    # mode is one of numpy's pad modes, which numpy's stubs spell as a Literal
    return np.pad(array, pad, mode=mode), (pad_h, pad_w)  # type: ignore[call-overload]


def with_border_margin(stylize_array: StylizeArray, rgb: np.ndarray, weights: np.ndarray,
                       margin: int = BORDER_MARGIN) -> np.ndarray:
    """Runs ``stylize_array`` on ``rgb`` mirror-padded by ``margin`` pixels on every side
    (:func:`add_border_margin`) and crops the result back.

    The stride-2 stages sample rows and columns from the top-left, so the network treats
    the bottom and right edges differently from the rest: the bundled model drew a 2-3 px
    coloured line along the bottom (great_wave on the coffee photo: the last rows' mean
    74 levels off the image mean, against 13 five rows up; 8 with the margin). The margin
    moves that band outside the kept picture, for about 3% more work at 1024 px.
    """
    height, width = rgb.shape[:2]
    padded, (pad_h, pad_w) = add_border_margin(rgb, margin)
    if weights.ndim == 3:
        weights, _ = add_border_margin(weights, margin, mode="edge")
    return stylize_array(padded, weights)[pad_h:pad_h + height, pad_w:pad_w + width]


def stylize_at_scale(stylize_array: StylizeArray, rgb: np.ndarray, weights: np.ndarray, scale: float,
                     min_side: int = 16) -> np.ndarray:
    """Strokes ``scale`` times larger: runs ``stylize_array`` at 1/scale of the size and resizes back,
    with a mirrored :func:`with_border_margin` around the image at the network's resolution.

    Args:
      stylize_array: ``(rgb, weights) -> rgb``, a backend's whole-array stylization.
      weights: [N], or per-pixel [H, W, N] (resized with the image).
    """
    height, width = rgb.shape[:2]
    size = (max(min_side, round(height / scale)), max(min_side, round(width / scale)))
    if scale == 1.0 or size == (height, width):
        return with_border_margin(stylize_array, rgb, weights)
    small = np.clip(resize(rgb, *size), 0.0, 1.0)
    if weights.ndim == 3:
        weights = np.maximum(resize(weights, *size), 0.0)
    return np.clip(resize(with_border_margin(stylize_array, small, weights), height, width), 0.0, 1.0)
