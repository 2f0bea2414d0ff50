"""The independent style judge of tools/style_judge.py (used by tools/compare_peer.py)."""

import os
import sys

import numpy as np
import pytest
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
JUDGE_MODEL = os.path.join(ROOT, "..", "shared", "peer_models", "style_predict_quantized_256.tflite")

sys.path.insert(0, os.path.join(ROOT, "tools"))
try:
    import style_judge
finally:
    sys.path.pop(0)


def test_progress_is_zero_at_the_photo_one_at_the_painting_and_linear_between():
    photo, painting = np.array([1.0, 2.0, 0.0]), np.array([3.0, 2.0, 4.0])
    assert style_judge.progress_toward(photo, photo, painting) == 0.0
    assert style_judge.progress_toward(photo, painting, painting) == pytest.approx(1.0)
    assert style_judge.progress_toward(photo, (photo + painting) / 2, painting) == pytest.approx(0.5)
    sideways = photo + np.array([2.0, 0.0, -1.0])  # orthogonal to painting - photo = (2, 0, 4)
    assert style_judge.progress_toward(photo, sideways, painting) == pytest.approx(0.0)


def test_progress_refuses_a_painting_that_embeds_like_the_photo():
    point = np.ones(4)
    with pytest.raises(ValueError, match="same embedding"):
        style_judge.progress_toward(point, point, point)


def test_mean_pairwise_distance():
    points = [np.array([0.0, 0.0]), np.array([3.0, 4.0]), np.array([0.0, 4.0])]
    assert style_judge.mean_pairwise_distance(points) == pytest.approx((5 + 4 + 3) / 3)
    with pytest.raises(ValueError):
        style_judge.mean_pairwise_distance(points[:1])


@pytest.mark.skipif(not os.path.isfile(JUDGE_MODEL), reason="the style-prediction model is in ../shared only")
def test_the_judge_tells_a_painting_from_a_photo_whatever_the_scale():
    judge = style_judge.StyleJudge(JUDGE_MODEL)
    painting = Image.open(os.path.join(ROOT, "assets", "styles", "starry_night.jpg"))
    smaller = painting.resize((painting.width // 2, painting.height // 2), Image.LANCZOS)
    photo = Image.open(os.path.join(ROOT, "assets", "examples", "chelsea.png"))
    e_painting, e_smaller, e_photo = judge.embed(painting), judge.embed(smaller), judge.embed(photo)
    assert e_painting.shape == (100,)
    assert np.linalg.norm(e_painting - e_smaller) < 0.5 * np.linalg.norm(e_painting - e_photo)
