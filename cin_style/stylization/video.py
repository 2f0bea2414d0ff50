"""Stylizing a video: every frame through the one stylize pipeline, held steady across frames by
:class:`~cin_style.stylization.temporal.TemporalStabilizer`, written with the clip's timing and audio.

    cin_style.stylize_video("walk.mp4", "walk_starry.mp4", "starry_night")

Needs the ``[video]`` extra (PyAV and OpenCV).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from cin_style.errors import StyleError
from cin_style.files.images import ImageSource, PathLike, load_image
from cin_style.files.video import DEFAULT_MAX_FRAME_PIXELS, check_video_destination, probe_video, transcode_frames
from cin_style.model.styles import StyleSpec, style_weights
from cin_style.stylization import controls
from cin_style.stylization.api import backend_for
from cin_style.stylization.controls import Region
from cin_style.stylization.pipeline import stylize_with
from cin_style.stylization.temporal import TemporalSettings, TemporalStabilizer

if TYPE_CHECKING:  # the TensorFlow backend's types, without importing TensorFlow
    from cin_style.stylization.tf_backend import ModelSource, Stylizer

__all__ = ["stylize_video", "VideoResult"]


@dataclasses.dataclass(frozen=True)
class VideoResult:
    """What :func:`stylize_video` wrote.

    Attributes:
      output: the output file.
      frames: frames written (as many as the input has).
      width, height: frame size (the input's).
      frame_rate: the input's average frame rate (the output keeps every frame's timestamp).
      audio: the input's audio codec (kept in the output), or None for a silent clip.
      scene_cuts: frames after the first where the history was dropped (scene cuts).
      seconds: wall time.
    """

    output: str
    frames: int
    width: int
    height: int
    frame_rate: Fraction
    audio: str | None
    scene_cuts: int
    seconds: float


def stylize_video(source: PathLike, output: PathLike, style: StyleSpec | None = None, *,
                  regions: Sequence[Region] | None = None, preserve_color: bool = False, strength: float = 1.0,
                  feather_px: float = 8.0, style_scale: float | str = "auto", stability: float = 0.8,
                  model: ModelSource | Stylizer = None, backend: str = "auto", tflite_model: PathLike | None = None,
                  num_threads: int | None = None, style_image: ImageSource | None = None, overwrite: bool = False,
                  max_pixels: int = DEFAULT_MAX_FRAME_PIXELS,
                  progress: Callable[[int, int], None] | None = None,
                  fit_progress: Callable[[int, int], None] | None = None) -> VideoResult:
    """Stylizes every frame of a clip into a new video file.

    Args:
      source: the input clip (anything FFmpeg reads: MP4, MOV, MKV, WebM, AVI, ...).
      output: the new file; its extension picks the format (.mp4, .mov, .mkv: H.264; .webm: VP9). It
        keeps the input's frame count, timestamps (frame rate), size and audio.
      style, regions, preserve_color, strength, feather_px, style_scale, model, backend, tflite_model,
        num_threads, style_image: as for :func:`cin_style.stylize`, applied to every frame. Region masks
        are pictures of the frame size, the same for every frame.
      stability: how strongly each frame holds on to the previous output where the camera's or the
        scene's motion explains it, in [0, 0.95]; 0 stylizes every frame on its own (flickers). See
        :class:`~cin_style.stylization.temporal.TemporalSettings`.
      overwrite: replace an existing ``output``.
      max_pixels: clips with larger frames are refused before decoding.
      progress: called with (frames done, frames the header states or 0) after every frame.
      fit_progress: called with (step, steps) while a new ``style_image`` is learnt (before the first frame).

    Returns:
      A :class:`VideoResult`.

    Raises:
      VideoError: the input cannot be read, or the output exists or cannot be written (nothing is left
      behind). StyleError, ModelError, MissingExtra: as for :func:`cin_style.stylize`.
    """
    started = time.perf_counter()
    check_video_destination(source, output, overwrite)
    settings = TemporalSettings(stability=stability)
    if style is None and regions is None and style_image is None:
        raise StyleError("give a style (a name, an index, a blend or weights) or regions=[(mask, style), ...]")
    info = probe_video(source, max_pixels)  # before the model loads: a bad clip costs nothing
    stylizer, picture_style = backend_for(model=model, backend=backend, tflite_model=tflite_model,
                                          num_threads=num_threads, style_image=style_image,
                                          fit_progress=fit_progress)
    style = picture_style if style is None else style
    specs = [style] if regions is None else [region_style for _, region_style in regions]
    for spec in specs:  # a bad style fails here, before any frame is decoded; None was refused above
        style_weights(spec if spec is not None else [], stylizer.style_names)
    if regions is not None:  # masks read and feathered once, not per frame
        masks = controls.region_masks(regions, info.height, info.width, feather_px)
        regions = [(np.clip(mask, 0.0, 1.0), spec) for mask, (_, spec) in zip(masks, regions)]
        feather_px = 0.0
    stabilizer = TemporalStabilizer(settings)
    cuts = 0

    def stylize_frame(rgb: np.ndarray) -> np.ndarray:
        nonlocal cuts
        frame = load_image(rgb).rgb
        stylized = stylize_with(stylizer, frame, style, preserve_color=preserve_color, strength=strength,
                                regions=regions, feather_px=feather_px, style_scale=style_scale)
        steady, cut = stabilizer(frame, np.asarray(stylized, np.float32) / 255.0)
        cuts += int(cut)
        return np.clip(steady * 255.0 + 0.5, 0, 255).astype(np.uint8)

    info, frames = transcode_frames(source, output, stylize_frame, overwrite=overwrite, max_pixels=max_pixels,
                                    progress=progress)
    return VideoResult(str(output), frames, info.width, info.height, info.frame_rate, info.audio,
                       max(0, cuts - 1), time.perf_counter() - started)
