import numpy as np
import pytest
from PIL import Image

import cin_style
from cin_style.errors import ImageError, ModelError, StyleError
from cin_style.stylization.tf_backend import Stylizer


def test_every_input_form_gives_the_same_picture(tiny_model_dir, photo_path):
    by_path = cin_style.stylize(photo_path, "beta_style", model=tiny_model_dir)
    pil = Image.open(photo_path)
    array = np.asarray(pil)
    outputs = [
        cin_style.stylize(pil, 1, model=tiny_model_dir),
        cin_style.stylize(array, {"beta_style": 1.0}, model=tiny_model_dir),
        cin_style.stylize(array.astype(np.float32) / 255, [0, 2, 0], model=tiny_model_dir),
        cin_style.stylize(array.astype(np.uint16) * 257, "beta_style=1", model=tiny_model_dir),
    ]
    assert by_path.size == (53, 37) and by_path.mode == "RGB"
    for out in outputs:
        assert out.size == by_path.size
        np.testing.assert_array_equal(np.asarray(out), np.asarray(by_path))


def test_styles_differ_and_blends_lie_between(tiny_model_dir, photo_path):
    a = np.asarray(cin_style.stylize(photo_path, 0, model=tiny_model_dir), float)
    b = np.asarray(cin_style.stylize(photo_path, 1, model=tiny_model_dir), float)
    mid = np.asarray(cin_style.stylize(photo_path, {0: 1, 1: 1}, model=tiny_model_dir), float)
    assert np.abs(a - b).mean() > 5
    assert 0 < np.abs(mid - a).mean() < np.abs(b - a).mean()


def test_grayscale_palette_and_alpha_inputs(tiny_model_dir, photo_path, tmp_path):
    rgb = Image.open(photo_path)
    gray = cin_style.stylize(rgb.convert("L"), 0, model=tiny_model_dir)
    assert gray.mode == "RGB" and gray.size == rgb.size
    palette = rgb.convert("P", palette=Image.ADAPTIVE)
    assert cin_style.stylize(palette, 0, model=tiny_model_dir).size == rgb.size
    rgba = rgb.convert("RGBA")
    alpha = np.tile(np.linspace(0, 255, rgb.width).astype(np.uint8), (rgb.height, 1))
    rgba.putalpha(Image.fromarray(alpha))
    out = cin_style.stylize(rgba, 0, model=tiny_model_dir)
    assert out.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(out)[..., 3], alpha)


def test_exif_orientation_is_applied(tiny_model_dir, photo_path, tmp_path):
    image = Image.open(photo_path)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif)
    out = cin_style.stylize(path, 0, model=tiny_model_dir)
    assert out.size == (image.height, image.width)


def test_tiny_and_thin_images(tiny_model_dir):
    for shape in [(1, 1, 3), (1, 300, 3), (3, 2)]:
        out = cin_style.stylize(np.full(shape, 128, np.uint8), 0, model=tiny_model_dir)
        assert out.size == (shape[1], shape[0])


def test_stylizer_does_not_retrace_for_new_sizes(tiny_model_dir):
    stylizer = Stylizer(tiny_model_dir)
    rng = np.random.default_rng(0)
    for height, width in [(20, 30), (33, 17), (64, 64), (21, 99)]:
        stylizer.stylize(rng.random((height, width, 3), np.float32), "gamma_style")
    assert stylizer.trace_count == 1


def test_errors(tiny_model_dir, tmp_path):
    with pytest.raises(StyleError, match="did you mean 'alpha_style'"):
        cin_style.stylize(np.zeros((8, 8, 3), np.uint8), "alpha_styl", model=tiny_model_dir)
    with pytest.raises(ImageError, match="no such file"):
        cin_style.stylize(tmp_path / "missing.jpg", 0, model=tiny_model_dir)
    with pytest.raises(ImageError, match="float images must have values in"):
        cin_style.stylize(np.full((8, 8, 3), 2.0), 0, model=tiny_model_dir)
    with pytest.raises(ModelError, match="no such model directory"):
        cin_style.stylize(np.zeros((8, 8, 3), np.uint8), 0, model=tmp_path / "nomodel")


def test_list_styles(tiny_model_dir):
    assert cin_style.list_styles(tiny_model_dir) == ["alpha_style", "beta_style", "gamma_style"]
    # every form stylize() takes as its model: a loaded model and a Stylizer too
    model = cin_style.load_model(tiny_model_dir)
    assert cin_style.list_styles(model) == cin_style.list_styles(cin_style.Stylizer(model)) == model.style_names


def test_public_api_is_explicit():
    assert {"stylize", "Stylizer", "list_styles", "load_model", "optimize", "ImageError", "StyleError",
            "ModelError"} <= set(cin_style.__all__)
    assert callable(cin_style.optimize)
    assert "Returns" in cin_style.stylize.__doc__
