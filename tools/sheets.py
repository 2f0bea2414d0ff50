"""Labelled picture grids: a contact sheet (photos x styles) and a blend strip."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from cin_style.files.images import load_image, to_pil
from cin_style.stylization.sheet import fit_tile

__all__ = ["contact_sheet", "model_comparison", "blend_strip", "grid"]

_LABEL_HEIGHT = 18
_GAP = 4


def grid(rows: list[list[Image.Image]], labels: list[str], tile_size: int) -> Image.Image:
    """Arranges equal-length rows of images into a grid with one label per column."""
    columns = len(labels)
    width = columns * tile_size + (columns + 1) * _GAP
    height = _LABEL_HEIGHT + len(rows) * (tile_size + _GAP) + _GAP
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for c, label in enumerate(labels):
        x = _GAP + c * (tile_size + _GAP)
        text = label if draw.textlength(label, font=font) <= tile_size else label[: max(1, tile_size // 7)] + "…"
        draw.text((x + 2, 3), text, fill="black", font=font)
    for r, row in enumerate(rows):
        if len(row) != columns:
            raise ValueError(f"row {r} has {len(row)} images, expected {columns}")
        for c, image in enumerate(row):
            position = (_GAP + c * (tile_size + _GAP), _LABEL_HEIGHT + r * (tile_size + _GAP))
            sheet.paste(fit_tile(image, tile_size, tile_size), position)
    return sheet


def contact_sheet(stylizer, photos, styles=None, tile_size: int = 256, work_size: int | None = None) -> Image.Image:
    """Rows = photos, columns = the photo then each style.

    Args:
      stylizer: a :class:`~cin_style.Stylizer`.
      photos: image inputs (paths, PIL images or arrays).
      styles: style arguments for the columns (default: every style of the model).
      tile_size: side of each square tile in pixels.
      work_size: stylize at this long side (default ``tile_size``).
    """
    styles = list(range(len(stylizer.style_names))) if styles is None else list(styles)
    labels = ["photo"] + [stylizer.style_names[s] if isinstance(s, int) else str(s) for s in styles]
    rows = []
    for photo in photos:
        original = to_pil(load_image(photo).rgb)
        working = _fit_long_side(original, work_size or tile_size)
        rows.append([original] + [stylizer.stylize(working, style) for style in styles])
    return grid(rows, labels, tile_size)


def model_comparison(stylizers: dict, photos, styles, tile_size: int = 256) -> Image.Image:
    """Rows = photos, columns = the photo then, for each style, each model side by side.

    Args:
      stylizers: ``{label: stylizer}`` in column order; any object with ``stylize``
        and ``style_names`` (a :class:`~cin_style.Stylizer` or a TFLite one), all with
        the styles named in ``styles``.
      styles: style names.
    """
    for label, stylizer in stylizers.items():
        missing = [s for s in styles if s not in stylizer.style_names]
        if missing:
            raise ValueError(f"model {label!r} has no style {', '.join(map(repr, missing))}")
    labels = ["photo"] + [f"{style} {label}" for style in styles for label in stylizers]
    rows = []
    for photo in photos:
        original = to_pil(load_image(photo).rgb)
        working = _fit_long_side(original, tile_size)
        rows.append([original] + [stylizer.stylize(working, style) for style in styles
                                  for stylizer in stylizers.values()])
    return grid(rows, labels, tile_size)


def _fit_long_side(image: Image.Image, size: int) -> Image.Image:
    scale = size / max(image.size)
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)


def blend_strip(stylizer, photo, style_a, style_b, steps: int = 5, tile_size: int = 256) -> Image.Image:
    """One row: the photo, then ``steps`` blends from ``style_a`` (weight 1) to ``style_b``."""
    index_a = stylizer.style_names.index(style_a) if isinstance(style_a, str) else style_a
    index_b = stylizer.style_names.index(style_b) if isinstance(style_b, str) else style_b
    original = to_pil(load_image(photo).rgb)
    working = _fit_long_side(original, tile_size)
    row, labels = [original], ["photo"]
    for t in np.linspace(0.0, 1.0, steps):
        weights = np.zeros(len(stylizer.style_names), np.float32)
        weights[index_a] += 1 - t
        weights[index_b] += t
        row.append(stylizer.stylize(working, weights))
        labels.append(f"{stylizer.style_names[index_a]} {1 - t:.2f}" if t < 0.5 else
                      f"{stylizer.style_names[index_b]} {t:.2f}")
    return grid([row], labels, tile_size)
