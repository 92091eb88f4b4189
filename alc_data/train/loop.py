"""The training loop: cross-entropy (ignore index) with SGD + poly schedule, checkpointed and resumable."""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, cast

from alc_data.errors import Conflict, InvalidInput
from alc_data.results import JsonResult
from alc_data.train.checkpoint import (
    FINAL, LAST, check_same_training, load_warm_start, read_checkpoint, save_checkpoint,
)
from alc_data.train.config import TrainConfig
from alc_data.train.guards import check_labelled, check_loss, check_weights, make_run_dir, remove_unused_run_dir
from alc_data.train.step import TrainStep, make_optimizer, make_scheduler, rng_state, set_rng_state

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


def _progress(total: int, start: int, description: str) -> tuple[Any, Any]:
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
    run = _plan_run(ws, version, split, config, Path(run_dir), init_checkpoint)
    created = make_run_dir(run.run_dir)
    try:
        return _train_in(ws, run, config, resume, init_checkpoint, callback, max_iterations_this_call)
    except BaseException:
        remove_unused_run_dir(created, keep=(LAST, FINAL))  # a failed start leaves no empty run folder
        raise


def _train_in(
    ws: Workspace, run: "_RunPlan", config: TrainConfig, resume: bool, init_checkpoint: str | os.PathLike | None,
    callback: Callable[[dict[str, Any]], None] | None, max_iterations_this_call: int | None,
) -> TrainResult:
    """:func:`train_model` in the run folder ``run.run_dir``, which exists."""
    from alc_data.io.atomic import atomic_write_bytes

    resume_state: dict[str, Any] | None = None
    if resume and run.final_path.is_file():
        ckpt = read_checkpoint(run.final_path)
        check_same_training(ckpt, run.final_path, run.identity)
        return _result(run.final_path, ckpt, 0.0, run.run_dir, completed=True)
    if resume and run.last_path.is_file():
        resume_state = read_checkpoint(run.last_path)
        check_same_training(resume_state, run.last_path, run.identity)
        if "optimizer" not in resume_state:
            raise Conflict(f"{run.last_path}: has no optimizer state to resume from; use --no-resume")
    elif not resume:
        for p in (run.last_path, run.final_path):
            p.unlink(missing_ok=True)
    state = _TrainState.build(ws, run, config, resume_state, init_checkpoint)
    del resume_state
    loader = _loader(ws, run, config, state)
    info = {
        **run.identity,
        "class_names": ws.catalogue.class_names,
        "workspace": str(ws.root),
        "images": len(run.image_ids),
        "device": str(run.device),
        "amp": state.step.amp,
        "encoder_weights": config.encoder_weights,
        "pretrained": config.pretrained,
        "environment": environment(),
    }
    atomic_write_bytes(run.run_dir / "train.json", json.dumps({**info, "config": config.as_dict()}, indent=2).encode())
    return _iterate(run, config, state, loader, callback, max_iterations_this_call)


@dataclass(frozen=True)
class _RunPlan:
    """What a training is: its images, device, iteration count, files and identity (the settings a
    resumed checkpoint must share)."""

    version_name: str
    image_ids: list[str]
    device: Any  # torch.device
    total: int
    run_dir: Path
    identity: dict[str, Any]
    class_names: list[str]

    @property
    def last_path(self) -> Path:
        return self.run_dir / LAST

    @property
    def final_path(self) -> Path:
        return self.run_dir / FINAL


