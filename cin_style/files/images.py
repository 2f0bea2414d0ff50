"""Reading and writing images: every input form to float RGB (+ alpha), and safe writes.

Contract of :func:`load_image`: returns ``LoadedImage(rgb, alpha)`` with
``rgb`` [H, W, 3] float32 in [0, 1] and ``alpha`` [H, W] float32 in [0, 1] or None.
"""

from __future__ import annotations

import dataclasses
import io
import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
# Registers the allowed decoders that Pillow's minimal start-up leaves out (Image.open(formats=...) needs them).
from PIL import TiffImagePlugin, WebPImagePlugin  # noqa: F401

from typing import Union

from cin_style.files import PathLike, check_input_file
from cin_style.files.atomic import atomic_write
from cin_style.errors import ImageError

__all__ = ["PathLike", "ImageSource", "LoadedImage", "load_image", "load_image_bytes", "open_image_file", "to_pil",
           "save_image", "image_bytes", "check_output_format",
           "DEFAULT_MAX_PIXELS", "resize", "resize_short_side", "center_crop", "IMAGE_EXTENSIONS", "DECODER_FORMATS"]

#: Images with more pixels are refused before decoding (decompression-bomb guard). Pillow
#: refuses files over 2 x ``PIL.Image.MAX_IMAGE_PIXELS`` (about 179 million) on its own.
DEFAULT_MAX_PIXELS = 150_000_000

#: What every image argument accepts: a file path, a PIL image, or a numpy array (HxW, HxWx3, HxWx4;
#: uint8, uint16 or float in [0, 1]), or an image :func:`load_image` already read.
ImageSource = Union[str, "os.PathLike[str]", Image.Image, np.ndarray, "LoadedImage"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")

#: The only Pillow decoders ever run on a file, whatever its name: what IMAGE_EXTENSIONS promise (the JPEG
#: opener also reads cameras' multi-picture JPEGs, as MPO images). A PostScript file named ``holiday.jpg``
#: would otherwise reach Pillow's EPS plugin, which starts Ghostscript on it; rarely used decoders are
#: attack surface too.
DECODER_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF")
_ALLOWED_NAMES = "JPEG, PNG, WebP, BMP, TIFF or GIF"

#: Output formats by extension (what :func:`save_image` can write).
_SAVE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP",
                 ".tif": "TIFF", ".tiff": "TIFF"}


@dataclasses.dataclass
class LoadedImage:
    """An image as the network sees it.

    Attributes:
      rgb: [H, W, 3] float32 in [0, 1].
      alpha: [H, W] float32 in [0, 1], or None for opaque images.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), as PIL reports sizes."""
        return self.rgb.shape[1], self.rgb.shape[0]


def _check_pixels(width: int, height: int, max_pixels: int, what: str) -> None:
    if width < 1 or height < 1:
        raise ImageError(f"{what}: empty image ({width}x{height})")
    if width * height > max_pixels:
        raise ImageError(
            f"{what}: {width}x{height} = {width * height} pixels exceeds the limit of {max_pixels} "
            "(raise max_pixels if you trust this file)")


def open_image_file(path: PathLike | io.BytesIO, name: str | None = None) -> Image.Image:
    """``PIL.Image.open`` restricted to :data:`DECODER_FORMATS` (lazy: reads the header only).

    Args:
      path: a file path, or a file's bytes in a BytesIO (then ``name`` names it in errors).

    Raises:
      ImageError: the file's bytes are not one of the allowed formats.
    """
    try:
        return Image.open(path, formats=DECODER_FORMATS)
    except UnidentifiedImageError as exc:
        what = name or os.fspath(path)  # type: ignore[arg-type]
        raise ImageError(f"{what}: not a supported image (allowed: {_ALLOWED_NAMES}; "
                         "the format is read from the bytes, not the name)") from exc


def load_image_bytes(data: bytes, name: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """An image file's bytes, read from anywhere (object storage, an archive), with the checks a path gets:
    the allowed decoders only, the declared size against ``max_pixels`` before any pixel is decoded.
    ``name`` names the image in errors."""
    if not data:
        raise ImageError(f"{name}: empty file")
    return _from_pil(_decode(io.BytesIO(data), name, max_pixels), name)


def _open_file(path: str, max_pixels: int) -> Image.Image:
    check_input_file(path, "image", ImageError)
    return _decode(path, path, max_pixels)


def _decode(source: str | io.BytesIO, path: str, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # max_pixels is our limit
            image = open_image_file(source, path)
            # The header is read; check the declared size before decoding any pixels.
            _check_pixels(image.width, image.height, max_pixels, path)
            image.seek(0)  # animated images: the first frame
            image.load()
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{path}: declares too many pixels; it exceeds the limit and was refused before "
                         f"decoding ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{path}: not a supported image ({exc})") from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, MemoryError) as exc:
        raise ImageError(f"{path}: corrupt or truncated image ({exc})") from exc
    return image


