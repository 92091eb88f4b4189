"""``alc-data run RECIPE``: the full correction loop, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from alc_data.loop.config import ANSWER_SOURCES
from alc_data.loop.recipes import BUILT_IN_RECIPES
from alc_data.loop.table import RunTable
from alc_data_cli.options import DEFAULT_WORKSPACE, JsonOpt, SetOpt, WorkspaceOpt, console, print_json


def round_table(table: RunTable, title: str | None = None) -> Any:
    """A rich table of a run's rounds."""
    from rich import box
    from rich.table import Table

    measured = any(r.measured_median_seconds is not None for r in table.rounds)
    # the measured column fits an 80-column terminal with collapsed padding and stacked mIoU headers
    t = Table(title=title or f"{table.run} ({table.label})", box=box.SIMPLE_HEAD, collapse_padding=measured)
    cols = ("round", "labels", "clicks", "accepted", "corrected", *(("relabelled",) if table.propagate else ()), "minutes",
            *(("s/query", "data\nmIoU", "model\nmIoU") if measured else ("data mIoU", "model mIoU")))
    for col in cols:
        width = max(len(line) for line in col.split("\n"))
        t.add_column(col, justify="right", min_width=width if width < 10 else 5)
    t.caption = "minutes: estimated annotation time with correction queries (4.76 s each; classification queries: 6.31 s)"
    if table.propagate:
        t.caption += "; relabelled: regions the label-correction module relabelled (loop.propagate), in all"
    if measured:
        t.caption += "; s/query: measured median seconds per query answered in `alc-data annotate`"
    fmt = lambda v: "—" if v is None else f"{v:.2f}"  # noqa: E731
    for r in table.rounds:
        t.add_row(
            str(r.round), r.label_version, str(r.clicks), str(r.accepted), str(r.corrected),
            *((str(r.relabelled),) if table.propagate else ()), f"{r.minutes_correction_queries:.1f}",
            *((fmt(r.measured_median_seconds),) if measured else ()),
            fmt(r.data_miou), fmt(r.model_miou),
        )
    return t


def run(
    recipe: Annotated[str, typer.Argument(help=f"Recipe file, or a built-in name: {', '.join(BUILT_IN_RECIPES)}.")],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    overrides: SetOpt = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Run name (default: the recipe's name).")] = None,
    answers: Annotated[Optional[Path], typer.Option("--answers", help="Answers CSV (or Label Studio JSON export) for the round waiting for people.")] = None,
    answers_from: Annotated[Optional[str], typer.Option("--answers-from", help=f"{', '.join(ANSWER_SOURCES[:-1])} or {ANSWER_SOURCES[-1]} (overrides loop.answers_from).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run rounds of train → score → query → correct → eval; re-run the same command to resume."""
    from alc_data.loop import Loop, prepare_workspace, read_recipe
    from alc_data.loop.inputs import check_answers_option, rerun_arguments

    checked = read_recipe(recipe, overrides, answers_from=answers_from)  # every recipe error before anything is written
    if name is not None:  # a folder under WS/runs: never a path out of it
        from alc_data.workspace import check_name

        check_name("run", name)
    check_answers_option(checked, answers)
    ws = prepare_workspace(workspace, checked)  # checks the recipe against the data before ingesting it
    log = (lambda m: typer.echo(m, err=True)) if as_json else typer.echo
    rerun = rerun_arguments(recipe, ws.root, overrides=overrides, name=name, answers_from=answers_from)
    table = Loop(ws, checked, name=name, log=log, rerun=rerun).run(answers_file=answers)
    if as_json:
        print_json(table.to_dict())
        return
    console().print(round_table(table))
    if not table.waiting_for_answers:
        typer.echo(f"plot: {Path(table.run_dir) / 'miou.png'}; labels: {ws.labels.version().name} in {ws.labels.version_dir(ws.labels.version().name)}")


def register(app: typer.Typer) -> None:
    app.command("run")(run)
