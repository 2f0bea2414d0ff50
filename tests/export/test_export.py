"""TFLite export of a tiny model in every mode, run through LiteRT."""

import json

import numpy as np
import pytest

import cin_style
from cin_style.stylization.controls import BORDER_MARGIN
from cin_style.export.network import export_network
from cin_style.export.tflite import MODES, export_tflite, representative_images
from cin_style.stylization.tflite_backend import TFLiteStylizer


def _psnr(a, b):
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return 10 * np.log10(1.0 / max(mse, 1e-12))


@pytest.fixture(scope="module")
def calibration(tmp_path_factory):
    from PIL import Image

    folder = tmp_path_factory.mktemp("calibration")
    rng = np.random.default_rng(0)
    for i in range(4):
        small = rng.random((5, 6, 3))
        Image.fromarray((small * 255).astype(np.uint8)).resize((48, 40), Image.BICUBIC).save(folder / f"{i}.png")
    return sorted(str(p) for p in folder.iterdir())


@pytest.fixture(scope="module")
def exported(tiny_model, calibration, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tflite")
    files = {}
    for mode in MODES:
        representative = representative_images(calibration, tiny_model.num_styles, 32) if mode == "int8" else None
        files[mode] = str(folder / f"tiny_{mode}.tflite")
        export_tflite(tiny_model, files[mode], mode, representative=representative)
    return files


@pytest.mark.parametrize("layout", ["fast", "compact", "plain"])
def test_export_network_matches_the_training_network(tiny_model, layout):
    from cin_style.model.architecture import pad_to_size_multiple

    weights = np.array([[0.2, 0.0, 0.8]], np.float32)
    network = export_network(tiny_model, layout=layout)
    for height, width in ((20, 28), (21, 30)):
        image = np.random.default_rng(1).random((1, height, width, 3), np.float32)
        # the export network takes multiples of 4; its caller pads and crops
        exported = network([pad_to_size_multiple(image), weights]).numpy()[:, :height, :width]
        np.testing.assert_allclose(exported, tiny_model.network([image, weights]).numpy(), atol=1e-5)


def test_contrast_standardization_is_cancelled_by_the_first_norm(tiny_model):
    """The export network rescales the image by 1/its deviation (int8 ranges then do not follow the
    photo's contrast); the first instance norm must cancel that exactly, also on a nearly flat photo,
    where its variance floor matters."""
    weights = np.array([[0.0, 1.0, 0.0]], np.float32)
    network = export_network(tiny_model, layout="plain")
    assert any(layer.name == "standardize_contrast" for layer in network.layers)
    photo = np.random.default_rng(3).random((1, 24, 32, 3), np.float32)
    for contrast in (1.0, 0.02):
        detail = (photo - 0.5) * contrast
        # The first norm removes per-channel offsets, so the mean-free image gives the same output
        # without float32 cancellation (0.5 + detail loses ~1e-4 of it at this contrast).
        expected = tiny_model.network([detail, weights]).numpy()
        np.testing.assert_allclose(network([0.5 + detail, weights]).numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("layout", ["compact", "plain"])
def test_other_layouts_export_the_same_function(tiny_model, exported, layout, tmp_path):
    """The fixture's files use the default layout, fast; the others trade speed for a smaller file."""
    path = str(tmp_path / f"{layout}.tflite")
    metadata = export_tflite(tiny_model, path, "float32", layout=layout)
    assert metadata["layout"] == layout
    assert json.loads(open(exported["float32"] + ".json").read())["layout"] == "fast"
    image = np.random.default_rng(2).random((27, 34, 3), np.float32)
    weights = np.eye(tiny_model.num_styles, dtype=np.float32)[1]
    np.testing.assert_allclose(TFLiteStylizer(path).stylize_array(image, weights),
                               TFLiteStylizer(exported["float32"]).stylize_array(image, weights), atol=1e-4)
    with pytest.raises(ValueError, match="layout"):
        export_tflite(tiny_model, str(tmp_path / "bad.tflite"), "float32", layout="tiny")


def test_export_without_internal_tensor_names_is_smaller_and_the_same(tiny_model, exported, calibration, tmp_path):
    """tensor_names=False drops every name but the inputs' and outputs': a smaller file, the same
    outputs, and the metadata's I/O spec (what apps read) unchanged."""
    from ai_edge_litert.interpreter import Interpreter

    path = tmp_path / "unnamed.tflite"
    metadata = export_tflite(tiny_model, path, "int8", representative=representative_images(calibration, 3, 32),
                             tensor_names=False)
    named = json.load(open(exported["int8"] + ".json"))
    assert metadata["tensor_names"] == "inputs and outputs only" and named["tensor_names"] == "all"
    assert metadata["io"] == named["io"]
    assert metadata["size_bytes"] < named["size_bytes"]
    names = [t["name"] for t in Interpreter(model_path=str(path)).get_tensor_details()]
    io_names = {spec["tensor_name"] for kind in ("inputs", "outputs") for spec in metadata["io"][kind].values()}
    assert set(names) - {""} == io_names
    image = np.random.default_rng(4).random((21, 30, 3), np.float32)
    weights = np.array([0.2, 0.5, 0.3], np.float32)
    np.testing.assert_array_equal(TFLiteStylizer(str(path)).stylize_array(image, weights),
                                  TFLiteStylizer(exported["int8"]).stylize_array(image, weights))


def test_exported_graph_has_no_shape_dependent_ops(exported):
    """SHAPE-driven slicing makes LiteRT re-prepare every op on every run; sizes are the caller's job."""
    from ai_edge_litert.interpreter import Interpreter

    for mode, path in exported.items():
        ops = {op["op_name"] for op in Interpreter(model_path=path)._get_ops_details()}
        assert not ops & {"SHAPE", "SLICE", "MIRROR_PAD", "PACK", "FLOOR_MOD"}, (mode, sorted(ops))


def test_channel_equalization_keeps_the_function_and_evens_out_channel_ranges(tiny_model, calibration):
    from cin_style.export.network import equalize_channel_scales
    from cin_style.model.network import build_transform_network

    samples = representative_images(calibration, tiny_model.num_styles, 32)
    # make one channel of the first conv 50x louder: the instance norm must not care
    loud = tiny_model.network.get_layer("in_conv").get_weights()[0].copy()
    loud[..., 0] *= 50.0
    network = export_network(tiny_model)
    network.get_layer("in_conv").set_weights([loud])
    divisors = equalize_channel_scales(tiny_model, network, samples)
    assert len(divisors) == sum(1 for layer in network.layers if layer.name.endswith("_conv"))
    image = np.random.default_rng(2).random((1, 24, 28, 3), np.float32)
    weights = np.array([[0.0, 0.3, 0.7]], np.float32)
    np.testing.assert_allclose(network([image, weights]).numpy(), tiny_model.network([image, weights]).numpy(),
                               atol=1e-4)
    probe = build_transform_network(tiny_model.architecture, norm_stats="expose")
    probe.set_weights(network.get_weights())
    sample = next(samples())
    deviations = np.sqrt(probe([sample["image"], sample["style_weights"]])[2].numpy().ravel())
    assert deviations.max() / deviations.min() < 3  # channel 0 is no longer 50x the others


@pytest.mark.parametrize("height,width", [(32, 32), (17, 23), (40, 19)])
def test_float32_matches_keras_for_any_size(tiny_model, exported, height, width):
    stylizer = TFLiteStylizer(exported["float32"])
    image = np.random.default_rng(height).random((height, width, 3), np.float32)
    weights = np.array([0.0, 1.0, 0.0], np.float32)
    expected = tiny_model.network([image[None], weights[None]]).numpy()[0]
    np.testing.assert_allclose(stylizer.stylize_array(image, weights), expected, atol=1e-4)


@pytest.mark.parametrize("mode,min_psnr", [("float16", 35.0), ("dynamic", 25.0), ("int8", 20.0)])
def test_quantized_modes_stay_close(tiny_model, exported, calibration, mode, min_psnr):
    from cin_style.files.images import center_crop
    from cin_style.files.images import load_image

    stylizer = TFLiteStylizer(exported[mode])
    image = center_crop(load_image(calibration[0]).rgb, 32)
    for style in range(3):
        weights = np.eye(3, dtype=np.float32)[style]
        expected = tiny_model.network([image[None], weights[None]]).numpy()[0]
        assert _psnr(stylizer.stylize_array(image, weights), expected) > min_psnr


def test_int8_is_fully_quantized(exported):
    """Every op but the I/O QUANTIZE/DEQUANTIZE works on int8 (int32 for biases and shapes)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=exported["int8"])
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    ops = interpreter._get_ops_details()
    assert sum(op["op_name"] == "CONV_2D" for op in ops) == 8  # in, 2 down, 2 in one residual block, 2 up, out
    for op in ops:
        if op["op_name"] in ("QUANTIZE", "DEQUANTIZE"):
            continue
        for index in [*op["inputs"], *op["outputs"]]:
            if index >= 0:
                assert tensors[index]["dtype"] in (np.int8, np.int32), (op["op_name"], tensors[index]["name"])


def _weight_scale_counts(path) -> dict[str, set[int]]:
    """Per op kind, the numbers of scales its int8 weight tensors have."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    counts = {}
    for op in interpreter._get_ops_details():
        if op["op_name"] in ("CONV_2D", "FULLY_CONNECTED"):
            weights = tensors[op["inputs"][1]]
            counts.setdefault(op["op_name"], set()).add(len(weights["quantization_parameters"]["scales"]))
    return counts


def test_int8_weight_scales_per_channel_for_convs_per_tensor_for_style_tables(exported):
    """Convolutions keep a scale per output channel; the gamma/beta tables (fully connected, one
    column per channel) share one, which saves the per-channel parameters' bytes."""
    counts = _weight_scale_counts(exported["int8"])
    assert counts["FULLY_CONNECTED"] == {1}
    assert min(counts["CONV_2D"]) > 1
    assert json.load(open(exported["int8"] + ".json"))["weight_scales"].endswith("per tensor (fully connected)")


@pytest.mark.parametrize("uint8_io", [False, True])
def test_int8_with_float_ends(tiny_model, exported, calibration, uint8_io, tmp_path):
    """float_ends keeps the 3-channel ends (contrast standardization, output norm and sigmoid)
    float and everything between them, every convolution included, int8; the default stays
    fully integer."""
    from ai_edge_litert.interpreter import Interpreter

    from cin_style.files.images import center_crop
    from cin_style.export.tflite import FLOAT_END_LAYERS
    from cin_style.files.images import load_image

    path = str(tmp_path / "ends.tflite")
    meta = export_tflite(tiny_model, path, "int8", representative=representative_images(calibration, 3, 32),
                         float_ends=True, uint8_io=uint8_io)
    assert meta["fully_integer"] is False and meta["float_layers"] == [*FLOAT_END_LAYERS, "output activation"]
    assert json.load(open(exported["int8"] + ".json"))["fully_integer"] is True
    assert meta["io"]["inputs"]["image"]["dtype"] == ("uint8" if uint8_io else "float32")
    interpreter = Interpreter(model_path=path)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    float_ops = convs = 0
    for op in interpreter._get_ops_details():
        output = tensors[op["outputs"][0]]
        in_ends = any(f"/{layer}/" in output["name"] for layer in FLOAT_END_LAYERS) or op["op_name"] == "LOGISTIC"
        if op["op_name"] == "CONV_2D":
            convs += 1
            assert output["dtype"] == np.int8 and tensors[op["inputs"][1]]["dtype"] == np.int8
        elif in_ends and op["op_name"] not in ("QUANTIZE", "DEQUANTIZE"):
            float_ops += 1
            assert output["dtype"] == np.float32, output["name"]
        elif op["op_name"] not in ("QUANTIZE", "DEQUANTIZE"):
            assert output["dtype"] in (np.int8, np.int32), (op["op_name"], output["name"])
    assert convs == 8 and float_ops >= 10
    stylizer = TFLiteStylizer(path)
    image = center_crop(load_image(calibration[0]).rgb, 32)
    for style in range(3):
        weights = np.eye(3, dtype=np.float32)[style]
        expected = tiny_model.network([image[None], weights[None]]).numpy()[0]
        assert _psnr(stylizer.stylize_array(image, weights), expected) > 20
    with pytest.raises(ValueError, match="float_ends applies to int8 post-training quantization only"):
        export_tflite(tiny_model, tmp_path / "f.tflite", "float32", float_ends=True)


def test_metadata_matches_the_tensors(tiny_model, exported):
    from ai_edge_litert.interpreter import Interpreter

    for mode, path in exported.items():
        meta = json.load(open(path + ".json"))
        assert meta["mode"] == mode and [s["name"] for s in meta["styles"]] == tiny_model.style_names
        assert meta["channel_equalization"] == (mode == "int8")
        assert meta["size_multiple"] == 4
        assert meta["border_margin"] == BORDER_MARGIN  # the Android sample pads this much around the photo
        runner = Interpreter(model_path=path).get_signature_runner(meta["signature"])
        for kind, details in (("inputs", runner.get_input_details()), ("outputs", runner.get_output_details())):
            assert set(meta["io"][kind]) == set(details)
            for name, detail in details.items():
                assert meta["io"][kind][name]["shape_signature"] == [int(x) for x in detail["shape_signature"]]
                assert meta["io"][kind][name]["dtype"] == np.dtype(detail["dtype"]).name
        assert meta["io"]["inputs"]["image"]["shape_signature"] == [1, -1, -1, 3]
        assert meta["io"]["inputs"]["style_weights"]["shape_signature"] == [1, 3]


def test_uint8_io(tiny_model, calibration, tmp_path):
    path = tmp_path / "u8.tflite"
    meta = export_tflite(tiny_model, path, "int8", uint8_io=True,
                         representative=representative_images(calibration, 3, 32))
    assert meta["io"]["inputs"]["image"]["dtype"] == "uint8"
    assert meta["io"]["outputs"]["stylized"]["dtype"] == "uint8"
    stylizer = TFLiteStylizer(path)
    out = stylizer.stylize(np.full((20, 30, 3), 128, np.uint8), "beta_style")
    assert out.size == (30, 20)
    image = np.random.default_rng(3).random((24, 24, 3), np.float32)
    for style in range(3):
        weights = np.eye(3, dtype=np.float32)[style]
        expected = tiny_model.network([image[None], weights[None]]).numpy()[0]
        assert _psnr(stylizer.stylize_array(image, weights), expected) > 15


def test_stylize_with_the_tflite_backend(tiny_model_dir, exported, photo_path):
    tf_out = np.asarray(cin_style.stylize(photo_path, "gamma_style", model=tiny_model_dir), float)
    lite_out = np.asarray(cin_style.stylize(photo_path, "gamma_style", backend="tflite",
                                            tflite_model=exported["float32"]), float)
    assert lite_out.shape == tf_out.shape
    assert np.abs(lite_out - tf_out).max() <= 1.0  # 8-bit rounding only
    lite_scaled = np.asarray(cin_style.stylize(photo_path, "gamma_style", backend="tflite", style_scale=2,
                                               tflite_model=exported["float32"]), float)
    tf_scaled = np.asarray(cin_style.stylize(photo_path, "gamma_style", model=tiny_model_dir, style_scale=2), float)
    assert lite_scaled.shape == tf_out.shape
    assert np.abs(lite_scaled - tf_scaled).max() <= 1.0
    with pytest.raises(ValueError, match="model= is a TensorFlow model"):
        cin_style.stylize(photo_path, 0, model=tiny_model_dir, backend="tflite")


def test_bad_modes_and_missing_files(tiny_model, tmp_path):
    with pytest.raises(ValueError, match="mode must be one of"):
        export_tflite(tiny_model, tmp_path / "x.tflite", "int4")
    with pytest.raises(ValueError, match="calibration"):
        export_tflite(tiny_model, tmp_path / "x.tflite", "int8")
    with pytest.raises(cin_style.ModelError, match="no such TFLite model"):
        TFLiteStylizer(tmp_path / "none.tflite")


def test_quantization_aware_int8_export(tiny_model, calibration, tmp_path):
    from cin_style.files.images import center_crop
    from cin_style.files.images import load_image

    crops = np.stack([center_crop(load_image(p).rgb, 32) for p in calibration]).astype(np.float32)
    path = tmp_path / "qat.tflite"
    representative = representative_images(calibration, 3, 32)
    with pytest.raises(ValueError, match="plain layout"):
        export_tflite(tiny_model, tmp_path / "fast.tflite", "int8", representative=representative, qat_steps=20,
                      qat_crops=crops)
    meta = export_tflite(tiny_model, path, "int8", representative=representative, qat_steps=20, qat_crops=crops,
                         layout="plain")
    assert meta["quantization_aware_steps"] == 20 and meta["layout"] == "plain"
    assert not (tmp_path / "fast.tflite").exists()
    assert _weight_scale_counts(path)["FULLY_CONNECTED"] == {1}  # as the metadata's weight_scales says
    stylizer = TFLiteStylizer(path)
    for style in range(3):
        weights = np.eye(3, dtype=np.float32)[style]
        expected = tiny_model.network([crops[:1], weights[None]]).numpy()[0]
        # The pipeline works end to end; 20 steps on a 4-channel random network prove nothing about
        # QAT versus post-training quality (measured on the real model, see docs/mobile.md).
        assert _psnr(stylizer.stylize_array(crops[0], weights), expected) > 15


def test_quantile_ranges_lie_inside_the_calibrated_ranges_and_narrow_with_the_quantile(tiny_model, calibration):
    from tensorflow.lite.tools import flatbuffer_utils

    from cin_style.export import calibration as ranges_lib
    from cin_style.export.tflite import _converter

    representative = representative_images(calibration, 3, 32)
    network = export_network(tiny_model, equalize_with=representative)
    calibrated = ranges_lib.calibrate_only(_converter(tiny_model, "int8", representative, False, network))
    tensors = flatbuffer_utils.convert_bytearray_to_object(calibrated).subgraphs[0].tensors
    recorded = {i: (float(t.quantization.min[0]), float(t.quantization.max[0])) for i, t in enumerate(tensors)
                if t.quantization is not None and t.quantization.min is not None}
    ranges = ranges_lib.quantile_ranges(calibrated, representative, [1.0, 0.99])
    assert set(ranges[1.0]) == set(ranges[0.99]) == set(recorded)
    images = [sample["image"] for sample in representative()]
    image_tensor = next(i for i, t in enumerate(tensors) if t.name == b"serving_default_image:0")
    assert ranges[1.0][image_tensor] == pytest.approx((min(map(np.min, images)), max(map(np.max, images))))
    # Where no op overwrote its input in place before the calibrator logged it, both measure the same.
    agree = sum(np.allclose(ranges[1.0][i], recorded[i], rtol=1e-3, atol=1e-5) for i in recorded)
    assert agree >= 0.8 * len(recorded)
    narrower = 0
    for index, (low, high) in ranges[1.0].items():
        low_q, high_q = ranges[0.99][index]
        assert low - 1e-6 <= low_q <= high_q <= high + 1e-6, tensors[index].name
        narrower += (high_q - low_q) < 0.95 * (high - low)
    assert narrower >= 10  # the full-resolution activations lose their outliers
    with pytest.raises(ValueError, match="quantiles must lie in"):
        ranges_lib.quantile_ranges(calibrated, representative, [0.2])


def test_quantization_mse_matches_quantizing_the_values():
    from cin_style.export.calibration import quantization_mse

    values = np.sort(np.random.default_rng(0).standard_t(3, 200_000))
    lows, highs = np.array([values[0], -50.0, -4.0, -1.0]), np.array([values[-1], 45.0, 5.0, 0.5])
    predicted = quantization_mse(values, lows, highs)
    for low, high, mse in zip(lows, highs, predicted):
        step = (high - low) / 255.0
        direct = np.mean((np.round((np.clip(values, low, high) - low) / step) * step + low - values) ** 2)
        assert mse == pytest.approx(direct, rel=0.05), (low, high)
    # Clipping the rarest tail values (t with 3 degrees of freedom spans about -75..62 here) gives finer
    # steps to all others; clipping much of the tail costs more than it saves.
    assert predicted[1] < predicted[0] < predicted[2]


def test_mse_ranges_lie_inside_the_measured_ranges_and_clip_outliers(tiny_model, calibration):
    from cin_style.export import calibration as ranges_lib
    from cin_style.export.tflite import _converter

    representative = representative_images(calibration, 3, 32)
    first, second = list(representative()), list(representative())  # every pass sees the same blends
    assert all(np.array_equal(a["style_weights"], b["style_weights"]) for a, b in zip(first, second))
    network = export_network(tiny_model, equalize_with=representative)
    calibrated = ranges_lib.calibrate_only(_converter(tiny_model, "int8", representative, False, network))
    measured = ranges_lib.quantile_ranges(calibrated, representative, [1.0])[1.0]
    ranges = ranges_lib.mse_ranges(calibrated, representative)
    assert set(ranges) == set(measured)
    narrower = 0
    for index, (low, high) in ranges.items():
        low_measured, high_measured = measured[index]
        # inside the measured range, widened to hold 0 (small tensors such as variances keep theirs)
        assert min(low_measured, 0) - 1e-6 <= low <= high <= max(high_measured, 0) + 1e-6
        narrower += (high - low) < 0.95 * (high_measured - low_measured)
    assert narrower >= 5
    with pytest.raises(ValueError, match="power must be positive"):
        ranges_lib.mse_ranges(calibrated, representative, power=0)


def test_int8_export_activation_ranges(tiny_model, exported, calibration, tmp_path):
    """The default int8 export chooses each range by least quantization error; "calibrator" keeps the
    converter's min/max; a quantile narrows to quantiles."""
    from ai_edge_litert.interpreter import Interpreter

    representative = representative_images(calibration, 3, 32)
    paths = {ranges: tmp_path / f"{ranges}.tflite" for ranges in ("calibrator", 0.999)}
    for ranges, path in paths.items():
        meta = export_tflite(tiny_model, path, "int8", representative=representative, activation_ranges=ranges)
        assert meta["activation_ranges"] == ("calibrated min/max" if ranges == "calibrator" else "quantile 0.999")
    assert json.load(open(exported["int8"] + ".json"))["activation_ranges"].startswith("least relative quantization")
    assert json.load(open(exported["float32"] + ".json"))["activation_ranges"] is None

    def scales(file):
        return {t["name"]: t["quantization"][0] for t in Interpreter(model_path=str(file)).get_tensor_details()
                if t["dtype"] == np.int8 and len(t["shape"]) == 4}
    minmax = scales(paths["calibrator"])
    assert _weight_scale_counts(paths["calibrator"])["FULLY_CONNECTED"] == {1}  # the converter's own path too
    for narrowed in (scales(exported["int8"]), scales(paths[0.999])):
        assert sum(narrowed[name] < 0.95 * minmax[name] for name in set(minmax) & set(narrowed)) >= 5
    for bad in (0.3, "median"):
        with pytest.raises(ValueError, match="activation_ranges must be 'mse', 'calibrator' or a quantile"):
            export_tflite(tiny_model, tmp_path / "bad.tflite", "int8", representative=representative,
                          activation_ranges=bad)
    assert not (tmp_path / "bad.tflite").exists()


def test_benchmark_times_a_tflite_file_without_its_metadata(exported, tmp_path):
    """A .tflite copied without its JSON (as apps bundle them) still times; its GFLOP are unknown."""
    import os
    import shutil
    import subprocess
    import sys

    bare = tmp_path / "bare.tflite"
    shutil.copy(exported["int8"], bare)
    tool = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "benchmark.py")
    result = subprocess.run([sys.executable, tool, f"--single=tflite:int8:32:{bare}", "--repeats=1"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    row = json.loads(result.stdout.strip().splitlines()[-1])
    assert row["median_ms"] > 0 and row["gflop"] is None and row["size"] == 32


def test_interleaved_benchmark_times_every_variant_in_the_same_rounds(tiny_model_dir, exported, tmp_path):
    """--what interleaved times the TF model and each .tflite in turn and reports their ratios."""
    import os
    import subprocess
    import sys

    tool = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "benchmark.py")
    report = tmp_path / "report.json"
    result = subprocess.run([sys.executable, tool, "--what=interleaved", f"--model={tiny_model_dir}", "--sizes=32",
                             "--repeats=3", f"--tflite=f32={exported['float32']},int8={exported['int8']}",
                             f"--json={report}"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.load(open(report))["interleaved"]
    assert [(r["backend"], r["variant"]) for r in rows] == [("tf", os.path.basename(tiny_model_dir)),
                                                              ("tflite", "f32"), ("tflite", "int8")]
    assert all(r["rounds"] == 3 and r["median_ms"] > 0 and r["fp32_matmul_gflops_same_rounds"] > 0 for r in rows)
    assert rows[0]["tf_float_over_this"] == 1.0
    assert "TF float / this" in result.stdout


def test_interleaved_times_runs_each_function_once_per_round_in_turn():
    from benchmarking import interleaved_times

    calls = []
    times = interleaved_times({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=3, warmup=1)
    assert calls == ["a", "b"] + ["a", "b"] * 3
    assert {name: len(t) for name, t in times.items()} == {"a": 3, "b": 3}
    with pytest.raises(ValueError, match="rounds"):
        interleaved_times({"a": lambda: None}, rounds=0)


@pytest.mark.parametrize("edit,message", [
    (lambda m: m.__setitem__("styles", "abc"), "\"styles\" must be a list"),
    (lambda m: m.__setitem__("styles", [{"name": 3}] * len(m["styles"])), "\"styles\" must be a list"),
    (lambda m: m.__setitem__("styles", m["styles"][:1]), "lists 1 styles"),
    (lambda m: m["architecture"].__setitem__("num_styles", "many"), "num_styles must be an integer"),
    (lambda m: m.__setitem__("architecture", None), "bad \"architecture\" entry"),
])
def test_wrong_typed_tflite_metadata_is_a_model_error(exported, tmp_path, edit, message):
    import shutil

    from cin_style.errors import ModelError
    from cin_style.stylization.tflite_backend import TFLiteStylizer

    path = str(tmp_path / "model.tflite")
    shutil.copy(exported["float32"], path)
    meta = json.load(open(exported["float32"] + ".json"))
    edit(meta)
    with open(path + ".json", "w") as handle:
        json.dump(meta, handle)
    with pytest.raises(ModelError, match=f"model.tflite.json: .*{message}"):
        TFLiteStylizer(path)


def test_the_tflite_backend_uses_every_usable_cpu_by_default(exported):
    from cin_style.stylization.tflite_backend import TFLiteStylizer, usable_cpu_count

    assert TFLiteStylizer(exported["float32"]).num_threads == usable_cpu_count() >= 1
    assert TFLiteStylizer(exported["float32"], num_threads=1).num_threads == 1
    with pytest.raises(ValueError, match="num_threads must be an integer in 1..1024"):
        TFLiteStylizer(exported["float32"], num_threads=0)


@pytest.fixture(scope="module")
def with_tiles(tiny_model, exported, tmp_path_factory):
    """The tiny int8 file copied into a folder of its own with its tiles file beside it."""
    import shutil

    from cin_style.export.tflite import export_tile_model
    from cin_style.stylization.tflite_contract import tiles_path

    folder = tmp_path_factory.mktemp("tiles")
    path = str(folder / "tiny.tflite")
    for suffix in ("", ".json"):
        shutil.copy(exported["int8"] + suffix, path + suffix)
    export_tile_model(tiny_model, tiles_path(path), json.load(open(path + ".json"))["sha256"])
    return path


def test_images_too_large_for_one_piece_are_tiled_with_the_whole_images_statistics(tiny_model_dir, with_tiles):
    """Above max_work_pixels the runtime stylizes in float tiles that share the whole image's instance-norm
    statistics: no seams, and the float model's picture (the tiles file holds the same weights in float16)."""
    from PIL import Image

    rng = np.random.default_rng(3)
    photo = Image.fromarray((rng.random((7, 9, 3)) * 255).astype(np.uint8)).resize((150, 118), Image.BICUBIC)
    calls = []
    tiled = TFLiteStylizer(with_tiles, max_work_pixels=40 * 40, tile_size=48, tile_margin=24,
                           progress=lambda done, total: calls.append((done, total)))
    out = np.asarray(tiled.stylize(photo, "beta_style", style_scale=1), float)
    total = calls[-1][1]
    assert total >= 9 and calls == [(done, total) for done in range(1, total + 1)]
    reference = np.asarray(cin_style.stylize(photo, "beta_style", model=tiny_model_dir, style_scale=1), float)
    assert out.shape == reference.shape == (118, 150, 3)
    assert _psnr(out / 255, reference / 255) > 40  # float16 weights; a seam would cost far more
    # measured on a copy shrunk below stats_max_pixels: an estimate, still shared by every tile, so small
    # tiles give the picture of one tile over the whole image
    shrunk = [np.asarray(TFLiteStylizer(with_tiles, max_work_pixels=40 * 40, tile_size=size, tile_margin=24,
                                        stats_max_pixels=2000).stylize(photo, "beta_style", style_scale=1), float)
              for size in (48, 400)]
    assert _psnr(shrunk[0] / 255, shrunk[1] / 255) > 50


def test_without_a_tiles_file_large_images_are_refused_with_advice(exported, tmp_path):
    from PIL import Image

    photo = Image.new("RGB", (96, 80), (120, 80, 40))
    stylizer = TFLiteStylizer(exported["float32"], max_work_pixels=64 * 64)
    with pytest.raises(cin_style.ImageError, match="more than the runtime stylizes in one piece.*tiles.tflite"):
        stylizer.stylize(photo, 0, style_scale=1)
    assert stylizer.stylize(photo, 0, style_scale=2).size == (96, 80)  # at half the size it fits


def test_a_tiles_file_is_used_only_with_its_own_model(with_tiles, exported, tmp_path):
    import shutil

    from PIL import Image

    from cin_style.stylization.tflite_contract import tiles_path

    photo = Image.new("RGB", (96, 80), (120, 80, 40))
    path = str(tmp_path / "other.tflite")
    for suffix in ("", ".json"):  # another model file beside a tiles file made for the tiny int8 one
        shutil.copy(exported["float32"] + suffix, path + suffix)
        shutil.copy(tiles_path(with_tiles) + suffix, tiles_path(path) + suffix)
    with pytest.raises(cin_style.ModelError, match="made for another model file"):
        TFLiteStylizer(path, max_work_pixels=64 * 64).stylize(photo, 0, style_scale=1)
    with pytest.raises(cin_style.ModelError, match="a tiles file, which only helps its main model"):
        TFLiteStylizer(tiles_path(with_tiles))
