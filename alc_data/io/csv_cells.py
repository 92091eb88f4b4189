"""CSV files people open in spreadsheets: cells that cannot start a formula, and a strict reader.

Escaping (CSV injection): a cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return
is written with a leading ``'`` (spreadsheets then show it as text and hide the ``'``); so is a cell
that starts with ``'`` itself, which keeps the escaping reversible. :func:`unescape_cell` undoes exactly
that: it drops a leading ``'`` only when the next character is one of those seven. A person who types
``=x`` or ``'=x`` into a cell gets ``=x`` either way.

Reading: the file object is read by :mod:`csv` with ``newline=""`` (never ``str.splitlines``, which
also splits on U+2028 and other separators inside a cell), UTF-8 with an optional byte-order mark, in
strict mode; every error of the csv module becomes one line naming the file and the line. Cells are
separated by commas, or by semicolons or tabs when the header line has none of those but has them (what
spreadsheets in many locales, and "Unicode text", save as CSV).
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Iterable, Sequence

from alc_data.errors import InvalidInput, NotFound

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED_START = FORMULA_START + ("'",)


def escape_cell(value: object) -> str:
    """``str(value)``, prefixed with ``'`` when it starts with a formula character or ``'``."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_ESCAPED_START) else text


def unescape_cell(text: str) -> str:
    """The inverse of :func:`escape_cell`: drop a leading ``'`` followed by a formula character or ``'``."""
    return text[1:] if text.startswith("'") and text[1:2] in _ESCAPED_START else text


def encode_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 CSV bytes (``\\n`` line ends, minimal quoting) with every cell escaped."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([escape_cell(c) for c in header])
    for row in rows:
        writer.writerow([escape_cell(c) for c in row])
    return buf.getvalue().encode("utf-8")


def header_delimiter(first_line: str) -> str:
    """The cell separator of a CSV whose header line is ``first_line``: ``,`` unless the line has no comma
    but semicolons or tabs (then the more frequent of the two)."""
    if "," in first_line:
        return ","
    semicolons, tabs = first_line.count(";"), first_line.count("\t")
    return "," if not (semicolons or tabs) else (";" if semicolons >= tabs else "\t")


def read_csv_rows(path: str | os.PathLike, what: str = "CSV file") -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """(header, [(line number, {column: unescaped cell})]) of a CSV file; the line number is the file
    line the row ends on; rows whose cells are all blank are skipped. Raises NotFound / InvalidInput (one line, naming the file and line)."""
    path = Path(path)
    rows: list[tuple[int, dict[str, str]]] = []
    reader = None
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            delimiter = header_delimiter(fh.readline())
            fh.seek(0)
            reader = csv.reader(fh, delimiter=delimiter, strict=True)
            header = [unescape_cell(c).strip() for c in next(reader, [])]
            if not header or header == [""]:
                raise InvalidInput(f"{path}: empty {what}; it needs a header row")
            dup = sorted({c for c in header if c and header.count(c) > 1})
            if dup:
                raise InvalidInput(f"{path}: column {dup[0]!r} appears twice in the header; keep one")
            for row in reader:
                if not any(c.strip() for c in row):  # an empty line, or `,,,` a spreadsheet keeps of a cleared row
                    continue
                cells = [unescape_cell(c) for c in row]
                rows.append((reader.line_num, dict(zip(header, cells + [""] * (len(header) - len(cells))))))
    except FileNotFoundError:
        raise NotFound(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path}: is a folder; pass the {what} itself") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text; save the {what} as CSV (UTF-8)") from None
    except csv.Error as exc:
        line = reader.line_num if reader is not None else 1
        if "field larger than field limit" in str(exc):
            detail = f"a cell is longer than {csv.field_size_limit():,} characters"
        else:
            detail = str(exc)
        raise InvalidInput(f"{path}: line {line}: {detail}; fix that row of the {what}") from None
    return header, rows
