"""Training inputs: content photos as a deterministic tf.data pipeline, and style images.

The content pipeline is a pure function of (seed, step): example ``i`` of the
run reads file ``perm_e[i % F]`` (``perm_e`` a seeded permutation for epoch
``e = i // F``), takes a crop seeded by ``(seed, i)`` and gets a style index
drawn from ``(seed, i)``. Resuming at step ``s`` therefore rebuilds exactly the
batches an uninterrupted run would have seen, without saving any iterator state.
"""

from __future__ import annotations

import dataclasses
import os
import re

import numpy as np
import tensorflow as tf

from cin_style.errors import ImageError
from cin_style.files.folders import find_images
from cin_style.files.images import load_image, open_image_file

__all__ = ["TRAIN_EXTENSIONS", "ContentSet", "scan_content", "content_dataset", "load_style_image",
           "style_name_from_path"]

#: What the training pipeline's decoder reads.
TRAIN_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")


@dataclasses.dataclass
class ContentSet:
    """Readable training photos and the ones skipped."""

    paths: list[str]
    skipped: list[tuple[str, str]]


def scan_content(folder: str, min_side: int) -> ContentSet:
    """Decodes every photo once (JPEG at reduced scale) and keeps the readable ones.

    Unreadable files (corrupt, truncated, not images) and photos whose short side
    is under ``min_side // 2`` are skipped and reported, never fatal.
    """
    good, skipped = [], []
    for path in find_images(folder, TRAIN_EXTENSIONS):
        try:
            with open_image_file(path) as image:
                width, height = image.size
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                image.load()
        except Exception as exc:  # noqa: BLE001 - any decoder failure means "skip this file"
            skipped.append((path, f"unreadable ({type(exc).__name__}: {exc})"))
            continue
        if min(width, height) < min_side // 2:
            skipped.append((path, f"too small ({width}x{height})"))
            continue
        good.append(path)
    return ContentSet(good, skipped)


def _example_plan(num_files: int, num_styles: int, seed: int, start_example: int):
    """Yields (example index, file index, style index) from ``start_example`` on, forever."""
    example = start_example
    while True:
        epoch, offset = divmod(example, num_files)
        order = np.random.default_rng([seed, epoch]).permutation(num_files)
        styles = np.random.default_rng([seed, epoch, 1]).integers(0, num_styles, num_files)
        for position in range(offset, num_files):
            yield example, order[position], styles[position]
            example += 1


def _decode_and_crop(path, example, image_size: int, seed: int, short_side: int):
    data = tf.io.read_file(path)
    image = tf.io.decode_image(data, channels=3, expand_animations=False)
    image = tf.image.convert_image_dtype(image, tf.float32)
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = tf.cast(short_side, tf.float32) / tf.reduce_min(shape)
    new_size = tf.cast(tf.math.ceil(shape * scale), tf.int32)
    image = tf.image.resize(image, tf.maximum(new_size, short_side), method="bilinear", antialias=True)
    crop_seed = tf.stack([tf.cast(seed, tf.int64), example])
    return tf.clip_by_value(tf.image.stateless_random_crop(image, [image_size, image_size, 3], crop_seed), 0.0, 1.0)


def content_dataset(paths: list[str], num_styles: int, image_size: int, batch_size: int, seed: int,
                    start_step: int = 0, short_side: int | None = None) -> tf.data.Dataset:
    """Endless batches ``(images [B, S, S, 3] float32 in [0, 1], style_index [B] int32)``.

    Each photo's short side is resized to ``short_side`` (default ``image_size``),
    then a random ``image_size`` square crop is taken: smaller crops of photos at
    the same scale train 4x faster per example and see the same pixel statistics. Each example gets its
    own random style (see module docstring for why the stream is a pure function of seed and step).
    """
    if not paths:
        raise ImageError("no readable training photos")
    path_table = tf.constant(paths)
    plan = tf.data.Dataset.from_generator(
        lambda: _example_plan(len(paths), num_styles, seed, start_step * batch_size),
        output_signature=(tf.TensorSpec([], tf.int64), tf.TensorSpec([], tf.int64), tf.TensorSpec([], tf.int64)))

    def load(example, file_index, style_index):
        image = _decode_and_crop(tf.gather(path_table, file_index), example, image_size, seed,
                                 max(short_side or image_size, image_size))
        return image, tf.cast(style_index, tf.int32)

    dataset = plan.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    dataset = dataset.ignore_errors()  # a file that broke after the scan is dropped, not fatal
    return dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def style_name_from_path(path: str) -> str:
    """``"Starry Night (1889).jpg"`` -> ``"starry_night_1889"``."""
    stem = os.path.splitext(os.path.basename(path))[0].lower()
    name = re.sub(r"[^a-z0-9]+", "_", stem).strip("_")
    return name if name and not name.isdigit() else f"style_{name}"


def load_style_image(path: str, short_side: int) -> np.ndarray:
    """A style image as [H, W, 3] float32 in [0, 1], resized so its short side is ``short_side``.

    Resized like the photos, with TensorFlow (area when shrinking, bicubic when enlarging), not with
    :func:`cin_style.files.images.resize`: the filter sets the style targets, part of the training recipe."""
    rgb = load_image(path).rgb
    height, width = rgb.shape[:2]
    scale = short_side / min(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    resized = tf.image.resize(rgb, size, method="area" if scale < 1 else "bicubic", antialias=True)
    return np.clip(resized.numpy(), 0.0, 1.0)
