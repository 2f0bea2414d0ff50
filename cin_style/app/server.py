"""The app's HTTP side: a Starlette application with the page, ``GET /api/styles``, ``GET /api/sample/{index}``
(a small example photo in that style, the gallery's picture) and ``POST /api/stylize``.

Every request gets its own result: a request borrows one of a few runtime stylizers (LiteRT interpreters are
not shared between threads) and runs in a worker thread, so the page keeps answering during a long request.
Uploads are held in memory, bounded in bytes and pixels; nothing is written to disk. A bad request is a 4xx
with ``{"error": "..."}`` naming the field and what is allowed.
"""

from __future__ import annotations

import contextlib
import os
import queue
from collections.abc import Iterator
from typing import Any

import numpy as np
from PIL import Image

from cin_style.errors import CinStyleError, ImageError, StyleError
from cin_style.files.images import image_bytes, load_image_bytes
from cin_style.model.styles import style_weights
from cin_style.stylization.controls import resolve_style_scale
from cin_style.stylization.tflite_backend import TFLiteStylizer, usable_cpu_count

__all__ = ["create_app", "DEFAULT_MAX_PIXELS", "DEFAULT_MAX_UPLOAD_BYTES", "PREVIEW_SIDE"]

#: Uploads with more pixels are refused (a 2-core machine stays responsive; ``--max-pixels`` raises it).
DEFAULT_MAX_PIXELS = 16_000_000
#: Request bodies larger than this are refused before they are read.
DEFAULT_MAX_UPLOAD_BYTES = 40 * 1024 * 1024
#: ``preview=1`` stylizes the photo with its long side at most this many pixels.
PREVIEW_SIDE = 512
STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")


