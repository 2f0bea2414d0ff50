"""Hostile and broken inputs: every case gives a documented error or a correct result."""

import io
import os
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from cin_style.errors import ImageError, StyleError
from cin_style.files.images import load_image, save_image
from cin_style.model.styles import style_weights

FUZZ_EXAMPLES = int(os.environ.get("CIN_STYLE_FUZZ_EXAMPLES", "300"))


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _bomb_png(width: int, height: int) -> bytes:
    """A tiny valid-looking PNG that declares width x height RGB pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + _chunk(b"IEND", b""))


@pytest.fixture
def write(tmp_path):
    def writer(name, data):
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)
    return writer


def test_zero_byte_file(write):
    with pytest.raises(ImageError, match="empty file"):
        load_image(write("empty.jpg", b""))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_pipes_and_devices_are_refused_without_waiting(tmp_path):
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)  # opening it for reading would block until a writer comes
    with pytest.raises(ImageError, match="not a regular file"):
        load_image(str(fifo))
    if os.path.exists("/dev/zero"):
        device = tmp_path / "zero.jpg"
        device.symlink_to("/dev/zero")
        with pytest.raises(ImageError, match="not a regular file"):
            load_image(str(device))


def test_truncated_files(write):
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (64, 64, 3), np.uint8))
    jpeg = io.BytesIO()
    image.save(jpeg, "JPEG")
    for name, data in (("cut.png", _png_bytes(image)), ("cut.jpg", jpeg.getvalue())):
        with pytest.raises(ImageError, match="corrupt or truncated"):
            load_image(write(name, data[: len(data) // 2]))


def test_non_images_and_unsupported_formats(write):
    with pytest.raises(ImageError, match="not a supported image"):
        load_image(write("notes.jpg", b"these are not pixels" * 10))
    with pytest.raises(ImageError, match="not a supported image"):
        load_image(write("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'))
    with pytest.raises(ImageError, match="is a directory"):
        load_image(os.path.dirname(write("x", b"")))


_POSTSCRIPT = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\n%%EndComments\n"
               b"newpath 0 0 moveto 16 16 lineto stroke showpage\n%%EOF\n")
_RARE_FORMATS = {"postscript": ("holiday.jpg", _POSTSCRIPT), "pcx": ("scan.png", "PCX"), "tga": ("frame.jpg", "TGA"),
                 "ico": ("icon.png", "ICO"), "ppm": ("photo.jpg", "PPM")}


@pytest.mark.parametrize("case", sorted(_RARE_FORMATS))
def test_only_allowed_decoders_run_whatever_the_name(write, case, monkeypatch):
    """A PostScript file named .jpg must never reach Pillow's EPS plugin (which starts Ghostscript), nor
    may any rarely used decoder run: the file is refused by name, for the training scan too."""
    import subprocess

    from cin_style.train.data import scan_content

    def no_processes(*args, **kwargs):
        raise AssertionError(f"a process was started: {args}")

    for name in ("Popen", "run", "call", "check_call", "check_output"):
        monkeypatch.setattr(subprocess, name, no_processes)
    name, payload = _RARE_FORMATS[case]
    if isinstance(payload, str):
        buffer = io.BytesIO()
        Image.new("RGB", (16, 16), (200, 30, 30)).save(buffer, payload)
        payload = buffer.getvalue()
    path = write(name, payload)
    with pytest.raises(ImageError, match="not a supported image.*JPEG, PNG"):
        load_image(path)
    scanned = scan_content(os.path.dirname(path), min_side=8)
    assert path not in scanned.paths and [p for p, _ in scanned.skipped] == [path]


@pytest.mark.parametrize("fmt,name", [("JPEG", "a.jpg"), ("MPO", "camera.jpg"), ("PNG", "a.png"), ("WEBP", "a.webp"),
                                      ("BMP", "a.bmp"), ("TIFF", "a.tif"), ("GIF", "a.gif")])
def test_allowed_formats_load(write, fmt, name):
    image = Image.new("RGB", (16, 12), (40, 200, 90))
    buffer = io.BytesIO()
    extra = {"save_all": True, "append_images": [Image.new("RGB", (16, 12))]} if fmt == "MPO" else {}
    image.save(buffer, fmt, **extra)
    assert load_image(write(name, buffer.getvalue())).size == (16, 12)


def test_decompression_bomb_is_refused_before_decoding(write):
    path = write("bomb.png", _bomb_png(50000, 50000))
    assert os.path.getsize(path) < 200
    with pytest.raises(ImageError, match="too many pixels; it exceeds the limit"):
        load_image(path)
    with pytest.raises(ImageError, match="30000x5000 = 150000000 pixels exceeds the limit of 100000000"):
        load_image(write("bomb2.png", _bomb_png(30000, 5000)), max_pixels=100_000_000)
    with pytest.raises(ImageError, match="exceeds the limit of 100"):
        load_image(write("small.png", _png_bytes(Image.new("RGB", (20, 20)))), max_pixels=100)


@pytest.mark.parametrize("mode,expect_alpha", [("RGBA", True), ("LA", True), ("L", False), ("1", False),
                                               ("I;16", False), ("CMYK", False), ("RGB", False)])
def test_modes(tmp_path, mode, expect_alpha):
    rng = np.random.default_rng(1)
    base = Image.fromarray(rng.integers(0, 255, (12, 10, 3), np.uint8))
    if mode == "I;16":
        image = Image.fromarray((rng.integers(0, 65535, (12, 10))).astype(np.uint16))
        path = tmp_path / "deep.png"
    elif mode == "CMYK":
        image, path = base.convert("CMYK"), tmp_path / "cmyk.jpg"
    else:
        image, path = base.convert(mode), tmp_path / f"{mode}.png"
    image.save(path)
    loaded = load_image(str(path))
    assert loaded.rgb.shape == (12, 10, 3) and loaded.rgb.dtype == np.float32
    assert 0.0 <= loaded.rgb.min() and loaded.rgb.max() <= 1.0
    assert (loaded.alpha is not None) == expect_alpha
    if mode == "I;16":  # 16-bit values are scaled from 0..65535, not clipped at 255
        expected = np.asarray(image, np.float64) / 65535
        np.testing.assert_allclose(loaded.rgb[..., 0], expected, atol=1e-6)


def test_palette_with_transparency(tmp_path):
    image = Image.new("P", (8, 6), 0)
    image.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    image.paste(1, (0, 0, 4, 6))
    image.info["transparency"] = 0
    path = tmp_path / "palette.png"
    image.save(path, transparency=0)
    loaded = load_image(str(path))
    assert loaded.alpha is not None
    np.testing.assert_array_equal(loaded.alpha[:, :4], 1.0)
    np.testing.assert_array_equal(loaded.alpha[:, 4:], 0.0)


def test_animated_gif_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (9, 7), color) for color in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    loaded = load_image(str(path))
    assert loaded.rgb.shape == (7, 9, 3)
    assert loaded.rgb[..., 0].mean() > 0.9 and loaded.rgb[..., 2].mean() < 0.1


@pytest.mark.parametrize("array,message", [
    (np.zeros((0, 5, 3), np.uint8), "empty image"),
    (np.zeros((4, 4, 2), np.uint8), "expected HxW"),
    (np.zeros((4, 4, 3), np.int64), "dtype must be"),
    (np.full((4, 4, 3), np.nan, np.float32), "NaN"),
    (np.zeros((2, 2, 2, 3), np.uint8), "expected HxW"),
])
def test_bad_arrays(array, message):
    with pytest.raises(ImageError, match=message):
        load_image(array)


def test_unsupported_input_type():
    with pytest.raises(ImageError, match="unsupported image input of type int"):
        load_image(42)


def test_outputs_are_atomic_and_never_replace_inputs(tmp_path):
    image = Image.new("RGB", (4, 4), "red")
    source = tmp_path / "in.png"
    image.save(source)
    with pytest.raises(ImageError, match="refusing to overwrite an input"):
        save_image(image, source, overwrite=True, protect=(str(source),))
    target = tmp_path / "out.png"
    save_image(image, target)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(target).st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, not mkstemp's 0600
    with pytest.raises(ImageError, match="already exists"):
        save_image(Image.new("RGB", (4, 4), "blue"), target)
    assert Image.open(target).getpixel((0, 0)) == (255, 0, 0)
    with pytest.raises(ImageError, match="cannot write .xyz"):
        save_image(image, tmp_path / "out.xyz")

    class Exploding:
        mode = "RGB"

        def save(self, handle, **kwargs):
            handle.write(b"partial")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        save_image(Exploding(), tmp_path / "half.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "out.png"]  # no temporary left


def _mutations(seed_bytes):
    """Byte strings derived from a valid image: truncations, flips, insertions."""
    return st.one_of(
        st.integers(0, len(seed_bytes)).map(lambda n: seed_bytes[:n]),
        st.tuples(st.integers(0, len(seed_bytes) - 1), st.integers(0, 255)).map(
            lambda t: seed_bytes[: t[0]] + bytes([t[1]]) + seed_bytes[t[0] + 1:]),
        st.tuples(st.integers(0, len(seed_bytes)), st.binary(max_size=64)).map(
            lambda t: seed_bytes[: t[0]] + t[1] + seed_bytes[t[0]:]),
        st.binary(max_size=512),
    )


_SEEDS = {}
for _format in ("PNG", "JPEG", "GIF", "BMP", "WEBP"):
    _buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (16, 12, 3), np.uint8)).save(_buffer, _format)
    _SEEDS[_format] = _buffer.getvalue()


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.sampled_from(sorted(_SEEDS)).flatmap(lambda f: _mutations(_SEEDS[f])))
def test_fuzz_image_loader_only_raises_image_error(tmp_path, data):
    path = tmp_path / "fuzz.img"
    path.write_bytes(data)
    try:
        loaded = load_image(str(path), max_pixels=10_000_000)
    except ImageError:
        return
    assert loaded.rgb.ndim == 3 and loaded.rgb.shape[2] == 3
    assert np.all(np.isfinite(loaded.rgb))


_NAMES = ["starry_night", "great_wave", "the_scream"]
_style_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True),
              st.text(max_size=12), st.sampled_from(_NAMES + ["starry_night=0.5,great_wave=0.5", "=", ",", "a=b"])),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.one_of(st.text(max_size=8), st.integers(-2, 4)), children,
                                               max_size=3)),
    max_leaves=6)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(style=_style_values)
def test_fuzz_style_parser_only_raises_style_error(style):
    try:
        weights = style_weights(style, _NAMES)
    except StyleError:
        return
    assert weights.shape == (3,) and np.all(weights >= 0) and abs(float(weights.sum()) - 1) < 1e-5


def test_an_output_that_appears_while_writing_is_left_as_it_was(tmp_path, monkeypatch):
    """No-overwrite is atomic: a file created at the name during the write is never replaced."""
    target = tmp_path / "out.png"
    real_save = Image.Image.save

    def another_writer_first(self, fp, *args, **kwargs):
        if not target.exists():
            target.write_bytes(b"the other writer's picture")
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", another_writer_first)
    with pytest.raises(ImageError, match="appeared while this image was written"):
        save_image(Image.new("RGB", (8, 8)), str(target))
    assert target.read_bytes() == b"the other writer's picture"
    assert sorted(os.listdir(tmp_path)) == ["out.png"]


@pytest.fixture(scope="module")
def pack_and_model(tmp_path_factory):
    from cin_style.model.packs import export_style_pack
    from tiny_models import make_tiny_model

    folder = tmp_path_factory.mktemp("fuzz_models")
    model = make_tiny_model(seed=1)
    export_style_pack(model, 0, folder / "style.npz")
    model.save(folder / "model")
    return folder, make_tiny_model(seed=1, num_styles=2)


@settings(max_examples=max(20, FUZZ_EXAMPLES // 5), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_pack_and_model_loaders_only_raise_model_error(tmp_path_factory, pack_and_model, data):
    """Mutated pack files and mutated model files (each of its three files) end in ModelError or load."""
    import shutil

    from cin_style.errors import ModelError
    from cin_style.model.format import load_model
    from cin_style.model.packs import import_style_pack

    source, base = pack_and_model
    work = tmp_path_factory.mktemp("case")
    target = data.draw(st.sampled_from(["style.npz", "model/weights.npz", "model/model.json", "model/styles.json"]))
    shutil.copy(source / "style.npz", work / "style.npz")
    shutil.copytree(source / "model", work / "model")
    original = (work / target).read_bytes()
    (work / target).write_bytes(data.draw(_mutations(original)))
    try:
        if target == "style.npz":
            import_style_pack(base, work / "style.npz", name="fuzzed")
        else:
            load_model(work / "model")
    except ModelError:
        pass


def test_float_images_with_nan_are_refused(tmp_path):
    path = tmp_path / "nan.tif"
    pixels = np.full((12, 16), 0.5, np.float32)
    pixels[3, 4] = np.nan
    Image.fromarray(pixels, mode="F").save(path)
    with pytest.raises(ImageError, match="NaN or infinite"):
        load_image(str(path))
    Image.fromarray(np.full((12, 16), 0.25, np.float32), mode="F").save(path)
    np.testing.assert_allclose(load_image(str(path)).rgb, 0.25)


def test_a_killed_writers_temporary_file_is_removed_by_the_next_save(tmp_path):
    import subprocess
    import sys

    from cin_style.files import atomic

    dead = subprocess.Popen([sys.executable, "-c", "pass"])  # a process that no longer runs
    dead.wait()
    stale = tmp_path / (atomic._temporary_prefix(dead.pid) + "x1.png")
    alive = tmp_path / (atomic._temporary_prefix(os.getppid()) + "x2.png")
    other_host = tmp_path / f".cin-style-elsewhere-{dead.pid}-x3.png"
    for path in (stale, alive, other_host):
        path.write_bytes(b"partial")
    save_image(Image.new("RGB", (4, 4)), str(tmp_path / "out.png"))
    assert not stale.exists() and alive.exists() and other_host.exists()
    assert (tmp_path / "out.png").exists()
