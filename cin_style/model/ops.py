"""Pure tensor functions used by the layers, the losses and the exporters.

Every function here is stateless: it takes tensors and returns tensors, so it
can be tested on its own and reused in Keras layers, ``tf.function`` graphs and
TFLite-friendly rewrites alike.  Images and feature maps are NHWC.
"""

from __future__ import annotations

import tensorflow as tf

__all__ = [
    "instance_moments",
    "normalize_style_weights",
    "mix_style_params",
    "conditional_instance_norm",
    "reflection_pad",
]


def instance_moments(x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Per-example, per-channel mean and variance over the spatial axes.

    Args:
      x: [B, H, W, C] float tensor.

    Returns:
      (mean, variance), each [B, 1, 1, C] float32 (computed in float32 even for
      bfloat16/float16 inputs, so low-precision training stays stable).
    """
    x32 = tf.cast(x, tf.float32)
    mean = tf.reduce_mean(x32, axis=[1, 2], keepdims=True)
    variance = tf.reduce_mean(tf.math.squared_difference(x32, mean), axis=[1, 2], keepdims=True)
    return mean, variance


def normalize_style_weights(style_weights: tf.Tensor) -> tf.Tensor:
    """Divides non-negative style weights by their sum over the last axis.

    Args:
      style_weights: [B, N] or [B, H, W, N] float tensor, non-negative, with a
        positive sum along the last axis (the caller validates user input).

    Returns:
      The same shape, summing to 1 along the last axis: a one-hot vector selects
      a style, fractional weights blend.
    """
    total = tf.reduce_sum(style_weights, axis=-1, keepdims=True)
    return style_weights / tf.maximum(total, 1e-12)


def mix_style_params(style_weights: tf.Tensor, params: tf.Tensor, spatial_size: tf.Tensor | None = None) -> tf.Tensor:
    """Blends per-style parameters (gamma or beta) with style weights.

    Args:
      style_weights: [B, N] or per-pixel [B, h, w, N] normalized weights.
      params: [N, C] per-style parameters.
      spatial_size: [2] int32 target (H, W); required for per-pixel weights, which
        are resized (bilinear, antialiased) to the feature map's resolution.

    Returns:
      [B, 1, 1, C] for global weights, [B, H, W, C] for per-pixel weights.
    """
    params = tf.cast(params, style_weights.dtype)
    if style_weights.shape.rank == 2:
        mixed = tf.matmul(style_weights, params)
        return mixed[:, tf.newaxis, tf.newaxis, :]
    if style_weights.shape.rank != 4:
        raise ValueError(f"style_weights must have rank 2 or 4, got shape {style_weights.shape}")
    if spatial_size is None:
        raise ValueError("spatial_size is required for per-pixel style weights")
    resized = tf.image.resize(style_weights, spatial_size, method="bilinear", antialias=True)
    resized = normalize_style_weights(tf.maximum(resized, 0.0))
    return tf.einsum("bhwn,nc->bhwc", resized, params)


def conditional_instance_norm(
    x: tf.Tensor,
    style_weights: tf.Tensor,
    gamma: tf.Tensor,
    beta: tf.Tensor,
    epsilon: float = 1e-5,
    centered: bool = False,
    moments: tuple[tf.Tensor, tf.Tensor] | None = None,
) -> tf.Tensor:
    """Instance normalization with style-conditioned scale and shift.

    ``y = (x - mean) / sqrt(var + epsilon) * gamma(w) + beta(w)`` where ``gamma(w)``
    is ``sum_i w_i gamma_i / sum_i w_i`` (same for beta).

    Args:
      x: [B, H, W, C] features.
      style_weights: [B, N] or [B, h, w, N] non-negative weights (any positive sum).
      gamma, beta: [N, C] per-style scale and shift.
      epsilon: variance floor.

      centered: compute ``x - mean`` once and the variance as ``mean(xc * xc)``
        (the same function). TFLite's XNNPACK delegate takes this form in int8,
        while it rejects int8 SQUARED_DIFFERENCE (which then runs on the slow reference
        kernels); the export network uses it.

      moments: ``(mean, variance)``, each [B, 1, 1, C], to use instead of the
        statistics of ``x`` (tiled stylization feeds every tile the statistics of
        the whole image, so tiles agree).

    Returns:
      [B, H, W, C] normalized features, dtype of ``x``.
    """
    weights = normalize_style_weights(tf.cast(style_weights, tf.float32))
    spatial_size = tf.shape(x)[1:3]
    scale = mix_style_params(weights, gamma, spatial_size)
    shift = mix_style_params(weights, beta, spatial_size)
    if moments is not None:
        mean, variance = (tf.cast(m, tf.float32) for m in moments)
        y = (tf.cast(x, tf.float32) - mean) * (tf.math.rsqrt(variance + epsilon) * scale) + shift
        return tf.cast(y, x.dtype)
    if centered:
        centered_x = tf.cast(x, tf.float32) - tf.reduce_mean(tf.cast(x, tf.float32), axis=[1, 2], keepdims=True)
        variance = tf.reduce_mean(centered_x * centered_x, axis=[1, 2], keepdims=True)
        y = centered_x * (tf.math.rsqrt(variance + epsilon) * scale) + shift
        return tf.cast(y, x.dtype)
    mean, variance = instance_moments(x)
    inv_std = tf.math.rsqrt(variance + epsilon)
    if weights.shape.rank == 2:
        # One fused multiply-add per element: x * a + b.
        a = inv_std * scale
        b = shift - mean * a
        y = tf.cast(x, tf.float32) * a + b
    else:
        y = (tf.cast(x, tf.float32) - mean) * inv_std * scale + shift
    return tf.cast(y, x.dtype)


def reflection_pad(x: tf.Tensor, top: int, bottom: int, left: int, right: int) -> tf.Tensor:
    """Mirror-pads the spatial axes without repeating the edge pixel (REFLECT mode).

    Args:
      x: [B, H, W, C]; each padding must be smaller than the padded axis.

    Returns:
      [B, H + top + bottom, W + left + right, C].
    """
    return tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]], mode="REFLECT")
