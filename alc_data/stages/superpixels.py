"""The superpixels stage: compute a named superpixel set with a registered method."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Mapping

from alc_data.engine import Engine, as_engine, check_ray_options
from alc_data.errors import InvalidInput
from alc_data.stages.common import set_field
from alc_data.superpixels.base import SUPERPIXEL_METHODS, check_superpixel_params, write_method_set
from alc_data.superpixels import utils as superpixel_utils

if TYPE_CHECKING:
    from alc_data.workspace import Workspace


@dataclass(frozen=True)
class SuperpixelOptions:
    """``method``: a name in :data:`~alc_data.superpixels.SUPERPIXEL_METHODS` taking every key of
    ``params``; ``name``: the set to write (default: the method's name); ``engine``: where the maps
    are computed (``ray_address``, ``concurrency`` actors with Ray)."""

    method: str | None
    name: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    overwrite: bool = False
    engine: Engine = Engine.LOCAL
    ray_address: str | None = None
    concurrency: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.engine, Engine):
            set_field(self, "engine", as_engine(self.engine))
        check_ray_options(self.engine, self.ray_address)
        check_superpixel_params(self.method, dict(self.params))
        if self.name is not None and not self.name.strip():
            raise InvalidInput(f"--name {self.name!r} is empty; name the superpixel set, or drop --name to use the method's name")
        if self.concurrency is not None and self.concurrency < 1:
            raise InvalidInput(f"concurrency {self.concurrency}: it must be at least 1 actor")

    @property
    def set_name(self) -> str:
        return self.name or str(self.method)


@dataclass(frozen=True)
class SuperpixelsResult(superpixel_utils.SetSummary):
    """The stored set's numbers (:class:`~alc_data.superpixels.utils.SetSummary`) and the time taken."""

    seconds: float
    seconds_per_image: float


def superpixels(ws: Workspace, options: SuperpixelOptions) -> SuperpixelsResult:
    """Compute and store the set ``options`` describe; its summary and timing."""
    method = str(options.method)
    start = time.perf_counter()
    name = write_method_set(
        ws, SUPERPIXEL_METHODS.get(method), method, name=options.set_name, params=dict(options.params),
        overwrite=options.overwrite, engine=options.engine.value, ray_address=options.ray_address,
        concurrency=options.concurrency,
    )
    seconds = time.perf_counter() - start
    summary = superpixel_utils.set_summary(ws, name)
    values = {f.name: getattr(summary, f.name) for f in fields(summary)}
    per_image = round(seconds / summary.images, 4) if summary.images else 0.0
    return SuperpixelsResult(**values, seconds=round(seconds, 3), seconds_per_image=per_image)
