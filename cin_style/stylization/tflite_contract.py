"""The contract of an exported .tflite file, shared by the exporter (which writes it), the LiteRT
backend and the Android sample (which read it); TensorFlow-free.

A model ``style.tflite`` has one signature, :data:`SIGNATURE_KEY`, with inputs ``image``
([1, H, W, 3], H and W multiples of :data:`~cin_style.model.architecture.SIZE_MULTIPLE`) and
``style_weights`` ([1, N]) and output ``stylized``; ``style.tflite.json`` beside it holds the
metadata: format, style names, architecture, I/O types and value ranges.

Beside it, ``style.tiles.tflite`` (:func:`tiles_path`; optional) lets the runtime stylize images too large
for one piece in tiles that share the whole image's instance-norm statistics. It has two signatures:
:data:`STATISTICS_KEY` (``image``, ``style_weights`` -> every instance norm's ``<layer>_mean`` and
``<layer>_variance``, in network order) and :data:`TILE_KEY` (``image``, ``style_weights`` and those
statistics -> ``stylized``). Its metadata has ``"role": "tiles"``, the statistics' names and the
``sha256`` of the main file whose weights it holds (``runtime_sha256``).
"""

from __future__ import annotations

import hashlib
import os

from cin_style.errors import ModelError
from cin_style.files.json_files import read_json_file
from cin_style.model.architecture import Architecture

__all__ = ["SIGNATURE_KEY", "INPUT_NAMES", "OUTPUT_NAME", "METADATA_FORMAT", "METADATA_VERSION", "metadata_path",
           "read_metadata", "check_metadata", "read_checked_model", "content_digest", "STATISTICS_KEY", "TILE_KEY",
           "TILES_ROLE", "tiles_path", "check_tiles_metadata"]

SIGNATURE_KEY = "serving_default"
INPUT_NAMES = ("image", "style_weights")
OUTPUT_NAME = "stylized"
METADATA_FORMAT = "cin-style-tflite-metadata"
METADATA_VERSION = 1
STATISTICS_KEY = "statistics"
TILE_KEY = "tile"
TILES_ROLE = "tiles"


def metadata_path(tflite_path: str) -> str:
    """Where the metadata of ``tflite_path`` lives: ``<file>.json`` beside it."""
    return os.fspath(tflite_path) + ".json"


def tiles_path(tflite_path: str) -> str:
    """The tiles file that belongs to ``tflite_path``: ``style.tflite`` -> ``style.tiles.tflite``."""
    root, extension = os.path.splitext(os.fspath(tflite_path))
    return root + ".tiles" + (extension or ".tflite")


def read_metadata(tflite_path: str) -> dict | None:
    """The parsed metadata file of ``tflite_path`` (format, version and signature checked), or None when
    there is none."""
    path = metadata_path(tflite_path)
    if not os.path.isfile(path):
        return None
    try:
        metadata = read_json_file(path)
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable metadata ({exc})") from exc
    return _check_header(metadata, path)


def content_digest(content: bytes) -> str:
    """The ``sha256`` the metadata records for the model file's bytes."""
    return hashlib.sha256(content).hexdigest()


def _check_header(metadata: object, path: str) -> dict:
    """``metadata`` itself once it is an object of this format, version and signature."""
    if not isinstance(metadata, dict):
        raise ModelError(f"{path}: metadata must be a JSON object")
    if metadata.get("format") != METADATA_FORMAT:
        raise ModelError(f"{path}: \"format\" must be \"{METADATA_FORMAT}\", got {metadata.get('format')!r}")
    version = metadata.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= METADATA_VERSION:
        raise ModelError(f"{path}: \"format_version\" {version!r} is not one this cin-style reads "
                         f"(1..{METADATA_VERSION}); upgrade cin-style or re-export the model")
    if metadata.get("role", "stylize") not in ("stylize", TILES_ROLE):
        raise ModelError(f"{path}: \"role\" must be \"stylize\" or \"{TILES_ROLE}\", got {metadata['role']!r}")
    if metadata.get("role") != TILES_ROLE and metadata.get("signature", SIGNATURE_KEY) != SIGNATURE_KEY:
        raise ModelError(f"{path}: \"signature\" must be \"{SIGNATURE_KEY}\", got {metadata['signature']!r}")
    return metadata


