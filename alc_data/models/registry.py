"""The model registry, model building, encoder weights (named or local) and device selection."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alc_data.errors import InvalidInput, NotFound
from alc_data.foundation.hub import download_files
from alc_data.models.segformer import build_segformer
from alc_data.registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    import torch


@dataclass(frozen=True)
class ModelSpec:
    """A named model: a segmentation-models-pytorch architecture, an encoder and fixed options.

    ``architecture`` is the smp class name (``DeepLabV3Plus``, ``Unet``, ``FPN``); ``options`` are
    passed to it unchanged. The encoder starts random, from a pretrained name smp knows for it
    (``imagenet``, ...: fetched through the Hugging Face cache like smp does) or a local checkpoint.
    """

    name: str
    architecture: str
    encoder: str
    options: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    drop_unused_stages: bool = False
    family: str = "smp"

    def pretrained_names(self) -> list[str]:
        """The encoder-weight names smp knows for this encoder (``imagenet``, ``ssl``, ...)."""
        from segmentation_models_pytorch.encoders import encoders

        return sorted((encoders.get(self.encoder) or {}).get("pretrained_settings", {}))

    def build(
        self,
        num_classes: int,
        *,
        encoder_weights: str | os.PathLike | None = None,
        pretrained: str | os.PathLike | None = None,
        class_names: list[str] | None = None,
        model_config: str | None = None,
    ) -> "torch.nn.Module":
        """A model with ``num_classes`` outputs; the encoder random unless ``encoder_weights``."""
        import segmentation_models_pytorch as smp

        if pretrained is not None:
            raise InvalidInput(
                f"--pretrained {pretrained}: {self.name} is a segmentation-models-pytorch model; start its encoder "
                "with --encoder-weights (imagenet or a local .pth) or the whole model with --init CHECKPOINT"
            )
        cls = getattr(smp, self.architecture)
        model = cls(encoder_name=self.encoder, encoder_weights=None, classes=int(num_classes), **self.options)
        if encoder_weights is not None:
            if is_weight_name(encoder_weights):
                self._load_named_weights(model, str(encoder_weights))
            else:
                load_encoder_weights(model, encoder_weights, name=self.name)
        if self.drop_unused_stages:
            _drop_unused_resnet_stages(model.encoder)
        return model

    def check_encoder_weights(self, value: str | os.PathLike) -> None:
        """A name smp knows for this encoder, or anything path-like (checked when loaded)."""
        if is_weight_name(value) and str(value) not in self.pretrained_names():
            known = ", ".join(self.pretrained_names()) or "none"
            raise InvalidInput(
                f"encoder weights {str(value)!r} are not known for {self.encoder} (model {self.name}); "
                f"smp knows: {known}; or pass a local encoder checkpoint (.pth)"
            )

    def _load_named_weights(self, model: Any, weights: str) -> None:
        """smp's pretrained encoder weights: ``smp-hub/<encoder>.<name>`` at smp's pinned revision,
        through the Hugging Face cache (as ``smp.encoders.get_encoder`` fetches them)."""
        from safetensors.torch import load_file
        from segmentation_models_pytorch.encoders import encoders

        self.check_encoder_weights(weights)
        settings = encoders[self.encoder]["pretrained_settings"][weights]
        _, path = download_files(
            settings["repo_id"], ("config.json", "model.safetensors"), revision=settings.get("revision"),
            what=f"encoder weights {weights!r} of {self.encoder}:", local="encoder checkpoint (--encoder-weights PATH.pth)",
        )
        try:
            model.encoder.load_state_dict(load_file(str(path), device="cpu"))
        except Exception as exc:  # noqa: BLE001 - a damaged cache entry: same fix
            raise InvalidInput(f"{path}: cached encoder weights do not load ({str(exc).splitlines()[0][:160]}); "
                               "delete that cache entry and fetch it again") from None


@dataclass(frozen=True)
class SegformerSpec:
    """A SegFormer (``transformers.SegformerForSemanticSegmentation``) of size ``variant`` (b0..b5).

    Random from the variant's published sizes, or from ``pretrained``: a hub id (``nvidia/mit-b0``,
    an ADE20K fine-tune) or a local folder; the decode head is re-initialised for the workspace's
    classes when they differ from the checkpoint's. Outputs are upsampled to the input size.
    """

    name: str
    variant: str
    description: str = ""
    family: str = "transformers"
    architecture: str = "SegFormer"

    @property
    def encoder(self) -> str:
        return f"mit-{self.variant}"

    def pretrained_names(self) -> list[str]:
        return []

    def check_encoder_weights(self, value: str | os.PathLike) -> None:
        raise InvalidInput(
            f"--encoder-weights {value}: {self.name} has no smp encoder; start it with --pretrained "
            f"nvidia/mit-{self.variant} (or a local SegFormer folder)"
        )

    def build(
        self,
        num_classes: int,
        *,
        encoder_weights: str | os.PathLike | None = None,
        pretrained: str | os.PathLike | None = None,
        class_names: list[str] | None = None,
        model_config: str | None = None,
    ) -> "torch.nn.Module":
        if encoder_weights is not None:
            self.check_encoder_weights(encoder_weights)
        return build_segformer(self.variant, int(num_classes), pretrained=pretrained, class_names=class_names,
                               model_config=model_config)


_WEIGHT_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors", ".ckpt", ".tar")


def is_weight_name(value: str | os.PathLike) -> bool:
    """True for a pretrained-weights name (``imagenet``, ``ssl``, ``noisy-student``), False for
    anything that looks like a local path (an existing path, a separator, a weight-file suffix)."""
    if isinstance(value, Path):
        return False
    text = str(value)
    return not ("/" in text or "\\" in text or text.lower().endswith(_WEIGHT_SUFFIXES) or Path(text).expanduser().exists())


def _drop_unused_resnet_stages(encoder: Any) -> None:
    """smp's ResNet encoder keeps ``layer3``/``layer4`` even when ``encoder_depth`` < 5 never runs
    them; removing them shrinks checkpoints and the optimiser state (stage d runs ``layer{d-1}``)."""
    depth = int(getattr(encoder, "_depth", 5))
    for stage in range(depth + 1, 6):
        name = f"layer{stage - 1}"
        if hasattr(encoder, name):
            delattr(encoder, name)


MODELS: Registry[ModelSpec | SegformerSpec] = Registry("model")
"""Models by name (see ``alc-data models`` and the README's model table)."""


def model_spec(name: str) -> ModelSpec | SegformerSpec:
    """The registered model ``name``; an unknown name → InvalidInput listing the models and saying how
    a model of one's own is used (registered in Python, so through the Python API)."""
    if name not in MODELS:
        raise InvalidInput(
            f"unknown model {name!r}; choose one of: {', '.join(MODELS.names())}; a model of your own is "
            "registered in Python (alc_data.models.MODELS.add(name, spec)) and trained, evaluated and scored "
            "in that same process through the Python API (alc_data.train.train_model; README: Bring your own model), "
            "not by the alc-data command"
        )
    return MODELS.get(name)


def _add(spec: ModelSpec | SegformerSpec) -> None:
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
for _variant in ("b0", "b1", "b2", "b3", "b4", "b5"):
    _add(SegformerSpec(
        f"segformer-{_variant}", _variant,
        f"SegFormer-{_variant.upper()} (transformers); start it with --pretrained nvidia/mit-{_variant}",
    ))


def build_model(
    name: str,
    num_classes: int,
    *,
    encoder_weights: str | os.PathLike | None = None,
    pretrained: str | os.PathLike | None = None,
    class_names: list[str] | None = None,
    model_config: str | None = None,
) -> "torch.nn.Module":
    """Build the registered model ``name`` with ``num_classes`` outputs.

    - ``encoder_weights`` (smp models): a name smp knows for the encoder (``imagenet``, ...),
      downloaded into the Hugging Face cache when online and read from it offline, or a LOCAL
      checkpoint file (a state dict of the encoder, or of a whole smp model).
    - ``pretrained`` (transformers models): a hub id or local folder of a whole model.
    - ``class_names``: the workspace's classes (a pretrained head is kept only when they match).
    - ``model_config``: the architecture recorded in an alc-data checkpoint (rebuilds it exactly).

    Unknown name, K < 1, both weight options, or weights that are missing / corrupt / mismatching →
    :class:`AlcError`. The model maps (N, 3, H, W) float32 to (N, K, H, W) float32 logits.
    """
    spec = model_spec(name)
    if int(num_classes) < 1:
        raise InvalidInput(f"num_classes must be ≥ 1, got {num_classes}")
    if encoder_weights is not None and pretrained is not None:
        raise InvalidInput(
            "give --pretrained (a whole-model checkpoint) or --encoder-weights (an smp encoder's weights), not both"
        )
    model = spec.build(int(num_classes), encoder_weights=encoder_weights, pretrained=pretrained,
                       class_names=class_names, model_config=model_config)
    setattr(model, "alc_model_name", name)  # a plain attribute: Module.__setattr__ is typed for tensors and modules
    return model


def count_parameters(name: str, num_classes: int = 21) -> int:
    """Parameters of model ``name`` with ``num_classes`` outputs, built on the meta device (no memory)."""
    import torch

    with torch.device("meta"):
        model = model_spec(name).build(int(num_classes))
    return sum(p.numel() for p in model.parameters())


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
        raise InvalidInput(f"{path}: not a state dict of tensors; pass a local encoder checkpoint (.pth)")
    return obj


def load_encoder_weights(
    model: "torch.nn.Module", path: str | os.PathLike, *, min_match: float = 0.5, name: str | None = None
) -> int:
    """Load a local checkpoint into ``model.encoder``; returns the number of tensors loaded.

    Accepts a plain state dict, one under ``state_dict`` / ``model``, and keys prefixed with
    ``module.`` or ``encoder.`` (a whole smp model). Tensors whose name or shape does not match are
    skipped (e.g. a classifier head); fewer than ``min_match`` of the encoder's tensors matched →
    AlcError (wrong encoder for this model).
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise NotFound(f"{path}: encoder weights not found; pass an existing local checkpoint file or a name smp knows (imagenet)")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch.load raises many types on a corrupt file
        raise InvalidInput(f"{path}: cannot read encoder weights ({type(exc).__name__}); the file is corrupt or not a torch checkpoint") from None
    state = _unwrap_state_dict(obj, path)
    encoder = model.get_submodule("encoder")
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
        raise InvalidInput(
            f"{path}: only {n_loaded} of {n_target} encoder tensors match this model's encoder "
            f"({name or getattr(model, 'alc_model_name', type(model).__name__)}); pass weights of the same encoder"
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
        raise InvalidInput(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidInput(f"device {device!r} requested but CUDA is not available here; use --device cpu or auto")
    if dev.type not in ("cpu", "cuda"):
        raise InvalidInput(f"device {device!r} is not supported; use auto, cpu, cuda or cuda:N")
    return dev
