"""Benchmark: how well alc-data and cleanlab find label errors, side by side on the same probabilities.

Data (the demo generator, ``--images`` scenes of ``--size`` pixels per seed), two kinds of labels:

- ``demo``: the demo's Grounded-SAM-like noisy labels (missed objects, look-alikes, masks too large or
  too small, hallucinations);
- ``planted``: the planted-error protocol of Rottmann & Reese (WACV 2023) on the true labels: every
  connected object component of at least 250 pixels is, with probability ``--plant``, relabelled to its
  surrounding class (a dropped object) or, half of the time, to its look-alike class.

Probabilities are out of fold, as cleanlab expects: a ``demo-tiny`` model trained on one half of the
images (on the labels being judged) predicts the other half, and the other way round. Every method
reads the same (K, H, W) arrays and labels (cleanlab has no void index: void pixels get the model's
prediction, so they never look wrong).

Methods: cleanlab 2.x ``segmentation.rank.get_label_quality_scores`` (``softmin``, ``num_pixel_issues``:
image scores) and ``segmentation.filter.find_label_issues`` (its pixel mask turned into 8-connected
components, each scored by the mean of 1 - cleanlab's pixel score); alc-data's candidate region scores
(:mod:`alc_data.scoring.suspects`) on the demo's SAM-like regions, with image scores from them.

Figures (:mod:`alc_data.suspects.metrics`): image-level AUPRC and AUROC (an image is wrong when at least
1 % of its non-void pixels are), component-level AP (a wrong component is found when flagged regions
cover half of it), precision@k of regions; and the CPU time per image of each method.

    python benchmarks/bench_detection.py            # 3 seeds, writes docs/detection.md
    python benchmarks/bench_detection.py --quick    # CI-sized: one seed, a few images

Image scores tried on 2026-12-07 (3 seeds, the cached out-of-fold probabilities; image AUPRC, planted
errors / the demo's noise; cleanlab's best, ``num_pixel_issues``: 89.5 / 97.1): the share of issue pixels
inside suspects (the default until then) 92.6 / 92.3; their margins f[found] - f[label] instead of a count
94.3 / 93.1; 1 - f[label] instead 93.7 / 92.6; the margins of every issue pixel, suspect or not 93.7 /
97.6; both, an issue pixel inside a suspect counted twice (the default since) 94.3 / 97.3, and with that
inside weight at 1.5 / 3 / 4 instead of 2: 94.2 / 97.5, 94.4 / 97.1, 94.5 / 96.8 (not tuned: 2 is "once
more"); the rank average of the old default and cleanlab's softmin 91.6 on the planted errors. The
ceiling the report prints (97.0 planted) bounds every score reading these probabilities.

Fixed on 2026-12-07 (session 6): the confident-learning rule also fires where the label is still the more
probable class (below its own high threshold, background's is 0.93, while a rare class clears its low
one): 36 % of the planted images' issue pixels and 67 % of the demo noise's. Their margin was negative, so
such pixels made an image look cleaner than one without them; they now count 0. Planted 94.3 -> 94.7
(97.4 / 92.7 / 94.0), demo noise 97.3 -> 97.5. On three further seeds (3, 4, 5: not the report's, so
nothing was chosen on them) planted 93.6 -> 94.35 against cleanlab's 89.4 there (+4.9). Tried on the
same day and not kept: the issue mask opened by a 3 x 3 square (thin model errors along outlines
dropped): 92.9 / 96.4; each 8-connected blob of issue pixels weighed by its size: 93.8 / 97.4; the
margin measured against the thresholds, (f[found] - t_found) - (c - t_label): 93.8 / 94.7.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("ALC_PROGRESS", "0")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from detection_report import write_markdown  # noqa: E402

from alc_data.suspects.metrics import average_precision  # noqa: E402

LOOKALIKE = {1: 2, 2: 1, 4: 5, 5: 4, 3: 6, 6: 3}  # the demo's look-alike pairs (car/truck, dog/cat, person/sign)
MIN_PLANT = 250


def plant_errors(gt: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    """Labels = ``gt`` with components of >= MIN_PLANT pixels relabelled (see the module docstring)."""
    from scipy import ndimage

    labels = gt.copy()
    for cls in range(1, 7):
        comp, n = ndimage.label(gt == cls)
        for c in range(1, n + 1):
            mask = comp == c
            if mask.sum() < MIN_PLANT or rng.random() >= share:
                continue
            if rng.random() < 0.5:
                ring = ndimage.binary_dilation(mask, iterations=3) & ~mask & (gt != 255) & (gt != cls)
                around = np.bincount(gt[ring], minlength=256)[:255] if ring.any() else np.eye(256)[0][:255]
                labels[mask] = int(np.argmax(around))
            else:
                labels[mask] = LOOKALIKE[cls]
    return labels


def build(root: Path, n: int, size: int, seed: int, kind: str, plant: float):
    """A workspace of ``n`` demo scenes in two folds, labels per ``kind``; its SAM-like regions."""
    from alc_data.demo.synth import DEMO_CLASSES, generate
    from alc_data.demo.workspace import _png
    from alc_data.ingest.base import DatasetSource, IngestItem, ingest
    from alc_data.workspace import ClassInfo

    rng = np.random.default_rng(1000 + seed)

    def items():
        for i, scene in enumerate(generate(n, seed=seed, size=(size, size))):
            labels = scene.noisy if kind == "demo" else plant_errors(scene.gt, rng, plant)
            yield IngestItem(image_id=f"img_{i:05d}", image_path=Path(f"img_{i:05d}.png"),
                             splits=("train", f"fold{i % 2}"), gt=scene.gt, labels=labels,
                             superpixels=scene.regions, image_bytes=_png(scene.image))

    source = DatasetSource(name="detection", classes=[ClassInfo(i, c, rgb) for i, (c, rgb) in enumerate(DEMO_CLASSES)],
                           items=items, count=n)
    return ingest(root, source, superpixel_set="sam")


def out_of_fold(ws, tmp: Path, iterations: int, size: int) -> dict[str, np.ndarray]:
    """image_id → (K, H, W) float32 probabilities of the model trained on the other fold."""
    from alc_data.predict import iter_probabilities
    from alc_data.train import TrainConfig, train_model

    probs = {}
    for fold in (0, 1):
        cfg = TrainConfig.from_dict({"model": "demo-tiny", "iterations": iterations, "batch_size": 8,
                                     "crop_size": size, "optimizer": "adamw", "lr": 0.002, "backbone_lr_mult": 1.0,
                                     "checkpoint_every": 0})
        result = train_model(ws, version="v0", split=f"fold{fold}", config=cfg, run_dir=tmp / f"run{fold}")
        other = ws.catalogue.image_ids(f"fold{1 - fold}")
        for image_id, p in iter_probabilities(ws, result.checkpoint, other, batch_size=16, as_numpy=True):
            probs[image_id] = np.asarray(p, dtype=np.float32)
    return probs


def alc_figures(ws, probs: dict[str, np.ndarray]) -> tuple[dict[str, dict], float]:
    """Each alc-data candidate's figures (region scores: their component AP and precision@k, with the
    image's highest region score; image scores: image level only), and the CPU seconds per image of the
    class thresholds and :func:`find_suspects` (what ``alc-data errors`` computes)."""
    from alc_data.scoring.suspects import ERROR_SCORES, IMAGE_SCORES, class_thresholds, find_suspects

    ids = sorted(probs)
    labels = {i: ws.labels.read_label("v0", i) for i in ids}
    results, t0 = [], time.process_time()
    t = class_thresholds(((probs[i], labels[i]) for i in ids), ws.catalogue.num_classes)
    for i in ids:
        results.append(find_suspects(probs[i], labels[i], ws.superpixels.read_superpixels("sam", i), image_id=i,
                                     gt=ws.catalogue.read_gt(i), thresholds=t))
    seconds = (time.process_time() - t0) / len(ids)
    out = {}
    tp = np.concatenate([r.truth.region_tp for r in results])
    wrong = np.array([r.truth.image_wrong for r in results])
    for name in ERROR_SCORES:
        scores = np.concatenate([r.scores[name] for r in results])
        image = np.array([r.scores[name].max() if len(r.region) else 0.0 for r in results])
        found = np.concatenate([r.truth.found_at[name] for r in results])
        out[f"alc {name}"] = figures(scores, tp, image, wrong, found)
    for name in IMAGE_SCORES:
        if name != "image_max":  # the same as "alc mass"'s image column
            image = np.array([r.image_scores[name] for r in results])
            out[f"alc {name}"] = figures(None, None, image, wrong, None)
    return out, seconds


def figures(scores, tp, image, wrong, found) -> dict:
    from alc_data.suspects.metrics import auroc, average_precision, component_ap, precision_at

    fig = {"image_auprc": average_precision(image, wrong), "image_auroc": auroc(image, wrong)}
    if scores is not None:
        fig["component_ap"] = component_ap(scores, tp, found)
        fig["precision_at"] = precision_at(scores, tp, (10, 50, 100))
    fig["_pr"] = (np.asarray(image, dtype=np.float64).tolist(), np.asarray(wrong).tolist())
    return fig


def cleanlab_figures(ws, probs: dict[str, np.ndarray]) -> tuple[dict[str, dict], dict[str, float]]:
    """cleanlab's figures on the same arrays, and its CPU seconds per image per function."""
    from cleanlab.segmentation.filter import find_label_issues
    from cleanlab.segmentation.rank import get_label_quality_scores
    from scipy import ndimage

    from alc_data.scoring.suspect_truth import image_truth

    ids = sorted(probs)
    P = np.stack([probs[i] for i in ids])
    raw = np.stack([ws.labels.read_label("v0", i) for i in ids])
    L = np.where(raw == 255, P.argmax(axis=1), raw).astype(np.int64)
    gts = [ws.catalogue.read_gt(i) for i in ids]
    times = {}
    t0 = time.process_time()
    soft, pixel = get_label_quality_scores(L, P, method="softmin", verbose=False)
    times["cleanlab softmin"] = (time.process_time() - t0) / len(ids)
    t0 = time.process_time()
    npi, _ = get_label_quality_scores(L, P, method="num_pixel_issues", verbose=False)
    times["cleanlab num_pixel_issues"] = (time.process_time() - t0) / len(ids)
    t0 = time.process_time()
    issues = find_label_issues(L, P, verbose=False)
    times["cleanlab find_label_issues"] = (time.process_time() - t0) / len(ids)
    truths, scores = [], []
    for n in range(len(ids)):
        comp, c = ndimage.label(issues[n], structure=np.ones((3, 3), dtype=bool))
        seg = comp.astype(np.int64) - 1
        sc = ndimage.mean(1.0 - pixel[n], labels=comp, index=np.arange(1, c + 1)) if c else np.empty(0)
        scores.append(np.asarray(sc, dtype=np.float64))
        truths.append(image_truth(raw[n], gts[n], seg, c, {"cl": scores[-1]}))
    wrong = np.array([t.image_wrong for t in truths])
    out = {"cleanlab softmin": figures(None, None, 1.0 - soft, wrong, None),
           "cleanlab num_pixel_issues": figures(None, None, 1.0 - npi, wrong, None)}
    comp_img = np.array([s.max() if len(s) else 0.0 for s in scores])
    out["cleanlab find_label_issues"] = figures(
        np.concatenate(scores), np.concatenate([t.region_tp for t in truths]), comp_img, wrong,
        np.concatenate([t.found_at["cl"] for t in truths]))
    return out, times


