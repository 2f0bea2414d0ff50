"""``cin-style export``: a model -> a .tflite file (float32, float16, dynamic or int8) and its metadata."""

from __future__ import annotations

import argparse
import os

from cin_style.cli.common import EXIT_OK, SubCommands, UsageError, add_parser, bounded, log_to_stderr

NEGATABLE = {"equalize", "float-ends", "tensor-names", "tiles", "uint8-io"}


def register(commands: SubCommands) -> None:
    from argparse import BooleanOptionalAction

    from cin_style.export.calibration import DEFAULT_ACTIVATION_RANGES

    parser = add_parser(
        commands, "export", help="export to TFLite (float32, float16, dynamic, int8) for phones and the runtime",
        description="Write a model as a .tflite file for LiteRT (phones, `cin-style stylize --backend tflite`) "
                    "with its metadata in <output>.json.\n\n"
                    "  cin-style export --mode int8 --float-ends --output cin_style_int8.tflite")
    parser.add_argument("--model", help="model directory (default: the bundled model)")
    parser.add_argument("--output", required=True, help="the .tflite file to write")
    parser.add_argument("--mode", choices=["float32", "float16", "dynamic", "int8"], default="int8",
                        help="float32; float16 weights; dynamic (int8 weights, float activations); int8 "
                             "(weights and activations)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    int8 = parser.add_argument_group("int8")
    int8.add_argument("--calibration-dir",
                      help="folder of real photos for calibration, crossed with every style (default: six "
                           "example photos shipped with the package)")
    int8.add_argument("--calibration-images", type=bounded(int, 1, 100_000), default=16,
                      help="at most this many calibration photos")
    int8.add_argument("--calibration-size", type=bounded(int, 16, 4096), default=256,
                      help="calibration crops are size x size")
    int8.add_argument("--activation-ranges", default=DEFAULT_ACTIVATION_RANGES,
                      help="how each tensor's range is chosen: mse (least quantization error over the samples), "
                           "a quantile q in (0.5, 1] such as 0.9995, or calibrator (the converter's min/max)")
    int8.add_argument("--float-ends", action=BooleanOptionalAction, default=None,
                      help="keep the 3-channel chains at both ends (input contrast standardization, output "
                           "instance norm and sigmoid) in float; every convolution stays int8. Closer to the float "
                           "model and as fast on XNNPACK; --no-float-ends writes a fully integer file for "
                           "integer-only accelerators. Default: on for int8 without --qat-steps")
    int8.add_argument("--equalize", action=BooleanOptionalAction, default=True,
                      help="rescale conv output channels to equal typical ranges before quantizing (the same "
                           "float function, better int8 fidelity)")
    int8.add_argument("--qat-steps", type=bounded(int, 0, 10**7), default=0,
                      help="quantization-aware fine-tune steps before conversion (0: post-training only)")
    int8.add_argument("--uint8-io", action=BooleanOptionalAction, default=False,
                      help="image input and output as uint8 0..255 instead of float 0..1")
    parser.add_argument("--layout", choices=["fast", "compact", "plain"],
                        help="how far convolutions are rearranged for XNNPACK (the same function): fast (9x9 convs "
                             "on 2x2 pixel blocks, upsampling at the small resolution), compact (smaller file, a "
                             "little slower), plain (none; the only one --qat-steps converts). Default: fast, or "
                             "plain with --qat-steps")
    parser.add_argument("--tensor-names", action=BooleanOptionalAction, default=True,
                        help="keep every tensor's name for graph viewers; --no-tensor-names keeps only the inputs' "
                             "and outputs' (a few percent smaller, the same outputs)")
    parser.add_argument("--tiles", action=BooleanOptionalAction, default=True,
                        help="also write NAME.tiles.tflite beside the output (float16 weights): the runtime "
                             "stylizes images too large for one piece in tiles with it")
    parser.set_defaults(needs_tensorflow=lambda args: True, handler=run_export, preflight=_preflight)


def _preflight(args) -> None:
    """Checks that need no TensorFlow, before it starts."""
    from cin_style.export.calibration import check_activation_ranges

    try:
        check_activation_ranges(args.activation_ranges)
    except ValueError as exc:
        raise UsageError(f"--{exc}") from None
    if args.float_ends and (args.mode != "int8" or args.qat_steps):
        raise UsageError("--float-ends applies to --mode int8 without --qat-steps")
    from cin_style.stylization.tflite_contract import tiles_path

    for path in (args.output, *([tiles_path(args.output)] if args.tiles else [])):
        if os.path.exists(path) and not args.overwrite:
            raise UsageError(f"{path}: already exists (pass --overwrite to replace it)")
    if args.calibration_dir is not None and not os.path.isdir(args.calibration_dir):
        raise UsageError(f"--calibration-dir {args.calibration_dir}: no such folder")


def _calibration_photos(args) -> list[str]:
    from cin_style.export.calibration import CALIBRATION_PHOTOS
    from cin_style.files.folders import find_images

    folder = CALIBRATION_PHOTOS if args.calibration_dir is None else args.calibration_dir
    photos = find_images(folder)[: args.calibration_images]
    if not photos:
        raise UsageError(f"--calibration-dir {folder}: no photos found")
    return photos


def run_export(args: argparse.Namespace) -> int:
    import numpy as np

    from cin_style.export.tflite import export_tflite, export_tile_model, representative_images
    from cin_style.files.images import center_crop, load_image
    from cin_style.stylization.tf_backend import resolve_model
    from cin_style.stylization.tflite_contract import tiles_path

    model = resolve_model(args.model)
    representative, crops = None, None
    if args.mode == "int8":
        photos = _calibration_photos(args)
        representative = representative_images(photos, model.num_styles, args.calibration_size)
        if args.qat_steps:
            crops = np.stack([center_crop(load_image(p).rgb, args.calibration_size) for p in photos])
    layout = args.layout or ("plain" if args.qat_steps else "fast")
    metadata = export_tflite(model, args.output, args.mode, representative=representative, uint8_io=args.uint8_io,
                             qat_steps=args.qat_steps, qat_crops=crops, equalize=args.equalize, layout=layout,
                             activation_ranges=args.activation_ranges,
                             float_ends=args.mode == "int8" and not args.qat_steps if args.float_ends is None
                             else args.float_ends,
                             tensor_names=args.tensor_names, log=log_to_stderr)
    ends = ", float ends" if metadata["float_layers"] else ""
    print(f"{args.output}: {metadata['size_bytes'] / 1e6:.2f} MB, mode {args.mode}{ends}, layout {metadata['layout']}, "
          f"{len(metadata['styles'])} styles; metadata in {args.output}.json")
    if args.tiles:
        tiles = tiles_path(args.output)
        tiles_metadata = export_tile_model(model, tiles, metadata["sha256"])
        print(f"{tiles}: {tiles_metadata['size_bytes'] / 1e6:.2f} MB, for images too large for one piece")
    return EXIT_OK
