"""The pretrained model shipped inside the package works offline with no other file."""

import numpy as np

import cin_style
from cin_style.model_format import bundled_model_path, load_model


def test_bundled_model_lists_the_sixteen_styles():
    styles = cin_style.list_styles()
    assert len(styles) == 16
    assert {"starry_night", "great_wave", "the_scream", "rhinoceros"} <= set(styles)
    model = load_model(bundled_model_path())
    assert model.architecture.alpha == 1.0 and model.architecture.num_residual_blocks == 5
    assert all(s.title and s.artist for s in model.styles)  # the manifest names every painting


def test_bundled_model_stylizes_by_name(photo_path):
    out = cin_style.stylize(photo_path, "great_wave")
    assert out.size == (53, 37)
    plain = np.asarray(out, float)
    other = np.asarray(cin_style.stylize(photo_path, "the_scream"), float)
    assert np.abs(plain - other).mean() > 5  # different styles give different pictures
