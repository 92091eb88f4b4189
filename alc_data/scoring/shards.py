"""Score tables as Parquet shards: written one per batch of images, selected from and merged by streaming.

Both engines write a round's scores this way (local: the driver, one shard per ``images_per_shard``
images; Ray: each actor, one shard per batch it scored). A shard is named after the position of its
first image in the scored sequence (``shard-000000123.parquet``), so the shards sorted by name hold the
rows in image order, whatever order they were written in. :func:`select_top_from_shards` reads one
shard at a time into :func:`~alc_data.scoring.select.select_top`, whose buffer is cut back to the
running top-B, so memory is bounded by one shard plus max(4 B, 65,536) rows, never every row;
:func:`merge_shards` copies the shards into the round's single ``scores.parquet`` one shard at a time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from alc_data.errors import InvalidInput, WorkspaceDamaged
from alc_data.scoring.select import select_top_counted
from alc_data.scoring.table import ScoreTable

#: images per shard of the local engine (and the default batch of a Ray actor)
IMAGES_PER_SHARD = 64
#: rows the streamed selection buffers before cutting back to the running top-B (when 4 B is less)
SELECT_BUFFER_ROWS = 1 << 16


@dataclass(frozen=True)
class Shard:
    """One written shard: the position of its first image, its number of images and rows, its path."""

    start: int
    images: int
    rows: int
    path: Path


def shard_path(folder: str | os.PathLike, start: int) -> Path:
    """``folder/shard-<start, 9 digits>.parquet``."""
    return Path(folder) / f"shard-{int(start):09d}.parquet"


def write_shard(folder: str | os.PathLike, start: int, tables: Sequence[ScoreTable]) -> Shard:
    """Write the score tables of ``len(tables)`` consecutive images (first at ``start``) as one shard,
    atomically (a retried batch rewrites the same file)."""
    table = ScoreTable.concat(tables)
    path = shard_path(folder, start)
    table.to_parquet(path)
    return Shard(start=int(start), images=len(tables), rows=len(table), path=path)


def write_shards(
    folder: str | os.PathLike, tables: Iterable[Any], *, images_per_shard: int = IMAGES_PER_SHARD, start: int = 0,
    write: Callable[[Path, int, list[Any]], Shard] | None = None,
) -> list[Shard]:
    """Write a stream of per-image score tables as shards of ``images_per_shard`` images each; only
    one shard's tables are held at a time. ``write(folder, start, items)`` writes one shard (default
    :func:`write_shard`; the error finder passes its own for its per-image results)."""
    write = write or write_shard
    if images_per_shard < 1:
        raise InvalidInput(f"images_per_shard must be at least 1, got {images_per_shard}")
    Path(folder).mkdir(parents=True, exist_ok=True)
    shards: list[Shard] = []
    pending: list[ScoreTable] = []
    first = start
    for table in tables:
        pending.append(table)
        if len(pending) >= images_per_shard:
            shards.append(write(Path(folder), first, pending))
            first += len(pending)
            pending = []
    if pending:
        shards.append(write(Path(folder), first, pending))
    return shards


def ordered_shards(shards: Iterable[Shard], total_images: int) -> list[Shard]:
    """The shards by first image, checked to cover images 0..total-1 exactly once (a shard missing or written twice means a lost or duplicated batch: AlcError, nothing registered)."""
    ordered = sorted(shards, key=lambda s: s.start)
    expected = 0
    for shard in ordered:
        if shard.start != expected:
            raise WorkspaceDamaged(
                f"score shards do not cover the images exactly (expected image {expected}, shard {shard.path.name} "
                f"starts at {shard.start}); rerun the scoring"
            )
        expected += shard.images
    if expected != total_images:
        raise WorkspaceDamaged(f"score shards cover {expected} of {total_images} images; rerun the scoring")
    return ordered


def iter_shard_tables(paths: Iterable[str | os.PathLike]) -> Iterator[ScoreTable]:
    """Each shard's table in turn (one shard in memory at a time)."""
    for path in paths:
        yield ScoreTable.from_parquet(path)


def count_rows(paths: Iterable[str | os.PathLike]) -> int:
    """Total rows of the shards, from their Parquet footers (no data read)."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in paths)


def select_top_from_shards(paths: Sequence[str | os.PathLike], budget: int, *, exclude: Any = None) -> ScoreTable:
    """The global top-``budget`` over the shards, streamed: exactly what :func:`select_top` gives on
    the concatenated table (same rows, same order, same ties), without ever holding every row."""
    return select_counted_from_shards(paths, budget, exclude=exclude)[0]


def select_counted_from_shards(paths: Sequence[str | os.PathLike], budget: int, *, exclude: Any = None,
                               too_few: Callable[[int, int], str] | None = None) -> tuple[ScoreTable, int]:
    """:func:`select_top_from_shards` and the number of candidates left after ``exclude``, counted in the
    same pass (``too_few``: as :func:`~alc_data.scoring.select.select_top_counted`)."""
    return select_top_counted(iter_shard_tables(paths), budget, exclude=exclude, buffer_rows=SELECT_BUFFER_ROWS,
                              too_few=too_few)


def merge_shards(paths: Sequence[str | os.PathLike], dest: str | os.PathLike) -> int:
    """Copy the shards, in the order given, into one Parquet file ``dest`` (one row group per shard),
    streaming and atomically (temp file + ``os.replace``). Returns the number of rows."""
    import pyarrow.parquet as pq

    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    schema = ScoreTable.empty().to_arrow().schema
    rows = 0
    try:
        with pq.ParquetWriter(tmp, schema) as writer:
            for path in paths:
                table = pq.read_table(path).cast(schema)
                if table.num_rows:
                    writer.write_table(table)
                rows += table.num_rows
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return rows

