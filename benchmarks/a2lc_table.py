"""A2LC's additions measured on the demo with alc-data's own loop: class-balanced acquisition (ABC) and
the label-correction module (LCM, ``correct --propagate``), against plain SIM, over several rounds.

Per data seed the round-0 model is trained once; every row then runs ``rounds`` rounds of the loop
(``budget`` queries a round, ground-truth oracle, ``label`` expansion, a model retrained per round) from
that model on labels v0, so rows differ only in what the row changes:

    sim            SIM (ALC)
    sim+abc        SIM with A2LC's class weight (--balance abc)
    sim+lcm        SIM, then the label-correction module after each round (--propagate)
    sim+abc+lcm    both
    sim+abc+lcm-auto  both, the module's threshold chosen each round (--propagate-threshold auto)
    sim+abcp       SIM with alc-data's variant of the class weight (--balance abc-pred: the larger of
                   the label's and the prediction's class weight)
    sim+abcp+lcm   that and the label-correction module
    sim+gain       SIM with alc-data's mIoU-gain weight (--balance gain: 1/n of the pixel's label plus 1/n of
                   its predicted class); sim+gain+lcm: and the label-correction module
    *-agree        the same with the module's relabels kept only where the round's model agrees
                   (--propagate-agreement 0.5, beyond A2LC)
    sim+lcm-share  SIM + LCM with the module reading the mean softmax and the share of each predicted
                   class (--propagate-features mean-share, beyond A2LC); sim+lcm-std: with each class's
                   standard deviation (mean-std)
    a2lc+lcm       A2LC as A2LC scores (--acquisition a2lc) with its module

    python benchmarks/a2lc_table.py                  # 3 seeds, 5 rounds of 60 queries, the demo's size
    python benchmarks/a2lc_table.py --quick          # 1 seed, 3 rounds of 24 on 32 images (CI-sized)
    python benchmarks/a2lc_table.py --imbalanced     # the demo with a rare class (sign on ~7 % of images)

Writes ``<out>/<name>.json`` (every per-seed number) and ``<name>.md`` (the report).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

CITYSCAPES_SCHEDULE = (0.99, 0.99, 0.999, 0.9999, 0.9999999)
"""A2LC's threshold per round on Cityscapes (``--threshold`` takes it as a list)."""

AGREEMENT = 0.5
"""The ``-agree`` rows' ``--propagate-agreement``: the round's model must give the proposed class at least
this mean probability over the region (and more than any other class)."""

ROWS: dict[str, dict[str, Any]] = {
    "sim": {"acquisition": "sim"},
    "sim+abc": {"acquisition": "sim", "balance": "abc"},
    "sim+lcm": {"acquisition": "sim", "propagate": True},
    "sim+abc+lcm": {"acquisition": "sim", "balance": "abc", "propagate": True},
    "sim+abc+lcm-auto": {"acquisition": "sim", "balance": "abc", "propagate": True, "propagate_threshold": "auto"},
    "a2lc+lcm": {"acquisition": "a2lc", "propagate": True},
    "sim+abcp": {"acquisition": "sim", "balance": "abc-pred"},
    "sim+abcp+lcm": {"acquisition": "sim", "balance": "abc-pred", "propagate": True},
    "sim+lcm-agree": {"acquisition": "sim", "propagate": True, "propagate_agreement": AGREEMENT},
    "sim+abc+lcm-agree": {"acquisition": "sim", "balance": "abc", "propagate": True, "propagate_agreement": AGREEMENT},
    "sim+abcp+lcm-agree": {"acquisition": "sim", "balance": "abc-pred", "propagate": True,
                           "propagate_agreement": AGREEMENT},
    "sim+gain": {"acquisition": "sim", "balance": "gain"},
    "sim+gain+lcm": {"acquisition": "sim", "balance": "gain", "propagate": True},
    "sim+gain+lcm-agree": {"acquisition": "sim", "balance": "gain", "propagate": True, "propagate_agreement": AGREEMENT},
    "sim+lcm-share": {"acquisition": "sim", "propagate": True, "propagate_features": "mean-share"},
    "sim+lcm-std": {"acquisition": "sim", "propagate": True, "propagate_features": "mean-std"},
    "sim+lcm-std-agree": {"acquisition": "sim", "propagate": True, "propagate_features": "mean-std",
                          "propagate_agreement": AGREEMENT},
    "sim+abc+lcm-std-agree": {"acquisition": "sim", "balance": "abc", "propagate": True, "propagate_features": "mean-std",
                              "propagate_agreement": AGREEMENT},
}
RARE_SHARE = 0.04
"""``--imbalanced``: the share of objects that are of the rare class (sign)."""

