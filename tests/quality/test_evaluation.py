"""Gatys reference, evaluation report and contact sheets on a tiny model and 3 small images."""

import json
import subprocess
import sys
import os

import numpy as np
import pytest
from PIL import Image

from cin_style.quality.gatys import optimize
from cin_style.train.losses import LossConfig

SMALL_LOSS = LossConfig(content_layer="conv2_2", style_layers=("conv1_2", "conv2_2", "conv3_3"), style_image_size=32)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    rng = np.random.default_rng(0)
    photos = root / "photos"
    photos.mkdir()
    for i in range(3):
        small = rng.random((4, 4, 3))
        Image.fromarray((small * 255).astype(np.uint8)).resize((40, 36), Image.BICUBIC).save(photos / f"{i}.png")
    styles = root / "styles"
    styles.mkdir()
    for name in ("alpha_style", "beta_style", "gamma_style"):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), np.uint8)).save(styles / f"{name}.png")
    return root


def test_gatys_lbfgs_lowers_the_loss_with_more_iterations(images):
    photo, style = images / "photos" / "0.png", images / "styles" / "alpha_style.png"
    few = optimize(photo, style, iterations=3, loss_config=SMALL_LOSS, size=32)
    more = optimize(photo, style, iterations=15, loss_config=SMALL_LOSS, size=32)
    assert few.image.size == (36, 32)  # short side 32
    assert more.history[-1]["total"] < few.history[-1]["total"] < few.history[0]["total"]
    assert set(more.history[0]) >= {"total", "content", "style", "tv", "style/conv1_2"}
    assert 0.0 <= more.pixels.min() and more.pixels.max() <= 1.0


def test_gatys_adam_option(images):
    result = optimize(images / "photos" / "1.png", images / "styles" / "beta_style.png", iterations=5,
                      method="adam", loss_config=SMALL_LOSS, size=32, learning_rate=0.05)
    assert len(result.history) == 6 and result.history[-1]["total"] < result.history[0]["total"]
    with pytest.raises(ValueError, match="method"):
        optimize(images / "photos" / "1.png", images / "styles" / "beta_style.png", method="sgd")


@pytest.fixture(scope="module")
def eval_model(tmp_path_factory):
    from cin_style.model.format import StyleInfo, save_model
    from tiny_models import make_tiny_model

    model = make_tiny_model()
    model.styles = [StyleInfo(s.name, source_image=f"{s.name}.png") for s in model.styles]
    model.training_config = {"loss": SMALL_LOSS.to_dict()}
    return save_model(model, tmp_path_factory.mktemp("m") / "model")


def test_evaluate_tool_writes_json_and_markdown(images, eval_model, tmp_path):
    tool = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "evaluate.py")
    command = [sys.executable, tool, "--model", eval_model, "--content_dir", images / "photos", "--style_dir",
               images / "styles", "--max_images", "3", "--size", "32", "--gatys_images", "1",
               "--gatys_iterations", "5", "--json", tmp_path / "e.json", "--markdown", tmp_path / "e.md",
               "--gatys_cache", tmp_path / "gatys.json"]
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "e.json").read_text())
    assert set(report["styles"]) == {"alpha_style", "beta_style", "gamma_style"}
    for entry in report["styles"].values():
        assert np.isfinite([entry["total_loss"], entry["gatys100_total_loss"], entry["ratio"]]).all()
        # A random network is far from the per-image optimum.
        assert entry["ratio"] > 1.0
        assert entry["images"] == 3 and entry["gatys_images"] == 1
        # Each style layer's term, so a report shows where the style loss is (they sum to it).
        layers = entry["style_layer_losses"]
        assert set(layers) == set(SMALL_LOSS.style_layers)
        assert abs(sum(layers.values()) - entry["style_loss"]) <= 1e-4 * max(1.0, entry["style_loss"])
    assert report["summary"]["worst_style"] in report["styles"]
    markdown = (tmp_path / "e.md").read_text()
    assert "| alpha_style |" in markdown and "Gatys iterations to match" in markdown
    cache = json.loads((tmp_path / "gatys.json").read_text())
    assert sorted(v["total"] for v in cache.values()) == sorted(
        e["gatys100_total_loss"] for e in report["styles"].values())
    # Each reference keeps its loss curve; the report names the first iteration at or below the network's loss.
    for entry in report["styles"].values():
        (curve,) = [v["curve"] for v in cache.values() if v["total"] == entry["gatys100_total_loss"]]
        (k,) = entry["gatys_iterations_to_match"]
        model_loss = entry["model_total_loss_on_gatys_images"]
        assert len(curve) <= 5 + 1 and curve[-1] == pytest.approx(entry["gatys100_total_loss"], rel=1e-5)
        assert curve[k] <= model_loss * (1 + 1e-5) and all(v > model_loss for v in curve[:k])
    assert 0 <= report["summary"]["median_iterations_to_match"] <= 5


