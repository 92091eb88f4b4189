"""``alc-data ingest FORMAT ...``: one sub-command per dataset format."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from alc_data.stages.ingest import IngestOptions
from alc_data_cli.options import DEFAULT_WORKSPACE, WorkspaceOpt

ingest_app = typer.Typer(help="Create a workspace from a dataset (one sub-command per format).", no_args_is_help=True)

LabelsFromOpt = Annotated[
    str,
    typer.Option(
        "--labels-from",
        help="What the corrected labels start from: 'gt' (the dataset's own annotation) or a folder of <image_id>.png labels.",
    ),
]


def _run(workspace: Path, options: IngestOptions) -> None:
    from alc_data.stages.ingest import ingest

    result = ingest(workspace, options)
    splits = ", ".join(f"{k} {v}" for k, v in result.splits.items())
    typer.echo(f"ingested {result.images} images of {result.dataset} into {result.workspace} ({splits}); labels v0")
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)


@ingest_app.command("voc")
def voc(
    root: Annotated[Path, typer.Argument(help="A VOCdevkit folder or the VOC2012 folder in it.")],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    aug: Annotated[bool, typer.Option("--aug", help="Use SBD-augmented SegmentationClassAug and train_aug.txt.")] = False,
    labels_from: LabelsFromOpt = "gt",
) -> None:
    """PASCAL VOC 2012 (21 classes, splits from ImageSets/Segmentation)."""
    _run(workspace, IngestOptions("voc", {"root": root, "aug": aug}, labels_from))


@ingest_app.command("cityscapes")
def cityscapes(
    root: Annotated[Path, typer.Argument(help="Cityscapes root holding leftImg8bit/ and gtFine/.")],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    train_ids: Annotated[
        bool, typer.Option("--train-ids", help="Use the dataset's *_gtFine_labelTrainIds.png instead of mapping labelIds.")
    ] = False,
    split: Annotated[
        Optional[list[str]], typer.Option("--split", help="Read only this split folder (repeatable; default: all).")
    ] = None,
    labels_from: LabelsFromOpt = "gt",
) -> None:
    """Cityscapes fine annotations mapped to the 19 train-id classes (others 255)."""
    arguments = {"root": root, "train_ids": train_ids, "splits": split or None}
    _run(workspace, IngestOptions("cityscapes", arguments, labels_from))


@ingest_app.command("coco")
def coco(
    annotations: Annotated[Path, typer.Argument(help="COCO instances or panoptic JSON (panoptic is detected).")],
    images: Annotated[Path, typer.Option("--images", help="Folder of the images named in the JSON.")],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    panoptic_dir: Annotated[
        Optional[Path],
        typer.Option("--panoptic-dir", help="Folder of panoptic PNGs (default: the folder named like the JSON)."),
    ] = None,
    split: Annotated[str, typer.Option("--split", help="Split name for every image.")] = "train",
    labels_from: LabelsFromOpt = "gt",
) -> None:
    """COCO instances (background 0, categories 1..N, crowd 255) or panoptic (all categories, void 255)."""
    arguments = {"annotations": annotations, "images": images, "panoptic_dir": panoptic_dir, "split": split}
    _run(workspace, IngestOptions("coco", arguments, labels_from))


@ingest_app.command("folder")
def folder(
    images: Annotated[Path, typer.Option("--images", help="Folder of <image_id>.jpg/.jpeg/.png images.")],
    classes: Annotated[
        Path, typer.Option("--classes", help="Class list: one 'name', 'name R G B' or 'name #rrggbb' per line.")
    ],
    labels: Annotated[
        Optional[Path], typer.Option("--labels", help="Folder of <image_id>.png labels to correct (version v0).")
    ] = None,
    gt: Annotated[Optional[Path], typer.Option("--gt", help="Folder of <image_id>.png reference ground truth.")] = None,
    superpixels: Annotated[
        Optional[Path],
        typer.Option("--superpixels", help="Folder of <image_id>.png 16-bit region ids (0 = not covered)."),
    ] = None,
    split: Annotated[
        Optional[list[str]],
        typer.Option("--split", help="NAME=LISTFILE, one image id per line (repeatable; default: all in 'train')."),
    ] = None,
    name: Annotated[str, typer.Option("--name", help="Dataset name stored in the workspace.")] = "folder",
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    labels_from: Annotated[
        Optional[str],
        typer.Option("--labels-from", help="'gt' (start from --gt) or a label folder; the same as --labels FOLDER."),
    ] = None,
) -> None:
    """Plain folders of images and label maps (+ optional ground truth and superpixels)."""
    from alc_data.ingest.folder import folder_labels_from, parse_split_lists

    start = folder_labels_from(labels=labels, labels_from=labels_from, gt=gt)
    arguments = {"images": images, "classes": classes, "labels": labels, "gt": gt, "superpixels": superpixels,
                 "splits": parse_split_lists(split), "name": name}
    _run(workspace, IngestOptions("folder", arguments, start))


@ingest_app.command("hf")
def hf(
    source: Annotated[str, typer.Argument(help="A save_to_disk folder, a parquet/imagefolder folder, or a hub name.")],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    image_column: Annotated[str, typer.Option("--image-column", help="Column holding the images.")] = "image",
    label_column: Annotated[str, typer.Option("--label-column", help="Column holding the label maps.")] = "label",
    split: Annotated[
        Optional[list[str]], typer.Option("--split", help="Read only this split (repeatable; default: all).")
    ] = None,
    classes: Annotated[
        Optional[Path],
        typer.Option("--classes", help="Class list file (default: id2label.json or a ClassLabel feature)."),
    ] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Dataset name (default: folder or hub name).")] = None,
    labels_from: LabelsFromOpt = "gt",
) -> None:
    """A Hugging Face dataset; images are copied into the workspace, labels read without conversion."""
    arguments = {"source": source, "image_column": image_column, "label_column": label_column,
                 "splits": split or None, "classes": classes, "name": name}
    _run(workspace, IngestOptions("hf", arguments, labels_from))


def register(app: typer.Typer) -> None:
    app.add_typer(ingest_app, name="ingest")


@ingest_app.command("demo")
def demo(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    n_train: Annotated[int, typer.Option("--train", help="Training images (noisy labels to correct).")] = 80,
    n_val: Annotated[int, typer.Option("--val", help="Validation images (for model mIoU).")] = 20,
    size: Annotated[int, typer.Option("--size", help="Image side in pixels.")] = 64,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the generator.")] = 0,
) -> None:
    """Synthetic demo scenes with ground truth, Grounded-SAM-like noisy labels and SAM-like regions."""
    from alc_data.demo import build_demo_workspace

    ws = build_demo_workspace(workspace, n_train=n_train, n_val=n_val, size=(size, size), seed=seed)
    typer.echo(
        f"generated {len(ws.catalogue.image_ids())} demo images into {ws.root} (train {n_train}, val {n_val}); "
        "labels v0 = noisy pseudo labels, superpixel sets 'sam' and 'gsam'"
    )
