"""User-supplied names and numbers, checked in one place: image ids, class names, ASCII integers.

- Integers typed by people (query ids, class indices, colour channels) are ASCII digits only:
  ``str.isdigit`` is true for ``²`` or ``٣`` where ``int`` fails or reads another digit.
- Image ids become file names (``labels/<version>/<id>.png``) and CSV cells: no path separators, no
  leading dot, no leading/trailing whitespace, no control or line-separator characters.
- Class names are matched exactly (case-sensitive) by every reader; two names that differ only by
  case are refused, as are padded names and names with control characters.
- Text lines are split on ``\\n``, ``\\r\\n`` and ``\\r`` only (``str.splitlines`` also splits on
  U+2028, U+0085, form feed, ... and would cut a name in two).
"""

from __future__ import annotations

import os
import re
import unicodedata
from typing import Iterable, Sequence

from alc_data.errors import InvalidInput

_ASCII_INT = re.compile(r"[0-9]{1,18}", re.ASCII)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
MAX_ID_BYTES = 200
"""Longest image id in UTF-8 bytes (file names hold 255 bytes; ``.png`` and temp prefixes need room)."""


def parse_ascii_int(text: str) -> int | None:
    """``int(text)`` when ``text`` is one to 18 ASCII digits 0-9, else None (no sign, no spaces; longer
    numbers are no id or index of alc-data, and Python refuses to convert past 4,300 digits)."""
    return int(text) if isinstance(text, str) and _ASCII_INT.fullmatch(text) else None


def text_lines(text: str) -> list[str]:
    """Lines of ``text`` split on ``\\n``, ``\\r\\n`` or ``\\r`` only (a trailing newline adds no line)."""
    lines = _LINE_BREAK.split(text)
    return lines[:-1] if lines and lines[-1] == "" else lines


def bad_character(text: str) -> str | None:
    """The first control, line-separator, surrogate or byte-order-mark character in ``text``, or None."""
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") or ch == "\ufeff":
            return ch
    return None


def one_line(text: str) -> str:
    """``text`` for a one-line message: as is, or as its ``repr`` when it holds a control character."""
    return text if bad_character(text) is None else repr(text)


MAX_ANNOTATOR_CHARS = 200
"""Longest annotator name the ledger records."""


def check_annotator(name: str) -> str:
    """``name`` when it can stand in the ledger, a CSV cell and a one-line message: not empty, not
    padded, at most :data:`MAX_ANNOTATOR_CHARS` characters, no control or line-separator character
    (an ESC sequence would recolour a terminal that prints it); InvalidInput naming it otherwise."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"annotator name {name!r} is empty; give who answered (--annotator NAME)")
    ch = bad_character(name)
    if ch is not None or name != name.strip() or len(name) > MAX_ANNOTATOR_CHARS:
        why = (f"contains the control character {ch!r}" if ch is not None else
               "starts or ends with a space" if name != name.strip() else f"is over {MAX_ANNOTATOR_CHARS} characters")
        raise InvalidInput(f"annotator name {one_line(name[:60])} {why}; give a plain name (--annotator NAME)")
    return name


def current_user() -> str:
    """Who runs alc-data, for the ledger's annotator column when no --annotator is given: the login name
    as :func:`getpass.getuser` finds it (LOGNAME, USER, LNAME, USERNAME, then the password database), or
    ``"annotator"`` where there is none (a container run under a bare uid) or it cannot stand in the
    ledger (:func:`check_annotator`). Every command that records answers names people this way."""
    import getpass

    try:
        name = getpass.getuser()
        return check_annotator(name)
    except (OSError, KeyError, InvalidInput):
        return "annotator"


def class_name(value: int, names: Sequence[str]) -> str:
    """How a class index reads to people: its name, "void" for ``IGNORE_INDEX``, or the number itself
    for an index the class list does not hold."""
    from alc_data.constants import IGNORE_INDEX

    if value == IGNORE_INDEX:
        return "void"
    return names[value] if 0 <= value < len(names) else str(value)


def check_image_id(image_id: str, where: str = "") -> str:
    """``image_id`` when it can be a file name and a CSV cell; InvalidInput naming it otherwise."""
    prefix = f"{one_line(where)}: " if where else ""
    if not isinstance(image_id, str) or not image_id:
        raise InvalidInput(f"{prefix}image id {image_id!r} is empty; every image needs a non-empty id")
    problem = None
    ch = bad_character(image_id)
    if ch is not None:
        problem = f"contains the control character {ch!r}"
    elif image_id != image_id.strip():
        problem = "starts or ends with a space"
    elif "/" in image_id or "\\" in image_id:
        problem = "contains '/' or '\\'"
    elif image_id.startswith("."):
        problem = "starts with '.'"
    elif len(image_id.encode("utf-8")) > MAX_ID_BYTES:
        problem = f"is longer than {MAX_ID_BYTES} bytes"
    if problem:
        raise InvalidInput(
            f"{prefix}image id {image_id!r} {problem}; image ids become file names and CSV cells, rename the "
            "file or fix the id"
        )
    return image_id


def check_class_names(names: Iterable[str], where: str = "") -> list[str]:
    """The names when each is non-empty, unpadded, free of control characters, and no two differ only
    by case; InvalidInput naming the offending names otherwise."""
    prefix = f"{one_line(where)}: " if where else ""
    names = list(names)
    by_key: dict[str, str] = {}
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput(f"{prefix}class name {name!r} is empty; give every class a name")
        ch = bad_character(name)
        if ch is not None:
            raise InvalidInput(f"{prefix}class name {name!r} contains the control character {ch!r}; rename the class")
        if name != name.strip():
            raise InvalidInput(f"{prefix}class name {name!r} starts or ends with a space; remove the spaces")
        key = name.casefold()
        if key in by_key:
            other = by_key[key]
            what = "repeats" if other == name else "differs only by case from"
            raise InvalidInput(
                f"{prefix}class name {name!r} {what} {other!r}; class names are matched exactly, so make them "
                "differ by more than case (or merge the two classes)"
            )
        by_key[key] = name
    return names


def path_inside(name: str, root: str | os.PathLike) -> str | None:
    """The absolute, normalised path of ``name`` (relative to ``root``, or absolute) when it lies inside
    ``root`` after resolving ``..`` lexically; None when it escapes (symlinks are not followed: what a
    folder links to is its owner's choice, a name in a data file is not)."""
    base = os.path.abspath(root)
    full = os.path.normpath(os.path.join(base, name))
    return full if os.path.commonpath([full, base]) == base else None


def unanswerable_choice(class_names: Iterable[str]) -> str:
    """The "can't tell" choice to offer beside ``class_names``: the first unanswerable word no class is
    called (in any case), so a class called "can't tell" keeps its name."""
    from alc_data.constants import UNANSWERABLE_CHOICES

    taken = {n.casefold() for n in class_names}
    return next((w for w in UNANSWERABLE_CHOICES if w not in taken), "?")

