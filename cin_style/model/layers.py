"""Keras (tf_keras) layers of the transform network.

``tf_keras`` (Keras 2) is used rather than Keras 3 because
tensorflow-model-optimization (quantization-aware training) only wraps
tf_keras layers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf
import tf_keras as keras

from cin_style.model import ops

__all__ = ["ConditionalInstanceNorm", "InstanceMoments", "ContrastStandardization", "ReflectionPad",
           "SlicedReflectionPad", "DepthToSpaceUpsample", "SpaceToDepthConv2D", "UpsampleConv2D", "PadToMultiple",
           "CropToReference", "CUSTOM_OBJECTS"]


@keras.utils.register_keras_serializable(package="cin_style")
class ConditionalInstanceNorm(keras.layers.Layer):
    """Conditional instance normalization (Dumoulin et al. 2017).

    Call with ``[features, style_weights]`` (or ``[features, style_weights, mean,
    variance]`` to normalize with given [B, 1, 1, C] statistics):

    - ``features``: [B, H, W, C].
    - ``style_weights``: [B, N] (one weight per style) or per-pixel
      [B, h, w, N] (resized to H x W inside the layer). Non-negative, any
      positive sum: weights are divided by their sum, so a one-hot vector selects
      one style and fractional weights blend gamma/beta.

    Weights: ``gamma`` and ``beta``, each [N, C]; style i owns row i.
    ``centered=True`` computes the same function in the form TFLite's XNNPACK
    delegate accepts in int8 (see :func:`cin_style.model.ops.conditional_instance_norm`).
    ``scaled_epsilon=True`` takes ``[features, style_weights, epsilon_scale]``: the
    variance floor is ``epsilon * epsilon_scale`` ([B, 1, 1, 1]), for features that
    were scaled by ``sqrt(epsilon_scale)`` (see :class:`ContrastStandardization`).
    """

    def __init__(self, num_styles: int, epsilon: float = 1e-5, centered: bool = False,
                 scaled_epsilon: bool = False, **kwargs):
        super().__init__(**kwargs)
        if int(num_styles) < 1:
            raise ValueError(f"num_styles must be >= 1, got {num_styles}")
        self.num_styles = int(num_styles)
        self.epsilon = float(epsilon)
        self.centered = bool(centered)
        self.scaled_epsilon = bool(scaled_epsilon)

    def build(self, input_shape: Sequence[tf.TensorShape]) -> None:
        feature_shape = input_shape[0]
        channels = int(feature_shape[-1])
        self.gamma = self.add_weight(
            name="gamma", shape=(self.num_styles, channels), initializer="ones", trainable=True)
        self.beta = self.add_weight(
            name="beta", shape=(self.num_styles, channels), initializer="zeros", trainable=True)
        self.built = True

    def call(self, inputs: Sequence[tf.Tensor]) -> tf.Tensor:
        features, style_weights, *extra = inputs
        if self.scaled_epsilon:
            epsilon_scale, = extra
            return ops.conditional_instance_norm(features, style_weights, self.gamma, self.beta,
                                                 self.epsilon * epsilon_scale, centered=self.centered)
        return ops.conditional_instance_norm(features, style_weights, self.gamma, self.beta, self.epsilon,
                                             centered=self.centered,
                                             moments=(extra[0], extra[1]) if extra else None)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_styles": self.num_styles, "epsilon": self.epsilon,
                "centered": self.centered, "scaled_epsilon": self.scaled_epsilon}


@keras.utils.register_keras_serializable(package="cin_style")
class InstanceMoments(keras.layers.Layer):
    """Per-example, per-channel (mean, variance) of [B, H, W, C] features, each [B, 1, 1, C] float32."""

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return list(ops.instance_moments(x))


@keras.utils.register_keras_serializable(package="cin_style")
class ContrastStandardization(keras.layers.Layer):
    """Subtracts each channel's mean and multiplies by one scalar per image, 1 / its deviation.

    Returns ``[x_std, scale_squared]``: ``x_std = (x - mean_c) * s`` with
    ``s = 1 / sqrt(mean((x - mean_c)^2) + epsilon)`` (one scalar for all channels)
    and ``scale_squared = s^2``, [B, 1, 1, 1]. The first convolution is linear and
    unbiased, and its instance norm removes per-channel offsets and, given its
    variance floor times ``s^2`` (``ConditionalInstanceNorm(scaled_epsilon=True)``),
    any common positive scale exactly, so a network that starts with this layer
    computes the same function. The export network uses it for int8: the image then
    fills the same int8 range whatever its contrast, and so do the first norm's
    statistics, which otherwise follow the photo's contrast and were the worst
    quantized tensors of the model (their calibrated range clipped on quieter
    photos).
    """

    def __init__(self, epsilon: float = 1e-4, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        centered = x - tf.reduce_mean(x, axis=[1, 2], keepdims=True)
        # Spatial mean first, then over the 3 channels: XNNPACK reduces over H, W.
        variance = tf.reduce_mean(tf.reduce_mean(centered * centered, axis=[1, 2], keepdims=True), axis=3,
                                  keepdims=True)
        scale = tf.math.rsqrt(variance + self.epsilon)
        return [centered * scale, scale * scale]

    def get_config(self) -> dict:
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.utils.register_keras_serializable(package="cin_style")
class ReflectionPad(keras.layers.Layer):
    """Mirror padding of ``padding`` pixels on every spatial side ([B, H, W, C])."""

    def __init__(self, padding: int, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        p = self.padding
        return ops.reflection_pad(x, p, p, p, p)

    def get_config(self) -> dict:
        return {**super().get_config(), "padding": self.padding}


@keras.utils.register_keras_serializable(package="cin_style")
class SlicedReflectionPad(ReflectionPad):
    """The same mirror padding built from slices and one concatenation per axis.

    TFLite's MIRROR_PAD is not taken by the XNNPACK delegate and splits the graph
    around every convolution; STRIDED_SLICE and CONCATENATION (of up to 5 inputs)
    are taken. Used by the export network; numerically identical to
    :class:`ReflectionPad`. Supports padding up to 5.
    """

    def call(self, x: tf.Tensor) -> tf.Tensor:
        p = self.padding
        if p == 0:
            return x
        for axis in (1, 2):
            def rows(start, stop, axis=axis):
                index = [slice(None)] * 4
                index[axis] = slice(start, stop)
                return x_[tuple(index)]
            x_ = x
            top = [rows(i, i + 1) for i in range(p, 0, -1)]
            bottom = [rows(-i - 1, -i) for i in range(1, p + 1)]
            # XNNPACK concatenates at most 5 tensors per op: group each side first.
            x = tf.concat([_concat(top, axis), x_, _concat(bottom, axis)], axis=axis)
        return x


def _concat(tensors, axis):
    return tensors[0] if len(tensors) == 1 else tf.concat(tensors, axis=axis)


@keras.utils.register_keras_serializable(package="cin_style")
class DepthToSpaceUpsample(keras.layers.Layer):
    """Nearest-neighbour x2 upsampling as channel concatenation + DEPTH_TO_SPACE.

    Equal to ``UpSampling2D(2, interpolation="nearest")``; XNNPACK takes both ops,
    while it does not take RESIZE_NEAREST_NEIGHBOR. Used by the export network's
    ``compact`` and ``plain`` layouts (``fast`` folds it into :class:`UpsampleConv2D`).
    """

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return tf.nn.depth_to_space(tf.concat([x, x, x, x], axis=-1), 2)


@keras.utils.register_keras_serializable(package="cin_style")
class SpaceToDepthConv2D(keras.layers.Conv2D):
    """A stride-1 VALID convolution computed on ``block`` x ``block`` pixel blocks.

    Same weights and function as ``Conv2D(filters, kernel_size, padding="valid",
    use_bias=False)`` for inputs whose height and width divide by ``block``
    (``kernel_size - 1`` must divide by ``block`` too). The input goes through
    SPACE_TO_DEPTH, a convolution whose kernel is the original one rearranged so
    that each output channel is one (position in the block, filter) pair, and
    DEPTH_TO_SPACE. For few filters at full resolution (the 9x9 output conv has 3)
    this turns a matrix product with a narrow output into a wide one: XNNPACK's
    int8 AMX kernel computes output channels in tiles of 64, so a 3-filter conv
    wasted 61/64 of its work. The rearranged kernel has zeros (real multiply-adds
    grow by ``(taps * block / kernel_size) ** 2``: 1.78x for 9x9 in blocks of 4) but
    every tile is full. The kernel transform is constant-folded by the TFLite
    converter, and the stored ``kernel`` keeps the ordinary shape, so weights move
    between this layer and ``Conv2D`` unchanged.
    """

    def __init__(self, filters: int, kernel_size: int, block: int, **kwargs):
        kwargs.update(padding="valid", use_bias=False)
        kwargs.pop("strides", None)
        super().__init__(filters, kernel_size, **kwargs)
        self.block = int(block)
        if self.kernel_size[0] != self.kernel_size[1] or (self.kernel_size[0] - 1) % self.block:
            raise ValueError(f"kernel_size - 1 must be a multiple of block, got {kernel_size} and {block}")

    def blocked_kernel(self) -> tf.Tensor:
        """The kernel of the convolution on space-to-depth blocks: [T, T, b*b*C_in, b*b*filters]."""
        size, block = self.kernel_size[0], self.block
        taps = (size - 1) // block + 1
        # select[t, p, r, k]: original tap k links input position p of block j + t to output position r of block j.
        select = np.zeros((taps, block, block, size), np.float32)
        for t in range(taps):
            for p in range(block):
                for r in range(block):
                    if 0 <= t * block + p - r < size:
                        select[t, p, r, t * block + p - r] = 1.0
        kernel = tf.einsum("apry,bqsx,yxio->abpqirso", select, select, self.kernel)
        channels_in, filters = self.kernel.shape[2], self.kernel.shape[3]
        return tf.reshape(kernel, [taps, taps, block * block * channels_in, block * block * filters])

    def call(self, x: tf.Tensor) -> tf.Tensor:
        blocks = tf.nn.space_to_depth(x, self.block)
        return tf.nn.depth_to_space(tf.nn.conv2d(blocks, self.blocked_kernel(), 1, "VALID"), self.block)

    def get_config(self) -> dict:
        config = super().get_config()
        for key in ("padding", "use_bias", "strides"):
            config.pop(key, None)
        return {**config, "block": self.block}


@keras.utils.register_keras_serializable(package="cin_style")
class UpsampleConv2D(keras.layers.Conv2D):
    """Nearest x2 upsampling, 1-pixel reflection padding and a 3x3 convolution, at the input's resolution.

    Same weights and function as ``UpSampling2D(2)`` -> ``ReflectionPad(1)`` ->
    ``Conv2D(filters, 3, padding="valid", use_bias=False)``. Each of the four output
    positions of a 2x2 block sees a 2x2 neighbourhood of the small input, so one
    3x3 convolution of the (edge-padded) small input with 4 x filters outputs,
    followed by DEPTH_TO_SPACE, gives the upsampled result: no tensor of the
    upsampled size with the input's channels is ever made (the largest one of the
    network at 1024 px), and the matrix product is 4x wider. Reflection padding
    of the upsampled image by one pixel is edge padding of the small one.
    """

    def __init__(self, filters: int, **kwargs):
        kwargs.update(padding="valid", use_bias=False)
        kwargs.pop("kernel_size", None)
        kwargs.pop("strides", None)
        super().__init__(filters, 3, **kwargs)

    def phase_kernel(self) -> tf.Tensor:
        """[3, 3, C_in, 4*filters]: output channel (row phase, column phase, filter)."""
        # select[d, p, k]: tap k of the upsampled conv at row phase p reads small-input row offset d - 1.
        select = np.zeros((3, 2, 3), np.float32)
        for p in range(2):
            for k in range(3):
                select[(p + k - 1) // 2 + 1, p, k] = 1.0
        kernel = tf.einsum("dpy,eqx,yxio->deipqo", select, select, self.kernel)
        channels_in, filters = self.kernel.shape[2], self.kernel.shape[3]
        return tf.reshape(kernel, [3, 3, channels_in, 4 * filters])

    def call(self, x: tf.Tensor) -> tf.Tensor:
        x = _concat([x[:, :1], x, x[:, -1:]], axis=1)
        x = _concat([x[:, :, :1], x, x[:, :, -1:]], axis=2)
        return tf.nn.depth_to_space(tf.nn.conv2d(x, self.phase_kernel(), 1, "VALID"), 2)

    def get_config(self) -> dict:
        config = super().get_config()
        for key in ("padding", "use_bias", "strides", "kernel_size"):
            config.pop(key, None)
        return config


@keras.utils.register_keras_serializable(package="cin_style")
class PadToMultiple(keras.layers.Layer):
    """Mirror-pads the bottom and right edges so H and W become multiples of ``multiple``.

    Needs H, W >= ``multiple`` (mirror padding cannot exceed the image).

    The two stride-2 convolutions and two x2 upsamplings of the transform network
    return the input size exactly only for multiples of 4; :class:`CropToReference`
    undoes this padding at the output.
    """

    def __init__(self, multiple: int, **kwargs):
        super().__init__(**kwargs)
        self.multiple = int(multiple)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        # Pad by the most that can be needed (constant paddings keep the channel count known to
        # shape inference, which TFLite's CONV_2D needs), then cut to the next multiple.
        size = tf.shape(x)[1:3]
        target = size + (-size) % self.multiple
        most = self.multiple - 1
        padded = tf.pad(x, [[0, 0], [0, most], [0, most], [0, 0]], mode="REFLECT")
        return padded[:, : target[0], : target[1], :]

    def get_config(self) -> dict:
        return {**super().get_config(), "multiple": self.multiple}


@keras.utils.register_keras_serializable(package="cin_style")
class CropToReference(keras.layers.Layer):
    """Crops ``x`` ([B, H', W', C]) to the height and width of ``reference`` (top-left aligned)."""

    def call(self, inputs: Sequence[tf.Tensor]) -> tf.Tensor:
        x, reference = inputs
        size = tf.shape(reference)[1:3]
        return x[:, : size[0], : size[1], :]


CUSTOM_OBJECTS = {
    "ConditionalInstanceNorm": ConditionalInstanceNorm,
    "InstanceMoments": InstanceMoments,
    "ContrastStandardization": ContrastStandardization,
    "ReflectionPad": ReflectionPad,
    "SlicedReflectionPad": SlicedReflectionPad,
    "DepthToSpaceUpsample": DepthToSpaceUpsample,
    "SpaceToDepthConv2D": SpaceToDepthConv2D,
    "UpsampleConv2D": UpsampleConv2D,
    "PadToMultiple": PadToMultiple,
    "CropToReference": CropToReference,
}
