import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from cin_style.model import ops
from cin_style.model.layers import ConditionalInstanceNorm


def _instance_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def _layer(num_styles=3, channels=4, seed=0):
    layer = ConditionalInstanceNorm(num_styles)
    layer.build([(None, None, None, channels), (None, num_styles)])
    rng = np.random.default_rng(seed)
    layer.gamma.assign(rng.normal(1, 0.5, (num_styles, channels)))
    layer.beta.assign(rng.normal(0, 0.5, (num_styles, channels)))
    return layer


def test_one_hot_weights_equal_instance_norm_with_that_style():
    layer = _layer()
    x = np.random.default_rng(1).normal(2, 3, (2, 6, 5, 4)).astype(np.float32)
    weights = np.array([[0, 1, 0], [0, 0, 1]], np.float32)
    out = layer([x, weights]).numpy()
    gamma, beta = layer.gamma.numpy(), layer.beta.numpy()
    for b, style in enumerate([1, 2]):
        expected = _instance_norm(x[b:b + 1], gamma[style], beta[style])
        np.testing.assert_allclose(out[b:b + 1], expected, rtol=1e-4, atol=1e-4)


def test_half_half_blend_equals_averaged_parameters():
    layer = _layer()
    x = np.random.default_rng(2).normal(0, 1, (1, 8, 8, 4)).astype(np.float32)
    out = layer([x, np.array([[0.5, 0.5, 0.0]], np.float32)]).numpy()
    gamma, beta = layer.gamma.numpy(), layer.beta.numpy()
    expected = _instance_norm(x, (gamma[0] + gamma[1]) / 2, (beta[0] + beta[1]) / 2)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_weights_are_normalized_by_their_sum():
    layer = _layer()
    x = np.random.default_rng(3).normal(0, 1, (1, 5, 5, 4)).astype(np.float32)
    a = layer([x, np.array([[1.0, 3.0, 0.0]], np.float32)]).numpy()
    b = layer([x, np.array([[0.25, 0.75, 0.0]], np.float32)]).numpy()
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_constant_per_pixel_weights_equal_global_weights():
    layer = _layer()
    x = np.random.default_rng(4).normal(0, 1, (2, 9, 7, 4)).astype(np.float32)
    weights = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]], np.float32)
    per_pixel = np.broadcast_to(weights[:, None, None, :], (2, 3, 4, 3)).copy()  # other resolution: resized
    np.testing.assert_allclose(layer([x, per_pixel]).numpy(), layer([x, weights]).numpy(), rtol=1e-4, atol=1e-4)


def test_per_pixel_weights_select_style_by_region():
    layer = _layer()
    x = np.random.default_rng(5).normal(0, 1, (1, 8, 8, 4)).astype(np.float32)
    weights = np.zeros((1, 8, 8, 3), np.float32)
    weights[:, :, :4, 0] = 1
    weights[:, :, 4:, 2] = 1
    out = layer([x, weights]).numpy()
    left = layer([x, np.array([[1, 0, 0]], np.float32)]).numpy()
    right = layer([x, np.array([[0, 0, 1]], np.float32)]).numpy()
    np.testing.assert_allclose(out[:, :, :3], left[:, :, :3], atol=1e-4)
    np.testing.assert_allclose(out[:, :, 5:], right[:, :, 5:], atol=1e-4)


def test_layer_serializes_with_get_config():
    layer = ConditionalInstanceNorm(5, epsilon=1e-3, name="cin")
    clone = ConditionalInstanceNorm.from_config(layer.get_config())
    assert (clone.num_styles, clone.epsilon, clone.name) == (5, 1e-3, "cin")
    assert keras.layers.deserialize(keras.layers.serialize(layer)).num_styles == 5


def test_reflection_pad_mirrors_without_repeating_the_edge():
    x = tf.reshape(tf.range(1.0, 4.0), [1, 1, 3, 1])
    padded = ops.reflection_pad(x, 0, 0, 1, 1).numpy().ravel()
    np.testing.assert_array_equal(padded, [2, 1, 2, 3, 2])


@pytest.mark.parametrize("kernel_size,block,filters", [(9, 4, 3), (9, 2, 5), (3, 2, 4)])
def test_space_to_depth_conv_equals_the_plain_conv(kernel_size, block, filters):
    from cin_style.model.layers import SpaceToDepthConv2D

    rng = np.random.default_rng(kernel_size + block)
    x = rng.normal(size=(2, 16 + kernel_size - 1, 24 + kernel_size - 1, 6)).astype(np.float32)
    plain = keras.layers.Conv2D(filters, kernel_size, padding="valid", use_bias=False)
    blocked = SpaceToDepthConv2D(filters, kernel_size, block)
    plain.build(x.shape)
    blocked.build(x.shape)
    blocked.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in plain.get_weights()])
    plain.set_weights(blocked.get_weights())  # same weights, same shapes
    np.testing.assert_allclose(blocked(x).numpy(), plain(x).numpy(), rtol=1e-4, atol=1e-4)
    clone = SpaceToDepthConv2D.from_config(blocked.get_config())
    assert (clone.block, clone.filters, clone.kernel_size) == (block, filters, (kernel_size, kernel_size))
    with pytest.raises(ValueError, match="multiple of block"):
        SpaceToDepthConv2D(3, 9, 3)


def test_upsample_conv_equals_upsampling_padding_and_conv():
    from cin_style.model.layers import ReflectionPad, UpsampleConv2D

    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 5, 7, 6)).astype(np.float32)
    layer = UpsampleConv2D(4)
    out = layer(x).numpy()
    plain = keras.layers.Conv2D(4, 3, padding="valid", use_bias=False)
    plain.build((None, None, None, 6))
    plain.set_weights(layer.get_weights())
    reference = plain(ReflectionPad(1)(keras.layers.UpSampling2D(2)(x))).numpy()
    assert out.shape == (2, 10, 14, 4)
    np.testing.assert_allclose(out, reference, rtol=1e-4, atol=1e-4)
    assert UpsampleConv2D.from_config(layer.get_config()).filters == 4
