"""``alc-data superpixels``: compute a named superpixel set with any registered method."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from alc_data.engine import as_engine
from alc_data.superpixels import with_checkpoint
from alc_data_cli.options import DEFAULT_WORKSPACE, EngineOpt, JsonOpt, RayAddressOpt, WorkspaceOpt, console, open_workspace, print_json


def _method_help() -> str:
    from alc_data.superpixels import SUPERPIXEL_METHODS, load_methods

    load_methods()
    return f"Superpixel method (see --list): {', '.join(SUPERPIXEL_METHODS.names())}."


def superpixels(
    method: Annotated[Optional[str], typer.Option("--method", "-m", help=_method_help())] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    name: Annotated[Optional[str], typer.Option("--name", help="Name of the set to write (default: the method's name).")] = None,
    param: Annotated[
        Optional[list[str]],
        typer.Option("--param", "--set", "-p", help="Method parameter key=value (repeatable; a TOML value: 12, 0.5, true, \"text\"; bare words and paths are text)."),
    ] = None,
    sam: Annotated[Optional[Path], typer.Option("--sam", help="SAM checkpoint for the SAM-based methods (same as --param checkpoint=PATH).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing set of the same name.")] = False,
    list_methods: Annotated[bool, typer.Option("--list", help="List the registered methods and their parameters, then exit.")] = False,
    engine: EngineOpt = "local",
    ray_address: RayAddressOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compute superpixels for every image and store them as a named set; prints regions per image."""
    from alc_data.overrides import parse_overrides
    from alc_data.stages.superpixels import SuperpixelOptions
    from alc_data.stages.superpixels import superpixels as run_stage

    if list_methods:
        _list_methods(as_json)
        return
    params = with_checkpoint(parse_overrides(param, option="--param"), None if sam is None else str(sam))
    options = SuperpixelOptions(method, name=name, params=params, overwrite=overwrite, engine=as_engine(engine),
                                ray_address=ray_address)
    result = run_stage(open_workspace(workspace), options)
    if as_json:
        print_json(result.to_dict())
        return
    r = result.regions
    typer.echo(
        f"superpixel set {result.name} ({result.method}): {result.images} images, "
        f"{r['mean']:.1f} regions per image (min {r['min']}, max {r['max']}), "
        f"mean region {result.mean_region_area:.0f} px, candidates {100 * result.candidate_share:.1f} % of pixels; "
        f"{result.seconds:.1f} s ({result.seconds_per_image:.3f} s per image)"
    )


def _list_methods(as_json: bool) -> None:
    from alc_data.superpixels import describe_methods

    rows = describe_methods()
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    t = Table(title="superpixel methods", show_lines=True)
    for col in ("method", "what", "parameters (default)"):
        t.add_column(col, overflow="fold")  # a long word (a module path, a parameter) folds, never cut
    for r in rows:
        t.add_row(r["name"], r["summary"], ", ".join(f"{k}={v}" for k, v in r["params"].items()))
    console().print(t)


def register(app: typer.Typer) -> None:
    app.command("superpixels")(superpixels)
