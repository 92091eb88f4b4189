"""Option aliases shared by the commands, and output helpers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

WorkspaceOpt = Annotated[
    Path,
    typer.Option(
        "--workspace",
        "-w",
        envvar="ALC_WORKSPACE",
        help="Workspace folder (env ALC_WORKSPACE).",
        show_default=True,
    ),
]
DEFAULT_WORKSPACE = Path("alc-workspace")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]
EngineOpt = Annotated[str, typer.Option("--engine", help="Where the per-image work runs: local, or ray (Ray Data over a cluster; pip install \"alc-data\\[ray]\").")]  # \\[: rich markup would take [ray] for a style
RayAddressOpt = Annotated[Optional[str], typer.Option("--ray-address", help="With --engine ray: the cluster to join (auto, or ray://HOST:10001); default: a local Ray instance.")]
VersionOpt = Annotated[
    Optional[str], typer.Option("--version", "-v", help="Label version (default: the latest).")
]
SetOpt = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Override a recipe value: key.sub=value (repeatable)."),
]


def print_json(data: Any) -> None:
    """Print strict JSON to stdout (no rich markup, and null for NaN: so any parser reads it)."""
    from alc_data.results import json_ready

    typer.echo(json.dumps(json_ready(data), indent=2, sort_keys=False, default=str, allow_nan=False))


def console():
    """A rich console that prints strings as plain text: class names, image ids and paths are the
    user's and may hold ``[...]`` or ``:name:``; styles are given as ``rich.text.Text`` objects."""
    from rich.console import Console

    return Console(markup=False, emoji=False)


def open_workspace(path: Path):
    from alc_data.workspace import Workspace

    return Workspace.open(path)
