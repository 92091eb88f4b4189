"""The superpixel-method registry and the driver that computes a named set for a workspace.

A method is a callable ``method(image, *, context, **params) -> (H, W) int32`` where ``image`` is
(H, W, 3) uint8 RGB and ``context`` a :class:`SuperpixelContext` (workspace and image id, for
methods that read stored maps such as ``imported`` or ``gsam``). Region ids ≥ 0 are candidates;
ids < 0 mark pixels that are no candidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from alc_data.errors import AlcError
from alc_data.faults import kill_point
from alc_data.registry import Registry

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


def compute_superpixel_set(
    ws: Workspace,
    method: str,
    *,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> str:
    """Compute superpixels for every image of ``ws`` with ``method`` and store them as set ``name``
    (default: the method's name). Returns the set name."""
    from alc_data.progress import track
    from alc_data.superpixels.utils import check_params

    load_methods()
    fn = SUPERPIXEL_METHODS.get(method)
    name = name or method
    params = dict(params or {})
    check_params(fn, params, f"superpixel method {method!r}")
    ws.check_superpixel_target(name, overwrite=overwrite)

    def maps():
        for n, image_id in enumerate(track(ws.image_ids(), f"superpixels {method}")):
            image = ws.load_image(image_id)
            sp = np.asarray(fn(image, context=SuperpixelContext(ws, image_id), **params))
            if sp.shape != image.shape[:2]:
                raise AlcError(f"superpixel method {method!r} returned shape {sp.shape} for an image of {image.shape[:2]}")
            yield image_id, sp.astype(np.int32, copy=False)
            if n == 0:
                kill_point("superpixels:partial")  # the first map is in the staging folder

    with ws.writing("superpixels"):
        ws.write_superpixel_set(name, maps(), method=method, params=params, overwrite=overwrite, stage="superpixels")
    kill_point("superpixels:registered")
    return name
