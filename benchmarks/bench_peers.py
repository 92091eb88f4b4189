"""Benchmark: alc-data's scorer beside cleanlab's segmentation scores on the same arrays, one thread.

Inputs: 8 PASCAL-size images (375 x 500), K = 21, float32 probabilities, in two layouts:

- ``blocks``: random probabilities (uniform, normalised: high entropy, many near-ties), random labels,
  8 x 8 pixel blocks as regions (2,961 per image);
- ``seeds``: the VOC sample images (``--voc``, default ``tests/fixtures/voc`` when present; cycled
  to 8 and resized to 500 x 375), SEEDS regions from ``alc_data.superpixels`` (about 2,000-3,000), and a
  smooth synthetic probability field that follows the images' objects: softmax of a blurred one-hot of
  the VOC ground truth plus pixel noise (no trained model is involved); labels = the ground truth with
  void replaced by the field's argmax and one wrong 60 x 60 patch per image.

Rows (CPU ms per image, best of ``--repeat`` runs over the 8 images; the first run also warms
up): the floor ``p.sum()`` (one read of the probabilities), cleanlab 2.x ``segmentation.rank.get_label_quality_scores(method="softmin")``,
alc-data softmin over the whole image (one superpixel; the scores alone with ``superpixel_scores``,
and the full table with its representative column), softmin / CIL / LCIL / SIM per superpixel (the
table, default backend), SIM with the numpy backend, and the per-superpixel loop reference of
``bench_scoring.py`` (SIM; ``--loop-images`` images, one run). It also checks that alc-data's
whole-image softmin equals cleanlab's image score. Every "alc" row includes input validation.

    pip install -e '.[bench]'   # cleanlab
    python benchmarks/bench_peers.py [--repeat 3] [--layouts blocks,seeds] [--profile] [--json]

Recorded (issue 22, 2026-12-07; a 2-core machine shared with two other jobs, so each figure is a ratio
taken within one run): SIM on SEEDS regions costs 9.55x cleanlab's softmin (12.3 ms of fused kernel per
image: group pixels 0.6, pass 1 (pred, |f|, votes) 3.3, u(x) 0.3, rep(s) 6.1, SIM sums 2.7; cleanlab
1.6 ms). Tried, all with the same representatives (the exactness tests pass on each):

- a channels-last copy of the probabilities written block by block in pass 1, the per-superpixel
  steps reading each pixel's K values from it: 9.67x (the scattered writes cost what the contiguous
  reads saved);
- the same copy written pixel-outer (contiguous writes, K read streams): 11.05x (the copy alone costs
  about 5 ms per image at K = 21);
- the dot products f(x) . m(s) of a superpixel computed class-outer over its pixels (independent sums,
  each still in class order): 8.36x, within this machine's noise.

Tried on 2026-12-07 (the same 8 images; CPU ms per image of the kernel, old kernel 12.3 in the same
process):

- three contiguous streaming passes instead of the per-superpixel finish (pass 1 as now; the sums for
  m(s) and g(s) along row-major runs of equal superpixel, 8 classes at a time as independent chains;
  f(x) . m(s) class-outer over blocks with m gathered per pixel). Each pass alone: pass 1 with its
  per-pixel votes and u(x) 3.3 (its two class loops fused into one: no faster), the run sums 2.9, the
  gathered dot products 4.4 (4.0 in float32): about 10.6 together at best, where one plain read of
  the probabilities (p.sum()) costs 0.6. With every class read contiguously, the per-superpixel sums
  become chains of dependent adds and the mean a gather per pixel;
- the old kernel with each superpixel's pixels gathered once into a contiguous buffer (K values per
  pixel) and m(s), the cosines (four pixels' dot products interleaved) and g(s) read from it: 11.0
  (-10 %): the strided gather itself is what costs, whichever step does it.

Measured again on an idle machine (2026-12-07, later): SIM 13.21 ms per image against cleanlab's 1.55
(8.51x); softmin per superpixel with the table's representative column 11.63 (7.49x), softmin scores
alone 1.56 (1.00x). The representative search (the pool's mean and cosines, which every query needs
for its point) costs about 10 ms of SIM's 13; SIM's own sums about 1.6.

None reaches the 4x target, and none was kept.

Kept (2026-12-07, session 5): m(s) and g(s) summed in one pass over the pixels of s instead of two (each
class's sum still in row-major pixel order, so both are bit-identical): SIM 13.3 -> 11.7 ms per image,
8.4x -> 7.6x cleanlab's softmin (two runs each, interleaved with the previous commit's tree). Tried the
same day and dropped: a channels-last copy made by ``cv2.transpose`` (1.3 ms per image) with every
per-superpixel step reading it: 15.6 ms, because the finish then reads the copy from L3 instead of the
block's pixels from L2 (the m and g sums alone cost 7.5 ms that way); the cosines of four pixels
interleaved: within noise; the sqrt / bad-pixel loop made branch-free: within noise; the K values of
the pixels of s' copied into a contiguous buffer during the sums, the cosines then read from it: 13.4
against 11.1 ms of kernel (the copy's writes cost more than the strided reads they replace). What is left
is memory-bound: pass 1 reads the probabilities from DRAM as 21 short streams per block (about 2 ms,
where one contiguous read costs 0.6), and the two strided passes over each superpixel (sums, cosines)
about 3 ms each from L2. The floor explains why: cleanlab's softmin reads one
probability per pixel, SIM reads all K at least three times (pred and |f|, m(s) and the cosines, the
SIM sums) and pass 1 alone already costs twice cleanlab's whole score; in class order and float64 (what
keeps rep(s) exact) those reads do not vectorise.

Tried on 2026-12-07 (session 6; kernel alone, same process, same 8 images): a channels-last copy written
in 16-pixel tiles inside pass 1, the m(s) and g(s) sums reading it K contiguous values at a time, and
the cosines computed in any summation order (fastmath) with only the pixels within a rigorous rounding
bound of the best recomputed in class order (so rep(s) stays bit-identical: checked on every image):
16.7 ms against the kept kernel's 11.9. The copy alone costs 1.9 ms pixel-outer and 3.6 to 5.2 ms in
tiles per image at K = 21, more than the vectorised sums save. Not kept.

Measured the same day by removing steps from the kept kernel (bit-identical outputs checked where kept):
pass 1 with dom(s) only 3.3 ms, + u(x) 0.3, + the m(s)/g(s) pass 3.7, + the cosines 3.1 (10.7 in all).
The m(s)/g(s) pass with four classes' sums held in registers (each still in row-major pixel order:
bit-identical): 10.5-10.7 against 10.7-11.3, within noise; BLOCK = 512, 1024, 4096 or 8192 pixels
instead of 2048: 11.0-11.5, no better. The per-superpixel passes are bound by the strided loads, not by
the arithmetic or by how long the block stays in cache. Not kept.

Tried on 2026-12-07 (session 7; kernel alone, same process, same 8 images, outputs bit-identical): pass 1
(pred and |f|) over whole class rows before any superpixel is finished, since one plain class-outer read
is far faster in long streams (a float32 sum of the K rows: 1.70 ms in blocks of 2,048 pixels, 1.07 in
4,096, 0.77 in whole rows of 187,500; pred and |f| together: 2.93 in blocks of 2,048, 1.56 in whole rows).
The kernel took 16.4-17.4 ms against the kept one's 12.1-12.5: the per-superpixel finish then reads each
pixel's K values from L3 instead of from the block just streamed into L2, which costs more than pass 1
saves. Pass 1's two class loops fused into one: 11.26 / 11.89 against 11.24 / 11.53, within noise. Not kept.
The same day: the cosines computed eight pixels at a time along each superpixel's row runs (runs of 7
pixels on average here; eight dot products in class order side by side, each bit-identical to the
scalar one, in an array or in eight named accumulators): 13.1-13.6 ms against 11.9-12.7, so that pass is
not bound by its instruction count either. Not kept.
"""