def run_one(kind: str, seed: int, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        ws = build(Path(tmp) / "ws", args.images, args.size, seed, kind, args.plant)
        t0 = time.perf_counter()
        cached = args.cache / f"{kind}-{seed}-{args.images}-{args.size}-{args.iterations}.npz" if args.cache else None
        if cached is not None and cached.is_file():
            with np.load(cached) as z:
                probs = {k: z[k] for k in z.files}
        else:
            probs = out_of_fold(ws, Path(tmp), args.iterations, args.size)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                np.savez(cached, **probs)
        train_s = time.perf_counter() - t0
        alc, alc_s = alc_figures(ws, probs)
        cl, cl_s = cleanlab_figures(ws, probs)
        learned = learned_errors(ws, probs)
    methods = {**cl, **alc}
    keep = ~np.asarray(learned["images"], dtype=bool)
    for fig in methods.values():  # image AUPRC without the images whose every error the model learned
        image, wrong = (np.asarray(v)[keep] for v in fig["_pr"])
        fig["image_auprc_unlearned"] = average_precision(image, wrong.astype(bool))
    wrong = np.asarray(methods[next(iter(methods))]["_pr"][1], dtype=bool)
    return {"kind": kind, "seed": seed, "methods": methods, "train_predict_s": train_s,
            "learned": {k: v for k, v in learned.items() if k != "images"},
            "ceiling_auprc": ceiling_auprc(wrong, wrong & ~keep, np.random.default_rng(seed)),
            "cpu_ms_per_image": {"alc errors (thresholds + find_suspects)": 1e3 * alc_s, **{k: 1e3 * v for k, v in cl_s.items()}}}


def ceiling_auprc(wrong: np.ndarray, learned_only: np.ndarray, rng: np.random.Generator, draws: int = 400) -> float:
    """The image AUPRC within reach of a method reading these probabilities: an oracle ranks first every
    wrong image holding an error the model did not learn, then the rest (the wrong images whose every error
    it learned, and the right images) in random order; the mean over ``draws`` orders."""
    seen = wrong & ~learned_only
    return float(np.mean([average_precision(np.where(seen, 2.0, rng.random(wrong.size)), wrong) for _ in range(draws)]))


def learned_errors(ws, probs: dict[str, np.ndarray]) -> dict:
    """The wrong components (4-connected, against the reference) whose out-of-fold majority prediction is
    their wrong label: the model learned that error, so no method reading these probabilities can see it.
    ``images``: per image (sorted ids), whether it is wrong and every one of its errors is learned."""
    from scipy import ndimage

    images, components, learned = [], 0, 0
    for image_id in sorted(probs):
        labels, gt = ws.labels.read_label("v0", image_id), ws.catalogue.read_gt(image_id)
        pred = probs[image_id].argmax(axis=0)
        comp, n = ndimage.label((labels != gt) & (gt != 255))
        hits = [bool(np.bincount(pred[comp == c]).argmax() == np.bincount(labels[comp == c]).argmax())
                for c in range(1, n + 1)]
        components, learned = components + int(n), learned + sum(hits)
        images.append(bool(n) and all(hits))
    return {"images": images, "components": components, "learned_components": learned,
            "learned_images": sum(images)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="CI-sized: 1 seed, 16 images of 40 px, 10 iterations")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--iterations", type=int, default=150)
    ap.add_argument("--plant", type=float, default=0.4, help="share of eligible components planted")
    ap.add_argument("--kinds", default="planted,demo")
    ap.add_argument("--out", type=Path, default=None, help="markdown report (default docs/detection.md; none with --quick)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--cache", type=Path, default=None,
                    help="keep the out-of-fold probabilities here (one .npz per kind and seed) and reuse them")
    ap.add_argument("--only-probs", action="store_true", help="stop after the probabilities (with --cache)")
    args = ap.parse_args(argv)
    if args.quick:
        args.seeds, args.images, args.size, args.iterations = "0", 16, 40, 10
    runs = [run_one(kind, int(seed), args) for kind in args.kinds.split(",") for seed in args.seeds.split(",")]
    out = args.out or (None if args.quick else HERE.parent / "docs" / "detection.md")
    if out is not None:
        write_markdown(runs, out, vars(args))
    if args.json:
        print(json.dumps([{**r, "methods": {m: {k: v for k, v in f.items() if k != "_pr"}
                                              for m, f in r["methods"].items()}} for r in runs], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
