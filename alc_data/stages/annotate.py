"""The annotate stage: serve a round's queries on a local web page until interrupted.

An answer's walk: the page posts ``/api/answer``; :class:`alc_data.annotate.app.PageAnswer` checks the
request once (the query, the class index or the choice text, the seconds, the annotator) and turns it
into an :class:`~alc_data.answers.record.Answer` (a class index stays an index); the ledger records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from alc_data.annotate.server import serve
from alc_data.workspace import Workspace


@dataclass(frozen=True)
class AnnotateOptions:
    """The round to answer (None: the latest), where to listen (``host``, ``port``; 0: any free port),
    who answers (the page can change it) and whether to open the page in the default browser."""

    annotator: str
    round: int | None = None
    host: str = "127.0.0.1"
    port: int = 8765
    open_browser: bool = False


def annotate(ws: Workspace, options: AnnotateOptions, *, echo: Callable[[str], None] = print) -> None:
    """Serve the round's queries until Ctrl+C; every answer is in the ledger as soon as it is given
    (nothing to return: ``alc-data correct`` applies them)."""
    serve(ws, round_no=options.round, host=options.host, port=options.port, annotator=options.annotator,
          open_browser=options.open_browser, echo=echo)
