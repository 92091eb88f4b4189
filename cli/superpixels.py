"""``alc-data superpixels``: compute a named superpixel set with any registered method."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from alc_data_cli.options import DEFAULT_WORKSPACE, JsonOpt, WorkspaceOpt, console, open_workspace, print_json


def parse_param_value(text: str) -> Any:
    """A ``--param`` value: int, else float, else true/false as bool, else the string itself."""
    text = text.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """``["key=value", ...]`` → dict (a later key wins); AlcError for an item without ``key=``."""
    from alc_data.errors import AlcError

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise AlcError(f"--param {item!r}: expected key=value, e.g. --param num_superpixels=1024")
        out[key] = parse_param_value(value)
    return out


def method_table() -> list[dict[str, Any]]:
    """Registered methods: name, first docstring paragraph and keyword parameters with defaults."""
    import inspect

    from alc_data.superpixels import SUPERPIXEL_METHODS, load_methods

    load_methods()
    rows = []
    for name in SUPERPIXEL_METHODS:
        fn = SUPERPIXEL_METHODS.get(name)
        doc = " ".join((inspect.getdoc(fn) or "").strip().split("\n\n")[0].split()).replace("``", "")
        params = {
            p.name: (None if p.default is inspect.Parameter.empty else p.default)
            for p in inspect.signature(fn).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "context"
        }
        rows.append({"name": name, "summary": doc, "params": params})
    return rows


def superpixels(
    method: Annotated[Optional[str], typer.Option("--method", "-m", help="Superpixel method (see --list): seeds, slic, felzenszwalb, imported, sam, gsam, ...")] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    name: Annotated[Optional[str], typer.Option("--name", help="Name of the set to write (default: the method's name).")] = None,
    param: Annotated[
        Optional[list[str]],
        typer.Option("--param", "--set", "-p", help="Method parameter key=value (repeatable; int, float, true/false or text)."),
    ] = None,
    sam: Annotated[Optional[Path], typer.Option("--sam", help="SAM checkpoint for the SAM-based methods (same as --param checkpoint=PATH).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing set of the same name.")] = False,
    list_methods: Annotated[bool, typer.Option("--list", help="List the registered methods and their parameters, then exit.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Compute superpixels for every image and store them as a named set; prints regions per image."""
    import time

    from alc_data.errors import AlcError
    from alc_data.superpixels import SUPERPIXEL_METHODS, compute_superpixel_set, load_methods
    from alc_data.superpixels.utils import check_params, set_summary

    if list_methods:
        rows = method_table()
        if as_json:
            print_json(rows)
            return
        from rich.table import Table

        t = Table(title="superpixel methods")
        for col in ("method", "what", "parameters (default)"):
            t.add_column(col)
        for r in rows:
            t.add_row(r["name"], r["summary"], ", ".join(f"{k}={v}" for k, v in r["params"].items()))
        console().print(t)
        return
    load_methods()
    if not method:
        raise AlcError(f"pass --method (one of: {', '.join(SUPERPIXEL_METHODS.names())}) or --list")
    fn = SUPERPIXEL_METHODS.get(method)
    params = parse_params(param)
    if sam is not None:
        if "checkpoint" in params and str(params["checkpoint"]) != str(sam):
            raise AlcError("the checkpoint is given twice (--sam and --param checkpoint=...); give it once")
        params["checkpoint"] = str(sam)
    check_params(fn, params, f"superpixel method {method!r}")
    ws = open_workspace(workspace)
    start = time.perf_counter()
    set_name = compute_superpixel_set(ws, method, name=name, params=params, overwrite=overwrite)
    seconds = time.perf_counter() - start
    summary = set_summary(ws, set_name).to_dict()
    summary["seconds"] = round(seconds, 3)
    summary["seconds_per_image"] = round(seconds / summary["images"], 4) if summary["images"] else 0.0
    if as_json:
        print_json(summary)
        return
    r = summary["regions"]
    typer.echo(
        f"superpixel set {summary['name']} ({summary['method']}): {summary['images']} images, "
        f"{r['mean']:.1f} regions per image (min {r['min']}, max {r['max']}), "
        f"mean region {summary['mean_region_area']:.0f} px, candidates {100 * summary['candidate_share']:.1f} % of pixels; "
        f"{seconds:.1f} s ({summary['seconds_per_image']:.3f} s per image)"
    )


def register(app: typer.Typer) -> None:
    app.command("superpixels")(superpixels)
