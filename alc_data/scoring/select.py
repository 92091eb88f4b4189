"""Pick the global top-B superpixels of a round over every image's score table."""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from alc_data.errors import InvalidInput
from alc_data.scoring.table import ScoreTable

_MIN_BUFFER_ROWS = 1 << 20


def _exclusions(exclude: Any) -> dict[str, np.ndarray]:
    """{image_id: sorted unique superpixel ids (int64)} from pairs or a ScoreTable."""
    if exclude is None:
        return {}
    if isinstance(exclude, ScoreTable):
        pairs: Iterable[Any] = zip(exclude.image_id.tolist(), exclude.superpixel_id.tolist())
    else:
        pairs = exclude
    by_image: dict[str, list[int]] = {}
    for pair in pairs:
        try:
            image_id, sp_id = pair
        except (TypeError, ValueError):
            raise InvalidInput(
                f"exclude must hold (image_id, superpixel_id) pairs, got {pair!r}"
            ) from None
        by_image.setdefault(str(image_id), []).append(int(sp_id))
    return {k: np.unique(np.asarray(v, dtype=np.int64)) for k, v in by_image.items()}


def _drop_excluded(table: ScoreTable, excl: dict[str, np.ndarray]) -> ScoreTable:
    if not excl or len(table) == 0:
        return table
    ids = table.image_id
    first = ids[0]
    if (ids == first).all():
        images = [first]
    else:
        images = np.unique(ids.astype(str)).tolist()
    keep = np.ones(len(table), dtype=bool)
    for image in images:  # one iteration per image, not per superpixel
        asked = excl.get(str(image))
        if asked is None:
            continue
        rows = (ids == image) if len(images) > 1 else slice(None)
        keep[rows] &= ~np.isin(table.superpixel_id[rows], asked)
    return table if keep.all() else table.take(keep)


def rank_order(table: ScoreTable) -> np.ndarray:
    """Row order by (-score, image_id, superpixel_id): (N,) int64 indices, best first.

    NaN scores go last.
    """
    if len(table) == 0:
        return np.empty(0, dtype=np.int64)
    _, image_rank = np.unique(table.image_id.astype(str), return_inverse=True)
    return np.lexsort((table.superpixel_id, image_rank.reshape(-1), -table.score))


def _top(table: ScoreTable, budget: int) -> ScoreTable:
    return table.take(rank_order(table)[:budget])


def select_top(
    tables: ScoreTable | Iterable[ScoreTable],
    budget: int,
    *,
    exclude: Any = None,
    buffer_rows: int | None = None,
) -> ScoreTable:
    """The global top-``budget`` superpixels over all images (not per image).

    Args:
        tables: one :class:`ScoreTable` or an iterable of them (for example one per image, read
            lazily); rows are (image_id, superpixel_id) pairs expected to be unique.
        budget: number of queries B (>= 1).
        exclude: (image_id, superpixel_id) pairs already asked (a set of tuples, or a
            ScoreTable of earlier selections); they are skipped.
        buffer_rows: cut the buffer back to the running top-B when it exceeds max(4 B,
            ``buffer_rows``) rows (default 2**20); the result does not depend on it.

    Returns:
        A ScoreTable of ``budget`` rows ordered by (-score, image_id, superpixel_id): the best
        first, ties broken by image id then superpixel id, so the choice is deterministic.

    Raises:
        AlcError: ``budget`` < 1, or more than the candidates left after ``exclude``.

    Memory: tables are buffered and cut back to the running top-B whenever the buffer exceeds
    max(4 B, ``buffer_rows``) rows, so a stream of tables never holds much more than that.
    """
    return select_top_counted(tables, budget, exclude=exclude, buffer_rows=buffer_rows)[0]


def select_top_counted(
    tables: ScoreTable | Iterable[ScoreTable],
    budget: int,
    *,
    exclude: Any = None,
    buffer_rows: int | None = None,
    too_few: Callable[[int, int], str] | None = None,
) -> tuple[ScoreTable, int]:
    """:func:`select_top` and the number of candidates left after ``exclude`` (counted on the way).
    ``too_few(budget, left)`` words the error when ``budget`` exceeds the candidates left (a caller
    that knows the set and the rounds says why and what to pass)."""
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise InvalidInput(
            f"budget must be a positive number of queries, got {budget!r}; pass --budget 1 or more"
        )
    budget = int(budget)
    if isinstance(tables, ScoreTable):
        tables = [tables]
    excl = _exclusions(exclude)
    limit = max(4 * budget, _MIN_BUFFER_ROWS if buffer_rows is None else int(buffer_rows))
    buffer: list[ScoreTable] = []
    buffered = 0
    left = 0
    for table in tables:
        if not isinstance(table, ScoreTable):
            raise InvalidInput(f"select_top expects ScoreTable objects, got {type(table).__name__}")
        table = _drop_excluded(table, excl)
        left += len(table)
        buffer.append(table)
        buffered += len(table)
        if buffered > limit:
            buffer = [_top(ScoreTable.concat(buffer), budget)]
            buffered = len(buffer[0])
    if budget > left:
        raise InvalidInput(too_few(budget, left) if too_few is not None else
                           f"budget {budget} exceeds the {left} candidates left; lower --budget")
    return _top(ScoreTable.concat(buffer), budget), left
