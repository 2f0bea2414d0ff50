"""``cin-style slim``: prune a trained model to width alpha (and fewer residual blocks), then fine-tune it
with the perceptual losses plus distillation against the full model."""

from __future__ import annotations

import argparse
import os
import sys

from cin_style.cli.common import EXIT_OK, EXIT_SOME_FAILED, SubCommands, UsageError, add_parser, bounded, log_to_stderr

NEGATABLE: set[str] = set()


def register(commands: SubCommands) -> None:
    parser = add_parser(
        commands, "slim", help="derive a slim width-alpha model for phones and distil it",
        description="Prune a trained model to a slim width-alpha variant and fine-tune it with the perceptual "
                    "losses plus distillation against the full model. The run folder holds teacher/, pruned/ "
                    "and model/ (the result).\n\n"
                    "  cin-style slim --alpha 0.5 --content-dir photos/ --style-dir paintings/ --output-dir runs/a050")
    parser.add_argument("--model", help="the trained full model (default: the bundled model)")
    parser.add_argument("--output-dir", required=True, help="the run folder")
    parser.add_argument("--alpha", type=bounded(float, 0.01, 4.0), default=0.5,
                        help="width of the slim model relative to the base widths 32/64/128")
    parser.add_argument("--num-residual-blocks", type=bounded(int, 0, 32),
                        help="residual blocks to keep (default: all)")
    tune = parser.add_argument_group("fine-tune")
    tune.add_argument("--content-dir", help="training photos (needed unless --num-steps 0)")
    tune.add_argument("--style-dir", help="folder of the styles' source paintings, named as the model's styles "
                                          "record them (needed unless --num-steps 0)")
    tune.add_argument("--num-steps", type=bounded(int, 0, 10**9), default=2000, help="fine-tune steps (0: prune only)")
    tune.add_argument("--distill-weight", type=bounded(float, 0.0, 1e6), default=20.0,
                      help="weight of the mean squared difference to the full model's output")
    tune.add_argument("--image-size", type=bounded(int, 16, 4096), default=256, help="crop size")
    tune.add_argument("--batch-size", type=bounded(int, 1, 4096), default=4)
    tune.add_argument("--learning-rate", type=bounded(float, 1e-12, 10.0), default=5e-4)
    tune.add_argument("--precision", choices=["auto", "float32", "mixed_bfloat16"], default="auto",
                      help="auto: bfloat16 where it trains faster (AMX-BF16, Arm BF16 or a GPU)")
    tune.add_argument("--checkpoint-every", type=bounded(int, 1, 10**9), default=200)
    tune.add_argument("--resume", action="store_true", help="continue an interrupted fine-tune")
    tune.add_argument("--seed", type=bounded(int, 0, 2**31 - 1), default=0, help="seed of the photo stream")
    sparse = parser.add_argument_group("magnitude pruning")
    sparse.add_argument("--magnitude-sparsity", type=bounded(float, 0.0, 0.99), default=0.0,
                        help="also write <output-dir>/model_sparse: the slim model with this fraction of each conv "
                             "kernel zeroed by tfmot magnitude pruning (smaller compressed size; 0: off)")
    sparse.add_argument("--magnitude-steps", type=bounded(int, 1, 10**7), default=300,
                        help="distillation steps of the magnitude pruning")
    sparse.add_argument("--magnitude-photos", type=bounded(int, 1, 100_000), default=64,
                        help="photos of --content-dir (center crops) for the magnitude pruning")
    parser.set_defaults(needs_tensorflow=lambda args: True, handler=run_slim, preflight=_preflight)


def _preflight(args) -> None:
    if (args.num_steps or args.magnitude_sparsity) and not args.content_dir:
        raise UsageError("--content-dir is required for the fine-tune and the magnitude pruning "
                         "(or --num-steps 0 and no --magnitude-sparsity)")
    if args.num_steps and not args.style_dir:
        raise UsageError("--style-dir is required for the fine-tune: the folder of the model's style paintings "
                         "(or --num-steps 0 to prune only)")
    for flag, folder in (("--content-dir", args.content_dir), ("--style-dir", args.style_dir)):
        if folder is not None and not os.path.isdir(folder):
            raise UsageError(f"{flag} {folder}: no such folder")


