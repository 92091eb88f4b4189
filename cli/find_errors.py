"""``alc-data errors``: find label errors with a trained model or a prediction folder, no loop needed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from alc_data.engine import Engine
from alc_data_cli.options import (DEFAULT_WORKSPACE, EngineOpt, JsonOpt, RayAddressOpt, VersionOpt, WorkspaceOpt,
                                  console, open_workspace, print_json)


def errors(
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help="Model checkpoint (from `alc-data train`).")] = None,
    predictions: Annotated[Optional[Path], typer.Option("--predictions", help="Instead of --model: a folder of <image_id>.npy/.npz (K, H, W) probabilities from any model.")] = None,
    logits: Annotated[bool, typer.Option("--logits", help="The --predictions files hold logits (softmax is applied).")] = False,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    superpixels: Annotated[Optional[str], typer.Option("--superpixels", "-s", help="Region set (default: the latest).")] = None,
    version: VersionOpt = None,
    split: Annotated[str, typer.Option("--split", help="Split whose labels are searched.")] = "train",
    top: Annotated[int, typer.Option("--top", help="Suspects listed and drawn in the report.")] = 20,
    report: Annotated[Optional[Path], typer.Option("--report", help="Write a self-contained HTML gallery of the top suspects.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="The suspects table (default: <workspace>/errors/errors.parquet).")] = None,
    queries: Annotated[Optional[int], typer.Option("--queries", help="Register the top N suspects as a round of correction queries.")] = None,
    skip_asked: Annotated[bool, typer.Option("--skip-asked/--no-skip-asked", help="With --queries: pass over regions asked in earlier rounds.")] = True,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per forward pass.")] = 4,
    engine: EngineOpt = Engine.LOCAL.value,
    ray_address: RayAddressOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rank every region by how likely its label is wrong; write the suspects table (and the report),
    measure against reference ground truth when the workspace has it."""
    from alc_data.stages.find_errors import ErrorsOptions, find_errors

    options = ErrorsOptions(
        checkpoint=model, predictions=predictions, logits=logits, superpixel_set=superpixels, label_version=version,
        split=split, top=top, report=report, out=out, queries=queries, skip_asked=skip_asked, batch_size=batch_size,
        engine=engine, ray_address=ray_address,
    )
    result = find_errors(open_workspace(workspace), options)
    if as_json:
        print_json(result.to_dict())
        return
    _print(result, queries)


def _print(result: Any, asked: int | None) -> None:
    from rich.table import Table

    con = console()
    con.print(f"{result.suspects} suspected regions of {result.regions} in {result.images} images "
              f"(labels {result.label_version}, regions {result.superpixel_set}); table in {result.table}")
    if result.top:
        t = Table(title=f"top suspects (score: {result.score})")
        for col in ("#", "image", "region", "current", "proposed", "conf", "area"):
            t.add_column(col)
        for r in result.top:
            t.add_row(str(r["rank"] + 1), r["image_id"], str(r["region"]), r["current_name"], r["proposed_name"],
                      f"{r['confidence']:.2f}", str(r["area"]))
        con.print(t)
    m = result.metrics
    if m is not None:
        pk = ", ".join(f"P@{k} {p:.2f}" for k, p in m.precision_at_k.items())
        con.print(f"against the reference: image AUPRC {m.image_auprc:.3f}, AUROC {m.image_auroc:.3f}, "
                  f"component AP {m.component_ap:.3f}; {pk}")
    if result.report is not None:
        con.print(f"report: {result.report}")
    if result.round is not None:
        fewer = "" if result.queries == asked else f" ({result.queries} of the {asked} queries asked: no more suspects)"
        con.print(f"round {result.round}: the top suspects are queries{fewer}; alc-data annotate serves them")


def register(app: typer.Typer) -> None:
    app.command("errors")(errors)
