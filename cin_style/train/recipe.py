"""The recipe the bundled model was trained with: the defaults of ``cin-style train`` and of
:class:`~cin_style.train.losses.LossConfig`, in one place (imports nothing heavy, so ``--help`` reads it).

Full network (alpha 1, 5 residual blocks), VGG16 losses, 256 px crops of photos at a 256 px short side, batch 4,
Adam at 1e-3. The weights make a network that paints: the style terms dominate (Gram and feature-moment terms at
conv1_2 to conv4_3), content at conv3_3 keeps faces and shapes readable, total variation keeps the strokes clean.
The record of how they were chosen: docs/bundled_model.md.
"""

CONTENT_LAYER = "conv3_3"
STYLE_LAYERS = ("conv1_2", "conv2_2", "conv3_3", "conv4_3")
CONTENT_WEIGHT = 2.0
STYLE_WEIGHT = 10.0
MOMENT_WEIGHT = 10.0
TV_WEIGHT = 10.0
STYLE_IMAGE_SIZE = 256
LAPLACIAN_WEIGHT = 0.0
LAPLACIAN_POOLS = (4, 8)

IMAGE_SIZE = 256
BATCH_SIZE = 4
LEARNING_RATE = 1e-3
NUM_STEPS = 40_000
