"""``alc-data ingest FORMAT ...``: one sub-command per dataset format."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alc_data_cli.options import DEFAULT_WORKSPACE, WorkspaceOpt

ingest_app = typer.Typer(help="Create a workspace from a dataset (one sub-command per format).", no_args_is_help=True)

LabelsFromOpt = Annotated[
    str,
    typer.Option(
        "--labels-from",
        help="What the corrected labels start from: 'gt' (the dataset's own annotation) or a folder of <image_id>.png labels.",
    ),
]


def _run(workspace: Path, source, labels_from: str) -> None:
    from alc_data.ingest import ingest

    ws = ingest(workspace, source, labels_from=labels_from)
    splits = ", ".join(f"{k} {v}" for k, v in ws.splits().items())
    typer.echo(f"ingested {len(ws.image_ids())} images of {ws.meta('dataset')} into {ws.root} ({splits}); labels v0")


@ingest_app.command("voc")
def voc(
    root: Annotated[Path, typer.Argument(help="A VOCdevkit folder or the VOC2012 folder in it.")],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    aug: Annotated[bool, typer.Option("--aug", help="Use SBD-augmented SegmentationClassAug and train_aug.txt.")] = False,
    labels_from: LabelsFromOpt = "gt",
) -> None:
    """PASCAL VOC 2012 (21 classes, splits from ImageSets/Segmentation)."""
    from alc_data.ingest.voc import read_voc

    _run(workspace, read_voc(root, aug=aug), labels_from)


def register(app: typer.Typer) -> None:
    app.add_typer(ingest_app, name="ingest")
