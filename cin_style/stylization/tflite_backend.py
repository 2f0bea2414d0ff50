"""Running an exported .tflite model with LiteRT (``ai-edge-litert``), the runtime Android uses.

Same pre- and post-processing as the TensorFlow path: any image size (the
image is mirror-padded to the model's size multiple, the input tensor resized
per image and the output cropped back), alpha carried over, float or uint8 I/O
handled from the model's own tensor types.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image

from cin_style.errors import ImageError, ModelError, StyleError
from cin_style.files.images import DEFAULT_MAX_PIXELS, ImageSource, PathLike
from cin_style.model.architecture import Architecture, pad_to_size_multiple
from cin_style.model.bundled import bundled_runtime_path
from cin_style.model.styles import StyleSpec, style_weights
from cin_style.quiet_start import run_with_filtered_stderr
from cin_style.stylization.controls import MIN_SIDE, Region
from cin_style.stylization.pipeline import stylize_with
from cin_style.stylization.tflite_contract import (INPUT_NAMES, OUTPUT_NAME, SIGNATURE_KEY, STATISTICS_KEY, TILE_KEY,
                                                   TILES_ROLE, check_metadata, check_tiles_metadata,
                                                   read_checked_model, read_metadata, tiles_path)
from cin_style.stylization.tiles import statistics_image, stylize_in_tiles

__all__ = ["TFLiteStylizer", "quantize", "dequantize", "DEFAULT_MAX_WORK_PIXELS"]

#: The runtime stylizes working images up to this size in one piece with the int8 file (its memory grows
#: with the pixels: full model 0.53 GiB at 1 MP, 1.9 GiB at 4 MP, 7.2 GiB at 16.8 MP, peak RSS); larger
#: ones in tiles with the tiles file beside it (float16 weights, bounded memory), or, without one, are
#: refused with advice.
DEFAULT_MAX_WORK_PIXELS = 8 * 1024 * 1024


def quantize(values: np.ndarray, scale: float, zero_point: int, dtype: type[np.integer]) -> np.ndarray:
    """Float values to an integer tensor: ``clip(rint(v / scale) + zero_point)`` in float32 arithmetic.

    This is the pixel contract the Android sample's native code implements too
    (android_demo/golden/pixels.json holds shared test vectors).
    """
    info = np.iinfo(dtype)
    scaled = np.asarray(values, np.float32) / np.float32(scale)
    return np.clip(np.rint(scaled).astype(np.int64) + int(zero_point), info.min, info.max).astype(dtype)


def dequantize(values: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Integer tensor to float32: ``(q - zero_point) * scale``."""
    return (np.asarray(values, np.int32) - np.int32(zero_point)).astype(np.float32) * np.float32(scale)


