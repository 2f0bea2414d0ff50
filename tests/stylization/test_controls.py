"""Colour preservation, strength and region masks."""

import numpy as np
import pytest

import cin_style
from cin_style.stylization.controls import _RGB_TO_YCC
from cin_style.errors import StyleError


@pytest.fixture
def photo():
    rng = np.random.default_rng(0)
    small = rng.random((4, 5, 3)).astype(np.float32)
    from PIL import Image

    return np.asarray(Image.fromarray((small * 255).astype(np.uint8)).resize((40, 32), Image.BICUBIC))


def _chroma(rgb8):
    return (np.asarray(rgb8, np.float32) / 255) @ _RGB_TO_YCC.T[:, 1:]


def test_preserve_color_keeps_the_chroma_of_the_input(tiny_model_dir, photo):
    plain = cin_style.stylize(photo, "beta_style", model=tiny_model_dir)
    kept = cin_style.stylize(photo, "beta_style", model=tiny_model_dir, preserve_color=True)
    error_kept = np.abs(_chroma(kept) - _chroma(photo)).mean()
    error_plain = np.abs(_chroma(plain) - _chroma(photo)).mean()
    assert error_kept < 0.02 < error_plain  # (clipping at 0 and 1 leaves a little)
    luma = lambda rgb8: (np.asarray(rgb8, np.float32) / 255) @ _RGB_TO_YCC[0]  # noqa: E731
    assert np.abs(luma(kept) - luma(plain)).mean() < 0.02  # the strokes (luma) are the stylized ones


def test_strength_zero_is_the_photo_and_one_the_plain_output(tiny_model_dir, photo):
    zero = cin_style.stylize(photo, 0, model=tiny_model_dir, strength=0.0)
    np.testing.assert_array_equal(np.asarray(zero), photo)
    full = cin_style.stylize(photo, 0, model=tiny_model_dir, strength=1.0)
    np.testing.assert_array_equal(np.asarray(full), np.asarray(cin_style.stylize(photo, 0, model=tiny_model_dir)))
    half = np.asarray(cin_style.stylize(photo, 0, model=tiny_model_dir, strength=0.5), float)
    assert np.abs(half - (photo + np.asarray(full, float)) / 2).max() <= 1.0
    with pytest.raises(StyleError, match="strength"):
        cin_style.stylize(photo, 0, model=tiny_model_dir, strength=1.5)


def test_a_mask_of_one_label_equals_that_style(tiny_model_dir, photo):
    everywhere = np.ones(photo.shape[:2], np.float32)
    masked = cin_style.stylize(photo, model=tiny_model_dir, regions=[(everywhere, "gamma_style")])
    plain = cin_style.stylize(photo, "gamma_style", model=tiny_model_dir)
    assert np.abs(np.asarray(masked, float) - np.asarray(plain, float)).max() <= 1.0


def test_two_regions_give_each_style_away_from_the_edge(tiny_model_dir, photo):
    left = np.zeros(photo.shape[:2], np.float32)
    left[:, :20] = 1
    out = np.asarray(cin_style.stylize(photo, model=tiny_model_dir, feather_px=1,
                                       regions=[(left, "alpha_style"), (1 - left, "gamma_style")]), float)
    a = np.asarray(cin_style.stylize(photo, "alpha_style", model=tiny_model_dir), float)
    c = np.asarray(cin_style.stylize(photo, "gamma_style", model=tiny_model_dir), float)
    assert np.abs(out[:, :8] - a[:, :8]).mean() < np.abs(out[:, :8] - c[:, :8]).mean()
    assert np.abs(out[:, -8:] - c[:, -8:]).mean() < np.abs(out[:, -8:] - a[:, -8:]).mean()


def test_mask_errors(tiny_model_dir, photo):
    with pytest.raises(StyleError, match="does not match the image"):
        cin_style.stylize(photo, model=tiny_model_dir, regions=[(np.ones((5, 5), np.float32), 0)])
    with pytest.raises(StyleError, match="covered by no mask"):
        cin_style.stylize(photo, model=tiny_model_dir, regions=[(np.zeros(photo.shape[:2], np.float32), 0)],
                          feather_px=0)
    with pytest.raises(StyleError, match="give a style"):
        cin_style.stylize(photo, model=tiny_model_dir)