def _from_pil(image: Image.Image, what: str) -> LoadedImage:
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block must not lose the image  # noqa: BLE001
        pass
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        data = np.asarray(image, dtype=np.float64)
        scale = 65535.0 if mode.startswith("I;16") or data.max(initial=0) > 255 else 255.0
        gray = np.clip(data / scale, 0.0, 1.0).astype(np.float32)
        return LoadedImage(np.repeat(gray[..., None], 3, axis=2))
    if mode == "F":
        data = np.asarray(image, dtype=np.float32)
        if not np.all(np.isfinite(data)):
            raise ImageError(f"{what}: a float image holding NaN or infinite values")
        gray = np.clip(data, 0.0, 1.0)
        return LoadedImage(np.repeat(gray[..., None], 3, axis=2))
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "PA":
        image = image.convert("RGBA")
    alpha = None
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        alpha = np.asarray(image.getchannel("A"), dtype=np.float32) / 255.0
    try:
        rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    except (OSError, ValueError) as exc:
        raise ImageError(f"{what}: cannot convert mode {mode!r} to RGB ({exc})") from exc
    return LoadedImage(rgb, alpha)


def _from_array(array: np.ndarray, max_pixels: int) -> LoadedImage:
    what = f"image array of shape {array.shape} and dtype {array.dtype}"
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise ImageError(f"{what}: expected HxW, HxWx1, HxWx3 or HxWx4")
    _check_pixels(array.shape[1], array.shape[0], max_pixels, what)
    if array.dtype == np.uint8:
        data = array.astype(np.float32) / 255.0
    elif array.dtype == np.uint16:
        data = array.astype(np.float32) / 65535.0
    elif np.issubdtype(array.dtype, np.floating):
        data = array.astype(np.float32)
        if not np.all(np.isfinite(data)):
            raise ImageError(f"{what}: contains NaN or infinite values")
        if data.min(initial=0.0) < 0.0 or data.max(initial=0.0) > 1.0:
            raise ImageError(f"{what}: float images must have values in [0, 1]")
    else:
        raise ImageError(f"{what}: dtype must be uint8, uint16 or float in [0, 1]")
    if data.ndim == 2:
        data = data[..., None]
    alpha = None
    if data.shape[2] == 4:
        data, alpha = data[..., :3], np.ascontiguousarray(data[..., 3])
    if data.shape[2] == 1:
        data = np.repeat(data, 3, axis=2)
    return LoadedImage(np.ascontiguousarray(data), alpha)