def _plan_run(
    ws: Workspace, version: str | None, split: str | None, config: TrainConfig, run_dir: Path,
    init_checkpoint: str | os.PathLike | None,
) -> _RunPlan:
    from alc_data.models import select_device

    version_name = ws.labels.version(version).name
    image_ids = ws.catalogue.image_ids(split)
    if not image_ids:
        raise InvalidInput(f"split {split!r} has no images to train on")
    check_labelled(ws, version_name, split, image_ids)
    device = select_device(config.device)
    total = config.total_iterations(len(image_ids))
    identity = {
        "model_name": config.model,
        "num_classes": ws.catalogue.num_classes,
        "label_version": version_name,
        "split": split,
        "total_iterations": total,
        "config": config.fingerprint(),
        "init_checkpoint": None if init_checkpoint is None else str(Path(init_checkpoint).resolve()),
    }
    return _RunPlan(version_name, image_ids, device, total, run_dir, identity, ws.catalogue.class_names)


@dataclass
class _TrainState:
    """The model, its optimiser, schedule and step, and where the training stands."""

    model: Any  # torch.nn.Module
    model_config: Any
    optimizer: Any
    scheduler: Any
    step: TrainStep
    start: int = 0
    losses: list[float] = field(default_factory=list)
    seconds_before: float = 0.0

    @classmethod
    def build(
        cls, ws: Workspace, run: _RunPlan, config: TrainConfig, resume_state: dict[str, Any] | None,
        init_checkpoint: str | os.PathLike | None,
    ) -> "_TrainState":
        """A fresh model (random, pretrained or warm-started), or the one ``resume_state`` holds."""
        import torch

        from alc_data.models import build_model
        from alc_data.train.memory import warn_if_too_big

        num_classes, device = ws.catalogue.num_classes, run.device
        warn_if_too_big(config, num_classes, device)
        torch.manual_seed(int(config.seed))
        model = build_model(
            config.model, num_classes,
            encoder_weights=None if resume_state else config.encoder_weights,
            pretrained=None if resume_state else config.pretrained,
            class_names=ws.catalogue.class_names,
            model_config=resume_state.get("model_config") if resume_state else None,
        )
        model_config = getattr(model, "alc_model_config", None)
        if resume_state is None and init_checkpoint is not None:
            load_warm_start(model, init_checkpoint, config.model, num_classes, class_names=ws.catalogue.class_names)
        if resume_state is not None:
            model.load_state_dict(resume_state["model"])
        model.to(device)
        if device.type == "cuda":
            model = model.to(memory_format=torch.channels_last)
            torch.backends.cudnn.benchmark = True
        optimizer = make_optimizer(model, config)
        scheduler = make_scheduler(optimizer, config, run.total)
        step = TrainStep(model, optimizer, scheduler, device, amp=config.amp, num_classes=num_classes)
        state = cls(model, model_config, optimizer, scheduler, step)
        if resume_state is not None:
            state.restore(resume_state)
        return state

    def restore(self, resume_state: dict[str, Any]) -> None:
        """Continue from ``last.pt``: optimiser, schedule, scaler, RNG, iteration, losses, time."""
        self.optimizer.load_state_dict(resume_state["optimizer"])
        self.scheduler.load_state_dict(resume_state["scheduler"])
        if resume_state.get("scaler") and self.step.amp:
            self.step.scaler.load_state_dict(resume_state["scaler"])
        set_rng_state(resume_state["rng"])
        self.start = int(resume_state["iteration"])
        self.losses = [float(v) for v in resume_state.get("losses") or []]
        self.seconds_before = float(resume_state.get("seconds", 0.0))

    def payload(self, run: _RunPlan, config: TrainConfig, *, full: bool, iteration: int, seconds: float) -> dict[str, Any]:
        """A checkpoint's content: weights and metadata; with ``full`` also what a resume needs.
        InvalidInput when the weights are not finite (a diverged training is never saved)."""
        weights = {k: v.detach().cpu() for k, v in self.model.state_dict().items()}
        check_weights(weights, iteration, config.lr, run.last_path)
        data: dict[str, Any] = {
            **run.identity,
            "config": config.as_dict(),
            "class_names": run.class_names,
            "model_config": self.model_config,
            "model": weights,
            "iteration": iteration,
            "losses": list(self.losses),
            "seconds": seconds,
            "environment": environment(),
        }
        if full:
            data.update(
                optimizer=self.optimizer.state_dict(),
                scheduler=self.scheduler.state_dict(),
                scaler=self.step.scaler.state_dict() if self.step.amp else None,
                rng=rng_state(),
            )
        return data