def test_tiled_equals_untiled_with_shared_statistics(tiny_model):
    from cin_style.stylization.tf_backend import Stylizer

    done = []
    stylizer = Stylizer(tiny_model, tile_size=32, tile_margin=32, progress=lambda d, t: done.append((d, t)))
    rng = np.random.default_rng(5)
    from PIL import Image

    image = np.asarray(Image.fromarray((rng.random((6, 7, 3)) * 255).astype(np.uint8)).resize(
        (101, 90), Image.BICUBIC), np.float32) / 255
    for weights in (np.array([0.3, 0.0, 0.7], np.float32),
                    np.dstack([np.linspace(0, 1, 101)[None].repeat(90, 0), np.zeros((90, 101)),
                               np.linspace(1, 0, 101)[None].repeat(90, 0)]).astype(np.float32)):
        whole = stylizer.stylize_array(image, weights, tiled=False)
        tiled = stylizer.stylize_array(image, weights, tiled=True)
        assert np.abs(whole - tiled).mean() <= 1 / 255
        assert np.abs(whole - tiled).max() <= 2 / 255
    assert done[-1] == (12, 12)  # 3 x 4 tiles of 32 px


def test_tiles_without_shared_statistics_would_show_seams(tiny_model):
    """The reason for shared statistics: per-tile instance norm changes the picture."""
    from cin_style.stylization.tf_backend import Stylizer

    stylizer = Stylizer(tiny_model)
    rng = np.random.default_rng(6)
    image = rng.random((64, 64, 3)).astype(np.float32)
    image[:, 32:] *= 0.3  # a darker right half has other statistics
    weights = np.array([1, 0, 0], np.float32)
    whole = stylizer.stylize_array(image, weights, tiled=False)
    right_alone = stylizer.stylize_array(image[:, 32:], weights, tiled=False)
    assert np.abs(whole[:, 48:] - right_alone[:, 16:]).mean() > 4 / 255


def test_style_scale_keeps_the_size_and_enlarges_strokes(tiny_model_dir, photo):
    plain = np.asarray(cin_style.stylize(photo, 1, model=tiny_model_dir), float)
    scaled = np.asarray(cin_style.stylize(photo, 1, model=tiny_model_dir, style_scale=2.0), float)
    assert scaled.shape == plain.shape
    # larger strokes: fewer fine details, so less energy between neighbouring pixels
    detail = lambda a: np.abs(np.diff(a, axis=1)).mean()  # noqa: E731
    assert detail(scaled) < detail(plain)
    with pytest.raises(StyleError, match="style_scale"):
        cin_style.stylize(photo, 1, model=tiny_model_dir, style_scale=100)
    with pytest.raises(StyleError, match="'auto' or a number"):
        cin_style.stylize(photo, 1, model=tiny_model_dir, style_scale="huge")


def test_auto_style_scale_leaves_small_images_alone_and_shrinks_large_ones(tiny_model_dir, photo, monkeypatch):
    from cin_style.stylization import controls

    assert controls.resolve_style_scale("auto", 1000, 1000) == 1.0
    assert controls.resolve_style_scale("auto", 4096, 2048) == pytest.approx(2 * 2 ** 0.5)
    assert controls.resolve_style_scale("1.5", 10, 10) == 1.5
    default = np.asarray(cin_style.stylize(photo, 1, model=tiny_model_dir))
    full = np.asarray(cin_style.stylize(photo, 1, model=tiny_model_dir, style_scale=1))
    np.testing.assert_array_equal(default, full)  # 40x32 is far below 1 MP
    # pretend 1 MP is 20x16 pixels: the 40x32 photo is then "large" and stylized at half its side
    monkeypatch.setattr(controls, "AUTO_STYLE_SCALE_PIXELS", 20 * 16)
    auto = np.asarray(cin_style.stylize(photo, 1, model=tiny_model_dir), float)
    halved = np.asarray(cin_style.stylize(photo, 1, model=tiny_model_dir, style_scale=2), float)
    np.testing.assert_array_equal(auto, halved)
    assert np.abs(auto - np.asarray(full, float)).mean() > 1


def test_border_margin_mirrors_the_image_and_crops_back():
    from cin_style.stylization.controls import with_border_margin

    seen = []

    def record(rgb, weights):
        seen.append((rgb, weights))
        return rgb * 0.5

    rgb = np.random.default_rng(0).random((20, 30, 3), np.float32)
    regions = np.random.default_rng(1).random((20, 30, 2), np.float32)
    out = with_border_margin(record, rgb, regions, margin=8)
    padded, weights = seen[-1]
    assert padded.shape == (36, 46, 3) and weights.shape == (36, 46, 2)
    np.testing.assert_array_equal(padded[7, 8:-8], rgb[1])  # mirrored, not repeated: row -1 is row 1
    np.testing.assert_array_equal(weights[:8, 8:-8], np.broadcast_to(regions[0], (8, 30, 2)))
    np.testing.assert_allclose(out, rgb * 0.5)
    tiny = np.random.default_rng(2).random((4, 5, 3), np.float32)
    np.testing.assert_allclose(with_border_margin(record, tiny, np.ones(2, np.float32), margin=8), tiny * 0.5)
    assert seen[-1][0].shape == (10, 13, 3)  # the margin shrinks to side - 1 on small images
