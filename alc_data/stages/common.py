"""What the stage options share: turning a recipe or command-line string into an enum member once."""

from __future__ import annotations

from enum import Enum
from typing import Any, TypeVar

from alc_data.errors import InvalidInput

E = TypeVar("E", bound=Enum)


def choice(kind: type[E], value: Any, where: str) -> E:
    """``kind(value)``; InvalidInput naming ``where`` and the choices when ``value`` is none of them."""
    try:
        return kind(value)
    except ValueError:
        raise InvalidInput(f"{where} {value!r}: use {choices(kind)}") from None


def set_field(options: object, name: str, value: Any) -> None:
    """Store a converted value on a frozen options object (only from its ``__post_init__``)."""
    object.__setattr__(options, name, value)


def choices(kind: type[Enum]) -> str:
    """``a, b or c``: the values of ``kind`` for help texts."""
    values = [str(m.value) for m in kind]
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"
