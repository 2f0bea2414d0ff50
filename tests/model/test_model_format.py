import json
import os
import shutil

import numpy as np
import pytest

from cin_style.errors import ModelError
from cin_style.model.format import CinModel, StyleInfo, load_model, save_model
from cin_style.model.architecture import Architecture
from tiny_models import make_tiny_model


def _outputs(model, image, style=0):
    weights = np.eye(model.num_styles, dtype=np.float32)[style:style + 1]
    return model.network([image, weights]).numpy()


def test_save_and_load_round_trip(tmp_path):
    model = make_tiny_model(seed=3)
    model.training_config = {"num_steps": 7}
    path = save_model(model, tmp_path / "m")
    assert sorted(os.listdir(path)) == ["model.json", "styles.json", "weights.npz"]
    loaded = load_model(path)
    assert loaded.style_names == model.style_names
    assert loaded.architecture == model.architecture
    assert loaded.training_config == {"num_steps": 7}
    image = np.random.default_rng(0).random((1, 20, 20, 3), np.float32)
    np.testing.assert_array_equal(_outputs(loaded, image, 2), _outputs(model, image, 2))
    assert loaded.shared_weights_fingerprint() == model.shared_weights_fingerprint()


def test_loading_needs_no_code_change_for_other_sizes(tmp_path):
    model = CinModel(Architecture(5, alpha=0.25, num_residual_blocks=2), [StyleInfo(f"s{i}") for i in range(5)])
    loaded = load_model(save_model(model, tmp_path / "m5"))
    assert loaded.architecture == Architecture(5, 0.25, 2)


def test_float16_storage_is_close(tmp_path):
    model = make_tiny_model(seed=4)
    loaded = load_model(save_model(model, tmp_path / "half", dtype="float16"))
    image = np.random.default_rng(1).random((1, 16, 16, 3), np.float32)
    np.testing.assert_allclose(_outputs(loaded, image), _outputs(model, image), atol=2e-2)


def test_existing_directory_needs_overwrite(tmp_path):
    model = make_tiny_model()
    save_model(model, tmp_path / "m")
    with pytest.raises(ModelError, match="already exists"):
        save_model(model, tmp_path / "m")
    save_model(model, tmp_path / "m", overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["m"]  # no staging directories left behind


def test_nan_weights_are_never_saved(tmp_path):
    model = make_tiny_model()
    model.network.get_layer("in_norm").beta.assign(np.full((3, 4), np.nan))
    with pytest.raises(ModelError, match="NaN"):
        save_model(model, tmp_path / "m")
    assert not os.listdir(tmp_path)


@pytest.fixture
def saved(tmp_path, tiny_model_dir):
    path = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, path)
    return path


def test_missing_directory(tmp_path):
    with pytest.raises(ModelError, match="no such model directory"):
        load_model(tmp_path / "nope")


def test_truncated_weights_name_the_file(saved):
    weights = saved / "weights.npz"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="weights.npz.*truncated or corrupt"):
        load_model(saved)


def test_wrong_format_version(saved):
    meta = json.loads((saved / "model.json").read_text())
    meta["format_version"] = 99
    (saved / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="model.json: format version 99 is not supported"):
        load_model(saved)


def test_corrupt_json(saved):
    (saved / "styles.json").write_text("{not json")
    with pytest.raises(ModelError, match="styles.json: not valid JSON"):
        load_model(saved)


def test_json_nested_past_the_parser_or_oversized_is_a_model_error(saved, monkeypatch):
    (saved / "model.json").write_text("[" * 100_000 + "]" * 100_000)  # Python's parser recurses per level
    with pytest.raises(ModelError, match="model.json: not valid JSON .*nested too deeply"):
        load_model(saved)
    monkeypatch.setattr("cin_style.files.json_files.MAX_JSON_BYTES", 100)
    (saved / "model.json").write_text(json.dumps({"padding": "x" * 200}))
    with pytest.raises(ModelError, match="model.json: not valid JSON .*at most 100"):
        load_model(saved)


