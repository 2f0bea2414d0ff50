"""tools/structure_kept.py: how much of the photo's coarse structure outputs keep."""

import os
import sys

import numpy as np
import pytest
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools"))
try:
    import structure_kept
finally:
    sys.path.pop(0)


def test_brushwork_shows_at_fine_pools_and_a_lost_subject_at_coarse_ones(tmp_path):
    y, x = np.mgrid[:64, :64]
    photo = np.full((64, 64), 220, np.uint8)
    photo[(y - 32) ** 2 + (x - 32) ** 2 < 300] = 60  # a dark disc: the subject
    (tmp_path / "photos").mkdir()
    (tmp_path / "ours").mkdir()
    Image.fromarray(photo).convert("RGB").save(tmp_path / "photos" / "disc.png")
    checker = ((y + x) % 2 * 40 - 20).astype(np.int16)
    Image.fromarray(np.clip(photo + checker, 0, 255).astype(np.uint8)).convert("RGB").save(
        tmp_path / "ours" / "disc__strokes.png")
    Image.fromarray(np.full((64, 64), 140, np.uint8)).convert("RGB").save(tmp_path / "ours" / "disc__flat.png")
    errors = structure_kept.structure_errors(str(tmp_path), "ours", [1, 8])  # rows: flat, strokes (sorted)
    flat, strokes = errors
    assert flat[1] == pytest.approx(1.0, abs=1e-3)  # the subject gone: all of its structure missing
    assert strokes[1] < 0.01 < 1.0 < strokes[0]  # fine strokes: seen at p=1, not at p=8
    with pytest.raises(ValueError, match="no <photo>__<style>.png outputs"):
        structure_kept.structure_errors(str(tmp_path), "peer_512", [1])
