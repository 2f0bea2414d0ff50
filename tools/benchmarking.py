"""Helpers for benchmarks: FLOP counts from layer shapes, the machine's matmul peak, timing.

FLOPs count a multiply-add as 2. Only convolutions are counted (normalization,
activations and padding are a few percent of the total).
"""

from __future__ import annotations

import math
import resource
import statistics
import time

import numpy as np
import tensorflow as tf

from cin_style.model.architecture import Architecture, scaled_width
from cin_style.train.vgg import VGG_BLOCKS, layer_names

__all__ = ["transform_gflops", "vgg_gflops", "train_step_gflops_per_image", "matmul_peak_gflops",
           "median_time_s", "interleaved_times", "peak_rss_mb"]


def transform_gflops(arch: Architecture, height: int, width: int) -> float:
    """Forward GFLOP of the transform network on one height x width image."""
    h, w = math.ceil(height / 4) * 4, math.ceil(width / 4) * 4
    c = lambda channels: scaled_width(channels, arch.alpha)  # noqa: E731
    layers = [  # (output h, output w, kernel, c_in, c_out)
        (h, w, 9, 3, c(32)),
        (h // 2, w // 2, 3, c(32), c(64)),
        (h // 4, w // 4, 3, c(64), c(128)),
        *[(h // 4, w // 4, 3, c(128), c(128))] * (2 * arch.num_residual_blocks),
        (h // 2, w // 2, 3, c(128), c(64)),
        (h, w, 3, c(64), c(32)),
        (h, w, 9, c(32), 3),
    ]
    return sum(2 * oh * ow * k * k * ci * co for oh, ow, k, ci, co in layers) / 1e9


def vgg_gflops(up_to: str, height: int, width: int, arch: str = "vgg16") -> float:
    """Forward GFLOP of the VGG stack up to and including conv ``up_to``."""
    total, channels_in = 0.0, 3
    widths = (64, 128, 256, 512, 512)
    for name in layer_names(arch):
        block = int(name[4]) - 1
        scale = 2 ** block
        total += 2 * (height // scale) * (width // scale) * 9 * channels_in * widths[block]
        channels_in = widths[block]
        if name == up_to:
            return total / 1e9
    raise ValueError(f"{up_to} is not a layer of {arch} ({VGG_BLOCKS[arch]})")


def train_step_gflops_per_image(arch: Architecture, size: int, deepest_style_layer: str = "conv4_3",
                                content_layer: str = "conv3_3") -> float:
    """GFLOP of one training step per image.

    Transform: forward + backward (input and weight gradients) = 3x forward.
    Loss network on the output: forward + input gradients = 2x forward.
    Loss network on the content photo: forward to the content layer.
    """
    return (3 * transform_gflops(arch, size, size) + 2 * vgg_gflops(deepest_style_layer, size, size)
            + vgg_gflops(content_layer, size, size))


def median_time_s(function, repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``function()`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_times(functions: dict, rounds: int = 11, warmup: int = 1) -> dict[str, list[float]]:
    """Wall times (seconds) of each of ``functions`` (name -> callable), timed in turn: every
    round runs each function once, in order, so a load change on a shared machine hits all of
    them alike and their ratios stay comparable. ``warmup`` untimed runs of each first."""
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    for function in functions.values():
        for _ in range(warmup):
            function()
    times = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return times


def matmul_peak_gflops(n: int = 4096, dtype=tf.float32, repeats: int = 5) -> float:
    """Measured GFLOP/s of an n x n x n TensorFlow matmul (median of ``repeats``)."""
    a = tf.constant(np.random.default_rng(0).random((n, n)), dtype)
    b = tf.constant(np.random.default_rng(1).random((n, n)), dtype)
    run = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    seconds = median_time_s(lambda: run().numpy(), repeats=repeats, warmup=2)
    return 2 * n ** 3 / seconds / 1e9


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
