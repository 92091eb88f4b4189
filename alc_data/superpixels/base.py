"""The superpixel-method registry and the driver that computes a named set for a workspace.

A method is a callable ``method(image, *, context, **params) -> (H, W) int32`` where ``image`` is
(H, W, 3) uint8 RGB and ``context`` a :class:`SuperpixelContext` (workspace and image id, for
methods that read stored maps such as ``imported`` or ``gsam``). Region ids ≥ 0 are candidates;
ids < 0 mark pixels that are no candidate.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from alc_data.engine import check_engine
from alc_data.engine.ray_superpixels import stage_superpixels_ray
from alc_data.errors import AlcError, InvalidInput, WorkspaceDamaged
from alc_data.faults import kill_point
from alc_data.io.staging import check_resumable, record_settings, remove_stage, still_to_do
from alc_data.io.superpixels import write_superpixels
from alc_data.progress import track
from alc_data.registry import Registry
from alc_data.superpixels.utils import check_params

if TYPE_CHECKING:
    from alc_data.workspace import Workspace

SUPERPIXEL_METHODS: Registry[Callable[..., np.ndarray]] = Registry("superpixel method")


@dataclass(frozen=True)
class SuperpixelContext:
    """Where the image comes from, for methods that need more than its pixels."""

    workspace: Workspace
    image_id: str


def load_methods() -> None:
    """Import the built-in methods so they register themselves."""
    import importlib

    for name in ("classic", "imported", "sam", "gsam"):  # a missing module is an import error, never a missing method
        importlib.import_module(f"alc_data.superpixels.{name}")


def check_superpixel_params(method: str | None, params: dict[str, Any], *, where: str = "") -> Callable[..., Any]:
    """The registered method ``method`` after checking that it takes every key of ``params``.

    InvalidInput (prefixed with ``where``, e.g. ``superpixels.params``) for a missing or unknown
    method or a key it does not take; values are checked by the method itself."""
    load_methods()
    prefix = f"{where}: " if where else ""
    if not method:
        raise InvalidInput(
            f"{prefix}no superpixel method given; pass --method (a recipe: [superpixels] method = NAME), one of: "
            f"{', '.join(SUPERPIXEL_METHODS.names())}"
        )
    if not isinstance(params, dict):
        raise InvalidInput(f"{prefix}superpixel parameters must be a table of key = value, got {params!r}")
    try:
        fn = SUPERPIXEL_METHODS.get(method)
        check_params(fn, params, f"superpixel method {method!r}")
    except AlcError as exc:
        raise InvalidInput(f"{prefix}{exc}") from None
    return fn


def describe_methods() -> list[dict[str, Any]]:
    """Registered methods (``alc-data superpixels --list``): name, first docstring paragraph and
    keyword parameters with their defaults."""
    import inspect

    load_methods()
    rows = []
    for name in SUPERPIXEL_METHODS:
        fn = SUPERPIXEL_METHODS.get(name)
        doc = " ".join((inspect.getdoc(fn) or "").strip().split("\n\n")[0].split()).replace("``", "")
        params = {
            p.name: (None if p.default is inspect.Parameter.empty else p.default)
            for p in inspect.signature(fn).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "context"
        }
        rows.append({"name": name, "summary": doc, "params": params})
    return rows


def with_checkpoint(params: dict[str, Any], checkpoint: str | None) -> dict[str, Any]:
    """``params`` with ``checkpoint`` added (the SAM methods' ``--sam``); InvalidInput when it is given twice."""
    out = dict(params)
    if checkpoint is not None:
        if "checkpoint" in out and str(out["checkpoint"]) != str(checkpoint):
            raise InvalidInput("the checkpoint is given twice (--sam and --param checkpoint=...); give it once")
        out["checkpoint"] = str(checkpoint)
    return out


def compute_map(ws: Workspace, fn: Callable[..., Any], method: str, params: dict[str, Any], image_id: str) -> np.ndarray:
    """One image's (H, W) int32 superpixel map with method ``fn``; AlcError when its shape is wrong."""
    image = ws.catalogue.load_image(image_id)
    sp = np.asarray(fn(image, context=SuperpixelContext(ws, image_id), **params))
    if sp.shape != image.shape[:2]:
        raise InvalidInput(f"superpixel method {method!r} returned shape {sp.shape} for an image of {image.shape[:2]}")
    return sp.astype(np.int32, copy=False)


def staging_folder(ws: Workspace, name: str) -> Path:
    """Where a run stages the maps of set ``name`` until it registers them (resumable, see
    :mod:`alc_data.io.staging`)."""
    return ws.root / "staging" / "superpixels" / name


def compute_superpixel_set(
    ws: Workspace,
    method: str | None,
    *,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    overwrite: bool = False,
    engine: str = "local",
    ray_address: str | None = None,
    concurrency: int | None = None,
) -> str:
    """Compute superpixels for every image of ``ws`` with ``method`` and store them as set ``name``
    (default: the method's name). Returns the set name.

    The library boundary: checks ``engine``, ``method`` and ``params`` once, then runs
    :func:`write_method_set` (which the ``superpixels`` stage calls directly with checked options)."""
    check_engine(engine)
    fn = check_superpixel_params(method, params or {})
    return write_method_set(ws, fn, str(method), name=name or str(method), params=dict(params or {}),
                            overwrite=overwrite, engine=engine, ray_address=ray_address, concurrency=concurrency)


def write_method_set(
    ws: Workspace,
    fn: Callable[..., Any],
    method: str,
    *,
    name: str,
    params: dict[str, Any],
    overwrite: bool,
    engine: str,
    ray_address: str | None,
    concurrency: int | None,
) -> str:
    """Compute set ``name`` with the registered method ``fn`` (named ``method``); the arguments are
    trusted (checked by the caller). Returns the set name.

    The maps are staged in ``staging/superpixels/<name>/`` and registered when every image has one,
    under the workspace lock held for the whole run. A run that stops keeps them: the same command
    (same method and parameters, either engine) computes only the missing images. ``engine="ray"``
    computes them on a Ray cluster (``ray_address``, ``concurrency`` actors;
    :mod:`alc_data.engine.ray_superpixels`); the set is identical."""
    ws.superpixels.check_superpixel_target(name, overwrite=overwrite)
    compute = functools.partial(compute_map, fn=fn, method=method, params=params)  # travels to Ray's actors
    stage = staging_folder(ws, name)
    settings = {"method": method, "params": params}
    image_ids = ws.catalogue.image_ids()
    with ws.writing("superpixels"):
        ws.superpixels.check_superpixel_target(name, overwrite=overwrite)  # again: another run may have registered it meanwhile
        if not check_resumable(stage, settings, "superpixel maps"):
            record_settings(stage, settings)
        todo = still_to_do(stage, image_ids)
        try:
            if engine == "ray" and todo:
                stage_superpixels_ray(ws, todo, stage, compute, address=ray_address, concurrency=concurrency,
                                      gpu=method in ("sam", "gsam"))
            elif todo:
                for n, image_id in enumerate(track(todo, f"superpixels {method}")):
                    write_superpixels(stage / f"{image_id}.npz", compute(ws, image_id=image_id))
                    if n == 0:
                        kill_point("superpixels:partial")  # the first map is staged
            missing = still_to_do(stage, image_ids)
            if missing:
                raise WorkspaceDamaged(f"no superpixel map was staged for {len(missing)} image(s) (first: {missing[0]!r}); rerun it")
            staged = ((image_id, stage / f"{image_id}.npz") for image_id in image_ids)  # hard-linked into the set
            ws.superpixels.write_superpixel_set(name, staged, method=method, params=params, overwrite=overwrite, stage="superpixels")
        except BaseException:
            if not any(stage.glob("*.npz")):  # nothing to resume from: leave no folder behind
                remove_stage(stage, ws.root)
            raise
        remove_stage(stage, ws.root)
    kill_point("superpixels:registered")
    return name
