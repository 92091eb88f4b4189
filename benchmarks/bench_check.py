"""Wall time of `alc-data check`'s label pass against a naive baseline, on a workspace with several versions.

The workspace: ``--images`` synthetic images of ``--height``×``--width`` with labels v0 and
``--versions`` correction versions, each rewriting ``--changed`` of the images (the rest hard-linked
from the parent, as `alc-data correct` does). Both passes check every version's files (exists, opens,
size, values 0..K-1 or 255):

- baseline: per version and image, ``ws.labels.read_label`` + ``ws.catalogue.image_record`` (one query per image) +
  ``np.unique`` of the values;
- check: :func:`alc_data.workspace.check.check_workspace` (one query for all sizes, each file read once
  per inode, ``max`` before any ``bincount``), superpixel and debris passes included.

    python benchmarks/bench_check.py [--images 200] [--height 375] [--width 500] [--versions 3] [--changed 0.1] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build(root: Path, n: int, h: int, w: int, versions: int, changed: float):
    import numpy as np

    from alc_data.ingest.base import DatasetSource, IngestItem, ingest
    from alc_data.workspace import ClassInfo

    rng = np.random.default_rng(0)
    classes = [ClassInfo(i, f"c{i}", (i * 10, 0, 0)) for i in range(21)]
    image = np.zeros((h, w, 3), np.uint8)

    def label() -> np.ndarray:
        lab = np.repeat(rng.integers(0, 21, (h // 25 + 1, 1), dtype=np.uint8), 25, axis=0)[:h]
        return np.broadcast_to(lab, (h, w)).copy()

    def items():
        import io

        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(image).save(buf, format="PNG")
        for i in range(n):
            yield IngestItem(image_id=f"im{i:05d}", image_path=Path(f"im{i:05d}.png"), splits=("train",),
                             gt=label(), image_bytes=buf.getvalue())

    ws = ingest(root, DatasetSource("bench", classes, items, count=n))
    ids = ws.catalogue.image_ids()
    parent = "v0"
    for v in range(1, versions + 1):
        pick = rng.choice(len(ids), max(1, int(changed * len(ids))), replace=False)
        ws.labels.write_version(f"v{v}", [(ids[j], label()) for j in sorted(pick)], parent=parent, kind="correction")
        parent = f"v{v}"
    return ws


def baseline(ws) -> int:
    import numpy as np

    bad = 0
    k = ws.catalogue.num_classes
    for v in ws.labels.label_versions():
        for image_id in ws.catalogue.image_ids():
            rec = ws.catalogue.image_record(image_id)
            lab = ws.labels.read_label(v.name, image_id)
            vals = np.unique(lab)
            bad += int(lab.shape != (rec.height, rec.width)) + int(((vals >= k) & (vals != 255)).any())
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--height", type=int, default=375)
    ap.add_argument("--width", type=int, default=500)
    ap.add_argument("--versions", type=int, default=3)
    ap.add_argument("--changed", type=float, default=0.1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("ALC_PROGRESS", "0")
    from alc_data.workspace.check import check_workspace

    with tempfile.TemporaryDirectory() as tmp:
        ws = build(Path(tmp) / "ws", args.images, args.height, args.width, args.versions, args.changed)
        t0 = time.perf_counter()
        bad = baseline(ws)
        t_base = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = check_workspace(ws.root)
        t_check = time.perf_counter() - t0
    files = args.images * (args.versions + 1)
    out = {
        "images": args.images, "size": [args.height, args.width], "versions": args.versions + 1, "label_files": files,
        "files_read_by_check": report.checked["label_files_read"], "baseline_s": round(t_base, 3),
        "check_s": round(t_check, 3), "speedup": round(t_base / t_check, 2), "problems": [len(report.problems), bad],
    }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{files} label files ({args.images} images × {args.versions + 1} versions, {args.height}×{args.width}): "
              f"baseline {t_base:.2f} s, check {t_check:.2f} s ({out['speedup']}×; check read {out['files_read_by_check']} files)")


if __name__ == "__main__":
    main()
