"""Grounded-SAM pseudo labels for a workspace: GroundingDINO boxes → SAM masks → label maps.

For every image: the detector finds class boxes for the class prompts, SAM turns each box into a
mask, and :func:`~alc_data.foundation.paint.paint_masks` paints them (smallest on top) into a
semantic label map and an instance map. Results are staged per image in
``WORKSPACE/pseudo/<version>/<image_id>.npz`` so an interrupted run resumes where it stopped; at the
end the instance maps become a superpixel set (default ``gsam``) and the label maps a label version,
each written atomically, and the staging folder is removed.

The per-image step, :func:`~alc_data.foundation.grounded_sam.pseudo_label_images`, has no workspace
in it; ``engine="ray"`` spreads it over a Ray cluster (one model pair per actor,
:mod:`alc_data.engine.ray_pseudo_label`), whose actors write the same staged files, so a run
interrupted on one engine resumes on the other.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlreadyExists, InvalidInput, NotFound, WorkspaceDamaged
from alc_data.foundation.detector import class_prompts, is_background_name
from alc_data.foundation.grounded_sam import (
    BoxDetector,
    MaskPredictor,
    load_models,
    load_staged,
    pseudo_label_images,
    save_staged,
)
from alc_data.io.staging import check_resumable, record_settings, remove_stage, still_to_do
from alc_data.results import JsonResult

if TYPE_CHECKING:
    from alc_data.workspace import Workspace

BACKGROUND_MODES = ("auto", "background", "void")


def default_version_name(ws: Workspace) -> str:
    """``v0`` when the workspace has no v0 yet, else ``pseudo``; AlcError when both are taken."""
    names = {v.name for v in ws.labels.label_versions()}
    for cand in ("v0", "pseudo"):
        if cand not in names:
            return cand
    raise AlreadyExists("label versions v0 and pseudo exist already; pass --version NAME for the pseudo labels")


def refuse_taken_version(ws: Workspace, version: str) -> None:
    """AlreadyExists when label version ``version`` exists."""
    if any(v.name == version for v in ws.labels.label_versions()):
        raise AlreadyExists(f"label version {version!r} already exists; pass --version NAME to write the pseudo labels elsewhere")


def background_label(ws: Workspace, mode: str) -> tuple[str, int]:
    """(resolved mode, label value) for pixels no mask covers.

    ``background``: the index of the class named background (& co.); ``void``: IGNORE_INDEX;
    ``auto``: background when such a class exists, else void.
    """
    mode = (mode or "auto").lower()  # one of BACKGROUND_MODES: checked by the caller
    bg = [c.index for c in ws.catalogue.classes if is_background_name(c.name)]
    if mode == "auto":
        mode = "background" if bg else "void"
    if mode == "void":
        return mode, IGNORE_INDEX
    if not bg:
        raise InvalidInput("--background background: this dataset has no class named 'background'; use --background void")
    return mode, bg[0]


@dataclass(frozen=True)
class PseudoLabelResult(JsonResult):
    """What :func:`run_pseudo_label` wrote: the label ``version`` and the ``instances_set`` of instance
    maps; images computed now or ``resumed`` from an interrupted run; boxes (all, per class name);
    ``mask_coverage``: share of pixels some mask covers (0..1; the rest took ``background``); the
    time of this call and images per second (None when nothing was computed)."""

    version: str
    instances_set: str
    images: int
    computed: int
    resumed: int
    boxes: int
    boxes_per_class: dict[str, int]
    mask_coverage: float
    background: str
    seconds: float
    images_per_second: float | None


def check_pseudo_label_values(box_threshold: float, text_threshold: float | None, nms_iou: float, batch_size: int) -> None:
    """AlcError for a threshold outside 0..1 or a batch under 1."""
    for name, val in (("--box-threshold", box_threshold), ("--text-threshold", text_threshold), ("--nms-iou", nms_iou)):
        if val is not None and not (0.0 <= float(val) <= 1.0):
            raise InvalidInput(f"{name} {val}: must be between 0 and 1")
    if int(batch_size) < 1:
        raise InvalidInput(f"--batch-size {batch_size}: must be at least 1")


def run_pseudo_label(
    ws: Workspace,
    *,
    detector: str | os.PathLike | BoxDetector,
    sam: str | os.PathLike | MaskPredictor,
    version: str | None = None,
    box_threshold: float = 0.2,
    text_threshold: float | None = None,
    nms_iou: float = 0.5,
    prompts: Mapping[str, str] | None = None,
    background: str = "auto",
    batch_size: int = 4,
    device: str = "auto",
    amp: bool = True,
    sam_type: str | None = None,
    instances_set: str = "gsam",
    engine: str = "local",
    ray_address: str | None = None,
    concurrency: int | None = None,
) -> PseudoLabelResult:
    """Make Grounded-SAM pseudo labels for every image of ``ws`` and store them.

    ``detector``: a GroundingDINO folder (Hugging Face format) or a :class:`BoxDetector`;
    ``sam``: a SAM ``.pth`` / Hugging Face folder or a :class:`MaskPredictor`. ``version``: label
    version to write (default :func:`default_version_name`); ``prompts``: class name → phrase
    overrides (empty phrase = do not prompt that class); ``background``: auto | background | void
    (label of uncovered pixels); ``instances_set``: superpixel set for the instance maps.

    ``engine``: ``local`` (this process) or ``ray``: Ray Data actors on the cluster at ``ray_address``
    (default: a local instance), ``concurrency`` of them (default: one per GPU, else per CPU), each
    loading both models once (:mod:`alc_data.engine.ray_pseudo_label`); the results are the same.

    Re-running after an interruption skips the images already staged (the settings must match), on
    either engine. The library boundary: checks the values once, then runs :func:`make_pseudo_labels`
    (which the ``pseudo-label`` stage calls with checked options).
    Returns a :class:`PseudoLabelResult` (version, set, counts, boxes, coverage, timing).
    """
    from alc_data.engine import check_engine
    from alc_data.workspace import check_name

    check_pseudo_label_values(box_threshold, text_threshold, nms_iou, batch_size)
    if (background or "auto").lower() not in BACKGROUND_MODES:
        raise InvalidInput(f"--background {background!r}: use auto, background or void")
    check_engine(engine)
    if version is not None:
        check_name("label version", version)
    check_name("superpixel set", instances_set)
    return make_pseudo_labels(
        ws, detector=detector, sam=sam, version=version, box_threshold=box_threshold, text_threshold=text_threshold,
        nms_iou=nms_iou, prompts=prompts, background=background, batch_size=batch_size, device=device, amp=amp,
        sam_type=sam_type, instances_set=instances_set, engine=engine, ray_address=ray_address,
        concurrency=concurrency,
    )


def make_pseudo_labels(
    ws: Workspace,
    *,
    detector: str | os.PathLike | BoxDetector,
    sam: str | os.PathLike | MaskPredictor,
    version: str | None,
    box_threshold: float,
    text_threshold: float | None,
    nms_iou: float,
    prompts: Mapping[str, str] | None,
    background: str,
    batch_size: int,
    device: str,
    amp: bool,
    sam_type: str | None,
    instances_set: str,
    engine: str,
    ray_address: str | None,
    concurrency: int | None,
) -> PseudoLabelResult:
    """:func:`run_pseudo_label` with trusted (already checked) values."""
    from alc_data.workspace import check_name

    if version is None:
        version = default_version_name(ws)
        check_name("label version", version)
    refuse_taken_version(ws, version)
    old_set = next((s for s in ws.superpixels.superpixel_sets() if s.name == instances_set), None)
    if old_set is not None and old_set.params.get("label_version") != version:
        raise AlreadyExists(f"superpixel set {instances_set!r} already exists; pass --instances-set NAME")
    ws.superpixels.check_superpixel_target(instances_set, overwrite=old_set is not None)
    bg_mode, bg_value = background_label(ws, background)
    class_phrases = class_prompts(ws.catalogue.class_names, prompts)
    det, sam_given = _resolve_models(detector, sam)
    # what the results depend on: recorded in the version and checked on resume
    settings = _settings(det, sam_given, sam_type, box_threshold, text_threshold, nms_iou,
                         {ws.catalogue.class_names[i]: phrase for i, phrase in class_phrases}, bg_mode, bg_value)
    stage = ws.root / "pseudo" / version
    # one writer from the first staged file to the registration: a second run of the same version
    # waits (or, with --no-wait, is refused before any work) instead of racing on the staging folder
    with ws.writing("pseudo-label"):
        refuse_taken_version(ws, version)  # again: a run of the same version may have ended while this one waited
        staged_any = check_resumable(stage, settings, "pseudo labels")
        ids = ws.catalogue.image_ids()
        todo = still_to_do(stage, ids)
        seconds = 0.0
        if todo:
            models: dict[str, Any] = {"detector": det, "sam": sam_given, "device": device, "amp": amp, "sam_type": sam_type}
            if engine == "ray":  # a hub model goes to the actors pinned at the commit resolved here
                from alc_data.foundation.hub import pinned

                for key, given in (("detector", detector), ("sam", sam)):
                    if isinstance(given, (str, os.PathLike)):
                        models[key] = pinned(given, models[key])
            options: dict[str, Any] = {"prompts": class_phrases, "box_threshold": box_threshold,
                                       "text_threshold": text_threshold, "nms_iou": nms_iou, "background": bg_value}
            seconds = _stage_images(ws, todo, stage, version, models, options, int(batch_size), engine,
                                    ray_address, concurrency, record=None if staged_any else settings)
        params = {**settings, "instances_set": instances_set, "device": device, "amp": bool(amp), "batch_size": int(batch_size)}
        counts = _register(ws, stage, ids, version, instances_set, params, overwrite=old_set is not None)
        remove_stage(stage, ws.root)
    boxes_per_class, boxes, covered, pixels = counts
    return PseudoLabelResult(
        version=version,
        instances_set=instances_set,
        images=len(ids),
        computed=len(todo),
        resumed=len(ids) - len(todo),
        boxes=boxes,
        boxes_per_class={ws.catalogue.class_names[i]: int(c) for i, c in enumerate(boxes_per_class) if c},
        mask_coverage=covered / pixels if pixels else 0.0,
        background=bg_mode,
        seconds=round(seconds, 3),
        images_per_second=round(len(todo) / seconds, 3) if todo and seconds > 0 else None,
    )


def _resolve_models(
    detector: str | os.PathLike | BoxDetector, sam: str | os.PathLike | MaskPredictor
) -> tuple[Path | BoxDetector, Path | MaskPredictor]:
    """A path or hub id becomes a local Path (loaded later) after a look at its files; a model object
    is used as given."""
    from alc_data.foundation.hub import local_or_hub

    det = local_or_hub(detector, what="GroundingDINO checkpoint") if isinstance(detector, (str, os.PathLike)) else detector
    sam_given = local_or_hub(sam, what="SAM checkpoint") if isinstance(sam, (str, os.PathLike)) else sam
    if isinstance(det, Path):
        from alc_data.foundation.common import check_hf_folder
        from alc_data.foundation.detector import DETECTOR_HINT

        check_hf_folder(det, ("grounding-dino",), "a GroundingDINO checkpoint", DETECTOR_HINT)
    if isinstance(sam_given, Path) and not sam_given.exists():
        from alc_data.foundation.common import SAM_HINT

        raise NotFound(f"{sam_given}: SAM checkpoint not found; expected {SAM_HINT}")
    return det, sam_given


def _settings(
    det: Path | BoxDetector, sam_given: Path | MaskPredictor, sam_type: str | None, box_threshold: float,
    text_threshold: float | None, nms_iou: float, prompts: dict[str, str], bg_mode: str, bg_value: int,
) -> dict[str, Any]:
    """What the pseudo labels depend on: recorded in the version and compared on a resume."""
    from alc_data.foundation.common import fingerprint_path

    return {
        "detector": fingerprint_path(det) if isinstance(det, Path) else det.describe(),
        "sam": fingerprint_path(sam_given) if isinstance(sam_given, Path) else sam_given.describe(),
        "sam_type": sam_type,
        "box_threshold": float(box_threshold),
        "text_threshold": None if text_threshold is None else float(text_threshold),
        "nms_iou": float(nms_iou),
        "prompts": prompts,
        "background": bg_mode,
        "background_label": int(bg_value),
    }


def _stage_images(
    ws: Workspace, todo: list[str], stage: Path, version: str, models: dict[str, Any], options: dict[str, Any],
    batch_size: int, engine: str, ray_address: str | None, concurrency: int | None, *, record: dict[str, Any] | None,
) -> float:
    """Pseudo-label the images ``todo`` into ``stage`` (recording ``record`` as its settings first when
    given); the seconds it took."""
    from alc_data.progress import track

    # the local engine loads (and so validates) both models before anything is written; Ray's actors
    # load them on their first batch and report a failure as the same one-line error
    loaded = load_models(**models) if engine == "local" else None
    if record is not None:
        record_settings(stage, record)
    t0 = time.perf_counter()
    try:
        if loaded is None:
            from alc_data.engine.ray_pseudo_label import pseudo_label_ray

            pseudo_label_ray(ws, todo, stage, models=models, options=options, batch_size=batch_size,
                             address=ray_address, concurrency=concurrency)
        else:
            batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
            for batch in track(batches, f"pseudo-label {version}", total=len(batches)):
                results = pseudo_label_images([ws.catalogue.load_image(i) for i in batch], *loaded, **options)
                for image_id, res in zip(batch, results):
                    save_staged(stage / f"{image_id}.npz", res)
    except BaseException:
        if not any(stage.glob("*.npz")):  # nothing to resume from: leave no folder behind
            remove_stage(stage, ws.root)
        raise
    return time.perf_counter() - t0


def _register(
    ws: Workspace, stage: Path, ids: list[str], version: str, instances_set: str, params: dict[str, Any],
    *, overwrite: bool,
) -> tuple[np.ndarray, int, int, int]:
    """The staged results become the superpixel set, then the label version; returns the boxes per
    class, all boxes, the pixels some mask covers and all pixels, counted on the way."""
    missing = still_to_do(stage, ids)
    if missing:  # another process removed them under us
        raise WorkspaceDamaged(f"{stage}: staged result of {missing[0]!r} vanished; re-run the same command")
    k = len(ws.catalogue.class_names)
    boxes_per_class = np.zeros(k, dtype=np.int64)
    totals = {"boxes": 0, "covered": 0, "pixels": 0}

    def instance_maps() -> Iterator[tuple[str, np.ndarray]]:
        for image_id in ids:
            res = load_staged(stage / f"{image_id}.npz")
            boxes_per_class[:] += np.bincount(res["classes"], minlength=k)[:k]
            totals["boxes"] += int(res["classes"].size)
            totals["covered"] += int((res["instances"] >= 0).sum())
            totals["pixels"] += int(res["instances"].size)
            yield image_id, res["instances"].astype(np.int32)

    def label_maps() -> Iterator[tuple[str, np.ndarray]]:
        for image_id in ids:
            yield image_id, load_staged(stage / f"{image_id}.npz")["labels"].astype(np.uint8)

    ws.superpixels.write_superpixel_set(
        instances_set, instance_maps(), method="gsam", params={"source": "pseudo-label", "label_version": version},
        overwrite=overwrite,
    )
    ws.labels.write_version(version, label_maps(), parent=None, kind="pseudo-label", params=params)
    return boxes_per_class, totals["boxes"], totals["covered"], totals["pixels"]
