"""GPU figures in one run (about 3-5 minutes on one data-centre GPU):

1. training iterations per second of DeepLabV3+ ResNet-101 at crop 513, batch 16 (the paper's
   setting, 21 classes): the library's training step (AMP float16 + channels-last, what
   `alc-data train` runs on CUDA) side by side with a plain float32 step in the same process;
2. scoring from logits on the GPU: images per second at PASCAL size (500×375, K=21, SEEDS regions),
   softmax + SIM scoring on the device (the public ``score_superpixels`` on CUDA tensors);
3. ``benchmarks/bench_foundation.py --tiny`` (Grounded-SAM and SAM superpixels on tiny models).

    python benchmarks/bench_gpu.py [--iterations 20] [--batch-size 16] [--crop-size 513]
        [--score-images 50] [--skip-train] [--skip-score] [--skip-foundation] [--out FILE.json]

Without CUDA it says so and exits with code 2. Prints a table and (with --out) writes the figures as
JSON, with the GPU's name, for CHANGELOG.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _sync() -> None:
    import torch

    torch.cuda.synchronize()


def _time_steps(step, x, y, iterations: int, warmup: int = 3) -> float:
    """Iterations per second of ``step(x, y)`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        step(x, y)
    _sync()
    t0 = time.perf_counter()
    for _ in range(iterations):
        step(x, y)
    _sync()
    return iterations / (time.perf_counter() - t0)


def bench_train(iterations: int, batch_size: int, crop_size: int, num_classes: int = 21) -> dict:
    import torch

    from alc_data.models import build_model, input_multiple
    from alc_data.train.config import TrainConfig
    from alc_data.train.data import round_up
    from alc_data.train.loop import TrainStep, make_optimizer, make_scheduler, segmentation_loss

    dev = torch.device("cuda")
    name = "deeplabv3plus-resnet101"
    cfg = TrainConfig(model=name, batch_size=batch_size, crop_size=crop_size, iterations=10**6, device="cuda")
    torch.backends.cudnn.benchmark = True
    out = {"model": name, "crop_size": crop_size, "batch_size": batch_size, "iterations": iterations}

    # the library's step: AMP float16 + channels-last
    torch.manual_seed(0)
    model = build_model(name, num_classes).to(dev).to(memory_format=torch.channels_last)
    size = round_up(crop_size, input_multiple(model))
    x = torch.randn(batch_size, 3, size, size, device=dev)
    y = torch.randint(0, num_classes, (batch_size, size, size), device=dev)
    opt = make_optimizer(model, cfg)
    step = TrainStep(model, opt, make_scheduler(opt, cfg, 10**6), dev, amp=True)
    model.train()
    torch.cuda.reset_peak_memory_stats()
    out["amp_channels_last_it_per_s"] = round(_time_steps(step, x, y, iterations), 3)
    out["amp_channels_last_peak_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    del model, opt, step
    torch.cuda.empty_cache()

    # baseline: float32, contiguous
    torch.manual_seed(0)
    model = build_model(name, num_classes).to(dev)
    opt = make_optimizer(model, cfg)
    model.train()

    def plain(xb, yb):
        opt.zero_grad(set_to_none=True)
        segmentation_loss(model(xb), yb).backward()
        opt.step()

    torch.cuda.reset_peak_memory_stats()
    out["fp32_it_per_s"] = round(_time_steps(plain, x, y, iterations), 3)
    out["fp32_peak_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    out["speedup"] = round(out["amp_channels_last_it_per_s"] / out["fp32_it_per_s"], 2)
    return out


def bench_score(images: int, num_classes: int = 21, h: int = 375, w: int = 500) -> dict:
    import cv2
    import numpy as np
    import torch

    from alc_data.scoring import score_superpixels

    rng = np.random.default_rng(0)
    seeds = cv2.ximgproc.createSuperpixelSEEDS(w, h, 3, 400, 4)
    img = (rng.random((h, w, 3)) * 255).astype(np.uint8)
    img = cv2.GaussianBlur(img, (31, 31), 8)
    seeds.iterate(img, 4)
    sp = torch.from_numpy(seeds.getLabels().astype(np.int64)).cuda()
    labels = torch.from_numpy(rng.integers(0, num_classes, (h, w)).astype(np.uint8)).cuda()
    logits = torch.randn(num_classes, h, w, device="cuda") * 3

    def one() -> None:
        probs = torch.softmax(logits, dim=0)
        score_superpixels(probs, labels, sp, acquisition="sim")

    for _ in range(3):
        one()
    _sync()
    t0 = time.perf_counter()
    for _ in range(images):
        one()
    _sync()
    seconds = time.perf_counter() - t0
    return {"images": images, "size": f"{w}x{h}", "K": num_classes, "superpixels": int(sp.max()) + 1,
            "acquisition": "sim", "images_per_s": round(images / seconds, 1)}


def bench_foundation() -> dict:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_foundation.py"), "--tiny", "--images", "8", "--device", "cuda", "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:] or ["failed"]}
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        return {"output": done.stdout.strip()[-2000:]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--crop-size", type=int, default=513)
    ap.add_argument("--score-images", type=int, default=50)
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--skip-score", action="store_true")
    ap.add_argument("--skip-foundation", action="store_true")
    ap.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = ap.parse_args()

    import torch

    if not torch.cuda.is_available():
        print("bench_gpu: no CUDA GPU is visible here; run this script on a machine with one (nothing measured)",
              file=sys.stderr)
        return 2
    figures: dict = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "cuda": torch.version.cuda}
    print(f"GPU: {figures['gpu']} (torch {figures['torch']}, CUDA {figures['cuda']})", flush=True)
    if not args.skip_train:
        figures["train"] = bench_train(args.iterations, args.batch_size, args.crop_size)
        t = figures["train"]
        print(f"train {t['model']} crop {t['crop_size']} batch {t['batch_size']}: "
              f"AMP+channels-last {t['amp_channels_last_it_per_s']} it/s ({t['amp_channels_last_peak_gib']} GiB), "
              f"fp32 {t['fp32_it_per_s']} it/s ({t['fp32_peak_gib']} GiB), x{t['speedup']}", flush=True)
    if not args.skip_score:
        figures["score"] = bench_score(args.score_images)
        s = figures["score"]
        print(f"score from logits on GPU, {s['size']} K={s['K']} {s['superpixels']} SEEDS regions: "
              f"{s['images_per_s']} images/s", flush=True)
    if not args.skip_foundation:
        figures["foundation_tiny"] = bench_foundation()
        print(f"bench_foundation --tiny: {json.dumps(figures['foundation_tiny'])[:1000]}", flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
