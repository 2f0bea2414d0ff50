"""TFLite export: float32, float16, dynamic-range and full-integer int8 models with metadata.

Signature (stable; the Android sample depends on it), ``serving_default``:

- input ``image``: [1, H, W, 3] float32 RGB in [0, 1] (uint8 0..255 with
  ``uint8_io``); H and W are resizable at run time and must be multiples of 4
  (``size_multiple`` in the metadata). Callers mirror-pad ``border_margin``
  pixels on every side (at most the side minus 1; it keeps the stride-2 stages'
  edge band out of the picture, :func:`cin_style.stylization.controls.add_border_margin`),
  then the bottom and right edges up to the next multiple, and crop the output
  back (:func:`cin_style.model.architecture.pad_to_size_multiple`; the Python backend and
  the Android sample do). Doing this outside keeps every tensor shape a static
  function of the input size: a graph that padded itself needs SHAPE-dependent
  slices, which make LiteRT re-prepare every op (rebuilding XNNPACK's conv
  indirection buffers) on every run.
- input ``style_weights``: [1, N] float32, non-negative, positive sum.
- output ``stylized``: [1, H, W, 3] float32 RGB in [0, 1] (uint8 with ``uint8_io``).

A ``<file>.json`` beside the ``.tflite`` records the styles, this spec, value
ranges and the quantization parameters of the I/O tensors.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from cin_style.files.atomic import atomic_write
from cin_style.export.calibration import (DEFAULT_ACTIVATION_RANGES, PER_TENSOR_DENSE, ActivationRanges,
                                          CalibrationSamples, check_activation_ranges, describe_activation_ranges,
                                          quantize_with_ranges)
from cin_style.stylization.controls import BORDER_MARGIN
from cin_style.errors import ModelError
from cin_style.model.format import CinModel
from cin_style.stylization.tflite_contract import (METADATA_FORMAT, METADATA_VERSION, SIGNATURE_KEY, STATISTICS_KEY,
                                                   TILE_KEY, TILES_ROLE, content_digest, metadata_path, tiles_path)
from cin_style.model.architecture import SIZE_MULTIPLE, pad_to_size_multiple
from cin_style.export.network import export_network

__all__ = ["MODES", "FLOAT_END_LAYERS", "export_tflite", "export_runtime_model", "export_tile_model",
           "representative_images"]

MODES = ("float32", "float16", "dynamic", "int8")

# With ``float_ends`` these layers of the export network stay float in an int8 model, and so does the output
# activation (the op that writes the output): the per-image contrast standardization of the 3-channel input,
# and the instance norm and sigmoid of the 3-channel output. Every convolution and every tensor between them
# stays int8. Their chains of per-tensor int8 roundings at full resolution cost the most fidelity for the
# least work (docs/benchmarks/int8_float_ends.md).
FLOAT_END_LAYERS = ("standardize_contrast", "out_norm")


class _ServingModule(tf.Module):
    """The serving signature over ``network``'s variables.

    The converter saves this module as a SavedModel. Tracking the Keras network itself would make
    that save trace every layer's own call functions (most of a small model's export time); the
    serving function needs only the variables, so only they are tracked and the network is
    reached through the function's closure.
    """

    def __init__(self, network, num_styles: int):
        super().__init__()
        self.network_variables = list(network.variables)

        def serve(image, style_weights):
            return {"stylized": network([image, style_weights], training=False)}

        self.serve = tf.function(
            serve,
            input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32, name="image"),
                             tf.TensorSpec([1, num_styles], tf.float32, name="style_weights")])


def representative_images(photos: Sequence[str], num_styles: int, size: int = 256,
                          per_photo_styles: int | None = None, seed: int = 0) -> CalibrationSamples:
    """Calibration samples: every photo crossed with every style (one-hot), plus blends.

    Yields dicts ``{"image": [1, size, size, 3], "style_weights": [1, N]}``.
    """
    from cin_style.files.images import center_crop
    from cin_style.files.images import load_image

    crops = [pad_to_size_multiple(center_crop(load_image(p).rgb, size))[None].astype(np.float32) for p in photos]

    def generate():  # the same samples on every call: calibration and range passes must agree
        rng = np.random.default_rng(seed)
        for crop in crops:
            styles = range(num_styles) if per_photo_styles is None else rng.choice(
                num_styles, min(per_photo_styles, num_styles), replace=False)
            for style in styles:
                yield {"image": crop, "style_weights": np.eye(num_styles, dtype=np.float32)[style:style + 1]}
            blend = rng.dirichlet(np.ones(num_styles)).astype(np.float32)[None]
            yield {"image": crop, "style_weights": blend}
    return generate


def _converter(model: CinModel, mode: str, representative: CalibrationSamples | None, uint8_io: bool,
               network: tf.keras.Model) -> tf.lite.TFLiteConverter:
    module = _ServingModule(network, model.num_styles)
    concrete = module.serve.get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], module)
    if mode == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif mode == "int8":
        if representative is None:
            raise ValueError("int8 export needs representative (calibration) samples")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ({"image": s["image"], "style_weights": s["style_weights"]}
                                                    for s in representative())
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        # as quantize_calibrated does, for the paths where the converter quantizes by itself
        converter._experimental_disable_per_channel_quantization_for_dense_layers = (  # pylint: disable=protected-access
            PER_TENSOR_DENSE)
        if uint8_io:
            converter.inference_input_type = tf.uint8
            converter.inference_output_type = tf.uint8
    return converter


def _without_internal_tensor_names(content: bytes) -> bytes:
    """``content`` with the names of all tensors but the model's inputs and outputs removed."""
    from tensorflow.lite.tools import flatbuffer_utils

    model_object = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    for subgraph in model_object.subgraphs:
        kept = {*subgraph.inputs, *subgraph.outputs}
        for index, tensor in enumerate(subgraph.tensors):
            if index not in kept:
                tensor.name = None
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model_object))


