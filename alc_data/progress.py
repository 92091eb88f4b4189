"""Progress bars (rich) for loops over images; silenced with ``ALC_PROGRESS=0``."""

from __future__ import annotations

import contextlib
import os
from typing import Callable, Iterable, Iterator, Sized, TypeVar

T = TypeVar("T")


def progress_enabled() -> bool:
    return os.environ.get("ALC_PROGRESS", "1") not in ("0", "false", "no")


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate ``items`` with a rich progress bar on stderr (transient)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import track as rich_track

    if total is None and isinstance(items, Sized):
        total = len(items)
    yield from rich_track(
        items,
        description=escape(description),  # names in it are the user's, never markup
        total=total,
        console=Console(stderr=True),
        disable=not progress_enabled(),
        transient=True,
    )


@contextlib.contextmanager
def counting(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr (transient) for work that finishes in chunks (a Ray batch, a shard):
    yields ``advance(n)``, to call with the number of items each chunk finished."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), disable=not progress_enabled(), transient=True) as bar:
        task = bar.add_task(escape(description), total=total)
        yield lambda n: bar.advance(task, n)
