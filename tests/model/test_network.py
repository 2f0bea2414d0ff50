import numpy as np
import pytest

from cin_style.model.network import Architecture, build_transform_network, scaled_width


@pytest.mark.parametrize("height,width", [(5, 5), (7, 9), (16, 16), (33, 18), (31, 64)])
def test_output_has_the_input_size_and_range(height, width):
    network = build_transform_network(Architecture(2, alpha=0.25, num_residual_blocks=1))
    image = np.random.default_rng(0).random((1, height, width, 3), np.float32)
    out = network([image, np.array([[1, 0]], np.float32)]).numpy()
    assert out.shape == (1, height, width, 3)
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_full_network_matches_the_architecture_table():
    network = build_transform_network(Architecture(16))
    conv_params = sum(int(np.prod(w.shape)) for w in network.weights if "_conv/" in w.name)
    assert conv_params == 1_674_432  # DESIGN.md: about 1.67M conv weights
    norms = [w for w in network.weights if w.name.endswith("gamma:0")]
    assert len(norms) == 16  # in, 2 down, 10 residual, 2 up, out
    assert all(w.shape[0] == 16 for w in norms)
    assert network.get_layer("out_norm").gamma.shape == (16, 3)


def test_alpha_scales_every_hidden_width():
    assert [scaled_width(c, 0.5) for c in (32, 64, 128)] == [16, 32, 64]
    network = build_transform_network(Architecture(1, alpha=0.5, num_residual_blocks=3))
    assert network.get_layer("down2_conv").kernel.shape[-1] == 64
    assert network.get_layer("out_conv").kernel.shape[-1] == 3
    assert not any(layer.name.startswith("res4") for layer in network.layers)


def test_spatial_variant_shares_the_weight_layout():
    arch = Architecture(3, alpha=0.125, num_residual_blocks=1)
    plain, spatial = build_transform_network(arch), build_transform_network(arch, spatial_style_weights=True)
    spatial.set_weights(plain.get_weights())
    image = np.random.default_rng(1).random((1, 12, 12, 3), np.float32)
    weights = np.array([[0.0, 1.0, 0.0]], np.float32)
    np.testing.assert_allclose(
        spatial([image, np.broadcast_to(weights[:, None, None], (1, 12, 12, 3))]).numpy(),
        plain([image, weights]).numpy(), atol=1e-5)


@pytest.mark.parametrize("kwargs", [dict(num_styles=0), dict(num_styles=2, alpha=0),
                                    dict(num_styles=2, num_residual_blocks=-1)])
def test_bad_architecture_is_refused(kwargs):
    with pytest.raises(ValueError):
        Architecture(**kwargs)
