"""Wall time of each stage of one correction round on the demo data (the next optimisation's target).

Stages: train (the demo recipe's model and iterations), predict + score (streamed), select (global
top-B), correct (ground-truth oracle + expansion + new version), eval (data mIoU + model mIoU).

    python benchmarks/bench_round.py [--train 80] [--val 20] [--size 64] [--iterations 150] [--budget 60] [--json]
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
    args = ap.parse_args()
    os.environ.setdefault("ALC_PROGRESS", "0")

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


if __name__ == "__main__":
    main()