def test_manifest_that_does_not_match_the_weights(saved):
    styles = json.loads((saved / "styles.json").read_text())
    (saved / "styles.json").write_text(json.dumps(styles[:2]))
    with pytest.raises(ModelError, match="lists 2 styles"):
        load_model(saved)
    meta = json.loads((saved / "model.json").read_text())
    meta["architecture"]["num_styles"] = 2
    (saved / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="weights.npz: .*expected float32 or float16 of shape"):
        load_model(saved)


def test_missing_file(saved):
    os.remove(saved / "weights.npz")
    with pytest.raises(ModelError, match="weights.npz: missing"):
        load_model(saved)


@pytest.mark.parametrize("name", ["", "3", "-x", "a b", None])
def test_bad_style_names(name):
    with pytest.raises(ModelError):
        StyleInfo(name)


def test_weight_average_of_snapshots(tmp_path):
    import subprocess
    import sys

    from averaging import average_models

    first, second = make_tiny_model(seed=1), make_tiny_model(seed=2)
    first.training_config, second.training_config = {"step": 100}, {"step": 200}
    averaged = average_models([first, second])
    for a, b, mean in zip(first.network.get_weights(), second.network.get_weights(), averaged.network.get_weights()):
        np.testing.assert_allclose(mean, (a + b) / 2, rtol=1e-6)
    assert averaged.style_names == first.style_names
    assert averaged.training_config["weight_average"] == {"models": 2, "steps": [100, 200]}

    renamed = make_tiny_model(seed=2)
    renamed.styles = [StyleInfo(name=f"other_{i}") for i in range(renamed.num_styles)]
    with pytest.raises(ModelError, match="styles"):
        average_models([first, renamed])
    with pytest.raises(ModelError, match="architecture"):
        average_models([first, make_tiny_model(seed=2, num_styles=2)])
    with pytest.raises(ValueError, match="at least two"):
        average_models([first])

    # the packaging tool averages comma-separated snapshots
    for name, model in (("a", first), ("b", second)):
        model.save(tmp_path / name)
    tool = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "package_model.py")
    result = subprocess.run([sys.executable, tool, "--model", f"{tmp_path / 'a'},{tmp_path / 'b'}",
                             "--output", str(tmp_path / "packaged")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    packaged = load_model(tmp_path / "packaged")
    assert packaged.training_config["weight_average"]["steps"] == [100, 200]
    image = np.random.default_rng(0).random((1, 16, 16, 3), np.float32)
    np.testing.assert_allclose(_outputs(packaged, image), _outputs(averaged, image), atol=2e-3)  # float16 storage


def test_invert_input_paints_the_photo_instead_of_its_negative():
    from polarity import invert_input

    model = make_tiny_model(seed=4)
    image = np.random.default_rng(1).random((1, 24, 20, 3), np.float32)
    inverted = invert_input(model)
    for style in range(model.num_styles):
        np.testing.assert_allclose(_outputs(inverted, image, style), _outputs(model, 1.0 - image, style), atol=2e-5)
    assert inverted.training_config["input_inverted"] is True
    assert not np.allclose(_outputs(inverted, image), _outputs(model, image), atol=1e-3)
    twice = invert_input(inverted)
    np.testing.assert_allclose(_outputs(twice, image, 1), _outputs(model, image, 1), atol=2e-5)
    assert twice.training_config["input_inverted"] is False


def _hidden_entries(folder):
    return sorted(entry for entry in os.listdir(folder) if entry.startswith("."))


def test_overwrite_never_replaces_what_is_not_a_model_folder(tmp_path):
    """`pack import -o holiday_photos --overwrite` once deleted the photos."""
    model = make_tiny_model()
    photos = tmp_path / "holiday_photos"
    photos.mkdir()
    (photos / "beach.jpg").write_bytes(b"jpeg bytes")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me")
    cluttered = tmp_path / "cluttered"
    save_model(model, cluttered)
    (cluttered / "my_notes.md").write_text("mine")
    for target, named in ((photos, "not a cin-style model folder"), (a_file, "not a cin-style model folder"),
                          (cluttered, "also holds other files")):
        with pytest.raises(ModelError, match=named):
            save_model(model, target, overwrite=True)
    assert (photos / "beach.jpg").read_bytes() == b"jpeg bytes"
    assert a_file.read_text() == "keep me"
    assert (cluttered / "my_notes.md").read_text() == "mine"
    assert _hidden_entries(tmp_path) == []


def test_overwrite_replaces_a_model_folder_and_leaves_nothing_behind(tmp_path):
    first, second = make_tiny_model(seed=1), make_tiny_model(seed=2)
    path = save_model(first, tmp_path / "model")
    save_model(second, path, overwrite=True)
    image = np.random.default_rng(0).random((1, 16, 16, 3), np.float32)
    np.testing.assert_allclose(_outputs(load_model(path), image), _outputs(second, image), atol=1e-6)
    assert _hidden_entries(tmp_path) == []


def test_the_next_save_repairs_what_a_killed_save_left(tmp_path):
    model = make_tiny_model()
    path = tmp_path / "model"
    save_model(model, path)
    # killed between the two renames of a replace: the model sits in the moved-aside folder
    aside = tmp_path / ".model.old.abc123"
    aside.mkdir()
    os.rename(path, aside / "model")
    # and a staging folder of a process that is gone
    dead = tmp_path / ".model.staging.999999999.xyz"
    dead.mkdir()
    (dead / "weights.npz").write_bytes(b"partial")
    save_model(model, tmp_path / "other")  # a save elsewhere leaves them alone
    assert aside.exists() and dead.exists()
    save_model(model, path, overwrite=True)
    assert load_model(path).num_styles == model.num_styles
    assert _hidden_entries(tmp_path) == []


def test_two_saves_to_one_new_path_cannot_both_succeed(tmp_path, monkeypatch):
    import cin_style.model.format as model_format

    path = tmp_path / "model"
    winner, loser = make_tiny_model(seed=1), make_tiny_model(seed=2)
    real_write_json = model_format._write_json
    landed = []

    def the_other_save_lands_meanwhile(target, data):
        if not landed:
            landed.append(True)
            save_model(winner, path)
        real_write_json(target, data)

    monkeypatch.setattr(model_format, "_write_json", the_other_save_lands_meanwhile)
    with pytest.raises(ModelError, match="another save got there first"):
        save_model(loser, path)
    monkeypatch.undo()
    image = np.random.default_rng(0).random((1, 16, 16, 3), np.float32)
    np.testing.assert_allclose(_outputs(load_model(path), image), _outputs(winner, image), atol=1e-6)
    assert _hidden_entries(tmp_path) == []


def _edit_json(path, edit):
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def _npy_header(shape, dtype="<f4") -> bytes:
    header = repr({"descr": dtype, "fortran_order": False, "shape": tuple(shape)}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header


def _rewrite_weights(saved, members):
    """Replaces weights.npz with the given {member name: bytes} and drops the checksum."""
    import zipfile

    with zipfile.ZipFile(saved / "weights.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    _edit_json(saved / "model.json", lambda m: m["weights"].pop("sha256"))


def _original_members(saved):
    import zipfile

    with zipfile.ZipFile(saved / "weights.npz") as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize("field,value,message", [
    ("num_styles", 10_000, "num_styles must be in 1..1024"),
    ("num_styles", "3", "num_styles must be an integer"),
    ("num_styles", True, "num_styles must be an integer"),
    ("num_residual_blocks", 1_000, "num_residual_blocks must be in 0..32"),
    ("alpha", "wide", "alpha must be a number"),
])
def test_architecture_fields_are_checked_before_anything_is_built(saved, field, value, message):
    _edit_json(saved / "model.json", lambda m: m["architecture"].__setitem__(field, value))
    with pytest.raises(ModelError, match=f"model.json: .*{message}"):
        load_model(saved)


@pytest.mark.parametrize("edit,message", [
    (lambda m: m.__setitem__("weights", "weights.npz"), r"\"weights\" must be an object"),
    (lambda m: m["weights"].__setitem__("file", "../outside.npz"), "a file name inside the model folder"),
    (lambda m: m["weights"].__setitem__("file", "/etc/passwd"), "a file name inside the model folder"),
    (lambda m: m["weights"].__setitem__("sha256", 12), r"\"weights.sha256\" must be"),
    (lambda m: m["weights"].__setitem__("dtype", "complex64"), r"\"weights.dtype\" must be \"float32\" or"),
    (lambda m: m.__setitem__("training", ["not", "a", "dict"]), r"\"training\" must be an object"),
])
def test_model_json_fields_of_the_wrong_kind_are_model_errors(saved, edit, message):
    _edit_json(saved / "model.json", edit)
    with pytest.raises(ModelError, match=message):
        load_model(saved)


@pytest.mark.parametrize("entries", [["style_a", "style_b", "style_c"], [{"name": "a", "title": 5}] * 3,
                                     [{"name": "a", "colour": "red"}, {"name": "b"}, {"name": "c"}],
                                     # rows out of index order would give every style another's name
                                     [{"index": 1, "name": "a"}, {"index": 0, "name": "b"}, {"index": 2, "name": "c"}]])
def test_style_manifest_entries_of_the_wrong_kind_are_model_errors(saved, entries):
    (saved / "styles.json").write_text(json.dumps(entries))
    with pytest.raises(ModelError, match="styles.json"):
        load_model(saved)


def test_a_weights_member_declaring_a_huge_array_is_refused_before_reading(saved):
    members = _original_members(saved)
    name = next(iter(members))
    members[name] = _npy_header((10 ** 13,)) + b"\x00" * 64
    _rewrite_weights(saved, members)
    with pytest.raises(ModelError, match=f"weights.npz: {name[:-4]}: stored as .*shape"):
        load_model(saved)


def test_a_compressed_bomb_among_the_weights_is_refused_by_its_header(saved):
    members = _original_members(saved)
    members["padding.npy"] = _npy_header((75_000_000,)) + bytes(300_000_000)  # 300 MB of zeros, ~300 KB zipped
    _rewrite_weights(saved, members)
    assert os.path.getsize(saved / "weights.npz") < 2_000_000
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(ModelError, match="padding: unexpected member"):
            load_model(saved)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000, f"refusing the bomb cost {peak / 1e6:.0f} MB"


def test_weights_with_nan_or_inf_are_refused_on_load(saved):
    import io

    members = _original_members(saved)
    name = sorted(members)[0]
    array = np.load(io.BytesIO(members[name]))
    array.flat[0] = np.inf
    buffer = io.BytesIO()
    np.save(buffer, array)
    members[name] = buffer.getvalue()
    _rewrite_weights(saved, members)
    with pytest.raises(ModelError, match="NaN or Inf"):
        load_model(saved)


def test_with_weights_copies_by_name_and_refuses_what_does_not_fit(tiny_model):
    from cin_style.errors import ModelError

    weights = tiny_model.weights_dict()
    doubled = tiny_model.with_weights({key: value * 2 for key, value in weights.items()})
    assert doubled.style_names == tiny_model.style_names and doubled.architecture == tiny_model.architecture
    for key, value in doubled.weights_dict().items():
        np.testing.assert_array_equal(value, weights[key] * 2)
    np.testing.assert_array_equal(tiny_model.weights_dict()["in_conv/kernel"], weights["in_conv/kernel"])  # untouched
    missing = dict(weights)
    del missing["in_conv/kernel"]
    with pytest.raises(ModelError, match=r"missing \['in_conv/kernel'\]"):
        tiny_model.with_weights(missing)
    with pytest.raises(ModelError, match="unexpected"):
        tiny_model.with_weights({**weights, "extra/kernel": np.zeros(1)})
    with pytest.raises(ModelError, match="in_conv/kernel has shape"):
        tiny_model.with_weights({**weights, "in_conv/kernel": weights["in_conv/kernel"][..., :1]})
