"""``alc-data diff A B``: what changed between two label versions or two label folders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from alc_data_cli.options import DEFAULT_WORKSPACE, JsonOpt, WorkspaceOpt, console, print_json


def diff(
    a: Annotated[str, typer.Argument(help="Labels before: a label version of the workspace, or a folder of <image_id>.png.")],
    b: Annotated[str, typer.Argument(help="Labels after: a label version of the workspace, or a folder of <image_id>.png.")],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    as_json: JsonOpt = False,
    report: Annotated[
        Optional[Path], typer.Option("--report", help="Write a self-contained HTML report (tables + pictures) to this file.")
    ] = None,
    top: Annotated[int, typer.Option("--top", min=0, help="How many most-changed images to draw and detail.")] = 10,
    out: Annotated[
        Optional[Path], typer.Option("--out", help="Folder to write one comparison PNG per top image into.")
    ] = None,
    classes: Annotated[
        Optional[Path], typer.Option("--classes", help="Folder mode: class names, one per line (default: numeric names).")
    ] = None,
    images: Annotated[
        Optional[Path], typer.Option("--images", help="Folder mode: folder of <image_id>.jpg/.png images to draw under the changes.")
    ] = None,
) -> None:
    """Per-class transitions, changed share per image, changed regions, void changes, ledger links."""
    from alc_data.stages.diff import DiffOptions
    from alc_data.stages.diff import diff as run_stage

    options = DiffOptions(a, b, top=top, classes=classes, images=images, report=report, out=out)
    result = run_stage(workspace, options)
    if as_json:
        print_json(result.to_dict())
        return
    _print_summary(result.diff)
    if result.report:
        typer.echo(f"report: {result.report}")
    if result.pictures:
        typer.echo(f"pictures: {len(result.pictures)} PNG files in {out}")


def _print_summary(result) -> None:
    from rich.table import Table
    from rich.text import Text

    con = console()
    t = result.totals()
    con.print(Text.assemble(
        (result.a.name, "bold"), " → ", (result.b.name, "bold"), f": {t['images_compared']} images compared, "
        f"{t['images_changed']} changed; {t['changed_pixels']:,} of {t['pixels']:,} pixels "
        f"({100 * t['changed_share']:.3f} %) in {t['regions']:,} regions"
    ))
    agreement = "–" if t["agreement"] is None else f"{100 * t['agreement']:.3f} %"
    con.print(f"agreement on non-void pixels {agreement}; became void {t['became_void']:,}, "
              f"stopped being void {t['stopped_void']:,}")
    for title, ids in (("only in A", result.only_in_a), ("only in B", result.only_in_b), ("sizes differ", result.size_mismatch)):
        if ids:
            con.print(f"{title}: {len(ids)} images ({', '.join(ids[:5])}{' …' if len(ids) > 5 else ''})")
    if result.ledger is not None:
        lg = result.ledger
        con.print(f"ledger: {lg['corrections']} rows, {lg['corrections_linked']} linked to a change; {lg['linked_changed_pixels']:,} changed pixels in corrected "
                  f"superpixels, {lg['unlinked_changed_pixels']:,} not")
        from alc_data.queries.cost import describe_relabels

        rejections = f", {lg['human_rejections']} of them rejecting automatic relabels" if lg["human_rejections"] else ""
        if lg.get("human_restored_pixels"):
            rejections += f"; {lg['human_restored_pixels']:,} pixels given back their class before the relabel, so unchanged"
        con.print(f"  by people: {lg['human_corrections']} corrections ({lg['human_pixels']:,} pixels{rejections})")
        if lg["automatic_relabels"]:
            auto = {k.removeprefix("automatic_"): v for k, v in lg.items() if k.startswith("automatic_")}
            con.print("  automatic (propagated): " + describe_relabels(auto))
    trans = result.transitions()
    if trans:
        tt = Table(title="largest transitions")
        for col in ("from", "to", "pixels"):
            tt.add_column(col)
        for r in trans[:10]:
            tt.add_row(r["from"], r["to"], f"{r['pixels']:,}")
        con.print(tt)
    if result.top:
        ti = Table(title="most changed images")
        for col in ("image", "changed", "regions", "agreement"):
            ti.add_column(col)
        for image_id in result.top:
            c = result.image(image_id)
            ti.add_row(image_id, f"{100 * c.changed_share:.3f} %", str(c.regions),
                       "–" if c.agreement is None else f"{100 * c.agreement:.2f} %")
        con.print(ti)


def register(app: typer.Typer) -> None:
    app.command("diff")(diff)
