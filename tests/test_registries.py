"""Registries fail loudly: every built-in format, method and command is registered, none dropped."""

from __future__ import annotations

import importlib

import pytest


def test_every_builtin_format_registers_demo_included():
    from alc_data.ingest import FORMATS, load_formats

    load_formats()
    assert {"voc", "cityscapes", "coco", "folder", "hf", "demo"} <= set(FORMATS.names())


def test_a_missing_format_module_is_an_error(monkeypatch):
    import alc_data.ingest as ingest

    monkeypatch.setattr(ingest, "BUILTIN_FORMAT_MODULES", (*ingest.BUILTIN_FORMAT_MODULES, "alc_data.ingest.nope"))
    with pytest.raises(ModuleNotFoundError):
        ingest.load_formats()


def test_every_command_module_exists_and_registers():
    import typer

    from alc_data_cli import commands

    app = typer.Typer()
    commands.register(app)
    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert len(names) >= len(commands.GROUPS)
    for name in commands.GROUPS:
        importlib.import_module(f"alc_data_cli.{name}")


def test_a_missing_command_module_is_an_error(monkeypatch):
    import typer

    from alc_data_cli import commands

    monkeypatch.setattr(commands, "GROUPS", (*commands.GROUPS, "no_such_group"))
    with pytest.raises(ModuleNotFoundError):
        commands.register(typer.Typer())
