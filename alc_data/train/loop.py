"""The training loop: cross-entropy (ignore index) with SGD + poly schedule, checkpointed and resumable."""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, cast

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import Conflict, InvalidInput
from alc_data.results import JsonResult
from alc_data.train.checkpoint import FINAL, LAST, read_checkpoint, save_checkpoint
from alc_data.train.config import TrainConfig

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from rich.progress import Progress, TaskID

    from alc_data.workspace import Workspace

#: final loss = mean training loss over this many last iterations
LOSS_WINDOW = 20


@dataclass(frozen=True)
class TrainResult(JsonResult):
    """What :func:`train_model` returns.

    ``checkpoint``: ``final.pt`` when the training is complete, else ``last.pt`` (stopped early by
    ``max_iterations_this_call``). ``final_loss``: mean loss over the last 20 iterations.
    ``iterations``: iterations done so far (all calls); ``seconds``: training time of this call.
    """

    checkpoint: Path
    final_loss: float
    iterations: int
    seconds: float
    completed: bool
    total_iterations: int
    run_dir: Path
    model: str

    @property
    def rounded_seconds(self) -> float:
        """``seconds`` to the millisecond, as the JSON shows it."""
        return round(self.seconds, 3)

    def json_keys(self) -> tuple[str, ...]:
        return ("checkpoint", "final_loss", "iterations", "total_iterations", "completed", "seconds=rounded_seconds",
                "run_dir", "model")


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


def make_optimizer(model: "torch.nn.Module", config: TrainConfig) -> torch.optim.Optimizer:
    import torch

    groups = param_groups(model, config)
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    return torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, total: int) -> torch.optim.lr_scheduler.LambdaLR:
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


class TrainStep:
    """One optimisation step (forward, loss, backward, step, schedule), with AMP on CUDA."""

    def __init__(
        self, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler, device: torch.device, *, amp: bool,
    ) -> None:
        import torch

        self.model = model
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
        loss = segmentation_loss(logits, y)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        return float(loss.detach())


def _rng_state() -> dict[str, Any]:
    import torch

    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        try:
            torch.cuda.set_rng_state_all(state["cuda"])
        except (RuntimeError, IndexError):  # a different number of GPUs: leave CUDA generators as they are
            pass


def _progress(total: int, start: int, description: str) -> tuple[Progress, TaskID]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from alc_data.progress import progress_enabled

    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not progress_enabled(),
        transient=True,
    )
    task = progress.add_task(description, total=total, completed=start, loss="-")
    return progress, task


def _check_same_training(ckpt: dict[str, Any], path: Path, expected: dict[str, Any]) -> None:
    got: dict[str, Any] = {k: ckpt.get(k) for k in expected}
    got["config"] = {k: v for k, v in (ckpt.get("config") or {}).items() if k in expected["config"]}
    if got != expected:
        diff = [k for k in expected if got.get(k) != expected[k]]
        if "config" in diff:
            cdiff = sorted(k for k in expected["config"] if got["config"].get(k) != expected["config"][k])
            diff = [d for d in diff if d != "config"] + [f"config.{k}" for k in cdiff]
        raise Conflict(
            f"{path} belongs to a different training ({', '.join(diff)} differ); "
            "use another run directory or --no-resume to start over"
        )


def _result(path: Path, ckpt: dict[str, Any], seconds: float, run_dir: Path, completed: bool) -> TrainResult:
    losses = list(ckpt.get("losses") or [])
    tail = losses[-LOSS_WINDOW:]
    return TrainResult(
        checkpoint=path,
        final_loss=float(sum(tail) / len(tail)) if tail else math.nan,
        iterations=int(ckpt["iteration"]),
        seconds=float(seconds),
        completed=completed,
        total_iterations=int(ckpt["total_iterations"]),
        run_dir=run_dir,
        model=str(ckpt["model_name"]),
    )


def load_warm_start(
    model: "torch.nn.Module", path: str | os.PathLike, model_name: str, num_classes: int,
    class_names: list[str] | None = None,
) -> None:
    """Load the model weights of an alc-data checkpoint (not its optimizer) into ``model``; with
    ``class_names``, the checkpoint must have been trained on them."""
    from alc_data.train.checkpoint import check_checkpoint_classes

    ckpt = read_checkpoint(path)
    if ckpt.get("model_name") != model_name or int(ckpt.get("num_classes", -1)) != int(num_classes):
        raise InvalidInput(
            f"{path}: warm start needs a {model_name} checkpoint with {num_classes} classes, "
            f"got {ckpt.get('model_name')} with {ckpt.get('num_classes')}; retrain from scratch instead"
        )
    if class_names is not None:
        check_checkpoint_classes(ckpt, path, class_names)
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as exc:
        raise InvalidInput(f"{path}: weights do not fit this {model_name} ({str(exc).splitlines()[0][:160]}); "
                       "retrain from scratch instead") from None