def environment() -> dict[str, Any]:
    """What a seeded CPU training's float sums depend on beyond its settings: the torch build and its
    thread count (recorded in ``train.json`` and the checkpoints; the seed alone does not reproduce a
    run under another thread count)."""
    import torch

    return {"torch": str(torch.__version__), "threads": int(torch.get_num_threads())}


def _loader(ws: Workspace, run: _RunPlan, config: TrainConfig, state: _TrainState) -> Any:
    """The DataLoader of augmented crops, in the seeded order, from iteration ``state.start`` on."""
    import torch

    from alc_data.models import input_multiple
    from alc_data.train.data import BatchKeys, LabelledImages, TrainCrops, round_up

    images = LabelledImages(ws, run.version_name, run.image_ids, cache_megapixels=config.cache_megapixels)
    out_size = round_up(config.crop_size, input_multiple(state.model))
    crops = TrainCrops(images, crop_size=config.crop_size, out_size=out_size,
                       scale_range=config.scale_range, flip=config.flip)
    sampler = BatchKeys(len(run.image_ids), config.batch_size, config.seed, state.start, run.total)
    return torch.utils.data.DataLoader(
        cast("torch.utils.data.Dataset[Any]", crops),  # map-style by duck typing (torch stays a lazy import)
        batch_sampler=sampler,
        num_workers=int(config.num_workers),
        pin_memory=run.device.type == "cuda",
        generator=torch.Generator().manual_seed(int(config.seed)),
    )


def _iterate(
    run: _RunPlan, config: TrainConfig, state: _TrainState, loader: Any,
    callback: Callable[[dict[str, Any]], None] | None, max_iterations_this_call: int | None,
) -> TrainResult:
    """Train from ``state.start`` to the end (or for ``max_iterations_this_call``), saving ``last.pt``
    every ``checkpoint_every`` iterations and ``final.pt`` at the end."""
    from alc_data.progress import progress_enabled

    state.model.train()
    iteration, ran, stopped_early, losses = state.start, 0, False, state.losses
    total = run.total
    t0 = time.perf_counter()

    def payload(full: bool, iteration: int, seconds: float) -> dict[str, Any]:
        return state.payload(run, config, full=full, iteration=iteration, seconds=seconds)

    progress, task = _progress(total, state.start, f"train {config.model}")
    with progress:
        for x, y in loader:
            loss = state.step(x, y)
            iteration += 1
            ran += 1
            check_loss(loss, iteration, config.lr, run.last_path)
            losses.append(loss)
            if progress_enabled():
                tail = losses[-LOSS_WINDOW:]
                progress.update(task, completed=iteration, loss=f"{sum(tail) / len(tail):.4f}")
            done = iteration >= total
            stop = max_iterations_this_call is not None and ran >= max_iterations_this_call and not done
            if not done and (stop or (config.checkpoint_every and iteration % config.checkpoint_every == 0)):
                save_checkpoint(run.last_path, payload(True, iteration, state.seconds_before + time.perf_counter() - t0))
            if callback is not None:
                callback({"iteration": iteration, "total": total, "loss": loss,
                          "lr": state.optimizer.param_groups[-1]["lr"]})
            if stop:
                stopped_early = True
                break
    seconds = time.perf_counter() - t0
    if stopped_early:
        return _result(run.last_path, {**run.identity, "iteration": iteration, "losses": losses}, seconds,
                       run.run_dir, False)
    elapsed = state.seconds_before + seconds
    save_checkpoint(run.last_path, payload(True, iteration, elapsed))
    final = payload(False, iteration, elapsed)
    save_checkpoint(run.final_path, final)
    return _result(run.final_path, final, seconds, run.run_dir, True)
