"""``alc-data annotate``: answer a round's correction queries in the browser."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from alc_data_cli.options import DEFAULT_WORKSPACE, WorkspaceOpt, open_workspace


def annotate(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    round_no: Annotated[Optional[int], typer.Option("--round", "-r", help="Round to answer (default: the latest).")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; any but loopback needs the printed token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0: any free port).")] = 8765,
    annotator: Annotated[Optional[str], typer.Option("--annotator", help="Your name in the ledger (default: the user name; the page can change it).")] = None,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open the page in the default browser.")] = False,
    review: Annotated[Optional[str], typer.Option(
        "--review", help="'propagated': ask about the unreviewed automatic relabels (correct --propagate) instead of a "
        "round; a rejection gives the region the person's class.")] = None,
) -> None:
    """Serve the round's queries on a local web page, one at a time; every answer goes into the ledger at once."""
    from alc_data.names import current_user
    from alc_data.stages.annotate import AnnotateOptions, annotate as annotate_stage

    options = AnnotateOptions(annotator=annotator or current_user(), round=round_no, host=host, port=port,
                              open_browser=open_browser, review=review)
    annotate_stage(open_workspace(workspace), options, echo=lambda line: typer.echo(line))


def register(app: typer.Typer) -> None:
    app.command("annotate")(annotate)
