"""The per-image reference: Gatys-style optimization of the pixels of one image.

Minimizes the same perceptual objective the transform network is trained on
(:class:`~cin_style.train.losses.PerceptualLoss`: same loss network, layers and
weights), starting from the content image. L-BFGS-B (SciPy) with the pixels
bounded to [0, 1] is the default, as in Gatys et al.; Adam is an option.
Slow (seconds per iteration on a CPU), but it works for any style image with
no training, and it is the yardstick of :mod:`tools/evaluate.py`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.optimize
import tensorflow as tf
import tf_keras as keras
from PIL import Image

from cin_style.files.images import ImageSource, load_image, resize_short_side, to_pil
from cin_style.train.losses import LossConfig, PerceptualLoss

__all__ = ["OptimizeResult", "optimize", "resize_short_side"]


@dataclasses.dataclass
class OptimizeResult:
    """Result of :func:`optimize`.

    Attributes:
      image: the optimized image as a PIL RGB image.
      pixels: the same as [H, W, 3] float32 in [0, 1].
      history: one dict of loss terms (``total``, ``content``, ``style``, ``tv``,
        ``style/<layer>``) per iteration; entry 0 is the starting point.
    """

    image: Image.Image
    pixels: np.ndarray
    history: list[dict[str, float]]


def optimize(content: ImageSource, style: ImageSource, *, iterations: int = 100, method: str = "lbfgs",
             loss_config: LossConfig | None = None,
             loss: PerceptualLoss | None = None, size: int | None = None, learning_rate: float = 0.02,
             init: np.ndarray | None = None) -> OptimizeResult:
    """Optimizes an image to match ``content``'s features and ``style``'s Gram matrices.

    Args:
      content: the content image (path, PIL image or array; see :func:`cin_style.stylize`).
      style: the style image (same forms). It is resized so its short side is
        ``loss_config.style_image_size``, as in training.
      iterations: L-BFGS iterations (or Adam steps).
      method: ``"lbfgs"`` (SciPy L-BFGS-B, pixels bounded to [0, 1]) or ``"adam"``.
      loss_config: loss network, layers and weights (default: the training defaults).
      loss: an already built :class:`PerceptualLoss` to reuse (overrides ``loss_config``).
      size: resize the content so its short side is ``size`` first (default: as given).
      learning_rate: Adam's step size (pixels in [0, 1]).
      init: starting image [H, W, 3] in [0, 1] (default: the content image).

    Returns:
      :class:`OptimizeResult` with the image and the loss history.
    """
    if method not in ("lbfgs", "adam"):
        raise ValueError(f"method must be 'lbfgs' or 'adam', got {method!r}")
    if int(iterations) < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    loss = loss or PerceptualLoss(loss_config or LossConfig())
    content_rgb = load_image(content).rgb
    if size:
        content_rgb = resize_short_side(content_rgb, size)
    style_rgb = resize_short_side(load_image(style).rgb, loss.config.style_image_size)
    content_features = loss.content_features(content_rgb[None])
    style_targets = loss.style_targets(style_rgb[None])
    shape = (1, *content_rgb.shape)

    @tf.function
    def value_and_grad(pixels):
        with tf.GradientTape() as tape:
            tape.watch(pixels)
            total, terms = loss(pixels, content_features, style_targets)
        return total, terms, tape.gradient(total, pixels)

    def evaluate(pixels: np.ndarray):
        total, terms, gradient = value_and_grad(tf.constant(pixels.reshape(shape), tf.float32))
        record = {"total": float(total), **{k: float(v) for k, v in terms.items()}}
        return record, gradient.numpy()

    start = np.asarray(content_rgb if init is None else init, np.float32).reshape(shape)
    first, _ = evaluate(start)
    history = [first]
    if method == "lbfgs":
        last = {}

        def fun(flat):
            record, gradient = evaluate(flat.astype(np.float32))
            last["record"] = record
            return record["total"], gradient.astype(np.float64).ravel()

        result = scipy.optimize.minimize(
            fun, start.astype(np.float64).ravel(), jac=True, method="L-BFGS-B", bounds=[(0.0, 1.0)] * start.size,
            options={"maxiter": int(iterations), "maxcor": 20},
            callback=lambda _x: history.append(last["record"]))
        pixels = result.x.astype(np.float32).reshape(shape)
    else:
        variable = tf.Variable(start)
        optimizer = keras.optimizers.Adam(learning_rate)
        for _ in range(int(iterations)):
            _, _, gradient = value_and_grad(tf.convert_to_tensor(variable))
            optimizer.apply_gradients([(gradient, variable)])
            variable.assign(tf.clip_by_value(variable, 0.0, 1.0))
            history.append(evaluate(variable.numpy())[0])
        pixels = variable.numpy()
    pixels = np.clip(pixels[0], 0.0, 1.0)
    return OptimizeResult(to_pil(pixels), pixels, history)
