"""``alc-data info`` and ``alc-data export``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from alc_data.hints import command
from alc_data_cli.options import DEFAULT_WORKSPACE, JsonOpt, VersionOpt, WorkspaceOpt, console, open_workspace, print_json


def info(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    version: VersionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Classes, split counts, label versions, per-class pixel shares and annotation cost."""
    from alc_data.info import summary

    data = summary(open_workspace(workspace), version=version)
    if as_json:
        print_json(data.to_dict())
        return
    from rich.table import Table
    from rich.text import Text

    con = console()
    con.print(Text.assemble((data.dataset, "bold"), f" in {data.workspace}: {data.images} images "
                            f"({data.with_ground_truth} with reference ground truth)"))
    con.print("splits: " + ", ".join(f"{k} {v}" for k, v in data.splits.items()))
    shares = data.pixel_shares or {}
    t = Table(title=f"classes (pixel shares in {data.pixel_shares_version})")
    for col in ("index", "name", "share"):
        t.add_column(col)
    for c in data.classes:
        t.add_row(str(c.index), c.name, f"{100 * shares[c.name]:.2f} %")
    t.add_row("255", "void", f"{100 * (data.void_share or 0.0):.2f} %")
    con.print(t)
    con.print("label versions: " + " → ".join(v.name for v in data.label_versions))
    if data.superpixel_sets:
        con.print("superpixel sets: " + ", ".join(f"{s.name} ({s.method})" for s in data.superpixel_sets))
    if data.cost.rounds:
        # two tables, so that each fits an 80-column terminal with its headers whole
        answers = Table(title="annotation cost: answers")
        for col in ("round", "queries", "accepted", "corrected", "unanswerable"):
            answers.add_column(col)
        time = Table(title="annotation cost: time")
        for col in ("round", "correction queries", "classification queries", "measured s / query"):
            time.add_column(col)
        for r in [*data.cost.rounds, data.cost.total]:
            name = "total" if r.round is None else str(r.round)
            answers.add_row(name, str(r.queries), str(r.accepted), str(r.corrected), str(r.unanswerable))
            time.add_row(name, f"{r.correction_query_seconds / 60:.1f} min", f"{r.classification_query_seconds / 60:.1f} min",
                         "–" if r.measured_median_seconds is None else f"{r.measured_median_seconds:.1f} s")
        con.print(answers)
        con.print(time)
        for r in data.cost.rounds:
            if r.unapplied:
                typer.echo(f"round {r.round}: {r.unapplied} answers recorded but not applied yet; "
                           f"run `{command('correct', '-w', data.workspace, '--round', r.round)}`")
    if data.automatic.relabels:
        from alc_data.queries.cost import describe_relabels

        con.print("automatic relabels (propagated, not asked): " + describe_relabels(data.automatic.to_dict()))


def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the export into.")],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    fmt: Annotated[str, typer.Option("--format", "-f", help="voc, cityscapes, coco, folder, fiftyone or hf.")] = "folder",
    version: VersionOpt = None,
    split: Annotated[
        Optional[list[str]], typer.Option("--split", help="Only the images of this split (repeatable; default: all).")
    ] = None,
    changed_only: Annotated[
        bool, typer.Option("--changed-only", help="Only the images whose labels differ from v0 (a patch on the original).")
    ] = False,
    with_original: Annotated[bool, typer.Option("--with-original", help="Write v0's labels beside the version's.")] = False,
    images: Annotated[
        bool, typer.Option("--images", help="Copy the images too (folder, cityscapes, coco; the others always do).")
    ] = False,
    category_ids: Annotated[
        Optional[Path], typer.Option("--category-ids", help="coco: a COCO JSON whose categories name the classes.")
    ] = None,
    errors: Annotated[
        Optional[Path], typer.Option("--errors", help="fiftyone: errors.parquet whose image scores go in the sidecar.")
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a non-empty --out folder.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write the labels of a version in a dataset's own format (default: palette PNGs plus classes.txt)."""
    from alc_data.export import ExportChoice
    from alc_data.stages.export import ExportOptions
    from alc_data.stages.export import export as run_stage

    choice = ExportChoice(splits=tuple(split or ()), changed_only=changed_only, with_original=with_original,
                          images=images, category_ids=category_ids, errors=errors)
    result = run_stage(open_workspace(workspace),
                       ExportOptions(out, format=fmt, version=version, overwrite=overwrite, choice=choice))
    if as_json:
        print_json(result.to_dict())
        return
    beside = f" (and {result.original} beside it)" if result.original else ""
    typer.echo(f"wrote {result.images} label maps of {result.version}{beside} as {result.format} to {result.folder}")


def register(app: typer.Typer) -> None:
    app.command("info")(info)
    app.command("export")(export)
