"""Function-preserving deepening: more residual blocks for a trained model.

A residual block adds ``CIN_b(conv_b(relu(CIN_a(conv_a(x)))))`` to its input. With
the second CIN's gamma and beta zero for every style, the block adds nothing, so
the deeper network computes exactly the trained one's function and training goes
on from there with more capacity and a wider receptive field in the body. The
new blocks' convolutions and first CIN start as copies of trained blocks (features
already matched to the body's statistics): the first added block copies the last
trained one, the next the one before it, and so on, and every copied kernel gets a
little noise (1% of its deviation; the function is unchanged, since the block's
output is multiplied by the zeroed gamma). Without that, two added copies of one
block receive exactly the same gradients and stay twins (seen on the bundled
model deepened from 5 to 7 blocks: after 500 steps blocks 6 and 7 had the same
gamma statistics to four digits). Gamma of the zeroed CIN still gets a gradient,
so the blocks open up as training needs them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from cin_style.model_format import CinModel

__all__ = ["deepen_model"]


_KERNEL_NOISE = 0.01  # of each copied kernel's standard deviation: breaks the symmetry between copies


def deepen_model(model: CinModel, num_residual_blocks: int, seed: int = 0) -> CinModel:
    """A copy of ``model`` with ``num_residual_blocks`` residual blocks, same function and styles.

    Args:
      model: a trained model with at least one residual block.
      num_residual_blocks: blocks of the result, at least the model's own.
      seed: of the noise on the copied kernels.

    Returns:
      A :class:`CinModel` whose extra blocks (appended after the last one) are identities.
    """
    arch = model.architecture
    blocks = int(num_residual_blocks)
    if arch.num_residual_blocks < 1:
        raise ValueError("deepening copies trained residual blocks; the model has none")
    if blocks < arch.num_residual_blocks:
        raise ValueError(f"num_residual_blocks must be at least the model's {arch.num_residual_blocks}, got {blocks}"
                         " (cin_style.slim.prune_model drops blocks)")
    deeper = CinModel(dataclasses.replace(arch, num_residual_blocks=blocks), model.styles,
                      training_config={**model.training_config, "num_residual_blocks": blocks,
                                       "deepened_from_blocks": arch.num_residual_blocks})
    weights = model.weights_dict()
    trained = arch.num_residual_blocks
    rng = np.random.default_rng(seed)
    for variable in deeper.network.weights:
        key = variable.name.split(":")[0]
        if key in weights:
            variable.assign(weights[key])
            continue
        block, _, rest = key.partition("_")  # "res7_b_norm/gamma" -> "res7", "b_norm/gamma"
        source = trained - (int(block.removeprefix("res")) - trained - 1) % trained  # the last, then the one before
        value = weights[f"res{source}_{rest}"]
        if rest.startswith("b_norm/"):
            value = np.zeros_like(value)
        elif rest.endswith("/kernel"):
            value = value + rng.normal(0.0, _KERNEL_NOISE * float(value.std()), value.shape).astype(value.dtype)
        variable.assign(value)
    return deeper
