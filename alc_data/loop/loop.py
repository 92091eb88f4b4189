"""The correction loop (``alc-data run RECIPE``): rounds of train → score → query → answer → expand → eval.

Every step records its outcome in ``runs/<name>/state.json`` (written atomically) and in the ledger,
so an interrupted run resumes at the step where it stopped: finished rounds are not repeated, answers
in the ledger are not asked again, and an interrupted training resumes from its last checkpoint.

The run directory also holds the resolved recipe (``recipe.json``), the package version and the git
revision (``run.json``), one model folder per round, the round table (``rounds.json``) and the plot
(``miou.png``).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Sequence

from alc_data.loop.budget import check_budgets
from alc_data.hints import command
from alc_data.errors import Conflict, InvalidInput, NotFound
from alc_data.loop.config import AnswerSource, Recipe
from alc_data.loop.inputs import (check_answers_option, check_recipe_inputs, model_split_note, split_gt, table_facts,
                                  workspace_facts)
from alc_data.loop.table import RoundRow, RunTable, plot_runs
from alc_data.loop.run_files import RunPaths, git_revision, read_json, run_folder_name, write_json
from alc_data.loop.tables import differences
from alc_data.correction.propagate import propagated_already, round_output
from alc_data.stages.correct import CorrectOptions, correct
from alc_data.stages.score import score
from alc_data.workspace import Workspace
from alc_data.workspace.ledger import AnswerStatus


def as_recipe(recipe: Recipe | dict[str, Any]) -> Recipe:
    """A checked :class:`Recipe` from a recipe dict (a loaded recipe with its overrides), or the recipe itself."""
    return recipe if isinstance(recipe, Recipe) else Recipe.from_dict(recipe)


def prepare_workspace(workspace: str | os.PathLike, recipe: Recipe | dict[str, Any]) -> Workspace:
    """Open the workspace, or create it from the recipe's [data] table when it does not exist (after
    checking the recipe against what the table tells of the data: nothing is ingested for a recipe
    the data cannot run)."""
    if Workspace.exists_at(Path(workspace)):
        return Workspace.open(workspace)
    checked = as_recipe(recipe)
    check_recipe_inputs(checked, table_facts(checked), written="nothing was written")
    return checked.data.create_workspace(Path(workspace))


def prepare_inputs(ws: Workspace, recipe: Recipe) -> str:
    """Pseudo labels and the superpixel set the recipe asks for; returns the superpixel set name."""
    pl = recipe.pseudo_label
    if pl.enabled and pl.version not in {v.name for v in ws.labels.label_versions()}:
        from alc_data.pseudo_label import run_pseudo_label

        run_pseudo_label(ws, **pl.arguments(), **recipe.engine.options())
    sp = recipe.superpixels
    if sp.name not in {s.name for s in ws.superpixels.superpixel_sets()}:
        if not sp.method:
            raise NotFound(
                f"superpixel set {sp.name!r} is not in the workspace; set [superpixels] method = 'seeds' (or sam, gsam, ...)"
            )
        from alc_data.superpixels import compute_superpixel_set

        compute_superpixel_set(ws, sp.method, name=sp.name, params=sp.params, **recipe.engine.options())
    return sp.name


class Loop:
    """One run of the correction loop over a workspace; see the module docstring."""

    def __init__(
        self, ws: Workspace, recipe: Recipe | dict[str, Any], *, name: str | None = None, log: Callable[[str], None] = print,
        rerun: Sequence[str] | None = None,
    ):
        """``rerun``: the ``alc-data run`` arguments that resume this run, for the commands it prints
        (:func:`~alc_data.loop.inputs.rerun_arguments`; default: the recipe's name, the workspace, the
        run's name and answer source)."""
        self.ws = ws
        self.recipe = as_recipe(recipe)
        self.name = self.recipe.name if name is None else run_folder_name(name)
        self.rerun = list(rerun) if rerun is not None else [
            self.recipe.name, "-w", str(ws.root), *(("--name", self.name) if self.name != self.recipe.name else ()),
            "--answers-from", str(self.recipe.loop.answers_from)]
        self.paths = RunPaths(ws.runs_dir() / self.name)
        self.log = log
        self.state: dict[str, Any] = read_json(self.paths.state, {"rounds": {}, "start_version": None})

    # ---------------------------------------------------------------- bookkeeping
    def _save(self) -> None:
        write_json(self.paths.state, self.state)

    def _round_state(self, t: int) -> dict[str, Any]:
        return self.state["rounds"].setdefault(str(t), {})

    def _check_same_recipe(self) -> Path:
        """Conflict when the run exists with another recipe; returns the path of its ``recipe.json``."""
        recipe_path = self.paths.root / "recipe.json"
        saved = Recipe.from_saved(json.loads(recipe_path.read_text())) if recipe_path.exists() else self.recipe
        if saved != self.recipe:
            plain = lambda r: json.loads(json.dumps(r.to_dict(), default=str))  # noqa: E731 - enums as their text
            changed = "; ".join(differences(plain(saved), plain(self.recipe))) or "the recipe differs"
            raise Conflict(f"run {self.name!r} exists with a different recipe ({changed}; saved in {recipe_path}); "
                           "resume it with the same recipe, or pass --name NEW for a new run")
        return recipe_path

    def _write_run_info(self) -> None:
        from alc_data import __version__

        recipe_path = self._check_same_recipe()
        write_json(recipe_path, self.recipe.to_dict())
        write_json(self.paths.root / "run.json", {"alc_data_version": __version__, "git_revision": git_revision(), "workspace": str(self.ws.root)})

    # ---------------------------------------------------------------- steps
    def _train(self, t: int, version: str) -> Path:
        from alc_data.train import train_model

        rs = self._round_state(t)
        if rs.get("checkpoint") and Path(rs["checkpoint"]).is_file():
            return Path(rs["checkpoint"])
        loop = self.recipe.loop
        if t == 1 and loop.init_model:
            ckpt = Path(loop.init_model)
            if not ckpt.is_file():
                raise NotFound(f"loop.init_model {ckpt} not found; train one with `alc-data train` or remove the key")
        else:
            cfg = self.recipe.train.config
            init = None
            if self.recipe.train.warm_start and t > 1:
                init = Path(self._round_state(t - 1)["checkpoint"])
            self.log(f"round {t}: training {cfg.model} on labels {version}")
            result = train_model(self.ws, version=version, split=loop.split, config=cfg,
                                 run_dir=self.paths.model_dir(t), resume=True, init_checkpoint=init)
            ckpt = Path(result.checkpoint)
        rs["checkpoint"] = str(ckpt)
        rs["trained_on"] = version
        self._save()
        return ckpt

    def _ledger_round(self, t: int) -> int | None:
        for r in self.ws.ledger.rounds():
            if r.params.get("run") == self.name and r.params.get("loop_round") == t:
                return r.round
        return None

    def _score(self, t: int, ckpt: Path, version: str, sp_set: str) -> int:
        rnd = self._ledger_round(t)
        if rnd is None:
            loop = self.recipe.loop
            self.log(f"round {t}: scoring with {loop.acquisition}, budget {loop.budget_of(t)}")
            options = loop.score_options(t, checkpoint=ckpt, label_version=version, superpixel_set=sp_set,
                                         engine=self.recipe.engine, run=self.name)
            rnd = score(self.ws, options).round
        self._round_state(t)["ledger_round"] = rnd
        self._save()
        return rnd

    def _wait(self, rs: dict[str, Any], message: str) -> None:
        rs["waiting"] = message
        self._save()

    def _record_file(self, t: int, rnd: int, path: Path) -> int:
        """Record the answers of a CSV (or Label Studio JSON) file for ledger round ``rnd`` (the run's
        round ``t``), checked as a whole as ``correct --answers`` does (empty rows are left for later);
        returns how many were new."""
        from alc_data.answers.files import read_answers_file
        from alc_data.names import current_user

        queries = self.paths.root / f"round-{t:02d}" / "queries.csv"
        waiting = f"this run waits for the answers of round {rnd}" + (f" (its queries: {queries})" if queries.exists() else "")
        answers, source = read_answers_file(self.ws, path, round_no=rnd, other_round=waiting)
        inserted, _ = self.ws.ledger.record_answers(rnd, answers, source=source,
                                                    annotator=current_user())
        return inserted

    def _answers_complete(self, t: int, rnd: int, answers_file: Path | None) -> bool:
        """With people answering (csv, annotate): record ``answers_file``, then whether every query of the
        round is answered; when not, ``rs["waiting"]`` says how many are missing and what to run."""
        from alc_data.queries import export_queries_csv

        rs = self._round_state(t)
        recorded = None if answers_file is None else self._record_file(t, rnd, answers_file)
        progress = self.ws.ledger.round_progress(rnd)
        if progress.answered >= progress.total:
            return True
        missing = progress.total - progress.answered
        status = f"round {t}: {progress.answered} of {progress.total} queries answered"
        if self.recipe.loop.answers_from is AnswerSource.ANNOTATE:
            self._wait(rs, f"{status}; answer them with `{command('annotate', '-w', self.ws.root, '--round', rnd)}`, "
                           f"then run `{command('run', *self.rerun)}` again to continue")
            return False
        path = self.paths.root / f"round-{t:02d}" / "queries.csv"
        if not path.exists():  # never over a file people may be filling in
            export_queries_csv(self.ws, path, round_no=rnd, inside_workspace=True)
        rs["queries_csv"] = str(path)
        if recorded is not None:
            status += (f" ({recorded} recorded now from {answers_file}; {missing} row{'s' if missing != 1 else ''} "
                       "still empty)")
        self._wait(rs, f"{status}; the queries are in {path}: fill the answer column and run "
                       f"`{command('run', *self.rerun, '--answers', 'FILE.csv')}` to continue")
        return False

    def _answer_and_apply(self, t: int, rnd: int, answers_file: Path | None) -> str | None:
        """Record the answers and write the round's version; None when waiting for people (a CSV, or
        answers in the browser: then ``rs["waiting"]`` says what to run). The round is done only when
        every query is answered."""
        from alc_data.correction.apply import pending_answers

        rs = self._round_state(t)
        loop = self.recipe.loop
        if loop.answers_from is not AnswerSource.ORACLE and not self._answers_complete(t, rnd, answers_file):
            return None
        out = self.ws.ledger.round(rnd).output_version
        if out and not pending_answers(self.ws, rnd) and (not loop.propagate or propagated_already(self.ws, rnd)):
            rs["version"] = round_output(self.ws, rnd) or out
            self._save()
            return rs["version"]
        # the oracle answers now; people's answers are in the ledger already
        result = correct(self.ws, loop.correct_options(rnd, checkpoint=rs.get("checkpoint"), loop_round=t))
        if result.propagated is not None:  # recorded even when nothing passed (no version says the threshold then)
            rs["propagate_threshold"] = result.propagated.threshold
        version = round_output(self.ws, rnd)
        if version is None:  # every answer accepted and nothing pending: labels unchanged
            version = self.ws.labels.version().name
        rs["version"] = version
        self._save()
        return version

    def _evaluate(self, key: str, version: str, ckpt: Path | None) -> dict[str, Any]:
        from alc_data.evaluate import data_miou, model_miou

        ev = self.state.setdefault("eval", {}).setdefault(key, {})
        gt = split_gt(self.ws)
        if "data_miou" not in ev and gt.get(self.recipe.loop.split, (0, 0))[0]:
            ev["data_miou"] = data_miou(self.ws, version, split=self.recipe.loop.split).miou
        split = self.recipe.eval.model_split
        if ckpt is not None and "model_miou" not in ev and gt.get(split, (0, 0))[0]:
            ev["model_miou"] = model_miou(self.ws, ckpt, split=split).miou
        self._save()
        return ev

    # ---------------------------------------------------------------- the loop
    def run(self, *, answers_file: Path | None = None) -> RunTable:
        """Run (or resume) every round; returns the round table. Stops early when waiting for answers.

        Holds the workspace's write lock for the whole run. The recipe is checked against the workspace
        (and ``answers_file`` against the run) before the run writes anything."""
        check_answers_option(self.recipe, answers_file)
        with self.ws.writing(f"run {self.name}"):
            check_recipe_inputs(self.recipe, workspace_facts(self.ws, self.recipe),
                                written=f"nothing of run {self.name!r} was written; fix it and run again")
            if answers_file is not None:
                self._check_answers_round(Path(answers_file))
            note = model_split_note(self.recipe, self.ws)
            if note:
                self.log(note)
            return self._run(answers_file=None if answers_file is None else Path(answers_file))

    def _check_answers_round(self, path: Path) -> None:
        """InvalidInput when no round of the run waits for answers, so ``path`` would not be read."""
        t = self._first_open_round()
        if t == 0:
            raise InvalidInput(f"--answers {path}: every round of run {self.name!r} is done (its answers are applied); "
                               f"nothing was recorded from {path.name}; run without --answers to see the table, or "
                               "pass --name NEW for a new run")
        if self._ledger_round(t) is None:
            raise InvalidInput(f"--answers {path}: round {t} of run {self.name!r} has no queries yet; nothing "
                               "was recorded; run without --answers to write them")

    def _run(self, *, answers_file: Path | None) -> RunTable:
        self._check_same_recipe()
        if not self.state["rounds"]:
            self._refuse_lost_state()
        sp_set = prepare_inputs(self.ws, self.recipe)
        if not self.state["rounds"]:  # a new run: its budgets fit the candidates before anything is trained
            check_budgets(self.ws, self.recipe.loop, sp_set)
        self._write_run_info()  # only now: a run refused by these checks leaves no run folder behind
        if self.state.get("start_version") is None:
            self.state["start_version"] = self.ws.labels.version().name
            self._save()
        loop = self.recipe.loop
        version = self.state["start_version"]
        for t in range(1, loop.rounds + 1):
            rs = self._round_state(t)
            if rs.get("done"):
                version = rs["version"]
                continue
            ckpt = self._train(t, version)
            self._evaluate(str(t - 1), version, ckpt)
            rnd = self._score(t, ckpt, version, sp_set)
            new_version = self._answer_and_apply(t, rnd, answers_file if t == self._first_open_round() else None)
            if new_version is None:
                self.log(rs["waiting"])
                return self.table(waiting=rs)
            answers_file = None
            version = new_version
            rs["done"] = True
            self._save()
        final_ckpt = None
        if loop.final_train:
            final_ckpt = self._train(loop.rounds + 1, version)
        self._evaluate(str(loop.rounds), version, final_ckpt)
        table = self.table()
        self.plot(table)
        return table

    def _refuse_lost_state(self) -> None:
        """Conflict when the ledger holds rounds of this run but its state is gone (the run folder deleted):
        resuming would train round 1 on the latest labels and report the old rounds as its own."""
        mine = sorted(r.params.get("loop_round", 0) for r in self.ws.ledger.rounds() if r.params.get("run") == self.name)
        if mine:
            which = f"round {mine[0]}" if len(mine) == 1 else f"rounds {', '.join(map(str, mine))}"
            raise Conflict(f"the ledger holds {which} of run {self.name!r}, but its state ({self.paths.state}) is "
                           "missing (was the run folder deleted?), so it cannot resume; pass --name NEW for a new run "
                           "from the latest labels")

    def _first_open_round(self) -> int:
        for t in range(1, self.recipe.loop.rounds + 1):
            if not self.state["rounds"].get(str(t), {}).get("done"):
                return t
        return 0

    def table(self, *, waiting: dict[str, Any] | None = None) -> RunTable:
        """Per-round rows: clicks (cumulative), accepted, corrected, estimated time, data and model mIoU;
        with ``waiting``, the state of the round that waits for people."""
        from alc_data.constants import SECONDS_PER_CLASSIFICATION_QUERY, SECONDS_PER_CORRECTION_QUERY

        rows = []
        clicks = accepted = corrected = relabelled = 0
        evals = self.state.get("eval", {})
        by_round = Counter(p.round for p in self.ws.ledger.propagations()) if self.recipe.loop.propagate else Counter()
        for t in range(0, self.recipe.loop.rounds + 1):
            if t > 0:
                rnd = self._round_state(t).get("ledger_round")
                if rnd is None or not self._round_state(t).get("done"):
                    break
                counts = self.ws.ledger.status_counts(rnd)
                clicks += sum(counts.values())
                accepted += counts.get(AnswerStatus.ACCEPTED, 0)
                corrected += counts.get(AnswerStatus.CORRECTED, 0)
                relabelled += by_round[rnd]
            ev = evals.get(str(t), {})
            measured = self.ws.ledger.round_progress(rnd).median_seconds if t > 0 and rnd is not None else None
            rows.append(RoundRow(
                round=t,
                label_version=self.state["start_version"] if t == 0 else self._round_state(t)["version"],
                clicks=clicks,
                accepted=accepted,
                corrected=corrected,
                minutes_correction_queries=round(clicks * SECONDS_PER_CORRECTION_QUERY / 60, 2),
                minutes_classification_queries=round(clicks * SECONDS_PER_CLASSIFICATION_QUERY / 60, 2),
                measured_median_seconds=measured,
                data_miou=ev.get("data_miou"),
                model_miou=ev.get("model_miou"),
                relabelled=relabelled,
                propagate_threshold=self._round_state(t).get("propagate_threshold") if t > 0 else None,
            ))
        out = RunTable(run=self.name, acquisition=str(self.recipe.loop.acquisition), waiting_for_answers=waiting is not None,
                       run_dir=str(self.paths.root), rounds=tuple(rows), waiting=(waiting or {}).get("waiting"),
                       queries_csv=(waiting or {}).get("queries_csv"), balance=str(self.recipe.loop.balance),
                       propagate=self.recipe.loop.propagate)
        write_json(self.paths.root / "rounds.json", out.to_dict())
        return out

    def plot(self, table: RunTable) -> Path:
        """PNG of data and model mIoU against clicks."""
        return plot_runs([table], self.paths.root / "miou.png")
