"""Wall time of each stage of one correction round on the demo data (the next optimisation's target).

Stages: train (the demo recipe's model and iterations), predict + score (streamed), select (global
top-B), correct (ground-truth oracle + expansion + new version), eval (data mIoU + model mIoU).

    python benchmarks/bench_round.py [--train 80] [--val 20] [--size 64] [--iterations 150] [--budget 60] [--json]
    python benchmarks/bench_round.py --a2lc   # the same round with and without ABC + LCM, side by side
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=80)
    ap.add_argument("--val", type=int, default=20)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--iterations", type=int, default=150)
    ap.add_argument("--budget", type=int, default=60)
    ap.add_argument("--acquisition", default="sim")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--a2lc", action="store_true", help="time a round with --balance abc and --propagate against plain SIM")
    args = ap.parse_args()
    os.environ.setdefault("ALC_PROGRESS", "0")
    if args.a2lc:
        return a2lc_overhead(args)

    from alc_data.stages.correct import correct_round
    from alc_data.demo import build_demo_workspace
    from alc_data.evaluate import data_miou, model_miou
    from alc_data.loop import load_recipe
    from alc_data.predict import iter_probabilities
    from alc_data.queries import create_round
    from alc_data.scoring import ScoreTable, score_superpixels, select_top
    from alc_data.train import TrainConfig, train_model

    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ws = build_demo_workspace(Path(tmp) / "ws", n_train=args.train, n_val=args.val, size=(args.size, args.size))
        times["generate demo data"] = time.perf_counter() - t0

        train_cfg = {k: v for k, v in load_recipe("demo")["train"].items() if k != "warm_start"}
        train_cfg.update(iterations=args.iterations, crop_size=args.size)
        t0 = time.perf_counter()
        result = train_model(ws, version="v0", split="train", config=TrainConfig.from_dict(train_cfg), run_dir=Path(tmp) / "run")
        times["train"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        tables = []
        for image_id, probs in iter_probabilities(ws, result.checkpoint, ws.catalogue.image_ids("train"), batch_size=8):
            tables.append(score_superpixels(probs, ws.labels.read_label("v0", image_id), ws.superpixels.read_superpixels("sam", image_id),
                                            acquisition=args.acquisition, image_id=image_id))
        scores = ScoreTable.concat(tables)
        times["predict + score"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        selected = select_top(scores, args.budget)
        rnd = create_round(ws, selected, label_version="v0", superpixel_set="sam", acquisition=args.acquisition, budget=args.budget)
        times["select + queries"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        applied = correct_round(ws, round_no=rnd, oracle="gt").applied
        times["correct (oracle + expand + version)"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        d = data_miou(ws, applied.version, split="train").miou
        m = model_miou(ws, result.checkpoint, split="val").miou
        times["eval (data + model mIoU)"] = time.perf_counter() - t0

    report = {
        "images": args.train + args.val, "size": args.size, "iterations": args.iterations, "budget": args.budget,
        "seconds": {k: round(v, 3) for k, v in times.items()},
        "data_miou_after": d, "model_miou": m, "candidates": len(scores),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"one round on {report['images']} demo images of {args.size}×{args.size} "
          f"({len(scores)} candidate superpixels, budget {args.budget}, {args.iterations} iterations)")
    for k, v in times.items():
        print(f"  {k:<40} {v:8.2f} s")
    print(f"  {'total (without data generation)':<40} {sum(v for k, v in times.items() if k != 'generate demo data'):8.2f} s")


def a2lc_round(ws, tmp: Path, args: argparse.Namespace, *, a2lc: bool) -> dict[str, float]:
    """One round (train, score, correct) on ``ws``: plain SIM, or SIM with ABC and the label-correction module."""
    from alc_data.loop import load_recipe
    from alc_data.stages.correct import CorrectOptions, correct
    from alc_data.stages.score import ScoreOptions, score
    from alc_data.train import TrainConfig, train_model

    train_cfg = {k: v for k, v in load_recipe("demo")["train"].items() if k != "warm_start"}
    train_cfg.update(iterations=args.iterations, crop_size=args.size)
    times = {}
    t0 = time.perf_counter()
    ckpt = train_model(ws, version="v0", split="train", config=TrainConfig.from_dict(train_cfg), run_dir=tmp / "run").checkpoint
    times["train"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rnd = score(ws, ScoreOptions(budget=args.budget, checkpoint=ckpt, superpixel_set="sam",
                                 balance="abc" if a2lc else "none")).round
    times["score"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    correct(ws, CorrectOptions(round=rnd, oracle="gt", propagate=a2lc))
    times["correct"] = time.perf_counter() - t0
    return times


def a2lc_overhead(args: argparse.Namespace) -> None:
    """The same demo round with and without ABC + LCM (each on a fresh copy of one workspace), in one process."""
    import shutil

    from alc_data.demo import build_demo_workspace
    from alc_data.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        base = build_demo_workspace(Path(tmp) / "base", n_train=args.train, n_val=args.val, size=(args.size, args.size))
        rows = {}
        for name, a2lc in (("sim", False), ("sim+abc+lcm", True), ("sim again", False), ("sim+abc+lcm again", True)):
            shutil.copytree(base.root, Path(tmp) / name)
            rows[name] = a2lc_round(Workspace.open(Path(tmp) / name), Path(tmp) / f"{name}-run", args, a2lc=a2lc)
    plain = min(sum(rows[k].values()) for k in ("sim", "sim again"))
    extra = min(sum(rows[k].values()) for k in ("sim+abc+lcm", "sim+abc+lcm again"))
    report = {"rounds": {k: {s: round(v, 2) for s, v in r.items()} for k, r in rows.items()},
              "best_seconds": {"sim": round(plain, 2), "sim+abc+lcm": round(extra, 2)},
              "overhead": round(extra / plain - 1, 4)}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for name, r in rows.items():
        print(f"  {name:<20} " + "  ".join(f"{s} {v:6.2f} s" for s, v in r.items()) + f"  total {sum(r.values()):6.2f} s")
    print(f"best of two: sim {plain:.2f} s, sim+abc+lcm {extra:.2f} s: {100 * report['overhead']:+.1f} %")


if __name__ == "__main__":
    main()
