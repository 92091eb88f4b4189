"""Entry point: builds the Typer app and turns errors into one-line messages."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer

from alc_data import __version__
from alc_data.errors import EXIT_BUG, AlcError
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


def _one_line_warning(message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
    """A warning is one line on stderr, ``warning: <message>`` (Python's default adds the source line)."""
    typer.echo(f"warning: {message}", err=True)


def main() -> None:
    """Console-script entry point and the one place that turns exceptions into exit codes.

    An :class:`AlcError` prints its :meth:`~AlcError.report` line (``error: <message>``) and exits with
    its class's ``exit_code`` (2; 1 for :class:`~alc_data.errors.ChecksFailed`); an unexpected exception
    is a bug: one line naming it, a pointer to ``ALC_DEBUG=1`` for the traceback, exit 3. With
    ``ALC_DEBUG=1`` both raise with their traceback (except an error whose class says otherwise).
    """
    import warnings

    debug = os.environ.get("ALC_DEBUG", "") not in ("", "0")
    try:
        with warnings.catch_warnings():
            if not debug:
                warnings.showwarning = _one_line_warning
            app()
    except KeyboardInterrupt:
        _interrupted()
    except SystemExit as exc:  # Typer turns Ctrl-C into a silent exit 130 (typer.Exit from KeyboardInterrupt)
        if exc.code == 130 and _from_ctrl_c(exc):
            _interrupted()
        raise
    except AlcError as exc:
        if debug and exc.debug_traceback:
            raise
        line = exc.report()
        if line:
            typer.echo(line, err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - the one place that reports bugs
        if debug:
            raise
        typer.echo(
            f"internal error: {type(exc).__name__}: {exc} (a bug in alc-data; run with ALC_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(EXIT_BUG)


def _from_ctrl_c(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while handling a KeyboardInterrupt (its context or cause chain holds one)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


RESUMING = {"run": "re-run the same command to resume", "pseudo-label": "re-run the same command to resume",
            "train": "re-run it with the --run-dir printed above to resume"}
"""What Ctrl-C says of the commands that resume; every other command keeps nothing half-done and starts again."""


def _interrupted() -> None:
    command = next((a for a in sys.argv[1:] if not a.startswith("-")), "")
    then = RESUMING.get(command, "re-run the same command to start again (nothing half-done was kept)")
    typer.echo(f"interrupted; {then}", err=True)
    sys.exit(130)


if __name__ == "__main__":
    main()
