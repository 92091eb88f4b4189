"""Benchmark: vectorised superpixel scoring against a per-superpixel loop, one CPU core.

PASCAL-size inputs (375 x 500, K = 21): ~2,048 SEEDS-like superpixels (a jittered grid of blocks) and
~100 SAM-like regions (Voronoi cells, some pixels no candidate). The loop baseline is the research
code's style, written from the same equations: for each superpixel id, a full-image boolean mask,
then numpy on that superpixel's pixels. Both run in this process with one thread.

    python benchmarks/bench_scoring.py [--repeat 5] [--acquisitions sim,cil,lcil] [--torch] [--json]

``--torch`` also times the torch path (forced on CPU tensors, and on CUDA when available).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

EPS = 1e-8
IGNORE = 255  # IGNORE_INDEX; the loop baseline is self-contained on purpose


def make_inputs(kind: str, seed: int = 0, H: int = 375, W: int = 500, K: int = 21):
    """(probs (K, H, W) float32, labels (H, W) uint8, superpixels (H, W) int32)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    cell = 25
    low = rng.normal(size=(K, H // cell + 1, W // cell + 1)) * 4.0
    logits = np.repeat(np.repeat(low, cell, axis=1), cell, axis=2)[:, :H, :W]
    logits = logits + rng.normal(size=(K, H, W)) * 0.7
    logits -= logits.max(axis=0, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=0, keepdims=True)
    probs = probs.astype(np.float32)

    labels = probs.argmax(axis=0).astype(np.uint8)
    wrong = rng.random((H // cell + 1, W // cell + 1)) < 0.15
    wrong = np.repeat(np.repeat(wrong, cell, 0), cell, 1)[:H, :W]
    labels[wrong] = (labels[wrong] + 1) % K
    labels[rng.random((H, W)) < 0.05] = IGNORE

    rows, cols = np.mgrid[0:H, 0:W]
    if kind == "seeds":  # ~2,048 blocks with ragged, jittered borders
        n_r, n_c = 39, 52
        jr = rng.integers(-2, 3, size=(H, W))
        jc = rng.integers(-2, 3, size=(H, W))
        r = np.clip((rows + jr) * n_r // H, 0, n_r - 1)
        c = np.clip((cols + jc) * n_c // W, 0, n_c - 1)
        sp = (r * n_c + c).astype(np.int32)
    elif kind == "sam":  # ~100 large regions; ~10 % of the image is no candidate
        n_seeds = 110
        pts = rng.random((n_seeds, 2)) * [H, W]
        d = (rows[..., None] - pts[:, 0]) ** 2 + (cols[..., None] - pts[:, 1]) ** 2
        sp = d.argmin(axis=-1).astype(np.int32)
        sp[sp >= 100] = -1
    else:
        raise ValueError(kind)
    return probs, labels, sp


def loop_scores(probs, labels, superpixels, acquisition: str):
    """Per-superpixel loop from the equations (the research code's style): (ids, rep, scores)."""
    import numpy as np

    K = probs.shape[0]
    ids, reps, scores = [], [], []
    for sid in np.unique(superpixels):
        if sid < 0:
            continue
        mask = superpixels == sid
        f = probs[:, mask].astype(np.float64)  # (K, n_s), row-major pixel order
        pred = f.argmax(axis=0)
        dom = np.bincount(pred, minlength=K).argmax()
        in_sp = np.flatnonzero(pred == dom)
        fs = f[:, in_sp]
        m = fs.mean(axis=1)
        cos_m = (m @ fs) / (np.maximum(np.linalg.norm(fs, axis=0), EPS) * max(np.linalg.norm(m), EPS))
        j = in_sp[cos_m.argmax()]
        y = labels[mask].astype(np.int64)
        y = np.where(y == IGNORE, pred, y)
        u = 1.0 - f[y, np.arange(f.shape[1])]
        if acquisition == "cil":
            score = u[j]
        elif acquisition == "lcil":
            score = u.mean()
        elif acquisition == "sim":
            frep = f[:, j]
            cos = (frep @ f) / (
                np.maximum(np.linalg.norm(f, axis=0), EPS) * max(np.linalg.norm(frep), EPS)
            )
            score = (cos * u).sum()
        else:
            raise ValueError(acquisition)
        ids.append(int(sid))
        reps.append(int(np.flatnonzero(mask)[j]))
        scores.append(float(score))
    return np.array(ids), np.array(reps), np.array(scores)


def _time(fn, repeat: int) -> tuple[float, float]:
    """(best wall time, best CPU time) of ``repeat`` calls after one warm-up, in seconds.

    Minimums, not means: on a shared machine other processes only ever add time. The CPU time
    (``time.process_time``, one thread) is the steadier of the two there.
    """
    fn()
    wall = cpu = float("inf")
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10, help="timed calls of the vectorised scorer")
    ap.add_argument("--loop-repeat", type=int, default=3, help="timed calls of the loop baseline")
    ap.add_argument("--acquisitions", default="sim,cil,lcil")
    ap.add_argument("--kinds", default="seeds,sam")
    ap.add_argument("--torch", action="store_true", help="also time the torch path")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args(argv)

    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from alc_data.scoring import score_superpixels

    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass
    torch = None
    if args.torch:
        import torch

        torch.set_num_threads(1)

    results = []
    for kind in args.kinds.split(","):
        probs, labels, sp = make_inputs(kind)
        n_sp = int(len(np.unique(sp[sp >= 0])))
        for acq in args.acquisitions.split(","):
            table = score_superpixels(probs, labels, sp, acquisition=acq)
            ids, reps, loop_sc = loop_scores(probs, labels, sp, acq)
            rep_flat = table.rep_row.astype(np.int64) * sp.shape[1] + table.rep_col
            agree = bool(np.array_equal(ids, table.superpixel_id) and np.array_equal(reps, rep_flat))
            max_diff = float(np.max(np.abs(loop_sc - table.score) / np.maximum(1.0, np.abs(loop_sc))))
            vec_wall, vec_cpu = _time(
                lambda: score_superpixels(probs, labels, sp, acquisition=acq), args.repeat
            )
            loop_wall, loop_cpu = _time(lambda: loop_scores(probs, labels, sp, acq), args.loop_repeat)
            row = {
                "kind": kind,
                "acquisition": acq,
                "superpixels": n_sp,
                "shape": list(probs.shape),
                "loop_s": loop_wall,
                "vectorised_s": vec_wall,
                "speedup": loop_wall / vec_wall,
                "loop_cpu_s": loop_cpu,
                "vectorised_cpu_s": vec_cpu,
                "speedup_cpu": loop_cpu / vec_cpu,
                "same_reps": agree,
                "max_rel_score_diff": max_diff,
            }
            if torch is not None:
                tp, tl, ts = (torch.from_numpy(a) for a in (probs, labels, sp))
                row["torch_cpu_s"] = _time(
                    lambda: score_superpixels(tp, tl, ts, acquisition=acq, backend="torch"),
                    args.repeat,
                )[0]
                if torch.cuda.is_available():
                    gp, gl, gs = (a.cuda() for a in (tp, tl, ts))

                    def on_gpu():
                        score_superpixels(gp, gl, gs, acquisition=acq)
                        torch.cuda.synchronize()

                    row["torch_cuda_s"] = _time(on_gpu, args.repeat)[0]
                    row["cuda_device"] = torch.cuda.get_device_name()
            results.append(row)

    if args.json:
        import json

        print(json.dumps({"threads": 1, "results": results}, indent=2))
    else:
        print(
            f"{'kind':6} {'acq':5} {'S':>5} {'loop ms':>9} {'vec ms':>8} {'speed-up':>9}"
            f" {'loop cpu':>9} {'vec cpu':>8} {'cpu speed-up':>12}  check"
        )
        for r in results:
            extra = ""
            if "torch_cpu_s" in r:
                extra += f"  torch-cpu {r['torch_cpu_s'] * 1e3:.1f} ms"
            if "torch_cuda_s" in r:
                extra += f"  torch-cuda {r['torch_cuda_s'] * 1e3:.2f} ms"
            print(
                f"{r['kind']:6} {r['acquisition']:5} {r['superpixels']:5d} {r['loop_s'] * 1e3:9.1f} "
                f"{r['vectorised_s'] * 1e3:8.2f} {r['speedup']:8.1f}x {r['loop_cpu_s'] * 1e3:9.1f} "
                f"{r['vectorised_cpu_s'] * 1e3:8.2f} {r['speedup_cpu']:11.1f}x  "
                f"reps={r['same_reps']} maxdiff={r['max_rel_score_diff']:.1e}{extra}"
            )
    return 0


if __name__ == "__main__":
    # One core: limit BLAS/OpenMP threads before numpy (or torch) is imported.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    sys.exit(main())
