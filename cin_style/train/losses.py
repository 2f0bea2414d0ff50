"""Perceptual losses (Gatys et al.; Johnson et al.) as pure functions, plus a wrapper
that owns the frozen loss network.

Normalizations (keep these in mind when choosing weights):

- Gram matrix: ``G = F^T F / (H * W * C)`` for features F reshaped to [H*W, C].
- Style loss of a layer: the *relative* squared Gram error
  ``sum((G_out - G_style)^2) / sum(G_style^2)``.
- Content loss: the relative squared feature error
  ``sum((F_out - F_content)^2) / sum(F_content^2)``.
- Total variation: mean of squared differences between vertically and
  horizontally adjacent pixels of the [0, 1] output.
- Feature moments (optional, ``moment_weight``; Li et al. 2017): per channel
  mean and standard deviation of a style layer's features, each as a relative
  squared error ``sum((m_out - m_style)^2) / sum(m_style^2)``.
- Laplacian (optional, ``laplacian_weight``; Li et al. 2017, "Laplacian-steered
  neural style transfer"): the luminance of output and photo, each average-pooled
  p x p for each p in ``laplacian_pools``, filtered by the 3x3 Laplacian; the
  relative squared error of the two, summed over the pools.

Why a Laplacian term: it sees the photo's coarse structure (outlines, eyes, large
letters) and nothing else, so the painting's fine strokes stay free. Measured on the
6 example photos at 512 px (``docs/bundled_model.md``, session 30), the peer's
readable outputs keep the photo's Laplacian after 8 x 8 pooling at a relative error
of 0.61 (median over photos and styles), the bundled model at 1.64; after 1 x 1 and
2 x 2 pooling both are far from the photo (1.4-2.2), that is the brushwork.

Why moments beside Grams: a Gram matrix is uncentred, ``mean mean^T + covariance``,
and where the means are large its relative error hardly sees the covariance, the
contrast. Outputs trained on Grams alone came out washed out: the conv1_2
feature spread of the bundled model's outputs was 0.67 of the paintings' (the
peer's network: 0.98), so colours and strokes stayed faint.

Why relative errors: with the plain mean squared Gram error, a photo's style
loss against Starry Night measured 4.6e3 at conv1_2 and 1.4e-4 at conv4_3
(256 px, bundled VGG16), seven orders of magnitude apart, and Mondrian's
conv1_2 term was 28x Starry Night's. Dividing by the target's energy makes every
layer and every style start near the same scale, so weights of order 1 mean
what they say and one setting serves all styles.

Features come from VGG in Caffe scale (inputs 0..255 minus the mean), see
:mod:`cin_style.train.vgg`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dataclasses

import tensorflow as tf

from cin_style.stylization.controls import LUMA_WEIGHTS
from cin_style.train import recipe
from cin_style.train.vgg import LossNetwork

__all__ = [
    "LossConfig",
    "PerceptualLoss",
    "gram_matrix",
    "content_loss",
    "style_loss",
    "feature_moments",
    "moment_loss",
    "total_variation_loss",
    "laplacian_loss",
]


def gram_matrix(features: tf.Tensor) -> tf.Tensor:
    """Gram matrices of feature maps.

    Args:
      features: [B, H, W, C] float.

    Returns:
      [B, C, C] float32, ``F^T F / (H * W * C)``.
    """
    features = tf.cast(features, tf.float32)
    shape = tf.shape(features)
    h, w, c = shape[1], shape[2], shape[3]
    flat = tf.reshape(features, [shape[0], h * w, c])
    gram = tf.matmul(flat, flat, transpose_a=True)
    return gram / tf.cast(h * w * c, tf.float32)


_EPSILON = 1e-8


def content_loss(output_features: tf.Tensor, content_features: tf.Tensor) -> tf.Tensor:
    """Per-example relative squared feature error: [B, H, W, C] x2 -> [B].

    ``sum((F_out - F_content)^2) / sum(F_content^2)`` over H, W, C.
    """
    output_features = tf.cast(output_features, tf.float32)
    content_features = tf.cast(content_features, tf.float32)
    error = tf.reduce_sum(tf.square(output_features - content_features), axis=[1, 2, 3])
    return error / (tf.reduce_sum(tf.square(content_features), axis=[1, 2, 3]) + _EPSILON)


def style_loss(output_gram: tf.Tensor, target_gram: tf.Tensor) -> tf.Tensor:
    """Per-example relative squared Gram error: [B, C, C] x2 -> [B].

    ``sum((G_out - G_style)^2) / sum(G_style^2)`` over the C x C entries.
    """
    error = tf.reduce_sum(tf.square(output_gram - target_gram), axis=[1, 2])
    return error / (tf.reduce_sum(tf.square(target_gram), axis=[1, 2]) + _EPSILON)


def feature_moments(features: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Per-channel mean and standard deviation of [B, H, W, C] features -> ([B, C], [B, C]) float32."""
    features = tf.cast(features, tf.float32)
    mean, variance = tf.nn.moments(features, axes=[1, 2])
    return mean, tf.sqrt(variance + _EPSILON)


