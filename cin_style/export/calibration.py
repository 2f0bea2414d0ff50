"""Activation ranges of full-int8 TFLite models: calibrate, choose ranges, quantize.

The converter's post-training calibration records each tensor's minimum and
maximum over all calibration samples and quantizes with those ranges: one
outlier pixel in one sample widens a tensor's range for every image and coarsens
its int8 steps. :func:`quantize_with_ranges` splits the converter's work in its
two steps (the converter's own calibrate-only mode, then its MLIR quantizer, the
route TFLite's ``QuantizationDebugger`` takes) and replaces the ranges in between:

- ``"mse"`` (the default, :func:`mse_ranges`): per tensor, the range with the
  least quantization error (clipping plus rounding), the error of each
  calibration sample taken relative to the spread of its values so that every
  style counts. On the bundled model it gained 3.4 dB median PSNR over quantiles.
- a quantile q (:func:`quantile_ranges`): every calibration sample has at most a
  fraction 1 - q of each tensor's values above the range's top and 1 - q below
  its bottom.

The ranges are read from the float model run tensor by tensor without a delegate.
That also mends a calibrator fault (tensorflow/tensorflow#127842): it logs an op's
inputs again after the op ran, and where the memory planner let the op write its
output over an input, the input gets the output's range. In our instance norms this
hits e.g. ``rsqrt(variance)``, overwritten by ``rsqrt * gamma``: the calibrator
gives it ``gamma``'s spread too. ``quantile`` 1 gives the true min/max.

Small tensors (per-channel means and variances, the style weights) get their
min/max: a quantile of a few dozen values is its extreme anyway, and
clipping a variance would change every normalized pixel.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Union

import numpy as np

if TYPE_CHECKING:
    import tensorflow as tf

# A representative dataset: each call yields the same samples, {"image": [1, S, S, 3], "style_weights": [1, N]}.
CalibrationSamples = Callable[[], Iterator[dict[str, np.ndarray]]]
# How activation ranges are chosen: "mse", "calibrator" (None too) or a quantile in (0.5, 1] (number or text).
ActivationRanges = Union[str, float, None]

#: The default calibration photos (package data): six freely licensed photos at a 320 px short side.
CALIBRATION_PHOTOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "calibration_photos")

__all__ = ["DEFAULT_ACTIVATION_RANGES", "PER_TENSOR_DENSE", "calibrate_only", "quantile_ranges", "mse_ranges",
           "quantization_mse", "with_ranges", "float_nodes", "quantize_calibrated", "quantize_with_ranges",
           "check_activation_ranges", "describe_activation_ranges"]

# Tensors with fewer values per sample keep their min/max range.
MIN_VALUES_FOR_QUANTILE = 4096

# Per-sample subsample on which mse_ranges scores candidate ranges, and the power of its relative errors.
MSE_SUBSAMPLE = 16384
MSE_RANGE_POWER = 0.5

# The export's default. Bundled model (steps 20000-21500 package), 16 calibration photos, 8 evaluation photos x
# 16 styles at 512 px (docs/benchmarks/int8_ranges.md), median PSNR / SSIM / worst style: quantile 0.9995
# 29.73 dB / 0.942 / 26.82 dB; mse with power 1 33.02 / 0.953 / 28.60; power 0.5 33.16 / 0.962 / 29.08;
# power 0.25 33.13 / 0.960 / 28.98; geometric mean (power -> 0) 32.75 / 0.964 / 28.51. The export with this
# default, end to end: 33.29 dB / 0.961 / 29.04 dB.
DEFAULT_ACTIVATION_RANGES = "mse"

# Fully connected weights (the 2 x 16 CIN gamma/beta tables) quantized with one scale per tensor: per channel,
# their scales and int64 zero points took 38 KB of the 2.2 MB full int8 file, at no fidelity gain (bundled model,
# 16 calibration photos, 8 x 16 at 512 px: 33.13 dB / SSIM 0.9607 per tensor, 33.29 / 0.9605 per channel).
PER_TENSOR_DENSE = True


def calibrate_only(converter: tf.lite.TFLiteConverter, max_samples: int | None = None) -> bytes:
    """The float model with every tensor's calibrated min/max recorded (the converter's
    ``_experimental_calibrate_only`` mode; ``converter`` is set up for int8). ``max_samples``
    limits the calibration to the first samples, where the ranges are replaced anyway."""
    if max_samples is not None:
        samples = converter.representative_dataset
        converter.representative_dataset = lambda: itertools.islice(samples(), max_samples)
    converter._experimental_calibrate_only = True  # pylint: disable=protected-access
    return bytes(converter.convert())


def _ranged_tensors(model_object) -> list[int]:
    """Indices of the tensors the calibration gave one (per-tensor) min/max."""
    return [i for i, t in enumerate(model_object.subgraphs[0].tensors)
            if t.quantization is not None and t.quantization.min is not None and len(t.quantization.min) == 1]


class _TensorReader:
    """Runs a calibrated (float) model and reads every tensor that has a calibrated range.

    No delegate: XNNPACK would keep intermediate tensors to itself."""

    def __init__(self, calibrated: bytes):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
        from tensorflow.lite.tools import flatbuffer_utils

        self.tensors = _ranged_tensors(flatbuffer_utils.convert_bytearray_to_object(calibrated))
        self._interpreter = Interpreter(
            model_content=calibrated, experimental_preserve_all_tensors=True,
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        self._inputs = {d["name"].split(":")[0].removeprefix("serving_default_"): d["index"]
                        for d in self._interpreter.get_input_details()}

    def read(self, sample):
        """Yields ``(tensor index, flat values)`` of one sample (a dict with ``image``, ``style_weights``)."""
        interpreter = self._interpreter
        for name, index in self._inputs.items():
            interpreter.resize_tensor_input(index, sample[name].shape)
        interpreter.allocate_tensors()
        for name, index in self._inputs.items():
            interpreter.set_tensor(index, sample[name])
        interpreter.invoke()
        for index in self.tensors:
            yield index, interpreter.get_tensor(index).reshape(-1)


def quantile_ranges(calibrated: bytes, samples: CalibrationSamples,
                    quantiles: Iterable[float]) -> dict[float, dict[int, tuple[float, float]]]:
    """Per-tensor ranges: over samples, the lowest ``1 - q`` and highest ``q`` quantile of each
    tensor's values within one sample, for each ``q`` in ``quantiles`` (one pass over the samples).

    Args:
      calibrated: a model from :func:`calibrate_only`.
      samples: a callable returning calibration samples (dicts with ``image`` and ``style_weights``),
        normally the same the model was calibrated with.
      quantiles: values in (0.5, 1]; 1 gives each tensor's min/max over the samples.

    Returns:
      ``{q: {tensor index: (low, high)}}`` for every tensor the calibration gave a range;
      tensors with fewer than :data:`MIN_VALUES_FOR_QUANTILE` values get their min and max.
    """
    quantiles = sorted({float(q) for q in quantiles})
    if not quantiles or not all(0.5 < q <= 1.0 for q in quantiles):
        raise ValueError(f"quantiles must lie in (0.5, 1], got {quantiles}")
    reader = _TensorReader(calibrated)
    levels = np.array([1.0 - q for q in quantiles] + quantiles)
    low: np.ndarray | None = None  # [tensors, quantiles]
    high: np.ndarray | None = None
    for sample in samples():
        per_tensor = []
        for _, values in reader.read(sample):
            if values.size < MIN_VALUES_FOR_QUANTILE:
                per_tensor.append(np.repeat([values.min(), values.max()], len(quantiles)))
            else:
                per_tensor.append(np.quantile(values, levels))
        extremes = np.asarray(per_tensor, np.float64)
        sample_low, sample_high = extremes[:, :len(quantiles)], extremes[:, len(quantiles):]
        low = sample_low if low is None else np.minimum(low, sample_low)
        high = sample_high if high is None else np.maximum(high, sample_high)
    if low is None or high is None:
        raise ValueError("activation ranges need at least one calibration sample")
    return {q: {index: (float(low[t, k]), float(high[t, k])) for t, index in enumerate(reader.tensors)}
            for k, q in enumerate(quantiles)}


def quantization_mse(values: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Mean squared error of int8-quantizing ``values`` (1-D, sorted ascending) with each range
    ``[low[c], high[c]]``: values outside are clipped to the range, values inside are rounded
    to one of 256 levels (uniform rounding error, step^2 / 12)."""
    values = np.asarray(values, np.float64)
    low, high = np.asarray(low, np.float64), np.asarray(high, np.float64)
    sums = np.concatenate([[0.0], np.cumsum(values)])
    squares = np.concatenate([[0.0], np.cumsum(values * values)])
    below = np.searchsorted(values, low, "left")  # how many values lie below each low
    inside = np.searchsorted(values, high, "right")  # ... at or below each high
    clipped_low = below * low * low - 2 * low * sums[below] + squares[below]
    above = values.size - inside
    clipped_high = (squares[-1] - squares[inside]) - 2 * high * (sums[-1] - sums[inside]) + above * high * high
    step = (high - low) / 255.0
    return (clipped_low + clipped_high + (inside - below) * step * step / 12.0) / values.size


