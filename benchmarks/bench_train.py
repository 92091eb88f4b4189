"""Training and prediction speed of every registered model on this machine (CPU unless CUDA).

For each model: seconds per training iteration (forward + backward + SGD step, batch 8, square
crops of 64 and 96 px, synthetic tensors), seconds per iteration of the real training loop on a
demo workspace (data loading and augmentation included, crop 64), and prediction seconds per image
(softmax probabilities at full resolution, demo images). With ``--learn`` it also trains each model
on the demo data (noisy labels) and reports model mIoU on the validation split against the
reference ground truth, to pick a demo model that both runs fast and learns.

    python benchmarks/bench_train.py [--models a,b] [--crops 64,96] [--learn] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("ALC_PROGRESS", "0")


def step_seconds(name: str, crop: int, *, batch: int, classes: int, warmup: int, repeat: int, device) -> float:
    """Median seconds of one optimisation step on random tensors."""
    import torch

    from alc_data.models import build_model, input_multiple
    from alc_data.train import TrainConfig
    from alc_data.train.loop import TrainStep, make_optimizer, make_scheduler

    torch.manual_seed(0)
    model = build_model(name, classes).to(device).train()
    cfg = TrainConfig(model=name, iterations=100, batch_size=batch, crop_size=crop)
    opt = make_optimizer(model, cfg)
    step = TrainStep(model, opt, make_scheduler(opt, cfg, 100), device, amp=True)
    size = -(-crop // input_multiple(model)) * input_multiple(model)
    x = torch.randn(batch, 3, size, size)
    y = torch.randint(0, classes, (batch, size, size))
    times = []
    for i in range(warmup + repeat):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        step(x, y)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def loop_seconds(ws, name: str, *, crop: int, batch: int, iterations: int, run_dir: Path) -> tuple[float, Path]:
    """Median seconds per iteration of ``train_model`` (data included), skipping the first 2."""
    from alc_data.train import TrainConfig, train_model

    stamps: list[float] = []
    cfg = TrainConfig(model=name, iterations=iterations, batch_size=batch, crop_size=crop, checkpoint_every=0)
    res = train_model(ws, config=cfg, run_dir=run_dir, resume=False, callback=lambda s: stamps.append(time.perf_counter()))
    diffs = [b - a for a, b in zip(stamps[1:], stamps[2:])]
    return statistics.median(diffs), res.checkpoint


def predict_seconds(ws, checkpoint: Path, *, batch: int) -> float:
    from alc_data.predict import iter_probabilities

    ids = ws.catalogue.image_ids()
    for _ in iter_probabilities(ws, checkpoint, ids[:batch], batch_size=batch):  # warm-up
        pass
    t = time.perf_counter()
    n = 0
    for _image_id, probs in iter_probabilities(ws, checkpoint, ids, batch_size=batch):
        float(probs[0, 0, 0])  # make sure the work happened
        n += 1
    return (time.perf_counter() - t) / n


def learn(ws, name: str, *, iterations: int, crop: int, batch: int, run_dir: Path, settings: dict) -> dict:
    from alc_data.evaluate import data_miou, model_miou
    from alc_data.train import TrainConfig, train_model

    cfg = TrainConfig.from_dict({"model": name, "iterations": iterations, "batch_size": batch, "crop_size": crop,
                                 "lr": 0.01, "checkpoint_every": 0, **settings})
    t = time.perf_counter()
    res = train_model(ws, config=cfg, run_dir=run_dir, resume=False)
    seconds = time.perf_counter() - t
    return {
        **settings,
        "iterations": iterations,
        "train_seconds": round(seconds, 2),
        "final_loss": round(res.final_loss, 4),
        "model_miou_val": model_miou(ws, res.checkpoint, split="val").miou,
        "data_miou_train_labels": data_miou(ws, split="train").miou,
    }


def main(argv: list[str] | None = None) -> int:
    import torch

    from alc_data.demo import build_demo_workspace
    from alc_data.models import MODELS, select_device

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(MODELS.names()), help="comma-separated model names")
    ap.add_argument("--crops", default="64,96")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--classes", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--loop-iterations", type=int, default=8, help="iterations of the real loop to time (0 = skip)")
    ap.add_argument("--learn", action="store_true", help="also train on the demo data and report model mIoU")
    ap.add_argument("--learn-iterations", type=int, default=150)
    ap.add_argument("--learn-models", default=None, help="models for --learn (default: all but resnet101)")
    ap.add_argument("--learn-set", action="append", default=[], metavar="KEY=VALUE",
                    help="train setting for --learn, e.g. lr=0.05 (repeatable; several values: lr=0.01,0.05 runs each)")
    ap.add_argument("--learn-seeds", default="0", help="comma-separated seeds for --learn")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    device = select_device(args.device)
    crops = [int(c) for c in args.crops.split(",") if c]
    names = [n for n in args.models.split(",") if n]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ws = build_demo_workspace(Path(tmp) / "ws", n_train=80, n_val=20, size=(64, 64), seed=0)
        for name in names:
            MODELS.get(name)
            row: dict = {"model": name}
            for crop in crops:
                row[f"step_s_crop{crop}"] = round(step_seconds(
                    name, crop, batch=args.batch, classes=args.classes, warmup=args.warmup,
                    repeat=args.repeat, device=device), 4)
                print(f"{name}: crop {crop}: {row[f'step_s_crop{crop}']:.3f} s/it", file=sys.stderr, flush=True)
            if args.loop_iterations:
                run = Path(tmp) / f"run-{name}"
                sec, ckpt = loop_seconds(ws, name, crop=64, batch=args.batch, iterations=max(3, args.loop_iterations), run_dir=run)
                row["loop_s_crop64"] = round(sec, 4)
                row["predict_s_per_image_64px"] = round(predict_seconds(ws, ckpt, batch=args.batch), 5)
            rows.append(row)
        learned = []
        if args.learn:
            lnames = args.learn_models.split(",") if args.learn_models else [n for n in names if "resnet101" not in n]
            grid: list[dict] = [{}]
            for item in args.learn_set:
                key, _, values = item.partition("=")
                grid = [{**g, key: v} for g in grid for v in values.split(",")]
            for name in lnames:
                for settings in grid:
                    for seed in args.learn_seeds.split(","):
                        run = {**settings, "seed": seed}
                        r = {"model": name, **learn(ws, name, iterations=args.learn_iterations, crop=64, batch=args.batch,
                                                    run_dir=Path(tmp) / f"learn-{name}", settings=run)}
                        print(f"{name}: {r}", file=sys.stderr, flush=True)
                        learned.append(r)
    result = {
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "batch": args.batch,
        "classes": args.classes,
        "speed": rows,
        "learn": learned,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"training speed on {device} ({torch.get_num_threads()} threads), batch {args.batch}")
    cols = ["model"] + [f"s/it crop {c}" for c in crops] + ["loop s/it crop 64", "predict s/img 64 px"]
    for c in cols:
        t.add_column(c, justify="right" if c != "model" else "left")
    for r in rows:
        t.add_row(r["model"], *[f"{r[f'step_s_crop{c}']:.3f}" for c in crops],
                  f"{r.get('loop_s_crop64', float('nan')):.3f}", f"{r.get('predict_s_per_image_64px', float('nan')):.4f}")
    Console().print(t)
    if learned:
        t = Table(title=f"learning on the demo data ({args.learn_iterations} iterations, crop 64, noisy labels)")
        for c in ("model", "settings", "train s", "final loss", "model mIoU (val)", "data mIoU of the labels"):
            t.add_column(c)
        skip = {"model", "iterations", "train_seconds", "final_loss", "model_miou_val", "data_miou_train_labels"}
        for r in learned:
            settings = " ".join(f"{k}={v}" for k, v in r.items() if k not in skip)
            t.add_row(r["model"], settings, str(r["train_seconds"]), str(r["final_loss"]), str(r["model_miou_val"]),
                      str(r["data_miou_train_labels"]))
        Console().print(t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
