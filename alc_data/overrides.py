"""The one ``--set key.sub=value`` parser of every command that takes overrides.

``alc-data run RECIPE --set loop.budget=50`` and ``alc-data superpixels --param num_superpixels=512``
read their items here. A value is a TOML value (``12``, ``0.5``, ``true``, ``[1, 2]``, ``"quoted"``,
``{ a = 1 }``); anything TOML does not read (bare words such as ``sam``, paths such as ``data/VOC``)
is kept as the plain string. TOML dates and times are kept as the text they were written as.
"""

from __future__ import annotations

import copy
import datetime as _dt
import math
import re
import sys
from typing import Any, Iterable

from alc_data.errors import InvalidInput

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_KEY_PART = re.compile(r"^[A-Za-z0-9_-]+$")

#: the largest whole number a setting may hold (SQLite's and numpy's int64)
MAX_WHOLE = 2**63 - 1
#: the largest number a float setting may hold (float32's, what the models compute in)
MAX_FINITE = 3.4028234663852886e38


def whole_number(value: Any) -> int:
    """``value`` (an int, a float with no fraction, or their text) as an int; ValueError saying what it
    is instead ("not a number", "not a whole number", ...: it reads after "is") for a fraction, inf, nan, text that is no number, a bool, or more than :data:`MAX_WHOLE`."""
    if isinstance(value, bool):
        raise ValueError("true/false, not a whole number")
    if isinstance(value, int):
        number: int | float = value
    else:
        try:
            number = int(value) if isinstance(value, str) and value.strip().lstrip("+-").isdigit() else float(value)
        except (TypeError, ValueError):
            raise ValueError("not a number") from None
    if isinstance(number, float) and (math.isnan(number) or math.isinf(number)):
        raise ValueError(f"not a whole number ({number})")
    if isinstance(number, float) and not number.is_integer():
        raise ValueError("not a whole number")
    whole = int(number)
    if abs(whole) > MAX_WHOLE:
        raise ValueError(f"more than {MAX_WHOLE:,}, the largest whole number allowed")
    return whole


def finite_number(value: Any) -> float:
    """``value`` as a float; ValueError for inf, nan, more than :data:`MAX_FINITE`, a bool or text that is
    no number."""
    if isinstance(value, bool):
        raise ValueError("true/false, not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError("not a number") from None
    if math.isnan(number) or math.isinf(number):
        raise ValueError(f"not a finite number ({number})")
    if abs(number) > MAX_FINITE:
        raise ValueError(f"more than {MAX_FINITE:.4g}, the largest number a float32 model can hold")
    return number


def parse_value(text: str) -> Any:
    """One override value: a TOML value, else the stripped text itself (bare words, paths)."""
    text = text.strip()
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    if isinstance(value, (_dt.date, _dt.time)):  # ``2024-01-01`` is more likely a folder name than a date
        return text
    return value


def parse_assignment(item: str, *, option: str = "--set") -> tuple[list[str], Any]:
    """``"a.b=value"`` → (``["a", "b"]``, parsed value); InvalidInput naming ``option`` otherwise."""
    key, sep, value = item.partition("=")
    parts = key.strip().split(".")
    if not sep or not key.strip() or not all(_KEY_PART.match(p) for p in parts):
        raise InvalidInput(f"{option} {item!r}: expected key=value or table.key=value, e.g. {option} loop.budget=50")
    return parts, parse_value(value)


def apply_overrides(
    table: dict[str, Any], items: list[str] | None, *, option: str = "--set", tables: Iterable[str] | None = None
) -> dict[str, Any]:
    """A copy of ``table`` with each ``key.sub=value`` item set (a later item wins; tables are made as needed).

    ``tables``: the names a dotted key may start with (a typo guard for recipes, whose top level is a
    fixed set of tables); None allows any.
    """
    out = copy.deepcopy(table)
    known = None if tables is None else tuple(tables)
    for item in items or []:
        parts, value = parse_assignment(item, option=option)
        if known is not None and len(parts) > 1 and parts[0] not in known:
            raise InvalidInput(f"{option} {item!r}: the recipe has no table [{parts[0]}] (has: {', '.join(known)})")
        node = out
        for depth, part in enumerate(parts[:-1]):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise InvalidInput(f"{option} {item!r}: {'.'.join(parts[:depth + 1])} is a value, not a table")
        node[parts[-1]] = value
    return out


def parse_overrides(items: list[str] | None, *, option: str = "--set") -> dict[str, Any]:
    """``["key=value", "a.b=value", ...]`` → a (nested) dict of parsed values."""
    return apply_overrides({}, items, option=option)
