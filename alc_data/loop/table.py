"""What a run of the loop returns: its round table (``--json`` and ``rounds.json``), and the plot."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alc_data.results import JsonResult


@dataclass(frozen=True)
class RoundRow(JsonResult):
    """One row of the round table: the cumulative clicks, accepted and corrected answers after round
    ``round`` (0: before the first), the estimated and measured annotation time, data and model mIoU;
    with ``loop.propagate``, the cumulative automatic relabels and the round's threshold."""

    round: int
    label_version: str
    clicks: int
    accepted: int
    corrected: int
    minutes_correction_queries: float
    minutes_classification_queries: float
    measured_median_seconds: float | None
    data_miou: float | None
    model_miou: float | None
    relabelled: int = 0  # regions the label-correction module relabelled, cumulative (loop.propagate)
    propagate_threshold: float | None = None  # the threshold this round's propagation used (None: none made)


@dataclass(frozen=True)
class RunTable(JsonResult):
    """What :meth:`alc_data.loop.Loop.run` returns: the run, its acquisition, whether it waits for
    answers, its folder and one :class:`RoundRow` per finished round; while it waits, ``waiting`` (what
    to do, the command that continues included) and ``queries_csv`` (the CSV to fill; None when the
    answers come from the browser); ``balance`` and ``propagate``: the recipe's ``loop.balance`` and
    ``loop.propagate``."""

    run: str
    acquisition: str
    waiting_for_answers: bool
    run_dir: str
    rounds: tuple[RoundRow, ...]
    waiting: str | None = None
    queries_csv: str | None = None
    balance: str = "none"
    propagate: bool = False

    @property
    def label(self) -> str:
        """The run's selection in a title or legend: the acquisition, ``+abc`` (its class balance) and
        ``+lcm`` (the label-correction module), e.g. ``sim+abc+lcm``."""
        parts = [self.acquisition or self.run, *((self.balance,) if self.balance not in ("", "none") else ()),
                 *(("lcm",) if self.propagate else ())]
        return "+".join(parts)


def plot_runs(tables: list[RunTable], path: Path) -> Path:
    """Plot data mIoU (solid) and model mIoU (dashed) against clicks for one or more runs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for table in tables:
        rows = table.rounds
        x = [r.clicks for r in rows]
        label = table.label
        line = None
        data: list[Any] = [r.data_miou for r in rows]  # None: a gap in the line
        model: list[Any] = [r.model_miou for r in rows]
        if any(v is not None for v in data):
            (line,) = ax.plot(x, data, marker="o", label=f"{label}: data mIoU")
        if any(v is not None for v in model):
            ax.plot(x, model, marker="s", linestyle="--",
                    color=line.get_color() if line else None, label=f"{label}: model mIoU")
    ax.set_xlabel("clicks (correction queries)")
    ax.set_ylabel("mIoU (%)")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # no mIoU to draw (no ground truth): no legend, and no warning
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)
    return path
