"""Per-round recipe values (``loop.budget``, ``loop.propagate_threshold``): one value for every round,
or a list with one value per round (a shorter list repeats its last value)."""

from __future__ import annotations

from typing import Any

from alc_data.errors import InvalidInput


def per_round(value: Any) -> list[Any]:
    """A per-round recipe value as a list (one value means the same every round)."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


def pick(values: list[Any], loop_round: int) -> Any:
    """The value for loop round ``loop_round`` (1-based); past the list's end its last value."""
    return values[min(loop_round, len(values)) - 1]


def canonical_per_round(value: Any) -> Any:
    """A per-round value in one form for each meaning: a list loses the repeats of its last value (which a
    shorter list means anyway), and one value left is that value (``[5, 5]`` and ``[5]`` are ``5``), so a
    run resumes with any spelling of its recipe."""
    if not isinstance(value, (list, tuple)):
        return value
    values = list(value)
    while len(values) > 1 and values[-1] == values[-2]:
        values.pop()
    return values[0] if len(values) == 1 else values


def check_per_round(key: str, value: Any, rounds: int) -> None:
    """A per-round recipe list holds one value at least and one per round at most (a shorter list
    repeats its last value; a longer one would be partly ignored)."""
    if isinstance(value, (list, tuple)) and not value:
        raise InvalidInput(f"{key} = []; give one value, or one per round")
    if isinstance(value, (list, tuple)) and len(value) > rounds:
        raise InvalidInput(f"{key} = {list(value)!r} has {len(value)} values for loop.rounds = {rounds}; give at most "
                           "one per round (a shorter list repeats its last value)")
