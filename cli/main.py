"""Entry point: builds the Typer app and turns errors into one-line messages."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer

from alc_data import __version__
from alc_data_cli.commands import WorkOrder

app = typer.Typer(
    name="alc-data",
    cls=WorkOrder,
    help="Find and fix label errors in semantic-segmentation datasets (Active Label Correction).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"alc-data {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit."),
    ] = None,
    no_wait: Annotated[
        bool,
        typer.Option("--no-wait", help="Fail at once when another command is writing the workspace (default: wait for it)."),
    ] = False,
) -> None:
    """alc-data: ingest a dataset, score its labels, ask correction queries, publish the corrected set."""
    from alc_data.workspace.lock import set_wait

    set_wait(not no_wait)


def _register() -> None:
    from alc_data_cli import commands

    commands.register(app)


_register()

#: exit codes: 2 = a problem the user can fix (one line on stderr), 3 = a bug (an unexpected exception)
EXIT_USER_ERROR = 2
EXIT_BUG = 3


def main() -> None:
    """Console-script entry point and the one place that turns exceptions into exit codes.

    An :class:`AlcError` prints ``error: <message>`` and exits 2; an unexpected exception is a bug: one
    line naming it, a pointer to ``ALC_DEBUG=1`` for the traceback, exit 3. With ``ALC_DEBUG=1`` both
    raise with their traceback.
    """
    from alc_data.errors import AlcError

    debug = os.environ.get("ALC_DEBUG", "") not in ("", "0")
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted; re-run the same command to resume", err=True)
        sys.exit(130)
    except AlcError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USER_ERROR)
    except Exception as exc:  # noqa: BLE001 - the one place that reports bugs
        if debug:
            raise
        typer.echo(
            f"internal error: {type(exc).__name__}: {exc} (a bug in alc-data; run with ALC_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(EXIT_BUG)


if __name__ == "__main__":
    main()
