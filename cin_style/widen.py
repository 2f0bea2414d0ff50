"""Function-preserving widening: a larger width multiplier alpha for a trained model.

Every convolution of the wider network keeps the trained kernel in its first input and
output channels; the added output channels get a fresh random kernel and a CIN whose
gamma is zero for every style, so each added channel is a spatial constant: its beta.

A constant channel changes nothing downstream. The next convolution turns it into a
constant per output channel (reflection padding and nearest upsampling keep a constant
constant), and the instance norm after that convolution subtracts exactly that
constant. In the residual body the added channels of the stream are carried past every
block (whose second CIN adds zero to them: gamma and beta both zero) into the first
upsampling conv, whose norm again removes them. So the wider network computes the
trained one's function and training goes on from there with more channels.

The added channels of a CIN followed by a ReLU start at beta = ``_OPEN_BETA`` > 0 rather
than 0: at exactly 0 the ReLU passes no gradient, and the channels would stay shut. With
a positive beta gamma gets a gradient through the next convolution's (random) weights on
those channels, and the channels open up as training needs them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from cin_style.model_format import CinModel

__all__ = ["widen_model"]

_OPEN_BETA = 0.1  # added channels of a CIN before a ReLU: inside the ReLU's linear part, so gamma trains


def _followed_by_relu(norm_key: str) -> bool:
    """Whether the CIN named ``<layer>_norm/...`` feeds a ReLU (all but a residual block's second and the output)."""
    layer = norm_key.split("/")[0].removesuffix("_norm")
    return not (layer.endswith("_b") or layer == "out")


def widen_model(model: CinModel, alpha: float, seed: int = 0) -> CinModel:
    """A copy of ``model`` at width multiplier ``alpha``, same function and styles.

    Args:
      model: a trained model.
      alpha: width multiplier of the result, at least the model's own.
      seed: of the random kernels of the added channels.

    Returns:
      A :class:`CinModel` whose added channels start as constants that no later layer sees.
    """
    arch = model.architecture
    alpha = float(alpha)
    if alpha < arch.alpha:
        raise ValueError(f"alpha must be at least the model's {arch.alpha}, got {alpha}"
                         " (cin_style.slim.prune_model narrows a model)")
    wider = CinModel(dataclasses.replace(arch, alpha=alpha), model.styles,
                     training_config={**model.training_config, "alpha": alpha, "widened_from_alpha": arch.alpha})
    weights = model.weights_dict()
    rng = np.random.default_rng(seed)
    for variable in wider.network.weights:
        key = variable.name.split(":")[0]
        trained = weights[key]
        shape = tuple(variable.shape)
        if key.endswith("/kernel"):
            # A fresh kernel at the trained one's scale for the added channels; the trained block in place.
            value = rng.normal(0.0, float(trained.std()), shape).astype(trained.dtype)
            value[tuple(slice(0, n) for n in trained.shape)] = trained
        elif key.endswith(("/gamma", "/beta")):
            opens = key.endswith("/beta") and _followed_by_relu(key)
            value = np.full(shape, _OPEN_BETA if opens else 0.0, trained.dtype)
            value[:, :trained.shape[1]] = trained
        else:
            raise ValueError(f"widen_model does not know how to widen the weight {key} {trained.shape}")
        variable.assign(value)
    return wider
