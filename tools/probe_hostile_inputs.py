"""Feed hostile and malformed inputs to the installed `cin-style` and report what each does.

Every case runs the real command line in a scratch folder and records the exit code, the last error line,
whether a Python traceback reached the user, and which files appeared or vanished. A case fails when a
traceback is printed, when it hangs, when bad input exits 0, or when an input or an unrelated file is changed.

    python tools/probe_hostile_inputs.py --work_dir /tmp/probe [--only image,style] [--report probe.json]

The photo folders it needs are made on the fly from the shipped example photos; nothing outside --work_dir
is written. Cases that start TensorFlow take a few seconds each; the whole probe takes 10-20 minutes.
"""

import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import zipfile
import zlib

import numpy as np
from absl import app, flags
from PIL import Image

FLAGS = flags.FLAGS
flags.DEFINE_string("work_dir", None, "Scratch folder (emptied first).")
flags.DEFINE_list("only", None, "Groups to run (default: all): image, output, style, flag, model, tflite, pack, train, "
                  "video.")
flags.DEFINE_string("report", None, "JSON report to write.")
flags.DEFINE_string("cli", None, "The cin-style executable (default: the one beside this Python).")
flags.DEFINE_integer("timeout", 300, "Seconds a case may take.")
flags.mark_flag_as_required("work_dir")

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
PHOTO = os.path.join(ROOT, "assets", "examples", "chelsea.png")
NOISE = ("I0000 ", "WARNING: All log messages", "INFO: Created TensorFlow Lite")


class Probe:
    def __init__(self, work, cli, timeout):
        self.work, self.cli, self.timeout, self.rows = work, cli, timeout, []

    def path(self, *parts):
        return os.path.join(self.work, *parts)

    def snapshot(self):
        found = {}
        for root, _, files in os.walk(self.work):
            for name in files:
                full = os.path.join(root, name)
                if os.path.islink(full) or not os.path.isfile(full):  # a pipe or /dev/zero would never end
                    found[os.path.relpath(full, self.work)] = "special"
                    continue
                try:
                    with open(full, "rb") as handle:
                        found[os.path.relpath(full, self.work)] = hashlib.sha256(handle.read()).hexdigest()
                except OSError:
                    found[os.path.relpath(full, self.work)] = "unreadable"
        return found

    def case(self, group, name, args, expect_exit=(1, 2), may_write=(), stdin=None, keep=False):
        """Run `cin-style ARGS`; files other than `may_write` must stay as they were."""
        before = self.snapshot()
        start = time.perf_counter()
        try:
            result = subprocess.run([self.cli, *args], cwd=self.work, input=stdin, capture_output=True,
                                    timeout=self.timeout)
            code, stderr = result.returncode, result.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            code, stderr = "timeout", ""
        seconds = time.perf_counter() - start
        after = self.snapshot()
        lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith(NOISE)]
        lines = [line for line in lines if "failed: " in line] or lines  # the reason, not the summary
        changed = sorted(p for p in before if before[p] != after.get(p))
        new = sorted(p for p in after if p not in before)
        unexpected_new = [p for p in new if not any(p.startswith(w) for w in may_write)]
        problems = []
        if "Traceback (most recent call last)" in stderr:
            problems.append("traceback")
        if code == "timeout":
            problems.append("timeout")
        elif code not in expect_exit:
            problems.append(f"exit {code}, expected {expect_exit}")
        if changed:
            problems.append("changed " + ", ".join(changed))
        if unexpected_new:
            problems.append("left " + ", ".join(unexpected_new))
        row = {"group": group, "case": name, "exit": code, "seconds": round(seconds, 1),
               "message": (lines[-1] if lines else "")[:200], "new_files": new, "problems": problems}
        self.rows.append(row)
        mark = "FAIL" if problems else "ok  "
        print(f"{mark} [{group}] {name}: exit {code}; {row['message'][:110]}", flush=True)
        for path in [] if keep else new:
            full = self.path(path)
            if os.path.isfile(full):
                os.remove(full)
        return row


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_header_only(width, height):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b"")


def write(path, data):
    with open(path, "wb") as handle:
        handle.write(data)
    return os.path.basename(path)


