"""Text choices as enums: a mode read from the command line or a recipe is converted once, with
``Mode(value)`` or :meth:`TextChoice.parse`, and then travels as the enum."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from alc_data.errors import InvalidInput

C = TypeVar("C", bound="TextChoice")


class TextChoice(str, Enum):
    """A ``str`` enum whose ``str()`` and ``format()`` give its value (as ``enum.StrEnum`` of 3.11)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    @classmethod
    def values(cls) -> tuple[str, ...]:
        """Every value, in declaration order (what a help text or an error lists)."""
        return tuple(str(m.value) for m in cls)

    @classmethod
    def parse(cls: type[C], value: str, message: str) -> C:
        """``cls(value)``; InvalidInput with ``message`` (formatted with ``value`` and ``choices``, the values
        separated by commas) otherwise."""
        try:
            return cls(value)
        except ValueError:
            raise InvalidInput(message.format(value=value, choices=", ".join(cls.values()))) from None