# A2LC's published 3-seed means (data mIoU; DESIGN of the project, from the released result files)
PUBLISHED = {
    "PASCAL, ALC": [58.63, 68.19, 72.72, 74.84, 76.41, 77.06],
    "PASCAL, A2LC": [58.63, 67.49, 74.88, 80.88, 84.81, 88.08],
    "Cityscapes, ALC": [50.68, 62.28, 65.36, 66.19, 66.87, 67.01],
    "Cityscapes, A2LC": [50.68, 70.01, 75.60, 80.84, 82.69, 85.26],
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 seed, 3 rounds of 24 queries on 32 images, 60 iterations")
    ap.add_argument("--seeds", type=int, nargs="+")
    ap.add_argument("--train", type=int)
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--budget", type=int)
    ap.add_argument("--iterations", type=int)
    ap.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    ap.add_argument("--threshold", default="0.99",
                    help="--propagate-threshold of the LCM rows: a number, auto, or one per round separated by commas "
                         f"(A2LC's Cityscapes schedule: {','.join(map(str, CITYSCAPES_SCHEDULE))})")
    ap.add_argument("--imbalanced", action="store_true", help=f"a rare class on few images (rare_share {RARE_SHARE})")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs")
    ap.add_argument("--name")
    ap.add_argument("--merge", type=Path, nargs="+", metavar="JSON",
                    help="no run: one report from the .json files of runs made apart (one seed each, say), "
                         "with the same rows and settings")
    args = ap.parse_args(argv)
    quick = {"seeds": [0], "train": 32, "rounds": 3, "budget": 24, "iterations": 60}
    full = {"seeds": [0, 1, 2], "train": 80, "rounds": 5, "budget": 60, "iterations": 150}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.name is None:
        args.name = "a2lc-table" + ("-imbalanced" if args.imbalanced else "") + ("-quick" if args.quick else "")
    return args


def thresholds(text: str) -> Any:
    """``--threshold``: "auto", one number, or a comma-separated list (one per round)."""
    if text == "auto":
        return text
    values = [float(v) for v in text.split(",")]
    return values if len(values) > 1 else values[0]


def gt_majority(ws: Any, image_id: str, sp_set: str) -> dict[int, int]:
    """Region id -> majority ground-truth class (void skipped; -1 when all void)."""
    from alc_data.constants import IGNORE_INDEX

    sp, gt = ws.superpixels.read_superpixels(sp_set, image_id).ravel(), ws.catalogue.read_gt(image_id).ravel().astype(np.int64)
    out = {}
    for s in np.unique(sp[sp >= 0]):
        v = gt[(sp == s) & (gt != IGNORE_INDEX)]
        out[int(s)] = int(np.bincount(v).argmax()) if v.size else -1
    return out


def propagation_stats(ws: Any, version: str, parent: str) -> dict[str, int]:
    """Pixels a propagation version fixed and broke against the ground truth, and its relabelled
    regions that are right (new class = the region's majority ground truth)."""
    from alc_data.constants import IGNORE_INDEX
    
    fixed = broken = right = regions = changed = 0
    rows = ws.ledger.propagations([version])
    for image_id in sorted({r.image_id for r in rows}):
        gt = ws.catalogue.read_gt(image_id)
        before, after = ws.labels.read_label(parent, image_id), ws.labels.read_label(version, image_id)
        known = gt != IGNORE_INDEX
        fixed += int((known & (before != gt) & (after == gt)).sum())
        broken += int((known & (before == gt) & (after != gt)).sum())
        changed += int((known & (before != after)).sum())
        major = gt_majority(ws, image_id, rows[0].superpixel_set)
        for r in rows:
            if r.image_id == image_id:
                regions += 1
                right += int(major.get(r.superpixel_id) == r.new_class)
    return {"fixed": fixed, "broken": broken, "changed": changed, "regions": regions, "right": right}


def run_row(base: Any, tmp: Path, row: str, *, checkpoint: Path, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """``args.rounds`` rounds of the loop for one row; per round: clicks, data mIoU, per-class IoU and
    the propagation's numbers."""
    from alc_data.evaluate import data_miou
    from alc_data.loop import load_recipe
    from alc_data.loop.loop import Loop
    from alc_data.loop.recipes import merge
    from alc_data.workspace import Workspace

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from paper_tables import train_settings

    dst = tmp / f"row-{row}"
    shutil.copytree(base.root, dst)
    ws = Workspace.open(dst)
    threshold: Any = thresholds(args.threshold)
    loop = {"rounds": args.rounds, "budget": args.budget, "expand": "label", "init_model": str(checkpoint),
            "seed": seed, "final_train": False, **ROWS[row]}
    if loop.get("propagate"):  # a threshold without the module would be refused as ignored
        loop.setdefault("propagate_threshold", threshold)
    recipe = merge(load_recipe("demo"), {"train": train_settings(argparse.Namespace(iterations=args.iterations, size=64)),
                                         "loop": loop})
    t0 = time.perf_counter()
    Loop(ws, recipe, name=f"a2lc-{row}", log=lambda m: None).run()
    seconds = time.perf_counter() - t0
    rounds = []
    start = data_miou(ws, "v0", split="train")
    for rnd in ws.ledger.rounds():
        versions = [v for v in ws.labels.label_versions() if v.round == rnd.round]
        final = versions[-1].name if versions else rnd.label_version
        m = data_miou(ws, final, split="train")
        entry: dict[str, Any] = {"round": rnd.round, "clicks": args.budget * rnd.round, "data_miou": m.miou,
                                 "per_class": m.per_class}
        prop = [v for v in versions if v.kind == "propagation"]
        if prop:
            entry["propagation"] = propagation_stats(ws, prop[0].name, prop[0].parent)
        rounds.append(entry)
    shutil.rmtree(dst)
    return {"start": start.miou, "start_per_class": start.per_class, "rounds": rounds, "seconds": seconds}


def run_seed(seed: int, args: argparse.Namespace, tmp: Path, log: Any) -> dict[str, Any]:
    from alc_data.demo import build_demo_workspace
    from alc_data.train import TrainConfig, train_model

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from paper_tables import train_settings

    tmp = tmp / f"seed-{seed}"
    base = build_demo_workspace(tmp / "base", n_train=args.train, n_val=max(4, args.train // 4), size=(64, 64), seed=seed,
                                rare_share=RARE_SHARE if args.imbalanced else None)
    model = train_model(base, version="v0", split="train",
                        config=TrainConfig.from_dict(train_settings(argparse.Namespace(iterations=args.iterations, size=64))),
                        run_dir=tmp / "round-0-model")
    out = {"seed": seed, "rows": {}}
    for row in args.rows:
        out["rows"][row] = run_row(base, tmp, row, checkpoint=Path(model.checkpoint), args=args, seed=seed)
        log(f"seed {seed} {row}: " + " ".join(f"{r['data_miou']:.2f}" for r in out["rows"][row]["rounds"])
            + f" ({out['rows'][row]['seconds']:.0f} s)")
    return out


def clicks_to_reach(clicks: list[float], mious: list[float], target: float) -> float | None:
    """Clicks (linear between rounds, from (0, start)) at which a curve first reaches ``target``."""
    for (c0, m0), (c1, m1) in zip(zip(clicks, mious), zip(clicks[1:], mious[1:])):
        if m1 >= target:
            return c1 if m1 == m0 else c0 + (c1 - c0) * max(0.0, (target - m0) / (m1 - m0))
    return None


def summarise(results: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """Per row: mean ± std data mIoU per round, worst class change, propagation figures, and the clicks
    each row needs to reach plain SIM's final data mIoU (per seed, then the mean)."""
    summary: dict[str, Any] = {}
    for row in args.rows:
        curves, worst, reach, fixed, broken, right, regions, changed = [], [], [], 0, 0, 0, 0, 0
        for res in results:
            r = res["rows"][row]
            curve = [r["start"]] + [x["data_miou"] for x in r["rounds"]]
            curves.append(curve)
            changes = [(b or 0.0) - (a or 0.0) for a, b in zip(r["start_per_class"], r["rounds"][-1]["per_class"])
                       if a is not None]
            worst.append(min(changes))
            sim = res["rows"].get("sim")
            if sim is not None:
                target = sim["rounds"][-1]["data_miou"]
                clicks = [0.0] + [float(x["clicks"]) for x in r["rounds"]]
                reach.append(clicks_to_reach(clicks, curve, target))
            for x in r["rounds"]:
                p = x.get("propagation", {})
                fixed, broken = fixed + p.get("fixed", 0), broken + p.get("broken", 0)
                changed += p.get("changed", 0)
                right, regions = right + p.get("right", 0), regions + p.get("regions", 0)
        arr = np.array(curves)
        summary[row] = {
            "mean": arr.mean(0).round(2).tolist(), "std": arr.std(0).round(2).tolist(),
            "worst_class_change": float(np.min(worst)),
            "clicks_to_sim_final": reach,
            "propagated_fixed": fixed, "propagated_broken": broken, "propagated_changed": changed,
            "propagated_regions": regions, "propagated_right": right,
        }
    return summary


def render(summary: dict[str, Any], args: argparse.Namespace) -> str:
    sim_clicks = args.budget * args.rounds
    lines = [f"# A2LC on the demo{' (imbalanced: a rare class)' if args.imbalanced else ''}", "",
             f"Seeds {args.seeds}, {args.rounds} rounds × {args.budget} queries, {args.train} training images, "
             f"{args.iterations} iterations per model, `label` expansion, LCM threshold {args.threshold}. "
             "Written by `benchmarks/a2lc_table.py`.", "",
             "| row | " + " | ".join(["start"] + [f"R{r}" for r in range(1, args.rounds + 1)])
             + " | worst class Δ | LCM fixed / broken / changed px | LCM regions right | clicks to SIM's final |",
             "| --- |" + " ---: |" * (args.rounds + 5)]
    for row, s in summary.items():
        reach = [c for c in s["clicks_to_sim_final"]]
        reach_txt = ("never" if any(c is None for c in reach)
                     else f"{np.mean(reach):.0f} ({100 * np.mean(reach) / sim_clicks:.0f} %)") if reach else "—"
        regions = f"{s['propagated_right']} / {s['propagated_regions']}" if s["propagated_regions"] else "—"
        fb = (f"{s['propagated_fixed']} / {s['propagated_broken']} / {s.get('propagated_changed', '?')}"
              if s["propagated_regions"] else "—")
        cells = [f"{m:.2f} ± {d:.2f}" for m, d in zip(s["mean"], s["std"])]
        lines.append(f"| {row} | " + " | ".join(cells) + f" | {s['worst_class_change']:+.2f} | {fb} | {regions} | {reach_txt} |")
    lines += ["", "A2LC's published 3-seed means (data mIoU, DeepLabV3+ R101; PASCAL 1,000 and Cityscapes 10,000 "
              "queries a round), for the ordering:", "", "| run | start | R1 | R2 | R3 | R4 | R5 |",
              "| --- |" + " ---: |" * 6]
    lines += [f"| {k} | " + " | ".join(f"{x:.2f}" for x in v) + " |" for k, v in PUBLISHED.items()]
    return "\n".join(lines) + "\n"


def write_report(results: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    summary = summarise(results, args)
    (args.out / f"{args.name}.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                            "seeds": results, "summary": summary}, indent=1) + "\n")
    (args.out / f"{args.name}.md").write_text(render(summary, args))
    return summary


def merge_reports(args: argparse.Namespace) -> dict[str, Any]:
    """One report from the per-seed results of several runs' .json files (``--merge``)."""
    results = [seed for path in args.merge for seed in json.loads(path.read_text())["seeds"]]
    args.seeds = [r["seed"] for r in results]
    args.rows = [row for row in results[0]["rows"] if all(row in r["rows"] for r in results)]
    return write_report(results, args)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.merge:
        return merge_reports(args)
    results = []
    with tempfile.TemporaryDirectory(prefix="alc-a2lc-") as tmp:
        for seed in args.seeds:
            results.append(run_seed(seed, args, Path(tmp), log=lambda m: print(m, flush=True)))
            summary = write_report(results, args)
    return summary


if __name__ == "__main__":
    main()