def _candidate_ranges(low: float, high: float, steps: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Ranges to try inside the measured ``[low, high]``: each end shrunk towards 0 geometrically
    down to 5%; a tensor without negative values keeps its low end. 0 stays inside every range."""
    shrink = np.geomspace(1.0, 0.05, steps)
    if low >= 0:
        lows, highs = np.full(steps, low), high * shrink
    else:
        lows, highs = (a.ravel() for a in np.meshgrid(low * shrink[::2], high * shrink[::2], indexing="ij"))
    return np.minimum(lows, 0.0), np.maximum(highs, 0.0)


def mse_ranges(calibrated: bytes, samples: CalibrationSamples, power: float = MSE_RANGE_POWER,
               subsample: int = MSE_SUBSAMPLE, seed: int = 0) -> dict[int, tuple[float, float]]:
    """Per-tensor ranges with the least quantization error, weighing every calibration sample alike.

    Two passes over ``samples``: the first measures each tensor's min/max, the second scores
    candidate ranges inside it (:func:`_candidate_ranges`) on a random subsample of each
    sample's values by ``mean over samples of (MSE / variance of the sample's values) ** power``
    (:func:`quantization_mse`). Relative errors let a quiet style count as much as a loud
    one; ``power`` < 1 lets no single sample's rare large values set the range for all
    (1: mean relative MSE; towards 0: geometric mean). Tensors with fewer than
    :data:`MIN_VALUES_FOR_QUANTILE` values per sample keep their min/max.

    Returns:
      ``{tensor index: (low, high)}`` for every tensor the calibration gave a range.
    """
    if not power > 0:
        raise ValueError(f"power must be positive, got {power}")
    reader = _TensorReader(calibrated)
    low: dict[int, float] = {}
    high: dict[int, float] = {}
    for sample in samples():
        for index, values in reader.read(sample):
            low[index] = min(low.get(index, np.inf), float(values.min()))
            high[index] = max(high.get(index, -np.inf), float(values.max()))
    if not low:
        raise ValueError("activation ranges need at least one calibration sample")
    candidates = {index: _candidate_ranges(low[index], high[index]) for index in reader.tensors}
    scores: dict[int, list] = {}
    rng = np.random.default_rng(seed)
    for sample in samples():
        for index, values in reader.read(sample):
            if values.size < MIN_VALUES_FOR_QUANTILE:
                continue
            values = np.sort(values[rng.integers(0, values.size, subsample)] if values.size > subsample else values)
            relative = quantization_mse(values, *candidates[index]) / (values.var() + 1e-12)
            scores[index] = scores.get(index, 0.0) + relative ** power
    ranges = {}
    for index in reader.tensors:
        if index in scores:
            best = int(np.argmin(scores[index]))
            ranges[index] = (float(candidates[index][0][best]), float(candidates[index][1][best]))
        else:
            ranges[index] = (low[index], high[index])
    return ranges


def with_ranges(calibrated: bytes, ranges: dict[int, tuple[float, float]]) -> bytes:
    """``calibrated`` with the recorded min/max of the tensors in ``ranges`` replaced."""
    from tensorflow.lite.tools import flatbuffer_utils

    model_object = flatbuffer_utils.convert_bytearray_to_object(calibrated)
    tensors = model_object.subgraphs[0].tensors
    for index, (low, high) in ranges.items():
        if not low <= high:
            raise ValueError(f"tensor {index}: range ({low}, {high}) is empty")
        tensors[index].quantization.min = np.array([low], np.float32)
        tensors[index].quantization.max = np.array([high], np.float32)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model_object))


def float_nodes(calibrated: bytes, layers: Sequence[str] = (), outputs: bool = False) -> list[str]:
    """Output tensor names of the ops to keep in float in a calibrated model: those of the Keras
    ``layers`` (names; the converter names their tensors ``<model>/<layer>/<op>``) and, with
    ``outputs``, the ops that write the model's outputs. Raises ValueError for a layer with no op."""
    from tensorflow.lite.tools import flatbuffer_utils

    subgraph = flatbuffer_utils.convert_bytearray_to_object(calibrated).subgraphs[0]
    names = [subgraph.tensors[op.outputs[0]].name.decode() for op in subgraph.operators]
    nodes = []
    for layer in layers:
        found = [name for name in names if f"/{layer}/" in name]
        if not found:
            raise ValueError(f"no op of layer {layer!r} in the model")
        nodes += found
    if outputs:
        model_outputs = set(subgraph.outputs)
        nodes += [name for name, op in zip(names, subgraph.operators) if op.outputs[0] in model_outputs]
    return nodes


