"""Quality evaluation: the model's perceptual loss per style against the Gatys reference.

For every style the model's outputs on a set of photos are scored with the loss
it was trained on (same loss network, layers and weights, read from the model's
training configuration). The yardstick is the per-image optimum of the same
objective: Gatys optimization with L-BFGS for a fixed number of iterations
(Johnson et al. report that a feed-forward network reaches about the loss of
50 to 100 L-BFGS iterations). ``ratio = model loss / Gatys loss`` on the same
photos; 1.0 means the network matches 100 L-BFGS iterations. The reference starts
from the photo (the default) or from white noise (Gatys et al.'s start); on one
photo the two can end far apart. Each new reference keeps its loss curve, so the
report also says after how many iterations the optimization first reached the
network's loss (``gatys_iterations_to_match``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Union

import hashlib
import json
import statistics

import numpy as np
import tensorflow as tf

from cin_style.stylization.controls import LUMA_WEIGHTS
from cin_style.train.data import load_style_image
from cin_style.quality.gatys import optimize
from cin_style.files.images import ImageSource, center_crop, load_image
from cin_style.train.losses import LossConfig, PerceptualLoss

if TYPE_CHECKING:
    from cin_style.model.format import CinModel
    from cin_style.stylization.tf_backend import ModelSource, Stylizer
    from cin_style.stylization.tflite_backend import TFLiteStylizer

__all__ = ["luminance_correlation", "luminance_correlation_tensor", "loss_config_of", "evaluate_model",
           "reference_key", "reference_total", "reference_curve", "GATYS_INITS", "GatysReference",
           "tflite_fidelity", "markdown_summary"]

GATYS_INITS = ("photo", "noise")
# A cached Gatys reference: its final loss (older caches) or {"total": loss, "curve": [loss per iteration]}.
ReferenceEntry = Union[float, dict[str, Any]]


def luminance_correlation(outputs: np.ndarray, contents: np.ndarray) -> np.ndarray:
    """Per image, the Pearson correlation of the output's luma with the content's.

    [B, H, W, 3] each -> [B]. Near +1 where the stylization keeps the photo's light and dark
    (Gatys-style optimization from the photo reads about +0.9); negative where it paints a
    negative of the photo. 0 for a flat image. The trainer logs it per batch
    (:func:`luminance_correlation_tensor`).
    """
    return luminance_correlation_tensor(np.asarray(outputs, np.float32), np.asarray(contents, np.float32)).numpy()


def luminance_correlation_tensor(outputs: tf.Tensor, contents: tf.Tensor) -> tf.Tensor:
    """:func:`luminance_correlation` in TensorFlow ops (inside a training step)."""
    weights = tf.constant(LUMA_WEIGHTS)
    a, b = (tf.tensordot(tf.cast(x, tf.float32), weights, axes=1) for x in (outputs, contents))
    a = a - tf.reduce_mean(a, axis=[1, 2], keepdims=True)
    b = b - tf.reduce_mean(b, axis=[1, 2], keepdims=True)
    norms = tf.sqrt(tf.reduce_sum(a * a, axis=[1, 2]) * tf.reduce_sum(b * b, axis=[1, 2]))
    return tf.math.divide_no_nan(tf.reduce_sum(a * b, axis=[1, 2]), norms)


def _style_layer_losses(terms: dict[str, np.ndarray]) -> dict[str, float]:
    """Per style layer, its Gram term plus its moment term (where the loss has them): they add up to ``style``."""
    layers: dict[str, float] = {}
    for key, value in terms.items():
        kind, _, layer = key.partition("/")
        if kind in ("style", "moments") and layer:
            layers[layer] = layers.get(layer, 0.0) + float(value.mean())
    return layers


def loss_config_of(model: CinModel) -> LossConfig:
    """The loss configuration the model was trained with (defaults if it has none)."""
    saved = model.training_config.get("loss")
    return LossConfig.from_dict(saved) if saved else LossConfig()


def style_loss_of(loss: PerceptualLoss, model: CinModel, name: str) -> PerceptualLoss:
    """The loss style ``name`` was trained with: ``loss`` with the style weight times the
    style's ``style_strengths`` multiplier in the model's training configuration (1 if none); the moment
    terms too, which training scales by the same multiplier."""
    strength = float((model.training_config.get("style_strengths") or {}).get(name, 1.0))
    return loss if strength == 1.0 else loss.reweighted(style_weight=loss.config.style_weight * strength,
                                                        moment_weight=loss.config.moment_weight * strength)


def _style_sources(model, style_dir: str | None):
    sources = {}
    for style in model.styles:
        if not style_dir or not style.source_image:
            continue
        sources[style.name] = f"{style_dir}/{style.source_image}"
    return sources


def reference_key(crop: np.ndarray, style_rgb: np.ndarray, iterations: int, config: LossConfig,
                  init: str = "photo") -> str:
    """A digest of everything a Gatys reference loss depends on: the crop's and the style
    image's pixels, the iterations, the loss configuration (network, layers, weights) and
    where the optimization starts (references from the photo keep the digest they had
    before ``init`` existed)."""
    digest = hashlib.sha256()
    for array in (crop, style_rgb):
        array = np.ascontiguousarray(array, dtype=np.float32)
        digest.update(repr(array.shape).encode())
        digest.update(array.tobytes())
    settings = {"iterations": int(iterations), "loss": config.to_dict()}
    if init != "photo":
        settings["init"] = init
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()


def reference_total(entry: ReferenceEntry) -> float:
    """The final loss of a cached reference: a bare number (older caches) or ``{"total", "curve"}``."""
    return float(entry["total"] if isinstance(entry, dict) else entry)


def reference_curve(entry: ReferenceEntry) -> list[float] | None:
    """The loss after each iteration of a cached reference (index 0: the start); None for a
    reference cached as a bare number."""
    return [float(v) for v in entry["curve"]] if isinstance(entry, dict) and "curve" in entry else None


def _check_init(init: str, name: str) -> None:
    if init not in GATYS_INITS:
        raise ValueError(f"{name} must be one of {', '.join(GATYS_INITS)}, got {init!r}")


def _optimize_reference(content: np.ndarray, style_rgb: np.ndarray, iterations: int, style_loss: PerceptualLoss,
                        init: str, key: str):
    """Gatys-style L-BFGS of ``content`` from the photo, or from uniform white noise seeded by the
    reference's digest ``key`` (:func:`reference_key`: the same reference, the same start)."""
    start = None if init == "photo" else np.random.default_rng(int(key[:16], 16)).uniform(
        0.0, 1.0, content.shape).astype(np.float32)
    return optimize(content, style_rgb, iterations=iterations, loss=style_loss, init=start)


