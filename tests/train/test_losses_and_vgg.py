import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from cin_style.errors import ModelError
from cin_style.train.losses import (LossConfig, PerceptualLoss, content_loss, gram_matrix, laplacian_loss,
                                   style_loss, total_variation_loss)
from cin_style.train.vgg import LossNetwork, layer_names


def test_gram_matrix_of_a_known_tensor():
    # H=1, W=2, C=2: pixels (1, 2) and (3, 4).
    features = tf.constant([[[[1.0, 2.0], [3.0, 4.0]]]])
    expected = np.array([[1 + 9, 2 + 12], [2 + 12, 4 + 16]]) / (1 * 2 * 2)
    np.testing.assert_allclose(gram_matrix(features).numpy()[0], expected)


def test_simple_losses():
    a, b = tf.zeros([2, 4, 4, 3]), tf.ones([2, 4, 4, 3])
    np.testing.assert_allclose(content_loss(a, b).numpy(), [1.0, 1.0])  # relative: |0 - 1|^2 / |1|^2
    np.testing.assert_allclose(content_loss(3 * b, b).numpy(), [4.0, 4.0])
    np.testing.assert_allclose(style_loss(tf.ones([1, 2, 2]), 2 * tf.ones([1, 2, 2])).numpy(), [0.25])
    stripes = tf.tile(tf.constant([0.0, 1.0])[None, None, :, None], [1, 3, 2, 1])
    np.testing.assert_allclose(total_variation_loss(stripes).numpy(), [1.0])  # only horizontal changes
    assert total_variation_loss(tf.ones([1, 5, 5, 3])).numpy()[0] == 0


def test_bundled_vgg16_gives_finite_nontrivial_features():
    network = LossNetwork(["conv1_2", "conv3_3", "conv4_3"])
    rng = np.random.default_rng(0)
    features = network(rng.random((1, 32, 32, 3), np.float32))
    assert set(features) == {"conv1_2", "conv3_3", "conv4_3"}
    assert features["conv4_3"].shape == (1, 4, 4, 512)
    for value in features.values():
        value = value.numpy()
        assert np.all(np.isfinite(value)) and value.std() > 0.1
    # Pretrained filters respond to structure: on a flat image conv1_2 is spatially constant
    # away from the borders, on noise it varies strongly.
    flat = network(np.full((1, 32, 32, 3), 0.5, np.float32))["conv1_2"].numpy()[:, 3:-3, 3:-3]
    noisy = features["conv1_2"].numpy()[:, 3:-3, 3:-3]
    assert flat.std(axis=(1, 2)).mean() < 1e-3 < noisy.std(axis=(1, 2)).mean()


def test_loss_network_choices_are_checked():
    assert layer_names("vgg19")[-1] == "conv5_4"
    with pytest.raises(ValueError, match="unknown vgg16 layers"):
        LossNetwork(["conv5_4"])
    with pytest.raises(ValueError, match="unknown loss network"):
        LossNetwork(["conv1_1"], arch="resnet")
    with pytest.raises(ModelError, match="VGG16 only"):
        LossNetwork(["conv1_1"], arch="vgg19", weights="bundled")
    with pytest.raises(ModelError, match="no such file"):
        LossNetwork(["conv1_1"], weights="/nonexistent/vgg.h5")


def test_perceptual_loss_returns_total_and_named_terms():
    config = LossConfig(style_layers=("conv1_2", "conv2_2"), content_layer="conv2_2", tv_weight=0.5,
                        moment_weight=0.0)
    loss = PerceptualLoss(config)
    rng = np.random.default_rng(1)
    content = rng.random((2, 24, 24, 3), np.float32)
    style = rng.random((1, 24, 24, 3), np.float32)
    grams = {k: tf.repeat(v, 2, axis=0) for k, v in loss.style_targets(style).items()}
    total, terms = loss(content, loss.content_features(content), grams)
    assert set(terms) == {"content", "style/conv1_2", "style/conv2_2", "style", "tv"}
    assert terms["content"].numpy() == pytest.approx(0.0, abs=1e-6)  # output == content
    np.testing.assert_allclose(total.numpy(), terms["content"] + terms["style"] + terms["tv"], rtol=1e-6)
    assert terms["style"].numpy() > 0
    # the style image itself matches its own Gram targets
    _, self_terms = loss(style, loss.content_features(style), loss.style_targets(style))
    assert self_terms["style"].numpy() == pytest.approx(0.0, abs=1e-3)


