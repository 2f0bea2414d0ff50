"""Function-preserving deepening: more residual blocks for a trained model.

A residual block adds ``CIN_b(conv_b(relu(CIN_a(conv_a(x)))))`` to its input. With
the second CIN's gamma and beta zero for every style, the block adds nothing, so
the deeper network computes exactly the trained one's function and training goes
on from there with more capacity and a wider receptive field in the body. The
new blocks' convolutions and first CIN start as copies of the last trained block
(features already matched to the body's statistics); gamma of the zeroed CIN still
gets a gradient, so the blocks open up as training needs them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from cin_style.model_format import CinModel

__all__ = ["deepen_model"]


def deepen_model(model: CinModel, num_residual_blocks: int) -> CinModel:
    """A copy of ``model`` with ``num_residual_blocks`` residual blocks, same function and styles.

    Args:
      model: a trained model with at least one residual block.
      num_residual_blocks: blocks of the result, at least the model's own.

    Returns:
      A :class:`CinModel` whose extra blocks (appended after the last one) are identities.
    """
    arch = model.architecture
    blocks = int(num_residual_blocks)
    if arch.num_residual_blocks < 1:
        raise ValueError("deepening copies the last residual block; the model has none")
    if blocks < arch.num_residual_blocks:
        raise ValueError(f"num_residual_blocks must be at least the model's {arch.num_residual_blocks}, got {blocks}"
                         " (cin_style.slim.prune_model drops blocks)")
    deeper = CinModel(dataclasses.replace(arch, num_residual_blocks=blocks), model.styles,
                      training_config={**model.training_config, "num_residual_blocks": blocks,
                                       "deepened_from_blocks": arch.num_residual_blocks})
    weights = model.weights_dict()
    last = f"res{arch.num_residual_blocks}_"
    for variable in deeper.network.weights:
        key = variable.name.split(":")[0]
        if key in weights:
            variable.assign(weights[key])
            continue
        rest = key.partition("_")[2]  # "res7_b_norm/gamma" -> "b_norm/gamma"
        value = weights[last + rest]
        variable.assign(np.zeros_like(value) if rest.startswith("b_norm/") else value)
    return deeper