def _iterations_to_match(curve: list[float], target: float) -> int | None:
    """The first iteration whose loss is at most ``target``; None if the curve never gets there."""
    return next((i for i, value in enumerate(curve) if value <= target), None)


class GatysReference:
    """The evaluation's reference as a picture: Gatys-style optimization of each image with the
    loss a model's style was trained with, for side-by-side sheets
    (`model_comparison` in tools/sheets.py).

    Args:
      model: the model whose styles, loss configuration and style strengths are used
        (a :class:`~cin_style.model.format.CinModel`, a model directory, or None: bundled).
      style_dir: folder holding the styles' source images (named in the manifest).
      iterations: L-BFGS iterations.
      init: ``"photo"`` or ``"noise"`` (uniform white noise, seeded by the image).
    """

    def __init__(self, model: ModelSource = None, style_dir: str | None = None, iterations: int = 100,
                 init: str = "photo"):
        from cin_style.stylization.tf_backend import resolve_model

        _check_init(init, "init")
        self.model = resolve_model(model)
        self.sources = _style_sources(self.model, style_dir)
        self.loss = PerceptualLoss(loss_config_of(self.model))
        self.iterations, self.init = int(iterations), init

    @property
    def style_names(self) -> list[str]:
        return self.model.style_names

    def stylize(self, image: ImageSource, style: str) -> np.ndarray:
        """Optimizes ``image`` (path, PIL image or array) towards style ``style`` (a name)."""
        if style not in self.sources:
            raise ValueError(f"no source image for style {style!r} (manifest entry or style_dir missing)")
        rgb = load_image(image).rgb
        style_rgb = load_style_image(self.sources[style], self.loss.config.style_image_size)
        style_loss = style_loss_of(self.loss, self.model, style)
        key = reference_key(rgb, style_rgb, self.iterations, style_loss.config, self.init)
        return _optimize_reference(rgb, style_rgb, self.iterations, style_loss, self.init, key).image


