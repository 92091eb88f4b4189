"""Build a dataset folder that ``datasets.load_dataset(folder)`` loads offline.

Layout::

    FOLDER/
      README.md                          dataset card (YAML: configs, dataset_info, licence, task ids)
      id2label.json  label2color.json    class names and colours (label 255 = void, documented in the card)
      data/<split>-00000-of-0000N.parquet      config "default": one split per workspace split
      corrections/train-00000-of-00001.parquet config "corrections": the ledger rows (when there are any)

Parquet shards carry the image and label files' bytes (``{"bytes": ..., "path": None}`` structs of the
``datasets.Image`` feature), never local paths: the workspace's palette PNGs are copied byte for byte,
so every label index (255 included) survives, and no ``Image(mode=...)`` cast touches a label column.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from alc_data.audit.ledger_links import lineage as version_lineage
from alc_data.errors import AlreadyExists, Conflict, InvalidInput, NotFound, WorkspaceDamaged
from alc_data.evaluate.metrics import GroundTruthConfusion
from alc_data.faults import kill_point
from alc_data.io.labels import encode_label_png, read_label_png
from alc_data.progress import track
from alc_data.publish.card import render_card
from alc_data.publish.features import correction_features, default_features
from alc_data.publish.result import BuildResult
from alc_data.publish.ledger import published_ledger_rows
from alc_data.publish.origin import labels_origin
from alc_data.publish.rounds import published_ledger
from alc_data.workspace.check import require_version_ok

if TYPE_CHECKING:
    import datasets
    import pyarrow.parquet as pq

    from alc_data.workspace import ImageRecord, Workspace

DEFAULT_MAX_SHARD_BYTES = 500 * 1024 * 1024
ROWS_PER_GROUP = 100
_SPLIT_RE = re.compile(r"^\w+(\.\w+)*$")


# ---------------------------------------------------------------------------------------------- checks
def check_target_dir(path: str | os.PathLike, workspace_root: str | os.PathLike | None = None) -> Path:
    """AlcError unless ``path`` is missing or an empty folder, and (given ``workspace_root``) neither inside
    the workspace nor holding it."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise AlreadyExists(f"{path}: is a file; --to-dir names a new or empty folder (nothing was written)")
    if path.is_dir() and any(path.iterdir()):
        raise AlreadyExists(f"{path}: exists and is not an empty folder; choose a new --to-dir (nothing was written)")
    if workspace_root is not None:
        from alc_data.io.outputs import check_output

        check_output(path, workspace_root, overwrite=False, what="--to-dir")
    return path


def plan_splits(ws: Workspace, wanted: list[str] | None = None) -> dict[str, list[str]]:
    """Split name → sorted image ids to publish.

    Default: every workspace split, except one that is exactly the union of two or more other splits
    it contains (VOC's ``trainval`` = ``train`` ∪ ``val``), so no image is published twice. A workspace
    without splits publishes everything as ``train``.
    """
    have = ws.catalogue.splits()
    if not have:
        if wanted and wanted != ["train"]:
            raise InvalidInput(f"this workspace has no splits; drop --split or pass --split train (got {wanted[0]!r})")
        return {"train": ws.catalogue.image_ids()}
    ids = {s: set(ws.catalogue.image_ids(s)) for s in have}
    if wanted:
        unknown = [s for s in wanted if s not in have]
        if unknown:
            raise NotFound(f"unknown split {unknown[0]!r}; this workspace has: {', '.join(have)}")
        chosen = list(dict.fromkeys(wanted))
    else:
        chosen = []
        for s in have:
            subsets = [t for t in have if t != s and ids[t] < ids[s]]
            if len(subsets) >= 2 and set().union(*(ids[t] for t in subsets)) == ids[s]:
                continue
            chosen.append(s)
    for s in chosen:
        if not _SPLIT_RE.match(s):
            raise InvalidInput(f"split name {s!r} cannot be a dataset split (letters, digits, '_' only); pick splits with --split")
    return {s: sorted(ids[s]) for s in chosen if ids[s]}


