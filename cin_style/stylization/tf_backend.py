"""Stylizing images with a trained model: the :class:`Stylizer` and the one-call API."""

from __future__ import annotations

import functools
import os

from collections.abc import Callable, Sequence
from typing import Union

import numpy as np
import tensorflow as tf
from PIL import Image

from cin_style.errors import StyleError
from cin_style.files.images import DEFAULT_MAX_PIXELS, ImageSource
from cin_style.model.bundled import bundled_model_path
from cin_style.model.format import CinModel, load_model
from cin_style.model.network import build_transform_network
from cin_style.model.styles import StyleSpec, style_weights
from cin_style.stylization.controls import MIN_SIDE, Region
from cin_style.stylization.pipeline import stylize_with
from cin_style.stylization.tiles import statistics_image, stylize_in_tiles

__all__ = ["Stylizer", "resolve_model", "stylizer_for", "ModelSource"]

#: A model argument: None (the bundled model), a model folder, or a loaded :class:`CinModel`.
ModelSource = Union[None, str, "os.PathLike[str]", CinModel]

#: Images with more pixels are stylized in tiles (bounded memory) unless told otherwise.
DEFAULT_TILE_ABOVE_PIXELS = 2_500_000


def resolve_model(model: ModelSource) -> CinModel:
    """``None`` (the bundled model), a model directory path, or a :class:`CinModel` -> CinModel."""
    if model is None:
        return _load_cached(bundled_model_path())
    if isinstance(model, CinModel):
        return model
    if isinstance(model, (str, os.PathLike)):
        return _load_cached(os.path.abspath(os.fspath(model)))
    raise TypeError(f"model must be None, a model directory path or a CinModel, not {type(model).__name__}")


@functools.lru_cache(maxsize=4)
def _load_cached(path: str) -> CinModel:
    return load_model(path)