def _io_spec(content: bytes) -> dict:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content)
    runner = interpreter.get_signature_runner(SIGNATURE_KEY)
    spec: dict[str, dict] = {}
    for kind, details in (("inputs", runner.get_input_details()), ("outputs", runner.get_output_details())):
        spec[kind] = {}
        for name, d in details.items():
            scale, zero_point = d["quantization"]
            spec[kind][name] = {"tensor_name": d["name"], "shape_signature": [int(x) for x in d["shape_signature"]],
                                "dtype": np.dtype(d["dtype"]).name,
                                "quantization": {"scale": float(scale), "zero_point": int(zero_point)}}
    return spec


def export_tflite(model: CinModel, path: str, mode: str = "float32", *,
                  representative: CalibrationSamples | None = None, uint8_io: bool = False, qat_steps: int = 0,
                  qat_crops: np.ndarray | None = None, equalize: bool = True, layout: str = "fast",
                  activation_ranges: ActivationRanges = DEFAULT_ACTIVATION_RANGES, float_ends: bool = False,
                  tensor_names: bool = True, log: Callable[[str], None] | None = None) -> dict:
    """Writes ``model`` as a TFLite flatbuffer at ``path`` and its metadata at ``path`` + ``.json``.

    Args:
      model: a loaded :class:`~cin_style.CinModel`.
      mode: ``float32``, ``float16`` (float16 weights), ``dynamic`` (int8 weights,
        float activations) or ``int8`` (weights and activations int8).
      representative: for int8, a callable returning an iterator of calibration
        samples (see :func:`representative_images`).
      uint8_io: int8 only; image input and output as uint8 0..255 instead of float.
      qat_steps: int8 only; fine-tune this many steps with quantization-aware
        training (:mod:`cin_style.export.qat`) on ``qat_crops`` ([M, S, S, 3] photos) before
        converting; 0 means post-training quantization only. Needs ``layout="plain"``.
      equalize: int8 only; rescale conv output channels to equal typical ranges
        first (:func:`~cin_style.export.network.equalize_channel_scales`; the same float function, better int8).
      layout: ``fast`` (default), ``compact`` or ``plain``: the same function with
        convolutions rearranged to fill XNNPACK's kernels (``fast`` the quickest, ``compact``
        a little smaller, ``plain`` the smallest and slowest; see
        :func:`cin_style.model.architecture.space_to_depth_block` and docs/mobile.md for sizes and times).
      activation_ranges: int8 post-training quantization only (ignored otherwise): ``"mse"``
        (default): per tensor the range with the least quantization error over the calibration
        samples (:func:`cin_style.export.calibration.mse_ranges`); a quantile q in (0.5, 1]: each
        range holds all but a fraction 1 - q of its tensor's values at either end in every
        sample (:func:`cin_style.export.calibration.quantile_ranges`); ``"calibrator"`` or None: the
        converter's calibrated min/max. ``mse`` gives the int8 file closest to the float model
        (docs/benchmarks/int8_ranges.md).
      float_ends: int8 post-training quantization only: keep :data:`FLOAT_END_LAYERS` (the
        input's contrast standardization, the output's instance norm, 3 channels each) and the
        output's sigmoid in float; all convolutions and the tensors between them stay int8. The
        model is then not fully integer (not for integer-only accelerators).
      tensor_names: keep every tensor's name (what debuggers and graph viewers show); False keeps
        only the inputs' and outputs' (the signature, the metadata and apps need nothing else):
        a slightly smaller file, the same outputs.

    Returns:
      The metadata dict (also written as JSON).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if uint8_io and mode != "int8":
        raise ValueError("uint8_io applies to int8 export only")
    activation_ranges = check_activation_ranges(activation_ranges)
    if float_ends and (mode != "int8" or qat_steps):
        raise ValueError("float_ends applies to int8 post-training quantization only (mode int8, no qat_steps)")
    float_layers = FLOAT_END_LAYERS if float_ends else ()
    if mode != "int8" or qat_steps:
        activation_ranges = None  # quantization-aware training learns its own ranges
    equalize = bool(equalize and mode == "int8")
    if mode == "int8" and representative is None:
        raise ValueError("int8 export needs representative (calibration) samples")
    if qat_steps:
        if mode != "int8" or qat_crops is None:
            raise ValueError("quantization-aware training applies to int8 export and needs qat_crops")
        if layout != "plain":
            raise ValueError(f"quantization-aware training exports the plain layout only, got layout {layout!r}")
        from cin_style.export.qat import finetune_quantization_aware

        network = finetune_quantization_aware(model, qat_crops, steps=qat_steps, log=log,
                                              equalize_with=representative if equalize else None, layout=layout)
    else:
        network = export_network(model, equalize_with=representative if equalize else None, layout=layout)
    try:
        with warnings.catch_warnings():  # the converter's calibrator still uses tf.lite.Interpreter
            warnings.filterwarnings("ignore", message=r"\s*Warning: tf.lite.Interpreter is deprecated")
            converter = _converter(model, mode, representative, uint8_io, network)
            if activation_ranges is None or (activation_ranges == "calibrator" and not float_layers):
                content = converter.convert()
            else:  # int8 post-training quantization, whose samples were checked above
                assert representative is not None
                content = quantize_with_ranges(converter, representative, activation_ranges, uint8_io, float_layers,
                                               float_outputs=bool(float_layers))
    except Exception as exc:  # the converter's own errors are long MLIR dumps
        raise ModelError(f"TFLite conversion failed for mode {mode}: {str(exc).splitlines()[0][:500]}") from exc
    if not tensor_names:
        content = _without_internal_tensor_names(content)
    metadata = {
        "format": METADATA_FORMAT, "format_version": METADATA_VERSION, "mode": mode,
        "quantization_aware_steps": int(qat_steps), "channel_equalization": equalize, "layout": layout,
        "fully_integer": mode == "int8" and not float_layers,
        "float_layers": [*float_layers, "output activation"] if float_layers else [],
        "tensor_names": "all" if tensor_names else "inputs and outputs only",
        "weight_scales": None if mode != "int8" else
        "per channel (convolutions), per tensor (fully connected)" if PER_TENSOR_DENSE else "per channel",
        "activation_ranges": None if mode != "int8" else "learned (quantization-aware training)" if qat_steps
        else describe_activation_ranges(activation_ranges),
        "signature": SIGNATURE_KEY,
        "architecture": dataclasses.asdict(model.architecture),
        "styles": [{"index": i, **dataclasses.asdict(s)} for i, s in enumerate(model.styles)],
        "io": _io_spec(content),
        "size_multiple": SIZE_MULTIPLE,
        "border_margin": BORDER_MARGIN,
        "value_ranges": {"image": ("uint8 0..255" if uint8_io else "float32 0..1") +
                         f"; H and W multiples of {SIZE_MULTIPLE} (mirror-pad border_margin on every side, "
                         "then bottom/right to the multiple; crop the output)",
                         "style_weights": ("uint8, quantized with io.inputs.style_weights.quantization from "
                                           "weights normalized to sum 1" if uint8_io else
                                           "float32 >= 0, positive sum (divided by the sum inside)"),
                         "stylized": "uint8 0..255" if uint8_io else "float32 0..1"},
        "size_bytes": len(content),
        "sha256": content_digest(content),
    }
    _write_model_and_metadata(os.fspath(path), content, metadata)
    return metadata


def export_runtime_model(model: CinModel, path: str, log: Callable[[str], None] | None = None) -> dict:
    """The runtime's recipe, used for the bundled model (``tools/package_model.py``): int8 with float ends,
    the fast layout, only the inputs' and outputs' tensor names, calibrated on the package's example
    photos (16 x every style plus blends, 256 px crops); and its tiles file beside it
    (:func:`export_tile_model`). Returns the main file's metadata."""
    from cin_style.export.calibration import CALIBRATION_PHOTOS
    from cin_style.files.folders import find_images

    photos = find_images(CALIBRATION_PHOTOS)
    metadata = export_tflite(model, path, "int8", representative=representative_images(photos, model.num_styles),
                             float_ends=True, tensor_names=False, log=log)
    export_tile_model(model, tiles_path(path), metadata["sha256"])
    return metadata


