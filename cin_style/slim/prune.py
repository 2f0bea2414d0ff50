"""Slim models for phones: structured channel pruning of a trained network ("network slimming").

Each convolution keeps ``round(alpha * C)`` output channels, ranked by importance
``max over styles |gamma[:, c]| * ||kernel[..., c]||_2`` of the conv and the CIN that
follows it. Channels tied by residual connections (the body: down2 and every
residual block's second conv) are ranked together. Residual blocks can be dropped
too (the ones whose second CIN has the smallest mean |gamma|, i.e. that add the
least to the skip path). The result is an ordinary model in the core format;
fine-tune it with a distillation loss against the full model (``tools/slim.py``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from cin_style.model.format import CinModel
from cin_style.model.architecture import Architecture, scaled_width

__all__ = ["channel_importance", "prune_model"]


def _weights(model: CinModel) -> dict[str, np.ndarray]:
    return model.weights_dict()


def channel_importance(weights: dict[str, np.ndarray], name: str) -> np.ndarray:
    """Importance [C] of the output channels of conv ``name`` (e.g. ``"down1"``)."""
    gamma = np.abs(weights[f"{name}_norm/gamma"]).max(axis=0)
    kernel = weights[f"{name}_conv/kernel"]
    norms = np.sqrt((kernel.reshape(-1, kernel.shape[-1]) ** 2).sum(axis=0))
    return gamma * norms


def _top(scores: np.ndarray, keep: int) -> np.ndarray:
    return np.sort(np.argsort(-scores, kind="stable")[:keep])


def prune_model(model: CinModel, alpha: float, num_residual_blocks: int | None = None) -> CinModel:
    """A narrower (and optionally shallower) copy of ``model`` with the same styles.

    Args:
      model: a trained full model.
      alpha: width of the result relative to the *base* widths (32/64/128), e.g. 0.5;
        must not exceed the model's own alpha.
      num_residual_blocks: blocks to keep (default: all).

    Returns:
      A :class:`CinModel` with ``Architecture(N, alpha, R')`` and the selected weights.
    """
    arch = model.architecture
    blocks = arch.num_residual_blocks if num_residual_blocks is None else int(num_residual_blocks)
    if not 0 < alpha <= arch.alpha:
        raise ValueError(f"alpha must be in (0, {arch.alpha}] (the model's width), got {alpha}")
    if not 0 <= blocks <= arch.num_residual_blocks:
        raise ValueError(f"num_residual_blocks must be in [0, {arch.num_residual_blocks}], got {blocks}")
    weights = _weights(model)
    gamma_strength = {i: float(np.abs(weights[f"res{i}_b_norm/gamma"]).mean())
                      for i in range(1, arch.num_residual_blocks + 1)}
    kept_blocks = sorted(sorted(gamma_strength, key=lambda i: gamma_strength[i], reverse=True)[:blocks])

    def normalized(name):
        score = channel_importance(weights, name)
        return score / (score.max() + 1e-12)

    width = lambda base: scaled_width(base, alpha)  # noqa: E731
    body = normalized("down2") + sum(normalized(f"res{i}_b") for i in kept_blocks)
    selection = {
        "in": _top(normalized("in"), width(32)),
        "down1": _top(normalized("down1"), width(64)),
        "down2": _top(body, width(128)),
        "up1": _top(normalized("up1"), width(64)),
        "up2": _top(normalized("up2"), width(32)),
        "out": np.arange(3),
    }
    for i in kept_blocks:
        selection[f"res{i}_a"] = _top(normalized(f"res{i}_a"), width(128))
        selection[f"res{i}_b"] = selection["down2"]
    # (old layer, new layer, layer whose output feeds it)
    order = [("in", "in", None), ("down1", "down1", "in"), ("down2", "down2", "down1")]
    for new_index, old_index in enumerate(kept_blocks, start=1):
        order += [(f"res{old_index}_a", f"res{new_index}_a", "down2"),
                  (f"res{old_index}_b", f"res{new_index}_b", f"res{old_index}_a")]
    order += [("up1", "up1", "down2"), ("up2", "up2", "up1"), ("out", "out", "up2")]

    new_weights = {}
    for old, new, source in order:
        outputs = selection[old]
        inputs = np.arange(3) if source is None else selection[source]
        new_weights[f"{new}_conv/kernel"] = weights[f"{old}_conv/kernel"][:, :, inputs][..., outputs]
        for kind in ("gamma", "beta"):
            new_weights[f"{new}_norm/{kind}"] = weights[f"{old}_norm/{kind}"][:, outputs]
    return model.with_weights(new_weights, architecture=Architecture(arch.num_styles, alpha, blocks),
                              training_config={"pruned_from": model.training_config.get("step"), "step": 0})


def describe(model: CinModel) -> dict:
    """Parameter counts of a model (for the trade-off table)."""
    weights = _weights(model)
    conv = sum(v.size for k, v in weights.items() if k.endswith("/kernel"))
    per_style = sum(v.shape[1] * 2 for k, v in weights.items() if k.endswith("/gamma"))
    return {"architecture": dataclasses.asdict(model.architecture), "conv_parameters": int(conv),
            "parameters_per_style": int(per_style)}
