import math

import numpy as np
import pytest

from cin_style.errors import StyleError
from cin_style.model.styles import style_weights

NAMES = ["starry_night", "great_wave", "the_scream"]


@pytest.mark.parametrize("style,expected", [
    (1, [0, 1, 0]),
    ("the_scream", [0, 0, 1]),
    ("2", [0, 0, 1]),
    ({"starry_night": 3, 1: 1}, [0.75, 0.25, 0]),
    ("starry_night=0.7,great_wave=0.3", [0.7, 0.3, 0]),
    ([1, 1, 2], [0.25, 0.25, 0.5]),
    (np.array([0, 0, 5.0]), [0, 0, 1]),
    ([1e308, 1e308, 0], [0.5, 0.5, 0]),  # their sum overflows a float; the blend does not
    ("starry_night=1e308,the_scream=1e308", [0.5, 0, 0.5]),
    ([5e-324, 0, 0], [1, 0, 0]),
])
def test_accepted_forms(style, expected):
    np.testing.assert_allclose(style_weights(style, NAMES), expected, rtol=1e-6)


@pytest.mark.parametrize("style,message", [
    ("starry_nite", "did you mean 'starry_night'"),
    ("cubism", "unknown style 'cubism'. Known styles: "),
    (3, "out of range; this model has 3 styles"),
    (-1, "out of range"),
    ([1, -1, 0], "must be >= 0"),
    ([1, math.nan, 0], "must be finite"),
    ({"great_wave": math.inf}, "must be finite"),
    ([0, 0, 0], "all zero"),
    ({"starry_night": 1e308, 0: 1e308}, "overflow when added"),
    ([1, 0], "length 2; this model has 3"),
    ({}, "empty"),
    ("starry_night=x", "not a number"),
    ("starry_night=", "not a number"),
    ("=0.5", "name=weight"),
    (True, "bool"),
    (1.5, "not understood"),
    ("²", "unknown style"),  # found by the fuzz test: str.isdigit() accepts superscripts
    ([[1, 0, 0]], "1-D"),
])
def test_bad_styles_get_clear_errors(style, message):
    with pytest.raises(StyleError, match=message):
        style_weights(style, NAMES)


def test_style_error_is_a_value_error():
    with pytest.raises(ValueError):
        style_weights("nope", NAMES)
