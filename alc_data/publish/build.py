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
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlcError
from alc_data.faults import kill_point
from alc_data.publish.features import correction_features, default_features

if TYPE_CHECKING:
    from alc_data.workspace import Workspace

DEFAULT_MAX_SHARD_BYTES = 500 * 1024 * 1024
ROWS_PER_GROUP = 100
_SPLIT_RE = re.compile(r"^\w+(\.\w+)*$")


@dataclass
class BuildResult:
    """What :func:`build_dataset_folder` wrote, and the numbers the card reports."""

    folder: Path
    version: str
    original: str
    lineage: list[str]
    splits: dict[str, int]  # split -> rows
    data_files: dict[str, dict[str, list[str]]]  # config -> split -> shard paths (relative)
    num_bytes: dict[str, dict[str, int]]  # config -> split -> arrow bytes
    corrections: int
    images: int
    pixels: int
    changed_pixels: int
    images_changed: int
    miou: dict[str, dict[str, Any]] | None = None  # split -> {images, before, after (percent), coverage_* (0..1)}
    left_out: int = 0  # images in no published split
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "version": self.version,
            "original": self.original,
            "lineage": self.lineage,
            "splits": self.splits,
            "data_files": self.data_files,
            "corrections": self.corrections,
            "images": self.images,
            "pixels": self.pixels,
            "changed_pixels": self.changed_pixels,
            "changed_share": round(self.changed_pixels / self.pixels, 8) if self.pixels else 0.0,
            "images_changed": self.images_changed,
            "data_miou": self.miou,
            "images_in_no_split": self.left_out,
        }


# ---------------------------------------------------------------------------------------------- checks
def check_target_dir(path: str | os.PathLike) -> Path:
    """AlcError unless ``path`` is missing or an empty folder."""
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise AlcError(f"{path}: exists and is not an empty folder; choose a new --to-dir (nothing was written)")
    return path


def plan_splits(ws: Workspace, wanted: list[str] | None = None) -> dict[str, list[str]]:
    """Split name → sorted image ids to publish.

    Default: every workspace split, except one that is exactly the union of two or more other splits
    it contains (VOC's ``trainval`` = ``train`` ∪ ``val``), so no image is published twice. A workspace
    without splits publishes everything as ``train``.
    """
    have = ws.splits()
    if not have:
        if wanted and wanted != ["train"]:
            raise AlcError(f"this workspace has no splits; drop --split or pass --split train (got {wanted[0]!r})")
        return {"train": ws.image_ids()}
    ids = {s: set(ws.image_ids(s)) for s in have}
    if wanted:
        unknown = [s for s in wanted if s not in have]
        if unknown:
            raise AlcError(f"unknown split {unknown[0]!r}; this workspace has: {', '.join(have)}")
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
            raise AlcError(f"split name {s!r} cannot be a dataset split (letters, digits, '_' only); pick splits with --split")
    return {s: sorted(ids[s]) for s in chosen if ids[s]}


class _ShardWriter:
    """Write rows to ``<folder>/<split>-NNNNN-of-MMMMM.parquet`` in row groups, a new shard past ``max_bytes``."""

    def __init__(self, folder: Path, split: str, features, max_bytes: int) -> None:
        self.folder, self.split, self.features, self.max_bytes = folder, split, features, max_bytes
        meta = {"huggingface": json.dumps({"info": {"features": features.to_dict()}})}
        self.schema = features.arrow_schema.with_metadata(meta)
        self.rows: list[dict[str, Any]] = []
        self.buffered = 0
        self.writer = None
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
        raise AlcError(f"{path}: {what} not found; restore it or re-ingest the dataset") from None
    except OSError as exc:
        raise AlcError(f"{path}: cannot read {what} ({exc.strerror})") from None


def _label_png(path: Path, palette: np.ndarray, what: str) -> tuple[bytes, np.ndarray]:
    """(PNG bytes with the full 256-entry palette, (H, W) uint8 labels) of a workspace label file.

    The file's bytes are used as they are when it is an 8-bit palette PNG with a full palette (every
    file the workspace writes), else the labels are re-encoded with the workspace palette.
    """
    from PIL import Image

    from alc_data.io.labels import encode_label_png, read_label_png

    data = _file_bytes(path, what)
    try:
        with Image.open(io.BytesIO(data)) as img:
            full = img.mode == "P" and len(img.getpalette() or []) == 768
            arr = np.asarray(img, dtype=np.uint8).copy() if full else None
    except (OSError, SyntaxError) as exc:
        raise AlcError(f"{path}: corrupt label PNG ({exc}); rewrite this label version") from None
    if arr is None:
        arr = read_label_png(path)
        data = encode_label_png(arr, palette)
    return data, arr


