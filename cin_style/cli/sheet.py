"""``cin-style sheet``: one photo in every style of a model, as one labelled picture."""

from __future__ import annotations

import argparse
import json
import os
import time

from cin_style.cli.common import (DEVICES, EXIT_OK, SubCommands, UsageError, add_parser, bounded, choose_device,
                                  comma_list)

NEGATABLE: set[str] = set()


def register(commands: SubCommands) -> None:
    parser = add_parser(
        commands, "sheet", help="one photo in every style, as one labelled picture",
        description="Stylize one photo with every style of a model (or --styles) and lay the results out in a "
                    "labelled grid, the photo first. Each style is painted at the size `stylize` would use for "
                    "the photo, so the strokes look as they will.\n\n"
                    "  cin-style sheet cat.jpg -o cat_styles.jpg\n"
                    "  cin-style sheet cat.jpg --styles starry_night,great_wave,udnie --tile-size 384 -o three.png")
    parser.add_argument("photo", help="the photo")
    parser.add_argument("-o", "--output", required=True, help="the sheet's file; format from its extension")
    parser.add_argument("--styles", type=comma_list, help="style names or indices, comma-separated (default: all)")
    parser.add_argument("--tile-size", type=bounded(int, 32, 2048), default=256, help="side of each tile, in pixels")
    parser.add_argument("--columns", type=bounded(int, 1, 64), help="tiles per row (default: a near-square grid)")
    parser.add_argument("--strength", type=bounded(float, 0.0, 1.0), default=1.0, help="0 = the photo, 1 = full style")
    parser.add_argument("--preserve-color", action="store_true", help="keep the photo's colours")
    parser.add_argument("--model", help="a model folder of your own (TensorFlow backend; default: the bundled model "
                                        "on the runtime)")
    parser.add_argument("--tflite-model", help="a .tflite file made by `cin-style export` (default: the bundled one)")
    parser.add_argument("--threads", type=bounded(int, 1, 1024),
                        help="LiteRT threads (default: every CPU this process may use)")
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="auto; cpu; gpu (with --model, the TensorFlow backend; refused where there is none)")
    parser.add_argument("--quality", type=bounded(int, 1, 100), default=95, help="JPEG/WebP quality")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing sheet")
    parser.add_argument("--json", action="store_true", help="print one JSON object (photo, output, width, height, "
                                                             "styles, seconds)")
    parser.set_defaults(handler=run_sheet, needs_tensorflow=lambda args: bool(args.model), preflight=_preflight)


def _preflight(args: argparse.Namespace) -> None:
    """The output is checked before any model loads."""
    from cin_style.errors import ImageError
    from cin_style.files.images import check_output_format

    if args.model and args.tflite_model:
        raise UsageError("give --model (a model folder) or --tflite-model (a runtime file), not both")
    if os.path.isdir(args.output):
        raise UsageError(f"{args.output}: is a folder; -o names the sheet's file")
    try:
        check_output_format(args.output)
    except ImageError as exc:
        raise UsageError(str(exc)) from None
    if os.path.lexists(args.output) and not args.overwrite:
        raise UsageError(f"{args.output}: already exists (pass --overwrite to replace it)")
    if os.path.exists(args.photo) and os.path.exists(args.output) and os.path.samefile(args.photo, args.output):
        raise UsageError(f"{args.output}: refusing to overwrite the photo")


def run_sheet(args: argparse.Namespace) -> int:
    from cin_style.files.images import save_image
    from cin_style.stylization.sheet import SheetStylizer, style_sheet

    stylizer: SheetStylizer
    started = time.perf_counter()
    choose_device(args.device, "tf" if args.model else "tflite")
    if args.model:
        from cin_style.stylization.tf_backend import Stylizer

        stylizer = Stylizer(args.model)
    else:
        from cin_style.stylization.tflite_backend import TFLiteStylizer

        stylizer = TFLiteStylizer(args.tflite_model, num_threads=args.threads)
    styles = None if args.styles is None else [int(s) if s.isdecimal() else s for s in args.styles]
    sheet = style_sheet(stylizer, args.photo, styles, tile_size=args.tile_size, columns=args.columns,
                        strength=args.strength, preserve_color=args.preserve_color)
    save_image(sheet, args.output, overwrite=args.overwrite, protect=(args.photo,), quality=args.quality)
    names = [stylizer.style_names[s] if isinstance(s, int) else s for s in styles or stylizer.style_names]
    if args.json:
        print(json.dumps({"photo": args.photo, "output": args.output, "width": sheet.width, "height": sheet.height,
                          "styles": names, "seconds": round(time.perf_counter() - started, 3)}))
    else:
        print(f"{args.output}: {sheet.width}x{sheet.height}, the photo and {len(names)} styles")
    return EXIT_OK
