"""``alc-data check``: compare the workspace's files with its catalogue, list crash debris, repair it."""

from __future__ import annotations

from typing import Annotated

import typer

from alc_data_cli.options import DEFAULT_WORKSPACE, JsonOpt, WorkspaceOpt, print_json


def check(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    repair: Annotated[
        bool, typer.Option("--repair", help="Remove debris left by crashes (never a registered version or a file the catalogue uses); "
                                  "rebuild damaged label files of corrected versions from the ledger.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check every label version, superpixel set and round against the catalogue; list crash debris and
    answers waiting to be applied. Exit code 0 when all is well (answers waiting are a note, not a failure),
    1 when anything is wrong, 2 when no workspace can be read."""
    from alc_data.stages.check import CheckOptions
    from alc_data.stages.check import check as run_stage

    report = run_stage(workspace, CheckOptions(repair=repair))
    if as_json:
        print_json(report.to_dict())
    else:
        for p in report.repaired:
            typer.echo(f"repaired: {p.message}")
        for p in report.notices:
            typer.echo(f"note: {p.message}")
        for p in report.problems:
            hint = " [repairable: alc-data check --repair]" if p.repairable else ""
            typer.echo(f"{p.kind}: {p.message}{hint}", err=True)
        c = report.checked
        if report.ok:
            typer.echo(
                f"{report.workspace}: ok ({c.get('label_versions', 0)} label versions, {c.get('images', 0)} images, "
                f"{c.get('superpixel_sets', 0)} superpixel sets, {c.get('rounds', 0)} rounds)"
            )
    report.raise_unless_ok(summary=not as_json)


def register(app: typer.Typer) -> None:
    app.command("check")(check)
