"""An independent judge of style: the embedding of a style-prediction network that is not our loss network.

The network is Magenta's arbitrary-style *prediction* network (MobileNetV2, trained to describe a painting's
style as a 100-number vector), for example ``../shared/peer_models/style_predict_quantized_256.tflite``. It
shares nothing with cin-style's training loss (HED-VGG16 Gram matrices), so it can judge that loss. It is a
judge only: nothing trains against it.

Two figures (see :func:`progress_toward` and :func:`mean_pairwise_distance`):

- *progress*: how far an output moved from its photo toward the painting, as the projection of
  ``e(output) - e(photo)`` on ``e(painting) - e(photo)`` over the length of the latter (0: the photo's own
  style, 1: the painting's).
- *distinctness*: the mean distance between the embeddings of different styles' outputs on one photo (styles
  that differ only in palette sit close together).

Caveat: the peer's arbitrary-style network is *conditioned on this very embedding*, so the judge is, if
anything, biased in the peer's favour on the progress figure.
"""

from __future__ import annotations

import itertools
import os

import numpy as np
from PIL import Image

EMBEDDING_SIZE = 256  # the prediction network's input side


def _square_256(image: Image.Image) -> np.ndarray:
    """Centre square crop, resized to the network's input: [256, 256, 3] float32 in [0, 1]."""
    image = image.convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize((EMBEDDING_SIZE, EMBEDDING_SIZE), Image.LANCZOS)
    return np.asarray(image, np.float32) / 255.0


class StyleJudge:
    """Style embeddings from a style-prediction .tflite file.

    Args:
      path: the .tflite file (input [1, 256, 256, 3] float in [0, 1], output [1, 1, 1, D] float).
      num_threads: LiteRT threads.
    """

    def __init__(self, path: str, num_threads: int = 2):
        from ai_edge_litert.interpreter import Interpreter

        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such style-prediction model")
        self._interpreter = Interpreter(model_path=path, num_threads=num_threads)
        self._interpreter.allocate_tensors()
        (self._input,) = self._interpreter.get_input_details()
        (self._output,) = self._interpreter.get_output_details()
        if list(self._input["shape"]) != [1, EMBEDDING_SIZE, EMBEDDING_SIZE, 3]:
            raise ValueError(f"{path}: expected an input of [1, 256, 256, 3], got {list(self._input['shape'])}")

    def embed(self, image: Image.Image) -> np.ndarray:
        """The style embedding of a PIL image: [D] float64."""
        self._interpreter.set_tensor(self._input["index"], _square_256(image)[None])
        self._interpreter.invoke()
        return np.asarray(self._interpreter.get_tensor(self._output["index"]), np.float64).reshape(-1)


def progress_toward(photo: np.ndarray, output: np.ndarray, painting: np.ndarray) -> float:
    """How far ``output`` moved from ``photo`` toward ``painting`` (embeddings [D]): 0 photo, 1 painting.

    The projection ``<o - p, s - p> / |s - p|^2``; it can leave [0, 1] (beyond the painting, or away from it).
    """
    direction = painting - photo
    norm2 = float(direction @ direction)
    if norm2 == 0.0:
        raise ValueError("the photo and the painting have the same embedding; progress is undefined")
    return float((output - photo) @ direction / norm2)


def mean_pairwise_distance(embeddings: list[np.ndarray]) -> float:
    """Mean Euclidean distance over all pairs of embeddings (needs at least two)."""
    if len(embeddings) < 2:
        raise ValueError(f"needs at least two embeddings, got {len(embeddings)}")
    return float(np.mean([np.linalg.norm(a - b) for a, b in itertools.combinations(embeddings, 2)]))
