"""Registers every command group on the app (imports are cheap: no heavy libraries) and wraps each
command so that a user-fixable error (:class:`AlcError`) becomes one line on stderr and exit code 2,
the same whether the app runs as the console script or under a test runner."""

from __future__ import annotations

import functools
import importlib
import os

import typer

#: modules in cli/ that define ``register(app)``
GROUPS = (
    "ingest",
    "info",
    "superpixels",
    "pseudo_label",
    "score",
    "queries",
    "correct",
    "annotate",
    "train",
    "evaluate",
    "run",
    "demo",
    "diff",
    "publish",
)


def one_line_errors(fn):
    """Turn AlcError into ``error: <message>`` + exit code 2 (traceback only with ALC_DEBUG=1)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from alc_data.errors import AlcError

        try:
            return fn(*args, **kwargs)
        except AlcError as exc:
            if os.environ.get("ALC_DEBUG", "") not in ("", "0"):
                raise
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    return wrapper


def _wrap_all(app: typer.Typer) -> None:
    for info in app.registered_commands:
        if info.callback is not None and not getattr(info.callback, "__wrapped__", None):
            info.callback = one_line_errors(info.callback)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            _wrap_all(group.typer_instance)


def register(app: typer.Typer) -> None:
    for name in GROUPS:
        try:
            module = importlib.import_module(f"alc_data_cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"alc_data_cli.{name}":
                continue  # group not built yet
            raise
        module.register(app)
    _wrap_all(app)
