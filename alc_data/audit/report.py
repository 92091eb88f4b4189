"""A single self-contained HTML report of a label diff (tables + pictures embedded as data URIs)."""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlreadyExists
from alc_data.io.atomic import atomic_write_bytes
from alc_data.names import class_name

if TYPE_CHECKING:
    from alc_data.audit.diff import LabelDiff

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#222;max-width:1500px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0;font-size:.85em}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#f3f3f3}
td.l,th.l{text-align:left}.z{color:#bbb}.d{background:#eef5ee}
.sw{display:inline-block;width:.9em;height:.9em;border:1px solid #888;vertical-align:middle;margin-right:3px}
figure{margin:1em 0}figcaption{font-size:.85em;color:#555}img{max-width:100%;image-rendering:pixelated}
.note{color:#666;font-size:.85em}
"""

LIST_LIMIT = 50


def _e(x: object) -> str:
    return html.escape(str(x))


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.3f} %"


def _swatch(rgb: Sequence[int] | np.ndarray) -> str:
    r, g, b = (int(v) for v in rgb)
    return f'<span class="sw" style="background:rgb({r},{g},{b})"></span>'


def _table(header: list[str], rows: list[list[str]], left: int = 1) -> str:
    th = "".join(f'<th class="{"l" if i < left else ""}">{_e(h)}</th>' for i, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(f'<td class="{"l" if i < left else ""}">{c}</td>' for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f"<table><tr>{th}</tr>{body}</table>"


def _id_list(title: str, ids: list[str]) -> str:
    if not ids:
        return ""
    shown = ", ".join(_e(i) for i in ids[:LIST_LIMIT])
    more = f" … and {len(ids) - LIST_LIMIT} more" if len(ids) > LIST_LIMIT else ""
    return f"<p><b>{_e(title)}</b> ({len(ids)}): {shown}{more}</p>"


def render_report(diff: LabelDiff, pictures: dict[str, bytes] | None = None) -> str:
    """HTML text for a :class:`~alc_data.audit.diff.LabelDiff`; ``pictures``: PNG bytes per image id."""
    pictures = pictures or {}
    t = diff.totals()
    k = diff.num_classes
    pal = [diff.palette[i] for i in range(k)] + [diff.palette[IGNORE_INDEX]]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>label diff {_e(diff.a.name)} → {_e(diff.b.name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Label diff: {_e(diff.a.name)} → {_e(diff.b.name)}</h1>",
        f"<p class='note'>A ({_e(diff.a.kind)}): {_e(diff.a.name)} — B ({_e(diff.b.kind)}): {_e(diff.b.name)}. "
        f"Void = label {IGNORE_INDEX}. Agreement counts only pixels that neither side marks void.</p>",
        "<h2>Summary</h2>",
        _table(
            ["", "value"],
            [
                ["images compared", _e(t["images_compared"])],
                ["images changed", _e(t["images_changed"])],
                ["pixels", f"{t['pixels']:,}"],
                ["changed pixels", f"{t['changed_pixels']:,} ({_pct(t['changed_share'])})"],
                ["agreement (non-void)", _pct(t["agreement"])],
                ["became void", f"{t['became_void']:,}"],
                ["stopped being void", f"{t['stopped_void']:,}"],
                ["changed regions", f"{t['regions']:,}"],
            ],
        ),
        _id_list(f"only in A ({diff.a.name})", diff.only_in_a),
        _id_list(f"only in B ({diff.b.name})", diff.only_in_b),
        _id_list("label sizes differ (not compared)", diff.size_mismatch),
    ]
    if diff.ledger is not None:
        lg = diff.ledger
        parts += [
            "<h2>Ledger</h2>",
            f"<p>{lg['corrections']} ledger rows ({lg['corrections_linked']} linked to a changed region) from versions {_e(', '.join(lg['versions']) or 'none')}; "
            f"{lg['linked_changed_pixels']:,} changed pixels lie in a corrected superpixel, "
            f"{lg['unlinked_changed_pixels']:,} do not.</p>",
            _people_and_module(lg),
        ]
    parts += _transitions(diff, pal)
    parts += _most_changed(diff, pictures)
    parts += _other_linked(diff)
    parts.append("</body></html>")
    return "\n".join(parts)


def _transitions(diff: LabelDiff, pal: list[Any]) -> list[str]:
    """The transitions table (largest first) and the transition matrix of the classes involved."""
    names = diff.labels_with_void
    k = diff.num_classes
    parts = ["<h2>Transitions (largest first)</h2>"]
    trans = diff.transitions()
    if trans:
        rows = [
            [_swatch(pal[r["from_index"] if r["from_index"] < k else k]) + _e(r["from"]),
             _swatch(pal[r["to_index"] if r["to_index"] < k else k]) + _e(r["to"]), f"{r['pixels']:,}"]
            for r in trans[:40]
        ]
        parts.append(_table(["from (A)", "to (B)", "pixels"], rows, left=2))
        m = diff.transition_matrix
        off = m.copy()
        np.fill_diagonal(off, 0)
        involved = np.flatnonzero(off.sum(0) + off.sum(1))
        header = ["A \\ B"] + [names[j] for j in involved]
        mrows = []
        for i in involved:
            cells = [_swatch(pal[i]) + _e(names[i])]
            for j in involved:
                v = int(m[i, j])
                cls = "d" if i == j else ("z" if v == 0 else "")
                cells.append(f'<span class="{cls}">{v:,}</span>' if cls else f"{v:,}")
            mrows.append(cells)
        parts.append("<p class='note'>Transition matrix restricted to the classes involved in a change "
                     "(row = class in A, column = class in B; the JSON output has the full matrix).</p>")
        parts.append(_table(header, mrows))
    else:
        parts.append("<p>No pixel changed.</p>")
    return parts


def _most_changed(diff: LabelDiff, pictures: dict[str, bytes]) -> list[str]:
    """The most changed images: their table, then each with its picture and its regions."""
    if not diff.top:
        return []
    parts = ["<h2>Most changed images</h2>"]
    rows = []
    for image_id in diff.top:
        c = diff.image(image_id)
        rows.append([_e(image_id), _pct(c.changed_share), f"{c.changed:,}", _e(c.regions), _pct(c.agreement),
                     f"{c.became_void:,}", f"{c.stopped_void:,}"])
    parts.append(_table(["image", "changed", "pixels", "regions", "agreement", "became void", "stopped void"], rows))
    for image_id in diff.top:
        c = diff.image(image_id)
        parts.append(f"<h3>{_e(image_id)}</h3>")
        if image_id in pictures:
            data = base64.b64encode(pictures[image_id]).decode("ascii")
            parts.append(
                f"<figure><img alt='{_e(image_id)}' src='data:image/png;base64,{data}'>"
                f"<figcaption>{_pct(c.changed_share)} of pixels changed in {c.regions} regions</figcaption></figure>"
            )
        parts.append(_regions_table(diff, image_id))
    return parts


def _other_linked(diff: LabelDiff) -> list[str]:
    """The images outside the most changed ones whose changed regions link to the ledger."""
    parts: list[str] = []
    linked = [i for i in diff.regions if i not in diff.top and any(r.links for r in diff.regions[i])]
    if linked:
        parts.append("<h2>Other images with ledger links</h2>")
        for image_id in linked[:LIST_LIMIT]:
            parts.append(f"<h3>{_e(image_id)}</h3>" + _regions_table(diff, image_id))
        if len(linked) > LIST_LIMIT:
            parts.append(f"<p class='note'>… and {len(linked) - LIST_LIMIT} more images (see --json).</p>")
    return parts


def _regions_table(diff: LabelDiff, image_id: str) -> str:
    regs = diff.regions.get(image_id, [])
    if not regs:
        return ""
    names = diff.class_names

    def nm(v: int) -> str:
        return class_name(v, names)

    rows = []
    for r in regs:
        link = "<br>".join(_e(_link_line(d, nm)) for d in r.links) if r.links else "–"
        rows.append([_e(r.region), f"{r.pixels:,}", _e("x{} y{} – x{} y{}".format(*r.bbox)),
                     _e(nm(r.old_class)), _e(nm(r.new_class)), link])
    return _table(["region", "pixels", "box", "from", "to", "ledger"], rows, left=0)


def _people_and_module(lg: dict[str, Any]) -> str:
    """The ledger's rows counted apart: people's corrections, and the module's relabels by review verdict."""
    from alc_data.queries.cost import describe_relabels

    rejections = f", {lg['human_rejections']} of them rejecting automatic relabels" if lg.get("human_rejections") else ""
    if lg.get("human_restored_pixels"):
        rejections += f"; {lg['human_restored_pixels']:,} pixels given back their class before the relabel, so unchanged"
    text = f"By people: {lg['human_corrections']} corrections ({lg['human_pixels']:,} pixels{rejections})."
    if lg["automatic_relabels"]:
        auto = {k.removeprefix("automatic_"): v for k, v in lg.items() if k.startswith("automatic_")}
        text += " Automatic (propagated by the label-correction module): " + describe_relabels(auto) + "."
    return f"<p>{_e(text)}</p>"


def _link_line(d: dict[str, Any], nm: Callable[[int], str]) -> str:
    """One ledger row linked to a changed region: a person's answer, or an automatic relabel."""
    if d.get("propagation_id") is not None:
        model = Path(str(d.get("model") or d.get("annotator") or "?")).name
        review = d.get("review") or "not yet"
        return (f"automatic relabel, round {d['round']} (superpixel {d['superpixel_id']}): {nm(d['old_class'])} → "
                f"{nm(d['new_class'])}, confidence {d['confidence']:.3f}, by model {model}; reviewed: {review}")
    rejects = "; rejects an automatic relabel" if d.get("rejects") is not None else ""
    return (f"round {d['round']} query {d['query_id']} (superpixel {d['superpixel_id']}): "
            f"{d.get('status') or '?'} by {d.get('annotator') or '?'} via {d.get('source') or '?'} "
            f"at {d.get('answered_at') or '?'}{rejects}")


def write_report(diff: LabelDiff, path: str | os.PathLike, pictures: dict[str, bytes] | None = None) -> Path:
    """Write the HTML report atomically to ``path`` (its folder is created)."""
    path = Path(path)
    if path.is_dir():
        raise AlreadyExists(f"{path}: is a folder; pass a file name such as report.html to --report")
    atomic_write_bytes(path, render_report(diff, pictures).encode("utf-8"), shared=True)
    return path
