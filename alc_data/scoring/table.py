"""The score table: one small record per candidate superpixel, as equal-length numpy columns.

A score table is what the scorer keeps from an image once its probabilities are gone (docs/contracts.md):
a few bytes per superpixel, whatever the image size. It is stored as parquet, one file per
round, and ``select_top`` picks the queries from it.
"""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from alc_data.errors import InvalidInput, NotFound
from alc_data.io.atomic import atomic_write_bytes

COLUMNS: tuple[str, ...] = (
    "image_id",
    "superpixel_id",
    "rep_row",
    "rep_col",
    "label_at_rep",
    "dominant",
    "area",
    "score",
)
"""Column names in their stored order."""

_DTYPES: dict[str, Any] = {
    "image_id": object,
    "superpixel_id": np.int32,
    "rep_row": np.int32,
    "rep_col": np.int32,
    "label_at_rep": np.uint8,
    "dominant": np.uint8,
    "area": np.int64,
    "score": np.float64,
}

_SCHEMA_TAG = b"alc_data.score_table"


@dataclasses.dataclass(frozen=True, eq=False)
class ScoreTable:
    """Per-superpixel scores, one row per candidate superpixel.

    Columns (all 1-D numpy arrays of the same length N):

    - ``image_id``: (N,) object array of ``str``.
    - ``superpixel_id``: (N,) int32, the id in the image's superpixel map.
    - ``rep_row``, ``rep_col``: (N,) int32, the representative pixel rep(s).
    - ``label_at_rep``: (N,) uint8, the current label at rep(s) (may be ``IGNORE_INDEX``).
    - ``dominant``: (N,) uint8, the dominant prediction dom(s).
    - ``area``: (N,) int64, the number of pixels of s.
    - ``score``: (N,) float64, the acquisition score; higher = ask first.

    Columns are read as attributes (``table.score``) or by name (``table["score"]``). Indexing with
    anything else (an int array, a boolean mask, a slice) selects rows and gives a new table. Values
    are coerced to the dtypes above on construction; a ``str`` ``image_id`` is repeated for every
    row.
    """

    image_id: np.ndarray
    superpixel_id: np.ndarray
    rep_row: np.ndarray
    rep_col: np.ndarray
    label_at_rep: np.ndarray
    dominant: np.ndarray
    area: np.ndarray
    score: np.ndarray

    def __post_init__(self) -> None:
        n = len(np.asarray(self.superpixel_id).reshape(-1))
        for name in COLUMNS:
            value = getattr(self, name)
            if name == "image_id" and isinstance(value, str):
                col = np.empty(n, dtype=object)
                col[:] = value
            else:
                col = np.asarray(value)
                if col.ndim != 1:
                    raise InvalidInput(
                        f"score table column {name!r} must be 1-D, got shape {col.shape}; "
                        "pass one value per superpixel"
                    )
                col = col.astype(_DTYPES[name], copy=False)
            if len(col) != n:
                raise InvalidInput(
                    f"score table column {name!r} has {len(col)} rows but superpixel_id has {n}; "
                    "pass columns of equal length"
                )
            object.__setattr__(self, name, col)

    # -- access -----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.superpixel_id)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            if key not in COLUMNS:
                raise KeyError(f"no column {key!r}; the columns are {', '.join(COLUMNS)}")
            return getattr(self, key)
        return self.take(key)

    def __repr__(self) -> str:
        return f"ScoreTable({len(self)} rows)"

    @property
    def columns(self) -> tuple[str, ...]:
        return COLUMNS

    def to_dict(self) -> dict[str, np.ndarray]:
        """The columns as a ``{name: array}`` dict (the arrays themselves, not copies)."""
        return {name: getattr(self, name) for name in COLUMNS}

    def take(self, rows: Any) -> "ScoreTable":
        """A new table with the given rows (int indices, boolean mask or slice), in that order."""
        return ScoreTable(**{name: getattr(self, name)[rows] for name in COLUMNS})

    def equals(self, other: "ScoreTable") -> bool:
        """True when both tables hold the same rows in the same order (scores compared exactly; NaN
        scores equal NaN)."""
        return len(self) == len(other) and all(
            np.array_equal(getattr(self, c), getattr(other, c), equal_nan=c == "score") for c in COLUMNS
        )

    # -- building ---------------------------------------------------------------------------------

    @classmethod
    def empty(cls) -> "ScoreTable":
        """A table with no rows."""
        return cls(**{name: np.empty(0, dtype=_DTYPES[name]) for name in COLUMNS})

    @classmethod
    def concat(cls, tables: Iterable["ScoreTable"]) -> "ScoreTable":
        """Stack tables row-wise, in the order given; no tables gives an empty table."""
        tables = list(tables)
        for t in tables:
            if not isinstance(t, ScoreTable):
                raise InvalidInput(f"expected ScoreTable objects to concatenate, got {type(t).__name__}")
        if not tables:
            return cls.empty()
        if len(tables) == 1:
            return tables[0]
        return cls(**{name: np.concatenate([getattr(t, name) for t in tables]) for name in COLUMNS})

    # -- arrow / parquet --------------------------------------------------------------------------

    def to_arrow(self) -> Any:
        """The table as a ``pyarrow.Table`` (image_id: string, the rest with the dtypes above)."""
        import pyarrow as pa

        fields = [
            pa.field("image_id", pa.string()),
            pa.field("superpixel_id", pa.int32()),
            pa.field("rep_row", pa.int32()),
            pa.field("rep_col", pa.int32()),
            pa.field("label_at_rep", pa.uint8()),
            pa.field("dominant", pa.uint8()),
            pa.field("area", pa.int64()),
            pa.field("score", pa.float64()),
        ]
        schema = pa.schema(fields, metadata={_SCHEMA_TAG: b"1"})
        arrays = [pa.array(self.image_id.tolist(), type=pa.string())]
        arrays += [pa.array(getattr(self, f.name), type=f.type) for f in fields[1:]]
        return pa.Table.from_arrays(arrays, schema=schema)

    @classmethod
    def from_arrow(cls, table: Any, *, source: str = "arrow table") -> "ScoreTable":
        """Build a score table from a ``pyarrow.Table`` holding at least the score-table columns."""
        missing = [c for c in COLUMNS if c not in table.column_names]
        if missing:
            raise InvalidInput(
                f"{source}: not a score table, missing column(s) {', '.join(missing)}; "
                "pass a file written by ScoreTable.to_parquet"
            )
        cols: dict[str, np.ndarray] = {}
        for name in COLUMNS:
            chunked = table.column(name)
            if name == "image_id":
                col = np.empty(len(chunked), dtype=object)
                col[:] = chunked.to_pylist()
            else:
                if chunked.null_count:
                    raise InvalidInput(f"{source}: column {name!r} holds nulls; recompute the scores")
                col = chunked.to_numpy()
            cols[name] = col
        return cls(**cols)

    def to_parquet(self, path: str | os.PathLike) -> None:
        """Write the table to ``path`` as parquet, atomically (temp file + ``os.replace``)."""
        import pyarrow.parquet as pq

        buf = io.BytesIO()
        pq.write_table(self.to_arrow(), buf)
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def from_parquet(cls, path: str | os.PathLike) -> "ScoreTable":
        """Read a table written by :meth:`to_parquet`."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        try:
            table = pq.read_table(path)
        except FileNotFoundError:
            raise NotFound(f"{path}: score table not found; run the scoring step first") from None
        except (pa.ArrowException, OSError) as exc:
            raise InvalidInput(f"{path}: unreadable score table ({exc}); recompute the scores") from None
        return cls.from_arrow(table, source=str(path))
