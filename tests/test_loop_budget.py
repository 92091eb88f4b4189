"""A recipe budget larger than the candidates is refused as soon as the superpixels exist, before any
training (issue 21, item 11)."""

from __future__ import annotations

import pytest

from alc_data.errors import InvalidInput
from alc_data.loop import Loop
from alc_data.loop.budget import candidate_bound
from alc_data.loop.recipes import load_recipe


def _never_train(*args, **kwargs):
    raise AssertionError("training started before the budget was checked")


@pytest.mark.parametrize("budget, rounds, said", [(10**6, 1, "round 1 asks 1,000,000 queries"),
                                                  ([50, 10**6], 2, "rounds 1-2 ask 1,000,050 queries together")])
def test_a_budget_over_the_candidates_stops_before_training(demo_ws, monkeypatch, budget, rounds, said):
    import alc_data.train

    monkeypatch.setattr(alc_data.train, "train_model", _never_train)
    recipe = load_recipe("demo")
    recipe["loop"].update(budget=budget, rounds=rounds)
    bound = candidate_bound(demo_ws, "sam", "train")
    assert 0 < bound < 10**6
    with pytest.raises(InvalidInput, match=f"{said}, but superpixel set 'sam' has at most {bound:,} candidates"):
        Loop(demo_ws, recipe, log=lambda m: None).run()


def test_regions_asked_by_earlier_rounds_count_against_a_new_runs_budget(scored, monkeypatch):
    """A second run in a workspace (or a run after `alc-data score`) may not ask the regions asked before:
    its budget used to pass this check and fail only after training, naming score's --budget."""
    import alc_data.train

    ws, _ = scored  # round 1 asked 24 regions of set 'sam'
    monkeypatch.setattr(alc_data.train, "train_model", _never_train)
    bound = candidate_bound(ws, "sam", "train")
    recipe = load_recipe("demo")
    recipe["loop"].update(budget=bound - 23, rounds=1)
    with pytest.raises(InvalidInput, match=f"round 1 asks {bound - 23:,} queries, but superpixel set 'sam' has at most "
                                           f"{bound - 24:,} candidates left to ask in split 'train' \\(24 of "):
        Loop(ws, recipe, log=lambda m: None).run()
