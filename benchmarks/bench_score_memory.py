"""Peak memory of `alc-data score` on 100 and on 1,000 images: it must not grow with the dataset.

Each measurement runs `alc-data score` in a fresh process and reads that process's peak resident
set size (ru_maxrss). The target: peak(1,000 images) within 10 % of peak(100 images).

    python benchmarks/bench_score_memory.py [--small 100] [--large 1000] [--size 96] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import resource, sys
from alc_data_cli.main import main
sys.argv = ["alc-data"] + sys.argv[1:]
try:
    main()
except SystemExit as exc:
    if exc.code not in (0, None):
        raise
print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def peak_score_kb(ws: Path, checkpoint: Path, budget: int) -> int:
    env = dict(os.environ, ALC_PROGRESS="0")
    out = subprocess.run(
        [sys.executable, "-c", CHILD, "score", "-w", str(ws), "--model", str(checkpoint), "--budget", str(budget),
         "--superpixels", "sam", "--batch-size", "8"],
        env=env, capture_output=True, text=True, check=True,
    )
    line = [l for l in out.stderr.splitlines() if l.startswith("PEAK_KB")][-1]
    return int(line.split()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=100)
    ap.add_argument("--large", type=int, default=1000)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("ALC_PROGRESS", "0")

    from alc_data.demo import build_demo_workspace
    from alc_data.train import TrainConfig, train_model

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = None
        for n in (args.small, args.large):
            ws = build_demo_workspace(Path(tmp) / f"ws{n}", n_train=n, n_val=1, size=(args.size, args.size))
            if ckpt is None:  # one small model serves both (same classes)
                cfg = TrainConfig.from_dict({"model": "demo-tiny", "iterations": 2, "batch_size": 2, "crop_size": 64})
                ckpt = train_model(ws, config=cfg, run_dir=Path(tmp) / "model").checkpoint
            results[n] = peak_score_kb(ws.root, Path(ckpt), budget=10)
    ratio = results[args.large] / results[args.small]
    report = {"images": list(results), "peak_rss_mb": {n: round(kb / 1024, 1) for n, kb in results.items()},
              "ratio": round(ratio, 4), "target": "≤ 1.10", "size": args.size}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for n, kb in results.items():
            print(f"alc-data score on {n:>5} images of {args.size}×{args.size}: peak RSS {kb / 1024:8.1f} MB")
        print(f"ratio {ratio:.3f} (target ≤ 1.10)")


if __name__ == "__main__":
    main()
