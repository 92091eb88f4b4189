"""The annotate stage: serve a round's queries on a local web page until interrupted.

An answer's walk: the page posts ``/api/answer``; :class:`alc_data.annotate.app.PageAnswer` checks the
request once (the query, the class index or the choice text, the seconds, the annotator) and turns it
into an :class:`~alc_data.answers.record.Answer` (a class index stays an index); the ledger records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from alc_data.hints import command
from alc_data.annotate.server import check_port, serve
from alc_data.correction.review import REVIEW, open_review_round
from alc_data.errors import InvalidInput
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
    review: str | None = None

    def __post_init__(self) -> None:
        check_port(self.port)
        if self.review is not None and self.review != REVIEW:
            raise InvalidInput(f"--review {self.review!r} is unknown; the only review is '{REVIEW}' (automatic relabels)")
        if self.review is not None and self.round is not None:
            raise InvalidInput("give --round or --review, not both: --review opens the round of relabels to review")


def annotate(ws: Workspace, options: AnnotateOptions, *, echo: Callable[[str], None] = print) -> None:
    """Serve the round's queries until Ctrl+C; every answer is in the ledger as soon as it is given
    (nothing to return: ``alc-data correct`` applies them). With ``review``, the round is the one that
    shows the unreviewed automatic relabels (:mod:`alc_data.correction.review`)."""
    round_no = options.round
    if options.review is not None:
        round_no = open_review_round(ws)
        if round_no is None:
            echo("no automatic relabel is left to review")
            return
        echo(f"round {round_no}: {len(ws.ledger.queries(round_no))} automatic relabels to review; "
             f"apply the verdicts with `{command('correct', '-w', ws.root, '--round', round_no)}`")
    serve(ws, round_no=round_no, host=options.host, port=options.port, annotator=options.annotator,
          open_browser=options.open_browser, echo=echo)
