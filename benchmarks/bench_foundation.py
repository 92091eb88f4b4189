"""Benchmark: Grounded-SAM pseudo-labelling and SAM superpixels, images per second at PASCAL size.

Times the library's per-image steps (the ones `alc-data pseudo-label` and `alc-data superpixels
--method sam` run), models loaded once and one warm-up batch excluded:

- pseudo-label: GroundingDINO on a batch of images (all VOC classes prompted) + SAM box prompts
  (one image embedding, all boxes in one decoder batch) + painting;
- SAM superpixels: the automatic mask generator (points_per_side² prompts, points_per_batch at a
  time) + painting + SEEDS fill + connected components.

    python benchmarks/bench_foundation.py --detector DIR --sam sam_vit_h_4b8939.pth [--images 20]
        [--device auto|cpu|cuda] [--batch-size 4] [--points-per-side 32] [--points-per-batch 128]
        [--image-dir JPEGImages] [--skip-pseudo] [--skip-superpixels] [--json]
    python benchmarks/bench_foundation.py --tiny --images 4     # smoke run on tiny random models

Images: ``--image-dir`` (the first N .jpg/.png, e.g. VOC's JPEGImages) or synthetic 500×375 images.
On CUDA the models run under bfloat16 autocast (``--no-amp`` to turn it off).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)


def synthetic_images(n: int, h: int = 375, w: int = 500, seed: int = 0):
    """(H, W, 3) uint8 images with a few flat blobs on a smooth background."""
    import numpy as np

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    out = []
    for _ in range(n):
        img = (rng.random((1, 1, 3)) * 120 + 60 + (yy[..., None] / h) * 40).astype(np.float32)
        for _ in range(rng.integers(3, 7)):
            cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.integers(20, 120)
            img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.integers(0, 255, 3)
        img += rng.normal(0, 6, img.shape)
        out.append(img.clip(0, 255).astype(np.uint8))
    return out


def folder_images(folder: Path, n: int):
    from alc_data.io.images import load_image

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:n]
    if not files:
        raise SystemExit(f"{folder}: no .jpg/.png images")
    return [load_image(p) for p in files]


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def bench_pseudo(images, detector, masker, device: str, batch_size: int) -> dict:
    from alc_data.foundation.detector import class_prompts
    from alc_data.foundation.grounded_sam import pseudo_label_images

    prompts = class_prompts(VOC_CLASSES)
    batches = [images[i : i + batch_size] for i in range(0, len(images), batch_size)]
    pseudo_label_images(batches[0], detector, masker, prompts)  # warm-up
    _sync(device)
    boxes = 0
    t_det = t_all = 0.0
    for batch in batches:
        t0 = time.perf_counter()
        dets = detector.detect(batch, prompts, box_threshold=0.2, text_threshold=None, nms_iou=0.5)
        _sync(device)
        t_det += time.perf_counter() - t0
        t0 = time.perf_counter()
        res = pseudo_label_images(batch, detector, masker, prompts)
        _sync(device)
        t_all += time.perf_counter() - t0
        boxes += sum(len(d) for d in dets)
    n = len(images)
    return {
        "images": n,
        "images_per_second": round(n / t_all, 3),
        "seconds_per_image": round(t_all / n, 4),
        "detector_seconds_per_image": round(t_det / n, 4),
        "sam_and_paint_seconds_per_image": round(max(t_all - t_det, 0.0) / n, 4),
        "boxes_per_image": round(boxes / n, 2),
        "batch_size": batch_size,
        "labels_shape": list(res[0]["labels"].shape),
    }


def bench_superpixels(images, masker, device: str, points_per_side: int, points_per_batch: int) -> dict:
    import numpy as np

    from alc_data.superpixels.sam import regions_from_masks

    opts = dict(points_per_side=points_per_side, points_per_batch=points_per_batch)
    masker.automatic_masks(images[0], **opts)  # warm-up
    _sync(device)
    t_amg = t_all = 0.0
    masks_n, regions_n = [], []
    for img in images:
        t0 = time.perf_counter()
        masks, scores = masker.automatic_masks(img, **opts)
        _sync(device)
        t1 = time.perf_counter()
        sp = regions_from_masks(img, masks, scores)
        t2 = time.perf_counter()
        t_amg += t1 - t0
        t_all += t2 - t0
        masks_n.append(len(masks))
        regions_n.append(int(sp.max()) + 1)
    n = len(images)
    return {
        "images": n,
        "images_per_second": round(n / t_all, 3),
        "seconds_per_image": round(t_all / n, 4),
        "mask_generator_seconds_per_image": round(t_amg / n, 4),
        "masks_per_image": float(np.mean(masks_n)),
        "regions_per_image": float(np.mean(regions_n)),
        "points_per_side": points_per_side,
        "points_per_batch": points_per_batch,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--detector", type=Path, help="GroundingDINO folder (Hugging Face format)")
    ap.add_argument("--sam", type=Path, help="SAM .pth or Hugging Face folder")
    ap.add_argument("--tiny", action="store_true", help="build tiny random models in a temp folder (smoke run)")
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--image-dir", type=Path)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--no-amp", action="store_true")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--points-per-side", type=int, default=32)
    ap.add_argument("--points-per-batch", type=int, default=128)
    ap.add_argument("--skip-pseudo", action="store_true")
    ap.add_argument("--skip-superpixels", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch

    from alc_data.foundation.common import resolve_device
    from alc_data.foundation.detector import GroundingDinoDetector
    from alc_data.foundation.sam import load_sam

    tmp = None
    if args.tiny:
        from alc_data.testing.foundation import build_tiny_grounding_dino, build_tiny_sam_pth

        tmp = tempfile.TemporaryDirectory()
        args.detector = build_tiny_grounding_dino(Path(tmp.name) / "dino")
        args.sam = build_tiny_sam_pth(Path(tmp.name) / "sam_tiny.pth")
    if args.sam is None or (args.detector is None and not args.skip_pseudo):
        ap.error("give --sam (and --detector unless --skip-pseudo), or --tiny")
    device = resolve_device(args.device)
    amp = not args.no_amp
    images = folder_images(args.image_dir, args.images) if args.image_dir else synthetic_images(args.images)
    card = torch.cuda.get_device_name(0) if device.startswith("cuda") else f"CPU ({os.cpu_count()} cores, {torch.get_num_threads()} threads)"
    report: dict = {"device": card, "amp": amp and device.startswith("cuda"), "image_size": list(images[0].shape[:2]),
                    "detector": str(args.detector), "sam": str(args.sam), "tiny_models": args.tiny}
    t0 = time.perf_counter()
    masker = load_sam(args.sam, device=device, amp=amp)
    report["sam_load_seconds"] = round(time.perf_counter() - t0, 2)
    if not args.skip_pseudo:
        t0 = time.perf_counter()
        detector = GroundingDinoDetector.load(args.detector, device=device, amp=amp)
        report["detector_load_seconds"] = round(time.perf_counter() - t0, 2)
        report["pseudo_label"] = bench_pseudo(images, detector, masker, device, args.batch_size)
    if not args.skip_superpixels:
        report["sam_superpixels"] = bench_superpixels(images, masker, device, args.points_per_side, args.points_per_batch)
    if tmp is not None:
        tmp.cleanup()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"device: {report['device']} (amp: {report['amp']}), images {report['image_size'][1]}×{report['image_size'][0]}")
        if "pseudo_label" in report:
            r = report["pseudo_label"]
            print(f"pseudo-label:    {r['images_per_second']:.2f} images/s ({r['detector_seconds_per_image']:.3f} s detector + "
                  f"{r['sam_and_paint_seconds_per_image']:.3f} s SAM/paint per image, {r['boxes_per_image']} boxes/image)")
        if "sam_superpixels" in report:
            r = report["sam_superpixels"]
            print(f"SAM superpixels: {r['images_per_second']:.2f} images/s ({r['mask_generator_seconds_per_image']:.3f} s mask "
                  f"generator per image, {r['masks_per_image']:.1f} masks, {r['regions_per_image']:.1f} regions; "
                  f"{r['points_per_side']}² points, {r['points_per_batch']} per batch)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
