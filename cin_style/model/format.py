"""The saved-model format: one directory, loadable for any N and alpha without code changes.

Layout of a model directory::

    model.json    format name and version, architecture (N, alpha, R), weight-file
                  checksum and dtype, and the training configuration (if any)
    styles.json   the style manifest: index, name, title, artist, year, source image
    weights.npz   one array per network weight, keyed "layer/weight" (no pickles)

Saving is atomic: the directory is written under a temporary name and renamed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import dataclasses
import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile

import numpy as np

from cin_style.files import PathLike
from cin_style.files.json_files import read_json_file
from cin_style.files.atomic import exchange, ordinary_mode, rename_no_replace
from cin_style.errors import ModelError
from cin_style.model.architecture import Architecture
from cin_style.model.network import build_transform_network

if TYPE_CHECKING:
    import tf_keras as keras

__all__ = ["StyleInfo", "CinModel", "load_model", "save_model", "read_checked_npz",
           "style_info_from_json",
           "FORMAT_VERSION"]

FORMAT_NAME = "cin-style-model"
FORMAT_VERSION = 1
MODEL_FILE, STYLES_FILE, WEIGHTS_FILE = "model.json", "styles.json", "weights.npz"
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclasses.dataclass(frozen=True)
class StyleInfo:
    """One entry of the style manifest."""

    name: str
    title: str = ""
    artist: str = ""
    year: str = ""
    source_image: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not _NAME_PATTERN.match(self.name) or self.name.isdigit():
            raise ModelError(
                f"style name {self.name!r} is not allowed: use letters, digits, '_', '-' or '.', "
                "not starting with a symbol and not all digits")


def assign_weights(network: keras.Model, weights: Mapping[str, np.ndarray]) -> None:
    """Sets every weight of ``network`` from ``weights`` by name: the one place weights are copied by name.
    Names and shapes must match exactly (ModelError naming the first differences)."""
    expected = {_weight_key(v): tuple(v.shape) for v in network.weights}
    missing, unexpected = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
    if missing or unexpected:
        raise ModelError(f"weights do not match the network (missing {missing[:3]}, unexpected {unexpected[:3]})")
    for variable in network.weights:
        value = weights[_weight_key(variable)]
        if tuple(np.shape(value)) != tuple(variable.shape):
            raise ModelError(f"weight {_weight_key(variable)} has shape {np.shape(value)}, the network "
                             f"{tuple(variable.shape)}")
        variable.assign(value)


def _weight_key(variable) -> str:
    return variable.name.split(":")[0]


class CinModel:
    """A transform network with its architecture and style manifest.

    Attributes:
      architecture: :class:`~cin_style.model.architecture.Architecture`.
      styles: list of :class:`StyleInfo`, one per style row.
      network: the tf_keras model taking ``[image, style_weights [B, N]]``.
      training_config: dict recorded by the training tool (may be empty).
      path: directory it was loaded from, or None.
    """

    def __init__(self, architecture: Architecture, styles: Sequence[StyleInfo | Mapping[str, Any]],
                 network: keras.Model | None = None, training_config: Mapping[str, Any] | None = None,
                 path: str | None = None):
        infos = [s if isinstance(s, StyleInfo) else StyleInfo(**s) for s in styles]
        if len(infos) != architecture.num_styles:
            raise ModelError(f"{len(infos)} style entries for a network with {architecture.num_styles} styles")
        names = [s.name for s in infos]
        if len(set(names)) != len(names):
            raise ModelError(f"style names must be unique, got {names}")
        self.architecture = architecture
        self.styles = infos
        self.network = network if network is not None else build_transform_network(architecture)
        self.training_config = dict(training_config or {})
        self.path = path
        self._spatial_network: keras.Model | None = None

    @property
    def style_names(self) -> list[str]:
        return [s.name for s in self.styles]

    @property
    def num_styles(self) -> int:
        return self.architecture.num_styles

    def spatial_network(self) -> keras.Model:
        """The same network taking per-pixel style weights [B, h, w, N] (weights copied on first use)."""
        if self._spatial_network is None:
            self._spatial_network = build_transform_network(self.architecture, spatial_style_weights=True)
        self._spatial_network.set_weights(self.network.get_weights())
        return self._spatial_network

    def weights_dict(self) -> dict[str, np.ndarray]:
        """Every weight by name (``res1_a_conv/kernel``, ``in_norm/gamma``, ...)."""
        return {_weight_key(v): v.numpy() for v in self.network.weights}

    def with_weights(self, weights: Mapping[str, np.ndarray], *, architecture: Architecture | None = None,
                     styles: Sequence[StyleInfo | Mapping[str, Any]] | None = None,
                     training_config: dict | None = None) -> CinModel:
        """A new model with ``weights`` (by name, as :meth:`weights_dict` gives them), and this model's
        architecture, styles and training record unless others are given. Every weight of the new
        network must be in ``weights`` with its shape; a missing, extra or misshaped one is a ModelError."""
        model = CinModel(architecture or self.architecture, self.styles if styles is None else styles,
                         training_config=self.training_config if training_config is None else training_config)
        assign_weights(model.network, weights)
        return model

    def shared_weights_fingerprint(self) -> str:
        """SHA-256 over every weight that is not a per-style gamma/beta (the convolutions)."""
        digest = hashlib.sha256()
        for key, value in sorted(self.weights_dict().items()):
            if not key.endswith(("/gamma", "/beta")):
                digest.update(key.encode())
                digest.update(np.ascontiguousarray(value, np.float32).tobytes())
        return digest.hexdigest()

    def save(self, path: PathLike, *, dtype: str = "float32", overwrite: bool = False) -> str:
        return save_model(self, path, dtype=dtype, overwrite=overwrite)

    def __repr__(self):
        a = self.architecture
        return (f"CinModel(num_styles={a.num_styles}, alpha={a.alpha}, "
                f"num_residual_blocks={a.num_residual_blocks}, path={self.path!r})")


def _sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_json(path: str, data) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=False)
        handle.write("\n")


def _check_replaceable(path: str) -> None:
    """Raises ModelError unless ``path`` is a cin-style model folder holding nothing but the model's files."""
    refusal = f"{path}: exists and is not a cin-style model folder; refusing to replace it"
    if os.path.islink(path) or not os.path.isdir(path):
        raise ModelError(refusal)
    try:
        model_json = _read_json(os.path.join(path, MODEL_FILE))
    except ModelError:
        raise ModelError(refusal) from None
    if not isinstance(model_json, dict) or model_json.get("format") != FORMAT_NAME:
        raise ModelError(refusal)
    others = sorted(set(os.listdir(path)) - {MODEL_FILE, STYLES_FILE, WEIGHTS_FILE})
    if others:
        raise ModelError(f"{path}: a model folder that also holds other files ({', '.join(others[:3])}); "
                         "refusing to replace it")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _tidy_after_interrupted_saves(path: str) -> None:
    """Finishes what a killed save left beside ``path``: puts back a model that a two-step replace had moved
    aside (where nothing took its place), then removes that save's leftovers (its staging folder, once
    its process is gone, and the moved-aside copy, once a model is at ``path``)."""
    parent, name = os.path.split(path)
    for entry in os.listdir(parent):
        full = os.path.join(parent, entry)
        if entry.startswith(f".{name}.old.") and os.path.isdir(full):
            aside = os.path.join(full, "model")
            if not os.path.lexists(path) and os.path.isdir(aside):
                os.rename(aside, path)
            if os.path.lexists(path):
                shutil.rmtree(full, ignore_errors=True)
        elif entry.startswith(f".{name}.staging.") and os.path.isdir(full):
            pid = entry[len(f".{name}.staging."):].split(".", 1)[0]
            if pid.isdigit() and not _pid_alive(int(pid)):
                shutil.rmtree(full, ignore_errors=True)