class _ShardWriter:
    """Write rows to ``<folder>/<split>-NNNNN-of-MMMMM.parquet`` in row groups, a new shard past ``max_bytes``."""

    def __init__(self, folder: Path, split: str, features: datasets.Features, max_bytes: int) -> None:
        self.folder, self.split, self.features, self.max_bytes = folder, split, features, max_bytes
        meta = {"huggingface": json.dumps({"info": {"features": features.to_dict()}})}
        self.schema = features.arrow_schema.with_metadata(meta)
        self.rows: list[dict[str, Any]] = []
        self.buffered = 0
        self.writer: pq.ParquetWriter | None = None
        self.shard_bytes = 0
        self.parts: list[Path] = []
        self.nbytes = 0
        self.count = 0

    def add(self, row: dict[str, Any], size: int) -> None:
        self.rows.append(row)
        self.buffered += size
        if len(self.rows) >= ROWS_PER_GROUP or self.buffered >= 64 * 1024 * 1024:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self.rows:
            return
        if self.writer is not None and self.shard_bytes >= self.max_bytes:
            self.writer.close()
            self.writer = None
        writer = self.writer
        if writer is None:
            part = self.folder / f"{self.split}-{len(self.parts):05d}.parquet.part"
            self.parts.append(part)
            writer = self.writer = pq.ParquetWriter(str(part), self.schema)
            self.shard_bytes = 0
        table = pa.Table.from_pylist(self.rows, schema=self.schema)
        writer.write_table(table)
        self.nbytes += table.nbytes
        self.shard_bytes += table.nbytes
        self.count += len(self.rows)
        self.rows, self.buffered = [], 0

    def close(self) -> list[Path]:
        self._flush()
        if self.writer is not None:
            self.writer.close()
        n = len(self.parts)
        out = []
        for i, part in enumerate(self.parts):
            final = self.folder / f"{self.split}-{i:05d}-of-{n:05d}.parquet"
            os.replace(part, final)
            out.append(final)
        return out


# ---------------------------------------------------------------------------------------------- rows
def _file_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"{path}: {what} not found; restore it or re-ingest the dataset") from None
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read {what} ({exc.strerror})") from None


def _label_png(path: Path, palette: np.ndarray, what: str) -> tuple[bytes, np.ndarray]:
    """(PNG bytes with the full 256-entry palette, (H, W) uint8 labels) of a workspace label file.

    The file's bytes are used as they are when it is an 8-bit palette PNG with a full palette (every
    file the workspace writes), else the labels are re-encoded with the workspace palette.
    """
    from PIL import Image

    data = _file_bytes(path, what)
    try:
        with Image.open(io.BytesIO(data)) as img:
            full = img.mode == "P" and len(img.getpalette() or []) == 768
            arr = np.asarray(img, dtype=np.uint8).copy() if full else None
    except (OSError, SyntaxError) as exc:
        raise WorkspaceDamaged(f"{path}: corrupt label PNG ({exc}); rewrite this label version") from None
    if arr is None:
        arr = read_label_png(path)
        data = encode_label_png(arr, palette)
    return data, arr


# ---------------------------------------------------------------------------------------------- build steps
@dataclass
class _Plan:
    """What one build publishes: the version, its original, the splits and the class table."""

    version: str
    original: str
    chain: list[str]  # newest first, the original last
    splits: dict[str, list[str]]
    names: list[str]
    palette: np.ndarray
    labels_from: str
    independent_gt: bool  # the reference ground truth is not the original labels: mIoU before/after means something
    records: dict[str, ImageRecord]  # image id -> catalogue record (checksum, has_gt)

    @property
    def published(self) -> set[str]:
        return set().union(*(set(ids) for ids in self.splits.values()))


