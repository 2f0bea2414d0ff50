"""Any picture as a style: the fit, its cache, the API and the command line (tiny network, few steps)."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import cin_style
from cin_style.errors import StyleError
from cin_style.train import style_fit
from cin_style.train.losses import LossConfig, PerceptualLoss
from cin_style.train.style_fit import FitSettings, fit_style, with_style_picture
from tiny_models import make_tiny_model

FAST = FitSettings(steps=4, batch_size=2, crop_size=32, photo_short_side=48, learning_rate=0.05, precision="float32",
                   style_image_size=None)
SMALL_LOSS = LossConfig(content_layer="conv2_2", style_layers=("conv1_2", "conv2_2"), style_image_size=64)


@pytest.fixture(scope="module")
def model():
    tiny = make_tiny_model()
    tiny.training_config = {"loss": SMALL_LOSS.to_dict()}
    return tiny


@pytest.fixture(scope="module")
def picture(tmp_path_factory):
    y, x = np.mgrid[0:96, 0:128]
    stripes = np.stack([(np.sin(x / 3) > 0) * 0.9, (np.sin(y / 5) > 0) * 0.5, np.full(x.shape, 0.2)], axis=2)
    path = tmp_path_factory.mktemp("pictures") / "my_stripes.png"
    Image.fromarray((stripes * 255).astype(np.uint8)).save(path)
    return str(path)


def _fit_objective(model, index, picture):
    """The loss the fit minimizes (the model's, at the fit's content weight) on fixed crops."""
    loss = PerceptualLoss(SMALL_LOSS).reweighted(content_weight=FAST.content_weight)
    targets = loss.style_targets(style_fit._style_pixels(picture, SMALL_LOSS.style_image_size)[None])
    crops = style_fit._content_crops(style_fit.find_images(style_fit.CALIBRATION_PHOTOS), FAST)[:4]
    outputs = model.network([tf.constant(crops), tf.one_hot([index] * 4, model.num_styles)])
    total, _ = loss(outputs, loss.content_features(crops), {k: tf.repeat(v, 4, 0) for k, v in targets.items()})
    return float(total)


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
def test_a_picture_becomes_one_more_style_and_nothing_else_changes(model, picture, precision):
    fitted = fit_style(model, picture, "my_stripes", settings=dataclasses.replace(FAST, precision=precision))
    assert fitted.style_names == [*model.style_names, "my_stripes"]
    before, after = model.weights_dict(), fitted.weights_dict()
    for key, value in before.items():
        if key.endswith(("/gamma", "/beta")):
            np.testing.assert_array_equal(after[key][:-1], value)  # the model's own styles, bit for bit
        else:
            np.testing.assert_array_equal(after[key], value)  # the shared convolutions
    start = model.style_names.index(fitted.training_config["fitted_style"]["started_from"])
    # the new style starts as the nearest built-in one and the fit lowers its loss
    assert _fit_objective(fitted, fitted.num_styles - 1, picture) < _fit_objective(model, start, picture)


def test_a_fit_can_start_from_the_mean_of_the_built_in_styles(model, picture):
    settings = dataclasses.replace(FAST, steps=1, learning_rate=1e-9, start="mean")
    fitted = fit_style(model, picture, "from_mean", settings=settings)
    assert fitted.training_config["fitted_style"]["started_from"] == "mean"
    for key, value in model.weights_dict().items():
        if key.endswith(("/gamma", "/beta")):  # one vanishing step: the new row is still the mean row
            np.testing.assert_allclose(fitted.weights_dict()[key][-1], value.mean(axis=0), atol=1e-5)
    with pytest.raises(ValueError, match="start must be"):
        FitSettings(start="median")
    with pytest.raises(ValueError, match="style_image_size must be"):
        FitSettings(style_image_size=8)
    with pytest.raises(ValueError, match="style_image_size must be"):
        FitSettings(style_image_size=(96, 4096))


def test_the_picture_scale_changes_the_style_learnt(model, picture):
    own = fit_style(model, picture, "own_scale", settings=FAST)
    small = fit_style(model, picture, "small_scale", settings=dataclasses.replace(FAST, style_image_size=96))
    assert small.training_config["fitted_style"]["style_image_size"] == 96
    rows = [key for key in own.weights_dict() if key.endswith("/gamma")]
    assert any(not np.allclose(own.weights_dict()[k][-1], small.weights_dict()[k][-1]) for k in rows)


def test_a_picture_seen_at_several_sizes_is_fitted_to_the_mean_of_their_targets(model, picture):
    loss = PerceptualLoss(SMALL_LOSS)
    each = [style_fit._style_targets(loss, picture, size) for size in (64, 128)]
    both = style_fit._style_targets(loss, picture, (64, 128))
    for key, value in both.items():
        np.testing.assert_allclose(value.numpy(), (each[0][key].numpy() + each[1][key].numpy()) / 2, rtol=1e-5)
    assert not np.allclose(each[0]["conv1_2"].numpy(), each[1]["conv1_2"].numpy())  # the sizes do differ
    fitted = fit_style(model, picture, "two_scales", settings=dataclasses.replace(FAST, style_image_size=(64, 128)))
    assert fitted.training_config["fitted_style"]["style_image_size"] == (64, 128)


def test_unusable_pictures_and_names_are_refused(model, picture, tmp_path):
    Image.new("RGB", (32, 40), (10, 200, 30)).save(tmp_path / "tiny.png")
    Image.new("RGB", (200, 200), (10, 200, 30)).save(tmp_path / "flat.png")
    with pytest.raises(StyleError, match="needs at least 64 px"):
        fit_style(model, str(tmp_path / "tiny.png"), "tiny", settings=FAST)
    with pytest.raises(StyleError, match="one flat colour"):
        fit_style(model, str(tmp_path / "flat.png"), "flat", settings=FAST)
    with pytest.raises(StyleError, match="already in the model"):
        fit_style(model, picture, model.style_names[0], settings=FAST)


def test_a_fitted_picture_is_cached_once_per_model(model, picture, tmp_path, monkeypatch):
    cache = str(tmp_path / "cache")
    first, name = with_style_picture(model, picture, settings=FAST, cache=cache)
    assert name == "my_stripes"

    def no_fit(*args, **kwargs):
        raise AssertionError("fitted again although cached")

    monkeypatch.setattr(style_fit, "fit_style", no_fit)
    again, _ = with_style_picture(model, picture, settings=FAST, cache=cache)
    for key, value in first.weights_dict().items():
        np.testing.assert_allclose(again.weights_dict()[key], value, rtol=0, atol=0)
    other = make_tiny_model(seed=5)  # other shared weights: its own fit, not the cached one
    with pytest.raises(AssertionError, match="fitted again"):
        with_style_picture(other, picture, settings=FAST, cache=cache)
    monkeypatch.undo()
    (entry,) = (tmp_path / "cache").iterdir()
    entry.write_bytes(b"damaged")  # a damaged entry is fitted again and replaced
    repaired, _ = with_style_picture(model, picture, settings=FAST, cache=cache)
    assert repaired.num_styles == model.num_styles + 1 and entry.stat().st_size > 100


def test_stylize_and_the_command_line_take_a_style_picture(model, picture, photo_path, tmp_path, monkeypatch):
    from cin_style.cli.main import main

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(style_fit.with_style_picture, "__kwdefaults__",  # the default fit takes a minute
                        {**style_fit.with_style_picture.__kwdefaults__, "settings": FAST})
    folder = str(tmp_path / "model")
    model.save(folder)
    out = cin_style.stylize(photo_path, style_image=picture, model=folder)
    assert out.size == Image.open(photo_path).size
    blend = cin_style.stylize(photo_path, f"{model.style_names[0]}=0.5,my_stripes=0.5", style_image=picture,
                              model=folder)
    assert np.abs(np.asarray(blend, np.float32) - np.asarray(out, np.float32)).mean() > 0.5
    assert len(list((tmp_path / "xdg" / "cin-style" / "styles").iterdir())) == 1  # fitted once, then cached
    assert main(["stylize", photo_path, "--style-image", picture, "--model", folder, "-o",
                 str(tmp_path / "cli.png")]) == 0
    assert Image.open(tmp_path / "cli.png").size == out.size
    assert main(["stylize", photo_path, "--style-image", picture, "--backend", "tflite", "-o",
                 str(tmp_path / "x.png")]) == 2
    assert main(["stylize", photo_path, "-o", str(tmp_path / "y.png")]) == 2
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "y.png").exists()