def _publish(staging: str, path: str, replace: bool) -> None:
    """Moves the finished ``staging`` folder to ``path``; with ``replace``, the model there goes."""
    if not replace:
        try:
            rename_no_replace(staging, path)
        except FileExistsError:
            raise ModelError(f"{path}: already exists; another save got there first and its model was left "
                             "as it was") from None
        return
    if exchange(staging, path):  # one step: there is always a model at path
        shutil.rmtree(staging, ignore_errors=True)  # now the old model
        return
    # Two steps where the system cannot swap; a kill between them is repaired by the next save.
    aside = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.old.", dir=os.path.dirname(path))
    os.replace(path, os.path.join(aside, "model"))
    try:
        os.replace(staging, path)
    except BaseException:
        os.replace(os.path.join(aside, "model"), path)
        os.rmdir(aside)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def save_model(model: CinModel, path: PathLike, *, dtype: str = "float32", overwrite: bool = False) -> str:
    """Writes ``model`` as a model directory at ``path``.

    Args:
      dtype: ``"float32"`` or ``"float16"`` storage for the weights (loaded back as float32).
      overwrite: replace an existing model directory at ``path`` (only a cin-style model folder holding
        nothing else is ever replaced; the swap is atomic on Linux).

    Raises:
      ModelError: ``path`` exists and ``overwrite`` is False (also when another save creates it meanwhile),
        ``path`` is something other than a model folder, weights are not finite, or bad dtype.
    """
    path = os.path.abspath(os.fspath(path))
    if dtype not in ("float32", "float16"):
        raise ModelError(f"weights dtype must be 'float32' or 'float16', got {dtype!r}")
    parent = os.path.dirname(path)
    if os.path.isdir(parent):
        _tidy_after_interrupted_saves(path)
    if os.path.lexists(path):
        if not overwrite:
            raise ModelError(f"{path}: already exists (use overwrite=True to replace it)")
        _check_replaceable(path)
    weights = model.weights_dict()
    bad = [k for k, v in weights.items() if not np.all(np.isfinite(v))]
    if bad:
        raise ModelError(f"refusing to save {path}: weights {bad[:3]} contain NaN or Inf")
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.staging.{os.getpid()}.", dir=parent)
    os.chmod(staging, ordinary_mode(0o777))
    try:
        weights_path = os.path.join(staging, WEIGHTS_FILE)
        with open(weights_path, "wb") as handle:
            arrays: dict[str, Any] = {k: v.astype(dtype) for k, v in weights.items()}
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        arch = model.architecture
        _write_json(os.path.join(staging, MODEL_FILE), {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "architecture": dataclasses.asdict(arch),
            "weights": {"file": WEIGHTS_FILE, "dtype": dtype, "sha256": _sha256_file(weights_path)},
            "training": model.training_config,
        })
        _write_json(os.path.join(staging, STYLES_FILE),
                    [{"index": i, **dataclasses.asdict(s)} for i, s in enumerate(model.styles)])
        replace = overwrite and os.path.lexists(path)
        if replace:
            _check_replaceable(path)  # again: it may have changed while the weights were written
        _publish(staging, path, replace=replace)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    model.path = path
    return path


