"""One optimisation step and what it needs: parameter groups, optimiser, poly schedule, the loss, RNG state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import InvalidInput
from alc_data.train.config import TrainConfig

if TYPE_CHECKING:  # pragma: no cover
    import torch


def param_groups(model: "torch.nn.Module", config: TrainConfig) -> list[dict[str, Any]]:
    """Encoder parameters at lr × backbone_lr_mult, the rest (decoder, head) at lr."""
    encoder = getattr(model, "encoder", None)
    enc_ids = {id(p) for p in encoder.parameters()} if encoder is not None else set()
    enc = [p for p in model.parameters() if id(p) in enc_ids and p.requires_grad]
    rest = [p for p in model.parameters() if id(p) not in enc_ids and p.requires_grad]
    groups = []
    if enc:
        groups.append({"params": enc, "lr": config.lr * config.backbone_lr_mult, "name": "encoder"})
    if rest:
        groups.append({"params": rest, "lr": config.lr, "name": "decoder"})
    return groups


def make_optimizer(model: "torch.nn.Module", config: TrainConfig) -> "torch.optim.Optimizer":
    import torch

    groups = param_groups(model, config)
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    return torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)


def make_scheduler(optimizer: "torch.optim.Optimizer", config: TrainConfig, total: int) -> Any:
    """Poly schedule: lr(it) = base_lr × (1 − it / total) ** poly_power."""
    import torch

    power = float(config.poly_power)

    def factor(it: int) -> float:
        return max(0.0, 1.0 - it / total) ** power

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def segmentation_loss(logits: "torch.Tensor", target: "torch.Tensor") -> "torch.Tensor":
    """Mean cross-entropy over pixels whose target is not IGNORE_INDEX (0 when there are none).

    ``logits`` (N, K, H, W), ``target`` (N, H, W) int64.
    """
    import torch.nn.functional as F

    if logits.shape[-2:] != target.shape[-2:]:
        logits = F.interpolate(logits, size=target.shape[-2:], mode="bilinear", align_corners=False)
    if not bool((target != IGNORE_INDEX).any()):
        return logits.float().sum() * 0.0
    return F.cross_entropy(logits.float(), target, ignore_index=IGNORE_INDEX)


def check_model_output(logits: Any, input_shape: tuple[int, ...], num_classes: int, name: str) -> None:
    """InvalidInput (one line naming model ``name``) unless ``logits`` is a (N, K, H', W') tensor for a
    (N, 3, H, W) input: K = ``num_classes`` and H' × W' a scaled copy of H × W (same aspect ratio, so
    bilinear resizing brings it to the input's size)."""
    import torch

    if not isinstance(logits, torch.Tensor):
        raise InvalidInput(
            f"model {name!r} returns a {type(logits).__name__}, not a tensor; its forward must return "
            f"(N, K, H, W) logits with K = {num_classes}, the workspace's classes"
        )
    shape, (n, _, h, w) = tuple(int(d) for d in logits.shape), input_shape
    if len(shape) != 4 or shape[0] != n or min(shape[2:]) < 1 or shape[2] * w != shape[3] * h:
        raise InvalidInput(
            f"model {name!r} outputs {shape} for a {tuple(input_shape)} input; it must output (N, K, H, W) "
            "logits at the input's size (or a scaled copy of it, same aspect ratio)"
        )
    if shape[1] != num_classes:
        raise InvalidInput(
            f"model {name!r} outputs {shape[1]} classes, the workspace has {num_classes}; build it with "
            "num_classes outputs, in the workspace's class order"
        )


class TrainStep:
    """One optimisation step (forward, loss, backward, step, schedule), with AMP on CUDA.

    With ``num_classes``, the first forward pass's output is checked (:func:`check_model_output`)
    before anything is learnt from it."""

    def __init__(self, model: "torch.nn.Module", optimizer: "torch.optim.Optimizer", scheduler: Any,
                 device: "torch.device", *, amp: bool, num_classes: int | None = None) -> None:
        import torch

        self.model = model
        self.num_classes = num_classes
        self._unchecked = num_classes is not None
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.device = device
        self.amp = bool(amp and device.type == "cuda")
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)

    def __call__(self, images: "torch.Tensor", labels: "torch.Tensor") -> float:
        import torch

        non_blocking = self.device.type == "cuda"
        x = images.to(self.device, non_blocking=non_blocking)
        y = labels.to(self.device, non_blocking=non_blocking)
        if self.device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        self.optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.amp):
            logits = self.model(x)
        if self._unchecked and self.num_classes is not None:
            name = str(getattr(self.model, "alc_model_name", type(self.model).__name__))
            check_model_output(logits, tuple(x.shape), self.num_classes, name)
            self._unchecked = False
        loss = segmentation_loss(logits, y)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        return float(loss.detach())


def rng_state() -> dict[str, Any]:
    import torch

    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        try:
            torch.cuda.set_rng_state_all(state["cuda"])
        except (RuntimeError, IndexError):  # a different number of GPUs: leave CUDA generators as they are
            pass
