"""The loop's budgets checked against the candidates as soon as the superpixels exist, before any
training: a budget larger than the superpixels of the split used to fail only after ingest and a whole
training run (issue 21, item 11)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alc_data.errors import InvalidInput

if TYPE_CHECKING:
    from alc_data.loop.config import LoopSettings
    from alc_data.workspace import Workspace


def candidate_bound(ws: Workspace, superpixel_set: str, split: str) -> int:
    """An upper bound on the candidates of ``split``: each map's largest superpixel id + 1, summed (ids
    are 0..n-1; what ``score`` drops, such as regions of void alone, only lowers the real count)."""
    total = 0
    for image_id in ws.catalogue.image_ids(split):
        sp = ws.superpixels.read_superpixels(superpixel_set, image_id)
        total += int(sp.max()) + 1 if sp.size else 0
    return total


def asked_in_split(ws: Workspace, superpixel_set: str, split: str) -> int:
    """How many regions of ``superpixel_set`` in ``split`` earlier rounds asked (never asked again with
    ``skip_asked``): a second run in the workspace, or rounds of ``alc-data score``."""
    images = set(ws.catalogue.image_ids(split))
    return sum(1 for image_id, _ in ws.ledger.asked(superpixel_set) if image_id in images)


def check_budgets(ws: Workspace, loop: LoopSettings, superpixel_set: str) -> None:
    """InvalidInput when a round's budget (with ``skip_asked``, the budgets of the rounds so far
    together, and the regions earlier rounds asked) exceeds the candidates of the loop's split, before
    anything is trained."""
    bound = candidate_bound(ws, superpixel_set, loop.split)
    before = asked_in_split(ws, superpixel_set, loop.split) if loop.skip_asked else 0
    left = f"{bound - before:,} candidates left to ask" if before else f"{bound:,} candidates"
    asked_note = f" ({before:,} of its {bound:,} were asked in earlier rounds)" if before else ""
    asked = 0
    for t in range(1, loop.rounds + 1):
        budget = loop.budget_of(t)
        asked = asked + budget if loop.skip_asked else budget
        if asked > bound - before:
            so_far = f"rounds 1-{t} ask {asked:,} queries together" if loop.skip_asked and t > 1 else f"round {t} asks {budget:,} queries"
            raise InvalidInput(f"loop.budget = {loop.budget!r}: {so_far}, but superpixel set {superpixel_set!r} has at most "
                               f"{left} in split {loop.split!r}{asked_note}; lower loop.budget or loop.rounds "
                               "(nothing was trained)")