def load_image(image: ImageSource, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Reads ``image`` into float RGB and optional alpha.

    Args:
      image: a path (str or os.PathLike), a PIL image, or a numpy array
        ([H, W], [H, W, 1], [H, W, 3] or [H, W, 4]; uint8, uint16, or float in [0, 1]).
        EXIF orientation is applied; palette, grayscale, 16-bit, CMYK and alpha
        images are converted; an animated image gives its first frame.
      max_pixels: images declaring more pixels are refused before decoding.

    Raises:
      ImageError: the input is missing, empty, corrupt, unsupported or too large.
    """
    if isinstance(image, LoadedImage):
        return image
    if isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        return _from_pil(_open_file(path, max_pixels), path)
    if isinstance(image, Image.Image):
        _check_pixels(image.width, image.height, max_pixels, "PIL image")
        try:
            image.load()
        except (OSError, ValueError) as exc:
            raise ImageError(f"PIL image: cannot read its pixels ({exc})") from exc
        return _from_pil(image, "PIL image")
    if isinstance(image, np.ndarray):
        return _from_array(image, max_pixels)
    raise ImageError(
        f"unsupported image input of type {type(image).__name__}; "
        "pass a file path, a PIL.Image or a numpy array")


def to_pil(rgb: np.ndarray, alpha: np.ndarray | None = None) -> Image.Image:
    """[H, W, 3] float in [0, 1] (and optional [H, W] alpha) -> 8-bit PIL RGB or RGBA."""
    rgb = np.asarray(rgb)
    alpha = None if alpha is None else np.asarray(alpha)
    channels = 3 if alpha is None else 4
    pixels = np.empty((*rgb.shape[:2], channels), np.uint8)
    # Row bands of about a megapixel: the float temporaries of a 24 MP image would
    # otherwise need twice its float size again (measured in the large-image benchmark).
    band = max(1, (1 << 20) // max(1, rgb.shape[1]))
    for top in range(0, rgb.shape[0], band):
        rows = slice(top, top + band)
        pixels[rows, :, :3] = _to_uint8(rgb[rows])
        if alpha is not None:
            pixels[rows, :, 3] = _to_uint8(alpha[rows])
    return Image.fromarray(pixels, "RGB" if alpha is None else "RGBA")


def _to_uint8(values: np.ndarray) -> np.ndarray:
    scaled = np.asarray(values, np.float32) * np.float32(255.0)
    np.rint(scaled, out=scaled)
    np.clip(scaled, 0, 255, out=scaled)
    return scaled.astype(np.uint8)


def check_output_format(path: str) -> str:
    """The extension of ``path`` (lower case) if :func:`save_image` can write it; ImageError naming the
    allowed ones otherwise. Cheap: callers check every output before any work."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in _SAVE_FORMATS:
        raise ImageError(f"{path}: cannot write {extension or 'files without an extension'}; "
                         f"use one of {', '.join(sorted(_SAVE_FORMATS))}")
    return extension


def _write(image: Image.Image, handle, extension: str, quality: int, png_compress_level: int = 6) -> None:
    fmt = _SAVE_FORMATS[extension]
    if fmt in ("JPEG", "BMP") and image.mode == "RGBA":
        image = image.convert("RGB")  # these formats have no alpha channel
    options: dict = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    if fmt == "PNG":
        options["compress_level"] = png_compress_level
    image.save(handle, format=fmt, **options)


def image_bytes(image: Image.Image, extension: str, quality: int = 95, png_compress_level: int = 6) -> bytes:
    """``image`` encoded as a file of the format ``extension`` names (``.jpg``, ``.png``, ...), as
    :func:`save_image` writes it; for outputs that go elsewhere than a local file. ``png_compress_level`` 1
    encodes a PNG about 5x faster than the default 6, for a somewhat larger file (what a local server wants)."""
    check_output_format("image" + extension)
    buffer = io.BytesIO()
    _write(image, buffer, extension.lower(), quality, png_compress_level)
    return buffer.getvalue()


def save_image(image: Image.Image, path: str, *, overwrite: bool = False, protect: tuple[str, ...] = (),
               quality: int = 95) -> str:
    """Writes ``image`` to ``path`` atomically (temporary file in the same folder, then rename).

    Args:
      image: a PIL image.
      path: output file; the format comes from its extension.
      overwrite: replace an existing file; otherwise an existing ``path`` is an error.
      protect: paths that must never be written (the inputs).
      quality: JPEG/WebP quality.

    Returns:
      The path written.

    Raises:
      ImageError: unknown extension, existing output without ``overwrite``, or the
        output would replace a protected input. Nothing is left behind on failure.
    """
    path = os.fspath(path)
    extension = check_output_format(path)
    if os.path.exists(path) and any(os.path.exists(p) and os.path.samefile(p, path) for p in protect):
        raise ImageError(f"{path}: refusing to overwrite an input image")
    if os.path.exists(path) and not overwrite:
        raise ImageError(f"{path}: already exists (pass overwrite=True / --overwrite to replace it)")
    try:
        with atomic_write(path, extension, overwrite=overwrite) as handle:
            _write(image, handle, extension, quality)
    except FileExistsError:
        raise ImageError(f"{path}: already exists; it appeared while this image was written and was left as it "
                         "was (pass overwrite=True / --overwrite to replace it)") from None
    return path


def resize(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """The one resize of float images outside the training graph: Lanczos (antialiased when shrinking),
    channel by channel, for any [H, W, C] float array (images in [0, 1], per-pixel style weights)."""
    array = np.asarray(array, np.float32)
    if array.shape[:2] == (height, width):
        return array.copy()
    channels = [np.asarray(Image.fromarray(np.ascontiguousarray(array[..., c]), mode="F")
                           .resize((width, height), Image.Resampling.LANCZOS)) for c in range(array.shape[-1])]
    return np.stack(channels, axis=-1)


def resize_short_side(rgb: np.ndarray, short_side: int) -> np.ndarray:
    """[H, W, 3] float in [0, 1] -> resized so min(H, W) == ``short_side``, clipped to [0, 1]."""
    height, width = rgb.shape[:2]
    scale = short_side / min(height, width)
    return np.clip(resize(rgb, max(1, round(height * scale)), max(1, round(width * scale))), 0.0, 1.0)


def center_crop(rgb: np.ndarray, size: int, short_side: int | None = None) -> np.ndarray:
    """Resize the short side to ``short_side`` (default ``size``) and cut the central ``size`` x
    ``size`` square."""
    short_side = size if short_side is None else int(short_side)
    if short_side < size:
        raise ValueError(f"short_side must be at least size ({size}), got {short_side}")
    resized = resize_short_side(rgb, short_side)
    top, left = (resized.shape[0] - size) // 2, (resized.shape[1] - size) // 2
    return resized[top:top + size, left:left + size]
