"""The errors stage: model → probabilities (streamed) → label-error suspects → table, report, metrics, queries.

``alc-data errors`` answers "where are my label errors?" without running the correction loop: it ranks
every region by the default error score of :mod:`alc_data.scoring.suspects`, writes the suspects table
and the per-image table (:mod:`alc_data.suspects.collect`), measures the ranking against reference
ground truth when the workspace has it (:mod:`alc_data.suspects.metrics`), draws the top suspects
(``report``) and, only with ``queries``, registers the top suspects as a round of correction queries
that ``alc-data annotate`` or Label Studio serve. Memory: one batch of probabilities plus one small
record per region, as the score stage.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from alc_data.engine import Engine, check_engine, check_ray_options
from alc_data.engine.ray_errors import error_shards_ray
from alc_data.errors import InvalidInput
from alc_data.io.outputs import writable_place
from alc_data.predictions import checked_probabilities, scan_prediction_folder
from alc_data.progress import track
from alc_data.results import JsonResult
from alc_data.scoring.error_shards import ErrorSetup, error_stream, write_error_shards
from alc_data.scoring.shards import Shard, ordered_shards
from alc_data.scoring.stream import probability_stream
from alc_data.scoring.suspects import DEFAULT_ERROR_SCORE, class_thresholds
from alc_data.stages.common import check_source_paths, probability_source, set_field
from alc_data.stages.score import refuse_stale, refuse_unapplied
from alc_data.suspects.collect import commit_tables, discard_tables, first_pass, images_path, metrics_of, write_tables
from alc_data.suspects.handoff import register_queries, top_rows
from alc_data.suspects.metrics import DetectionMetrics
from alc_data.workspace import Workspace

Pairs = Iterable[tuple[str, Any]]

CALIBRATION_IMAGES = 1000
"""Images whose probabilities set the class thresholds (the first of the split, in id order)."""


@dataclass(frozen=True)
class ErrorsOptions:
    """One search for label errors. The probabilities come from exactly one of ``checkpoint``,
    ``predictions`` (``logits``: the files hold logits) or ``probabilities`` ((image_id, probs) pairs
    of ``split``). ``top``: suspects drawn in the report and listed; ``queries``: register that many top
    suspects as a round (None: no round); ``out``: the suspects table (default
    ``<workspace>/errors/errors.parquet``)."""

    checkpoint: Path | None = None
    predictions: Path | None = None
    logits: bool = False
    superpixel_set: str | None = None
    label_version: str | None = None
    probabilities: Pairs | None = field(default=None, compare=False, repr=False)
    split: str = "train"
    top: int = 20
    report: Path | None = None
    out: Path | None = None
    queries: int | None = None
    skip_asked: bool = True
    batch_size: int = 4
    device: str | None = None
    engine: Engine | str = Engine.LOCAL
    ray_address: str | None = None
    concurrency: int | None = None

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.checkpoint, self.probabilities, self.predictions)) != 1:
            raise InvalidInput("give --model CHECKPOINT or --predictions DIR (one of the two)")
        if self.logits and self.predictions is None:
            raise InvalidInput("--logits describes --predictions files; --model checkpoints need no flag")
        if self.top < 1:
            raise InvalidInput(f"--top {self.top} must be a positive number of suspects to show")
        if self.queries is not None and self.queries < 1:
            raise InvalidInput(f"--queries {self.queries} must be a positive number of queries")
        if self.batch_size < 1:
            raise InvalidInput(f"--batch-size {self.batch_size} must be at least 1")
        check_engine(self.engine)
        set_field(self, "engine", Engine(self.engine))
        check_ray_options(self.engine, self.ray_address)
        if self.engine is Engine.RAY and self.probabilities is not None:
            raise InvalidInput("--engine ray reads a model checkpoint or a --predictions folder, not probabilities "
                               "from this process")
        for name, suffix in (("out", ".parquet"), ("report", ".html")):
            path = getattr(self, name)
            if path is not None:
                _check_output(Path(path), f"--{name}", suffix)
                set_field(self, name, Path(path))
        check_source_paths(self)

    def source(self) -> dict[str, Any]:
        """Where the probabilities come from (given to Ray actors, stored with a round)."""
        return probability_source(self.checkpoint, self.predictions, self.logits)


def _check_output(path: Path, option: str, suffix: str) -> None:
    if path.suffix.lower() != suffix:
        raise InvalidInput(f"{option} {path}: name a {suffix} file")
    if path.is_dir():
        raise InvalidInput(f"{option} {path} is a folder; name a {suffix} file")


def _writable(ws: Workspace, path: Path, option: str) -> Path:
    """``path`` once it is known to be writable; inside the workspace only its ``errors/`` folder takes
    outputs (anywhere else they would replace the workspace's own files)."""
    root, target = ws.root.resolve(), path.resolve()
    if (target == root or root in target.parents) and root / "errors" not in target.parents:
        raise InvalidInput(f"{option} {path}: is inside the workspace {root}, where only its errors/ folder takes "
                           "outputs; write it there or outside the workspace")
    return writable_place(path, option)


@dataclass(frozen=True)
class ErrorsResult(JsonResult):
    """What :func:`find_errors` found: the regions judged, the suspects, where the tables and the report
    are, the round registered (or None) and its queries, the top suspects and, with reference ground truth, the
    metrics of the default score (``metrics``) and the image-level figures of each image score."""

    label_version: str
    superpixel_set: str
    score: str
    images: int
    regions: int
    suspects: int
    table: Path
    images_table: Path
    report: Path | None
    round: int | None
    queries: int
    top: list[dict[str, Any]]
    metrics: DetectionMetrics | None
    image_metrics: dict[str, Any]


def _stream(ws: Workspace, options: ErrorsOptions, image_ids: list[str]) -> Iterator[tuple[str, Any]]:
    if options.probabilities is not None:
        return checked_probabilities(ws, options.probabilities, image_ids)
    return probability_stream(ws, options.source(), image_ids, batch_size=options.batch_size, device=options.device)


def _shards(ws: Workspace, options: ErrorsOptions, setup: ErrorSetup, image_ids: list[str], staging: Path) -> list[Shard]:
    if options.engine is Engine.RAY:
        if options.predictions is not None:  # every header checked before Ray starts
            scan_prediction_folder(ws, options.predictions, image_ids)
        return error_shards_ray(ws, image_ids, staging, source=options.source(), setup=setup,
                                address=options.ray_address, concurrency=options.concurrency,
                                batch_size=options.batch_size, device=options.device)
    stream = track(_stream(ws, options, image_ids), "find label errors", total=len(image_ids))
    return write_error_shards(staging, error_stream(ws, stream, setup))


def _calibrate(ws: Workspace, options: ErrorsOptions, version: str, image_ids: list[str]) -> tuple[float, ...] | None:
    """The class thresholds from the first :data:`CALIBRATION_IMAGES` images (all of a smaller split): a
    first pass over their probabilities. None for ``probabilities`` given as an iterable (read once):
    each image then uses its own."""
    if options.probabilities is not None:
        return None
    sample = image_ids[:CALIBRATION_IMAGES]
    stream = track(_stream(ws, options, sample), "calibrate", total=len(sample))
    pairs = ((probs, ws.labels.read_label(version, image_id)) for image_id, probs in stream)
    return tuple(class_thresholds(pairs, ws.catalogue.num_classes).tolist())


def find_errors(ws: Workspace, options: ErrorsOptions) -> ErrorsResult:
    """Rank the regions of ``options.split`` by how likely their label is wrong (see the module docstring)."""
    version = ws.labels.version(options.label_version).name
    sp_set = ws.superpixels.superpixel_set(options.superpixel_set).name
    image_ids = ws.catalogue.image_ids(options.split)
    if not image_ids:
        raise InvalidInput(f"split {options.split!r} has no images")
    if options.queries:
        refuse_stale(ws, version)
        refuse_unapplied(ws)
    if options.report is not None:
        _writable(ws, options.report, "--report")
    out = _writable(ws, options.out or ws.root / "errors" / "errors.parquet", "--out")
    setup = ErrorSetup(version=version, superpixel_set=sp_set, with_truth=ws.catalogue.has_gt(),
                       thresholds=_calibrate(ws, options, version, image_ids))
    staging = out.parent / f".errors.{os.getpid()}.shards.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        shards = ordered_shards(_shards(ws, options, setup, image_ids, staging), len(image_ids))
        collected = first_pass(shards)
        asked = len(ws.ledger.asked(sp_set)) if options.queries and options.skip_asked else 0
        keep = max(options.top, (options.queries or 0) + asked)
        suspects, best = write_tables(shards, collected, out, ws.catalogue.class_names, keep)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    round_no, asked_now = None, 0
    try:  # the tables are staged: a failure below leaves the last run's tables (and registers nothing)
        metrics, image_metrics, curve = metrics_of(collected)
        if options.report is not None:  # before the round: a failure here registers nothing
            from alc_data.suspects.report import write_report

            write_report(ws, options.report, best, options.top, version=version, superpixel_set=sp_set,
                         transitions=collected.transitions, metrics=metrics, image_metrics=image_metrics, curve=curve)
        with ws.writing("errors"):
            if options.queries is not None:
                refuse_stale(ws, version)
                refuse_unapplied(ws)
                round_no = register_queries(ws, best, options.queries, version=version, superpixel_set=sp_set,
                                            params={**options.source(), "split": options.split,
                                                    "errors": DEFAULT_ERROR_SCORE}, skip_asked=options.skip_asked)
                asked_now = len(ws.ledger.queries(round_no))
            commit_tables(out)
    except BaseException:
        discard_tables(out)
        raise
    return ErrorsResult(
        label_version=version, superpixel_set=sp_set, score=DEFAULT_ERROR_SCORE, images=len(image_ids),
        regions=sum(s.rows for s in shards), suspects=suspects, table=out, images_table=images_path(out),
        report=options.report, round=round_no, queries=asked_now, top=top_rows(best, options.top), metrics=metrics,
        image_metrics=image_metrics,
    )
