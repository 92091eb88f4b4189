"""``alc-data queries ...``: export a round's correction queries for people to answer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from alc_data.hints import command
from alc_data.queries.export import QueryFormat
from alc_data_cli.options import DEFAULT_WORKSPACE, JsonOpt, WorkspaceOpt, open_workspace, print_json

queries_app = typer.Typer(help="Correction queries of a round.", no_args_is_help=True)
RoundOpt = Annotated[Optional[int], typer.Option("--round", "-r", help="Round number (default: the latest).")]


@queries_app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write (CSV, or the Label Studio tasks JSON).")],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    round_no: RoundOpt = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --out file.")] = False,
    fmt: Annotated[str, typer.Option("--format", help=f"{QueryFormat.CSV}, or {QueryFormat.LABEL_STUDIO} (tasks JSON + labeling config XML).")] = QueryFormat.CSV.value,
    image_url_prefix: Annotated[Optional[str], typer.Option(
        "--image-url-prefix", help="Label Studio: URL folder holding the images (default: local-files URLs of their paths).")] = None,
) -> None:
    """Write the round's queries for people: a CSV with an empty `answer` column, or Label Studio tasks."""
    ws = open_workspace(workspace)
    if fmt == QueryFormat.LABEL_STUDIO:
        from alc_data.queries.label_studio import export_label_studio

        tasks, config = export_label_studio(ws, out, round_no=round_no, image_url_prefix=image_url_prefix, overwrite=overwrite)
        typer.echo(f"wrote the tasks to {tasks} and the labeling config to {config}; in Label Studio paste the config, "
                   f"import the tasks, answer, export as JSON, then run `{command('correct', '-w', ws.root, '--answers', 'EXPORT.json')}`")
        return
    if fmt != QueryFormat.CSV:
        raise typer.BadParameter(f"--format {fmt!r}: use {' or '.join(QueryFormat.values())}")
    from alc_data.queries import export_queries_csv

    path = export_queries_csv(ws, out, round_no=round_no, overwrite=overwrite)
    typer.echo(f"wrote the queries to {path}; fill the answer column, then run `{command('correct', '-w', ws.root, '--answers', path)}`")


@queries_app.command("list")
def list_queries(workspace: WorkspaceOpt = DEFAULT_WORKSPACE, round_no: RoundOpt = None, as_json: JsonOpt = False) -> None:
    """Show the round's queries with their answers so far."""
    from dataclasses import asdict

    from alc_data.queries.create import check_round, round_queries

    ws = open_workspace(workspace)
    rnd = check_round(ws, round_no)
    answers = ws.ledger.answers(rnd)
    rows = []
    for q in round_queries(ws, rnd):
        row = asdict(q)
        a = answers.get(q.query_id)
        row["answer"], row["answer_class"] = (a.status.value, a.answer_class) if a else (None, None)
        rows.append(row)
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    from alc_data_cli.options import console

    names = ws.catalogue.class_names + ["void"] * (256 - ws.catalogue.num_classes)
    t = Table(title=f"round {rnd}: {len(rows)} queries")
    for col in ("id", "image", "superpixel", "pixel (row, col)", "shown", "score", "answer"):
        t.add_column(col)
    for r in rows:
        ans = r["answer"] or ""
        if r["answer"] == "corrected":
            ans = f"→ {names[r['answer_class']]}"
        t.add_row(str(r["query_id"]), r["image_id"], str(r["superpixel_id"]), f"({r['rep_row']}, {r['rep_col']})",
                  names[r["shown_label"]], f"{r['score']:.4g}", ans)
    console().print(t)


def register(app: typer.Typer) -> None:
    app.add_typer(queries_app, name="queries")
