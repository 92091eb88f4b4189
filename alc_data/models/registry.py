"""The model registry, model building, local encoder weights and device selection."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alc_data.errors import AlcError
from alc_data.registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    import torch


@dataclass(frozen=True)
class ModelSpec:
    """A named model: a segmentation-models-pytorch architecture, an encoder and fixed options.

    ``architecture`` is the smp class name (``DeepLabV3Plus``, ``Unet``, ``FPN``); ``options`` are
    passed to it unchanged (``encoder_weights`` is always ``None``: nothing is downloaded).
    """

    name: str
    architecture: str
    encoder: str
    options: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    drop_unused_stages: bool = False

    def build(self, num_classes: int) -> "torch.nn.Module":
        """A freshly initialised model with ``num_classes`` output channels (random encoder)."""
        import segmentation_models_pytorch as smp

        cls = getattr(smp, self.architecture)
        model = cls(encoder_name=self.encoder, encoder_weights=None, classes=int(num_classes), **self.options)
        if self.drop_unused_stages:
            _drop_unused_resnet_stages(model.encoder)
        return model


def _drop_unused_resnet_stages(encoder: Any) -> None:
    """smp's ResNet encoder keeps ``layer3``/``layer4`` even when ``encoder_depth`` < 5 never runs
    them; removing them shrinks checkpoints and the optimiser state (stage d runs ``layer{d-1}``)."""
    depth = int(getattr(encoder, "_depth", 5))
    for stage in range(depth + 1, 6):
        name = f"layer{stage - 1}"
        if hasattr(encoder, name):
            delattr(encoder, name)


MODELS: Registry[ModelSpec] = Registry("model")
"""Models by name (see ``alc-data train --help`` and the README's model table)."""


def _add(spec: ModelSpec) -> None:
    MODELS.add(spec.name, spec)


_add(ModelSpec(
    "deeplabv3plus-resnet101", "DeepLabV3Plus", "resnet101", {"encoder_output_stride": 16},
    "DeepLabV3+ with ResNet-101, output stride 16: the ALC paper's model (GPU)",
))
_add(ModelSpec(
    "deeplabv3plus-resnet18", "DeepLabV3Plus", "resnet18", {"encoder_output_stride": 16},
    "DeepLabV3+ with ResNet-18, output stride 16 (CPU-friendly)",
))
_add(ModelSpec(
    "deeplabv3plus-mobilenet_v2", "DeepLabV3Plus", "mobilenet_v2", {"encoder_output_stride": 16},
    "DeepLabV3+ with MobileNetV2, output stride 16 (CPU-friendly)",
))
_add(ModelSpec(
    "demo-tiny", "Unet", "resnet18", {"encoder_depth": 3, "decoder_channels": (32, 16, 16)},
    "U-Net on the first three stages of ResNet-18 (output stride 8), decoder 32-16-16: the demo's fast CPU model",
    drop_unused_stages=True,
))


def build_model(
    name: str,
    num_classes: int,
    *,
    encoder_weights: str | os.PathLike | None = None,
) -> "torch.nn.Module":
    """Build the registered model ``name`` with ``num_classes`` outputs.

    The encoder starts random unless ``encoder_weights`` names a LOCAL checkpoint file (a state dict
    of the encoder, e.g. torchvision's ``resnet101-*.pth``, or of a whole smp model); it is never
    downloaded. Unknown name, K < 1, or a missing / corrupt / mismatching file → :class:`AlcError`.
    The model maps (N, 3, H, W) float32 to (N, K, H, W) float32 logits.
    """
    spec = MODELS.get(name)
    if int(num_classes) < 1:
        raise AlcError(f"num_classes must be ≥ 1, got {num_classes}")
    model = spec.build(int(num_classes))
    model.alc_model_name = name  # type: ignore[attr-defined]
    if encoder_weights is not None:
        load_encoder_weights(model, encoder_weights)
    return model


def input_multiple(model: "torch.nn.Module") -> int:
    """The number H and W of the model's input must be multiples of (its encoder's output stride)."""
    encoder = getattr(model, "encoder", None)
    stride = getattr(encoder, "output_stride", None)
    return int(stride) if stride else 32


_PREFIXES = ("module.", "model.", "encoder.")


def _unwrap_state_dict(obj: Any, path: Path) -> dict[str, Any]:
    import torch

    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise AlcError(f"{path}: not a state dict of tensors; pass a local encoder checkpoint (.pth)")
    return obj


def load_encoder_weights(model: "torch.nn.Module", path: str | os.PathLike, *, min_match: float = 0.5) -> int:
    """Load a local checkpoint into ``model.encoder``; returns the number of tensors loaded.

    Accepts a plain state dict, one under ``state_dict`` / ``model``, and keys prefixed with
    ``module.`` or ``encoder.`` (a whole smp model). Tensors whose name or shape does not match are
    skipped (e.g. a classifier head); fewer than ``min_match`` of the encoder's tensors matched →
    AlcError (wrong encoder for this model).
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise AlcError(f"{path}: encoder weights not found; pass an existing local checkpoint file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch.load raises many types on a corrupt file
        raise AlcError(f"{path}: cannot read encoder weights ({type(exc).__name__}); the file is corrupt or not a torch checkpoint") from None
    state = _unwrap_state_dict(obj, path)
    encoder = model.encoder
    target = encoder.state_dict()
    loaded: dict[str, Any] = {}
    for key, value in state.items():
        name = key
        changed = True
        while changed:
            changed = False
            for prefix in _PREFIXES:
                if name.startswith(prefix) and name not in target:
                    name = name[len(prefix):]
                    changed = True
        if name in target and tuple(target[name].shape) == tuple(value.shape):
            loaded[name] = value
    n_target = sum(1 for k in target if not k.endswith("num_batches_tracked"))
    n_loaded = sum(1 for k in loaded if not k.endswith("num_batches_tracked"))
    if n_target == 0 or n_loaded < min_match * n_target:
        raise AlcError(
            f"{path}: only {n_loaded} of {n_target} encoder tensors match this model's encoder "
            f"({getattr(model, 'alc_model_name', type(model).__name__)}); pass weights of the same encoder"
        )
    encoder.load_state_dict(loaded, strict=False)
    return n_loaded


def select_device(device: "str | torch.device | None" = None) -> "torch.device":
    """``None`` / ``"auto"`` → CUDA when available, else CPU; ``"cuda"`` without a GPU → AlcError."""
    import torch

    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(str(device))
    except RuntimeError:
        raise AlcError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise AlcError(f"device {device!r} requested but CUDA is not available here; use --device cpu or auto")
    if dev.type not in ("cpu", "cuda"):
        raise AlcError(f"device {device!r} is not supported; use auto, cpu, cuda or cuda:N")
    return dev
