"""What ``alc-data run`` is given, checked against the data before work is done.

:class:`~alc_data.loop.config.Recipe` checks each value alone. Some values only make sense with the
data: the splits the loop trains on and evaluates, the superpixel set it scores, ground truth for the
oracle, the model it starts from, an answers file. :func:`check_recipe_inputs` checks them against
:class:`DataFacts`, read from the ``[data]`` table before a new workspace is ingested
(:func:`table_facts`, what the table tells; the rest is unknown until ingest) and from the workspace
itself before the run writes anything (:func:`workspace_facts`). Each problem is one
:class:`~alc_data.errors.InvalidInput` naming the key, the fix and what was (not) written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from alc_data.errors import InvalidInput

if TYPE_CHECKING:
    from alc_data.loop.config import Recipe
    from alc_data.workspace import Workspace

#: the default ``eval.model_split``: a workspace without it reports no model mIoU and says so
DEFAULT_MODEL_SPLIT = "val"


@dataclass(frozen=True)
class DataFacts:
    """What the loop needs of the data; None where it is unknown (until ingest).

    ``no_gt``: why no image has reference ground truth (None when some may have); ``gt``: split → (images
    with reference ground truth, images without)."""

    splits: frozenset[str] | None = None
    superpixel_sets: frozenset[str] | None = None
    no_gt: str | None = None
    gt: dict[str, tuple[int, int]] | None = None


def _will_compute(recipe: Recipe) -> frozenset[str]:
    """Superpixel sets the run makes itself: the pseudo labels' instance set."""
    pl = recipe.pseudo_label
    return frozenset({pl.instances_set}) if pl.enabled else frozenset()


def table_facts(recipe: Recipe) -> DataFacts:
    """What the workspace made from the recipe's ``[data]`` table will hold, as far as the table tells."""
    expected = recipe.data.expected()
    sets = None if expected.superpixel_sets is None else expected.superpixel_sets | _will_compute(recipe)
    return DataFacts(splits=expected.splits, superpixel_sets=sets, no_gt=expected.no_gt)


def split_gt(ws: Workspace) -> dict[str, tuple[int, int]]:
    """Split → (images with reference ground truth, images without)."""
    records = ws.catalogue.image_records()
    out = {}
    for split in ws.catalogue.splits():
        ids = ws.catalogue.image_ids(split)
        with_gt = sum(1 for i in ids if records[i].has_gt)
        out[split] = (with_gt, len(ids) - with_gt)
    return out


def workspace_facts(ws: Workspace, recipe: Recipe) -> DataFacts:
    """What the workspace holds (the sets the run computes itself included)."""
    return DataFacts(
        splits=frozenset(ws.catalogue.splits()),
        superpixel_sets=frozenset(s.name for s in ws.superpixels.superpixel_sets()) | _will_compute(recipe),
        gt=split_gt(ws),
    )


def _gt_gap(facts: DataFacts, split: str, *, every: bool) -> str | None:
    """Why split ``split`` lacks reference ground truth (``every``: on some image; else: on every image)."""
    if facts.no_gt:
        return facts.no_gt
    with_gt, without = (facts.gt or {}).get(split, (1, 0))
    if without and (every or not with_gt):
        return f"{without} of {with_gt + without} images of split {split!r} have no reference ground truth"
    return None


def check_recipe_inputs(recipe: Recipe, facts: DataFacts, *, written: str) -> None:
    """InvalidInput for the first recipe value the data will not have; ``written`` ends the message
    (what was and was not written: ``nothing was written``)."""
    problem = _first_problem(recipe, facts)
    if problem:
        raise InvalidInput(f"{problem} ({written})")


def _first_problem(recipe: Recipe, facts: DataFacts) -> str | None:
    from alc_data.loop.config import AnswerSource

    loop, splits = recipe.loop, facts.splits
    has = f"the data has split(s) {', '.join(sorted(splits)) or 'none'}" if splits is not None else ""
    if splits is not None and loop.split not in splits:
        return f"loop.split = {loop.split!r}: {has}; fix the recipe or --set loop.split=NAME"
    model_split = recipe.eval.model_split
    if splits is not None and model_split not in splits and model_split != DEFAULT_MODEL_SPLIT:
        return f"eval.model_split = {model_split!r}: {has}; fix the recipe or --set eval.model_split=NAME"
    sp = recipe.superpixels
    sets = facts.superpixel_sets
    if sets is not None and sp.method is None and sp.name not in sets:
        listed = ", ".join(sorted(sets)) or "none"
        return (f"superpixels.set = {sp.name!r} is not in the workspace (it has: {listed}) and [superpixels] has no "
                "method to compute it; --set superpixels.set=NAME of one it has, or add --set superpixels.method=seeds "
                "(or slic, sam, ...)")
    gap = _gt_gap(facts, loop.split, every=True)
    if loop.answers_from is AnswerSource.ORACLE and gap:
        return (f"loop.answers_from = 'oracle' answers from the reference ground truth, but {gap}; give "
                "[data] gt = FOLDER, or answer the queries yourself: --answers-from csv (or annotate)")
    gap = _gt_gap(facts, model_split, every=False)
    if model_split != DEFAULT_MODEL_SPLIT and gap and (splits is None or model_split in splits):
        return (f"eval.model_split = {model_split!r}: the model mIoU needs reference ground truth, but {gap}; "
                "--set eval.model_split=NAME of a split with ground truth")
    if loop.init_model and not Path(loop.init_model).is_file():
        return (f"loop.init_model = {loop.init_model!r}: no such checkpoint file; train one with `alc-data train` "
                "or remove the key")
    return None


def model_split_note(recipe: Recipe, ws: Workspace) -> str | None:
    """Why the model mIoU column stays empty (the default split is missing or has no ground truth), or None."""
    split = recipe.eval.model_split
    gt = split_gt(ws)
    if gt.get(split, (0, 0))[0]:
        return None
    why = f"no split {split!r}" if split not in gt else f"no reference ground truth in split {split!r}"
    usable = ", ".join(sorted(s for s, (n, _) in gt.items() if n)) or "none"
    return (f"model mIoU: the workspace has {why} (eval.model_split), so the model mIoU is not measured; "
            f"--set eval.model_split=NAME to measure it on a split with ground truth ({usable})")


def check_answers_option(recipe: Recipe, answers_file: str | os.PathLike | None) -> None:
    """``--answers FILE`` is read only with csv answers, and must exist (checked before anything is written)."""
    from alc_data.loop.config import AnswerSource

    if answers_file is None:
        return
    if recipe.loop.answers_from is not AnswerSource.CSV:
        raise InvalidInput(f"--answers {answers_file} is read only with --answers-from csv (loop.answers_from is "
                           f"{str(recipe.loop.answers_from)!r}); add --answers-from csv (nothing was written)")
    if not Path(answers_file).is_file():
        raise InvalidInput(f"--answers {answers_file}: no such file; pass the filled queries.csv of the round "
                           "(nothing was written)")


def rerun_arguments(recipe: str | os.PathLike, workspace: str | os.PathLike, *, overrides: Sequence[str] | None = None,
                    name: str | None = None, answers_from: str | None = None) -> list[str]:
    """The ``alc-data run`` arguments that resume a run as it was started (a recipe file by its absolute
    path, so the printed command works from any folder)."""
    path = Path(recipe)
    args = [str(path.resolve()) if path.is_file() else os.fspath(recipe), "-w", str(Path(workspace).resolve())]
    for item in overrides or ():
        args += ["--set", item]
    if name:
        args += ["--name", name]
    if answers_from:
        args += ["--answers-from", answers_from]
    return args
