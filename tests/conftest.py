import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from tiny_models import make_tiny_model  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "tiny"
    make_tiny_model().save(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    from cin_style.model.format import load_model

    return load_model(tiny_model_dir)


@pytest.fixture
def photo_path(tmp_path):
    """A small synthetic photo-like RGB image (gradients and a disc)."""
    h, w = 37, 53
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([x / w, y / h, ((x - 25) ** 2 + (y - 18) ** 2 < 100).astype(float)], axis=2)
    path = tmp_path / "photo.png"
    Image.fromarray((rgb * 255).astype(np.uint8)).save(path)
    return str(path)
