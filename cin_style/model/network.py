"""The multi-style transform network (Johnson et al. layout with Dumoulin's CIN).

| stage | layer                                      | channels (x alpha) |
|-------|--------------------------------------------|--------------------|
| in    | conv 9x9 stride 1                          | 32                 |
| down  | conv 3x3 stride 2                          | 64                 |
| down  | conv 3x3 stride 2                          | 128                |
| body  | R residual blocks (conv-CIN-ReLU-conv-CIN) | 128                |
| up    | nearest upsample x2, conv 3x3              | 64                 |
| up    | nearest upsample x2, conv 3x3              | 32                 |
| out   | conv 9x9 stride 1, CIN, sigmoid            | 3                  |

Every convolution is reflection-padded, has no bias (the following CIN's beta
replaces it) and is followed by a conditional instance norm. The image is
mirror-padded to a multiple of 4 (two stride-2 stages) and the output cropped back;
the export network leaves that to its caller (see ``for_export``).
"""

from __future__ import annotations

import tf_keras as keras

from cin_style.model.architecture import (
    EXPORT_LAYOUTS,
    SIZE_MULTIPLE,
    Architecture,
    scaled_width,
    space_to_depth_block,
    upsamples_at_low_resolution,
)
from cin_style.model.layers import (
    ConditionalInstanceNorm,
    ContrastStandardization,
    CropToReference,
    DepthToSpaceUpsample,
    InstanceMoments,
    PadToMultiple,
    ReflectionPad,
    SlicedReflectionPad,
    SpaceToDepthConv2D,
    UpsampleConv2D,
)

__all__ = ["build_transform_network"]