def usable_cpu_count() -> int:
    """CPUs this process may run on (its affinity mask where the system has one), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class TFLiteStylizer:
    """Stylizes with a .tflite file written by :func:`cin_style.export.tflite.export_tflite`.

    Args:
      path: the .tflite file (default: the bundled model's); its metadata ``<path>.json`` gives the style
        names (without it, styles are named by index).
      num_threads: LiteRT threads (XNNPACK delegate); default: every CPU this process may use
        (LiteRT's own default is one thread).
      max_pixels: larger images are refused before decoding.
      max_work_pixels: larger working images (after ``style_scale``) are stylized in tiles, with the tiles
        file beside the model (``<name>.tiles.tflite``; the bundled model has one), or refused without one.
      tile_size, tile_margin: the tiles' kept cores and the context around them, in pixels (multiples of 4).
      stats_max_pixels: the tiles' shared statistics are measured on the image shrunk to this many pixels.
      progress: called with (tiles done, tiles in all) after each tile.
    """

    def __init__(self, path: PathLike | None = None, num_threads: int | None = None,
                 max_pixels: int = DEFAULT_MAX_PIXELS, max_work_pixels: int = DEFAULT_MAX_WORK_PIXELS, *,
                 tile_size: int = 512, tile_margin: int = 96, stats_max_pixels: int = 1_048_576,
                 progress: Callable[[int, int], None] | None = None) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:  # pragma: no cover - a dependency of every install
            raise ModelError("the runtime needs ai-edge-litert, a dependency of cin-style: "
                             "reinstall cin-style") from exc
        if num_threads is None:
            num_threads = usable_cpu_count()
        if isinstance(num_threads, bool) or not isinstance(num_threads, int) or not 1 <= num_threads <= 1024:
            raise ValueError(f"num_threads must be an integer in 1..1024, got {num_threads!r}")
        self.num_threads = num_threads
        self.path = bundled_runtime_path() if path is None else os.fspath(path)
        if not os.path.isfile(self.path):
            raise ModelError(f"{self.path}: no such TFLite model")
        self.metadata = read_metadata(self.path)
        if self.metadata is not None and self.metadata.get("role") == TILES_ROLE:
            raise ModelError(f"{self.path}: a tiles file, which only helps its main model; pass the main .tflite file")
        content = read_checked_model(self.path, self.metadata)
        try:
            self._interpreter = Interpreter(model_content=content, num_threads=num_threads)
            self._runner = self._interpreter.get_signature_runner(SIGNATURE_KEY)
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"{self.path}: not a loadable cin-style TFLite model ({exc})") from exc
        inputs = self._runner.get_input_details()
        if set(inputs) != set(INPUT_NAMES):
            raise ModelError(f"{self.path}: expected inputs {' and '.join(INPUT_NAMES)}, found {sorted(inputs)}")
        self._image_detail = inputs["image"]
        self._style_detail = inputs["style_weights"]
        self._output_detail = self._runner.get_output_details()[OUTPUT_NAME]
        self.num_styles = int(inputs["style_weights"]["shape"][-1])
        self.architecture: Architecture | None = None
        if self.metadata is not None:
            self.style_names, self.architecture = check_metadata(self.metadata, self.path, self.num_styles)
        else:
            self.style_names = [str(i) for i in range(self.num_styles)]
        self.max_pixels = max_pixels
        self.max_work_pixels = max_work_pixels
        if tile_size <= 0 or tile_size % 4 or tile_margin < 0 or tile_margin % 4:
            raise ValueError(f"tile_size and tile_margin must be multiples of 4 (tile_size > 0), got {tile_size}, "
                             f"{tile_margin}")
        self.tile_size, self.tile_margin, self.stats_max_pixels = tile_size, tile_margin, stats_max_pixels
        self.progress = progress
        self._tiles: tuple | None = None  # (statistics runner, tile runner, statistics names), loaded when needed
        self.per_pixel_weights = False  # the exported signature takes one weight per style
        # LiteRT creates its XNNPACK delegate on the first run and announces it on stderr: run a tiny image
        # now, with that line filtered out (quiet_start), so no call prints anything.
        blank = np.full((MIN_SIDE, MIN_SIDE, 3), 0.5, np.float32)
        try:
            run_with_filtered_stderr(lambda: self.stylize_array(blank, np.full(self.num_styles, 1.0, np.float32)))
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"{self.path}: the model does not run ({exc})") from exc

    def style_weights(self, style: StyleSpec) -> np.ndarray:
        """Normalized [N] weights for any accepted style argument."""
        return style_weights(style, self.style_names)

    def stylize_array(self, rgb: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """[H, W, 3] float32 in [0, 1] and [N] weights -> [H, W, 3] float32 in [0, 1]."""
        if weights.ndim != 1:
            raise StyleError("the tflite backend takes one weight per style (no per-pixel weights)")
        height, width = rgb.shape[:2]
        pad_h, pad_w = max(0, MIN_SIDE - height), max(0, MIN_SIDE - width)
        if pad_h or pad_w:
            rgb = np.pad(rgb, [(0, pad_h), (0, pad_w), (0, 0)], mode="edge")
        rgb = pad_to_size_multiple(rgb)
        if height * width > self.max_work_pixels:
            return self._stylize_tiled(rgb, weights)[:height, :width]
        image = self._to_input(rgb[None].astype(np.float32), self._image_detail)
        output = self._runner(image=image, style_weights=self._to_input(weights[None], self._style_detail))
        output = self._from_output(output[OUTPUT_NAME][0], self._output_detail)
        return np.clip(output[:height, :width], 0.0, 1.0)

    def _tile_runners(self, height: int, width: int) -> tuple:
        """The tiles file's runners (loaded on first use), or an ImageError when there is none."""
        if self._tiles is None:
            path = tiles_path(self.path)
            if not os.path.isfile(path):
                raise ImageError(
                    f"{width}x{height} pixels at this style scale is more than the runtime stylizes in one piece "
                    f"({self.max_work_pixels} pixels; its memory grows with the image, about 0.45 KB a pixel for "
                    f"the full model), and {path}, which would stylize it in tiles, does not exist (`cin-style "
                    "export` writes it): use style_scale='auto' (the default) or a larger one, or the TensorFlow "
                    "backend (backend='tf', --backend tf; the [train] extra)")
            metadata = read_metadata(path)
            names = check_tiles_metadata(metadata, path, None if self.metadata is None else self.metadata.get("sha256"))
            content = read_checked_model(path, metadata)
            from ai_edge_litert.interpreter import Interpreter

            try:
                interpreter = Interpreter(model_content=content, num_threads=self.num_threads)
                statistics = interpreter.get_signature_runner(STATISTICS_KEY)
                tile = interpreter.get_signature_runner(TILE_KEY)
            except (ValueError, RuntimeError) as exc:
                raise ModelError(f"{path}: not a loadable cin-style tiles file ({exc})") from exc
            if (set(statistics.get_output_details()) != set(names)
                    or set(tile.get_input_details()) != {*INPUT_NAMES, *names}):
                raise ModelError(f"{path}: its signatures do not match the statistics its metadata names")
            self._tiles = (statistics, tile, names, interpreter)
        return self._tiles

    def _stylize_tiled(self, rgb: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Tiles that share the whole image's instance-norm statistics (:mod:`cin_style.stylization.tiles`),
        in float with the tiles file: memory bounded by the tile size and ``stats_max_pixels``."""
        height, width = rgb.shape[:2]  # multiples of 4 (stylize_array pads)
        measure, tile, names, _ = self._tile_runners(height, width)
        style = weights[None].astype(np.float32)
        small, _ = statistics_image(rgb, weights, self.stats_max_pixels)
        small = pad_to_size_multiple(small)[None].astype(np.float32)
        measured = measure(image=small, style_weights=style)
        statistics = [measured[name] for name in names]

        def run_window(window, _weights, statistics):
            return tile(image=window[None].astype(np.float32), style_weights=style,
                        **dict(zip(names, statistics)))[OUTPUT_NAME][0]
        output = stylize_in_tiles(run_window, statistics, rgb, weights, self.tile_size, self.tile_margin,
                                  self.progress)
        return np.clip(output, 0.0, 1.0)

    @staticmethod
    def _to_input(values: np.ndarray, detail) -> np.ndarray:
        """Float values in the input tensor's dtype (quantized with its scale and zero point if integer)."""
        if detail["dtype"] == np.float32:
            return values.astype(np.float32)
        scale, zero_point = detail["quantization"]
        return quantize(values, scale, zero_point, detail["dtype"])

    @staticmethod
    def _from_output(values: np.ndarray, detail) -> np.ndarray:
        if detail["dtype"] == np.float32:
            return values
        scale, zero_point = detail["quantization"]
        return dequantize(values, scale, zero_point)

    def stylize(self, image: ImageSource, style: StyleSpec | None, *, preserve_color: bool = False,
                strength: float = 1.0, regions: Sequence[Region] | None = None, feather_px: float = 8.0,
                style_scale: float | str = "auto") -> Image.Image:
        """Like :func:`cin_style.stylize`; returns a PIL image of the input's size. ``regions`` run the
        network once per region's style and blend the outputs by the feathered masks."""
        return stylize_with(self, image, style, preserve_color=preserve_color, strength=strength, regions=regions,
                            feather_px=feather_px, style_scale=style_scale)

    __call__ = stylize