from __future__ import annotations

import os

# One thread: set before numpy (or anything that loads a BLAS) is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
N_IMAGES, K, H, W = 8, 21, 375, 500


def random_blocks(seed: int = 0):
    """(probs (8, K, H, W) float32, labels (8, H, W) uint8, superpixels (8, H, W) int32), 8x8 blocks."""
    rng = np.random.default_rng(seed)
    probs = rng.random((N_IMAGES, K, H, W), dtype=np.float32)
    probs /= probs.sum(axis=1, keepdims=True)
    labels = rng.integers(0, K, size=(N_IMAGES, H, W)).astype(np.uint8)
    rows, cols = np.mgrid[0:H, 0:W]
    sp = ((rows // 8) * ((W + 7) // 8) + cols // 8).astype(np.int32)
    return probs, labels, np.broadcast_to(sp, (N_IMAGES, H, W)).copy()


def voc_seeds(voc: Path, seed: int = 0):
    """The ``seeds`` layout from the VOC sample images (see the module docstring)."""
    import cv2
    from PIL import Image

    from alc_data.superpixels.classic import seeds

    root = voc / "VOCdevkit" / "VOC2012"
    stems = sorted(p.stem for p in (root / "SegmentationClass").glob("*.png"))
    if not stems:
        raise SystemExit(f"no VOC sample images under {root}; pass --voc or --layouts blocks")
    rng = np.random.default_rng(seed)
    probs = np.empty((N_IMAGES, K, H, W), dtype=np.float32)
    labels = np.empty((N_IMAGES, H, W), dtype=np.uint8)
    sp = np.empty((N_IMAGES, H, W), dtype=np.int32)
    for i in range(N_IMAGES):
        stem = stems[i % len(stems)]
        image = np.asarray(Image.open(root / "JPEGImages" / f"{stem}.jpg").convert("RGB"))
        gt = np.asarray(Image.open(root / "SegmentationClass" / f"{stem}.png"))
        if i >= len(stems):  # a second pass over the images: mirrored, so no two are equal
            image, gt = image[:, ::-1], gt[:, ::-1]
        image = cv2.resize(np.ascontiguousarray(image), (W, H), interpolation=cv2.INTER_AREA)
        gt = cv2.resize(np.ascontiguousarray(gt), (W, H), interpolation=cv2.INTER_NEAREST)
        onehot = np.zeros((K, H, W), dtype=np.float32)
        valid = gt < K
        onehot[(gt[valid], *np.nonzero(valid))] = 1.0
        logits = np.stack([cv2.GaussianBlur(c, (0, 0), 6.0) for c in onehot]) * 6.0
        logits += rng.normal(size=(K, H, W)).astype(np.float32) * 0.8
        logits -= logits.max(axis=0, keepdims=True)
        p = np.exp(logits)
        probs[i] = p / p.sum(axis=0, keepdims=True)
        lab = np.where(valid, gt, probs[i].argmax(axis=0)).astype(np.uint8)
        r, c = rng.integers(0, H - 60), rng.integers(0, W - 60)
        lab[r:r + 60, c:c + 60] = (lab[r:r + 60, c:c + 60] + 1) % K  # a planted wrong patch
        labels[i] = lab
        sp[i] = seeds(image, num_superpixels=3000)
    return probs, labels, sp


def best_of(fn, repeat: int) -> float:
    """Best CPU time (one thread: ``time.process_time``) of ``repeat`` calls, in seconds; on a
    shared machine other processes only add time, and CPU time ignores the waits for a core."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def run_layout(name: str, probs, labels, sp, repeat: int, loop_images: int) -> dict:
    from alc_data.scoring import score_superpixels

    try:
        from alc_data.scoring import superpixel_scores
    except ImportError:  # an alc-data before the scores-only entry point (the "before" figures)
        superpixel_scores = None

    sys.path.insert(0, str(HERE))
    from bench_scoring import loop_scores

    n = len(probs)
    whole = np.zeros((H, W), dtype=np.int32)
    rows: dict[str, float] = {}

    def per_image(fn):
        return best_of(lambda: [fn(i) for i in range(n)], repeat) / n * 1e3

    rows["floor p.sum()"] = per_image(lambda i: probs[i].sum())
    try:
        from cleanlab.segmentation.rank import get_label_quality_scores
    except ImportError:
        get_label_quality_scores = None
        print("cleanlab is not installed (pip install -e '.[bench]'): its row is skipped",
              file=sys.stderr)
    max_diff = None
    if get_label_quality_scores is not None:
        def cl(i):
            return get_label_quality_scores(labels[i:i + 1], probs[i:i + 1], method="softmin",
                                            verbose=False)[0][0]

        rows["cleanlab softmin (image)"] = per_image(cl)
        ours = np.array([1.0 - score_superpixels(probs[i], labels[i], whole, acquisition="softmin").score[0]
                         for i in range(n)])
        theirs = np.array([cl(i) for i in range(n)])
        max_diff = float(np.max(np.abs(ours - theirs)))
    if superpixel_scores is not None:
        rows["alc softmin (image) scores"] = per_image(
            lambda i: superpixel_scores(probs[i], labels[i], whole, acquisition="softmin"))
    rows["alc softmin (image) table"] = per_image(
        lambda i: score_superpixels(probs[i], labels[i], whole, acquisition="softmin"))
    for acq in ("softmin", "cil", "lcil", "sim"):
        rows[f"alc {acq} (superpixels)"] = per_image(
            lambda i, acq=acq: score_superpixels(probs[i], labels[i], sp[i], acquisition=acq))
    rows["alc sim, numpy backend"] = per_image(
        lambda i: score_superpixels(probs[i], labels[i], sp[i], acquisition="sim", backend="numpy"))
    k = min(loop_images, n)
    t0 = time.process_time()
    for i in range(k):
        loop_scores(probs[i], labels[i], sp[i], "sim")
    rows["loop reference sim"] = (time.process_time() - t0) / k * 1e3
    regions = [int(len(np.unique(s[s >= 0]))) for s in sp]
    return {"layout": name, "regions_mean": float(np.mean(regions)), "regions_min": min(regions),
            "regions_max": max(regions), "ms_per_image": rows, "max_abs_diff_vs_cleanlab": max_diff,
            "loop_images": k}


def kernel_breakdown(probs, labels, sp, repeat: int) -> dict:
    """CPU ms per image of the fused kernel's steps (numba backend), cumulative: where SIM's time goes."""
    from alc_data.scoring import kernels
    from alc_data.scoring.fused import _work, segment_index

    n = len(probs)
    K = probs.shape[1]
    prepared = []
    for i in range(n):
        seg, ids, _ = segment_index(sp[i])
        prepared.append((probs[i].reshape(K, -1), labels[i].reshape(-1), seg,
                         kernels.group_pixels(seg, len(ids)), len(ids)))
    N = prepared[0][0].shape[1]
    none = np.empty(0, dtype=np.int64)

    def run(need):
        for P, lab, seg, groups, S in prepared:
            work = (_work("pred", N, np.int32), _work("nf", N, np.float64), _work("u", N, np.float64),
                    _work("votes", S * K, np.int64))
            kernels.pool_scores(P, lab, seg, *groups, none, need, 255, 1e-8, *work)

    out = {"group pixels": best_of(lambda: [kernels.group_pixels(p[2], p[4]) for p in prepared],
                                   repeat) / n * 1e3}
    steps = {"pass 1: pred, |f|, votes": 0, "+ u(x)": kernels.NEED_U,
             "+ rep(s) (mean, cosines)": kernels.NEED_U | kernels.NEED_REP,
             "+ SIM sums": kernels.NEED_U | kernels.NEED_REP | kernels.NEED_SIM}
    for name, need in steps.items():
        run(need)
        out[name] = best_of(lambda need=need: run(need), repeat) / n * 1e3
    return out


def print_layout(res: dict) -> None:
    rows = res["ms_per_image"]
    cl = rows.get("cleanlab softmin (image)")
    floor = rows["floor p.sum()"]
    loop = rows["loop reference sim"]
    print(f"\nlayout {res['layout']}: {N_IMAGES} images {H}x{W}, K={K}, float32; regions per image "
          f"{res['regions_min']}-{res['regions_max']} (mean {res['regions_mean']:.0f}); one thread")
    print(f"{'row':30} {'ms/image':>9} {'/floor':>7} {'/cleanlab':>10} {'loop/row':>9}")
    for name, ms in rows.items():
        ratio_cl = f"{ms / cl:9.2f}x" if cl else "        -"
        print(f"{name:30} {ms:9.2f} {ms / floor:6.1f}x {ratio_cl} {loop / ms:8.1f}x")
    if res["max_abs_diff_vs_cleanlab"] is not None:
        print(f"whole-image softmin vs cleanlab's image score: max |diff| = "
              f"{res['max_abs_diff_vs_cleanlab']:.1e}")
    print(f"(loop reference timed on {res['loop_images']} image(s), one run)")
    if res.get("kernel_ms"):
        print("fused kernel, cumulative CPU ms/image: " + "; ".join(
            f"{k} {v:.2f}" for k, v in res["kernel_ms"].items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs over the 8 images")
    ap.add_argument("--layouts", default="blocks,seeds")
    ap.add_argument("--voc", type=Path, default=HERE.parent / "tests" / "fixtures" / "voc",
                    help="a VOC root holding VOCdevkit/VOC2012 (the seeds layout)")
    ap.add_argument("--loop-images", type=int, default=2, help="images the loop reference runs on")
    ap.add_argument("--profile", action="store_true",
                    help="also time the fused kernel's steps (needs numba)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))

    results = []
    for layout in args.layouts.split(","):
        if layout == "blocks":
            data = random_blocks()
        elif layout == "seeds":
            data = voc_seeds(args.voc)
        else:
            raise SystemExit(f"unknown layout {layout!r}; choose from blocks, seeds")
        results.append(run_layout(layout, *data, repeat=args.repeat, loop_images=args.loop_images))
        if args.profile:
            results[-1]["kernel_ms"] = kernel_breakdown(*data, repeat=args.repeat)
        if not args.json:
            print_layout(results[-1])
    if args.json:
        env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        print(json.dumps({"threads": 1, "env": env, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
