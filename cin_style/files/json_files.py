"""Reading small JSON files that come from outside (model folders, runtime metadata, style packs).

Every failure is a ``ValueError`` with a short reason, for the caller to name its file and field in
its own error: not UTF-8, not JSON, nested too deeply for the parser, or larger than such a file
ever is (checked before the file is read).
"""

from __future__ import annotations

import json
import os

from cin_style.files import PathLike

#: Larger than any model.json, styles.json or runtime metadata cin-style writes (1000 styles: ~200 KB).
MAX_JSON_BYTES = 16 << 20


def parse_json(data: bytes | str) -> object:
    """The value ``data`` holds; ValueError if it is not UTF-8 JSON or nests too deeply to parse."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def read_json_file(path: PathLike, max_bytes: int | None = None) -> object:
    """The value the JSON file at ``path`` holds, refused unread above ``max_bytes`` (default
    :data:`MAX_JSON_BYTES`); OSError if unreadable."""
    max_bytes = MAX_JSON_BYTES if max_bytes is None else max_bytes
    size = os.path.getsize(path)
    if size > max_bytes:
        raise ValueError(f"{size} bytes; files of this kind are at most {max_bytes}")
    with open(path, "rb") as handle:
        return parse_json(handle.read())
