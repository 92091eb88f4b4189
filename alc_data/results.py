"""The one ``to_dict`` of the stage results: frozen dataclasses printed by ``--json``.

A result class inherits :class:`JsonResult` and lists its fields in the order the JSON shows them;
:meth:`JsonResult.to_dict` turns paths into strings, enums into their values, numpy scalars and
arrays into Python numbers and lists, tuples into lists, nested results into their own dicts, and
floats that are not finite into None.
A result whose JSON is not exactly its fields (a derived share, a key named otherwise) says so in
:meth:`JsonResult.json_keys`, never with a ``to_dict`` of its own.
"""

from __future__ import annotations

import dataclasses
import math
import os
from enum import Enum
from typing import Any

import numpy as np


def json_ready(value: Any) -> Any:
    """``value`` with every path, enum, numpy value, tuple and nested result made JSON-ready; a float
    that is not finite (NaN: a metric with nothing to measure) becomes None, JSON's null, since strict
    parsers refuse ``NaN``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, JsonResult):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: json_ready(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return json_ready(value.value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, np.generic):
        return json_ready(value.item())
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


class JsonResult:
    """Mixin for frozen result dataclasses: ``to_dict()`` gives one JSON-ready key per field, in order
    (or per entry of :meth:`json_keys`)."""

    def json_keys(self) -> tuple[str, ...]:
        """The JSON's keys in order: each names a field or property, or is ``"key=attribute"`` to show an
        attribute under another key (``attribute`` may be dotted, ``build.version``, and a step may be a
        dict's key, ``totals.pixels``). Default: the fields."""
        return tuple(f.name for f in dataclasses.fields(self))  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        if not dataclasses.is_dataclass(self):
            raise TypeError(f"{type(self).__name__} must be a dataclass to use JsonResult.to_dict")
        out: dict[str, Any] = {}
        for spec in self.json_keys():
            key, _, attribute = spec.partition("=")
            value: Any = self
            for name in (attribute or key).split("."):
                value = value[name] if isinstance(value, dict) else getattr(value, name)
            out[key] = json_ready(value)
        return out