class Stylizer:
    """Loads a model once and stylizes many images of any size.

    The network runs inside one shape-polymorphic ``tf.function`` per style-weight
    kind (global or per-pixel), so new image sizes do not retrace the graph
    (see :attr:`trace_count`).

    Args:
      model: None for the bundled model, a model directory, or a :class:`CinModel`.
      max_pixels: larger images are refused before decoding.
    """

    def __init__(self, model: ModelSource = None, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                 tile_above_pixels: int = DEFAULT_TILE_ABOVE_PIXELS, tile_size: int = 512, tile_margin: int = 96,
                 stats_max_pixels: int = 1_048_576, progress: Callable[[int, int], None] | None = None) -> None:
        self.model = resolve_model(model)
        self.max_pixels = max_pixels
        self.per_pixel_weights = True
        self.tile_above_pixels = tile_above_pixels
        self.tile_size = _multiple_of_4(tile_size, "tile_size")
        self.tile_margin = _multiple_of_4(tile_margin, "tile_margin")
        self.stats_max_pixels = stats_max_pixels
        self.progress = progress
        self._tiled_functions: dict[tuple, object] = {}
        self.trace_count = 0
        n = self.model.num_styles
        image_spec = tf.TensorSpec([None, None, None, 3], tf.float32)
        self._run_global = tf.function(
            self._traced(self.model.network), input_signature=[image_spec, tf.TensorSpec([None, n], tf.float32)])
        self._run_spatial = None

    def _traced(self, network):
        def run(images, weights):
            self.trace_count += 1  # Python side effect: runs once per trace, not per call
            return network([images, weights], training=False)
        return run

    @property
    def style_names(self) -> list[str]:
        return self.model.style_names

    def style_weights(self, style: StyleSpec) -> np.ndarray:
        """Normalized [N] weights for any accepted style argument (see :mod:`cin_style.model.styles`)."""
        return style_weights(style, self.style_names)

    def stylize_array(self, rgb: np.ndarray, weights: np.ndarray, tiled: bool | None = None) -> np.ndarray:
        """Runs the network on one image.

        Args:
          rgb: [H, W, 3] float32 in [0, 1].
          weights: [N] style weights, or per-pixel [H, W, N]; non-negative, positive sum.
          tiled: force (True) or forbid (False) tiling; None tiles above ``tile_above_pixels``.

        Returns:
          [H, W, 3] float32 in [0, 1].
        """
        height, width = rgb.shape[:2]
        if weights.ndim == 3 and weights.shape[:2] != rgb.shape[:2]:
            raise StyleError(f"per-pixel style weights of shape {weights.shape} do not match the "
                             f"image size {rgb.shape[:2]}")
        if tiled is None:
            tiled = height * width > self.tile_above_pixels
        if tiled and min(height, width) >= MIN_SIDE:
            return self._stylize_tiled(rgb, weights)
        pad_h, pad_w = max(0, MIN_SIDE - height), max(0, MIN_SIDE - width)
        if pad_h or pad_w:
            rgb = np.pad(rgb, [(0, pad_h), (0, pad_w), (0, 0)], mode="edge")
            if weights.ndim == 3:
                weights = np.pad(weights, [(0, pad_h), (0, pad_w), (0, 0)], mode="edge")
        images = tf.convert_to_tensor(rgb[None], tf.float32)
        if weights.ndim == 1:
            output = self._run_global(images, tf.convert_to_tensor(weights[None], tf.float32))
        else:
            output = self._spatial()(images, tf.convert_to_tensor(weights[None], tf.float32))
        return output.numpy()[0, :height, :width]

    def _tiled_function(self, norm_stats: str, spatial: bool):
        """tf.functions of the network variants that expose or take instance-norm statistics."""
        key = (norm_stats, spatial)
        if key not in self._tiled_functions:
            network = build_transform_network(self.model.architecture, spatial_style_weights=spatial,
                                              norm_stats=norm_stats)
            network.set_weights(self.model.network.get_weights())
            n = self.model.num_styles
            weights_spec = tf.TensorSpec([None, None, None, n] if spatial else [None, n], tf.float32)
            image_spec = tf.TensorSpec([None, None, None, 3], tf.float32)
            if norm_stats == "expose":
                function = tf.function(lambda images, weights: network([images, weights], training=False),
                                       input_signature=[image_spec, weights_spec])
            else:
                stats_specs = [tf.TensorSpec(t.shape, tf.float32) for t in network.inputs[2:]]

                def run(images, weights, *stats):
                    return network([images, weights, *stats], training=False)
                function = tf.function(run, input_signature=[image_spec, weights_spec, *stats_specs])
            self._tiled_functions[key] = function
        return self._tiled_functions[key]

    def _stylize_tiled(self, rgb: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Overlapping tiles that all use the instance-norm statistics of the whole image
        (:mod:`cin_style.stylization.tiles`): one pass measures them, on a copy shrunk to
        ``stats_max_pixels`` if the image is larger (then they are an estimate, still shared by
        every tile, so there are no seams)."""
        spatial = weights.ndim == 3
        batch = lambda array: tf.convert_to_tensor(array[None], tf.float32)  # noqa: E731
        small, small_weights = statistics_image(rgb, weights, self.stats_max_pixels)
        statistics = self._tiled_function("expose", spatial)(batch(small), batch(small_weights))[1:]
        fixed = self._tiled_function("fixed", spatial)

        def run_window(window, window_weights, statistics):
            return fixed(batch(window), batch(window_weights), *statistics).numpy()[0]
        return stylize_in_tiles(run_window, statistics, rgb, weights, self.tile_size, self.tile_margin, self.progress)

    def _spatial(self):
        if self._run_spatial is None:
            n = self.model.num_styles
            self._run_spatial = tf.function(
                self._traced(self.model.spatial_network()),
                input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32),
                                 tf.TensorSpec([None, None, None, n], tf.float32)])
        return self._run_spatial

    def stylize(self, image: ImageSource, style: StyleSpec | None, *, preserve_color: bool = False,
                strength: float = 1.0, regions: Sequence[Region] | None = None, feather_px: float = 8.0,
                style_scale: float | str = "auto") -> Image.Image:
        """Stylizes one image; see :func:`cin_style.stylize` for the arguments.

        Returns:
          A PIL image of the input's size (RGBA when the input had alpha).
        """
        return stylize_with(self, image, style, preserve_color=preserve_color, strength=strength, regions=regions,
                            feather_px=feather_px, style_scale=style_scale)

    __call__ = stylize


def _multiple_of_4(value: int, name: str) -> int:
    if int(value) <= 0 or int(value) % 4:
        raise ValueError(f"{name} must be a positive multiple of 4, got {value}")
    return int(value)


@functools.lru_cache(maxsize=4)
def _cached_stylizer(path: str) -> Stylizer:
    return Stylizer(path)


def stylizer_for(model: "ModelSource | Stylizer") -> Stylizer:
    """A (cached) :class:`Stylizer` for a model argument, or that Stylizer itself."""
    if isinstance(model, Stylizer):
        return model
    if isinstance(model, CinModel):
        return Stylizer(model)
    path = bundled_model_path() if model is None else os.path.abspath(os.fspath(model))
    return _cached_stylizer(path)
