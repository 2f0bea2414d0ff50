"""Activation ranges of full-int8 TFLite models: calibrate, choose ranges, quantize.

The converter's post-training calibration records each tensor's minimum and
maximum over all calibration samples and quantizes with those ranges: one
outlier pixel in one sample widens a tensor's range for every image and coarsens
its int8 steps. :func:`quantize_with_ranges` splits the converter's work in its
two steps (the converter's own calibrate-only mode, then its MLIR quantizer, the
route TFLite's ``QuantizationDebugger`` takes) and can narrow the ranges in
between to per-sample quantiles (:func:`quantile_ranges`): with ``quantile`` q,
every calibration sample has at most a fraction 1 - q of each tensor's values
above the range's top and 1 - q below its bottom.

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

import numpy as np

__all__ = ["DEFAULT_RANGE_QUANTILE", "calibrate_only", "quantile_ranges", "with_ranges", "quantize_calibrated",
           "quantize_with_ranges"]

# Tensors with fewer values per sample keep their min/max range.
MIN_VALUES_FOR_QUANTILE = 4096

# The export's default. Bundled model, 16 calibration photos, 8 evaluation photos x 16 styles at 512 px
# (docs/benchmarks/int8_ranges.md), median PSNR / SSIM / worst style: calibrator min/max 29.29 dB / 0.911 /
# 25.28 dB; quantile 0.9999 31.22 / 0.941 / 27.47; 0.9995 30.89 / 0.952 / 27.57; 0.999 30.91 / 0.954 / 26.98;
# 0.998 28.49 / 0.946 / 24.52. 0.9995 has the best worst style and nearly the best SSIM.
DEFAULT_RANGE_QUANTILE = 0.9995


def calibrate_only(converter, max_samples: int | None = None) -> bytes:
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


def quantile_ranges(calibrated: bytes, samples, quantiles) -> dict[float, dict[int, tuple[float, float]]]:
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
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    from tensorflow.lite.tools import flatbuffer_utils

    quantiles = sorted({float(q) for q in quantiles})
    if not quantiles or not all(0.5 < q <= 1.0 for q in quantiles):
        raise ValueError(f"quantiles must lie in (0.5, 1], got {quantiles}")
    tensors = _ranged_tensors(flatbuffer_utils.convert_bytearray_to_object(calibrated))
    # No delegate: XNNPACK would keep intermediate tensors to itself.
    interpreter = Interpreter(model_content=calibrated, experimental_preserve_all_tensors=True,
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    inputs = {d["name"].split(":")[0].removeprefix("serving_default_"): d["index"]
              for d in interpreter.get_input_details()}
    levels = np.array([1.0 - q for q in quantiles] + quantiles)
    low = high = None  # [tensors, quantiles]
    for sample in samples():
        for name, index in inputs.items():
            interpreter.resize_tensor_input(index, sample[name].shape)
        interpreter.allocate_tensors()
        for name, index in inputs.items():
            interpreter.set_tensor(index, sample[name])
        interpreter.invoke()
        extremes = []
        for index in tensors:
            values = interpreter.get_tensor(index).reshape(-1)
            if values.size < MIN_VALUES_FOR_QUANTILE:
                extremes.append(np.repeat([values.min(), values.max()], len(quantiles)))
            else:
                extremes.append(np.quantile(values, levels))
        extremes = np.asarray(extremes, np.float64)
        sample_low, sample_high = extremes[:, :len(quantiles)], extremes[:, len(quantiles):]
        low = sample_low if low is None else np.minimum(low, sample_low)
        high = sample_high if high is None else np.maximum(high, sample_high)
    if low is None:
        raise ValueError("activation ranges need at least one calibration sample")
    return {q: {index: (float(low[t, k]), float(high[t, k])) for t, index in enumerate(tensors)}
            for k, q in enumerate(quantiles)}


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


def quantize_calibrated(calibrated: bytes, uint8_io: bool = False) -> bytes:
    """Full-int8 model from a calibrated one (the converter's own MLIR quantizer), float or uint8 I/O."""
    import tensorflow as tf
    from tensorflow.lite.python.convert import mlir_quantize

    io_type = tf.uint8 if uint8_io else tf.float32
    return bytes(mlir_quantize(calibrated, input_data_type=io_type, output_data_type=io_type))


def quantize_with_ranges(converter, samples, quantile: float | None = None, uint8_io: bool = False) -> bytes:
    """Full-int8 model from ``converter`` (set up for int8 with ``samples`` as its representative
    dataset). ``quantile``: None keeps the calibrator's ranges (what ``converter.convert()`` gives);
    a value in (0.5, 1] uses :func:`quantile_ranges` at that quantile."""
    calibrated = calibrate_only(converter, max_samples=None if quantile is None else 1)
    if quantile is not None:  # every range is replaced: calibrating on one sample saves a pass
        calibrated = with_ranges(calibrated, quantile_ranges(calibrated, samples, [quantile])[float(quantile)])
    return quantize_calibrated(calibrated, uint8_io)
