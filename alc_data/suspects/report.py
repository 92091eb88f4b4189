"""The suspects report: one self-contained HTML page (pictures as data URIs, the plot as inline SVG).

For each of the top suspects: the image with the region outlined, the current labels laid over the
image, and the proposal (the region painted in the proposed class); then a per-class summary (which
classes are suspected, and into which) and, with reference ground truth, the metrics and precision
against k. Every name a user chose (image ids, class names, the workspace's path) is escaped.
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from alc_data.audit.pictures import OUTLINE_RGB, colorize, outline
from alc_data.io.atomic import atomic_write_bytes
from alc_data.suspects.metrics import DetectionMetrics
from alc_data.workspace import Workspace

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1400px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#f3f3f3}.l{text-align:left}figure{display:inline-block;margin:.6em;vertical-align:top}
figcaption{font-size:.8em;color:#444;max-width:420px}img{image-rendering:pixelated}
"""
PANEL = 128


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _png(arr: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(arr)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def suspect_picture(image: np.ndarray | None, labels: np.ndarray, mask: np.ndarray, proposed: int,
                    palette: np.ndarray) -> np.ndarray:
    """(h, 3 w + gaps, 3) uint8 panels: image | labels over the image | proposal, the region outlined."""
    from PIL import Image

    lab_rgb = colorize(labels, palette)
    base = image if image is not None and image.shape[:2] == labels.shape else lab_rgb
    overlay = (0.5 * base + 0.5 * lab_rgb).astype(np.uint8)
    after = labels.copy()
    after[mask] = proposed
    panels = []
    for arr in (base.copy(), overlay, colorize(after, palette)):
        arr[outline(mask, max(1, round(min(labels.shape) / 96)))] = OUTLINE_RGB
        scale = PANEL / max(labels.shape)
        size = (max(1, round(labels.shape[1] * scale)), max(1, round(labels.shape[0] * scale)))
        panels.append(np.asarray(Image.fromarray(arr).resize(size, Image.Resampling.NEAREST)))
    gap = np.full((panels[0].shape[0], 4, 3), 255, dtype=np.uint8)
    return np.concatenate([panels[0], gap, panels[1], gap, panels[2]], axis=1)


def _gallery(ws: Workspace, rows: list[dict[str, Any]], version: str, superpixel_set: str) -> str:
    palette = ws.catalogue.palette
    parts = []
    for r in rows:
        labels = ws.labels.read_label(version, r["image_id"])
        mask = ws.superpixels.read_superpixels(superpixel_set, r["image_id"]) == r["region"]
        try:
            image = ws.catalogue.load_image(r["image_id"])
        except (OSError, LookupError):
            image = None
        pic = _png(suspect_picture(image, labels, mask, int(r["proposed"]), palette))
        caption = (f"#{r['rank'] + 1} {_e(r['image_id'])}, region {r['region']}: "
                   f"<b>{_e(r['current_name'])}</b> → <b>{_e(r['proposed_name'])}</b> "
                   f"(confidence {r['confidence']:.2f}, {r['area']} px, score {r['score']:.1f})")
        parts.append(f'<figure><img src="{pic}" alt="{_e(r["image_id"])}"><figcaption>{caption}'
                     "</figcaption></figure>")
    return "<h2>Top suspects</h2><p>image | current labels | proposal; the region outlined</p>" + "".join(parts)


def _legend(names: Sequence[str], palette: np.ndarray) -> str:
    items = "".join(f'<span style="margin-right:1em"><span style="display:inline-block;width:.9em;height:.9em;'
                    f'background:rgb({int(palette[i][0])},{int(palette[i][1])},{int(palette[i][2])})"></span> '
                    f"{_e(n)}</span>" for i, n in enumerate(names))
    return f"<p>classes: {items}</p>"


def _classes(transitions: dict[tuple[int, int], list[int]], names: Sequence[str]) -> str:
    def name(c: int) -> str:
        return names[c] if 0 <= c < len(names) else str(c)

    rows = sorted(transitions.items(), key=lambda kv: -kv[1][0])[:40]
    body = "".join(f'<tr><td class="l">{_e(name(c))}</td><td class="l">{_e(name(p))}</td><td>{n}</td><td>{a}</td></tr>'
                   for (c, p), (n, a) in rows)
    return ("<h2>Suspected classes</h2><table><tr><th class=\"l\">current</th><th class=\"l\">proposed</th>"
            f"<th>suspects</th><th>pixels</th></tr>{body}</table>")


def precision_svg(curve: list[tuple[int, float]], width: int = 420, height: int = 220) -> str:
    """Precision against k (log axis) as an inline SVG polyline."""
    if not curve:
        return ""
    kmax = max(k for k, _ in curve)
    span = np.log10(max(kmax, 2))

    def xy(k: int, p: float) -> str:
        return f"{40 + (width - 50) * np.log10(k) / span:.1f},{height - 25 - (height - 40) * p:.1f}"

    pts = " ".join(xy(k, p) for k, p in curve)
    return (f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
            f'<rect x="40" y="15" width="{width - 50}" height="{height - 40}" fill="none" stroke="#999"/>'
            f'<polyline points="{pts}" fill="none" stroke="#c33" stroke-width="2"/>'
            f'<text x="40" y="{height - 8}" font-size="11">k = 1</text>'
            f'<text x="{width - 60}" y="{height - 8}" font-size="11">k = {kmax}</text>'
            f'<text x="2" y="20" font-size="11">1.0</text><text x="2" y="{height - 25}" font-size="11">0.0</text></svg>')


def _metrics(metrics: DetectionMetrics | None, image_metrics: dict[str, Any], curve: list[tuple[int, float]]) -> str:
    if metrics is None:
        return "<p>No reference ground truth: no metrics.</p>"
    figures = [("image-level AUPRC", metrics.image_auprc), ("image-level AUROC", metrics.image_auroc),
               ("component-level AP", metrics.component_ap),
               *[(f"precision@{k}", p) for k, p in metrics.precision_at_k.items()]]
    rows = "".join(f'<tr><td class="l">{_e(n)}</td><td>{v:.3f}</td></tr>' for n, v in figures)
    alt = "".join(f'<tr><td class="l">{_e(n)}</td><td>{m.auprc:.3f}</td><td>{m.auroc:.3f}</td></tr>'
                  for n, m in image_metrics.items())
    return (f"<h2>Against the reference ground truth</h2><p>{metrics.wrong_images} of {metrics.images} images wrong, "
            f"{metrics.components} wrong components, {metrics.true_suspects} of {metrics.regions} regions at least "
            f"half wrong.</p><table>{rows}</table><h3>Image scores</h3><table><tr><th class=\"l\">score</th>"
            f"<th>AUPRC</th><th>AUROC</th></tr>{alt}</table><h3>Precision against k</h3>{precision_svg(curve)}")


def write_report(ws: Workspace, path: str | os.PathLike, best: Any, top: int, *, version: str, superpixel_set: str,
                 transitions: dict[tuple[int, int], list[int]], metrics: DetectionMetrics | None,
                 image_metrics: dict[str, Any], curve: list[tuple[int, float]]) -> Path:
    """Write the report of the ``top`` first rows of ``best`` (the top-suspects table) to ``path``."""
    rows = [] if best is None else best.slice(0, top).to_pylist()
    body = (f"<h1>Label-error suspects</h1><p>workspace {_e(ws.root.name)}, labels {_e(version)}, regions "
            f"{_e(superpixel_set)}</p>" + _legend(ws.catalogue.class_names, ws.catalogue.palette) + _metrics(metrics, image_metrics, curve)
            + _classes(transitions, ws.catalogue.class_names) + _gallery(ws, rows, version, superpixel_set))
    page = (f'<!doctype html><html><head><meta charset="utf-8"><title>label-error suspects</title>'
            f"<style>{_CSS}</style></head><body>{body}</body></html>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, page.encode("utf-8"), shared=True)
    return path