class BadRequest(Exception):
    """A request the API refuses: the status and the message of its JSON body."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class StylizerPool:
    """A few runtime stylizers, each used by one request at a time."""

    def __init__(self, tflite_model: str | None, size: int, max_pixels: int):
        threads = max(1, usable_cpu_count() // size)
        self._free: queue.Queue[TFLiteStylizer] = queue.Queue()
        for _ in range(size):
            self._free.put(TFLiteStylizer(tflite_model, num_threads=threads, max_pixels=max_pixels))
        first = self._free.queue[0]
        self.style_names, self.metadata = first.style_names, first.metadata or {}

    @contextlib.contextmanager
    def borrow(self) -> Iterator[TFLiteStylizer]:
        stylizer = self._free.get()
        try:
            yield stylizer
        finally:
            self._free.put(stylizer)


def _style_spec(text: str, field: str, names: list[str]) -> np.ndarray:
    """A style field: a name, an index, or a blend ``name:0.7,name:0.3`` (``=`` works too) -> weights."""
    text = text.strip()
    if not text:
        raise BadRequest(f"{field}: empty; give a style name, an index or a blend such as "
                         f"'{names[0]}:0.7,{names[1]}:0.3'")
    spec: Any = text.replace(":", "=") if ("," in text or ":" in text) else text
    if isinstance(spec, str) and "=" not in spec and spec.isdigit():
        spec = int(spec)
    try:
        return style_weights(spec, names)
    except StyleError as exc:
        raise BadRequest(f"{field}: {exc}") from None


def _number(form, field: str, default: float, low: float, high: float) -> float:
    raw = form.get(field)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise BadRequest(f"{field}: {raw!r} is not a number (allowed: {low} to {high})") from None
    if not low <= value <= high:
        raise BadRequest(f"{field}: {value} is outside {low} to {high}")
    return value


def _flag(form, field: str) -> bool:
    raw = str(form.get(field) or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise BadRequest(f"{field}: {raw!r} is not a yes/no value (allowed: true, false, 1, 0)")


def _mask(data: bytes, field: str, size: tuple[int, int], max_pixels: int) -> np.ndarray:
    try:
        mask = load_image_bytes(data, field, max_pixels).rgb.mean(axis=2)
    except ImageError as exc:
        raise BadRequest(str(exc)) from None
    if (mask.shape[1], mask.shape[0]) != size:
        raise BadRequest(f"{field}: {mask.shape[1]}x{mask.shape[0]} does not match the image's {size[0]}x{size[1]}")
    return mask


def _shrink(array: np.ndarray, width: int, height: int) -> np.ndarray:
    from cin_style.files.images import resize

    return np.clip(resize(array if array.ndim == 3 else array[..., None], height, width), 0.0, 1.0)


def stylize_request(pool: StylizerPool, form: Any, files: dict[str, list[bytes]], max_pixels: int) -> bytes:
    """The work of ``POST /api/stylize`` on parsed fields (``files``: field -> uploaded bytes): a PNG."""
    images = files.get("image")
    if not images:
        raise BadRequest("image: missing; upload the photo as the multipart field 'image'")
    try:
        loaded = load_image_bytes(images[0], "image", max_pixels)
    except ImageError as exc:
        raise BadRequest(str(exc), 413 if "exceeds the limit" in str(exc) else 400) from None
    names = pool.style_names
    strength = _number(form, "strength", 1.0, 0.0, 1.0)
    preserve = _flag(form, "preserve_color")
    feather = _number(form, "feather", 8.0, 0.0, 200.0)
    scale_text = str(form.get("style_scale") or "auto")
    try:
        style_scale: float | str = "auto" if scale_text == "auto" else float(scale_text)
        resolve_style_scale(style_scale, 1, 1)
    except (ValueError, StyleError):
        raise BadRequest(f"style_scale: {scale_text!r} is not 'auto' or a number from 0.25 to 8") from None
    size = loaded.size
    # Regions: the mask / style_outside pair, or any number of region_mask / region_style pairs (the page's
    # brushes), with `style` for what no region covers.
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    if files.get("mask") or form.get("style_outside"):
        if not files.get("mask") or not form.get("style_outside"):
            raise BadRequest("mask: give the mask (a PNG, white where `style` goes) together with style_outside "
                             "(the style where the mask is black)")
        mask = _mask(files["mask"][0], "mask", size, max_pixels)
        pairs = [(mask, _style_spec(str(form.get("style") or ""), "style", names)),
                 (1.0 - mask, _style_spec(str(form.get("style_outside")), "style_outside", names))]
    elif files.get("region_mask"):
        masks, styles = files["region_mask"], form.getlist("region_style")
        if len(masks) != len(styles):
            raise BadRequest(f"region_mask / region_style: {len(masks)} masks but {len(styles)} styles; give one "
                             "style per mask, in the same order")
        pairs = [(_mask(data, f"region_mask[{i}]", size, max_pixels), _style_spec(text, f"region_style[{i}]", names))
                 for i, (data, text) in enumerate(zip(masks, styles))]
        rest = np.clip(1.0 - np.sum([m for m, _ in pairs], axis=0), 0.0, 1.0)
        if form.get("style") and rest.max() > 0:
            pairs.append((rest, _style_spec(str(form.get("style")), "style", names)))
    style = None if pairs else _style_spec(str(form.get("style") or ""), "style", names)
    rgb, alpha = loaded.rgb, loaded.alpha
    preview = _flag(form, "preview")
    if preview and max(size) > PREVIEW_SIDE:  # the page's quick look while sliders move
        factor = PREVIEW_SIDE / max(size)
        width, height = max(1, round(size[0] * factor)), max(1, round(size[1] * factor))
        rgb = _shrink(rgb, width, height)
        alpha = None if alpha is None else _shrink(alpha, width, height)[..., 0]
        pairs = [(_shrink(m, width, height)[..., 0], w) for m, w in pairs]
    image = rgb if alpha is None else np.dstack([rgb, alpha])
    with pool.borrow() as stylizer:
        try:
            picture = stylizer.stylize(image, style, preserve_color=preserve, strength=strength,
                                       regions=pairs or None, feather_px=feather, style_scale=style_scale)
        except CinStyleError as exc:
            raise BadRequest(str(exc)) from None
    # Fast PNGs: the page waits for them. A preview (at most 512 px) goes uncompressed; full size at level 1.
    return image_bytes(picture, ".png", png_compress_level=0 if preview else 1)


def create_app(tflite_model: str | None = None, *, max_pixels: int = DEFAULT_MAX_PIXELS,
               max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, workers: int = 2) -> Any:
    """The Starlette application (serve it with uvicorn; ``cin-style app`` does)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    pool = StylizerPool(tflite_model, workers, max_pixels)
    samples: dict[int, bytes] = {}

    def error(message: str, status: int = 400) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    async def page(request: Request) -> FileResponse:
        return FileResponse(os.path.join(STATIC, "index.html"))

    async def styles(request: Request) -> JSONResponse:
        listed = pool.metadata.get("styles") or [{"index": i, "name": n} for i, n in enumerate(pool.style_names)]
        return JSONResponse([{"index": s["index"], "name": s["name"], "title": s.get("title") or s["name"],
                              "artist": s.get("artist", ""), "year": s.get("year", "")} for s in listed])

    def make_sample(index: int) -> bytes:
        from cin_style.export.calibration import CALIBRATION_PHOTOS
        from cin_style.files.folders import find_images

        photos = find_images(CALIBRATION_PHOTOS)  # the example photos that ship with the package
        photo = next((p for p in photos if "chelsea" in p), photos[0])
        with Image.open(photo) as image:
            image = image.convert("RGB")
            image.thumbnail((160, 160))
            with pool.borrow() as stylizer:
                picture = stylizer.stylize(image, index, style_scale=1)
        return image_bytes(picture, ".jpg", quality=85)

    async def sample(request: Request) -> Response:
        try:
            index = int(request.path_params["index"])
        except ValueError:
            return error("index: not a number")
        if not 0 <= index < len(pool.style_names):
            return error(f"index: {index} is not a style index (0 to {len(pool.style_names) - 1})", 404)
        if index not in samples:
            samples[index] = await run_in_threadpool(make_sample, index)
        return Response(samples[index], media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})

    async def stylize(request: Request) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > max_upload_bytes):
            return error(f"request: {length} bytes is more than the {max_upload_bytes} allowed", 413)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return error("request: send multipart/form-data with the fields image, style, strength, "
                         "preserve_color, style_scale, mask, style_outside")
        try:
            async with request.form(max_files=17, max_fields=64, max_part_size=max_upload_bytes) as form:
                files: dict[str, list[bytes]] = {}
                fields: dict = {}
                for key, value in form.multi_items():
                    if hasattr(value, "read"):
                        files.setdefault(key, []).append(await value.read())
                    else:
                        fields.setdefault(key, []).append(value)
        except Exception as exc:  # noqa: BLE001 - the multipart parser's own errors
            return error(f"request: not a readable multipart form ({exc})")
        form_view = _Fields(fields)
        try:
            png = await run_in_threadpool(stylize_request, pool, form_view, files, max_pixels)
        except BadRequest as exc:
            return error(str(exc), exc.status)
        return Response(png, media_type="image/png")

    routes = [Route("/", page), Route("/api/styles", styles), Route("/api/sample/{index}", sample),
              Route("/api/stylize", stylize, methods=["POST"]),
              Mount("/static", app=StaticFiles(directory=STATIC), name="static")]
    app = Starlette(routes=routes)
    app.state.pool = pool
    return app


class _Fields(dict):
    """Form fields: ``get`` gives a field's first value, ``getlist`` all of them."""

    def get(self, key, default=None):  # type: ignore[override]
        values = super().get(key)
        return values[0] if values else default

    def getlist(self, key) -> list:
        return list(super().get(key) or [])
