"""Magnitude pruning (tensorflow-model-optimization) of a trained model's convolution kernels.

Structured pruning (:mod:`cin_style.slim.prune`) removes whole channels and makes the
network faster; magnitude pruning zeroes the smallest individual weights instead.
The zeros do not make a dense TFLite kernel faster or its file smaller, but they
compress: the gzip size of the .tflite (what an app download costs) falls with
the sparsity. tfmot's ``prune_low_magnitude`` wraps every convolution; the
sparsity ramps up on a polynomial schedule while the wrapped network is
fine-tuned to reproduce the unpruned model's outputs (self-distillation on real
photos crossed with the styles), so it absorbs the removed weights. The CIN
gamma/beta tables stay dense (they are tiny and hold the styles).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tf_keras as keras

from cin_style.train.distillation import distill_outputs
from cin_style.model.format import CinModel
from cin_style.optional_deps import import_tfmot

__all__ = ["magnitude_prune", "kernel_sparsity"]


def kernel_sparsity(model: CinModel) -> float:
    """Fraction of exactly-zero weights over all convolution kernels of ``model``."""
    kernels = [v for k, v in model.weights_dict().items() if k.endswith("_conv/kernel")]
    return float(sum(int((k == 0).sum()) for k in kernels) / sum(k.size for k in kernels))


def magnitude_prune(model: CinModel, crops: np.ndarray, sparsity: float = 0.5, steps: int = 300,
                    learning_rate: float = 1e-4, seed: int = 0,
                    log: Callable[[str], None] | None = None) -> CinModel:
    """A copy of ``model`` whose conv kernels are ``sparsity`` zeros, fine-tuned to match ``model``.

    Args:
      model: a trained :class:`~cin_style.CinModel` (the teacher; left unchanged).
      crops: [M, S, S, 3] float32 photos in [0, 1] for the fine-tune.
      sparsity: final fraction of zeros in every conv kernel, in [0, 1).
      steps: fine-tune steps (one photo, one random style or blend each); the
        sparsity reaches its target after two thirds of them.

    Returns:
      A new :class:`~cin_style.CinModel`, same architecture and styles.
    """
    if not 0.0 <= float(sparsity) < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    if int(steps) < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    crops = np.asarray(crops, np.float32)
    if crops.ndim != 4 or crops.shape[-1] != 3 or len(crops) == 0:
        raise ValueError(f"crops must be [M, S, S, 3] photos with M >= 1, got shape {crops.shape}")
    sparsity_api = import_tfmot("magnitude pruning").sparsity.keras
    steps = int(steps)
    schedule = sparsity_api.PolynomialDecay(initial_sparsity=0.0, final_sparsity=float(sparsity), begin_step=0,
                                            end_step=max(1, 2 * steps // 3), frequency=max(1, steps // 20))

    def wrap(layer):
        if isinstance(layer, keras.layers.Conv2D):
            return sparsity_api.prune_low_magnitude(layer, pruning_schedule=schedule)
        return layer

    # The wrappers take over the layers they wrap, so wrap a private copy: the teacher stays intact.
    student = keras.models.clone_model(model.network)
    student.set_weights(model.network.get_weights())
    pruned_network = keras.models.clone_model(student, clone_function=wrap)
    step_callback = sparsity_api.UpdatePruningStep()
    step_callback.set_model(pruned_network)
    step_callback.on_train_begin()
    distill_outputs(model.network, pruned_network, crops, steps, learning_rate=learning_rate, seed=seed, log=log,
                    label="magnitude pruning", before_step=lambda i: step_callback.on_train_batch_begin(batch=i))
    step_callback.on_epoch_end(batch=steps)  # applies the final masks

    stripped = sparsity_api.strip_pruning(pruned_network)
    config = dict(model.training_config)
    config["magnitude_pruning"] = {"sparsity": float(sparsity), "steps": steps, "learning_rate": learning_rate}
    trained = {v.name.split(":")[0]: v.numpy() for v in stripped.weights}
    result = model.with_weights({key: trained[key] for key in model.weights_dict()}, training_config=config)
    if not np.all([np.isfinite(w).all() for w in result.network.get_weights()]):
        raise FloatingPointError("magnitude pruning produced non-finite weights; lower learning_rate")
    return result