def moment_loss(output_features: tf.Tensor, target_mean: tf.Tensor, target_std: tf.Tensor) -> tf.Tensor:
    """Per-example relative squared error of the per-channel mean plus that of the standard deviation -> [B].

    Args:
      output_features: [B, H, W, C].
      target_mean, target_std: [B, C] moments of the style image's features.
    """
    mean, std = feature_moments(output_features)
    mean_error = tf.reduce_sum(tf.square(mean - target_mean), axis=1) / (
        tf.reduce_sum(tf.square(target_mean), axis=1) + _EPSILON)
    std_error = tf.reduce_sum(tf.square(std - target_std), axis=1) / (
        tf.reduce_sum(tf.square(target_std), axis=1) + _EPSILON)
    return mean_error + std_error


def total_variation_loss(images: tf.Tensor) -> tf.Tensor:
    """Per-example mean squared neighbour difference of [B, H, W, C] images -> [B]."""
    images = tf.cast(images, tf.float32)
    dy = images[:, 1:, :, :] - images[:, :-1, :, :]
    dx = images[:, :, 1:, :] - images[:, :, :-1, :]
    return tf.reduce_mean(tf.square(dy), axis=[1, 2, 3]) + tf.reduce_mean(tf.square(dx), axis=[1, 2, 3])


_LAPLACIAN_KERNEL = ((0.0, -1.0, 0.0), (-1.0, 4.0, -1.0), (0.0, -1.0, 0.0))


def laplacian_loss(outputs: tf.Tensor, content_images: tf.Tensor, pools: tuple[int, ...]) -> tf.Tensor:
    """Per-example relative squared error of the pooled luminance's Laplacian, summed over ``pools`` -> [B].

    Args:
      outputs, content_images: [B, H, W, 3] in [0, 1].
      pools: average-pooling sizes; 1 compares the full-resolution Laplacian.
    """
    kernel = tf.constant(_LAPLACIAN_KERNEL, tf.float32)[:, :, None, None]
    luma = tf.constant(LUMA_WEIGHTS, tf.float32)[:, None]

    def laplacian(images: tf.Tensor, pool: int) -> tf.Tensor:
        grey = tf.matmul(tf.cast(images, tf.float32), luma)  # [B, H, W, 1]
        if pool > 1:
            grey = tf.nn.avg_pool2d(grey, pool, pool, "VALID")
        return tf.nn.conv2d(grey, kernel, 1, "VALID")

    total = 0.0
    for pool in pools:
        out, photo = laplacian(outputs, pool), laplacian(content_images, pool)
        error = tf.reduce_sum(tf.square(out - photo), axis=[1, 2, 3])
        total += error / (tf.reduce_sum(tf.square(photo), axis=[1, 2, 3]) + _EPSILON)
    return total


