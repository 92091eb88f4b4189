"""Recipe tables from TOML values: each value converted to its field's declared type, every problem one
:class:`~alc_data.errors.InvalidInput` naming the key (``loop.budget``) and the fix."""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any

from alc_data.errors import InvalidInput
from alc_data.overrides import finite_number, whole_number


def fix_hint(where: str, hint: str) -> str:
    return f"fix the recipe or --set {where}={hint}"


def convert_value(where: str, value: Any, typ: Any) -> Any:
    """``value`` as the declared type ``typ`` (str, int, float, bool, list[str], dict, optional)."""
    origin, args = typing.get_origin(typ), typing.get_args(typ)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        lists = [a for a in inner if typing.get_origin(a) is list]
        if lists and isinstance(value, (list, tuple)):  # ``int | list[int]``: a list is read as the list
            return convert_value(where, value, lists[0])
        return convert_value(where, value, inner[0])
    if typ is bool:
        if not isinstance(value, bool):
            raise InvalidInput(f"{where} = {value!r}; use true or false")
        return value
    if typ in (int, float):
        try:
            return whole_number(value) if typ is int else finite_number(value)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"{where} = {value!r} is {exc}; {fix_hint(where, 'N')}") from None
    if typ is str:
        if isinstance(value, Path) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            return str(value)
        if not isinstance(value, str):
            raise InvalidInput(f"{where} = {value!r} is not text; write it in quotes")
        return value
    if origin is list:
        items = [value] if isinstance(value, (str, Path)) else value
        if not isinstance(items, (list, tuple)):
            raise InvalidInput(f"{where} = {value!r} is not a list; write e.g. {where.split('.')[-1]} = [\"train\", \"val\"]")
        return [convert_value(f"{where}[{i}]", v, args[0]) for i, v in enumerate(items)]
    if origin is dict:
        if not isinstance(value, dict):
            raise InvalidInput(f"{where} = {value!r} is not a table; write e.g. {where.split('.')[-1]} = {{ key = value }}")
        return {str(k): convert_value(f"{where}.{k}", v, args[1]) for k, v in value.items()}
    return value  # Any


def build_table(cls: type, table: Any, where: str) -> Any:
    """``cls(**table)`` with unknown keys, missing keys and value types checked, named ``where.key``."""
    if not isinstance(table, dict):
        raise InvalidInput(f"recipe [{where}] is {table!r}, not a table; write it as [{where}] with key = value lines")
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.init]
    names = [f.name for f in fields]
    unknown = sorted(set(table) - set(names))
    if unknown:
        raise InvalidInput(f"recipe [{where}] has no key {unknown[0]!r}; valid keys: {', '.join(names)}")
    missing = [f.name for f in fields if f.name not in table
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise InvalidInput(f"recipe [{where}] needs {missing[0]} = ...; add it to the recipe or --set {where}.{missing[0]}=VALUE")
    return cls(**{k: convert_value(f"{where}.{k}", v, hints[k]) for k, v in table.items()})


def table_dict(obj: Any) -> dict[str, Any]:
    """A table dataclass as a JSON-ready dict (its own fields, tuples as lists)."""
    return {f.name: (list(v) if isinstance(v := getattr(obj, f.name), tuple) else v) for f in dataclasses.fields(obj)}


def check_choice(where: str, value: str, choices: typing.Iterable[str]) -> None:
    choices = tuple(choices)
    if value not in choices:
        raise InvalidInput(f"{where} = {value!r}; use one of {', '.join(choices)}")


def differences(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[str]:
    """``key = old in the run, new now`` for each value of two resolved recipes (:meth:`Recipe.to_dict`)
    that differs, by dotted key (tables compared key by key; a key only one side has shows as none)."""
    out = []
    for key in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            out += differences(old, new, f"{prefix}{key}.")
        elif old != new:
            out.append(f"{prefix}{key} = {_shown(old)} in the run, {_shown(new)} now")
    return out


def _shown(value: Any) -> str:
    return "none" if value is None else repr(value) if isinstance(value, str) else str(value)
