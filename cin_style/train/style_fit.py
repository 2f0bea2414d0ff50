"""Any picture as a style: learn its gamma/beta against a trained network's frozen convolutions.

A CIN network's styles differ only in their conditional instance norms' gamma and beta (a few thousand
numbers); the convolutions are shared. So a new style is fitted in a couple of hundred small steps:

- the new rows start at the built-in style whose outputs already come closest to the picture's style
  (or, with ``start="mean"``, at the mean of the built-in rows);
- content crops come from a few shipped photos (and the user's own photo, when given), cut small: at the
  recipe's 256 px scale, 128 px crops see the same pixel statistics at a quarter of the cost;
- the loss is the one the model was trained with (its recorded configuration), only the new rows move.

    fitted = fit_style(load_model(path), "my_painting.jpg", name="my_painting")   # N + 1 styles
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf
import tf_keras as keras

from cin_style.errors import ModelError, StyleError
from cin_style.export.calibration import CALIBRATION_PHOTOS
from cin_style.files.folders import find_images
from cin_style.files.images import ImageSource, load_image, resize_short_side
from cin_style.model.format import CinModel, StyleInfo
from cin_style.model.network import build_transform_network
from cin_style.train.data import load_style_image
from cin_style.train.hardware import bfloat16_training_pays
from cin_style.train.losses import LossConfig, PerceptualLoss

__all__ = ["FitSettings", "fit_style", "with_style_picture", "style_name_for", "cache_dir", "FIT_VERSION"]

#: Bumped whenever the fit changes what it produces (a cache of fitted styles keys on it).
FIT_VERSION = 4

#: A picture smaller than this on its short side has too little texture to learn from.
MIN_STYLE_SIDE = 64


@dataclasses.dataclass(frozen=True)
class FitSettings:
    """How a new style is fitted. The defaults take about a minute on 2 CPU cores with fast bfloat16, 1.5 minutes
    without (docs/bundled_model.md)."""

    steps: int = 100
    batch_size: int = 4
    crop_size: int = 128
    photo_short_side: int = 256
    learning_rate: float = 0.02
    seed: int = 0
    #: "auto": bfloat16 where it trains faster (:func:`cin_style.train.hardware.bfloat16_training_pays`).
    precision: str = "auto"
    #: The content term's weight (None: the model's own). A picture the network never saw has nothing of the
    #: shared convolutions tuned to it, and at the recipe's weight (2) faces dissolve; at 6 they stay readable
    #: (looked at: Gauguin's Vision after the Sermon on the example photos, docs/bundled_model.md).
    content_weight: float | None = 6.0
    #: Where the new style's gamma/beta start: "nearest" (the built-in style whose outputs are already closest
    #: in style) or "mean" (the mean of every built-in style's rows: no one painting's strokes to unlearn).
    start: str = "nearest"
    #: The picture's short side, in pixels, when its style targets are computed; with several sizes the targets
    #: are the mean of each size's, so coarse and fine strokes both count
    #: (None: the model's own ``style_image_size``, 256 for the bundled model). Seen smaller, its strokes come out
    #: coarser. The independent judge, at 256 / 160 / 128 px alone: Vision after the Sermon 0.87 / 1.00 / 1.04,
    #: Plum Park 0.77 / 0.85 / 0.93, a night photo 0.90 / 0.94 / 0.92 (one package); on a later package, 128 px
    #: alone / 96 and 192 px: 1.03 / 1.04, 0.84 / 0.84, 0.91 / 0.93 (docs/bundled_model.md).
    style_image_size: int | tuple[int, ...] | None = (96, 192)

    def __post_init__(self):
        if self.steps < 1 or self.batch_size < 1 or not 16 <= self.crop_size <= self.photo_short_side:
            raise ValueError(f"bad fit settings {self}: steps and batch_size >= 1, 16 <= crop_size <= "
                             "photo_short_side")
        if self.precision not in ("auto", "float32", "mixed_bfloat16"):
            raise ValueError(f"precision must be 'auto', 'float32' or 'mixed_bfloat16', got {self.precision!r}")
        sizes = self.style_image_size if isinstance(self.style_image_size, tuple) else (self.style_image_size,)
        if self.style_image_size is not None and not (sizes and all(
                isinstance(size, int) and 32 <= size <= 2048 for size in sizes)):
            raise ValueError(f"style_image_size must be None, or one or more sizes in [32, 2048], got "
                             f"{self.style_image_size}")
        if self.start not in ("nearest", "mean"):
            raise ValueError(f"start must be 'nearest' or 'mean', got {self.start!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")


def _style_pixels(style_image: ImageSource, short_side: int) -> np.ndarray:
    rgb = load_image(style_image).rgb
    if min(rgb.shape[:2]) < MIN_STYLE_SIDE:
        raise StyleError(f"the style picture is {rgb.shape[1]}x{rgb.shape[0]}; it needs at least "
                         f"{MIN_STYLE_SIDE} px on its short side to show a texture")
    if float(rgb.std(axis=(0, 1)).max()) < 0.02:
        raise StyleError("the style picture is one flat colour: there is no texture or palette to learn")
    if isinstance(style_image, (str, os.PathLike)):
        return load_style_image(os.fspath(style_image), short_side)
    scale = short_side / min(rgb.shape[:2])
    size = (max(1, round(rgb.shape[0] * scale)), max(1, round(rgb.shape[1] * scale)))
    return np.clip(tf.image.resize(rgb, size, method="area" if scale < 1 else "bicubic",
                                   antialias=True).numpy(), 0.0, 1.0)


def _style_targets(loss: PerceptualLoss, style_image: ImageSource, sizes: int | tuple[int, ...]
                   ) -> dict[str, tf.Tensor]:
    """The loss's style targets of the picture seen at each short side in ``sizes``, averaged (one target between
    the sizes' Gram matrices and moments)."""
    each = [loss.style_targets(_style_pixels(style_image, size)[None])
            for size in (sizes if isinstance(sizes, tuple) else (sizes,))]
    return {key: tf.add_n([targets[key] for targets in each]) / len(each) for key in each[0]}


