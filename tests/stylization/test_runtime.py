"""The runtime: the plain install stylizes with the bundled .tflite file on LiteRT, never starting
TensorFlow, and agrees with the TensorFlow backend on the same bundled weights."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import cin_style
from cin_style.model.bundled import bundled_runtime_path


def _run_python(script: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          timeout=300)


def _psnr(a, b) -> float:
    return 10 * np.log10(255.0 ** 2 / max(float(np.mean((np.asarray(a, float) - np.asarray(b, float)) ** 2)), 1e-9))


def test_the_bundled_model_stylizes_without_tensorflow(tmp_path):
    """Names, indices, blends, strength, colour, style scale, 16-bit and alpha inputs, the command line."""
    photo = np.random.default_rng(0).integers(0, 256, (40, 52, 3), np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    np.save(tmp_path / "photo16.npy", photo.astype(np.uint16) * 257)
    np.save(tmp_path / "alpha.npy", np.dstack([photo, np.full((40, 52, 1), 128, np.uint8)]))
    result = _run_python(f"""
        import sys, numpy as np
        import cin_style
        from cin_style.cli.main import main
        folder = {str(tmp_path)!r}
        photo = folder + "/photo.png"
        names = cin_style.list_styles()
        outputs = [cin_style.stylize(photo, "starry_night"), cin_style.stylize(photo, 3, strength=0.5),
                   cin_style.stylize(photo, {{names[0]: 0.5, names[1]: 0.5}}, preserve_color=True, style_scale=2),
                   cin_style.stylize(np.load(folder + "/photo16.npy"), "great_wave"),
                   cin_style.stylize(np.load(folder + "/alpha.npy"), "udnie"),
                   cin_style.stylize(photo, regions=[(np.tri(40, 52, dtype=np.float32), "the_kiss"),
                                                     (1 - np.tri(40, 52, dtype=np.float32), 2)])]
        print([o.size for o in outputs], outputs[4].mode)
        assert main(["stylize", photo, "--style", "the_scream=0.7,udnie=0.3", "-o", folder + "/out.jpg"]) == 0
        assert main(["styles"]) == 0
        print("heavy:", sorted(m for m in ("tensorflow", "tf_keras", "keras", "scipy") if m in sys.modules))
    """)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "[(52, 40), (52, 40), (52, 40), (52, 40), (52, 40), (52, 40)] RGBA" in result.stdout
    assert "heavy: []" in result.stdout
    assert "starry_night" in result.stdout and (tmp_path / "out.jpg").exists()
    assert result.stderr == ""  # nothing printed on a healthy machine


def test_without_tensorflow_the_features_that_need_it_name_the_extra(tmp_path):
    result = _run_python("""
        import sys
        sys.modules["tensorflow"] = None  # as if the [train] extra were not installed
        import numpy as np, cin_style
        from cin_style.cli.main import main
        try:
            cin_style.stylize(np.zeros((20, 20, 3), np.uint8), 0, backend="tf")
        except cin_style.MissingExtra as exc:
            print("API:", exc)
        code = main(["train", "--content-dir", ".", "--style-images", "x.jpg", "--output-dir", "run"])
        print("exit", code)
    """)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "API: stylizing with a model folder or backend='tf' needs TensorFlow" in result.stdout
    assert "pip install 'cin-style[train]'" in result.stdout
    assert "exit 2" in result.stdout
    assert "cin-style train: error: cin-style train needs TensorFlow" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_runtime_file_holds_the_bundled_weights_and_agrees_with_tensorflow():
    """int8 with float ends against the float model on the same photo: a stated tolerance, per style."""
    from cin_style.stylization.tf_backend import Stylizer

    metadata = json.load(open(bundled_runtime_path() + ".json"))
    assert metadata["mode"] == "int8" and metadata["float_layers"]
    float_model = Stylizer()
    assert [s["name"] for s in metadata["styles"]] == float_model.style_names
    photo = Image.open(__file__.rsplit("tests", 1)[0] + "assets/examples/chelsea.png").convert("RGB")
    photo = photo.resize((192, 128), Image.LANCZOS)
    scores = {}
    for style in float_model.style_names:
        reference = float_model.stylize(photo, style)
        scores[style] = _psnr(cin_style.stylize(photo, style), reference)
    assert min(scores.values()) > 25, scores
    assert np.median(list(scores.values())) > 28, scores


@pytest.mark.parametrize("threads", [None, 1])
def test_the_runtime_uses_every_cpu_by_default(threads):
    from cin_style.stylization.tflite_backend import TFLiteStylizer, usable_cpu_count

    stylizer = TFLiteStylizer(num_threads=threads)
    assert stylizer.num_threads == (usable_cpu_count() if threads is None else threads)


def test_the_bundled_runtime_tiles_working_images_too_large_for_one_piece():
    """The plain install carries the tiles file: a working image over max_work_pixels is stylized in
    float tiles with shared statistics, the float model's picture, not refused."""
    from cin_style.stylization.tf_backend import Stylizer
    from cin_style.stylization.tflite_backend import TFLiteStylizer

    photo = Image.open(__file__.rsplit("tests", 1)[0] + "assets/examples/coffee.png").convert("RGB")
    photo = photo.resize((200, 136), Image.LANCZOS)
    tiled = TFLiteStylizer(max_work_pixels=64 * 64, tile_size=96)
    out = tiled.stylize(photo, "starry_night", style_scale=1)
    assert out.size == (200, 136)
    assert _psnr(out, Stylizer().stylize(photo, "starry_night", style_scale=1)) > 40