def test_evaluate_tool_refuses_a_malformed_cache_and_leaves_it_alone(images, eval_model, tmp_path):
    tool = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "evaluate.py")
    cache = tmp_path / "gatys.json"
    cache.write_text(json.dumps({"abc": {"total": 1.0, "curve": [2.0, "x"]}}))
    before = cache.read_bytes()
    command = [sys.executable, tool, "--model", eval_model, "--content_dir", images / "photos", "--style_dir",
               images / "styles", "--size", "32", "--gatys_iterations", "2", "--gatys_cache", cache]
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    assert "--gatys_cache" in result.stderr and "must hold a JSON object of reference losses" in result.stderr
    assert "Traceback" not in result.stderr
    assert cache.read_bytes() == before


def test_center_crop_can_zoom_in_like_training():
    """short_side resizes first (as training's photo_short_side does), then cuts the central square."""
    from cin_style.files.images import center_crop
    from cin_style.files.images import resize_short_side

    rgb = np.random.default_rng(0).random((60, 90, 3)).astype(np.float32)
    assert center_crop(rgb, 32).shape == (32, 32, 3)
    zoomed = center_crop(rgb, 32, short_side=40)
    resized = resize_short_side(rgb, 40)  # 40 x 60
    np.testing.assert_array_equal(zoomed, resized[4:36, 14:46])
    with pytest.raises(ValueError, match="short_side must be at least size"):
        center_crop(rgb, 32, short_side=20)


def test_luminance_correlation_tells_a_photo_from_its_negative():
    from cin_style.quality.evaluation import luminance_correlation

    rng = np.random.default_rng(0)
    photos = rng.uniform(size=(2, 16, 16, 3)).astype(np.float32)
    tinted = np.clip(photos * [0.5, 0.8, 0.3] + 0.2, 0, 1)  # another palette, same light and dark
    np.testing.assert_allclose(luminance_correlation(photos, photos), [1, 1], atol=1e-5)
    assert (luminance_correlation(tinted, photos) > 0.9).all()
    np.testing.assert_allclose(luminance_correlation(1 - photos, photos), [-1, -1], atol=1e-5)
    assert luminance_correlation(np.full_like(photos, 0.5), photos).tolist() == [0, 0]  # flat output


def test_gatys_references_are_reused_from_the_cache(images, eval_model, monkeypatch):
    from cin_style.quality import evaluation
    from cin_style.stylization.tf_backend import Stylizer

    photos = sorted((images / "photos").glob("*.png"))
    stylizer = Stylizer(eval_model)

    def evaluate(iterations):
        return evaluation.evaluate_model(stylizer, photos, str(images / "styles"), size=32, gatys_images=2,
                                         gatys_iterations=iterations, reference_cache=cache, log=lambda _: None)

    cache = {}
    first = evaluate(3)
    assert len(cache) == 3 * 2  # styles x Gatys photos

    def no_lbfgs(*args, **kwargs):
        raise AssertionError("L-BFGS ran although the reference was cached")

    monkeypatch.setattr(evaluation, "optimize", no_lbfgs)
    assert evaluate(3)["styles"] == first["styles"]
    with pytest.raises(AssertionError, match="L-BFGS"):  # other iterations: another reference
        evaluate(4)