def run_slim(args: argparse.Namespace) -> int:
    from cin_style.model.format import save_model
    from cin_style.slim.prune import describe, prune_model
    from cin_style.stylization.tf_backend import resolve_model
    from cin_style.train.trainer import TrainingDiverged, train

    full = resolve_model(args.model)
    teacher_dir = os.path.join(args.output_dir, "teacher")
    pruned_dir = os.path.join(args.output_dir, "pruned")
    if not args.resume:
        save_model(full, teacher_dir, overwrite=True)
        slim = prune_model(full, args.alpha, args.num_residual_blocks)
        save_model(slim, pruned_dir, overwrite=True)
        log_to_stderr(f"pruned: {describe(full)['conv_parameters']} -> {describe(slim)['conv_parameters']} conv "
                      f"parameters; saved {pruned_dir}")
    final_dir = pruned_dir
    if args.num_steps:
        try:
            train(_fine_tune_config(args, full, pruned_dir, teacher_dir), resume=args.resume)
        except TrainingDiverged as exc:
            print(f"cin-style slim: training diverged: {exc}", file=sys.stderr)
            return EXIT_SOME_FAILED
        final_dir = os.path.join(args.output_dir, "model")
    if args.magnitude_sparsity:
        _magnitude_prune(args, final_dir, os.path.join(args.output_dir, "model_sparse"))
    return EXIT_OK


def _fine_tune_config(args, full, pruned_dir: str, teacher_dir: str):
    from cin_style.quality.evaluation import loss_config_of
    from cin_style.train.trainer import TrainConfig

    styles = [os.path.join(args.style_dir, s.source_image or f"{s.name}.jpg") for s in full.styles]
    missing = [path for path in styles if not os.path.isfile(path)]
    if missing:
        raise UsageError(f"--style-dir {args.style_dir}: no {', '.join(os.path.basename(p) for p in missing)} "
                         "(the model's styles record these source images)")
    return TrainConfig(
        content_dir=args.content_dir, style_images=styles, output_dir=args.output_dir,
        image_size=args.image_size, batch_size=args.batch_size, num_steps=args.num_steps,
        learning_rate=args.learning_rate, loss=loss_config_of(full), alpha=args.alpha,
        num_residual_blocks=(full.architecture.num_residual_blocks if args.num_residual_blocks is None
                             else args.num_residual_blocks),
        seed=args.seed, checkpoint_every=args.checkpoint_every, init_model=pruned_dir,
        teacher_model=teacher_dir, distill_weight=args.distill_weight, precision=args.precision,
        style_strengths=dict(full.training_config.get("style_strengths") or {}))


def _magnitude_prune(args, model_dir: str, output_dir: str) -> None:
    import numpy as np

    from cin_style.files.folders import find_images
    from cin_style.files.images import center_crop, load_image
    from cin_style.model.format import load_model, save_model
    from cin_style.slim.sparsity import kernel_sparsity, magnitude_prune

    photos = find_images(args.content_dir)
    rng = np.random.default_rng(args.seed)
    chosen = rng.choice(len(photos), min(args.magnitude_photos, len(photos)), replace=False)
    crops = np.stack([center_crop(load_image(photos[i]).rgb, args.image_size) for i in sorted(chosen)])
    sparse = magnitude_prune(load_model(model_dir), crops, sparsity=args.magnitude_sparsity,
                             steps=args.magnitude_steps, seed=args.seed, log=log_to_stderr)
    save_model(sparse, output_dir, overwrite=True)
    log_to_stderr(f"magnitude pruning: {kernel_sparsity(sparse):.0%} of the conv weights are zero; saved {output_dir}")
