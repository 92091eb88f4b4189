"""Scoring at scale, local engine vs Ray Data on this machine: images per second and the driver's peak memory.

For each dataset size, a workspace of that many training images (PASCAL size by default, 500×375;
the demo's synthetic scenes, a pool of 32 of them repeated so that building 10,000 images takes
minutes, not half an hour) gets a folder of seeded random probabilities (one ``<image_id>.npy`` per
image, float16; hard links to a pool of 32 distinct arrays, so making them costs nothing), then
``alc-data score --predictions`` runs in a fresh process per engine and superpixel set; the driver's
peak resident set size (VmHWM; Ray's workers are other processes) and the wall time are read there.
Two sets: ``sam``, the demo's SAM-like regions (~18 per image), and ``grid``, square blocks giving
about ``--regions`` per image (2,000 by default, what SAM gives on a PASCAL image: 10,000 images are
20 million score rows). The target: the driver's peak stays flat from the smallest to the largest
size, for both engines. On a 2-core machine Ray adds its start-up and scheduling, it cannot speed
anything up: the figure to read is its overhead. Also reported: the Parquet score table's bytes per
superpixel row.

    python benchmarks/bench_scale.py [--sizes 1000,10000] [--height 375] [--width 500] [--regions 2000]
                                     [--engines local,ray] [--sets sam,grid] [--json]

K is the demo workspace's number of classes (7).
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

# The child's peak is VmHWM (this process image's high-water mark), not ru_maxrss: on Linux ru_maxrss
# carries the parent's peak across fork/exec, so a child of a parent that built a big workspace would
# report the parent's memory.
CHILD = """
import sys
from alc_data_cli.main import main
sys.argv = ["alc-data"] + sys.argv[1:]
try:
    main()
except SystemExit as exc:
    if exc.code not in (0, None):
        raise
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
print("PEAK_KB", hwm, file=sys.stderr)
"""

POOL = 32


def build_workspace(path: Path, n: int, size: tuple[int, int], regions: int):
    """A workspace of ``n`` training images (+1 validation) cycling through POOL demo scenes, with the
    demo's ``sam`` set and a ``grid`` set of square blocks (about ``regions`` per image)."""
    from alc_data.demo.synth import DEMO_CLASSES, generate
    from alc_data.demo.workspace import _png
    from alc_data.ingest.base import DatasetSource, IngestItem, ingest
    from alc_data.workspace import ClassInfo

    scenes = [(scene, _png(scene.image)) for scene in generate(POOL, seed=0, size=size)]

    def items():
        for i in range(n + 1):
            scene, png = scenes[i % POOL]
            split = "train" if i < n else "val"
            yield IngestItem(image_id=f"img_{i:07d}", image_path=Path(f"img_{i:07d}.png"), splits=(split,), gt=scene.gt,
                             labels=scene.noisy if split == "train" else scene.gt, superpixels=scene.regions,
                             image_bytes=png)

    classes = [ClassInfo(i, name, color) for i, (name, color) in enumerate(DEMO_CLASSES)]
    ws = ingest(path, DatasetSource(name="bench-scale", classes=classes, items=items, count=n + 1), superpixel_set="sam")
    h, w = size
    side = max(1, round((h * w / regions) ** 0.5))
    rows, cols = -(-h // side), -(-w // side)
    grid = ((np.arange(h)[:, None] // side) * cols + np.arange(w)[None, :] // side).astype(np.int32)
    ws.superpixels.write_superpixel_set("grid", ((i, grid) for i in ws.catalogue.image_ids()), method="imported",
                            params={"source": f"bench grid {side}x{side}, {rows * cols} blocks"})
    return ws


def write_predictions(ws, folder: Path, *, seed: int = 0) -> None:
    """One float16 (K, H, W) probability file per training image: hard links to POOL seeded arrays."""
    from alc_data.predictions import softmax

    folder.mkdir(parents=True)
    pool = folder / ".pool"
    pool.mkdir()
    rng = np.random.default_rng(seed)
    made: dict[tuple[int, int, int], list[Path]] = {}
    for n, image_id in enumerate(ws.catalogue.image_ids("train")):
        rec = ws.catalogue.image_record(image_id)
        shape = (ws.catalogue.num_classes, int(rec.height), int(rec.width))
        sources = made.setdefault(shape, [])
        if len(sources) < POOL:
            path = pool / f"{len(made)}_{len(sources)}.npy"
            np.save(path, softmax((3 * rng.standard_normal(shape)).astype(np.float32)).astype(np.float16))
            sources.append(path)
        os.link(sources[n % len(sources)], folder / f"{image_id}.npy")


def run_score(ws: Path, preds: Path, engine: str, budget: int, superpixels: str) -> dict:
    env = dict(os.environ, ALC_PROGRESS="0", RAY_DISABLE_USAGE_STATS="1")
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, "score", "-w", str(ws), "--predictions", str(preds), "--budget", str(budget),
         "--superpixels", superpixels, "--no-skip-asked", "--engine", engine, "--json"],
        env=env, capture_output=True, text=True,
    )
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"score --engine {engine} failed:\n{out.stderr[-3000:]}")
    peak = [line for line in out.stderr.splitlines() if line.startswith("PEAK_KB")][-1]
    result = json.loads(out.stdout)
    table = Path(result["score_table"])
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(int(peak.split()[1]) / 1024, 1),
            "candidates": result["candidates"], "table_bytes": table.stat().st_size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000", help="dataset sizes (training images), comma-separated")
    ap.add_argument("--height", type=int, default=375)
    ap.add_argument("--width", type=int, default=500)
    ap.add_argument("--regions", type=int, default=2000, help="about this many blocks per image in the grid set")
    ap.add_argument("--engines", default="local,ray")
    ap.add_argument("--sets", default="sam,grid", help="superpixel sets to score: sam (demo regions), grid")
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("ALC_PROGRESS", "0")

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(s) for s in args.sizes.split(",")]:
            t0 = time.perf_counter()
            ws = build_workspace(Path(tmp) / f"ws{n}", n, (args.height, args.width), args.regions)
            preds = Path(tmp) / f"preds{n}"
            write_predictions(ws, preds)
            setup = time.perf_counter() - t0
            for sp_set in args.sets.split(","):
                for engine in args.engines.split(","):
                    r = run_score(ws.root, preds, engine, args.budget, sp_set)
                    rows.append({"images": n, "engine": engine, "set": sp_set, "height": args.height, "width": args.width,
                                 "classes": ws.catalogue.num_classes, **r, "images_per_s": round(n / r["seconds"], 1),
                                 "rows_per_image": round(r["candidates"] / n, 1),
                                 "bytes_per_row": round(r["table_bytes"] / max(1, r["candidates"]), 2),
                                 "setup_s": round(setup, 1)})
                    if not args.json:
                        print(json.dumps(rows[-1]), flush=True)
            shutil.rmtree(ws.root, ignore_errors=True)
            shutil.rmtree(preds, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
