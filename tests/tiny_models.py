"""Tiny models for the tests (importable from tests: pytest's pythonpath includes tests/)."""

import numpy as np

STYLE_NAMES = ["alpha_style", "beta_style", "gamma_style"]


def make_tiny_model(seed: int = 0, num_styles: int = 3):
    """A tiny random network whose styles differ (random gamma/beta rows)."""
    from cin_style.model.format import CinModel, StyleInfo
    from cin_style.model.architecture import Architecture
    import tf_keras

    tf_keras.utils.set_random_seed(seed)
    names = STYLE_NAMES[:num_styles] if num_styles <= 3 else [f"style_{i}" for i in range(num_styles)]
    model = CinModel(Architecture(num_styles, alpha=0.125, num_residual_blocks=1),
                     [StyleInfo(name=n, title=n.title()) for n in names])
    rng = np.random.default_rng(seed)
    for variable in model.network.weights:
        if variable.name.endswith(("gamma:0", "beta:0")):
            variable.assign(rng.normal(1.0 if "gamma" in variable.name else 0.0, 0.5, variable.shape))
    return model
