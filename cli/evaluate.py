"""``alc-data eval``: data mIoU of a label version, or model mIoU of a checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from alc_data_cli.options import DEFAULT_WORKSPACE, JsonOpt, VersionOpt, WorkspaceOpt, console, open_workspace, print_json


def evaluate(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    version: VersionOpt = None,
    model: Annotated[Optional[Path], typer.Option("--model", help="A checkpoint (final.pt): report its model mIoU instead of data mIoU.")] = None,
    split: Annotated[Optional[str], typer.Option("--split", help="Images to evaluate (default: all for data mIoU, val for --model).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per forward pass with --model.")] = 4,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N (with --model).")] = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Per-class IoU of a label version against the reference ground truth (data mIoU), or of a model's predictions (--model).

    Coverage is the share of pixels counted: pixels either side marks 255 are skipped.
    """
    from alc_data.evaluate import per_class_table, summary_line
    from alc_data.stages.evaluate import EvaluateOptions
    from alc_data.stages.evaluate import evaluate as run_stage

    options = EvaluateOptions(version=version, model=model, split=split, batch_size=batch_size, device=device)
    result = run_stage(open_workspace(workspace), options)
    if as_json:
        print_json(result.to_dict())
        return
    con = console()
    con.print(per_class_table(result))
    con.print(summary_line(result))


def register(app: typer.Typer) -> None:
    app.command("eval")(evaluate)
