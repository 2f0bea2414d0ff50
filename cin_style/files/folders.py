"""The one way image files are found in folders: recursive, sorted, hidden files and folders skipped."""

from __future__ import annotations

import os

from cin_style.errors import ImageError
from cin_style.files.images import IMAGE_EXTENSIONS

__all__ = ["find_images", "expand_inputs"]


def find_images(folder: str, extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> list[str]:
    """Files under ``folder`` (recursive) whose names end in one of ``extensions`` (any case), sorted,
    hidden files and folders skipped."""
    if not os.path.isdir(folder):
        raise ImageError(f"{folder}: no such folder")
    found: list[str] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(os.path.join(root, f) for f in sorted(files)
                     if f.lower().endswith(extensions) and not f.startswith("."))
    return found


def expand_inputs(items: list[str], extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> list[tuple[str, str]]:
    """Files and folders -> (file, path relative to its folder argument) pairs; a file given by name is
    kept whatever its extension (the decoder decides), a folder contributes its images. A folder with
    no images is an ImageError naming it."""
    collected: list[tuple[str, str]] = []
    for item in items:
        if os.path.isdir(item):
            found = find_images(item, extensions)
            if not found:
                raise ImageError(f"{item}: folder holds no images ({', '.join(extensions)})")
            collected.extend((path, os.path.relpath(path, item)) for path in found)
        else:
            collected.append((item, os.path.basename(item)))
    return collected