class _Builder:
    """Appends conv + CIN (+ activation) blocks that all share one style-weights input."""

    def __init__(self, style_weights, num_styles: int, for_export: bool = False, norm_stats: str = "compute",
                 layout: str = "fast"):
        self.style_weights = style_weights
        self.layout = layout
        self.num_styles = num_styles
        self.for_export = for_export
        self.norm_stats = norm_stats
        self.stats_tensors: list = []  # "expose": outputs; "fixed": inputs; (mean, variance) per CIN
        self.pad_layer = SlicedReflectionPad if for_export else ReflectionPad

    def _moments(self, x, name: str):
        if self.norm_stats == "expose":
            moments = InstanceMoments(name=f"{name}_moments")(x)
        elif self.norm_stats == "fixed":
            channels = x.shape[-1]
            moments = [keras.Input(shape=(1, 1, channels), name=f"{name}_{kind}") for kind in ("mean", "variance")]
        else:
            return []
        self.stats_tensors.extend(moments)
        return list(moments)

    def conv_norm(self, x, channels: int, kernel: int, stride: int, name: str, activation: str | None = "relu",
                  epsilon_scale=None):
        x = self.pad_layer(kernel // 2, name=f"{name}_pad")(x)
        block = space_to_depth_block(channels, kernel, self.layout) if self.for_export and stride == 1 else 1
        if block > 1:
            x = SpaceToDepthConv2D(channels, kernel, block, name=f"{name}_conv")(x)
        else:
            x = keras.layers.Conv2D(channels, kernel, strides=stride, padding="valid", use_bias=False,
                                    name=f"{name}_conv")(x)
        return self.norm(x, name, activation, epsilon_scale)

    def upsample_conv_norm(self, x, channels: int, name: str):
        if self.for_export and upsamples_at_low_resolution(channels, self.layout):
            return self.norm(UpsampleConv2D(channels, name=f"{name}_conv")(x), name, "relu")
        if self.for_export:
            x = DepthToSpaceUpsample(name=f"{name}_upsample")(x)
        else:
            x = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_upsample")(x)
        return self.conv_norm(x, channels, 3, 1, name)

    def norm(self, x, name: str, activation: str | None, epsilon_scale=None):
        extra = [epsilon_scale] if epsilon_scale is not None else self._moments(x, name)
        x = ConditionalInstanceNorm(self.num_styles, centered=self.for_export, scaled_epsilon=epsilon_scale is not None,
                                    name=f"{name}_norm")([x, self.style_weights, *extra])
        if activation:
            x = keras.layers.Activation(activation, name=f"{name}_{activation}")(x)
        return x

    def residual_block(self, x, channels: int, name: str):
        y = self.conv_norm(x, channels, 3, 1, f"{name}_a")
        y = self.conv_norm(y, channels, 3, 1, f"{name}_b", activation=None)
        return keras.layers.Add(name=f"{name}_add")([x, y])


def build_transform_network(arch: Architecture, spatial_style_weights: bool = False,
                            for_export: bool = False, norm_stats: str = "compute",
                            export_layout: str = "fast", standardize_contrast: bool = True) -> keras.Model:
    """Builds the transform network for ``arch``.

    Inputs:
      ``image``: [B, H, W, 3] float32 RGB in [0, 1], any H, W >= 4.
      ``style_weights``: [B, N] float32, or [B, h, w, N] when
        ``spatial_style_weights`` is True (per-pixel blending). Non-negative with a
        positive sum.

    Output:
      [B, H, W, 3] float32 RGB in [0, 1], the input's exact height and width.

    ``for_export`` builds the same function from TFLite/XNNPACK-friendly ops, for
    images whose H and W are multiples of :data:`SIZE_MULTIPLE`: the caller pads
    and crops (:func:`~cin_style.model.architecture.pad_to_size_multiple`), so the graph has no shape-dependent
    ops and LiteRT prepares it once per input size instead of on every run.
    ``export_layout`` (one of :data:`~cin_style.model.architecture.EXPORT_LAYOUTS`) trades file size for speed: how
    many 9x9 convs run on pixel blocks (:func:`space_to_depth_block`) and upsampling
    convs at the small resolution (:func:`upsamples_at_low_resolution`).
    ``standardize_contrast`` (export only) starts it with
    :class:`~cin_style.model.layers.ContrastStandardization`, which the first instance
    norm cancels exactly; it keeps int8 ranges independent of the photo's contrast.

    ``norm_stats`` is for tiled stylization: ``"expose"`` adds every CIN's
    (mean, variance) as extra outputs, in network order; ``"fixed"`` takes them as
    extra inputs (named ``<layer>_mean`` / ``<layer>_variance``) instead of
    computing them, so all tiles of an image share the whole image's statistics.

    All variants have the same weights in the same order, so
    ``other.set_weights(plain.get_weights())`` moves a trained model between them.
    """
    n = arch.num_styles
    width = lambda channels: scaled_width(channels, arch.alpha)  # noqa: E731

    batch = 1 if for_export else None  # a static batch keeps every reshape static for TFLite
    image = keras.Input(shape=(None, None, 3), batch_size=batch, name="image")
    style_shape = (None, None, n) if spatial_style_weights else (n,)
    style_weights = keras.Input(shape=style_shape, batch_size=batch, name="style_weights")
    if norm_stats not in ("compute", "expose", "fixed"):
        raise ValueError(f"norm_stats must be 'compute', 'expose' or 'fixed', got {norm_stats!r}")
    # Per-pixel weights are padded like the image, so each layer's resize is an exact 2^k downscale
    # on the same grid for a whole image and for any tile that starts on a multiple of 4.
    layer_weights = (PadToMultiple(SIZE_MULTIPLE, name="pad_style_weights")(style_weights) if spatial_style_weights
                     else style_weights)
    if export_layout not in EXPORT_LAYOUTS:
        raise ValueError(f"export_layout must be one of {', '.join(EXPORT_LAYOUTS)}, got {export_layout!r}")
    net = _Builder(layer_weights, n, for_export, norm_stats, export_layout)

    epsilon_scale = None
    if for_export and standardize_contrast:
        x, epsilon_scale = ContrastStandardization(name="standardize_contrast")(image)
    else:
        x = image if for_export else PadToMultiple(SIZE_MULTIPLE, name="pad_to_multiple")(image)
    x = net.conv_norm(x, width(32), 9, 1, "in", epsilon_scale=epsilon_scale)
    x = net.conv_norm(x, width(64), 3, 2, "down1")
    x = net.conv_norm(x, width(128), 3, 2, "down2")
    for i in range(arch.num_residual_blocks):
        x = net.residual_block(x, width(128), f"res{i + 1}")
    x = net.upsample_conv_norm(x, width(64), "up1")
    x = net.upsample_conv_norm(x, width(32), "up2")
    x = net.conv_norm(x, 3, 9, 1, "out", activation="sigmoid")
    if not for_export:
        x = CropToReference(name="crop_to_input")([x, image])

    if norm_stats == "expose":
        return keras.Model([image, style_weights], [x, *net.stats_tensors], name="cin_transform_network")
    if norm_stats == "fixed":
        return keras.Model([image, style_weights, *net.stats_tensors], x, name="cin_transform_network")
    return keras.Model([image, style_weights], x, name="cin_transform_network")