def _read_json(path: str):
    if not os.path.isfile(path):
        raise ModelError(f"{path}: missing; a model directory holds {MODEL_FILE}, {STYLES_FILE} and {WEIGHTS_FILE}")
    try:
        return read_json_file(path)
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: not valid JSON ({exc})") from exc


def _read_architecture(model_json: dict, path: str) -> Architecture:
    if not isinstance(model_json, dict) or model_json.get("format") != FORMAT_NAME:
        raise ModelError(f"{path}: not a cin-style model file (no \"format\": \"{FORMAT_NAME}\")")
    version = model_json.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelError(f"{path}: format version {version!r} is not supported; "
                         f"this cin-style reads version {FORMAT_VERSION}")
    try:
        return Architecture(**model_json["architecture"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{path}: bad \"architecture\" entry ({exc})") from exc


_STORED_DTYPES = (np.dtype("<f4"), np.dtype("<f2"))


def _weights_entry(model_json: dict, model_json_path: str) -> tuple[str, str | None]:
    """``(file name, sha256 or None)`` of model.json's "weights" object, checked."""
    info = model_json.get("weights", {})
    if not isinstance(info, dict):
        raise ModelError(f"{model_json_path}: \"weights\" must be an object, got {type(info).__name__}")
    name = info.get("file", WEIGHTS_FILE)
    if (not isinstance(name, str) or not name or name in (".", "..") or os.path.basename(name) != name
            or "\\" in name or "\0" in name):
        raise ModelError(f"{model_json_path}: \"weights.file\" must be a file name inside the model folder, "
                         f"got {name!r}")
    sha256 = info.get("sha256")
    if sha256 is not None and not (isinstance(sha256, str) and re.fullmatch(r"[0-9a-f]{64}", sha256)):
        raise ModelError(f"{model_json_path}: \"weights.sha256\" must be 64 hex digits, got {sha256!r}")
    dtype = info.get("dtype", "float32")
    if dtype not in ("float32", "float16"):  # what save_model writes; the members' own headers are checked too
        raise ModelError(f"{model_json_path}: \"weights.dtype\" must be \"float32\" or \"float16\", got {dtype!r:.40}")
    return name, sha256


def read_checked_npz(path: str, check: Callable[[str, np.dtype, tuple[int, ...]], str | None]) -> dict[str, np.ndarray]:
    """Reads an .npz archive, vetting each member from its header before any of its data is read.

    Args:
      path: the .npz file.
      check: ``check(key, dtype, shape)`` -> None to read the member, or a message refusing it (a member
        whose header declares 10^13 floats, or a zip bomb's padding, is refused unread).

    Returns:
      ``{key: array}`` as stored (float members finite).

    Raises:
      ModelError: unreadable archive, a member that is not .npy, a refused or short member, NaN or Inf.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            odd = sorted(name for name in archive.namelist() if not name.endswith(".npy"))
            if odd:
                raise ModelError(f"{path}: unexpected members {odd[:3]}")
            arrays = {}
            for name in archive.namelist():
                key = name[:-4]
                with archive.open(name) as handle:
                    version = np.lib.format.read_magic(handle)
                    if version not in ((1, 0), (2, 0)):
                        raise ModelError(f"{path}: {key} is in .npy format {version}, expected 1.0 or 2.0")
                    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                   else np.lib.format.read_array_header_2_0)
                    shape, fortran, dtype = read_header(handle)
                    refusal = "Fortran order" if fortran else check(key, dtype, tuple(shape))
                    if refusal:
                        raise ModelError(f"{path}: {key}: {refusal}")
                    size = int(np.prod(shape)) * dtype.itemsize
                    data = handle.read(size + 1)
                if len(data) != size:
                    raise ModelError(f"{path}: {key} holds {len(data)} bytes, its header promises {size}")
                value = np.frombuffer(data, dtype).reshape(shape)
                if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
                    raise ModelError(f"{path}: {key} contains NaN or Inf; refusing it")
                arrays[key] = value
            return arrays
    except ModelError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise ModelError(f"{path}: cannot read ({exc})") from exc


def _read_weights(path: str, expected_sha256: str | None, expected: dict[str, tuple]) -> dict[str, np.ndarray]:
    """The weights, each member's name, dtype and shape checked against the architecture before its data
    is read, so memory stays proportional to the real model."""
    if not os.path.isfile(path):
        raise ModelError(f"{path}: missing weights file")
    if expected_sha256 and _sha256_file(path) != expected_sha256:
        raise ModelError(f"{path}: checksum mismatch; the weights file is truncated or corrupt")

    def check(key, dtype, shape):
        if key not in expected:
            return "unexpected member; weights do not match the architecture"
        if dtype not in _STORED_DTYPES or shape != expected[key]:
            return f"stored as {dtype} {shape}, expected float32 or float16 of shape {expected[key]}"
        return None

    stored = read_checked_npz(path, check)
    missing = sorted(set(expected) - set(stored))
    if missing:
        raise ModelError(f"{path}: weights do not match the architecture (missing {missing[:3]})")
    return {key: value.astype(np.float32) for key, value in stored.items()}


def load_model(path: PathLike) -> CinModel:
    """Loads a model directory written by :func:`save_model` (or the training tool).

    Raises:
      ModelError: missing or unreadable files, unsupported format version, or
        weights that do not match the architecture / style manifest (the message
        names the file).
    """
    path = os.path.abspath(os.fspath(path))
    if not os.path.isdir(path):
        raise ModelError(f"{path}: no such model directory")
    model_json_path = os.path.join(path, MODEL_FILE)
    model_json = _read_json(model_json_path)
    arch = _read_architecture(model_json, model_json_path)
    styles_path = os.path.join(path, STYLES_FILE)
    manifest = _read_json(styles_path)
    if not isinstance(manifest, list) or len(manifest) != arch.num_styles:
        count = len(manifest) if isinstance(manifest, list) else "no"
        raise ModelError(f"{styles_path}: lists {count} styles but {MODEL_FILE} says {arch.num_styles}")
    for position, entry in enumerate(manifest):
        index = entry.get("index", position) if isinstance(entry, dict) else position
        if isinstance(index, bool) or index != position:  # the rows' order is the index; a mismatch means a bad edit
            raise ModelError(f"{styles_path}: entry {position} says \"index\": {index!r:.40}; entries must be "
                             "listed in index order 0, 1, 2, ...")
    styles = [style_info_from_json(entry, styles_path) for entry in manifest]
    weights_name, sha256 = _weights_entry(model_json, model_json_path)
    training = model_json.get("training")
    if training is not None and not isinstance(training, dict):
        raise ModelError(f"{model_json_path}: \"training\" must be an object, got {type(training).__name__}")
    try:
        model = CinModel(arch, styles, training_config=training, path=path)
    except ModelError as exc:
        raise ModelError(f"{styles_path}: {exc}") from exc
    expected = {_weight_key(v): tuple(v.shape) for v in model.network.weights}
    stored = _read_weights(os.path.join(path, weights_name), sha256, expected)
    assign_weights(model.network, stored)
    return model


_STYLE_FIELDS = {field.name for field in dataclasses.fields(StyleInfo)}


def style_info_from_json(entry: object, styles_path: str) -> StyleInfo:
    """A style manifest entry (styles.json, a style pack's meta), checked: an object of known string fields
    (and styles.json's "index"); ModelError naming ``styles_path`` otherwise."""
    if not isinstance(entry, dict):
        raise ModelError(f"{styles_path}: each style entry must be an object, got {entry!r:.60}")
    fields = {k: v for k, v in entry.items() if k != "index"}
    unknown = sorted(set(fields) - _STYLE_FIELDS)
    if unknown:
        raise ModelError(f"{styles_path}: unknown style field(s) {unknown[:3]}; allowed: {sorted(_STYLE_FIELDS)}")
    wrong = sorted(k for k, v in fields.items() if not isinstance(v, str))
    if wrong:
        raise ModelError(f"{styles_path}: style field(s) {wrong} must be strings")
    try:
        return StyleInfo(**fields)
    except (TypeError, ModelError) as exc:
        raise ModelError(f"{styles_path}: bad style entry ({exc})") from exc