@dataclass
class _SplitStats:
    """One split as written: rows, shards, bytes, per-image change counts and the mIoU before/after."""

    rows: int
    shards: list[str]
    nbytes: int
    per_image: dict[str, tuple[int, int]]  # image id -> (pixels, changed vs original)
    miou: dict[str, Any] | None


def _plan_build(ws: Workspace, version: str | None, splits: list[str] | None) -> _Plan:
    """Everything checked before a byte is written: the version and its lineage, the splits, damaged labels."""
    v = ws.labels.version(version)
    chain = version_lineage(ws, v.name)
    split_plan = plan_splits(ws, splits)
    if not split_plan:
        raise InvalidInput("no images to publish: the chosen splits are empty")
    published = sorted(set().union(*(set(ids) for ids in split_plan.values())))
    for name in dict.fromkeys((v.name, chain[-1])):  # damaged labels are refused before anything is read or written
        require_version_ok(ws, name, published)
    origin = labels_origin(ws, chain[-1], published)
    plan = _Plan(version=v.name, original=chain[-1], chain=chain, splits=split_plan, names=ws.catalogue.class_names,
                 palette=ws.catalogue.palette, labels_from=origin.labels_from, independent_gt=origin.independent_gt,
                 records=ws.catalogue.image_records())
    return plan


def _image_bytes_checked(ws: Workspace, image_id: str, sha256: str) -> bytes:
    img_path = ws.catalogue.image_path(image_id)
    img_bytes = _file_bytes(img_path, f"image of {image_id!r}")
    if hashlib.sha256(img_bytes).hexdigest() != sha256:
        raise Conflict(f"{img_path}: image changed since ingest (checksum differs); restore it or re-ingest")
    return img_bytes


def _write_split(
    ws: Workspace, plan: _Plan, split: str, ids: list[str], folder: Path, features: datasets.Features, max_shard_bytes: int
) -> _SplitStats:
    """One split's shards (image, label, original label per row) and its statistics."""
    k = len(plan.names)
    writer = _ShardWriter(folder, split, features, max_shard_bytes)
    before, after = GroundTruthConfusion(k), GroundTruthConfusion(k)
    per_image: dict[str, tuple[int, int]] = {}
    for image_id in track(ids, f"publish {split}"):
        rec = plan.records[image_id]
        img_bytes = _image_bytes_checked(ws, image_id, rec.sha256)
        lab_bytes, lab = _label_png(ws.labels.label_path(plan.version, image_id), plan.palette, f"label {plan.version} of {image_id!r}")
        org_bytes, org = _label_png(ws.labels.label_path(plan.original, image_id), plan.palette, f"label {plan.original} of {image_id!r}")
        writer.add(
            {
                "image": {"bytes": img_bytes, "path": None},
                "label": {"bytes": lab_bytes, "path": None},
                "label_original": {"bytes": org_bytes, "path": None},
                "image_id": image_id,
                "classes_present": np.flatnonzero(np.bincount(lab.ravel(), minlength=256)[:k]).tolist(),
            },
            len(img_bytes) + len(lab_bytes) + len(org_bytes),
        )
        if plan.independent_gt and rec.has_gt:
            gt = ws.catalogue.read_gt(image_id)
            before.add(org, gt, f"label {plan.original} of {image_id!r}")
            after.add(lab, gt, f"label {plan.version} of {image_id!r}")
        per_image[image_id] = (int(lab.size), int(np.count_nonzero(lab != org)))
    shards = writer.close()
    miou = None
    if after.images:
        b, a = before.scores(), after.scores()
        miou = {"images": after.images, "before": b["miou"], "after": a["miou"],
                "coverage_before": b["coverage"], "coverage_after": a["coverage"]}
    return _SplitStats(rows=writer.count, shards=[f"data/{p.name}" for p in shards], nbytes=writer.nbytes,
                       per_image=per_image, miou=miou)


