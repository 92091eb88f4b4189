"""``alc-data demo``: the README's main command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alc_data_cli.options import JsonOpt, SetOpt, console, print_json


def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo workspaces, plot and labels.")] = Path("alc-demo"),
    overrides: SetOpt = None,
    compare: Annotated[str, typer.Option("--compare", help="Comma-separated acquisitions run beside SIM at the same budget.")] = "random,lcil",
    as_json: JsonOpt = False,
) -> None:
    """Generate the demo data, correct it with SIM and the ground-truth oracle, and compare with random selection."""
    from alc_data.loop.demo import run_demo
    from alc_data_cli.run import round_table

    log = (lambda m: typer.echo(m, err=True))
    result = run_demo(out, overrides=overrides, compare=tuple(c.strip() for c in compare.split(",") if c.strip()), log=log)
    if as_json:
        print_json(result.to_dict())
        return
    con = console()
    for table in result.runs:
        con.print(round_table(table))
    gains = ", ".join(f"{k} {v:+.2f}" for k, v in result.data_miou_gain.items())
    con.print(f"data mIoU gain after the budget: {gains}")
    sim_run = result.runs[0]
    con.print(f"plot: {result.plot}")
    con.print(f"corrected labels: {Path(result.out) / sim_run.acquisition / 'labels' / sim_run.rounds[-1].label_version}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
