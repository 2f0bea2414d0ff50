"""Output distillation: fine-tune a wrapped copy of a network to reproduce the float model.

Quantization-aware training (:mod:`cin_style.export.qat`) and magnitude pruning
(:mod:`cin_style.slim.sparsity`) both wrap the transform network (fake-quantizers,
pruning masks) and then teach the wrapped network to give the unwrapped model's
outputs on real photos crossed with the styles, so it absorbs the rounding or the
removed weights.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf
import tf_keras as keras

__all__ = ["distill_outputs"]

_ONE_HOT_FRACTION = 0.8  # the rest of the steps see a random blend of all styles


def distill_outputs(teacher: keras.Model, student: keras.Model, crops: np.ndarray, steps: int, *,
                    learning_rate: float = 1e-4, seed: int = 0, log: Callable[[str], None] | None = None,
                    label: str = "distillation", before_step: Callable[[int], None] | None = None) -> None:
    """Fine-tunes ``student`` in place to minimize the mean squared error to ``teacher``'s outputs.

    Args:
      teacher, student: networks taking ``[image, style_weights]`` ([1, S, S, 3], [1, N]).
      crops: [M, S, S, 3] float32 photos in [0, 1]; each Adam step uses one of them with one
        random style (80% of the steps) or a random blend of all styles.
      before_step: optional callable ``f(step_index)`` run before each step (e.g. a pruning
        schedule's update).
      log: optional callable; gets a line every 50 steps and after the last.
    """
    num_styles = int(teacher.inputs[1].shape[-1])
    rng = np.random.default_rng(seed)
    optimizer = keras.optimizers.Adam(learning_rate)

    @tf.function
    def train_step(images, weights):
        target = teacher([images, weights], training=False)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(student([images, weights], training=True) - target))
        variables = student.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    steps = int(steps)
    for i in range(steps):
        if before_step is not None:
            before_step(i)
        image = crops[rng.integers(len(crops))][None]
        weights = (np.eye(num_styles, dtype=np.float32)[rng.integers(num_styles)]
                   if rng.random() < _ONE_HOT_FRACTION else rng.dirichlet(np.ones(num_styles)).astype(np.float32))
        loss = train_step(tf.constant(image), tf.constant(weights[None]))
        if log and ((i + 1) % 50 == 0 or i + 1 == steps):
            log(f"{label} step {i + 1}/{steps}: mse to the float model {float(loss):.3g}")