def encoded(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def image_cases(probe):
    photo = Image.open(PHOTO).convert("RGB")
    good = encoded(photo, "JPEG")
    probe_files = {
        "postscript named .jpg": b"%!PS-Adobe-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",
        "EPS binary header named .png": b"\xc5\xd0\xd3\xc6" + b"\0" * 60,
        "PDF named .jpg": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
        "SVG named .png": b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>",
        "HTML named .webp": b"<html><body>hi</body></html>",
        "ICO": encoded(photo.resize((32, 32)), "ICO"),
        "PSD-like header named .jpg": b"8BPS\0\x01" + b"\0" * 40,
        "PCX": encoded(photo, "PCX"),
        "TGA": encoded(photo, "TGA"),
        "zero bytes": b"",
        "one byte": b"\xff",
        "truncated JPEG (half)": good[: len(good) // 2],
        "truncated JPEG (header only)": good[:200],
        "truncated PNG": encoded(photo, "PNG")[:500],
        "PNG header 100000x100000": png_header_only(100000, 100000),
        "PNG header 1x2000000000": png_header_only(1, 2000000000),
        "PNG header 0x0": png_header_only(0, 0),
        "random bytes": np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "JPEG magic then garbage": b"\xff\xd8\xff\xe0" + b"\x00" * 2000,
        "GIF header huge screen": b"GIF89a" + struct.pack("<HH", 65535, 65535) + b"\0\0\0" + b";",
        "BMP header huge": b"BM" + struct.pack("<IHHI", 0, 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, 60000,
                                                                                   -60000, 1, 24, 0, 0, 0, 0, 0, 0),
        "TIFF header only": b"II*\x00\x08\x00\x00\x00" + b"\x00" * 8,
    }
    for name, data in probe_files.items():
        ext = ".png" if "PNG" in name or "png" in name else ".webp" if "webp" in name else ".jpg"
        if name in ("ICO", "PCX", "TGA"):
            ext = "." + name.lower()
        file = write(probe.path("in" + ext), data)
        probe.case("image", name, ["stylize", file, "--style", "0", "-o", "out.jpg"])
        os.remove(probe.path(file))
    legit = {
        "1x1 pixel": photo.resize((1, 1)),
        "1x4000 strip": photo.resize((1, 4000)),
        "4000x2 strip": photo.resize((4000, 2)),
        "CMYK JPEG": photo.convert("CMYK"),
        "greyscale": photo.convert("L"),
        "16-bit greyscale PNG": Image.fromarray((np.asarray(photo.convert("L"), np.uint16) * 257)),
        "palette PNG with transparency": photo.convert("P"),
        "RGBA PNG": photo.convert("RGBA"),
        "1-bit PNG": photo.convert("1"),
    }
    for name, image in legit.items():
        fmt = "JPEG" if "JPEG" in name else "PNG"
        options = {"transparency": 0} if "transparency" in name else {}
        file = write(probe.path("legit." + fmt.lower()), encoded(image, fmt, **options))
        row = probe.case("image", name, ["stylize", file, "--style", "0", "-o", "legit_out.png", "--overwrite"],
                         expect_exit=(0,), may_write=("legit_out",), keep=True)
        out = probe.path("legit_out.png")
        if os.path.exists(out):
            with Image.open(out) as written:
                if written.size != image.size:
                    row["problems"].append(f"output {written.size} for input {image.size}")
            os.remove(out)
        os.remove(probe.path(file))
    exif = Image.Exif()
    exif[0x0112] = 6
    file = write(probe.path("rotated.jpg"), encoded(photo, "JPEG", exif=exif.tobytes()))
    probe.case("image", "EXIF orientation 6", ["stylize", file, "--style", "0", "-o", "rot_out.png"],
               expect_exit=(0,), may_write=("rot_out",), keep=True)
    out = Image.open(probe.path("rot_out.png")) if os.path.exists(probe.path("rot_out.png")) else None
    if out is not None and out.size != (photo.height, photo.width):
        probe.rows[-1]["problems"].append(f"EXIF rotation ignored: {out.size}")
    if out is not None:
        os.remove(probe.path("rot_out.png"))
    frames = [photo.resize((64, 48)).convert("P")] * 3
    file = write(probe.path("anim.gif"), encoded(frames[0], "GIF", save_all=True, append_images=frames[1:]))
    probe.case("image", "animated GIF", ["stylize", file, "--style", "0", "-o", "anim_out.png"],
               expect_exit=(0,), may_write=("anim_out",))
    os.makedirs(probe.path("dir.jpg"))
    probe.case("image", "a folder named dir.jpg holding nothing", ["stylize", "dir.jpg", "--style", "0", "-o", "x.png"])
    os.rmdir(probe.path("dir.jpg"))
    os.symlink("/dev/zero", probe.path("zero.jpg"))
    probe.case("image", "symlink to /dev/zero named .jpg", ["stylize", "zero.jpg", "--style", "0", "-o", "z.png"])
    os.remove(probe.path("zero.jpg"))
    os.mkfifo(probe.path("fifo.jpg"))
    probe.case("image", "FIFO named .jpg", ["stylize", "fifo.jpg", "--style", "0", "-o", "f.png"])
    os.remove(probe.path("fifo.jpg"))
    write(probe.path("locked.jpg"), good)
    os.chmod(probe.path("locked.jpg"), 0)
    if os.access(probe.path("locked.jpg"), os.R_OK):
        print("(running as root: the unreadable-file case is skipped)")
    else:
        probe.case("image", "unreadable file", ["stylize", "locked.jpg", "--style", "0", "-o", "l.png"])
    os.chmod(probe.path("locked.jpg"), 0o644)
    os.remove(probe.path("locked.jpg"))
    probe.case("image", "missing file", ["stylize", "nope.jpg", "--style", "0", "-o", "n.png"])
    probe.case("image", "stdin garbage", ["stylize", "-", "--style", "0", "-o", "s.png"], stdin=b"garbage" * 100)
    probe.case("image", "stdin empty", ["stylize", "-", "--style", "0", "-o", "s.png"], stdin=b"")
    os.makedirs(probe.path("mixed"))
    shutil.copy(PHOTO, probe.path("mixed", "good.png"))
    write(probe.path("mixed", "bad.jpg"), b"%!PS-Adobe-3.0\nshowpage\n")
    write(probe.path("mixed", "notes.txt"), b"not an image")
    probe.case("image", "folder: one good, one PostScript .jpg, one .txt",
               ["stylize", "mixed", "--style", "0", "--out-dir", "mixed_out"], may_write=("mixed_out/good",))
    shutil.rmtree(probe.path("mixed_out"), ignore_errors=True)
    os.makedirs(probe.path("empty_folder"))
    probe.case("image", "empty folder", ["stylize", "empty_folder", "--style", "0", "--out-dir", "eo"])


def output_cases(probe):
    shutil.copy(PHOTO, probe.path("photo.png"))
    os.makedirs(probe.path("existing_dir"))
    write(probe.path("taken.jpg"), b"keep me")
    os.symlink("photo.png", probe.path("link_to_photo.png"))
    cases = [
        ("-o an existing folder", ["-o", "existing_dir"]),
        ("-o without extension", ["-o", "result"]),
        ("-o with .gif", ["-o", "result.gif"]),
        ("-o with .tiff", ["-o", "result.tiff"]),
        ("-o into a missing folder", ["-o", "missing/sub/result.jpg"]),
        ("-o an existing file, no --overwrite", ["-o", "taken.jpg"]),
        ("-o the input itself", ["-o", "photo.png", "--overwrite"]),
        ("-o the input by another spelling", ["-o", "./existing_dir/../photo.png", "--overwrite"]),
        ("-o a symlink to the input", ["-o", "link_to_photo.png", "--overwrite"]),
        ("--out-dir is a file", ["--out-dir", "taken.jpg"]),
        ("-o and --out-dir together", ["-o", "a.jpg", "--out-dir", "d"]),
        ("--format gif", ["-o", "a.gif", "--format", "gif"]),
        ("-o with 5000-char name", ["-o", "x" * 5000 + ".jpg"]),
        ("-o with NUL-free odd chars", ["-o", "we\u0301ird \u2603.jpg"]),
    ]
    allowed = {"-o with NUL-free odd chars": "we", "-o with .tiff": "result.tiff",  # legitimate outputs
               "-o into a missing folder": "missing/"}  # parent folders are made, as for --out-dir
    for name, extra in cases:
        written = allowed.get(name)
        probe.case("output", name, ["stylize", "photo.png", "--style", "0", *extra],
                   expect_exit=(0,) if written else (1, 2), may_write=(written,) if written else ())
    os.link(probe.path("photo.png"), probe.path("hardlink.png"))
    probe.case("output", "-o a hard link to the input", ["stylize", "photo.png", "--style", "0", "-o", "hardlink.png",
                                                         "--overwrite"])
    os.remove(probe.path("hardlink.png"))
    os.makedirs(probe.path("readonly"))
    os.chmod(probe.path("readonly"), 0o500)
    if not os.access(probe.path("readonly"), os.W_OK):
        probe.case("output", "-o into a read-only folder", ["stylize", "photo.png", "--style", "0", "-o",
                                                              "readonly/out.jpg"])
    os.chmod(probe.path("readonly"), 0o700)
    Image.new("L", (10, 10), 255).save(probe.path("small_mask.png"))
    probe.case("output", "--mask of another size", ["stylize", "photo.png", "--style", "0", "--mask", "small_mask.png",
                                                    "--style-outside", "1", "-o", "m.jpg"])
    write(probe.path("bad_mask.png"), b"%!PS-Adobe-3.0\n")
    probe.case("output", "--mask PostScript", ["stylize", "photo.png", "--style", "0", "--mask", "bad_mask.png",
                                               "--style-outside", "1", "-o", "m.jpg"])
    probe.case("output", "--mask without --style-outside", ["stylize", "photo.png", "--style", "0", "--mask",
                                                            "small_mask.png", "-o", "m.jpg"])


STYLE_VALUES = ["", "nosuch", "starry", "-1", "16", "999999999999999999999", "1.5", "starry_night=nan",
                "starry_night=-1", "starry_night=inf", "starry_night=0,udnie=0", "starry_night=1,starry_night=1",
                "starry_night=", "=1", "starry_night=1e400", ",,,", "a" * 10000, "starry_night:0.5",
                "sta\u0000rry"]


def style_cases(probe):
    shutil.copy(PHOTO, probe.path("photo.png"))
    for value in STYLE_VALUES:
        if "\u0000" in value:
            continue  # argv cannot carry NUL
        ok = value in ("starry_night=1,starry_night=1", "starry_night:0.5")
        probe.case("style", f"--style {value[:40]!r}", ["stylize", "photo.png", "--style", value, "-o", "st.jpg"],
                   expect_exit=(0, 1, 2) if ok else (1, 2), may_write=("st.",))


NUMBERS = ["-1", "0", "nan", "inf", "1e300", "abc", ""]
NUMERIC_FLAGS = {
    "stylize": (["photo.png", "--style", "0", "-o", "num.jpg"],
                ["--strength", "--style-scale", "--feather", "--quality", "--max-pixels", "--threads"]),
    "optimize": (["photo.png", "--style-image", "photo.png", "-o", "opt.jpg"], ["--iterations", "--size"]),
    "export": (["--output", "exp.tflite"], ["--calibration-images", "--calibration-size", "--qat-steps"]),
    "slim": (["--output-dir", "slim_out", "--style-dir", "styles"],
             ["--alpha", "--num-residual-blocks", "--num-steps", "--distill-weight", "--image-size", "--batch-size",
              "--learning-rate", "--checkpoint-every", "--magnitude-sparsity", "--magnitude-steps"]),
    "train": (["--content-dir", "photos", "--style-images", "styles", "--output-dir", "train_out"],
              ["--image-size", "--photo-short-side", "--batch-size", "--num-steps", "--learning-rate",
               "--content-weight", "--style-weight", "--moment-weight", "--tv-weight", "--style-image-size",
               "--alpha", "--num-residual-blocks", "--checkpoint-every", "--log-every", "--snapshot-every"]),
}
# Values in range for a flag start real work (minutes of training or export): the probe leaves them out.
LEGAL_FOR = {flag: ("0",) for flag in (
    "--strength", "--feather", "--content-weight", "--tv-weight", "--moment-weight", "--distill-weight",
    "--style-weight", "--seed", "--num-residual-blocks", "--num-steps", "--magnitude-sparsity", "--iterations",
    "--qat-steps", "--snapshot-every", "--sample-every")}


def flag_cases(probe):
    shutil.copy(PHOTO, probe.path("photo.png"))
    os.makedirs(probe.path("photos"), exist_ok=True)
    os.makedirs(probe.path("styles"), exist_ok=True)
    shutil.copy(PHOTO, probe.path("photos", "a.png"))
    shutil.copy(PHOTO, probe.path("styles", "a.png"))
    for command, (base, names) in NUMERIC_FLAGS.items():
        for flag in names:
            for value in NUMBERS:
                if value in LEGAL_FOR.get(flag, ()):
                    continue
                probe.case("flag", f"{command} {flag} {value!r}", [command, *base, flag, value])
    shutil.rmtree(probe.path("photos"))
    shutil.rmtree(probe.path("styles"))


def model_variant(probe, name, edit, rehash=True):
    from cin_style.model.bundled import bundled_model_path  # noqa: PLC0415 (only where this group runs)
    folder = probe.path(name)
    shutil.copytree(bundled_model_path(), folder)
    weights = os.path.join(folder, "weights.npz")
    before = hashlib.sha256(open(weights, "rb").read()).hexdigest()
    edit(folder)
    # a case that edits the weights gets their new digest (else every such case stops at the checksum)
    after = hashlib.sha256(open(weights, "rb").read()).hexdigest() if os.path.exists(weights) else before
    if rehash and after != before:
        meta_path = os.path.join(folder, "model.json")
        try:
            with open(meta_path) as handle:
                meta = json.load(handle)
            with open(os.path.join(folder, "weights.npz"), "rb") as handle:
                meta["weights"]["sha256"] = hashlib.sha256(handle.read()).hexdigest()
            with open(meta_path, "w") as handle:
                json.dump(meta, handle)
        except (ValueError, KeyError, TypeError, OSError, RecursionError):
            pass  # the edit broke model.json on purpose
    return name


def edit_json(file, change):
    def edit(folder):
        path = os.path.join(folder, file)
        with open(path) as handle:
            data = json.load(handle)
        change(data)
        with open(path, "w") as handle:
            json.dump(data, handle)
    return edit


def edit_weights(change):
    def edit(folder):
        path = os.path.join(folder, "weights.npz")
        with np.load(path) as loaded:
            weights = {k: loaded[k] for k in loaded.files}
        change(weights)
        np.savez(path, **weights)
    return edit


def overwrite_file(file, data):
    def edit(folder):
        write(os.path.join(folder, file), data)
    return edit


def npy_header(shape, descr="<f4"):
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}".ljust(118) + "\n"
    return b"\x93NUMPY\x01\x00" + text.encode()


def zip_members(members):
    def edit(folder):
        with zipfile.ZipFile(os.path.join(folder, "weights.npz"), "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members.items():
                archive.writestr(name, data)
    return edit


def first_key(weights):
    return sorted(weights)[0]


def set_item(key, value):
    def change(data):
        target = data
        parts = key.split(".")
        for part in parts[:-1]:
            target = target[int(part)] if isinstance(target, list) else target[part]
        last = parts[-1]
        if value is KeyError:
            del target[last]
        else:
            target[int(last) if isinstance(target, list) else last] = value
    return change


def model_cases(probe):
    variants = {
        "model.json missing": overwrite_file("model.json", b""),
        "model.json not JSON": overwrite_file("model.json", b"{not json"),
        "model.json a list": overwrite_file("model.json", b"[1,2,3]"),
        "model.json nested 100000 deep": overwrite_file("model.json", b"[" * 100000 + b"]" * 100000),
        "model.json not UTF-8": overwrite_file("model.json", b"\xff\xfe\x00{"),
        "format wrong": edit_json("model.json", set_item("format", "other")),
        "format_version 99": edit_json("model.json", set_item("format_version", 99)),
        "format_version '1'": edit_json("model.json", set_item("format_version", "1")),
        "architecture missing": edit_json("model.json", set_item("architecture", KeyError)),
        "architecture a string": edit_json("model.json", set_item("architecture", "big")),
        "num_styles 0": edit_json("model.json", set_item("architecture.num_styles", 0)),
        "num_styles 10000": edit_json("model.json", set_item("architecture.num_styles", 10000)),
        "num_styles 2.5": edit_json("model.json", set_item("architecture.num_styles", 2.5)),
        "num_styles true": edit_json("model.json", set_item("architecture.num_styles", True)),
        "alpha 1e9": edit_json("model.json", set_item("architecture.alpha", 1e9)),
        "alpha -1": edit_json("model.json", set_item("architecture.alpha", -1)),
        "alpha 'wide'": edit_json("model.json", set_item("architecture.alpha", "wide")),
        "num_residual_blocks 100000": edit_json("model.json", set_item("architecture.num_residual_blocks", 100000)),
        "weights missing": edit_json("model.json", set_item("weights", KeyError)),
        "weights.file ../../etc/passwd": edit_json("model.json", set_item("weights.file", "../../etc/passwd")),
        "weights.file /etc/passwd": edit_json("model.json", set_item("weights.file", "/etc/passwd")),
        "weights.file a list": edit_json("model.json", set_item("weights.file", [1])),
        "weights.dtype complex64": edit_json("model.json", set_item("weights.dtype", "complex64")),
        "sha256 wrong": edit_json("model.json", set_item("weights.sha256", "0" * 64)),
        "sha256 a number": edit_json("model.json", set_item("weights.sha256", 5)),
        "styles.json missing": overwrite_file("styles.json", b""),
        "styles.json an object": overwrite_file("styles.json", b"{}"),
        "styles.json names not strings": edit_json("styles.json", set_item("0.name", 5)),
        "styles.json duplicate names": edit_json("styles.json", set_item("1.name", "composition_vii")),
        "styles.json empty name": edit_json("styles.json", set_item("0.name", "")),
        "styles.json one entry short": edit_json("styles.json", lambda data: data.pop()),
        "styles.json title a list": edit_json("styles.json", set_item("0.title", ["x"])),
        "styles.json index wrong": edit_json("styles.json", set_item("0.index", 7)),
        "weights.npz random bytes": overwrite_file("weights.npz", b"\x00" * 1000),
        "weights.npz empty zip": zip_members({}),
        "member declaring 1e13 floats": zip_members(
            {"in_conv/kernel.npy": npy_header("(10000000000000,)") + b"\0" * 16}),
        "member of object dtype (pickle)": zip_members(
            {"in_conv/kernel.npy": npy_header("(1,)", "|O") + b"\x80\x04N."}),
        "member zip bomb (1 GB of zeros)": None,
        "NaN weight": edit_weights(lambda w: w[first_key(w)].__setitem__((0,) * w[first_key(w)].ndim, np.nan)),
        "Inf weight": edit_weights(lambda w: w[first_key(w)].__setitem__((0,) * w[first_key(w)].ndim, np.inf)),
        "weight missing": edit_weights(lambda w: w.pop(first_key(w))),
        "extra weight": edit_weights(lambda w: w.__setitem__("extra/kernel", np.zeros(3, np.float16))),
        "weight misshaped": edit_weights(lambda w: w.__setitem__(first_key(w), np.zeros(3, np.float16))),
        "weight int64": edit_weights(lambda w: w.__setitem__(first_key(w), w[first_key(w)].astype(np.int64))),
    }
    for name, edit in variants.items():
        if edit is None:  # built here: a deflated member that inflates far beyond its file size
            def edit(folder):
                with zipfile.ZipFile(os.path.join(folder, "weights.npz"), "w", zipfile.ZIP_DEFLATED) as archive:
                    with archive.open("in_conv/kernel.npy", "w", force_zip64=True) as member:
                        member.write(npy_header("(268435456,)"))
                        block = b"\0" * (1 << 20)
                        for _ in range(1024):
                            member.write(block)
        folder = model_variant(probe, "model_" + str(len(probe.rows)), edit, rehash=name != "sha256 wrong")
        # model.json without "weights" loads: the entry's fields all have defaults (weights.npz, unverified)
        loads = name == "weights missing"
        probe.case("model", name + " (styles)", ["styles", "--model", folder], expect_exit=(0,) if loads else (1, 2))
        probe.case("model", name + " (stylize)", ["stylize", PHOTO, "--style", "0", "--model", folder, "-o", "mo.jpg"],
                   expect_exit=(0,) if loads else (1, 2), may_write=("mo.jpg",) if loads else ())
        if os.path.exists(probe.path("mo.jpg")):
            os.remove(probe.path("mo.jpg"))
        shutil.rmtree(probe.path(folder))
    probe.case("model", "--model a photo", ["styles", "--model", PHOTO])
    probe.case("model", "--model a missing folder", ["styles", "--model", "nowhere"])
    os.makedirs(probe.path("empty_model"))
    probe.case("model", "--model an empty folder", ["styles", "--model", "empty_model"])


def tflite_cases(probe):
    from cin_style.model.bundled import bundled_runtime_path  # noqa: PLC0415
    runtime = bundled_runtime_path()
    with open(runtime, "rb") as handle:
        data = handle.read()
    with open(runtime + ".json") as handle:
        metadata = json.load(handle)

    def variant(name, model_bytes, meta, expect_exit=(1, 2)):
        path = probe.path(f"rt_{len(probe.rows)}.tflite")
        if model_bytes is not None:
            write(path, model_bytes)
        if meta is not None:
            write(path + ".json", meta if isinstance(meta, bytes) else json.dumps(meta).encode())
        probe.case("tflite", name + " (styles)", ["styles", "--tflite-model", os.path.basename(path)],
                   expect_exit=expect_exit)
        probe.case("tflite", name + " (stylize)", ["stylize", PHOTO, "--style", "0", "--tflite-model",
                                                   os.path.basename(path), "-o", "rt.jpg"], expect_exit=expect_exit,
                   may_write=("rt.jpg",) if 0 in expect_exit else ())
        for file in (path, path + ".json"):
            if os.path.exists(file):
                os.remove(file)

    def meta_with(key, value):
        return _edited(metadata, key, value)

    variant("random bytes", np.random.default_rng(1).integers(0, 256, 100000, dtype=np.uint8).tobytes(), metadata)
    variant("empty file", b"", metadata)
    variant("truncated to half", data[: len(data) // 2], metadata)
    variant("truncated to 64 bytes", data[:64], metadata)
    variant("flipped bytes in the middle", data[: len(data) // 2] + bytes(b ^ 0xFF for b in data[len(data) // 2:
                                                                                           len(data) // 2 + 4096])
            + data[len(data) // 2 + 4096:], metadata)
    variant("metadata missing (allowed: styles are numbered)", data, None, expect_exit=(0,))
    variant("metadata not JSON", data, b"{")
    variant("metadata a list", data, [1])
    variant("metadata format wrong", data, meta_with("format", "x"))
    variant("metadata styles a string", data, meta_with("styles", "many"))
    variant("metadata one style short", data, meta_with("styles", metadata["styles"][:-1]))
    variant("metadata style name a number", data, meta_with("styles.0.name", 3))
    variant("metadata num_styles 10000", data, meta_with("architecture.num_styles", 10000))
    variant("metadata signature unknown", data, meta_with("signature", "nope"))
    judge = os.path.join(ROOT, "..", "shared", "peer_models", "style_predict_quantized_256.tflite")
    if os.path.exists(judge):
        with open(judge, "rb") as handle:
            variant("another network's .tflite", handle.read(), metadata)
    probe.case("tflite", "--tflite-model a photo", ["styles", "--tflite-model", PHOTO])
    probe.case("tflite", "--tflite-model missing", ["styles", "--tflite-model", "none.tflite"])
    tiles_cases(probe, data, metadata)


def _edited(metadata, key, value):
    """A deep copy of ``metadata`` with ``key`` (dotted path) set to ``value``."""
    copy = json.loads(json.dumps(metadata))
    set_item(key, value)(copy)
    return copy


def tiles_cases(probe, data, metadata):
    """A damaged or foreign tiles file beside a good model: an image too large for one piece fails cleanly."""
    from PIL import Image  # noqa: PLC0415

    from cin_style.model.bundled import bundled_runtime_path  # noqa: PLC0415
    from cin_style.stylization.tflite_contract import tiles_path  # noqa: PLC0415

    with open(tiles_path(bundled_runtime_path()), "rb") as handle:
        tiles = handle.read()
    with open(tiles_path(bundled_runtime_path()) + ".json") as handle:
        tiles_meta = json.load(handle)
    big = probe.path("big.png")
    Image.new("RGB", (3072, 3072), (90, 120, 150)).save(big)  # 9.4 MP: over the 8 MP of one piece

    def variant(name, tiles_bytes, meta):
        main = probe.path(f"tl_{len(probe.rows)}.tflite")
        write(main, data)
        write(main + ".json", json.dumps(metadata).encode())
        write(tiles_path(main), tiles_bytes)
        write(tiles_path(main) + ".json", meta if isinstance(meta, bytes) else json.dumps(meta).encode())
        probe.case("tflite", "tiles file: " + name, ["stylize", "big.png", "--style", "0", "--style-scale", "1",
                                                    "--tflite-model", os.path.basename(main), "-o", "big_out.jpg"])
        for file in (main, main + ".json", tiles_path(main), tiles_path(main) + ".json"):
            if os.path.exists(file):
                os.remove(file)

    def meta_with(key, value):
        return _edited(tiles_meta, key, value)

    variant("random bytes", np.random.default_rng(2).integers(0, 256, 100000, dtype=np.uint8).tobytes(), tiles_meta)
    variant("truncated to half", tiles[: len(tiles) // 2], tiles_meta)
    variant("made for another model", tiles, meta_with("runtime_sha256", "0" * 64))
    variant("not marked as a tiles file", tiles, meta_with("role", "stylize"))
    variant("statistics names wrong", tiles, meta_with("statistics", ["in_mean"]))
    variant("statistics a string", tiles, meta_with("statistics", "many"))
    variant("metadata not JSON", tiles, b"{")
    variant("the main model's bytes as the tiles file", data, tiles_meta)


def pack_cases(probe):
    probe.case("pack", "export a valid pack", ["pack", "export", "--style", "udnie", "-o", "udnie.npz"],
               expect_exit=(0,), may_write=("udnie.npz",), keep=True)
    with np.load(probe.path("udnie.npz")) as loaded:
        pack = {k: loaded[k] for k in loaded.files}
    os.makedirs(probe.path("holiday_photos"))
    shutil.copy(PHOTO, probe.path("holiday_photos", "cat.png"))

    def variant(name, members=None, raw=None):
        path = probe.path("p.npz")
        if raw is not None:
            write(path, raw)
        else:
            np.savez(path, **members)
        # under a new name: the bundled model has udnie, and the damage should be what is reported
        probe.case("pack", name, ["pack", "import", "p.npz", "--name", "probed", "-o", "imported"])
        shutil.rmtree(probe.path("imported"), ignore_errors=True)
        os.remove(path)

    def changed(key, value):
        copy = dict(pack)
        if value is KeyError:
            copy.pop(key, None)
        else:
            copy[key] = value
        return copy

    variant("random bytes", raw=b"\x01" * 500)
    variant("empty file", raw=b"")
    variant("PostScript", raw=b"%!PS-Adobe-3.0\n")
    for key in sorted(pack):
        variant(f"{key} missing", changed(key, KeyError))
        variant(f"{key} a wrong shape", changed(key, np.zeros((2, 2, 2), np.float32)))
        if pack[key].dtype.kind == "f":
            bad = pack[key].astype(np.float32).copy()
            bad.flat[0] = np.nan
            variant(f"{key} with NaN", changed(key, bad))
        else:
            variant(f"{key} a float array", changed(key, np.zeros(3, np.float32)))
    variant("extra member", changed("extra", np.zeros(3)))
    probe.case("pack", "import over a photo folder --overwrite",
               ["pack", "import", "udnie.npz", "--name", "udnie2", "-o", "holiday_photos", "--overwrite"])
    probe.case("pack", "import under an existing style's name", ["pack", "import", "udnie.npz", "-o", "again"])
    probe.case("pack", "import --name ''", ["pack", "import", "udnie.npz", "--name", "", "-o", "again2"])
    probe.case("pack", "import --name '../x'", ["pack", "import", "udnie.npz", "--name", "../x", "-o", "again3"],
               expect_exit=(0, 1, 2), may_write=("again3",))
    shutil.rmtree(probe.path("again3"), ignore_errors=True)
    probe.case("pack", "export --style nosuch", ["pack", "export", "--style", "nosuch", "-o", "n.npz"])
    probe.case("pack", "export over an existing file", ["pack", "export", "--style", "udnie", "-o", "udnie.npz"])


def train_cases(probe):
    os.makedirs(probe.path("tphotos"))
    os.makedirs(probe.path("tstyles"))
    shutil.copy(PHOTO, probe.path("tstyles", "cat.png"))
    base = ["train", "--num-steps", "2", "--batch-size", "1", "--image-size", "32", "--photo-short-side", "32",
            "--checkpoint-every", "1"]
    probe.case("train", "empty content folder", [*base, "--content-dir", "tphotos", "--style-images", "tstyles",
                                                 "--output-dir", "t1"], may_write=("t1",))
    write(probe.path("tphotos", "bad.jpg"), b"%!PS-Adobe-3.0\nshowpage\n")
    probe.case("train", "content folder of PostScript only", [*base, "--content-dir", "tphotos", "--style-images",
                                                              "tstyles", "--output-dir", "t2"], may_write=("t2",))
    shutil.copy(PHOTO, probe.path("tphotos", "cat.png"))
    write(probe.path("tstyles", "evil.jpg"), b"%!PS-Adobe-3.0\nshowpage\n")
    probe.case("train", "a PostScript style image", [*base, "--content-dir", "tphotos", "--style-images", "tstyles",
                                                     "--output-dir", "t3"], may_write=("t3",))
    os.remove(probe.path("tstyles", "evil.jpg"))
    probe.case("train", "missing style images", [*base, "--content-dir", "tphotos", "--style-images", "nowhere",
                                                 "--output-dir", "t4"])
    write(probe.path("taken_file"), b"keep")
    probe.case("train", "--output-dir is a file", [*base, "--content-dir", "tphotos", "--style-images", "tstyles",
                                                   "--output-dir", "taken_file"])
    probe.case("train", "--resume in a folder that is no run", [*base, "--content-dir", "tphotos", "--style-images",
                                                                "tstyles", "--output-dir", "tstyles", "--resume"])
    probe.case("train", "--style-strengths nosuch=0.5", [*base, "--content-dir", "tphotos", "--style-images",
                                                         "tstyles", "--output-dir", "t5", "--style-strengths",
                                                         "nosuch=0.5"], may_write=("t5",))
    probe.case("train", "--style-layers conv9_9", [*base, "--content-dir", "tphotos", "--style-images", "tstyles",
                                                   "--output-dir", "t6", "--style-layers", "conv9_9"],
               may_write=("t6",))
    probe.case("train", "--init-model a photo", [*base, "--content-dir", "tphotos", "--style-images", "tstyles",
                                                 "--output-dir", "t7", "--init-model", PHOTO], may_write=("t7",))


def tiny_clip(path, frames=6, size=(48, 32)):
    """A short H.264 clip made with PyAV (the [video] extra)."""
    import av

    with av.open(path, "w") as output:
        stream = output.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        picture = np.asarray(Image.open(PHOTO).convert("RGB").resize(size))
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.roll(picture, index, axis=1)), format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return os.path.basename(path)


def video_cases(probe):
    clip = tiny_clip(probe.path("clip.mp4"))
    data = open(probe.path(clip), "rb").read()
    base = ["video", "--style", "udnie"]
    probe.case("video", "a good clip", [*base, clip, "-o", "v_ok.mp4"], expect_exit=(0,), may_write=("v_ok.mp4",))
    write(probe.path("text.mp4"), b"just some text\n" * 10)
    probe.case("video", "text named .mp4", [*base, "text.mp4", "-o", "v1.mp4"])
    write(probe.path("still.mp4"), encoded(Image.open(PHOTO), "PNG"))
    probe.case("video", "a PNG named .mp4", [*base, "still.mp4", "-o", "v2.mp4"])
    write(probe.path("playlist.mp4"), b"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1.0,\n/etc/passwd\n#EXT-X-ENDLIST\n")
    probe.case("video", "an HLS playlist named .mp4 (reads other files)", [*base, "playlist.mp4", "-o", "v3.mp4"])
    write(probe.path("concat.mp4"), b"ffconcat version 1.0\nfile '/etc/passwd'\n")
    probe.case("video", "an ffconcat list named .mp4", [*base, "concat.mp4", "-o", "v4.mp4"])
    write(probe.path("truncated.mp4"), data[: len(data) // 2])
    probe.case("video", "truncated clip", [*base, "truncated.mp4", "-o", "v5.mp4"], expect_exit=(0, 1, 2),
               may_write=("v5.mp4",))
    write(probe.path("empty.mp4"), b"")
    probe.case("video", "empty file", [*base, "empty.mp4", "-o", "v6.mp4"])
    os.mkfifo(probe.path("fifo.mp4"))
    probe.case("video", "a FIFO", [*base, "fifo.mp4", "-o", "v7.mp4"])
    probe.case("video", "output is the input", [*base, clip, "-o", clip, "--overwrite"])
    write(probe.path("taken.mp4"), b"keep")
    probe.case("video", "output exists", [*base, clip, "-o", "taken.mp4"])
    probe.case("video", "output .avi", [*base, clip, "-o", "v8.avi"])
    os.makedirs(probe.path("vdir.mp4"))
    probe.case("video", "output is a folder", [*base, clip, "-o", "vdir.mp4"])
    probe.case("video", "unknown style", ["video", "--style", "nosuch", clip, "-o", "v9.mp4"])
    probe.case("video", "--stability 2", [*base, clip, "-o", "v10.mp4", "--stability", "2"])
    probe.case("video", "--mask of another size", [*base, clip, "-o", "v11.mp4", "--mask", PHOTO,
                                                   "--style-outside", "great_wave"])


GROUPS = {"image": image_cases, "output": output_cases, "style": style_cases, "flag": flag_cases,
          "model": model_cases, "tflite": tflite_cases, "pack": pack_cases, "train": train_cases,
          "video": video_cases}


def main(argv):
    del argv
    work = os.path.abspath(FLAGS.work_dir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cli = FLAGS.cli or os.path.join(os.path.dirname(sys.executable), "cin-style")
    probe = Probe(work, cli, FLAGS.timeout)
    for group in FLAGS.only or GROUPS:
        GROUPS[group](probe)
    failures = [row for row in probe.rows if row["problems"]]
    print(f"\n{len(probe.rows)} cases, {len(failures)} with problems")
    for row in failures:
        print(f"  [{row['group']}] {row['case']}: {'; '.join(row['problems'])}")
    if FLAGS.report:
        with open(FLAGS.report, "w") as handle:
            json.dump(probe.rows, handle, indent=1)
    return 1 if failures else 0


if __name__ == "__main__":
    app.run(main)
