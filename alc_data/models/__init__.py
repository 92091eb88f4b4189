"""Segmentation models: a registry of named builders over segmentation-models-pytorch and transformers.

``build_model(name, num_classes)`` returns a ``torch.nn.Module`` mapping a (N, 3, H, W) float32
batch (ImageNet-normalised RGB) to (N, K, H, W) float32 logits, H and W multiples of
:func:`input_multiple`. Starting weights:

- smp models (DeepLabV3+, U-Net): ``encoder_weights="imagenet"`` (or another name smp knows for the
  encoder) downloads into the Hugging Face cache when online and reads it from there offline, as
  smp does; ``encoder_weights=PATH`` loads a local encoder checkpoint; default random.
- SegFormer (``segformer-b0`` … ``-b5``): ``pretrained=`` a hub id (``nvidia/mit-b0``) or a local
  folder of a whole model (the head is re-initialised for other classes); default random.
"""

from alc_data.models.registry import (
    MODELS,
    ModelSpec,
    SegformerSpec,
    build_model,
    count_parameters,
    input_multiple,
    is_weight_name,
    load_encoder_weights,
    model_spec,
    select_device,
)

__all__ = [
    "MODELS",
    "ModelSpec",
    "SegformerSpec",
    "build_model",
    "count_parameters",
    "input_multiple",
    "is_weight_name",
    "load_encoder_weights",
    "model_spec",
    "select_device",
]
