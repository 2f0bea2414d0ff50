"""Quantization-aware training (tensorflow-model-optimization) of the export network.

The export network (:func:`cin_style.export.network.export_network`) is wrapped by tfmot:
convolutions get tfmot's default 8-bit weight and activation fake-quantizers; the
CIN layer gets a :class:`CINQuantizeConfig` that fake-quantizes its output to 8
bits (its gamma/beta are tiny per-channel tables, mixed by the style weights);
padding, cropping and upsampling layers only move values and get no quantizer,
nor does the contrast standardization in front of the first convolution.
The wrapped network is then fine-tuned to reproduce the float model's outputs
(distillation on real photos crossed with the styles), so it learns to absorb the
rounding, and converted to a fully integer TFLite model.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tf_keras as keras

from cin_style.model import layers as cin_layers
from cin_style.train.distillation import distill_outputs
from cin_style.export.calibration import CalibrationSamples
from cin_style.export.network import export_network
from cin_style.model.format import CinModel
from cin_style.model.architecture import pad_to_size_multiple
from cin_style.optional_deps import import_tfmot

__all__ = ["CINQuantizeConfig", "NoQuantizeConfig", "quantization_aware_network", "finetune_quantization_aware"]

_qk = import_tfmot("quantization-aware training").quantization.keras


class NoQuantizeConfig(_qk.QuantizeConfig):  # type: ignore[name-defined]
    """For layers that only move values (padding, cropping, upsampling): no quantizers."""

    def get_weights_and_quantizers(self, layer: keras.layers.Layer) -> list:
        return []

    def get_activations_and_quantizers(self, layer: keras.layers.Layer) -> list:
        return []

    def set_quantize_weights(self, layer: keras.layers.Layer, quantize_weights: list) -> None:
        pass

    def set_quantize_activations(self, layer: keras.layers.Layer, quantize_activations: list) -> None:
        pass

    def get_output_quantizers(self, layer: keras.layers.Layer) -> list:
        return []

    def get_config(self) -> dict:
        return {}


class CINQuantizeConfig(NoQuantizeConfig):
    """Conditional instance norm: its output is fake-quantized to 8 bits (asymmetric, per tensor)."""

    def get_output_quantizers(self, layer: keras.layers.Layer) -> list:
        return [_qk.quantizers.MovingAverageQuantizer(num_bits=8, per_axis=False, symmetric=False,
                                                      narrow_range=False)]


_MOVING_LAYERS = (cin_layers.ReflectionPad, cin_layers.PadToMultiple, cin_layers.CropToReference,
                  cin_layers.DepthToSpaceUpsample)
# Also without fake-quantizers: the contrast standardization in front of the first conv. Its rounding
# in int8 is that of the 8-bit image itself (and tfmot's output quantizers take one output, it has two).
_UNQUANTIZED_LAYERS = _MOVING_LAYERS + (cin_layers.ContrastStandardization,)


def quantization_aware_network(model: CinModel, equalize_with: CalibrationSamples | None = None,
                               layout: str = "plain") -> keras.Model:
    """The model's export network wrapped with fake-quantizers (same function before training).

    ``equalize_with``: calibration samples for :func:`cin_style.export.network.equalize_channel_scales`;
    ``layout``: the export layout (:func:`cin_style.export.network.export_network`). Only ``plain``
    converts: in the others the kernels are rearranged from the stored ones by ops the
    converter cannot carry per-channel quantization through ("mismatched quantized axes").
    """
    if layout != "plain":
        raise ValueError(f"quantization-aware training supports the plain export layout only, got {layout!r}")
    network = export_network(model, equalize_with=equalize_with, layout=layout)

    def annotate(layer):
        if isinstance(layer, cin_layers.ConditionalInstanceNorm):
            return _qk.quantize_annotate_layer(layer, CINQuantizeConfig())
        if isinstance(layer, _UNQUANTIZED_LAYERS):
            return _qk.quantize_annotate_layer(layer, NoQuantizeConfig())
        return layer

    annotated = keras.models.clone_model(network, clone_function=annotate)
    annotated.set_weights(network.get_weights())
    scope = {**cin_layers.CUSTOM_OBJECTS, "NoQuantizeConfig": NoQuantizeConfig, "CINQuantizeConfig": CINQuantizeConfig}
    with _qk.quantize_scope(scope):
        return _qk.quantize_apply(_qk.quantize_annotate_model(annotated))


def finetune_quantization_aware(model: CinModel, crops: np.ndarray, steps: int = 200, learning_rate: float = 1e-4,
                                seed: int = 0, log: Callable[[str], None] | None = None,
                                equalize_with: CalibrationSamples | None = None,
                                layout: str = "plain") -> keras.Model:
    """Fine-tunes the quantization-aware network to match the float model's outputs.

    Args:
      model: the float :class:`~cin_style.CinModel` (the teacher).
      crops: [M, S, S, 3] float32 photos in [0, 1].
      steps: Adam steps, one photo and one random style (or blend) each.
      equalize_with: calibration samples; start from channel-equalized weights.
      layout: the export layout (:func:`cin_style.export.network.export_network`).

    Returns:
      The fine-tuned quantization-aware tf_keras network (convert it with the TFLite converter).
    """
    crops = pad_to_size_multiple(np.asarray(crops, np.float32))  # the export network's size contract
    qat = quantization_aware_network(model, equalize_with, layout)
    distill_outputs(model.network, qat, crops, steps, learning_rate=learning_rate, seed=seed, log=log, label="qat")
    return qat