class _TileModule(tf.Module):
    """The tiles file's two signatures over one set of weights (see :mod:`cin_style.stylization.tflite_contract`).

    Both networks are the export layout without the contrast standardization in front (the first
    instance norm's statistics then come from the whole image like every other's); the converter
    stores their identical weights once.
    """

    def __init__(self, model: CinModel):
        super().__init__()
        from cin_style.model.network import build_transform_network

        networks = {kind: build_transform_network(model.architecture, for_export=True, norm_stats=kind,
                                                  standardize_contrast=False) for kind in ("expose", "fixed")}
        for network in networks.values():
            network.set_weights(model.network.get_weights())
        expose, fixed = networks["expose"], networks["fixed"]
        self.network_variables = [*expose.variables, *fixed.variables]
        self.statistics_names = [tensor.name.split(":")[0] for tensor in fixed.inputs[2:]]
        names = self.statistics_names
        image = tf.TensorSpec([1, None, None, 3], tf.float32, name="image")
        weights = tf.TensorSpec([1, model.num_styles], tf.float32, name="style_weights")
        statistics = [tf.TensorSpec(t.shape, tf.float32, name=name) for t, name in zip(fixed.inputs[2:], names)]

        def measure(image, style_weights):
            return dict(zip(names, expose([image, style_weights], training=False)[1:]))

        def tile(image, style_weights, *statistics):
            return {"stylized": fixed([image, style_weights, *statistics], training=False)}

        self.measure = tf.function(measure, input_signature=[image, weights])
        self.tile = tf.function(tile, input_signature=[image, weights, *statistics])


