"""Registers every command group on the app (imports are cheap: no heavy libraries)."""

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
    "train",
    "evaluate",
    "run",
    "demo",
    "diff",
    "publish",
)


def register(app: typer.Typer) -> None:
    for name in GROUPS:
        try:
            module = importlib.import_module(f"alc_data_cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"alc_data_cli.{name}":
                continue  # group not built yet
            raise
        module.register(app)
