"""Keras (tf_keras) layers of the transform network.

``tf_keras`` (Keras 2) is used rather than Keras 3 because
tensorflow-model-optimization (quantization-aware training) only wraps
tf_keras layers.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

from cin_style import ops

__all__ = ["ConditionalInstanceNorm", "InstanceMoments", "ReflectionPad", "SlicedReflectionPad", "DepthToSpaceUpsample", "PadToMultiple", "CropToReference",
           "CUSTOM_OBJECTS"]


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
    delegate accepts in int8 (see :func:`cin_style.ops.conditional_instance_norm`).
    """

    def __init__(self, num_styles: int, epsilon: float = 1e-5, centered: bool = False, **kwargs):
        super().__init__(**kwargs)
        if int(num_styles) < 1:
            raise ValueError(f"num_styles must be >= 1, got {num_styles}")
        self.num_styles = int(num_styles)
        self.epsilon = float(epsilon)
        self.centered = bool(centered)

    def build(self, input_shape):
        feature_shape = input_shape[0]
        channels = int(feature_shape[-1])
        self.gamma = self.add_weight(
            name="gamma", shape=(self.num_styles, channels), initializer="ones", trainable=True)
        self.beta = self.add_weight(
            name="beta", shape=(self.num_styles, channels), initializer="zeros", trainable=True)
        self.built = True

    def call(self, inputs):
        features, style_weights, *moments = inputs
        return ops.conditional_instance_norm(features, style_weights, self.gamma, self.beta, self.epsilon,
                                             centered=self.centered, moments=moments or None)

    def get_config(self):
        return {**super().get_config(), "num_styles": self.num_styles, "epsilon": self.epsilon,
                "centered": self.centered}


@keras.utils.register_keras_serializable(package="cin_style")
class InstanceMoments(keras.layers.Layer):
    """Per-example, per-channel (mean, variance) of [B, H, W, C] features, each [B, 1, 1, C] float32."""

    def call(self, x):
        return list(ops.instance_moments(x))


@keras.utils.register_keras_serializable(package="cin_style")
class ReflectionPad(keras.layers.Layer):
    """Mirror padding of ``padding`` pixels on every spatial side ([B, H, W, C])."""

    def __init__(self, padding: int, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, x):
        p = self.padding
        return ops.reflection_pad(x, p, p, p, p)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


@keras.utils.register_keras_serializable(package="cin_style")
class SlicedReflectionPad(ReflectionPad):
    """The same mirror padding built from slices and one concatenation per axis.

    TFLite's MIRROR_PAD is not taken by the XNNPACK delegate and splits the graph
    around every convolution; STRIDED_SLICE and CONCATENATION (of up to 5 inputs)
    are taken. Used by the export network; numerically identical to
    :class:`ReflectionPad`. Supports padding up to 5.
    """

    def call(self, x):
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
    while it does not take RESIZE_NEAREST_NEIGHBOR. Used by the export network.
    """

    def call(self, x):
        return tf.nn.depth_to_space(tf.concat([x, x, x, x], axis=-1), 2)


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

    def call(self, x):
        # Pad by the most that can be needed (constant paddings keep the channel count known to
        # shape inference, which TFLite's CONV_2D needs), then cut to the next multiple.
        size = tf.shape(x)[1:3]
        target = size + (-size) % self.multiple
        most = self.multiple - 1
        padded = tf.pad(x, [[0, 0], [0, most], [0, most], [0, 0]], mode="REFLECT")
        return padded[:, : target[0], : target[1], :]

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


@keras.utils.register_keras_serializable(package="cin_style")
class CropToReference(keras.layers.Layer):
    """Crops ``x`` ([B, H', W', C]) to the height and width of ``reference`` (top-left aligned)."""

    def call(self, inputs):
        x, reference = inputs
        size = tf.shape(reference)[1:3]
        return x[:, : size[0], : size[1], :]


CUSTOM_OBJECTS = {
    "ConditionalInstanceNorm": ConditionalInstanceNorm,
    "InstanceMoments": InstanceMoments,
    "ReflectionPad": ReflectionPad,
    "SlicedReflectionPad": SlicedReflectionPad,
    "DepthToSpaceUpsample": DepthToSpaceUpsample,
    "PadToMultiple": PadToMultiple,
    "CropToReference": CropToReference,
}