def evaluate_model(stylizer: Stylizer, photos: Sequence[ImageSource], style_dir: str, *, size: int = 256,
                   gatys_images: int = 2, gatys_iterations: int = 100, styles: Sequence[str] | None = None,
                   reference_cache: dict | None = None, short_side: int | None = None, gatys_init: str = "photo",
                   log: Callable[[str], None] = print) -> dict:
    """Scores a model per style against the Gatys reference.

    Each style is scored, and its Gatys reference optimized, with the loss it was
    trained with: the model's loss configuration, the style weight times the
    style's ``style_strengths`` multiplier (:func:`style_loss_of`).

    Args:
      stylizer: a :class:`~cin_style.Stylizer`.
      photos: image paths (or arrays), center-cropped to ``size`` x ``size``.
      short_side: photos are first resized to this short side (default ``size``: the whole
        short side in the crop; larger zooms in, as training's ``photo_short_side`` does).
      style_dir: folder holding the styles' source images (named in the manifest).
      gatys_images: the first this many photos also get the Gatys reference.
      gatys_iterations: L-BFGS iterations of the reference.
      gatys_init: where the reference starts: ``"photo"`` or ``"noise"`` (uniform white
        noise, seeded per reference).
      styles: names to evaluate (default: all).
      reference_cache: a dict of Gatys reference losses by :func:`reference_key`,
        read and extended in place (new entries are ``{"total", "curve"}``; bare numbers
        from older caches are read as totals). The reference does not depend on the model, so
        successive checkpoints scored with one cache pay for L-BFGS once (about a
        minute and a half per photo and style at 256 px on two cores).

    Returns:
      ``{"styles": {name: {...}}, "summary": {...}, "settings": {...}}``.
    """
    _check_init(gatys_init, "gatys_init")
    model = stylizer.model
    config = loss_config_of(model)
    loss = PerceptualLoss(config)
    crops = np.stack([center_crop(load_image(p).rgb, size, short_side) for p in photos])
    content_features = loss.content_features(crops)
    sources = _style_sources(model, style_dir)
    names = styles or model.style_names
    results = {}
    for name in names:
        if name not in sources:
            raise ValueError(f"no source image for style {name!r} (manifest entry or --style_dir missing)")
        index = model.style_names.index(name)
        style_rgb = load_style_image(sources[name], config.style_image_size)
        style_targets = loss.style_targets(style_rgb[None])
        outputs = np.stack([stylizer.stylize_array(c, np.eye(model.num_styles, dtype=np.float32)[index])
                            for c in crops])
        targets = {k: tf.repeat(v, len(crops), axis=0) for k, v in style_targets.items()}
        style_loss = style_loss_of(loss, model, name)  # model and reference both scored as trained
        terms = {k: v.numpy() for k, v in style_loss.per_example(outputs, content_features, targets).items()}
        entry: dict[str, Any] = {
                 "total_loss": float(terms["total"].mean()), "content_loss": float(terms["content"].mean()),
                 "style_loss": float(terms["style"].mean()), "tv_loss": float(terms["tv"].mean()),
                 "style_layer_losses": _style_layer_losses(terms),
                 "style_weight": style_loss.config.style_weight, "images": len(crops),
                 "luminance_correlation": float(luminance_correlation(outputs, crops).mean())}
        if gatys_images:
            reference, curves = [], []
            for crop in crops[:gatys_images]:
                key = reference_key(crop, style_rgb, gatys_iterations, style_loss.config, gatys_init)
                cached = None if reference_cache is None else reference_cache.get(key)
                if cached is None:
                    history = _optimize_reference(crop, style_rgb, gatys_iterations, style_loss, gatys_init,
                                                  key).history
                    curve = [float(f"{record['total']:.6g}") for record in history]
                    cached = {"total": float(history[-1]["total"]), "curve": curve}
                    if reference_cache is not None:
                        reference_cache[key] = cached
                reference.append(reference_total(cached))
                curves.append(reference_curve(cached))
            model_subset = float(terms["total"][:gatys_images].mean())
            entry.update({"gatys100_total_loss": float(np.mean(reference)), "model_total_loss_on_gatys_images":
                          model_subset, "ratio": model_subset / float(np.mean(reference)),
                          "gatys_images": min(gatys_images, len(crops))})
            if all(curve is not None for curve in curves):  # per Gatys photo; None: below the whole curve
                entry["gatys_iterations_to_match"] = [_iterations_to_match(curve, float(total))  # type: ignore[arg-type]
                                                      for curve, total in zip(curves, terms["total"])]
        results[name] = entry
        log(f"{name}: total {entry['total_loss']:.4g}" +
            (f"  gatys{gatys_iterations} {entry['gatys100_total_loss']:.4g}  ratio {entry['ratio']:.3f}"
             if gatys_images else "") + f"  luminance corr. {entry['luminance_correlation']:+.2f}")
    summary: dict[str, Any] = {}
    ratios: dict[str, float] = {n: r["ratio"] for n, r in results.items() if "ratio" in r}
    if ratios:
        worst = max(ratios, key=lambda name: ratios[name])
        summary = {"median_ratio": statistics.median(ratios.values()), "max_ratio": ratios[worst],
                   "worst_style": worst}
    matched: list[list[int | None]] = [r["gatys_iterations_to_match"] for r in results.values()
                                       if "gatys_iterations_to_match" in r]
    if matched and len(matched) == len(ratios):
        # A network below the reference's final loss counts as the full iterations (a lower bound).
        summary["median_iterations_to_match"] = statistics.median(
            gatys_iterations if k is None else k for ks in matched for k in ks)
    settings = {"size": size, "short_side": short_side or size, "photos": len(crops), "gatys_images": gatys_images,
                "gatys_iterations": gatys_iterations, "gatys_init": gatys_init, "loss": config.to_dict(),
                "style_strengths": dict(model.training_config.get("style_strengths") or {})}
    return {"styles": results, "summary": summary, "settings": settings}


