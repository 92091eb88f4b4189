"""``alc-data demo``: the demo recipe with SIM, and the same budget with other acquisitions beside it."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from alc_data.loop.config import Recipe
from alc_data.loop.loop import Loop, prepare_workspace
from alc_data.loop.recipes import apply_overrides, load_recipe
from alc_data.loop.table import RunTable, plot_runs
from alc_data.results import JsonResult


@dataclass(frozen=True)
class DemoResult(JsonResult):
    """What :func:`run_demo` returns (``alc-data demo --json``): one round table per acquisition, SIM's
    first, the data-mIoU gain of each after the budget, the plot and the output folder."""

    runs: tuple[RunTable, ...]
    data_miou_gain: dict[str, float]
    plot: str
    out: str


def _prefixed(log: Callable[[str], None], prefix: str) -> Callable[[str], None]:
    return lambda message: log(f"[{prefix}] {message}")


def _compared(base: Recipe, acquisition: str, log: Callable[[str], None]) -> Recipe:
    """The recipe of a comparison run: ``base`` with ``acquisition``; without the class balance when
    that acquisition takes none (a baseline beside a balanced SIM; said in the log)."""
    from alc_data.errors import InvalidInput
    from alc_data.stages.score import check_balance

    loop = {**base.to_dict()["loop"], "acquisition": acquisition}
    try:
        check_balance(loop.get("balance") or "none", acquisition)
    except InvalidInput:
        log(f"[{acquisition}] runs without loop.balance = {loop['balance']} (it weighs sim's per-pixel terms only)")
        loop["balance"] = "none"
    return Recipe.from_dict({**base.to_dict(), "loop": loop})


def _refuse_people_answers(base: Recipe, recipe: str) -> None:
    """InvalidInput for answers from people: the demo runs each acquisition to the end with the oracle;
    answering yourself is ``alc-data run`` (a waiting demo would print commands that cannot resume it)."""
    from alc_data.errors import InvalidInput
    from alc_data.hints import command
    from alc_data.loop.config import AnswerSource

    if base.loop.answers_from is not AnswerSource.ORACLE:
        raise InvalidInput(f"the demo answers from the ground truth (loop.answers_from = 'oracle'); to answer the "
                           f"queries yourself run `{command('run', recipe, '-w', 'WS', '--answers-from', str(base.loop.answers_from))}`")


def run_demo(
    out: str | os.PathLike,
    *,
    recipe: str = "demo",
    overrides: list[str] | None = None,
    compare: tuple[str, ...] = ("random", "lcil"),
    log: Callable[[str], None] = print,
) -> DemoResult:
    """Run the demo recipe with its acquisition (SIM) and with each of ``compare`` at the same budget.

    Each acquisition gets its own workspace under ``out`` (same generated data, same seed). The
    comparisons start from the SIM run's first-round model, which was trained on the same labels,
    so only the selection differs. Returns the round tables and the data-mIoU gains.
    """
    out = Path(out)
    base = Recipe.from_dict(apply_overrides(load_recipe(recipe), overrides))
    _refuse_people_answers(base, recipe)
    recipes = {base.loop.acquisition: base}
    for acq in compare:  # every recipe error before anything is written
        recipes[acq] = _compared(base, acq, log)
    runs = []
    first_model = None
    for acq, rec in recipes.items():
        if first_model is not None:
            rec = rec.replace(loop=dataclasses.replace(rec.loop, init_model=str(first_model)))
        ws = prepare_workspace(out / acq, rec)
        log(f"[{acq}] workspace {ws.root}")
        loop = Loop(ws, rec, name=f"demo-{acq}", log=_prefixed(log, acq))
        table = loop.run()
        runs.append(table)
        if first_model is None:
            first_model = loop.state["rounds"]["1"]["checkpoint"]
    plot = plot_runs(runs, out / "miou.png")
    gains = {}
    for table in runs:
        first, last = table.rounds[0].data_miou, table.rounds[-1].data_miou
        if first is not None and last is not None:
            gains[table.acquisition] = round(last - first, 2)
    return DemoResult(runs=tuple(runs), data_miou_gain=gains, plot=str(plot), out=str(out))