@dataclasses.dataclass(frozen=True)
class LossConfig:
    """Which loss network and layers, and how the loss terms are weighted.

    Attributes:
      loss_network: ``"vgg16"`` or ``"vgg19"``.
      loss_network_weights: ``"bundled"`` (offline VGG16), ``"imagenet"`` or a path.
      content_layer: layer of the content loss.
      style_layers: layers of the style loss.
      content_weight: weight of the content term.
      style_weight: global weight of the style terms.
      style_layer_weights: relative weight per style layer (same order as
        ``style_layers``); None means 1 for each.
      tv_weight: weight of the total-variation term.
      moment_weight: weight of the feature-moment terms (per-channel mean and
        standard deviation at each style layer, scaled by the layer weights and
        the per-style strength like the Gram terms); 0 leaves them out.
      style_image_size: the style image is resized so its shorter side is this
        many pixels before its Gram targets are computed; it sets the scale of
        the strokes relative to a content image of the training size.
      laplacian_weight: weight of the Laplacian term (the photo's coarse
        structure kept); 0 leaves it out.
      laplacian_pools: the pooling sizes the Laplacian term compares at.
    """

    loss_network: str = "vgg16"
    loss_network_weights: str = "bundled"
    content_layer: str = recipe.CONTENT_LAYER
    style_layers: tuple[str, ...] = recipe.STYLE_LAYERS
    content_weight: float = recipe.CONTENT_WEIGHT
    style_weight: float = recipe.STYLE_WEIGHT
    style_layer_weights: tuple[float, ...] | None = None
    tv_weight: float = recipe.TV_WEIGHT
    style_image_size: int = recipe.STYLE_IMAGE_SIZE
    moment_weight: float = recipe.MOMENT_WEIGHT
    laplacian_weight: float = recipe.LAPLACIAN_WEIGHT
    laplacian_pools: tuple[int, ...] = recipe.LAPLACIAN_POOLS

    def __post_init__(self):
        object.__setattr__(self, "style_layers", tuple(self.style_layers))
        pools = tuple(int(p) for p in self.laplacian_pools)
        if not pools or min(pools) < 1:
            raise ValueError(f"laplacian_pools must be sizes >= 1, got {self.laplacian_pools}")
        object.__setattr__(self, "laplacian_pools", pools)
        if self.style_layer_weights is not None:
            weights = tuple(float(w) for w in self.style_layer_weights)
            if len(weights) != len(self.style_layers):
                raise ValueError(
                    f"style_layer_weights has {len(weights)} entries but style_layers has {len(self.style_layers)}")
            object.__setattr__(self, "style_layer_weights", weights)
        for name in ("content_weight", "style_weight", "tv_weight", "moment_weight", "laplacian_weight"):
            if not float(getattr(self, name)) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if int(self.style_image_size) < 16:
            raise ValueError(f"style_image_size must be >= 16, got {self.style_image_size}")

    def layer_weights(self) -> dict[str, float]:
        relative = self.style_layer_weights or (1.0,) * len(self.style_layers)
        return dict(zip(self.style_layers, relative))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "LossConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k in known}
        values.setdefault("moment_weight", 0.0)  # recorded before the moment terms existed: trained without them
        values.setdefault("laplacian_weight", 0.0)  # likewise the Laplacian term
        return cls(**values)


