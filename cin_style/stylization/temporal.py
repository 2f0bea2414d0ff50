"""Temporal stability for video: a stylized frame is pulled toward the previous output, carried along
the optical flow of the input frames, wherever that flow can be trusted.

A feed-forward style network answers every small change of its input (sensor noise, compression, a
sub-pixel pan) with different strokes, so stylizing frame by frame flickers. Per frame::

    flow    = optical flow from this input frame back to the previous one (OpenCV's DIS)
    carried = previous output and previous input, warped along the flow
    trust   = exp(-(d / tolerance)^2), d = the smoothed colour difference between this input frame and the
              carried previous input: ~1 where the flow explains the frame, ~0 where something appeared,
              moved on its own or left the frame
    output  = stylized + stability * trust * blur(carried output - stylized)

The pull is blurred (``detail_sigma``): coarse flicker (colour patches, strokes that jump) is damped, while
the finest texture stays this frame's own, so the strokes are not averaged into a smear.

Pixels the flow cannot explain take this frame's stylization as it is, so a moving bird or a hand leaves
no trail (ghost); where most of the frame is unexplained (a scene cut) the history is dropped and the
frame starts afresh. Works on any backend's output: it needs only the frames.
"""

from __future__ import annotations

import types
from dataclasses import dataclass

import numpy as np

__all__ = ["TemporalSettings", "TemporalStabilizer", "require_opencv"]


def require_opencv() -> types.ModuleType:
    """The ``cv2`` module (OpenCV), or MissingExtra naming the ``[video]`` extra."""
    from cin_style.optional_deps import import_video_module

    return import_video_module("cv2", "opencv-python-headless")


@dataclass(frozen=True)
class TemporalSettings:
    """How strongly frames hold on to the previous output.

    Attributes:
      stability: weight of the carried previous output where the flow is trusted, in [0, 0.95]; 0 stylizes
        every frame on its own (flickers), higher is steadier and keeps strokes longer.
      tolerance: colour difference (0-1 scale, after a light blur that averages out sensor noise) at which
        trust has fallen to 1/e; lower is stricter about motion the flow cannot explain.
      cut_fraction: a frame where more than this fraction of pixels is untrusted starts afresh (scene cut).
      detail_sigma: Gaussian blur (pixels) of the pull toward the carried output; texture finer than this
        stays this frame's. 0 pulls every detail: steadiest, but strokes of successive frames average into
        a softer picture (see docs/video.md for the measured trade-off).
    """

    stability: float = 0.8
    tolerance: float = 0.06
    cut_fraction: float = 0.6
    detail_sigma: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.stability <= 0.95:
            raise ValueError(f"stability must be in [0, 0.95], got {self.stability}")
        if not 0.0 < self.tolerance <= 1.0:
            raise ValueError(f"tolerance must be in (0, 1], got {self.tolerance}")
        if not 0.0 < self.cut_fraction <= 1.0:
            raise ValueError(f"cut_fraction must be in (0, 1], got {self.cut_fraction}")
        if not 0.0 <= self.detail_sigma <= 16.0:
            raise ValueError(f"detail_sigma must be in [0, 16], got {self.detail_sigma}")


class TemporalStabilizer:
    """Feed it the frames of one clip in order: ``output, cut = stabilizer(frame, stylized)``.

    ``frame`` is the input frame and ``stylized`` its per-frame stylization, both [H, W, 3] float32 in
    [0, 1] of one size; ``output`` is the stabilized frame and ``cut`` says that this frame started
    afresh (the first frame, or a scene cut). :meth:`reset` forgets the history.
    """

    def __init__(self, settings: TemporalSettings | None = None) -> None:
        self.settings = settings or TemporalSettings()
        self._cv2 = require_opencv()
        self._flow = self._cv2.DISOpticalFlow_create(self._cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self._previous: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # input, its gray, output

    def reset(self) -> None:
        self._previous = None

    def __call__(self, frame: np.ndarray, stylized: np.ndarray) -> tuple[np.ndarray, bool]:
        if frame.shape != stylized.shape or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frame {frame.shape} and stylized {stylized.shape} must both be [H, W, 3]")
        gray = self._gray(frame)
        previous, self._previous = self._previous, None
        output, cut = stylized, True
        if self.settings.stability > 0 and previous is not None and previous[0].shape == frame.shape:
            trust, carried = self._carry(frame, gray, *previous)
            cut = float(np.mean(trust < 0.5)) > self.settings.cut_fraction
            if not cut:
                pull = carried - stylized
                if self.settings.detail_sigma > 0:
                    pull = self._cv2.GaussianBlur(pull, (0, 0), self.settings.detail_sigma)
                weight = (self.settings.stability * trust)[..., None]
                output = np.clip(stylized + weight * pull, 0.0, 1.0).astype(np.float32)
        self._previous = (frame, gray, output)
        return output, cut

    def _gray(self, frame: np.ndarray) -> np.ndarray:
        luma = frame @ np.array([0.299, 0.587, 0.114], np.float32)
        return np.clip(luma * 255.0 + 0.5, 0, 255).astype(np.uint8)

    def _carry(self, frame: np.ndarray, gray: np.ndarray, previous_frame: np.ndarray, previous_gray: np.ndarray,
               previous_output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(trust [H, W], the previous output warped onto this frame [H, W, 3])."""
        cv2 = self._cv2
        flow = self._flow.calc(gray, previous_gray, None)  # where each pixel of this frame was before
        height, width = gray.shape
        grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        map_x, map_y = grid_x + flow[..., 0], grid_y + flow[..., 1]
        warp = lambda image, interpolation=cv2.INTER_LINEAR: cv2.remap(  # noqa: E731
            image, map_x, map_y, interpolation, borderMode=cv2.BORDER_REPLICATE)
        difference = np.abs(frame - warp(previous_frame)).mean(axis=2)
        difference = cv2.GaussianBlur(difference, (0, 0), 1.5)
        trust = np.exp(-np.square(difference / self.settings.tolerance))
        inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
        # Cubic: the output is carried again and again, and linear resampling would soften it each time.
        return np.where(inside, trust, 0.0).astype(np.float32), warp(previous_output, cv2.INTER_CUBIC)
