"""Input polarity: turn a network that paints a photo's negative into one that paints the photo.

Fast style networks trained with VGG perceptual losses can settle on an output whose
luminance runs against the photo's (dark coats painted white, black text on white
painted light on dark): the content loss on VGG features barely tells the two apart.
``cin_style.quality.evaluation.luminance_correlation`` measures it.

Negating the first convolution's kernel makes the network see the photo's negative,
exactly: the first layer is a reflection-padded conv followed by an instance norm, so
for an image ``x`` in [0, 1]

    IN(conv(1 - x)) = IN(conv(1) - conv(x)) = -IN(conv(x))

(reflection padding keeps the constant image constant, so ``conv(1)`` is a per-channel
constant that the norm's mean removes, and the variance is unchanged). The flipped
network therefore computes ``f(1 - x)``; nothing else changes, and the same holds for
the export variants (their contrast standardization is odd in ``x`` about its mean).
Measured on the bundled package (average of steps 20000-21500; ``tools/evaluate.py``, 4 photos x
16 styles): luminance correlation median -0.53 -> +0.53, Gatys ratio median 1.601 ->
1.609; on the average of steps 25500-27000, 1.576 -> 1.595 (the perceptual loss is nearly
blind to the flip; the pictures are not).
"""

from __future__ import annotations

from cin_style.model.format import CinModel

__all__ = ["invert_input", "FIRST_CONV_KERNEL"]

FIRST_CONV_KERNEL = "in_conv/kernel"


def invert_input(model: CinModel) -> CinModel:
    """A copy of ``model`` whose network computes ``model(1 - image)``.

    The training record gains ``input_inverted`` (toggled, so inverting twice restores it).
    """
    weights = []
    found = False
    for variable, value in zip(model.network.weights, model.network.get_weights()):
        if variable.name.startswith(FIRST_CONV_KERNEL):
            value, found = -value, True
        weights.append(value)
    if not found:
        raise ValueError(f"the network has no {FIRST_CONV_KERNEL!r} weight to negate")
    config = dict(model.training_config)
    config["input_inverted"] = not config.get("input_inverted", False)
    result = CinModel(model.architecture, model.styles, training_config=config)
    result.network.set_weights(weights)
    return result