def _write_corrections(ws: Workspace, plan: _Plan, staging: Path, max_shard_bytes: int) -> tuple[int, list[str], int]:
    """The ledger's rows along the lineage on the published images (people's corrections and automatic
    relabels) as config ``corrections``: (rows, shards, bytes)."""
    corrections = published_ledger_rows(ws, plan.chain[:-1], plan.names, plan.published)
    if not corrections:
        return 0, [], 0
    (staging / "corrections").mkdir()
    cw = _ShardWriter(staging / "corrections", "train", correction_features(), max_shard_bytes)
    for row in corrections:
        cw.add(row, 256)
    return len(corrections), [f"corrections/{p.name}" for p in cw.close()], cw.nbytes


def _write_class_files(ws: Workspace, staging: Path) -> None:
    (staging / "id2label.json").write_text(json.dumps({str(i): n for i, n in enumerate(ws.catalogue.class_names)}, indent=2) + "\n")
    (staging / "label2color.json").write_text(
        json.dumps({c.name: list(map(int, c.color)) for c in ws.catalogue.classes}, indent=2) + "\n"
    )


def _staging_folder(target: Path) -> Path:
    from alc_data.io.atomic import staged_folder

    return staged_folder(target, suffix=".build", what="--to-dir")


def _move_into_place(staging: Path, target: Path) -> None:
    kill_point("publish:staged")
    if target.exists():
        target.rmdir()
    os.replace(staging, target)
    kill_point("publish:renamed")


# ---------------------------------------------------------------------------------------------- build
def build_dataset_folder(
    ws: Workspace,
    out_dir: str | os.PathLike,
    *,
    version: str | None = None,
    splits: list[str] | None = None,
    license: str = "other",
    pretty_name: str | None = None,
    repo_id: str | None = None,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
) -> BuildResult:
    """Write the dataset folder for label version ``version`` (default: latest) of workspace ``ws``.

    ``out_dir`` must be missing or empty; the folder is built beside it under a temporary name and
    renamed into place at the end, so a failure leaves nothing behind. ``repo_id`` only feeds the usage
    snippet of the card. Returns a :class:`BuildResult`.
    """
    target = check_target_dir(out_dir, ws.root).resolve()
    plan = _plan_build(ws, version, splits)
    staging = _staging_folder(target)
    try:
        (staging / "data").mkdir()
        features = default_features(plan.names)
        stats = {split: _write_split(ws, plan, split, ids, staging / "data", features, max_shard_bytes)
                 for split, ids in plan.splits.items()}
        n_corrections, correction_shards, correction_bytes = _write_corrections(ws, plan, staging, max_shard_bytes)
        _write_class_files(ws, staging)
        data_files = {"default": {split: st.shards for split, st in stats.items()}}
        num_bytes = {"default": {split: st.nbytes for split, st in stats.items()}}
        if n_corrections:
            data_files["corrections"] = {"train": correction_shards}
            num_bytes["corrections"] = {"train": correction_bytes}
        per_image = {i: counts for st in stats.values() for i, counts in st.per_image.items()}  # once per image
        miou_rows = {split: st.miou for split, st in stats.items() if st.miou is not None}
        result = BuildResult(
            folder=target,
            version=plan.version,
            original=plan.original,
            lineage=list(reversed(plan.chain)),
            splits={split: st.rows for split, st in stats.items()},
            data_files=data_files,
            num_bytes=num_bytes,
            corrections=n_corrections,
            images=len(plan.published),
            pixels=sum(p for p, _ in per_image.values()),
            changed_pixels=sum(c for _, c in per_image.values()),
            images_changed=sum(1 for _, c in per_image.values() if c),
            miou=miou_rows or None,
            left_out=len(set(ws.catalogue.image_ids()) - plan.published),
            extra={"labels_from": plan.labels_from},
        )
        result.extra["ledger"] = published_ledger(ws, result.lineage, plan.published)
        card = render_card(ws, result, staging, license=license, pretty_name=pretty_name, repo_id=repo_id)
        (staging / "README.md").write_text(card, encoding="utf-8")
        _move_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result
