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


def check_source_paths(options: Any) -> None:
    """Make ``options.checkpoint`` / ``options.predictions`` paths (from its ``__post_init__``); NotFound
    when the checkpoint is no file."""
    from pathlib import Path

    from alc_data.errors import InvalidInput, NotFound

    if options.checkpoint is not None:
        set_field(options, "checkpoint", Path(options.checkpoint))
        if Path(options.checkpoint).is_dir():
            raise InvalidInput(f"{options.checkpoint}: is a folder, not a model checkpoint; pass the final.pt of an "
                               "`alc-data train` run (a folder of prediction files goes to --predictions)")
        if not Path(options.checkpoint).is_file():
            raise NotFound(f"{options.checkpoint}: model checkpoint not found; "
                           "pass the final.pt of an `alc-data train` run")
    if options.predictions is not None:
        set_field(options, "predictions", Path(options.predictions))


def probability_source(checkpoint: Any, predictions: Any, logits: bool) -> dict[str, Any]:
    """Where the probabilities come from, as stored in a round's params (and given to Ray actors)."""
    from pathlib import Path

    if predictions is not None:
        return {"predictions": str(Path(predictions).resolve()), "logits": bool(logits)}
    if checkpoint is not None:
        return {"checkpoint": str(Path(checkpoint).resolve())}
    return {"probabilities": "given"}
