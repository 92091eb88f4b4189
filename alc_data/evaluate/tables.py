"""Rich tables of evaluation results (per-class IoU)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alc_data.evaluate.evaluate import MiouResult


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}"


def per_class_table(result: MiouResult) -> Any:
    """A rich Table of a :func:`data_miou` / :func:`model_miou` result: one row per class, then mIoU."""
    from rich.table import Table
    from rich.text import Text

    if result.kind == "model":
        title = f"model mIoU on {result.split or 'all images'}"
        if result.checkpoint:
            title += f" ({result.checkpoint})"
    else:
        title = f"data mIoU of {result.version} on {result.split or 'all images'}"
    table = Table(title=title)
    table.add_column("index", justify="right")
    table.add_column("class")
    table.add_column("IoU %", justify="right")
    names = result.class_names or [str(i) for i in range(len(result.per_class))]
    for i, (name, iou) in enumerate(zip(names, result.per_class)):
        table.add_row(str(i), name, _pct(iou))
    table.add_section()
    table.add_row("", Text("mIoU", style="bold"), Text(_pct(result.miou), style="bold"))
    table.add_row("", "pixel accuracy", _pct(result.pixel_accuracy))
    table.add_row("", "coverage", f"{100 * result.coverage:.2f} % ({result.evaluated_pixels} of {result.pixels} px)")
    return table


def summary_line(result: MiouResult) -> str:
    """One line: mIoU, coverage and image count."""
    kind = "model" if result.kind == "model" else "data"
    return (
        f"{kind} mIoU {_pct(result.miou)} % over {result.images} images; "
        f"coverage {100 * result.coverage:.2f} % (skipped {100 * result.skipped:.2f} % as ignore)"
    )