def train_model(
    ws: Workspace,
    *,
    version: str | None = None,
    split: str | None = "train",
    config: TrainConfig,
    run_dir: str | os.PathLike,
    resume: bool = True,
    init_checkpoint: str | os.PathLike | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
    max_iterations_this_call: int | None = None,
) -> TrainResult:
    """Train ``config.model`` on label version ``version`` (default: the latest) of ``split``.

    Checkpoints go to ``run_dir``: ``last.pt`` (full state) every ``config.checkpoint_every``
    iterations and at the end, ``final.pt`` (weights + metadata) at the end. With ``resume`` a
    finished run returns at once and an unfinished one continues from ``last.pt`` (the result is
    identical to an uninterrupted run on CPU); without it, old checkpoints are replaced.
    ``init_checkpoint``: warm start, model weights from an earlier alc-data checkpoint.
    On a CPU, a one-line warning (logger ``alc_data.train``) says when the estimated memory of the
    model, crop and batch exceeds the machine's (:mod:`alc_data.train.memory`).
    ``callback(state)``: called after every iteration with ``iteration``, ``total``, ``loss``,
    ``lr``; an exception raised there stops the training (the last checkpoint stays).
    ``max_iterations_this_call``: stop (after saving ``last.pt``) once this many iterations ran in
    this call. Holds the workspace's write lock while it runs.
    """
    with ws.writing("train"):
        return _train_model(ws, version=version, split=split, config=config, run_dir=run_dir, resume=resume,
                            init_checkpoint=init_checkpoint, callback=callback,
                            max_iterations_this_call=max_iterations_this_call)


