"""The ``cin-style`` command line.

Exit codes: 0 all inputs done; 1 some inputs failed (the rest were still done,
failures are named on stderr); 2 usage errors (bad arguments, unknown style,
unloadable model).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from cin_style.cli.common import (DEVICES, EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, HelpFormatter,
                                  UsageError, bounded, canonical_options, choose_device, show_fit_progress)
from cin_style.quiet_start import start_tensorflow
from cin_style.errors import CinStyleError, ImageError, StyleError
from cin_style.optional_deps import require_tensorflow

_DESCRIPTION = """\
Fast multi-style neural style transfer.

  cin-style styles                                   list the bundled model's styles
  cin-style stylize photo.jpg --style starry_night -o out.jpg
  cin-style stylize photos/ --style "starry_night=0.7,great_wave=0.3" --out-dir stylized/
  cin-style train --content-dir photos/ --style-images paintings/ --output-dir runs/mine

Run `cin-style COMMAND --help` for the options of a command.
"""

_COMMAND_MODULES = ("cin_style.cli.train", "cin_style.cli.export", "cin_style.cli.slim", "cin_style.cli.sheet",
                    "cin_style.cli.video", "cin_style.cli.dataset", "cin_style.cli.app")


def _output_path(relative: str, args, style_label: str) -> str:
    if args.output:
        return args.output
    stem, extension = os.path.splitext(relative)
    extension = "." + args.format if args.format else (extension.lower() if extension else ".png")
    if extension in (".gif",):
        extension = ".png"
    return os.path.join(args.out_dir, f"{stem}_{style_label}{extension}")


def _checked_destinations(inputs: list[tuple[str, str]], args, label: str) -> list[str]:
    """The output path of every input, checked before any work: no two inputs write one file (``a.png`` and
    ``a.jpg`` with ``--format png``), no output is an input or the mask, none exists unless --overwrite, each is
    a file of a format we write."""
    from cin_style.errors import ImageError
    from cin_style.files.images import check_output_format

    if args.out_dir and os.path.exists(args.out_dir) and not os.path.isdir(args.out_dir):
        raise UsageError(f"--out-dir {args.out_dir}: is a file; give a folder (it is made if missing)")
    destinations = [_output_path(relative, args, label) for _, relative in inputs]
    if destinations == ["-"]:
        return destinations  # standard output
    for destination in destinations:
        if os.path.isdir(destination):
            raise UsageError(f"{destination}: is a folder; -o names the output file (for example "
                             f"{os.path.join(destination, 'out.jpg')}), --out-dir a folder for several")
        try:
            check_output_format(destination)
        except ImageError as exc:
            raise UsageError(str(exc)) from None
    key = lambda path: os.path.normcase(os.path.realpath(path))  # noqa: E731
    seen: dict[str, str] = {}
    for (source, _), destination in zip(inputs, destinations):
        if key(destination) in seen:
            raise UsageError(f"{seen[key(destination)]} and {source} would both be written to {destination}; "
                             "rename one or stylize them in separate runs")
        seen[key(destination)] = source
    sources = {key(path): path for path, _ in inputs}
    if args.mask:
        sources[key(args.mask)] = args.mask
    for destination in destinations:
        if key(destination) in sources:
            raise UsageError(f"{destination}: refusing to overwrite an input ({sources[key(destination)]})")
    if not args.overwrite:
        existing = [d for d in destinations if os.path.lexists(d)]
        if existing:
            more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
            raise UsageError(f"{existing[0]}{more}: already exists (pass --overwrite to replace)")
    return destinations


def _style_label(style_text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in style_text.replace("=", "").replace(",", "+"))


class _Progress:
    """One status line on stderr, rewritten in place on a terminal."""

    def __init__(self, total: int):
        self.total, self.start = total, time.monotonic()
        self.interactive = sys.stderr.isatty()

    def update(self, done: int, name: str, failed: int = 0) -> None:
        """``done`` inputs handled so far, ``failed`` of them failed (not counted in the throughput)."""
        if self.total < 2:
            return
        rate = (done - failed) / max(time.monotonic() - self.start, 1e-9)
        failures = f", {failed} failed" if failed else ""
        line = f"[{done}/{self.total}{failures}] {rate:.2f} images/s  {name}"
        print(("\r" + line[:120].ljust(120)) if self.interactive else line, end="" if self.interactive else "\n",
              file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.interactive and self.total >= 2:
            print(file=sys.stderr)


def _tile_progress(done: int, total: int) -> None:
    """Progress of a large image stylized in tiles (one line on stderr, rewritten on a terminal)."""
    if total < 4:
        return
    width = 30
    bar = "#" * (width * done // total) + "." * (width - width * done // total)
    end = "\n" if done == total or not sys.stderr.isatty() else ""
    print(f"\r  tiles [{bar}] {done}/{total}", end=end, file=sys.stderr, flush=True)


def _command_stylize(args) -> int:
    if "-" not in args.inputs:
        return _stylize_inputs(args)
    if len(args.inputs) > 1:
        raise UsageError("- (standard input) must be the only input")
    if sys.stdin.isatty():
        raise UsageError("- reads an image from standard input; pipe one in (cin-style stylize - < photo.jpg)")
    with tempfile.TemporaryDirectory(prefix="cin-style-stdin-") as folder:
        path = os.path.join(folder, "stdin")
        with open(path, "wb") as handle:
            shutil.copyfileobj(sys.stdin.buffer, handle)
        args.inputs = [path]
        return _stylize_inputs(args)


def _stylize_inputs(args) -> int:
    from cin_style.stylization.controls import resolve_style_scale
    from cin_style.files.images import load_image, save_image
    from cin_style.files.folders import expand_inputs

    inputs = expand_inputs(args.inputs)
    if args.output and len(inputs) > 1:
        raise UsageError(f"-o/--output takes one input, got {len(inputs)}; use --out-dir for several")
    if not args.output and not args.out_dir:
        raise UsageError("say where to write: -o OUT for one input, or --out-dir DIR")
    if args.output == "-" and args.json:
        raise UsageError("--json and -o - would both write to standard output")
    picture_style = None
    if args.style_image:
        from cin_style.train.style_fit import style_name_for

        if args.backend == "tflite" or args.tflite_model:
            raise UsageError("--style-image needs the TensorFlow backend: a .tflite file's styles are fixed")
        load_image(args.style_image)  # an unreadable picture is a usage error, before any work
        picture_style = style_name_for(args.style_image, [])
    if not (args.style or args.style_image):
        raise UsageError("say which style: --style NAME (see `cin-style styles`), or --style-image PICTURE")
    style: str = args.style or str(picture_style)
    label = _style_label(style if not args.style_outside else f"{style}+{args.style_outside}")
    destinations = _checked_destinations(inputs, args, label)  # before any model is loaded
    choose_device(args.device, _stylize_backend(args))
    if _stylize_backend(args) == "tflite":
        if args.model:
            raise UsageError("--model is a model folder (TensorFlow backend); with --backend tflite pass "
                             "--tflite-model FILE")
        from cin_style.stylization.tflite_backend import TFLiteStylizer

        stylizer: Stylizer | TFLiteStylizer = TFLiteStylizer(args.tflite_model, num_threads=args.threads,
                                                             max_pixels=args.max_pixels, progress=_tile_progress)
    else:
        from cin_style.stylization.tf_backend import Stylizer

        model = args.model
        if args.style_image:
            from cin_style.stylization.tf_backend import resolve_model
            from cin_style.train.style_fit import with_style_picture

            model, fitted_name = with_style_picture(resolve_model(args.model), args.style_image,
                                                    progress=show_fit_progress)
            style = args.style or fitted_name
        stylizer = Stylizer(model, max_pixels=args.max_pixels, progress=_tile_progress)
    weights = stylizer.style_weights(style)  # a bad style is a usage error, before any work
    regions = None
    if args.mask or args.style_outside:
        if not (args.mask and args.style_outside):
            raise UsageError("--mask and --style-outside go together")
        stylizer.style_weights(args.style_outside)  # validate before any work
        mask = load_image(args.mask).rgb.mean(axis=2)
        regions = [(mask, weights), (1.0 - mask, args.style_outside)]
    options = {"preserve_color": args.preserve_color, "strength": args.strength}
    try:
        resolve_style_scale(args.style_scale, 1, 1)  # a bad value is a usage error, before any work
    except StyleError as exc:
        raise UsageError(f"--style-scale: {exc}") from None
    options["style_scale"] = args.style_scale
    if regions is not None:
        options.update(regions=regions, feather_px=args.feather)
    if not 0.0 <= args.strength <= 1.0:
        raise UsageError(f"--strength must be in [0, 1], got {args.strength}")
    protected = tuple(path for path, _ in inputs) + ((args.mask,) if args.mask else ())
    progress = _Progress(len(inputs))
    failures = []
    records: dict[str, dict] = {path: {"input": path, "output": destination, "style": style}
                                for (path, _), destination in zip(inputs, destinations)}
    # Decoding the next image and encoding the previous one run on worker threads while the
    # network (which releases the GIL) works on the current one.
    with ThreadPoolExecutor(max_workers=2) as pool:
        load = lambda path: load_image(path, args.max_pixels)  # noqa: E731
        pending = {0: pool.submit(load, inputs[0][0])}
        saves = []
        for index, (path, relative) in enumerate(inputs):
            if index + 1 < len(inputs):
                pending[index + 1] = pool.submit(load, inputs[index + 1][0])
            try:
                start = time.monotonic()
                output = stylizer.stylize(pending.pop(index).result(), weights, **options)
                records[path].update(width=output.width, height=output.height,
                                     seconds=round(time.monotonic() - start, 3))
                destination = destinations[index]
                if destination == "-":
                    _write_to_stdout(output, args)
                else:
                    saves.append((path, pool.submit(save_image, output, destination, overwrite=args.overwrite,
                                                    protect=protected, quality=args.quality)))
            except (ImageError, StyleError, OSError) as exc:
                failures.append((path, exc))
            progress.update(index + 1, path, len(failures))
        for path, future in saves:
            try:
                future.result()
            except (ImageError, OSError) as exc:
                failures.append((path, exc))
    progress.close()
    for path, error in failures:
        message = str(error)
        records[path].update(error=message, output=None)
        named = message if message.startswith(f"{path}:") else f"{path}: {message}"
        print(f"cin-style: failed: {named}", file=sys.stderr)
    if args.json:
        for record in records.values():
            print(json.dumps(record))
    if failures:
        print(f"cin-style: {len(inputs) - len(failures)} of {len(inputs)} images done, {len(failures)} failed",
              file=sys.stderr)
        return EXIT_SOME_FAILED
    if len(inputs) == 1 and not args.json and destinations[0] != "-":
        print(destinations[0])
    return EXIT_OK


def _write_to_stdout(image, args) -> None:
    """The image, encoded as --format (default PNG), on standard output."""
    import io

    fmt = {"jpg": "JPEG", "webp": "WEBP", "png": "PNG", None: "PNG"}[args.format]
    if fmt == "JPEG" and image.mode == "RGBA":
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": args.quality} if fmt != "PNG" else {}))
    sys.stdout.buffer.write(buffer.getvalue())
    sys.stdout.buffer.flush()


def _stylize_backend(args) -> str:
    """tflite (the runtime) unless a model folder, a --style-image or --backend tf asks for TensorFlow."""
    if args.backend != "auto":
        return args.backend
    return "tf" if args.model or getattr(args, "style_image", None) else "tflite"


def _command_styles(args) -> int:
    if args.model:
        from cin_style.stylization.tf_backend import resolve_model

        styles = [(s.name, s.title, s.artist, s.year) for s in resolve_model(args.model).styles]
    else:
        from cin_style.stylization.tflite_backend import TFLiteStylizer

        metadata = TFLiteStylizer(args.tflite_model, num_threads=1).metadata or {}
        entries = metadata.get("styles") or []
        styles = [(e["name"], e.get("title", ""), e.get("artist", ""), e.get("year", "")) for e in entries]
    for index, (name, *credit) in enumerate(styles):
        details = ", ".join(str(x) for x in credit if x)
        print(f"{index:3d}  {name}" + (f"  ({details})" if details else ""))
    return EXIT_OK


def _machine_facts() -> dict:
    """What `cin-style info` reports; reads package metadata and /proc, starts nothing heavy."""
    import platform
    from importlib import metadata

    from cin_style import __version__
    from cin_style.model.bundled import bundled_runtime_path
    from cin_style.stylization.tflite_backend import usable_cpu_count
    from cin_style.stylization.tflite_contract import read_metadata

    def version(distribution: str) -> str | None:
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            return None

    processor = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            processor = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")),
                             processor)
    except OSError:
        pass
    try:
        runtime_path: str | None = bundled_runtime_path()
    except CinStyleError:
        runtime_path = None
    metadata_file = read_metadata(runtime_path) if runtime_path else None
    tensorflow = version("tensorflow")
    return {
        "cin_style": __version__, "python": platform.python_version(), "platform": platform.platform(),
        "processor": processor, "threads": usable_cpu_count(), "litert": version("ai-edge-litert"),
        "runtime_model": runtime_path,
        "runtime_model_mode": (metadata_file or {}).get("mode"),
        "styles": len((metadata_file or {}).get("styles") or []),
        "tensorflow": tensorflow,
        "train_extra": "installed" if tensorflow else "not installed: pip install 'cin-style[train]'",
        "accelerators": "the runtime runs on the CPU (LiteRT, XNNPACK); GPUs are used by the TensorFlow backend "
                        "(--backend tf) where TensorFlow sees one",
    }


def _command_info(args) -> int:
    facts = _machine_facts()
    if args.json:
        print(json.dumps(facts, indent=2))
    else:
        width = max(map(len, facts))
        for key, value in facts.items():
            print(f"{key.replace('_', ' '):{width}}  {value if value is not None else '-'}")
    return EXIT_OK


def _command_pack(args) -> int:
    from cin_style.model.packs import export_style_pack, import_style_pack
    from cin_style.stylization.tf_backend import resolve_model

    model = resolve_model(args.model)
    if args.pack_command == "export":
        if os.path.exists(args.output) and not args.overwrite:
            raise UsageError(f"{args.output}: already exists (pass --overwrite to replace it)")
        print(export_style_pack(model, args.style, args.output))
    else:
        extended = import_style_pack(model, args.pack, name=args.name)
        print(extended.save(args.output, overwrite=args.overwrite))
    return EXIT_OK


def _command_optimize(args) -> int:
    from cin_style.quality.gatys import optimize
    from cin_style.files.images import save_image

    if os.path.exists(args.output) and not args.overwrite:
        raise UsageError(f"{args.output}: already exists (pass --overwrite to replace it)")
    result = optimize(args.content, args.style_image, iterations=args.iterations, method=args.method,
                      size=args.size)
    save_image(result.image, args.output, overwrite=args.overwrite, protect=(args.content, args.style_image))
    first, last = result.history[0]["total"], result.history[-1]["total"]
    print(f"{args.output}: total loss {first:.4g} -> {last:.4g} after {len(result.history) - 1} iterations")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cin-style", description=_DESCRIPTION, formatter_class=HelpFormatter)
    from cin_style import __version__
    parser.add_argument("--version", action="version", version=f"cin-style {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    stylize = commands.add_parser(
        "stylize", formatter_class=HelpFormatter, help="stylize images or folders of images",
        description="Stylize one or more images (files or folders, searched recursively).")
    stylize.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders, or - to read one image "
                                                                   "from standard input")
    stylize.add_argument("-s", "--style",
                         help="a style name or index, or a blend like 'starry_night=0.7,great_wave=0.3' "
                              "(see `cin-style styles`)")
    stylize.add_argument("--style-image", help="any picture as the style: its gamma/beta are learnt against the "
                                               "model (a minute or two on 2 CPU cores, then cached in "
                                               "~/.cache/cin-style); named after the file, so --style may blend "
                                               "it; needs the [train] extra")
    destination = stylize.add_mutually_exclusive_group()
    destination.add_argument("-o", "--output", help="output file (one input only); format from its extension; - "
                                                    "writes the image to standard output (PNG, or --format)")
    destination.add_argument("--out-dir", help="output folder; files are named <input>_<style>.<ext>")
    stylize.add_argument("--format", choices=["jpg", "png", "webp"], help="output format with --out-dir "
                         "(default: the input's)")
    stylize.add_argument("--strength", type=bounded(float, 0.0, 1.0), default=1.0, help="0 = the photo, 1 = full style")
    stylize.add_argument("--style-scale", default="auto",
                         help="stroke size relative to the image: 2 = strokes twice as large; 'auto' "
                              "stylizes images above 1 MP at 1 MP so strokes keep their size relative to the "
                              "picture; 1 = full resolution, finest texture")
    stylize.add_argument("--preserve-color", action="store_true", help="keep the photo's colours")
    stylize.add_argument("--mask", help="mask image the size of the input: --style applies where it is white, "
                                        "--style-outside where it is black, blended at grey/soft edges")
    stylize.add_argument("--style-outside", help="style for the black part of --mask")
    stylize.add_argument("--feather", type=bounded(float, 0.0, 1000.0), default=8.0,
                         help="soften mask edges by this many pixels")
    stylize.add_argument("--model", help="a model folder of your own (TensorFlow backend; default: the bundled "
                                         "model on the runtime)")
    stylize.add_argument("--backend", choices=["auto", "tflite", "tf"], default="auto",
                         help="auto: the runtime (LiteRT on the bundled or --tflite-model file) unless --model or "
                              "--mask need TensorFlow; tflite; tf (the float model, needs the [train] extra)")
    stylize.add_argument("--tflite-model", help="a .tflite file made by `cin-style export` (default: the bundled one)")
    stylize.add_argument("--threads", type=bounded(int, 1, 1024),
                         help="LiteRT threads (tflite backend; default: every CPU this process may use)")
    stylize.add_argument("--device", choices=DEVICES, default="auto",
                         help="auto: the runtime on the CPU, TensorFlow on a GPU where it sees one; cpu; gpu "
                              "(TensorFlow backend only; refused where there is none)")
    stylize.add_argument("--overwrite", action="store_true", help="replace existing output files")
    stylize.add_argument("--json", action="store_true", help="print one JSON object per input (input, output, style, "
                                                              "width, height, seconds, or the error)")
    stylize.add_argument("--quality", type=bounded(int, 1, 100), default=95, help="JPEG/WebP quality")
    stylize.add_argument("--max-pixels", type=bounded(int, 1, 10**10), default=150_000_000,
                         help="refuse images with more pixels than this")
    stylize.set_defaults(handler=_command_stylize, needs_tensorflow=lambda a: _stylize_backend(a) == "tf")

    styles = commands.add_parser("styles", formatter_class=HelpFormatter, help="list a model's styles",
                                 description="List the styles of a model, by index.")
    styles.add_argument("--model", help="a model folder (needs the [train] extra; default: the bundled model)")
    styles.add_argument("--tflite-model", help="a .tflite file made by `cin-style export`")
    styles.set_defaults(handler=_command_styles, needs_tensorflow=lambda a: bool(a.model))

    info = commands.add_parser("info", formatter_class=HelpFormatter,
                               help="versions, the bundled runtime model, threads, accelerators",
                               description="What this installation holds and will use (starts no TensorFlow).")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(handler=_command_info, needs_tensorflow=lambda a: False)

    optimize = commands.add_parser(
        "optimize", formatter_class=HelpFormatter,
        help="Gatys-style optimization of one image (slow, any style image, no training)",
        description="Optimize the pixels of one image to match a content photo and a style image "
                    "(same losses as training). Slow: about a second per iteration at 256 px on a CPU.")
    optimize.add_argument("content", help="content image")
    optimize.add_argument("style_image", help="style image (any painting; no trained model needed)")
    optimize.add_argument("-o", "--output", required=True, help="output image file")
    optimize.add_argument("--iterations", type=bounded(int, 0, 100_000), default=100,
                          help="L-BFGS iterations or Adam steps")
    optimize.add_argument("--method", choices=["lbfgs", "adam"], default="lbfgs")
    optimize.add_argument("--size", type=bounded(int, 16, 8192), default=256,
                          help="short side of the content, in pixels")
    optimize.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    optimize.set_defaults(handler=_command_optimize, needs_tensorflow=lambda a: True)

    pack = commands.add_parser("pack", formatter_class=HelpFormatter,
                               help="export or import a single style (a small 'style pack' file)",
                               description="A style pack holds one style's gamma/beta and a fingerprint of "
                                           "its base model; import it into another copy of that model.")
    pack_commands = pack.add_subparsers(dest="pack_command", metavar="export|import", required=True)
    pack_export = pack_commands.add_parser("export", formatter_class=HelpFormatter,
                                           help="write one style of a model to a pack file")
    pack_export.add_argument("--style", required=True, help="style name or index")
    pack_export.add_argument("-o", "--output", required=True, help="pack file (.npz)")
    pack_import = pack_commands.add_parser("import", formatter_class=HelpFormatter,
                                           help="add a pack's style to a model, saved as a new model")
    pack_import.add_argument("pack", help="pack file (.npz)")
    pack_import.add_argument("-o", "--output", required=True, help="directory of the new model")
    pack_import.add_argument("--name", help="import the style under another name")
    for sub in (pack_export, pack_import):
        sub.add_argument("--model", help="model directory (default: the bundled model)")
        sub.add_argument("--overwrite", action="store_true", help="replace an existing output")
    pack.set_defaults(handler=_command_pack, needs_tensorflow=lambda a: True)

    for module in _COMMAND_MODULES:
        importlib.import_module(module).register(commands)
    return parser


def _negatable_options() -> set[str]:
    return set().union(*(importlib.import_module(module).NEGATABLE for module in _COMMAND_MODULES))


def main(argv: list[str] | None = None) -> int:
    """Runs one command; returns its exit code: 0 done, 1 some inputs failed (or training diverged),
    2 a usage error (bad option, unknown style, unusable model or input), 130 interrupted."""
    argv = canonical_options(sys.argv[1:] if argv is None else [str(a) for a in argv], _negatable_options())
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        if getattr(args, "preflight", None):
            args.preflight(args)  # checks that need no TensorFlow, before it starts
        if args.needs_tensorflow(args):  # --help, usage errors and the runtime start none
            require_tensorflow(f"cin-style {args.command}" + (" with these options" if args.command in
                                                              ("stylize", "styles") else ""))
            start_tensorflow()
        return args.handler(args)
    except (UsageError, CinStyleError) as exc:
        print(f"cin-style {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"cin-style {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
