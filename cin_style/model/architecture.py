"""The transform network's shape, without TensorFlow: :class:`Architecture` (styles, width alpha,
residual blocks, with bounds that keep a hostile model file from building a huge network), the size
contract (:data:`SIZE_MULTIPLE`, :func:`pad_to_size_multiple`) and the export layouts' choices.
Both backends and the model format read these; only :mod:`cin_style.model.network` builds layers."""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Architecture", "scaled_width", "SIZE_MULTIPLE", "pad_to_size_multiple", "MAX_STYLES",
           "MAX_RESIDUAL_BLOCKS", "EXPORT_LAYOUTS", "space_to_depth_block", "upsamples_at_low_resolution"]

SIZE_MULTIPLE = 4  # two stride-2 stages: H and W must divide by 4 inside the network


#: Bounds that keep a hostile model file from building a huge network (10,000 styles: 645 MB).
MAX_STYLES = 1024
MAX_RESIDUAL_BLOCKS = 32


@dataclasses.dataclass(frozen=True)
class Architecture:
    """Hyper-parameters that fix the transform network's shape.

    Attributes:
      num_styles: N, the number of styles (rows of every gamma/beta).
      alpha: width multiplier; each conv keeps ``round(alpha * C)`` channels.
      num_residual_blocks: R, residual blocks in the body.
    """

    num_styles: int
    alpha: float = 1.0
    num_residual_blocks: int = 5

    def __post_init__(self):
        for name, upper in (("num_styles", MAX_STYLES), ("num_residual_blocks", MAX_RESIDUAL_BLOCKS)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{name} must be an integer, got {value!r}")
            lower = 1 if name == "num_styles" else 0
            if not lower <= value <= upper:
                raise ValueError(f"{name} must be in {lower}..{upper}, got {value}")
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float, np.floating, np.integer)):
            raise ValueError(f"alpha must be a number, got {self.alpha!r}")
        if not 0.0 < float(self.alpha) <= 4.0:
            raise ValueError(f"alpha must be in (0, 4], got {self.alpha}")


def scaled_width(channels: int, alpha: float) -> int:
    """Channels of a conv at width multiplier ``alpha`` (at least 1)."""
    return max(1, int(round(alpha * channels)))


EXPORT_LAYOUTS = ("fast", "compact", "plain")


def space_to_depth_block(channels: int, kernel: int, layout: str = "fast") -> int:
    """Block size at which the export network computes a stride-1 ``kernel`` conv with ``channels``
    filters (1: an ordinary conv; see :class:`~cin_style.model.layers.SpaceToDepthConv2D`).

    XNNPACK's int8 kernels compute several output channels at a time, so the 9x9 convs
    (32 and 3 filters at full resolution, the input conv also with only 3 input
    channels) waste most of them. ``fast`` and ``compact``: 2x2 blocks (4x the filters
    and input channels); ``plain``: 1. Blocks of 4 would fill AMX's 64-wide int8 tile with the
    3-filter output conv, but store its kernel 16 times, mostly zeros, and buy nothing
    without AMX, so no layout uses them (measurements: docs/mobile.md, docs/benchmarks/layouts_2x2.md).
    """
    if layout not in EXPORT_LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(EXPORT_LAYOUTS)}, got {layout!r}")
    if layout == "plain" or kernel != 9 or channels >= 64:
        return 1
    return 2


def upsamples_at_low_resolution(channels: int, layout: str = "fast") -> bool:
    """Whether the export network computes an upsampling conv with ``channels`` filters as one
    conv at the small resolution (:class:`~cin_style.model.layers.UpsampleConv2D`): ``fast`` layout and
    fewer than 64 filters (4x as many outputs fill XNNPACK's 64-wide int8 tile)."""
    return layout == "fast" and channels < 64


def pad_to_size_multiple(rgb: np.ndarray) -> np.ndarray:
    """Mirror-pads the bottom and right of ``rgb`` ([..., H, W, C]) so H and W divide by
    :data:`SIZE_MULTIPLE`, exactly as the network's own ``PadToMultiple`` does (crop the
    result back to H x W). Needs H, W >= SIZE_MULTIPLE."""
    height, width = rgb.shape[-3:-1]
    pad = [(0, 0)] * (rgb.ndim - 3) + [(0, -height % SIZE_MULTIPLE), (0, -width % SIZE_MULTIPLE), (0, 0)]
    return np.pad(rgb, pad, mode="reflect")