def test_gatys_reference_from_noise_is_its_own_reproducible_reference(images, eval_model):
    from cin_style.quality import evaluation
    from cin_style.stylization.tf_backend import Stylizer

    photos = sorted((images / "photos").glob("*.png"))[:1]
    stylizer = Stylizer(eval_model)

    def evaluate(cache, init):
        return evaluation.evaluate_model(stylizer, photos, str(images / "styles"), size=32, gatys_images=1,
                                         gatys_iterations=3, styles=["alpha_style"], reference_cache=cache,
                                         gatys_init=init, log=lambda _: None)

    photo_cache, noise_cache, again_cache = {}, {}, {}
    from_photo, from_noise = evaluate(photo_cache, "photo"), evaluate(noise_cache, "noise")
    assert from_noise["settings"]["gatys_init"] == "noise"
    assert set(photo_cache).isdisjoint(noise_cache)  # different references, never mixed up in one cache
    (photo_ref,), (noise_ref,) = photo_cache.values(), noise_cache.values()
    assert noise_ref["curve"][0] != pytest.approx(photo_ref["curve"][0], rel=1e-3)  # another start
    assert evaluate(again_cache, "noise")["styles"] == from_noise["styles"]  # the same noise each time
    assert from_photo["styles"]["alpha_style"]["ratio"] != from_noise["styles"]["alpha_style"]["ratio"]
    with pytest.raises(ValueError, match="gatys_init must be one of photo, noise"):
        evaluate({}, "zeros")


def test_caches_of_bare_numbers_still_give_the_ratio(images, eval_model):
    from cin_style.quality import evaluation
    from cin_style.stylization.tf_backend import Stylizer

    photos = sorted((images / "photos").glob("*.png"))[:1]
    stylizer = Stylizer(eval_model)

    def evaluate(cache):
        return evaluation.evaluate_model(stylizer, photos, str(images / "styles"), size=32, gatys_images=1,
                                         gatys_iterations=3, styles=["beta_style"], reference_cache=cache,
                                         log=lambda _: None)

    cache = {}
    fresh = evaluate(cache)["styles"]["beta_style"]
    old_style = {key: value["total"] for key, value in cache.items()}  # a cache written before the curves
    reread = evaluate(old_style)["styles"]["beta_style"]
    assert reread["ratio"] == fresh["ratio"]
    assert "gatys_iterations_to_match" in fresh and "gatys_iterations_to_match" not in reread


def test_each_style_is_scored_with_the_style_weight_it_was_trained_with(images, eval_model, tmp_path):
    from cin_style.quality import evaluation
    from cin_style.model.format import load_model, save_model
    from cin_style.stylization.tf_backend import Stylizer

    model = load_model(eval_model)
    model.training_config = {**model.training_config, "style_strengths": {"beta_style": 0.5}}
    strengthened = save_model(model, tmp_path / "strengthened")
    photos = sorted((images / "photos").glob("*.png"))

    def evaluate(path, cache):
        return evaluation.evaluate_model(Stylizer(path), photos, str(images / "styles"), size=32, gatys_images=1,
                                         gatys_iterations=3, reference_cache=cache, log=lambda _: None)["styles"]

    plain_cache, strong_cache = {}, {}
    plain, strong = evaluate(eval_model, plain_cache), evaluate(strengthened, strong_cache)
    assert strong["beta_style"]["style_weight"] == pytest.approx(0.5 * plain["beta_style"]["style_weight"])
    # Same outputs, the style term at half weight; the other styles as before.
    assert strong["beta_style"]["style_loss"] == pytest.approx(0.5 * plain["beta_style"]["style_loss"], rel=1e-5)
    assert strong["beta_style"]["content_loss"] == pytest.approx(plain["beta_style"]["content_loss"], rel=1e-6)
    for name in ("alpha_style", "gamma_style"):
        assert strong[name]["total_loss"] == pytest.approx(plain[name]["total_loss"], rel=1e-6)
    # The Gatys reference of that style optimizes the same reweighted loss: a reference of its own.
    assert len(set(plain_cache) & set(strong_cache)) == 2
    assert strong["beta_style"]["gatys100_total_loss"] != plain["beta_style"]["gatys100_total_loss"]


