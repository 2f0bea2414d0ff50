"""Command line of the TFLite exporter (``tools/export_tflite.py`` and ``cin-style export``)."""

from __future__ import annotations

import os
import sys

from absl import app, flags, logging

from cin_style.absl_tools import run_absl
from cin_style.calibration import DEFAULT_ACTIVATION_RANGES, check_activation_ranges
from cin_style.tf_startup import start_tensorflow

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "Model directory (default: the bundled model).")
flags.DEFINE_enum("mode", "int8", ["float32", "float16", "dynamic", "int8"],
                  "float32; float16 weights; dynamic (int8 weights, float activations); int8 (weights and "
                  "activations).")
flags.DEFINE_string("output", None, "The .tflite file to write; metadata goes to <output>.json.")
flags.DEFINE_string("calibration_dir", None, "int8: folder of real photos for calibration (crossed with every "
                    "style). Default: the example photos in assets/examples of a source checkout.")
flags.DEFINE_integer("calibration_images", 16, "int8: at most this many calibration photos.")
flags.DEFINE_integer("calibration_size", 256, "int8: calibration crops are size x size.")
flags.DEFINE_integer("qat_steps", 0, "int8: quantization-aware fine-tune steps before conversion (0: "
                     "post-training quantization only).")
flags.DEFINE_bool("equalize", True, "int8: rescale conv output channels to equal typical ranges before "
                  "quantizing (the same float function; better int8 fidelity). --noequalize to compare.")
flags.DEFINE_enum("layout", "fast", ["fast", "compact", "plain"],
                  "How far convolutions are rearranged for XNNPACK (the same function either way): fast "
                  "(9x9 convs on 2x2 pixel blocks, upsampling convs at the small resolution), compact (the "
                  "blocks, plain upsampling: smaller file, a little slower), plain (none). Full model, int8: "
                  "1.98, 1.93, 1.90 MB. With --qat_steps only plain (its default there).")
flags.DEFINE_string("activation_ranges", DEFAULT_ACTIVATION_RANGES,
                    "int8: how each tensor's activation range is chosen: mse (per tensor the range with the least "
                    "quantization error over the calibration samples), a quantile q in (0.5, 1] such as 0.9995 "
                    "(all but a fraction 1 - q of a tensor's values at either end inside, in every sample), or "
                    "calibrator (the converter's min/max). Bundled model, median PSNR to the float model: mse 33.3 dB, "
                    "quantile 0.9995 29.7 dB (calibrator: 29.3 dB on an earlier package).")
flags.DEFINE_bool("float_ends", False, "int8: keep the input's contrast standardization and the output's instance "
                  "norm and sigmoid (3 channels each) in float; every convolution stays int8. Not fully integer "
                  "(not for integer-only accelerators); as fast on XNNPACK and closer to the float model "
                  "(bundled model: SSIM 0.975 instead of 0.961, PSNR 35.5 instead of 33.3 dB).")
flags.DEFINE_bool("tensor_names", True, "Keep every tensor's name (graph viewers and debuggers show them); "
                  "--notensor_names keeps only the inputs' and outputs' for a smaller file (3.6% on the slim "
                  "alpha 0.5 int8 model), the same outputs.")
flags.DEFINE_bool("uint8_io", False, "int8: image input and output as uint8 0..255 instead of float 0..1.")
flags.DEFINE_bool("overwrite", False, "Replace an existing output file.")


def _calibration_photos():
    from cin_style.data import find_images

    folder = FLAGS.calibration_dir
    if folder is None:
        folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "assets", "examples")
        if not os.path.isdir(folder):
            raise app.UsageError("int8 export needs --calibration_dir (a folder of real photos)", exitcode=2)
    photos = find_images(folder)[: FLAGS.calibration_images]
    if not photos:
        raise app.UsageError(f"--calibration_dir {folder}: no photos found", exitcode=2)
    return photos


def _layout():
    if FLAGS.qat_steps and not FLAGS["layout"].present:
        return "plain"  # the only layout quantization-aware training converts
    return FLAGS.layout


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}", exitcode=2)
    if not FLAGS.output:
        raise app.UsageError("--output is required", exitcode=2)
    try:
        check_activation_ranges(FLAGS.activation_ranges)
    except ValueError as exc:
        raise app.UsageError(f"--{exc}", exitcode=2) from None
    start_tensorflow()
    logging.set_verbosity(logging.WARNING)
    from cin_style.errors import CinStyleError
    from cin_style.export import export_tflite, representative_images
    from cin_style.stylizer import resolve_model

    if os.path.exists(FLAGS.output) and not FLAGS.overwrite:
        print(f"export: error: {FLAGS.output} already exists (pass --overwrite)", file=sys.stderr)
        return 2
    try:
        model = resolve_model(FLAGS.model)
        representative, crops = None, None
        if FLAGS.mode == "int8":
            photos = _calibration_photos()
            representative = representative_images(photos, model.num_styles, FLAGS.calibration_size)
            if FLAGS.qat_steps:
                import numpy as np

                from cin_style.evaluation import center_crop
                from cin_style.images import load_image

                crops = np.stack([center_crop(load_image(p).rgb, FLAGS.calibration_size) for p in photos])
        metadata = export_tflite(model, FLAGS.output, FLAGS.mode, representative=representative,
                                 uint8_io=FLAGS.uint8_io, qat_steps=FLAGS.qat_steps, qat_crops=crops,
                                 equalize=FLAGS.equalize, layout=_layout(),
                                 activation_ranges=FLAGS.activation_ranges, float_ends=FLAGS.float_ends,
                                 tensor_names=FLAGS.tensor_names,
                                 log=lambda line: print(line, file=sys.stderr, flush=True))
    except (CinStyleError, ValueError) as exc:
        print(f"export: error: {exc}", file=sys.stderr)
        return 2
    ends = ", float ends" if metadata["float_layers"] else ""
    print(f"{FLAGS.output}: {metadata['size_bytes'] / 1e6:.2f} MB, mode {FLAGS.mode}{ends}, layout {metadata['layout']}, "
          f"{len(metadata['styles'])} styles; metadata in {FLAGS.output}.json")
    return 0


def run(argv: list[str] | None = None) -> None:
    run_absl(main, argv)
