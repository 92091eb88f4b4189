"""Registers every command group on the app (imports are cheap: no heavy libraries).

Every module listed in GROUPS must exist: a missing one is an import error, never a silently missing
command. Errors become exit codes in one place, :func:`alc_data_cli.main.main`."""

from __future__ import annotations

import importlib

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
    "check",
)


def register(app: typer.Typer) -> None:
    for name in GROUPS:
        importlib.import_module(f"alc_data_cli.{name}").register(app)