def _ledger_rows(ws: Workspace, versions: list[str], names: list[str]) -> list[dict[str, Any]]:
    if not versions:
        return []
    rows = ws.ledger.corrections(versions, order="round")

    def nm(v):
        if v is None:
            return None
        return "void" if v == IGNORE_INDEX else names[v] if 0 <= v < len(names) else str(v)

    return [
        {
            "correction_id": r.correction_id, "query_id": r.query_id, "round": r.round, "label_version": r.label_version,
            "image_id": r.image_id, "superpixel_set": r.superpixel_set, "superpixel_id": r.superpixel_id,
            "old_class": r.old_class, "old_class_name": nm(r.old_class), "new_class": r.new_class,
            "new_class_name": nm(r.new_class), "pixels": r.pixels, "status": r.status, "source": r.source,
            "annotator": r.annotator, "answered_at": r.answered_at,
        }
        for r in rows
    ]


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
    from alc_data.audit.diff import lineage as version_lineage
    from alc_data.evaluate.metrics import confusion_matrix, scores
    from alc_data.progress import track
    from alc_data.publish.card import ledger_summary, render_card
    from alc_data.workspace.check import require_version_ok

    target = check_target_dir(out_dir).resolve()
    v = ws.version(version)
    chain = version_lineage(ws, v.name)
    original = chain[-1]
    plan = plan_splits(ws, splits)
    if not plan:
        raise AlcError("no images to publish: the chosen splits are empty")
    names = ws.class_names
    k = len(names)
    palette = ws.palette
    labels_from = str(ws.meta("labels_from", "gt"))
    independent_gt = labels_from != "gt" and ws.has_gt()
    records = ws.image_records()
    published = set().union(*(set(ids) for ids in plan.values()))
    for name in dict.fromkeys((v.name, original)):  # damaged labels are refused before anything is written
        require_version_ok(ws, name, sorted(published))

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".build", dir=target.parent))
    except OSError as exc:
        raise AlcError(f"{target}: cannot create the folder ({exc.strerror}); choose a writable --to-dir") from None
    try:
        features = default_features(names)
        (staging / "data").mkdir()
        data_files: dict[str, dict[str, list[str]]] = {"default": {}}
        num_bytes: dict[str, dict[str, int]] = {"default": {}}
        counts: dict[str, int] = {}
        miou_rows: dict[str, dict[str, Any]] = {}
        per_image: dict[str, tuple[int, int]] = {}  # image id -> (pixels, changed vs original), once per image
        for split, ids in plan.items():
            writer = _ShardWriter(staging / "data", split, features, max_shard_bytes)
            conf_before = np.zeros((k, k), dtype=np.int64)
            conf_after = np.zeros((k, k), dtype=np.int64)
            gt_pixels = gt_images = 0
            for image_id in track(ids, f"publish {split}"):
                rec = records[image_id]
                img_path = ws.image_path(image_id)
                img_bytes = _file_bytes(img_path, f"image of {image_id!r}")
                if hashlib.sha256(img_bytes).hexdigest() != rec["sha256"]:
                    raise AlcError(f"{img_path}: image changed since ingest (checksum differs); restore it or re-ingest")
                lab_bytes, lab = _label_png(ws.label_path(v.name, image_id), palette, f"label {v.name} of {image_id!r}")
                org_bytes, org = _label_png(ws.label_path(original, image_id), palette, f"label {original} of {image_id!r}")
                present = np.flatnonzero(np.bincount(lab.ravel(), minlength=256)[:k]).tolist()
                n_changed = int(np.count_nonzero(lab != org))
                writer.add(
                    {
                        "image": {"bytes": img_bytes, "path": None},
                        "label": {"bytes": lab_bytes, "path": None},
                        "label_original": {"bytes": org_bytes, "path": None},
                        "image_id": image_id,
                        "classes_present": present,
                    },
                    len(img_bytes) + len(lab_bytes) + len(org_bytes),
                )
                if independent_gt and rec["has_gt"]:
                    gt = ws.read_gt(image_id)
                    conf_before += confusion_matrix(org, gt, k)
                    conf_after += confusion_matrix(lab, gt, k)
                    gt_pixels += gt.size
                    gt_images += 1
                per_image[image_id] = (int(lab.size), n_changed)
            shards = writer.close()
            counts[split] = writer.count
            data_files["default"][split] = [f"data/{p.name}" for p in shards]
            num_bytes["default"][split] = writer.nbytes
            if gt_images:
                before = scores(conf_before, total_pixels=gt_pixels)
                after = scores(conf_after, total_pixels=gt_pixels)
                miou_rows[split] = {
                    "images": gt_images,
                    "before": before["miou"],
                    "after": after["miou"],
                    "coverage_before": before["coverage"],
                    "coverage_after": after["coverage"],
                }
        corrections = _ledger_rows(ws, chain[:-1], names)
        if corrections:
            (staging / "corrections").mkdir()
            cw = _ShardWriter(staging / "corrections", "train", correction_features(), max_shard_bytes)
            for row in corrections:
                cw.add(row, 256)
            cshards = cw.close()
            data_files["corrections"] = {"train": [f"corrections/{p.name}" for p in cshards]}
            num_bytes["corrections"] = {"train": cw.nbytes}
        (staging / "id2label.json").write_text(json.dumps({str(i): n for i, n in enumerate(names)}, indent=2) + "\n")
        (staging / "label2color.json").write_text(
            json.dumps({c.name: list(map(int, c.color)) for c in ws.classes}, indent=2) + "\n"
        )
        result = BuildResult(
            folder=target,
            version=v.name,
            original=original,
            lineage=list(reversed(chain)),
            splits=counts,
            data_files=data_files,
            num_bytes=num_bytes,
            corrections=len(corrections),
            images=len(published),
            pixels=sum(p for p, _ in per_image.values()),
            changed_pixels=sum(c for _, c in per_image.values()),
            images_changed=sum(1 for _, c in per_image.values() if c),
            miou=miou_rows or None,
            left_out=len(set(ws.image_ids()) - published),
            extra={"labels_from": labels_from},
        )
        result.extra["ledger"] = ledger_summary(ws, result.lineage)
        card = render_card(ws, result, staging, license=license, pretty_name=pretty_name, repo_id=repo_id)
        (staging / "README.md").write_text(card, encoding="utf-8")
        os.chmod(staging, 0o755)  # mkdtemp made it owner-only; the other files follow the umask
        kill_point("publish:staged")
        if target.exists():
            target.rmdir()
        os.replace(staging, target)
        kill_point("publish:renamed")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result