def read_checked_model(tflite_path: str, metadata: dict | None, max_bytes: int = 1 << 30) -> bytes:
    """The bytes of ``tflite_path``, checked against its metadata before anything parses them.

    The metadata's format fields are checked first; then the file's size (``size_bytes``) and digest
    (``sha256``, where the exporter recorded it), so a damaged or swapped file is refused instead of
    painting garbage. A file without metadata is read unchecked (its styles are numbered)."""
    if metadata is not None:
        _check_header(metadata, metadata_path(tflite_path))
    size = os.path.getsize(tflite_path)
    if size > max_bytes:
        raise ModelError(f"{tflite_path}: {size} bytes is larger than any cin-style model (limit {max_bytes})")
    if metadata is not None and "size_bytes" in metadata and metadata["size_bytes"] != size:
        raise ModelError(f"{tflite_path}: {size} bytes, but its metadata says {metadata['size_bytes']!r} "
                         "(damaged or replaced file); re-export it")
    with open(tflite_path, "rb") as handle:
        content = handle.read()
    expected = None if metadata is None else metadata.get("sha256")
    if expected is not None and (not isinstance(expected, str) or content_digest(content) != expected.lower()):
        raise ModelError(f"{tflite_path}: its bytes do not match the metadata's sha256 (damaged or replaced "
                         "file); re-export it")
    return content


def check_metadata(metadata: object, tflite_path: str, num_styles: int) -> tuple[list[str], Architecture]:
    """Style names and architecture from ``metadata``; a wrong field is a ModelError naming it."""
    path = metadata_path(tflite_path)
    fields = _check_header(metadata, path)
    styles = fields.get("styles")
    if (not isinstance(styles, list) or not all(isinstance(s, dict) and isinstance(s.get("name"), str)
                                                 and s["name"] for s in styles)):
        raise ModelError(f"{path}: \"styles\" must be a list of objects with a non-empty \"name\"")
    if len(styles) != num_styles:
        raise ModelError(f"{path}: lists {len(styles)} styles but the model takes {num_styles}")
    names = [s["name"] for s in styles]
    if len(set(names)) != len(names):
        raise ModelError(f"{path}: style names must be unique")
    architecture = fields.get("architecture")
    if not isinstance(architecture, dict):
        raise ModelError(f"{path}: bad \"architecture\" entry (must be an object, got {architecture!r})")
    try:
        return names, Architecture(**architecture)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{path}: bad \"architecture\" entry ({exc})") from exc


def check_tiles_metadata(metadata: object, tiles_file: str, runtime_sha256: str | None) -> list[str]:
    """The statistics' names from a tiles file's metadata, once it is a tiles file made for the main file
    whose digest is ``runtime_sha256``; a wrong field is a ModelError naming it."""
    path = metadata_path(tiles_file)
    fields = _check_header(metadata, path)
    if fields.get("role") != TILES_ROLE:
        raise ModelError(f"{path}: not a tiles file (\"role\" must be \"{TILES_ROLE}\")")
    if runtime_sha256 is None or fields.get("runtime_sha256") != runtime_sha256:
        raise ModelError(f"{tiles_file}: made for another model file (its \"runtime_sha256\" does not match the "
                         "main file's sha256); export both again")
    names = fields.get("statistics")
    if (not isinstance(names, list) or not names or len(names) > 256
            or not all(isinstance(n, str) and n.endswith(("_mean", "_variance")) for n in names)):
        raise ModelError(f"{path}: \"statistics\" must be a list of <layer>_mean / <layer>_variance names")
    return names