def _content_crops(photos: Sequence[ImageSource], settings: FitSettings) -> np.ndarray:
    """[steps * batch, crop, crop, 3] random crops of the photos at ``photo_short_side``, seeded."""
    pictures = [resize_short_side(load_image(photo).rgb, settings.photo_short_side) for photo in photos]
    rng = np.random.default_rng(settings.seed)
    crops = np.empty((settings.steps * settings.batch_size, settings.crop_size, settings.crop_size, 3), np.float32)
    for i in range(len(crops)):
        picture = pictures[rng.integers(len(pictures))]
        top = rng.integers(picture.shape[0] - settings.crop_size + 1)
        left = rng.integers(picture.shape[1] - settings.crop_size + 1)
        crops[i] = picture[top:top + settings.crop_size, left:left + settings.crop_size]
        if rng.random() < 0.5:
            crops[i] = crops[i, :, ::-1]
    return crops


def _cin_weight_keys(model: CinModel) -> list[str]:
    return [key for key in model.weights_dict() if key.endswith(("/gamma", "/beta"))]


def _nearest_style(model: CinModel, loss: PerceptualLoss, targets: dict[str, tf.Tensor], crops: np.ndarray) -> int:
    """The built-in style whose outputs on ``crops`` are already closest to ``targets`` (style terms only)."""
    style_only = loss.reweighted(content_weight=0.0, tv_weight=0.0)
    batch = tf.constant(crops)
    tiled = {key: tf.repeat(value, len(crops), axis=0) for key, value in targets.items()}
    scores = []
    for index in range(model.num_styles):
        weights = tf.one_hot([index] * len(crops), model.num_styles)
        outputs = model.network([batch, weights], training=False)
        total, _ = style_only(outputs, style_only.content_features(batch), tiled)
        scores.append(float(total))
    return int(np.argmin(scores))


