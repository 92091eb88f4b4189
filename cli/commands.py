"""Registers every command group on the app (imports are cheap: no heavy libraries).

Every module listed in GROUPS must exist: a missing one is an import error, never a silently missing
command. ``alc-data --help`` lists the commands in the order of GROUPS, the order of the work (ingest
first), groups of sub-commands included (:class:`WorkOrder`). Errors become exit codes in one place,
:func:`alc_data_cli.main.main`."""

from __future__ import annotations

import importlib

import click
import typer
from typer.core import TyperGroup

#: modules in cli/ that define ``register(app)``, in the order of the work
GROUPS = (
    "ingest",
    "info",
    "pseudo_label",
    "superpixels",
    "train",
    "score",
    "find_errors",
    "queries",
    "annotate",
    "correct",
    "evaluate",
    "diff",
    "publish",
    "run",
    "demo",
    "check",
)

#: command names in the order they were registered (filled by :func:`register`)
COMMAND_ORDER: list[str] = []


class WorkOrder(TyperGroup):
    """A Typer group that lists its commands in :data:`COMMAND_ORDER` (Typer lists sub-command groups
    after every plain command otherwise)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = super().list_commands(ctx)
        last = len(COMMAND_ORDER)
        return sorted(names, key=lambda n: COMMAND_ORDER.index(n) if n in COMMAND_ORDER else last)


def _names(app: typer.Typer) -> list[str]:
    commands = [c.name or (c.callback.__name__.replace("_", "-") if c.callback else "") for c in app.registered_commands]
    return commands + [g.name or "" for g in app.registered_groups]


def register(app: typer.Typer) -> None:
    for name in GROUPS:
        before = set(_names(app))
        importlib.import_module(f"alc_data_cli.{name}").register(app)
        COMMAND_ORDER.extend(n for n in _names(app) if n not in before)
