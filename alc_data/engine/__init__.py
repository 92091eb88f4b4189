"""Where the per-image work runs: ``local`` (this process) or ``ray`` (Ray Data over a cluster).

With ``ray``, ``score``, ``superpixels`` and ``pseudo-label`` run their per-image work as Ray Data
``map_batches`` over an actor pool (:mod:`alc_data.engine.ray_score`,
:mod:`alc_data.engine.ray_superpixels`, :mod:`alc_data.engine.ray_pseudo_label`); the driver alone
selects, writes the ledger and registers versions and sets, so the results are identical to the
local engine's. Ray is an optional dependency: ``pip install "alc-data[ray]"``.
"""

from __future__ import annotations

import contextlib
import logging
from enum import Enum
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from alc_data import errors
from alc_data.errors import AlcError, InvalidInput, MissingDependency
from alc_data.progress import counting


class Engine(str, Enum):
    """Where the per-image work runs (``--engine``, a recipe's ``engine.kind``)."""

    LOCAL = "local"
    RAY = "ray"


ENGINES = tuple(e.value for e in Engine)


def check_engine(engine: str, *, where: str = "--engine") -> None:
    """InvalidInput for an unknown engine name; MissingDependency for ``ray`` without Ray installed."""
    if engine not in ENGINES:
        raise InvalidInput(f"{where} {engine!r} is unknown; use one of {', '.join(ENGINES)}")
    if engine == "ray":
        require_ray()


def check_ray_options(engine: str | Engine, address: str | None, concurrency: int | None = None, *,
                      where: tuple[str, str, str] = ("--engine", "--ray-address", "--concurrency")) -> None:
    """InvalidInput when a Ray-only option comes without the Ray engine (it would be ignored);
    ``where``: the names of the engine, address and concurrency options (flags, or recipe keys)."""
    if Engine(engine) is Engine.RAY:
        return
    for name, value in zip(where[1:], (address, concurrency)):
        if value is not None:
            raise InvalidInput(f"{name} {value} is for the Ray engine; add {where[0]} ray or drop {name}")


def as_engine(engine: str | Engine, *, where: str = "--engine") -> Engine:
    """``engine`` as an :class:`Engine`, after :func:`check_engine`."""
    check_engine(engine, where=where)
    return Engine(engine)


