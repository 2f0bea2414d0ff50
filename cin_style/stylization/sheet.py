"""A style sheet: one photo through every style of a model, as one labelled picture.

    sheet = style_sheet(TFLiteStylizer(), "cat.jpg")   # the photo first, then each style, in index order

Each style is stylized at the size ``stylize`` would use for the photo (``style_scale="auto"``: at most
1 MP), so the strokes in a tile look as they will on the photo, then fitted into its tile.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from cin_style.files.images import ImageSource, load_image, to_pil
from cin_style.model.styles import StyleSpec
from cin_style.stylization.controls import AUTO_STYLE_SCALE_PIXELS

__all__ = ["style_sheet", "labelled_grid", "fit_tile"]

_GAP = 6
_LABEL_HEIGHT = 16


class SheetStylizer(Protocol):
    """What a sheet needs of a backend (:class:`~cin_style.Stylizer` and the runtime's stylizer both fit)."""

    @property
    def style_names(self) -> list[str]: ...

    def style_weights(self, style: StyleSpec) -> np.ndarray: ...

    def stylize(self, image: ImageSource, style: StyleSpec | None, *, preserve_color: bool = False,
                strength: float = 1.0, style_scale: float | str = "auto") -> Image.Image: ...


def _fitted_size(width: int, height: int, size: int) -> tuple[int, int]:
    scale = size / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def fit_tile(image: Image.Image, width: int, height: int) -> Image.Image:
    """``image`` resized to fit in ``width`` x ``height``, centred on a white tile of that size."""
    scale = min(width / image.width, height / image.height)
    resized = image.convert("RGB").resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                                          Image.Resampling.LANCZOS)
    tile = Image.new("RGB", (width, height), "white")
    tile.paste(resized, ((width - resized.width) // 2, (height - resized.height) // 2))
    return tile


def labelled_grid(tiles: Sequence[tuple[str, Image.Image]], tile_size: int, columns: int | None = None) -> Image.Image:
    """Tiles in rows of ``columns`` (default: as square a grid as the count allows), each under its label.
    Every cell has the first image's shape, its longer side ``tile_size``."""
    if not tiles:
        raise ValueError("a grid needs at least one tile")
    columns = columns or math.ceil(math.sqrt(len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    tile_width, tile_height = _fitted_size(*tiles[0][1].size, tile_size)
    cell_height = _LABEL_HEIGHT + tile_height + _GAP
    sheet = Image.new("RGB", (_GAP + columns * (tile_width + _GAP), _GAP + rows * cell_height), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for index, (label, image) in enumerate(tiles):
        x = _GAP + (index % columns) * (tile_width + _GAP)
        y = _GAP + (index // columns) * cell_height
        text = label
        while text and draw.textlength(text, font=font) > tile_width:
            text = text[:-2] + "…" if len(text) > 2 else ""
        draw.text((x, y + 1), text, fill="black", font=font)
        sheet.paste(fit_tile(image, tile_width, tile_height), (x, y + _LABEL_HEIGHT))
    return sheet


def style_sheet(stylizer: SheetStylizer, photo: ImageSource, styles: Sequence[int | str] | None = None, *,
                tile_size: int = 256, columns: int | None = None, strength: float = 1.0,
                preserve_color: bool = False) -> Image.Image:
    """The photo, then ``photo`` in each of ``styles`` (default: every style of the model), labelled.

    Args:
      stylizer: a :class:`~cin_style.Stylizer` or the runtime's :class:`TFLiteStylizer`.
      photo: the photo (path, PIL image, array).
      styles: style names or indices, in sheet order.
      tile_size: side of each square tile, in pixels.
      columns: tiles per row (default: a near-square grid).
      strength, preserve_color: as for :func:`cin_style.stylize`.
    """
    names = list(stylizer.style_names)
    picked = list(range(len(names))) if styles is None else list(styles)
    for style in picked:
        stylizer.style_weights(style)  # an unknown style is an error before any work
    original = to_pil(load_image(photo).rgb)
    working = original
    if original.width * original.height > AUTO_STYLE_SCALE_PIXELS:  # what style_scale="auto" works at
        scale = math.sqrt(AUTO_STYLE_SCALE_PIXELS / (original.width * original.height))
        working = original.resize((max(1, round(original.width * scale)), max(1, round(original.height * scale))),
                                  Image.Resampling.LANCZOS)
    tiles = [("photo", original)]
    for style in picked:
        label = names[style] if isinstance(style, int) and 0 <= style < len(names) else str(style)
        tiles.append((label, stylizer.stylize(working, style, strength=strength, preserve_color=preserve_color,
                                              style_scale=1)))
    return labelled_grid(tiles, tile_size, columns)