def fit_style(model: CinModel, style_image: ImageSource, name: str, *, photos: Sequence[ImageSource] = (),
              settings: FitSettings = FitSettings(), progress: Callable[[int, int], None] | None = None,
              title: str = "") -> CinModel:
    """``model`` with one more style, ``name``, fitted to ``style_image``; every other weight unchanged.

    Args:
      model: a trained model (its recorded loss configuration is used; the recipe's if it has none).
      style_image: the picture to paint like (path, PIL image or array): a painting, a texture, a photo.
      name: the new style's name (not one of the model's).
      photos: content photos besides the shipped ones (for example the photo about to be stylized).
      settings: steps, crop size, learning rate.
      progress: called as ``progress(step, steps)`` after each step.

    Raises:
      StyleError: the name is taken, or the picture is too small or one flat colour to learn from.
    """
    if name in model.style_names:
        raise StyleError(f"style {name!r} is already in the model; choose another name")
    saved = model.training_config.get("loss")
    loss = PerceptualLoss(LossConfig.from_dict(saved) if saved else LossConfig())
    if settings.content_weight is not None:
        loss = loss.reweighted(content_weight=settings.content_weight)
    picture_sizes = settings.style_image_size or loss.config.style_image_size
    targets = _style_targets(loss, style_image, picture_sizes)
    crops = _content_crops([*find_images(CALIBRATION_PHOTOS), *photos], settings)

    weights = model.weights_dict()
    if settings.start == "nearest":
        start = _nearest_style(model, loss, targets, crops[: settings.batch_size])
        start_name = model.style_names[start]
        first_rows = {key: weights[key][start:start + 1] for key in _cin_weight_keys(model)}
    else:
        start_name = "mean"
        first_rows = {key: weights[key].mean(axis=0, keepdims=True) for key in _cin_weight_keys(model)}
    for key, row in first_rows.items():
        weights[key] = np.concatenate([weights[key], row], axis=0)
    architecture = dataclasses.replace(model.architecture, num_styles=model.num_styles + 1)
    source = os.path.basename(os.fspath(style_image)) if isinstance(style_image, (str, os.PathLike)) else ""
    fitted = model.with_weights(weights, architecture=architecture,
                                styles=[*model.styles, StyleInfo(name, title=title, source_image=source)],
                                training_config={**model.training_config, "fitted_style": {
                                    "name": name, "version": FIT_VERSION, "started_from": start_name,
                                    **dataclasses.asdict(settings)}})

    precision = settings.precision
    if precision == "auto":
        precision = "mixed_bfloat16" if bfloat16_training_pays() else "float32"
    network, fit_loss = fitted.network, loss
    if precision == "mixed_bfloat16":  # a copy computing in bfloat16 (float32 variables), as the trainer does
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        try:
            network = build_transform_network(fitted.architecture)
            network.set_weights(fitted.network.get_weights())  # built alike: the same weights in the same order
            fit_loss = PerceptualLoss(loss.config)
            targets = _style_targets(fit_loss, style_image, picture_sizes)
        finally:
            keras.mixed_precision.set_global_policy("float32")
    trainable = [v for v in network.trainable_variables if v.name.endswith(("gamma:0", "beta:0"))]
    last_row = tf.constant(np.eye(fitted.num_styles, dtype=np.float32)[-1][:, None])  # only the new row moves
    optimizer = keras.optimizers.Adam(settings.learning_rate)
    optimizer.build(trainable)
    one_hot = tf.one_hot([fitted.num_styles - 1] * settings.batch_size, fitted.num_styles)
    tiled = {key: tf.repeat(value, settings.batch_size, axis=0) for key, value in targets.items()}

    @tf.function(autograph=False)  # straight-line code: nothing for autograph to convert
    def step(images):
        content_features = fit_loss.content_features(images)
        with tf.GradientTape() as tape:
            outputs = network([images, one_hot], training=True)
            total, _ = fit_loss(outputs, content_features, tiled)
        gradients = tape.gradient(total, trainable)
        optimizer.apply_gradients([(g * last_row, v) for g, v in zip(gradients, trainable)])
        return total

    for index in range(settings.steps):
        batch = crops[index * settings.batch_size:(index + 1) * settings.batch_size]
        total = step(tf.constant(batch))
        if not np.isfinite(float(total)):
            raise StyleError(f"fitting the style diverged at step {index + 1} (loss {float(total)})")
        if progress:
            progress(index + 1, settings.steps)
    if network is not fitted.network:
        fitted.network.set_weights(network.get_weights())
    return fitted



def cache_dir() -> str:
    """Where fitted styles are kept: ``$XDG_CACHE_HOME/cin-style/styles`` (default ``~/.cache/cin-style/styles``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "cin-style", "styles")


def style_name_for(style_image: ImageSource, taken: Sequence[str]) -> str:
    """A style name for a picture: its file's stem (``my_painting.jpg`` -> ``my_painting``), else ``picture``;
    ``_picture`` appended while the name is taken."""
    stem = "picture"
    if isinstance(style_image, (str, os.PathLike)):
        stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in os.path.splitext(
            os.path.basename(os.fspath(style_image)))[0]).strip("_") or "picture"
    while stem in taken:
        stem += "_picture"
    return stem


def _picture_digest(style_image: ImageSource) -> str:
    digest = hashlib.sha256()
    if isinstance(style_image, (str, os.PathLike)):
        with open(style_image, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    else:
        digest.update(np.ascontiguousarray(load_image(style_image).rgb).tobytes())
    return digest.hexdigest()


def with_style_picture(model: CinModel, style_image: ImageSource, *, settings: FitSettings = FitSettings(),
                       cache: str | None = None, progress: Callable[[int, int], None] | None = None
                       ) -> tuple[CinModel, str]:
    """``(model with the picture as one more style, that style's name)``: fitted by :func:`fit_style`, or read
    back from the cache (a style pack keyed by the picture's bytes, the model's shared weights and the fit's
    settings), so a picture is fitted once per model. ``cache``: the folder (default :func:`cache_dir`)."""
    from cin_style.model.packs import export_style_pack, import_style_pack

    name = style_name_for(style_image, model.style_names)
    key = hashlib.sha256(json.dumps([_picture_digest(style_image), model.shared_weights_fingerprint(),
                                     FIT_VERSION, dataclasses.asdict(settings)]).encode()).hexdigest()[:32]
    path = os.path.join(cache or cache_dir(), f"{key}.npz")
    if os.path.isfile(path):
        try:
            return import_style_pack(model, path, name=name), name
        except (ModelError, StyleError):
            pass  # a damaged cache entry is fitted again and replaced
    fitted = fit_style(model, style_image, name, settings=settings, progress=progress)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        export_style_pack(fitted, name, path)
    except OSError:
        pass  # no writable cache: the style works, it is fitted again next time
    return fitted, name
