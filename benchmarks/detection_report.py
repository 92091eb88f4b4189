"""The markdown report of ``bench_detection.py``: tables per kind of labels, the verdict, the timings, a PR plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DEFAULT = "alc issues"
"""alc-data's default region score (its row's image column: the image's highest region score)."""
DEFAULT_IMAGE = "alc image_margin"
"""alc-data's default image score."""

CLEANLAB_IMAGE = ("cleanlab softmin", "cleanlab num_pixel_issues", "cleanlab find_label_issues")


def _mean(runs: list[dict], method: str, key: str) -> float:
    vals = [r["methods"][method].get(key) for r in runs if method in r["methods"]]
    vals = [v for v in vals if v is not None and not np.isnan(v)]
    return float(np.mean(vals)) if vals else float("nan")


def _fmt(x: float) -> str:
    return "–" if x is None or np.isnan(x) else f"{100 * x:.1f}"


def kind_table(runs: list[dict]) -> list[str]:
    methods = list(runs[0]["methods"])
    lines = ["| method | image AUPRC | per seed | image AUROC | component AP | P@10 | P@50 | P@100 |",
             "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for m in methods:
        seeds = " / ".join(_fmt(r["methods"][m]["image_auprc"]) for r in runs)
        pk = [_fmt(float(np.mean([r["methods"][m].get("precision_at", {}).get(k, np.nan) for r in runs])))
              for k in (10, 50, 100)]
        tag = " (default)" if m == DEFAULT else " (default image score)" if m == DEFAULT_IMAGE else ""
        lines.append(f"| {m}{tag} | {_fmt(_mean(runs, m, 'image_auprc'))} | {seeds} | "
                     f"{_fmt(_mean(runs, m, 'image_auroc'))} | {_fmt(_mean(runs, m, 'component_ap'))} | "
                     + " | ".join(pk) + " |")
    return lines


def verdict(runs: list[dict], judged: bool = True) -> list[str]:
    """The comparison with cleanlab; ``judged``: against issue 22's targets (set on the planted errors only)."""
    best = max(CLEANLAB_IMAGE, key=lambda m: _mean(runs, m, "image_auprc"))
    ours, theirs = _mean(runs, DEFAULT_IMAGE, "image_auprc"), _mean(runs, best, "image_auprc")
    comp_ours = _mean(runs, DEFAULT, "component_ap")
    comp_theirs = _mean(runs, "cleanlab find_label_issues", "component_ap")
    gap = 100 * (ours - theirs)
    image_target = f" (target: at least +5) — **{'met' if gap >= 5 else 'missed'}**" if judged else ""
    comp_target = f" — **{'met' if comp_ours > comp_theirs else 'missed'}**" if judged else ""
    lines = [f"- image-level AUPRC: alc-data's default {_fmt(ours)} against cleanlab's best ({best}) {_fmt(theirs)}: "
             f"{gap:+.1f} points{image_target}",
             f"- component-level AP: alc-data's default {_fmt(comp_ours)} against cleanlab's find_label_issues "
             f"components {_fmt(comp_theirs)}{comp_target}"]
    if all("learned" in r for r in runs):
        n = {k: sum(r["learned"][k] for r in runs) for k in ("components", "learned_components", "learned_images")}
        wrong = sum(int(np.sum(r["methods"][DEFAULT_IMAGE]["_pr"][1])) for r in runs)
        o, t = _mean(runs, DEFAULT_IMAGE, "image_auprc_unlearned"), _mean(runs, best, "image_auprc_unlearned")
        lines.append(
            f"- errors the model learned: {n['learned_components']} of {n['components']} wrong components have an "
            f"out-of-fold majority prediction equal to their wrong label, and in {n['learned_images']} of {wrong} wrong "
            "images every error is such a one: no method reading these probabilities can rank them. Without those "
            f"images: alc-data {_fmt(o)}, {best} {_fmt(t)} ({100 * (o - t):+.1f} points).")
    if all("ceiling_auprc" in r for r in runs):
        ceiling = float(np.mean([r["ceiling_auprc"] for r in runs]))
        lines.append(
            f"- within reach: an oracle that ranks first every wrong image holding an error the model did not learn, "
            f"the rest in random order, scores {_fmt(ceiling)} (per seed "
            + " / ".join(_fmt(r["ceiling_auprc"]) for r in runs) + f"); alc-data's default reaches {_fmt(ours)}.")
    return lines


def pr_plot(runs: list[dict], path: Path) -> bool:
    """Image-level precision-recall curves (seeds pooled) of the default and cleanlab's methods."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    from sklearn.metrics import precision_recall_curve

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for m in (DEFAULT_IMAGE, DEFAULT, "alc image_share", *CLEANLAB_IMAGE):
        # seeds pooled: each seed's scores as ranks in 0..1, so no seed's scale dominates
        scores = np.concatenate([_ranks(np.asarray(r["methods"][m]["_pr"][0])) for r in runs])
        wrong = np.concatenate([np.asarray(r["methods"][m]["_pr"][1], dtype=bool) for r in runs])
        p, rcl, _ = precision_recall_curve(wrong, scores)
        ax.plot(rcl, p, label=m)
    ax.set_xlabel("recall (wrong images)")
    ax.set_ylabel("precision")
    ax.set_title("planted errors: image-level precision-recall")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _ranks(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(x, kind="stable"), kind="stable") / max(len(x) - 1, 1)


NOTES = [
    "## What the rows are", "",
    "- `alc issues` (the default region ranking of `alc-data errors`): a region is a suspect when the model's most "
    "frequent prediction in it differs from its most frequent label; its score is the number of its "
    "confident-learning issue pixels (below), plus half its `prob` to order suspects with as many. Its image "
    "column: the image's highest region score. `alc mass`: the suspect's sum over its labelled pixels of "
    "1 − p(label), the expected number of wrong pixels it holds. `alc prob`: the same, divided by the region's "
    "size. `alc sim`, `alc lcil`, `alc softmin`: the scorer's acquisitions, not gated.",
    "- `alc image_margin` (the default image score): confident-learning issue pixels, each counted by its margin: "
    "with t_k the mean of p_k over the pixels labelled k (the class thresholds of cleanlab's `find_label_issues`), a "
    "pixel is an issue when p(label) < t_label and the most probable class among those above their threshold is "
    "another; its margin is that class's p minus p(label), or 0 where p(label) is the higher (the rule fires there "
    "too when the label's own threshold is high). The image's score is the sum of its issue pixels' margins, "
    "an issue pixel inside a suspect counted twice, over its labelled pixels. `alc image_issues` (the default before "
    "2026-12-07): the share of the labelled pixels that are issue pixels inside suspects. `alc image_share`: the sum "
    "of `mass` over the labelled pixels. `alc image_softmin`: cleanlab's softmin image score computed by alc-data (void pixels masked instead "
    "of replaced by the prediction).",
    "- cleanlab's `find_label_issues` row: its pixel mask cut into 8-connected components, each scored by the mean "
    "of 1 − cleanlab's pixel score; its image column is the image's highest component score.",
    "",
    "## Where the regions cost alc-data, and why", "",
    "alc-data ranks regions because a region is what one correction query fixes. Where an error does not follow the "
    "regions, no region score can single it out: the demo's masks that are a few pixels too large or too small "
    "leave thin rings of wrong pixels along object outlines, inside regions whose majority label is right. "
    "cleanlab's pixel mask outlines such rings exactly, so its components lead the component-level AP on the "
    "demo's noise, while on the planted errors (whole objects relabelled, what a person fixes with one answer) the "
    "regions lead by far. On the demo's noise nearly every image is wrong (at least 1 % of its pixels), so the "
    "image-level AUPRC of every method sits near the base rate.",
    "",
]


def write_markdown(runs: list[dict], out: Path, args: dict) -> None:
    lines = ["# Finding label errors: alc-data beside cleanlab on the same probabilities", "",
             "Made by `python benchmarks/bench_detection.py` (see its docstring for the protocol): "
             f"{args['images']} demo scenes of {args['size']}×{args['size']} per seed, seeds {args['seeds']}, "
             f"out-of-fold `demo-tiny` probabilities ({args['iterations']} iterations per fold). Figures in %; "
             "image AUPRC per seed in the order of the seeds.", ""]
    for kind in dict.fromkeys(r["kind"] for r in runs):
        sel = [r for r in runs if r["kind"] == kind]
        title = {"planted": "Planted errors (Rottmann & Reese protocol on the true labels)",
                 "demo": "The demo's Grounded-SAM-like noise"}.get(kind, kind)
        lines += [f"## {title}", "", *kind_table(sel), "", *verdict(sel, judged=kind == "planted"), ""]
    plot = out.with_name("detection-pr.png")
    planted = [r for r in runs if r["kind"] == "planted"] or runs
    if pr_plot(planted, plot):
        lines += ["## Precision-recall (planted errors, image level)", "", f"![precision-recall]({plot.name})", ""]
    lines += NOTES
    lines += ["## CPU time per image (same arrays)", "", "| method | ms / image |", "| --- | ---: |"]
    keys = list(runs[0]["cpu_ms_per_image"])
    for k in keys:
        lines.append(f"| {k} | {np.mean([r['cpu_ms_per_image'][k] for r in runs]):.2f} |")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