class PerceptualLoss:
    """The combined perceptual objective with its frozen loss network.

    ``loss(outputs, content_features, style_targets, style_scale)`` returns
    ``(total, terms)``: the scalar to minimize (batch mean) and a dict of named
    scalar terms (``content``, ``style/<layer>``, ``moments/<layer>``, ``style``,
    ``tv``, ``laplacian`` when weighted), each already multiplied by its weight, so that
    ``total = content + style + tv (+ laplacian)`` (``style`` includes the moment terms).
    """

    def __init__(self, config: LossConfig, network: LossNetwork | None = None):
        self.config = config
        layers = list(dict.fromkeys([*config.style_layers, config.content_layer]))
        if network is None:
            network = LossNetwork(layers, arch=config.loss_network, weights=config.loss_network_weights)
        self.network = network

    def reweighted(self, **weights) -> "PerceptualLoss":
        """The same loss network with other term weights, e.g. ``reweighted(style_weight=0.6)``
        (``content_weight``, ``style_weight``, ``tv_weight``, ``moment_weight``, ``laplacian_weight``); the layers
        stay as they are."""
        allowed = {"content_weight", "style_weight", "tv_weight", "moment_weight", "laplacian_weight"}
        unknown = set(weights) - allowed
        if unknown:
            raise ValueError(f"reweighted takes {', '.join(sorted(allowed))}, got {sorted(unknown)}")
        return PerceptualLoss(dataclasses.replace(self.config, **weights), network=self.network)

    def features(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        """VGG features of [B, H, W, 3] images in [0, 1], by layer name."""
        return self.network(images)

    def content_features(self, images: tf.Tensor) -> tf.Tensor:
        """Features at the content layer only (the stack runs no deeper than needed)."""
        layer = self.config.content_layer
        return self.network(images, layers=(layer,))[layer]

    def style_targets(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        """Style targets of style images [B, H, W, 3] in [0, 1]: the Gram matrix of each style layer,
        ``{layer: [B, C, C]}``, and with ``moment_weight > 0`` its feature moments,
        ``{"<layer>/mean": [B, C], "<layer>/std": [B, C]}``."""
        features = self.features(images)
        targets = {}
        for layer in self.config.style_layers:
            targets[layer] = gram_matrix(features[layer])
            if self.config.moment_weight:
                targets[f"{layer}/mean"], targets[f"{layer}/std"] = feature_moments(features[layer])
        return targets

    def per_example(self, outputs: tf.Tensor, content_features: tf.Tensor, style_targets: Mapping[str, tf.Tensor],
                    style_scale: tf.Tensor | None = None,
                    content_images: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        """Weighted per-example terms, each [B].

        Args:
          outputs: [B, H, W, 3] stylized images in [0, 1].
          content_features: [B, h, w, C] features of the content images at the
            content layer.
          style_targets: the :meth:`style_targets` of each example's style image.
          style_scale: optional [B] multiplier of the style terms (per-style weights).
          content_images: the content images [B, H, W, 3] in [0, 1]; needed by the
            Laplacian term (``laplacian_weight > 0``).
        """
        config = self.config
        features = self.features(outputs)
        terms = {"content": config.content_weight * content_loss(features[config.content_layer], content_features)}
        style_total = 0.0
        for layer, relative in config.layer_weights().items():
            scale = relative if style_scale is None else relative * tf.cast(style_scale, tf.float32)
            term = config.style_weight * scale * style_loss(gram_matrix(features[layer]), style_targets[layer])
            terms[f"style/{layer}"] = term
            style_total += term
            if config.moment_weight:
                term = config.moment_weight * scale * moment_loss(
                    features[layer], style_targets[f"{layer}/mean"], style_targets[f"{layer}/std"])
                terms[f"moments/{layer}"] = term
                style_total += term
        terms["style"] = style_total
        terms["tv"] = config.tv_weight * total_variation_loss(outputs)
        terms["total"] = terms["content"] + terms["style"] + terms["tv"]
        if config.laplacian_weight:
            if content_images is None:
                raise ValueError("laplacian_weight > 0 needs content_images")
            terms["laplacian"] = config.laplacian_weight * laplacian_loss(outputs, content_images,
                                                                          config.laplacian_pools)
            terms["total"] += terms["laplacian"]
        return terms

    def __call__(self, outputs: tf.Tensor, content_features: tf.Tensor, style_targets: Mapping[str, tf.Tensor],
                 style_scale: tf.Tensor | None = None,
                 content_images: tf.Tensor | None = None) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        terms = {k: tf.reduce_mean(v) for k, v in
                 self.per_example(outputs, content_features, style_targets, style_scale, content_images).items()}
        total = terms.pop("total")
        return total, terms