def quantize_calibrated(calibrated: bytes, uint8_io: bool = False, float_layers: Sequence[str] = (),
                        float_outputs: bool = False) -> bytes:
    """Int8 model from a calibrated one (the converter's own MLIR quantizer), float or uint8 I/O.

    Convolutions get per-channel weight scales, fully connected layers (the instance norms'
    gamma/beta tables, multiplied by the style weights) one scale per tensor
    (:data:`PER_TENSOR_DENSE`). Fully integer unless ``float_layers`` names Keras layers whose
    ops stay float (their inputs dequantized, their outputs quantized again for the int8 ops that follow), or
    ``float_outputs`` keeps the ops that write the outputs float (:func:`float_nodes`)."""
    import tensorflow as tf
    from tensorflow.lite.python.convert import mlir_quantize

    io_type = tf.uint8 if uint8_io else tf.float32
    nodes = float_nodes(calibrated, float_layers, float_outputs)
    return bytes(mlir_quantize(calibrated, input_data_type=io_type, output_data_type=io_type,
                               denylisted_nodes=nodes or None, disable_per_channel_for_dense_layers=PER_TENSOR_DENSE))


def quantize_with_ranges(converter: tf.lite.TFLiteConverter, samples: CalibrationSamples,
                         ranges: ActivationRanges = DEFAULT_ACTIVATION_RANGES,
                         uint8_io: bool = False, float_layers: Sequence[str] = (),
                         float_outputs: bool = False) -> bytes:
    """Int8 model from ``converter`` (set up for int8 with ``samples`` as its representative
    dataset) with activation ranges chosen by ``ranges`` (see :func:`check_activation_ranges`):
    ``"mse"`` (:func:`mse_ranges`), a quantile q (:func:`quantile_ranges`) or ``"calibrator"``
    (the converter's own min/max, what ``converter.convert()`` gives). Fully integer unless
    ``float_layers`` or ``float_outputs`` keep ops in float (:func:`quantize_calibrated`)."""
    ranges = check_activation_ranges(ranges)
    calibrated = calibrate_only(converter, max_samples=None if ranges == "calibrator" else 1)
    # Every range is replaced otherwise: calibrating on one sample saves a pass.
    if ranges == "mse":
        calibrated = with_ranges(calibrated, mse_ranges(calibrated, samples))
    elif ranges != "calibrator":
        quantile = float(ranges)
        calibrated = with_ranges(calibrated, quantile_ranges(calibrated, samples, [quantile])[quantile])
    return quantize_calibrated(calibrated, uint8_io, float_layers, float_outputs)


def check_activation_ranges(ranges: ActivationRanges) -> str | float:
    """``ranges`` as :func:`quantize_with_ranges` takes it: ``"mse"``, ``"calibrator"`` (None
    too) or a quantile in (0.5, 1] (a number or its text); anything else raises ValueError."""
    if ranges is None or ranges == "calibrator":
        return "calibrator"
    if ranges == "mse":
        return ranges
    try:
        quantile = float(ranges)
    except (TypeError, ValueError):
        quantile = None
    if quantile is None or not 0.5 < quantile <= 1.0:
        raise ValueError(f"activation_ranges must be 'mse', 'calibrator' or a quantile in (0.5, 1], got {ranges!r}")
    return quantile


def describe_activation_ranges(ranges: ActivationRanges) -> str:
    """The metadata's words for ``ranges``."""
    ranges = check_activation_ranges(ranges)
    if ranges == "mse":
        return f"least relative quantization error (mse, power {MSE_RANGE_POWER})"
    return "calibrated min/max" if ranges == "calibrator" else f"quantile {ranges}"