def _train_model(
    ws: Workspace,
    *,
    version: str | None,
    split: str | None,
    config: TrainConfig,
    run_dir: str | os.PathLike,
    resume: bool,
    init_checkpoint: str | os.PathLike | None,
    callback: Callable[[dict[str, Any]], None] | None,
    max_iterations_this_call: int | None,
) -> TrainResult:
    import torch

    from alc_data.io.atomic import atomic_write_bytes
    from alc_data.models import build_model, input_multiple, select_device
    from alc_data.progress import progress_enabled
    from alc_data.train.data import BatchKeys, LabelledImages, TrainCrops, round_up
    from alc_data.train.memory import warn_if_too_big

    version_name = ws.version(version).name
    image_ids = ws.image_ids(split)
    if not image_ids:
        raise InvalidInput(f"split {split!r} has no images to train on")
    device = select_device(config.device)
    total = config.total_iterations(len(image_ids))
    run_dir = Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"{run_dir}: cannot create the run directory ({exc.strerror})") from None
    last_path, final_path = run_dir / LAST, run_dir / FINAL
    num_classes = ws.num_classes
    identity = {
        "model_name": config.model,
        "num_classes": num_classes,
        "label_version": version_name,
        "split": split,
        "total_iterations": total,
        "config": config.fingerprint(),
        "init_checkpoint": None if init_checkpoint is None else str(Path(init_checkpoint).resolve()),
    }

    resume_state: dict[str, Any] | None = None
    if resume and final_path.is_file():
        ckpt = read_checkpoint(final_path)
        _check_same_training(ckpt, final_path, identity)
        return _result(final_path, ckpt, 0.0, run_dir, completed=True)
    if resume and last_path.is_file():
        resume_state = read_checkpoint(last_path)
        _check_same_training(resume_state, last_path, identity)
        if "optimizer" not in resume_state:
            raise Conflict(f"{last_path}: has no optimizer state to resume from; use --no-resume")
    elif not resume:
        for p in (last_path, final_path):
            p.unlink(missing_ok=True)

    # ------------------------------------------------------------ model, optimiser, data
    warn_if_too_big(config, num_classes, device)
    torch.manual_seed(int(config.seed))
    model = build_model(
        config.model, num_classes,
        encoder_weights=None if resume_state else config.encoder_weights,
        pretrained=None if resume_state else config.pretrained,
        class_names=ws.class_names,
        model_config=resume_state.get("model_config") if resume_state else None,
    )
    model_config = getattr(model, "alc_model_config", None)
    if resume_state is None and init_checkpoint is not None:
        load_warm_start(model, init_checkpoint, config.model, num_classes, class_names=ws.class_names)
    if resume_state is not None:
        model.load_state_dict(resume_state["model"])
    model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
        torch.backends.cudnn.benchmark = True
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config, total)
    step = TrainStep(model, optimizer, scheduler, device, amp=config.amp)
    start = 0
    losses: list[float] = []
    seconds_before = 0.0
    if resume_state is not None:
        optimizer.load_state_dict(resume_state["optimizer"])
        scheduler.load_state_dict(resume_state["scheduler"])
        if resume_state.get("scaler") and step.amp:
            step.scaler.load_state_dict(resume_state["scaler"])
        _set_rng_state(resume_state["rng"])
        start = int(resume_state["iteration"])
        losses = [float(v) for v in resume_state.get("losses") or []]
        seconds_before = float(resume_state.get("seconds", 0.0))
        del resume_state

    images = LabelledImages(ws, version_name, image_ids, cache_megapixels=config.cache_megapixels)
    out_size = round_up(config.crop_size, input_multiple(model))
    crops = TrainCrops(images, crop_size=config.crop_size, out_size=out_size,
                       scale_range=config.scale_range, flip=config.flip)
    sampler = BatchKeys(len(image_ids), config.batch_size, config.seed, start, total)
    loader = torch.utils.data.DataLoader(
        cast("torch.utils.data.Dataset[Any]", crops),  # map-style by duck typing (torch stays a lazy import)
        batch_sampler=sampler,
        num_workers=int(config.num_workers),
        pin_memory=device.type == "cuda",
        generator=torch.Generator().manual_seed(int(config.seed)),
    )

    info = {
        **identity,
        "class_names": ws.class_names,
        "workspace": str(ws.root),
        "images": len(image_ids),
        "device": str(device),
        "amp": step.amp,
        "encoder_weights": config.encoder_weights,
        "pretrained": config.pretrained,
    }
    atomic_write_bytes(run_dir / "train.json", json.dumps({**info, "config": config.as_dict()}, indent=2).encode())

    def payload(full: bool, iteration: int, seconds: float) -> dict[str, Any]:
        data: dict[str, Any] = {
            **identity,
            "config": config.as_dict(),
            "class_names": ws.class_names,
            "model_config": model_config,
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "iteration": iteration,
            "losses": list(losses),
            "seconds": seconds,
        }
        if full:
            data.update(
                optimizer=optimizer.state_dict(),
                scheduler=scheduler.state_dict(),
                scaler=step.scaler.state_dict() if step.amp else None,
                rng=_rng_state(),
            )
        return data

    # ------------------------------------------------------------ the loop
    model.train()
    iteration = start
    t0 = time.perf_counter()
    ran = 0
    stopped_early = False
    progress, task = _progress(total, start, f"train {config.model}")
    with progress:
        for x, y in loader:
            loss = step(x, y)
            iteration += 1
            ran += 1
            if not math.isfinite(loss):
                raise InvalidInput(
                    f"training loss became {loss} at iteration {iteration}; lower lr (now {config.lr}) "
                    "or check the labels"
                )
            losses.append(loss)
            if progress_enabled():
                tail = losses[-LOSS_WINDOW:]
                progress.update(task, completed=iteration, loss=f"{sum(tail) / len(tail):.4f}")
            done = iteration >= total
            stop = max_iterations_this_call is not None and ran >= max_iterations_this_call and not done
            if not done and (stop or (config.checkpoint_every and iteration % config.checkpoint_every == 0)):
                save_checkpoint(last_path, payload(True, iteration, seconds_before + time.perf_counter() - t0))
            if callback is not None:
                callback({"iteration": iteration, "total": total, "loss": loss,
                          "lr": optimizer.param_groups[-1]["lr"]})
            if stop:
                stopped_early = True
                break
    seconds = time.perf_counter() - t0
    if stopped_early:
        return _result(last_path, {**identity, "iteration": iteration, "losses": losses}, seconds, run_dir, False)
    elapsed = seconds_before + seconds
    save_checkpoint(last_path, payload(True, iteration, elapsed))
    final = payload(False, iteration, elapsed)
    save_checkpoint(final_path, final)
    return _result(final_path, final, seconds, run_dir, True)
