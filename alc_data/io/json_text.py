"""JSON from people and other programs, read with one-line errors for every way it can be bad.

``json`` raises more than :class:`json.JSONDecodeError`: :class:`RecursionError` on deeply nested
arrays (a 100,000-deep ``[[[...]]]`` is a few hundred kilobytes), :class:`ValueError` on an integer of
more than 4,300 digits, :class:`UnicodeDecodeError` on bytes that are not UTF-8. Every reader of JSON
that alc-data did not write itself goes through here, so each becomes :class:`InvalidInput` naming
the file (or request) and the line.
"""

from __future__ import annotations

import json
from typing import Any

from alc_data.errors import InvalidInput


def _line(text: str | bytes, pos: int) -> int:
    newline = b"\n" if isinstance(text, bytes) else "\n"
    return text.count(newline, 0, pos) + 1  # type: ignore[arg-type]


def _invalid(where: str, exc: BaseException, text: str | bytes, pos: int) -> InvalidInput:
    if isinstance(exc, json.JSONDecodeError):
        return InvalidInput(f"{where}: invalid JSON at line {exc.lineno}: {exc.msg}")
    if isinstance(exc, RecursionError):
        return InvalidInput(f"{where}: JSON nested too deeply (near line {_line(text, pos)}); no alc-data file nests "
                            "more than a few levels")
    if isinstance(exc, UnicodeDecodeError):
        return InvalidInput(f"{where}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})")
    return InvalidInput(f"{where}: a number too long to read (near line {_line(text, pos)}); ids and counts have at "
                        "most 18 digits")


def loads(text: str | bytes, where: str) -> Any:
    """``json.loads(text)``; InvalidInput naming ``where`` for any bad input (see the module docstring)."""
    try:
        return json.loads(text)
    except (RecursionError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise _invalid(where, exc, text, 0) from None


def raw_decode(decoder: json.JSONDecoder, text: str, pos: int, where: str) -> tuple[Any, int]:
    """``decoder.raw_decode(text, pos)``: one JSON value from ``pos`` and where it ends; InvalidInput
    naming ``where`` and the line otherwise."""
    try:
        return decoder.raw_decode(text, pos)
    except (RecursionError, ValueError) as exc:
        raise _invalid(where, exc, text, pos) from None
