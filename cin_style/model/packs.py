"""Style packs: one style's gamma/beta as a small file, importable into another copy of the
same base model.

A style is only its CIN parameters (about 3.2k numbers per style for the full
network); every other weight is shared. A pack records a SHA-256 fingerprint of
the base model's shared weights, and importing refuses a model whose shared
weights differ (the style would look wrong there).

File format: one ``.npz`` holding ``<layer>/gamma`` and ``<layer>/beta`` rows
([C] each) and ``meta.json`` (UTF-8 bytes): format name and version, the style's
manifest entry, the architecture and the fingerprint.
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

from cin_style.files import PathLike
from cin_style.files.atomic import atomic_write
from cin_style.files.json_files import parse_json
from cin_style.errors import ModelError, StyleError
from cin_style.model.format import CinModel, StyleInfo, read_checked_npz, style_info_from_json
from cin_style.model.styles import resolve_style_index

__all__ = ["export_style_pack", "import_style_pack", "read_style_pack"]

PACK_FORMAT, PACK_VERSION = "cin-style-style-pack", 1


def _cin_layers(model: CinModel):
    return [layer for layer in model.network.layers if hasattr(layer, "gamma") and hasattr(layer, "num_styles")]


def export_style_pack(model: CinModel, style: int | str, path: PathLike) -> str:
    """Writes style ``style`` (index or name) of ``model`` to a pack file at ``path`` (atomically)."""
    index = resolve_style_index(style, model.style_names)
    arrays = {}
    for layer in _cin_layers(model):
        arrays[f"{layer.name}/gamma"] = layer.gamma.numpy()[index]
        arrays[f"{layer.name}/beta"] = layer.beta.numpy()[index]
    meta = {"format": PACK_FORMAT, "format_version": PACK_VERSION,
            "style": dataclasses.asdict(model.styles[index]),
            "architecture": dataclasses.asdict(model.architecture),
            "base_fingerprint": model.shared_weights_fingerprint()}
    arrays["meta.json"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    with atomic_write(path, ".npz") as handle:
        np.savez(handle, **arrays)
    return os.fspath(path)


_MAX_META_BYTES = 65_536
_MAX_CHANNELS = 4 * 128 * 4  # the widest CIN layer at the largest alpha (4)


def _check_member(key: str, dtype, shape: tuple) -> str | None:
    if key == "meta.json":
        if dtype != np.uint8 or len(shape) != 1 or shape[0] > _MAX_META_BYTES:
            return f"must be at most {_MAX_META_BYTES} bytes of JSON, header says {dtype} {shape}"
        return None
    if not key.endswith(("/gamma", "/beta")):
        return "unexpected member; a pack holds <layer>/gamma, <layer>/beta and meta.json"
    if dtype not in (np.dtype("<f4"), np.dtype("<f2")) or len(shape) != 1 or not 1 <= shape[0] <= _MAX_CHANNELS:
        return f"must be float32 or float16 of shape [C] with C <= {_MAX_CHANNELS}, header says {dtype} {shape}"
    return None


def _checked_meta(meta, path: str) -> dict:
    if not isinstance(meta, dict) or meta.get("format") != PACK_FORMAT or meta.get("format_version") != PACK_VERSION:
        raise ModelError(f"{path}: not a version-{PACK_VERSION} cin-style style pack")
    fingerprint = meta.get("base_fingerprint")
    if not isinstance(fingerprint, str) or len(fingerprint) != 64:
        raise ModelError(f"{path}: meta.json \"base_fingerprint\" must be a SHA-256 hex string")
    style_info_from_json(meta.get("style"), f"{path}: meta.json \"style\"")
    return meta


def read_style_pack(path: PathLike) -> tuple[dict, dict[str, np.ndarray]]:
    """Returns ``(meta, {"<layer>/gamma": [C], ...})`` of a pack file.

    Every member is vetted from its header before its data is read (names, dtypes, bounded sizes), and
    every field of meta.json is checked.

    Raises:
      ModelError: missing, unreadable, malformed, or not a style pack of a supported version.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelError(f"{path}: no such style pack")
    arrays = read_checked_npz(path, _check_member)
    if "meta.json" not in arrays:
        raise ModelError(f"{path}: not a cin-style style pack (no meta.json)")
    try:
        meta = parse_json(arrays.pop("meta.json").tobytes())
    except ValueError as exc:
        raise ModelError(f"{path}: meta.json is not valid JSON ({exc})") from None
    return _checked_meta(meta, path), {key: value.astype(np.float32) for key, value in arrays.items()}


def import_style_pack(model: CinModel, path: PathLike, name: str | None = None) -> CinModel:
    """Returns a new model with ``model``'s styles plus the pack's style (appended last).

    Args:
      model: the base model; its shared weights must match the pack's fingerprint.
      path: the pack file.
      name: rename the imported style (default: its name in the pack).

    Raises:
      ModelError: unreadable pack, or the model is not the pack's base model.
      StyleError: the style's name is already taken in ``model``.
    """
    meta, arrays = read_style_pack(path)
    if meta["base_fingerprint"] != model.shared_weights_fingerprint():
        raise ModelError(f"{os.fspath(path)}: this style pack was made for another base model "
                         "(its shared-weights fingerprint differs)")
    weights = model.weights_dict()
    wanted = {key for key in weights if key.endswith(("/gamma", "/beta"))}
    if set(arrays) != wanted:  # a damaged pack is reported as such, whatever its style's name
        raise ModelError(f"{os.fspath(path)}: its layers do not match the model's "
                         f"(missing {sorted(wanted - set(arrays))[:3]}, unexpected {sorted(set(arrays) - wanted)[:3]})")
    for key in wanted:
        if arrays[key].shape != weights[key].shape[1:]:
            raise ModelError(f"{os.fspath(path)}: {key} has {arrays[key].shape[0]} channels, "
                             f"the model has {weights[key].shape[1]}")
    info = StyleInfo(**{**meta["style"], **({"name": name} if name else {})})
    if info.name in model.style_names:
        raise StyleError(f"style {info.name!r} is already in the model; import it under another name "
                         "(--name on the command line, name=... in Python)")
    for key in wanted:
        weights[key] = np.concatenate([weights[key], arrays[key][None]], axis=0)
    arch = dataclasses.replace(model.architecture, num_styles=model.num_styles + 1)
    return model.with_weights(weights, architecture=arch, styles=[*model.styles, info])
