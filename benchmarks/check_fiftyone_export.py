"""A manual check of ``alc-data export --format fiftyone`` with FiftyOne itself, where it installs
(``pip install fiftyone``; it is no dependency of alc-data, since it brings a database server).

Builds a small demo workspace, exports it with an errors parquet, loads the folder with
``fo.Dataset.from_dir(dataset_type=fo.types.ImageSegmentationDirectory)``, attaches the sidecar's
mask targets and error scores as the README shows, and compares every mask with the workspace's labels.

    python benchmarks/check_fiftyone_export.py [--keep DIR]

Exit 0 when FiftyOne gives back every label map; without FiftyOne it says so and checks the layout only.
FiftyOne starts its own MongoDB; where it cannot fetch one, start a ``mongod`` and set
``FIFTYONE_DATABASE_URI=mongodb://127.0.0.1:PORT``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="Write the workspace and the export here (default: a temp folder).")
    args = parser.parse_args(argv)
    import pyarrow as pa
    import pyarrow.parquet as pq

    from alc_data.demo import build_demo_workspace
    from alc_data.export import ExportChoice
    from alc_data.stages.export import ExportOptions, export

    root = args.keep or Path(tempfile.mkdtemp(prefix="alc-fiftyone-"))
    ws = build_demo_workspace(root / "ws", n_train=6, n_val=2, size=(48, 48), seed=0)
    ids = ws.catalogue.image_ids()
    pq.write_table(pa.table({"image_id": ids, "image_score": [float(i) for i in range(len(ids))]}), root / "errors.parquet")
    out = root / "fiftyone"
    export(ws, ExportOptions(out, format="fiftyone", choice=ExportChoice(errors=root / "errors.parquet")))
    try:
        import fiftyone as fo
    except ImportError:
        print(f"fiftyone is not installed: layout written to {out}, not loaded (pip install fiftyone to check it)")
        return 0
    ds = fo.Dataset.from_dir(str(out), dataset_type=fo.types.ImageSegmentationDirectory)
    side = json.loads((out / "alc_data.json").read_text())
    ds.default_mask_targets = {int(k): v for k, v in side["mask_targets"].items()}
    ds.save()
    ds.set_values("error_score", [side.get("error_scores", {}).get(Path(p).stem) for p in ds.values("filepath")])
    bad, void = 0, 0
    for sample in ds:
        image_id = Path(sample.filepath).stem
        mask = sample.ground_truth.get_mask() if hasattr(sample.ground_truth, "get_mask") else sample.ground_truth.mask
        void += int((np.asarray(mask) == 255).sum())
        if not np.array_equal(np.asarray(mask), ws.labels.read_label(None, image_id)):
            print(f"{image_id}: FiftyOne's mask differs from the workspace's labels")
            bad += 1
        if sample["error_score"] != side["error_scores"][image_id]:
            print(f"{image_id}: error score {sample['error_score']} != {side['error_scores'][image_id]}")
            bad += 1
    print(f"{len(ds)} samples loaded by FiftyOne {fo.__version__} ({void} void pixels kept as 255, mask targets "
          f"{ds.default_mask_targets}); {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
