"""`alc-data errors` at scale: the driver's peak memory from 1,000 to 10,000 images at K = 150 (ADE20K's
class count) on 256 × 256 images, from a prediction folder and from a model.

The workspace cycles through a pool of demo scenes (labels, reference ground truth, the SAM-like regions)
declared with K classes; the prediction folder holds one (K, H, W) float32 file per image, hard links to
a pool of ``POOL`` distinct arrays (10,000 distinct files would not fit on the disk: 39 MB each); the
model is a ``demo-tiny`` checkpoint with K outputs (random weights: what is measured is memory, not
quality). Each run is a fresh process; its peak resident set size (VmHWM) and wall time are read there,
as in ``bench_scale.py``. The target: the peak stays flat from the smallest to the largest size.

    python benchmarks/bench_errors_scale.py [--sizes 1000,10000] [--classes 150] [--size 256]
                                            [--sources predictions,model] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import CHILD  # noqa: E402

POOL = 4


def build_workspace(path: Path, n: int, size: int, classes: int):
    from alc_data.demo.synth import DEMO_CLASSES, generate
    from alc_data.demo.workspace import _png
    from alc_data.ingest.base import DatasetSource, IngestItem, ingest
    from alc_data.workspace import ClassInfo

    scenes = [(scene, _png(scene.image)) for scene in generate(16, seed=0, size=(size, size))]

    def items():
        for i in range(n):
            scene, png = scenes[i % len(scenes)]
            yield IngestItem(image_id=f"img_{i:07d}", image_path=Path(f"img_{i:07d}.png"), splits=("train",),
                             gt=scene.gt, labels=scene.noisy, superpixels=scene.regions, image_bytes=png)

    names = [name for name, _ in DEMO_CLASSES] + [f"class_{k}" for k in range(len(DEMO_CLASSES), classes)]
    info = [ClassInfo(k, name, (k % 256, (7 * k) % 256, (13 * k) % 256)) for k, name in enumerate(names)]
    return ingest(path, DatasetSource(name="bench-errors", classes=info, items=items, count=n), superpixel_set="sam")


def write_predictions(ws, folder: Path) -> None:
    from alc_data.predictions import softmax

    folder.mkdir(parents=True)
    pool = folder / ".pool"
    pool.mkdir()
    rng = np.random.default_rng(0)
    k = ws.catalogue.num_classes
    sources = []
    for n, image_id in enumerate(ws.catalogue.image_ids("train")):
        if len(sources) < POOL:
            rec = ws.catalogue.image_record(image_id)
            path = pool / f"{len(sources)}.npy"
            np.save(path, softmax((3 * rng.standard_normal((k, int(rec.height), int(rec.width)))).astype(np.float32)))
            sources.append(path)
        os.link(sources[n % len(sources)], folder / f"{image_id}.npy")


def write_model(ws, path: Path) -> Path:
    import torch

    from alc_data.models import build_model
    from alc_data.train import save_checkpoint

    torch.manual_seed(0)
    k = ws.catalogue.num_classes
    return save_checkpoint(path, {"model_name": "demo-tiny", "num_classes": k, "class_names": ws.catalogue.class_names,
                                  "model": build_model("demo-tiny", k).state_dict(), "iteration": 0})


def run_errors(ws: Path, source: list[str]) -> dict:
    env = dict(os.environ, ALC_PROGRESS="0", OMP_NUM_THREADS="1")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD, "errors", "-w", str(ws), *source, "--json"],
                         env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"errors failed:\n{out.stderr[-3000:]}")
    peak = [line for line in out.stderr.splitlines() if line.startswith("PEAK_KB")][-1]
    result = json.loads(out.stdout)
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(int(peak.split()[1]) / 1024, 1),
            "regions": result["regions"], "suspects": result["suspects"]}


def per_image_times(classes: int, size: int, n: int = 8) -> dict:
    """CPU ms per image on the same (K, H, W) float32 arrays: alc-data's suspects (every candidate score)
    against cleanlab's softmin image score (one image at a time) and find_label_issues (all n at once)."""
    from cleanlab.segmentation.filter import find_label_issues
    from cleanlab.segmentation.rank import get_label_quality_scores

    from alc_data.demo.synth import generate
    from alc_data.predictions import softmax
    from alc_data.scoring.suspects import find_suspects

    rng = np.random.default_rng(0)
    scenes = list(generate(n, seed=0, size=(size, size)))
    P = np.stack([softmax((3 * rng.standard_normal((classes, size, size))).astype(np.float32)) for _ in scenes])
    L = np.stack([s.noisy for s in scenes]).astype(np.int64)
    find_suspects(P[0], scenes[0].noisy, scenes[0].regions)  # compile
    out = {}
    t0 = time.process_time()
    for i, s in enumerate(scenes):
        find_suspects(P[i], s.noisy, s.regions, gt=s.gt)
    out["alc errors (find_suspects)"] = 1e3 * (time.process_time() - t0) / n
    t0 = time.process_time()
    for i in range(n):
        get_label_quality_scores(L[i:i + 1], P[i:i + 1], method="softmin", verbose=False)
    out["cleanlab softmin"] = 1e3 * (time.process_time() - t0) / n
    t0 = time.process_time()
    find_label_issues(L, P, verbose=False, n_jobs=1)
    out["cleanlab find_label_issues"] = 1e3 * (time.process_time() - t0) / n
    return {k: round(v, 1) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--classes", type=int, default=150)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--sources", default="predictions,model")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--times", action="store_true", help="only the per-image CPU times against cleanlab")
    args = ap.parse_args()
    if args.times:
        print(json.dumps({"classes": args.classes, "size": args.size,
                          "cpu_ms_per_image": per_image_times(args.classes, args.size)}))
        return
    os.environ.setdefault("ALC_PROGRESS", "0")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(s) for s in args.sizes.split(",")]:
            ws = build_workspace(Path(tmp) / f"ws{n}", n, args.size, args.classes)
            for src in args.sources.split(","):
                if src == "predictions":
                    write_predictions(ws, Path(tmp) / f"preds{n}")
                    source = ["--predictions", str(Path(tmp) / f"preds{n}")]
                else:
                    source = ["--model", str(write_model(ws, Path(tmp) / f"model{n}.pt")), "--batch-size", "4"]
                r = run_errors(ws.root, source)
                rows.append({"images": n, "source": src, "classes": args.classes, "size": args.size, **r,
                             "ms_per_image": round(1e3 * r["seconds"] / n, 1)})
                print(json.dumps(rows[-1]), flush=True)
                shutil.rmtree(Path(tmp) / f"preds{n}", ignore_errors=True)
            shutil.rmtree(ws.root, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
