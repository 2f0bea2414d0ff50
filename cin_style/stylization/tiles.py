"""Stylizing a large image in overlapping tiles that share the whole image's instance-norm statistics,
for every backend (bounded memory at any size, no seams).

A backend supplies two functions: one that measures every instance norm's statistics on an image
(here a copy shrunk to at most ``statistics_max_pixels``, so the measuring pass has bounded memory too)
and one that stylizes a window with given statistics. Windows start on multiples of 4 and reach
``margin`` pixels past the core they keep, more than the network's receptive-field radius, so each core
equals the one-piece result computed with the same statistics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from cin_style.files.images import resize
from cin_style.stylization.controls import MIN_SIDE

__all__ = ["stylize_in_tiles", "statistics_image"]

#: A backend's run of one window: (rgb window, weights for it, statistics) -> stylized window.
RunWindow = Callable[[np.ndarray, np.ndarray, Sequence[Any]], np.ndarray]


def statistics_image(rgb: np.ndarray, weights: np.ndarray, max_pixels: int) -> tuple[np.ndarray, np.ndarray]:
    """``rgb`` (and per-pixel ``weights``) shrunk to at most ``max_pixels`` pixels for measuring the
    statistics; unchanged when it is already that small. Sides stay at least the network's minimum."""
    height, width = rgb.shape[:2]
    scale = min(1.0, (max_pixels / (height * width)) ** 0.5)
    if scale >= 1.0:
        return rgb, weights
    size = (max(MIN_SIDE, round(height * scale)), max(MIN_SIDE, round(width * scale)))
    small = np.clip(resize(rgb, *size), 0.0, 1.0)
    if weights.ndim == 3:
        weights = np.maximum(resize(weights, *size), 0.0)
    return small, weights


def stylize_in_tiles(run_window: RunWindow, statistics: Sequence[Any], rgb: np.ndarray, weights: np.ndarray,
                     tile_size: int, margin: int, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """[H, W, 3] -> [H, W, 3] float32, window by window with the given shared ``statistics``.

    Args:
      run_window: the backend's network on one window (see :data:`RunWindow`).
      statistics: every instance norm's statistics, as ``run_window`` takes them.
      rgb: [H, W, 3] float32 in [0, 1]; H and W as the backend needs them (the runtime: multiples of 4).
      weights: [N], or per-pixel [H, W, N] (cut like the image).
      tile_size, margin: multiples of 4 (the windows then start on the network's grid).
      progress: called with (tiles done, tiles in all) after each tile.
    """
    if tile_size % 4 or margin % 4 or tile_size <= 0 or margin < 0:
        raise ValueError(f"tile_size and margin must be multiples of 4 (tile_size > 0), got {tile_size}, {margin}")
    height, width = rgb.shape[:2]
    output = np.empty((height, width, 3), np.float32)
    cores = [(y, x) for y in range(0, height, tile_size) for x in range(0, width, tile_size)]
    for done, (y0, x0) in enumerate(cores, start=1):
        y1, x1 = min(y0 + tile_size, height), min(x0 + tile_size, width)
        wy0, wx0 = max(0, y0 - margin), max(0, x0 - margin)
        wy1, wx1 = min(height, y1 + margin), min(width, x1 + margin)
        window_weights = weights[wy0:wy1, wx0:wx1] if weights.ndim == 3 else weights
        result = run_window(rgb[wy0:wy1, wx0:wx1], window_weights, statistics)
        output[y0:y1, x0:x1] = result[y0 - wy0:y1 - wy0, x0 - wx0:x1 - wx0]
        if progress:
            progress(done, len(cores))
    return output