def test_regions_on_the_runtime_match_each_style_inside_and_the_float_model_overall():
    """The runtime runs once per region and cross-fades in the feathered edge; inside a region the result is
    that style's own picture. The TensorFlow backend blends gamma/beta per pixel with instance-norm statistics
    shared by the regions, a different function: 22.2 dB apart on this photo, the same look side by side."""
    from cin_style.stylization.tf_backend import Stylizer

    photo = Image.open(__file__.rsplit("tests", 1)[0] + "assets/examples/coffee.png").convert("RGB")
    photo = photo.resize((144, 96), Image.LANCZOS)
    mask = np.zeros((96, 144), np.float32)
    mask[:, :72] = 1.0
    regions = [(mask, "starry_night"), (1.0 - mask, "great_wave")]
    blended = np.asarray(cin_style.stylize(photo, regions=regions, feather_px=4), float)
    left = np.asarray(cin_style.stylize(photo, "starry_night"), float)
    right = np.asarray(cin_style.stylize(photo, "great_wave"), float)
    np.testing.assert_array_equal(blended[:, :50], left[:, :50])  # beyond 4 sigma of the edge: exactly one style
    np.testing.assert_array_equal(blended[:, 94:], right[:, 94:])
    edge, low, high = blended[:, 66:78], np.minimum(left, right)[:, 66:78], np.maximum(left, right)[:, 66:78]
    assert np.all(edge >= low - 1) and np.all(edge <= high + 1)  # a cross-fade of the two
    float_blend = Stylizer().stylize(photo, None, regions=regions, feather_px=4)
    assert _psnr(blended, float_blend) > 19


def _copy_runtime(tmp_path, content_change=None, metadata_change=None):
    with open(bundled_runtime_path(), "rb") as handle:
        content = handle.read()
    with open(bundled_runtime_path() + ".json") as handle:
        metadata = json.load(handle)
    if content_change:
        content = content_change(content)
    if metadata_change:
        metadata_change(metadata)
    path = tmp_path / "model.tflite"
    path.write_bytes(content)
    (tmp_path / "model.tflite.json").write_text(json.dumps(metadata))
    return str(path)


def _flip_middle(content: bytes) -> bytes:
    middle = len(content) // 2  # inside the weights: still a valid flatbuffer, but not the model exported
    return content[:middle] + bytes(b ^ 0xFF for b in content[middle:middle + 256]) + content[middle + 256:]


@pytest.mark.parametrize("content_change, metadata_change, message", [
    (_flip_middle, None, "do not match the metadata's sha256"),
    (lambda c: c + b"\0" * 16, None, "its metadata says"),
    (None, lambda m: m.update(format="something-else"), '"format" must be'),
    (None, lambda m: m.update(format_version=99), '"format_version" 99'),
    (None, lambda m: m.update(signature="other"), '"signature" must be'),
])
def test_a_damaged_or_foreign_runtime_file_is_refused_before_it_runs(tmp_path, content_change, metadata_change,
                                                                     message):
    from cin_style.stylization.tflite_backend import TFLiteStylizer

    path = _copy_runtime(tmp_path, content_change, metadata_change)
    with pytest.raises(cin_style.ModelError, match=message):
        TFLiteStylizer(path)


def test_metadata_nested_past_the_parser_is_refused_cleanly(tmp_path):
    from cin_style.stylization.tflite_backend import TFLiteStylizer

    path = _copy_runtime(tmp_path, None, None)
    (tmp_path / "model.tflite.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(cin_style.ModelError, match="unreadable metadata .nested too deeply"):
        TFLiteStylizer(path)


def test_the_shipped_runtime_files_record_their_digest():
    from cin_style.stylization.tflite_contract import content_digest

    android = Path(__file__).parents[2] / "android_demo" / "app" / "src" / "main" / "assets" / "cin_style_int8.tflite"
    for path in (bundled_runtime_path(), str(android)):
        with open(path, "rb") as handle, open(path + ".json") as meta:
            assert json.load(meta)["sha256"] == content_digest(handle.read())
