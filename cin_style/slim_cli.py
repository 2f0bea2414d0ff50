"""Command line of the slimming tool (``tools/slim.py`` and ``cin-style slim``): prune a trained
model to width alpha (and fewer residual blocks), then fine-tune it with the perceptual losses plus
distillation against the full model."""

from __future__ import annotations

import os
import sys

from absl import app, flags, logging

from cin_style.absl_tools import run_absl
from cin_style.tf_startup import start_tensorflow

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "The trained full model (default: the bundled model).")
flags.DEFINE_float("alpha", 0.5, "Width of the slim model relative to the base widths 32/64/128.")
flags.DEFINE_integer("num_residual_blocks", None, "Residual blocks to keep (default: all).")
flags.DEFINE_string("output_dir", None, "Run directory; the slim model ends in <output_dir>/model.")
flags.DEFINE_string("content_dir", None, "Training photos for the fine-tune.")
flags.DEFINE_string("style_dir", None, "Folder of the styles' source images (default: assets/styles of a checkout).")
flags.DEFINE_integer("num_steps", 2000, "Fine-tune steps (0: prune only).")
flags.DEFINE_float("distill_weight", 20.0, "Weight of the mean squared difference to the full model's output.")
flags.DEFINE_integer("image_size", 256, "Crop size of the fine-tune.")
flags.DEFINE_integer("batch_size", 4, "Fine-tune batch size.")
flags.DEFINE_float("learning_rate", 5e-4, "Fine-tune learning rate.")
flags.DEFINE_enum("precision", "auto", ["auto", "float32", "mixed_bfloat16"],
                  "Compute precision of the fine-tune (auto: bfloat16 where it trains faster: AMX-BF16, "
                  "Arm BF16 or a GPU).")
flags.DEFINE_integer("checkpoint_every", 200, "Steps between checkpoints.")
flags.DEFINE_bool("resume", False, "Continue an interrupted fine-tune.")
flags.DEFINE_integer("seed", 0, "Seed of the fine-tune's photo stream.")
flags.DEFINE_float("magnitude_sparsity", 0.0, "Also write <output_dir>/model_sparse: the slim model with this "
                   "fraction of each conv kernel zeroed by tfmot magnitude pruning (smaller gzip size; 0: off).")
flags.DEFINE_integer("magnitude_steps", 300, "Distillation steps of the magnitude pruning.")
flags.DEFINE_integer("magnitude_photos", 64, "Photos of --content_dir (center crops) for the magnitude pruning.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}", exitcode=2)
    if not FLAGS.output_dir:
        raise app.UsageError("--output_dir is required", exitcode=2)
    start_tensorflow()
    logging.set_verbosity(logging.WARNING)
    from cin_style.errors import CinStyleError
    from cin_style.model_format import save_model
    from cin_style.slim import describe, prune_model
    from cin_style.stylizer import resolve_model
    from cin_style.trainer import TrainingDiverged, train

    try:
        full = resolve_model(FLAGS.model)
        teacher_dir = os.path.join(FLAGS.output_dir, "teacher")
        pruned_dir = os.path.join(FLAGS.output_dir, "pruned")
        if not FLAGS.resume:
            save_model(full, teacher_dir, overwrite=True)
            slim = prune_model(full, FLAGS.alpha, FLAGS.num_residual_blocks)
            save_model(slim, pruned_dir, overwrite=True)
            print(f"pruned: {describe(full)['conv_parameters']} -> {describe(slim)['conv_parameters']} conv "
                  f"parameters; saved {pruned_dir}", file=sys.stderr)
        if (FLAGS.num_steps or FLAGS.magnitude_sparsity) and not FLAGS.content_dir:
            raise app.UsageError("--content_dir is required for the fine-tune and the magnitude pruning "
                                 "(or --num_steps 0 and no --magnitude_sparsity)", exitcode=2)
        final_dir = pruned_dir
        if FLAGS.num_steps:
            train(_fine_tune_config(full, pruned_dir, teacher_dir), resume=FLAGS.resume)
            final_dir = os.path.join(FLAGS.output_dir, "model")
        if FLAGS.magnitude_sparsity:
            _magnitude_prune(final_dir, os.path.join(FLAGS.output_dir, "model_sparse"))
    except TrainingDiverged as exc:
        print(f"slim: training diverged: {exc}", file=sys.stderr)
        return 1
    except (CinStyleError, ValueError) as exc:
        print(f"slim: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _fine_tune_config(full, pruned_dir: str, teacher_dir: str):
    from cin_style.evaluation import loss_config_of
    from cin_style.trainer import TrainConfig

    style_dir = FLAGS.style_dir or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "assets",
                                                 "styles")
    styles = [os.path.join(style_dir, s.source_image or f"{s.name}.jpg") for s in full.styles]
    return TrainConfig(
        content_dir=FLAGS.content_dir, style_images=styles, output_dir=FLAGS.output_dir,
        image_size=FLAGS.image_size, batch_size=FLAGS.batch_size, num_steps=FLAGS.num_steps,
        learning_rate=FLAGS.learning_rate, loss=loss_config_of(full), alpha=FLAGS.alpha,
        num_residual_blocks=(full.architecture.num_residual_blocks if FLAGS.num_residual_blocks is None
                             else FLAGS.num_residual_blocks),
        seed=FLAGS.seed, checkpoint_every=FLAGS.checkpoint_every, init_model=pruned_dir,
        teacher_model=teacher_dir, distill_weight=FLAGS.distill_weight, precision=FLAGS.precision,
        style_strengths=dict(full.training_config.get("style_strengths") or {}))


def _magnitude_prune(model_dir: str, output_dir: str) -> None:
    import numpy as np

    from cin_style.data import find_images
    from cin_style.evaluation import center_crop
    from cin_style.images import load_image
    from cin_style.model_format import load_model, save_model
    from cin_style.sparsity import kernel_sparsity, magnitude_prune

    photos = find_images(FLAGS.content_dir)
    rng = np.random.default_rng(FLAGS.seed)
    chosen = rng.choice(len(photos), min(FLAGS.magnitude_photos, len(photos)), replace=False)
    crops = np.stack([center_crop(load_image(photos[i]).rgb, FLAGS.image_size) for i in sorted(chosen)])
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    sparse = magnitude_prune(load_model(model_dir), crops, sparsity=FLAGS.magnitude_sparsity,
                             steps=FLAGS.magnitude_steps, seed=FLAGS.seed, log=log)
    save_model(sparse, output_dir, overwrite=True)
    log(f"magnitude pruning: {kernel_sparsity(sparse):.0%} of the conv weights are zero; saved {output_dir}")


def run(argv: list[str] | None = None) -> None:
    run_absl(main, argv)
