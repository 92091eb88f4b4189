"""Segmentation models: a registry of named builders over segmentation-models-pytorch.

``build_model(name, num_classes)`` returns a ``torch.nn.Module`` mapping a (N, 3, H, W) float32
batch (ImageNet-normalised RGB) to (N, K, H, W) float32 logits, H and W multiples of
:func:`input_multiple`. Encoders start from random weights: nothing is ever downloaded. Pass a
local checkpoint with ``encoder_weights=PATH`` to start the encoder from it.
"""

from alc_data.models.registry import (
    MODELS,
    ModelSpec,
    build_model,
    input_multiple,
    load_encoder_weights,
    select_device,
)

__all__ = ["MODELS", "ModelSpec", "build_model", "input_multiple", "load_encoder_weights", "select_device"]