def test_moment_terms_grow_as_the_contrast_fades():
    config = LossConfig(style_layers=("conv1_2",), content_layer="conv1_2", tv_weight=0.0, moment_weight=1.0)
    loss = PerceptualLoss(config)
    rng = np.random.default_rng(2)
    style = rng.random((1, 32, 32, 3)).astype(np.float32)
    targets = loss.style_targets(style)
    assert targets["conv1_2/mean"].shape == (1, 64) and targets["conv1_2/std"].shape == (1, 64)
    moments = []
    for contrast in (1.0, 0.7, 0.4):  # the same picture with less and less contrast
        faded = (0.5 + contrast * (style - 0.5)).astype(np.float32)
        _, faint = loss(faded, loss.content_features(faded), targets)
        moments.append(float(faint["moments/conv1_2"]))
    assert moments[0] == pytest.approx(0.0, abs=1e-4)
    assert 0 < moments[1] < moments[2]
    assert set(faint) == {"content", "style/conv1_2", "moments/conv1_2", "style", "tv"}
    np.testing.assert_allclose(faint["style"].numpy(), (faint["style/conv1_2"] + faint["moments/conv1_2"]).numpy(),
                               rtol=1e-6)
    # without the weight there are no moment targets or terms
    plain = PerceptualLoss(dataclasses.replace(config, moment_weight=0.0), network=loss.network)
    assert set(plain.style_targets(style)) == {"conv1_2"}


def _face_like(size=64):
    """A grey disc with two dark eyes on a light ground: coarse structure."""
    y, x = np.mgrid[:size, :size] / size
    image = np.full((size, size), 0.9, np.float32)
    image[(y - 0.5) ** 2 + (x - 0.5) ** 2 < 0.1] = 0.5
    for eye_x in (0.38, 0.62):
        image[(y - 0.42) ** 2 + (x - eye_x) ** 2 < 0.004] = 0.1
    return np.repeat(image[None, :, :, None], 3, axis=3)


def test_laplacian_term_keeps_coarse_structure_and_leaves_fine_strokes_free():
    photo = tf.constant(_face_like())
    pools = (4, 8)
    assert laplacian_loss(photo, photo, pools).numpy()[0] == pytest.approx(0.0, abs=1e-6)
    # A fine 2-pixel checker (brushwork) over the photo averages out at 4x4 pooling and costs nothing;
    # at full resolution the same strokes dominate.
    checker = (np.indices((64, 64)).sum(0) % 2 * 0.2 - 0.1).astype(np.float32)[None, :, :, None]
    stroked = photo + checker
    assert laplacian_loss(stroked, photo, pools).numpy()[0] < 1e-3
    assert laplacian_loss(stroked, photo, (1,)).numpy()[0] > 1.0
    # Losing the eyes, or recolouring at the same luminance, is seen / not seen.
    no_eyes = tf.constant(np.where(_face_like() < 0.2, 0.5, _face_like()))
    assert laplacian_loss(no_eyes, photo, pools).numpy()[0] > 0.1
    tinted = _face_like().copy()
    tinted[..., 0] += 0.05 / 0.299 * 0.114  # more red, less blue, the same luminance
    tinted[..., 2] -= 0.05
    assert laplacian_loss(tf.constant(tinted), photo, pools).numpy()[0] == pytest.approx(0.0, abs=1e-4)


def test_perceptual_loss_adds_the_laplacian_term_when_weighted():
    config = LossConfig(style_layers=("conv1_2",), content_layer="conv1_2", moment_weight=0.0,
                        laplacian_weight=2.0, laplacian_pools=(4,))
    loss = PerceptualLoss(config)
    photo = _face_like(32)
    output = np.clip(photo + np.random.default_rng(3).normal(0, 0.2, photo.shape), 0, 1).astype(np.float32)
    targets = loss.style_targets(photo)
    total, terms = loss(output, loss.content_features(photo), targets, content_images=photo)
    expected = 2.0 * laplacian_loss(tf.constant(output), tf.constant(photo), (4,)).numpy()[0]
    assert terms["laplacian"].numpy() == pytest.approx(expected, rel=1e-5) and expected > 0
    np.testing.assert_allclose(total.numpy(), (terms["content"] + terms["style"] + terms["tv"]
                                               + terms["laplacian"]).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="needs content_images"):
        loss(output, loss.content_features(photo), targets)
    with pytest.raises(ValueError, match="laplacian_pools"):
        LossConfig(laplacian_pools=(0,))
    # settings recorded before the term existed read as "without it"
    legacy = {k: v for k, v in LossConfig().to_dict().items() if not k.startswith("laplacian")}
    assert LossConfig.from_dict(legacy).laplacian_weight == 0.0


def test_loss_config_round_trips_and_validates():
    config = LossConfig(style_layer_weights=(1, 2, 3, 4))
    assert LossConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="style_layer_weights"):
        LossConfig(style_layer_weights=(1, 2))