def tflite_fidelity(stylizer: Stylizer, tflite_stylizer: TFLiteStylizer, photos: Sequence[ImageSource],
                    size: int = 512, styles: Sequence[str] | None = None, log: Callable[[str], None] = print) -> dict:
    """PSNR and SSIM of a TFLite model's outputs against the float model's, per style.

    Photos are center-cropped to ``size``; SSIM is ``tf.image.ssim`` (11x11 Gaussian window)
    on [0, 1] RGB.

    Returns:
      ``{"size": S, "styles": {name: {"psnr_median", "psnr_min", "ssim_median", "ssim_min"}},
      "median_psnr", "median_ssim", "worst_style"}`` (medians over all photos x styles).
    """
    model = stylizer.model
    crops = [center_crop(load_image(p).rgb, size) for p in photos]
    names = styles or model.style_names
    per_style, all_psnr, all_ssim = {}, [], []
    for name in names:
        weights = np.eye(model.num_styles, dtype=np.float32)[model.style_names.index(name)]
        psnrs, ssims = [], []
        for crop in crops:
            reference = stylizer.stylize_array(crop, weights, tiled=False)
            candidate = tflite_stylizer.stylize_array(crop, weights)
            psnrs.append(float(tf.image.psnr(reference, candidate, max_val=1.0)))
            ssims.append(float(tf.image.ssim(tf.constant(reference), tf.constant(candidate), max_val=1.0)))
        per_style[name] = {"psnr_median": statistics.median(psnrs), "psnr_min": min(psnrs),
                           "ssim_median": statistics.median(ssims), "ssim_min": min(ssims)}
        all_psnr += psnrs
        all_ssim += ssims
        log(f"{name}: PSNR {per_style[name]['psnr_median']:.2f} dB, SSIM {per_style[name]['ssim_median']:.4f}")
    worst = min(per_style, key=lambda n: per_style[n]["psnr_median"])
    return {"size": size, "photos": len(crops), "styles": per_style, "median_psnr": statistics.median(all_psnr),
            "median_ssim": statistics.median(all_ssim), "worst_style": worst}


def markdown_summary(report: dict) -> str:
    """A Markdown table of :func:`evaluate_model`'s report."""
    settings = report["settings"]
    short_side = settings.get("short_side", settings["size"])
    crop = f" (center crops of photos at a {short_side} px short side)" if short_side != settings["size"] else ""
    init = settings.get("gatys_init", "photo")
    start = "" if init == "photo" else f", started from {init}"
    with_matches = any("gatys_iterations_to_match" in r for r in report["styles"].values())
    lines = [f"Evaluation at {settings['size']} px{crop} on {settings['photos']} photos; Gatys reference: "
             f"{settings['gatys_iterations']} L-BFGS iterations{start} on {settings['gatys_images']} of them.", "",
             "| style | total | content | style | tv | Gatys total | ratio | luminance corr. |" +
             (" Gatys iterations to match |" if with_matches else ""),
             "|---|---|---|---|---|---|---|---|" + ("---|" if with_matches else "")]
    for name, r in report["styles"].items():
        gatys = f"{r['gatys100_total_loss']:.4g} | {r['ratio']:.3f}" if "ratio" in r else "- | -"
        luminance = f"{r['luminance_correlation']:+.2f}" if "luminance_correlation" in r else "-"
        row = (f"| {name} | {r['total_loss']:.4g} | {r['content_loss']:.4g} | {r['style_loss']:.4g} | "
               f"{r['tv_loss']:.3g} | {gatys} | {luminance} |")
        if with_matches:
            matches = r.get("gatys_iterations_to_match")
            row += (" " + ", ".join(f">{settings['gatys_iterations']}" if k is None else str(k) for k in matches)
                    + " |") if matches is not None else " - |"
        lines.append(row)
    if report["summary"]:
        s = report["summary"]
        lines += ["", f"Median ratio {s['median_ratio']:.3f}; worst {s['worst_style']} at {s['max_ratio']:.3f}."]
        if "median_iterations_to_match" in s:
            lines[-1] += (f" The optimization reached the network's loss after {s['median_iterations_to_match']:g} "
                          f"iterations (median over styles and photos).")
    if report.get("tflite"):
        t = report["tflite"]
        lines += ["", f"TFLite fidelity to the float model at {t['size']} px ({t['photos']} photos x each style): "
                  f"median PSNR {t['median_psnr']:.2f} dB, median SSIM {t['median_ssim']:.4f}; "
                  f"worst style {t['worst_style']} (median PSNR "
                  f"{t['styles'][t['worst_style']]['psnr_median']:.2f} dB).", ""]
    return "\n".join(lines) + "\n"
