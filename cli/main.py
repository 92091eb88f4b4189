"""Entry point: builds the Typer app and turns errors into one-line messages."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer

from alc_data import __version__

app = typer.Typer(
    name="alc-data",
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
) -> None:
    """alc-data: ingest a dataset, score its labels, ask correction queries, publish the corrected set."""


def _register() -> None:
    from alc_data_cli import commands

    commands.register(app)


_register()


def main() -> None:
    """Console-script entry point."""
    from alc_data.errors import AlcError

    debug = os.environ.get("ALC_DEBUG", "") not in ("", "0")
    try:
        app()
    except AlcError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted; re-run the same command to resume", err=True)
        sys.exit(130)
    except (OSError, ValueError) as exc:
        if debug:
            raise
        typer.echo(f"error: {type(exc).__name__}: {exc} (set ALC_DEBUG=1 for the traceback)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