def test_tflite_fidelity_report(images, eval_model, tmp_path):
    from cin_style.quality.evaluation import tflite_fidelity
    from cin_style.export.tflite import export_tflite
    from cin_style.model.format import load_model
    from cin_style.stylization.tf_backend import Stylizer
    from cin_style.stylization.tflite_backend import TFLiteStylizer

    model = load_model(eval_model)
    export_tflite(model, tmp_path / "f32.tflite", "float32")
    photos = sorted((images / "photos").iterdir())
    report = tflite_fidelity(Stylizer(model), TFLiteStylizer(tmp_path / "f32.tflite"), photos, size=32,
                             log=lambda line: None)
    assert set(report["styles"]) == {"alpha_style", "beta_style", "gamma_style"}
    assert report["median_psnr"] > 60 and report["median_ssim"] > 0.999  # float32 export is near exact
    assert report["worst_style"] in report["styles"]


def test_contact_sheet_and_blend_strip(tiny_model_dir, images):
    from sheets import blend_strip, contact_sheet
    from cin_style.stylization.tf_backend import Stylizer

    stylizer = Stylizer(tiny_model_dir)
    photos = sorted((images / "photos").iterdir())
    sheet = contact_sheet(stylizer, photos, tile_size=48)
    assert sheet.size == (4 * 48 + 5 * 4, 18 + 3 * (48 + 4) + 4)
    strip = np.asarray(blend_strip(stylizer, photos[0], "alpha_style", "gamma_style", steps=5, tile_size=48), float)
    assert strip.shape[1] == 6 * 48 + 7 * 4
    tiles = [strip[18:66, 4 + c * 52: 4 + c * 52 + 48] for c in range(1, 6)]
    steps = [np.abs(tiles[i + 1] - tiles[i]).mean() for i in range(4)]
    assert all(s > 0 for s in steps)  # each blend differs from the next
    assert np.abs(tiles[4] - tiles[0]).mean() > max(steps)  # the ends differ most


def test_model_comparison_puts_each_model_beside_the_other_per_style(tiny_model_dir, images):
    from sheets import model_comparison
    from cin_style.slim.prune import prune_model
    from cin_style.stylization.tf_backend import Stylizer

    full = Stylizer(tiny_model_dir)
    slim = Stylizer(prune_model(full.model, alpha=0.0625))
    photos = sorted((images / "photos").iterdir())[:2]
    sheet = np.asarray(model_comparison({"full": full, "slim": slim}, photos, ["alpha_style", "gamma_style"],
                                        tile_size=40), float)
    assert sheet.shape[:2] == (18 + 2 * (40 + 4) + 4, 5 * 40 + 6 * 4)
    tile = lambda column: sheet[18:58, 4 + column * 44: 4 + column * 44 + 40]  # noqa: E731
    assert np.abs(tile(1) - tile(2)).mean() > 0  # full and slim differ on the same style
    with pytest.raises(ValueError, match="no style 'delta'"):
        model_comparison({"full": full}, photos, ["delta"], tile_size=40)


def test_gatys_reference_column_beside_the_network(images, eval_model):
    from sheets import model_comparison
    from cin_style.quality.evaluation import GatysReference
    from cin_style.stylization.tf_backend import Stylizer

    photo = sorted((images / "photos").iterdir())[0]
    gatys = GatysReference(eval_model, str(images / "styles"), iterations=3)
    picture = np.asarray(gatys.stylize(photo, "alpha_style"), float) / 255
    network = np.asarray(Stylizer(eval_model).stylize(photo, "alpha_style"), float) / 255
    assert picture.shape == network.shape == (36, 40, 3)
    # Optimized from the photo, the picture has moved away from it.
    assert np.abs(picture - np.asarray(Image.open(photo).convert("RGB"), float) / 255).mean() > 1e-3
    noise = np.asarray(GatysReference(eval_model, str(images / "styles"), iterations=3, init="noise")
                       .stylize(photo, "alpha_style"), float) / 255
    assert np.abs(noise - picture).mean() > 1e-3
    sheet = model_comparison({"net": Stylizer(eval_model), "gatys": gatys}, [photo], ["alpha_style"], tile_size=40)
    assert sheet.size == (3 * 40 + 4 * 4, 18 + 40 + 2 * 4)
    with pytest.raises(ValueError, match="no source image for style 'nope'"):
        gatys.stylize(photo, "nope")
    with pytest.raises(ValueError, match="init must be one of photo, noise"):
        GatysReference(eval_model, str(images / "styles"), init="zeros")