def require_ray() -> Any:
    """The ``ray`` module (with Ray Data), or a one-line MissingDependency naming the extra."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise MissingDependency(
            '--engine ray needs Ray Data, which is not installed; run `pip install "alc-data[ray]"`'
        ) from None
    return ray


@contextlib.contextmanager
def ray_session(address: str | None = None) -> Iterator[Any]:
    """The ``ray`` module, connected: an instance already started in this process is used as it is;
    otherwise one is started (``address=None``: a local one) or joined (``address="auto"`` or
    ``"ray://host:10001"``) and shut down on exit. A driver killed outright cannot shut down a local
    instance it started: ``ray stop`` ends what it leaves (docs/scaling.md)."""
    ray = require_ray()
    started = False
    if not ray.is_initialized():
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            if address is None:
                raise
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InvalidInput(f"--ray-address {address}: cannot join a Ray cluster there ({reason}); start one "
                               "(`ray start --head`) or drop --ray-address for a local instance") from None
        started = True
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        quiet = logging.getLogger("ray.data")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)  # Ray Data's full log stays in its session folder
        try:
            yield ray
        finally:
            quiet.setLevel(level)
    finally:
        if started:
            ray.shutdown()


def reporting_errors(fn: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]], batch: dict[str, np.ndarray],
                     empty: dict[str, Any]) -> dict[str, np.ndarray]:
    """Run an actor's batch function; an :class:`AlcError` becomes one output row whose ``error``
    column names it (the other columns hold ``empty``'s values), so the driver can raise the same
    one-line error instead of Ray's wrapped traceback."""
    try:
        out = fn(batch)
    except AlcError as exc:
        row = {k: np.asarray([v], dtype=object if isinstance(v, str) else np.int64) for k, v in empty.items()}
        return {**row, "error": np.asarray([f"{type(exc).__name__}\t{exc}"], dtype=object)}
    n = len(next(iter(out.values())))
    return {**out, "error": np.asarray([""] * n, dtype=object)}


def raise_reported_error(out: dict[str, np.ndarray]) -> None:
    """Raise the first error an actor reported in an output batch (see :func:`reporting_errors`)."""
    for message in out["error"]:
        if message:
            name, _, text = str(message).partition("\t")
            cls = getattr(errors, name, AlcError)
            raise (cls if isinstance(cls, type) and issubclass(cls, AlcError) else AlcError)(text)


def batch_runs(indices: Any) -> list[tuple[int, list[int]]]:
    """Positions of a batch's rows grouped into runs of consecutive image positions:
    [(first image position, [row numbers in the batch, in image order])]."""
    order = sorted(range(len(indices)), key=lambda r: int(indices[r]))
    runs: list[tuple[int, list[int]]] = []
    for r in order:
        if runs and int(indices[r]) == runs[-1][0] + len(runs[-1][1]):
            runs[-1][1].append(r)
        else:
            runs.append((int(indices[r]), [r]))
    return runs


def image_dataset(ray: Any, image_ids: list[str], batch_size: int) -> Any:
    """A Ray dataset of rows ``{"index": position, "image_id": id}``, in blocks of about ``batch_size``
    images (at most 2,000 blocks)."""
    n = len(image_ids)
    blocks = max(1, min(2000, -(-n // max(1, batch_size))))
    return ray.data.from_items([{"index": i, "image_id": s} for i, s in enumerate(image_ids)], override_num_blocks=blocks)


def actor_options(ray: Any, *, gpu: bool, concurrency: int | None) -> dict[str, Any]:
    """``map_batches`` keywords for an actor pool: one actor per GPU (when ``gpu`` and the cluster has
    GPUs) or per CPU, or ``concurrency``. Ray Data restarts a dead actor and retries its batches
    (``max_restarts=-1``, ``max_task_retries=-1`` are its defaults for actor pools)."""
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0)) if gpu else 0
    if concurrency is None:
        concurrency = gpus or max(1, int(resources.get("CPU", 1)))
    if concurrency < 1:
        raise InvalidInput(f"concurrency {concurrency} must be at least 1 actor")
    return {"compute": ray.data.ActorPoolStrategy(size=int(concurrency)), "num_gpus": 1 if gpus else 0, "num_cpus": 1}


def images_per_batch(n_images: int, concurrency: int, most: int) -> int:
    """Images per actor batch: ``most``, or fewer so that every actor gets work on a small set."""
    return max(1, min(int(most), -(-int(n_images) // max(1, int(concurrency)))))


def run_actor_pool(
    actor_class: type,
    constructor: dict[str, Any],
    image_ids: Sequence[str],
    *,
    address: str | None,
    concurrency: int | None,
    gpu: bool,
    most_per_batch: int,
    description: str,
) -> Iterator[dict[str, np.ndarray]]:
    """Run ``actor_class(**constructor)`` as Ray Data ``map_batches`` over an actor pool (see
    :func:`actor_options`) on ``image_ids``, at most ``most_per_batch`` images per batch; yield each
    output batch, an error an actor reported raised as its one-line error, with a progress bar of the
    images done (an output's ``images`` column when it has one, else one image per row)."""
    with ray_session(address) as ray:
        pool = actor_options(ray, gpu=gpu, concurrency=concurrency)
        per_batch = images_per_batch(len(image_ids), pool["compute"].max_size, most_per_batch)
        ds = image_dataset(ray, list(image_ids), per_batch).map_batches(
            actor_class, fn_constructor_kwargs=constructor, batch_size=per_batch, batch_format="numpy", **pool
        )
        with counting(description, len(image_ids)) as advance:
            for out in ds.iter_batches(batch_size=None, batch_format="numpy"):
                raise_reported_error(out)
                yield out
                advance(int(np.sum(out["images"])) if "images" in out else len(out["error"]))