def export_tile_model(model: CinModel, path: str, runtime_sha256: str) -> dict:
    """Writes the tiles file of a runtime model (float16 weights, float computation) and its metadata.

    Args:
      model: the model the runtime file at hand was exported from.
      path: where it goes; the runtime looks for it at ``tiles_path(<runtime file>)``.
      runtime_sha256: the runtime file's ``sha256`` (from its metadata): a tiles file is only used with
        the file it was made for.

    Returns:
      The metadata dict (also written as JSON).
    """
    import tempfile

    module = _TileModule(model)
    with tempfile.TemporaryDirectory(prefix="cin-style-tiles-") as saved:
        tf.saved_model.save(module, saved, signatures={STATISTICS_KEY: module.measure.get_concrete_function(),
                                                       TILE_KEY: module.tile.get_concrete_function()})
        converter = tf.lite.TFLiteConverter.from_saved_model(saved, signature_keys=[STATISTICS_KEY, TILE_KEY])
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
        try:
            content = converter.convert()
        except Exception as exc:  # the converter's own errors are long MLIR dumps
            raise ModelError(f"TFLite conversion of the tiles file failed: {str(exc).splitlines()[0][:500]}") from exc
    metadata = {
        "format": METADATA_FORMAT, "format_version": METADATA_VERSION, "role": TILES_ROLE, "mode": "float16",
        "signatures": [STATISTICS_KEY, TILE_KEY], "statistics": module.statistics_names,
        "runtime_sha256": runtime_sha256, "architecture": dataclasses.asdict(model.architecture),
        "styles": [{"index": i, **dataclasses.asdict(s)} for i, s in enumerate(model.styles)],
        "size_multiple": SIZE_MULTIPLE, "size_bytes": len(content), "sha256": content_digest(content),
    }
    _write_model_and_metadata(os.fspath(path), content, metadata)
    return metadata


def _write_model_and_metadata(path: str, content: bytes, metadata: dict) -> None:
    for target, data in ((path, content), (metadata_path(path), json.dumps(metadata, indent=2).encode())):
        with atomic_write(target) as handle:
            handle.write(data)
