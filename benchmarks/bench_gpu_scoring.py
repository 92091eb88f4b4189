"""Benchmark: scoring on a CUDA GPU, from probabilities and straight from logits, in images/s.

PASCAL-size inputs (375 x 500, K = 21) with SEEDS regions: the VOC sample images of ``--voc``
(default ``tests/fixtures/voc``) as in ``bench_peers.py``, else the SEEDS-like layout of
``bench_scoring.py``. For each acquisition it times, over 8 images already on the device (as a
model leaves them):

- ``gpu probs``: ``score_superpixels(probs)`` with CUDA tensors (the torch path, float64);
- ``gpu logits``: ``score_superpixels(logits, from_logits=True)``: the softmax is taken on the GPU
  for the candidate pixels, no probability map is copied to the host, only the per-superpixel rows
  come back;
- ``cpu``: the default CPU path on the same arrays in host memory (one thread), for scale;

and checks that the GPU tables equal the CPU ones (same representatives, scores within 1e-6).
Exits with a message and code 2 when no CUDA device exists.

    python benchmarks/bench_gpu_scoring.py [--repeat 3] [--acquisitions sim,cil,lcil,softmin] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load_inputs(voc: Path):
    """(probs (8, K, H, W) float32, labels (8, H, W) uint8, superpixels (8, H, W) int32, layout)."""
    import numpy as np

    sys.path.insert(0, str(HERE))
    if (voc / "VOCdevkit" / "VOC2012" / "SegmentationClass").is_dir():
        from bench_peers import voc_seeds

        return (*voc_seeds(voc), "SEEDS regions on the VOC sample images")
    from bench_scoring import make_inputs

    cases = [make_inputs("seeds", seed=i) for i in range(8)]
    return (*(np.stack(a) for a in zip(*cases)), "SEEDS-like jittered blocks (no VOC images found)")


def best_of(fn, repeat: int, sync) -> float:
    fn()
    sync()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--acquisitions", default="sim,cil,lcil,softmin")
    ap.add_argument("--voc", type=Path, default=HERE.parent / "tests" / "fixtures" / "voc")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--device", default="cuda",
                    help="cuda (default); cpu runs the same script on CPU tensors (a dry run)")
    args = ap.parse_args(argv)

    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: torch.cuda.is_available() is False; run this on a machine with a GPU "
              "(bench_peers.py measures the CPU paths)", file=sys.stderr)
        return 2
    import numpy as np

    sys.path.insert(0, str(HERE.parent))
    from alc_data.scoring import score_superpixels

    torch.set_num_threads(1)
    probs, labels, sp, layout = load_inputs(args.voc)
    n = len(probs)
    logits = np.log(np.maximum(probs, 1e-30)).astype(np.float32)
    dev = torch.device(args.device)
    g_probs = torch.from_numpy(probs).to(dev)
    g_logits = torch.from_numpy(logits).to(dev)
    g_labels = torch.from_numpy(labels).to(dev)
    g_sp = torch.from_numpy(sp).to(dev)
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    regions = int(np.mean([len(np.unique(s[s >= 0])) for s in sp]))

    results = []
    for acq in args.acquisitions.split(","):
        cpu = [score_superpixels(probs[i], labels[i], sp[i], acquisition=acq) for i in range(n)]
        row = {"acquisition": acq}
        for name, fn in (
            ("gpu probs", lambda i: score_superpixels(g_probs[i], g_labels[i], g_sp[i], acquisition=acq,
                                                      backend="torch")),
            ("gpu logits", lambda i: score_superpixels(g_logits[i], g_labels[i], g_sp[i], acquisition=acq,
                                                       backend="torch", from_logits=True)),
        ):
            tables = [fn(i) for i in range(n)]
            for got, ref in zip(tables, cpu):
                same_reps = np.array_equal(got.rep_row, ref.rep_row) and np.array_equal(got.rep_col, ref.rep_col)
                if not same_reps:
                    row[f"{name} check"] = "representatives differ from the CPU path"
                elif not np.allclose(got.score, ref.score, rtol=1e-6, atol=1e-6):
                    row[f"{name} check"] = "scores differ from the CPU path by more than 1e-6"
            row.setdefault(f"{name} check", "same as CPU")
            row[f"{name} images/s"] = n / best_of(lambda: [fn(i) for i in range(n)], args.repeat, sync)
        row["cpu images/s"] = n / best_of(
            lambda: [score_superpixels(probs[i], labels[i], sp[i], acquisition=acq) for i in range(n)],
            args.repeat, lambda: None)
        results.append(row)

    device = torch.cuda.get_device_name() if args.device == "cuda" else "CPU tensors (dry run)"
    report = {"device": device, "layout": layout, "images": n,
              "shape": list(probs.shape[1:]), "regions_mean": regions, "results": results}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['device']}: {n} images {probs.shape[2]}x{probs.shape[3]}, K={probs.shape[1]}, "
              f"{layout}, {regions} regions per image on average")
        print(f"{'acq':8} {'gpu probs':>10} {'gpu logits':>11} {'cpu':>8}  (images/s)  check")
        for r in results:
            print(f"{r['acquisition']:8} {r['gpu probs images/s']:10.1f} {r['gpu logits images/s']:11.1f} "
                  f"{r['cpu images/s']:8.1f}  {r['gpu probs check']}; {r['gpu logits check']}")
    return 0


if __name__ == "__main__":
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    sys.exit(main())
