"""Per-image scoring of a probability stream, shared by the local engine and the Ray actors.

:func:`probability_stream` gives (image_id, probs) for some images from a checkpoint or a prediction
folder; :func:`score_stream` turns such a stream into one :class:`~alc_data.scoring.ScoreTable` per
image, reading the labels and superpixels from the workspace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

import numpy as np

from alc_data.predict import iter_probabilities
from alc_data.predictions import checked_probabilities, open_prediction_folder
from alc_data.scoring.acquisitions import AcquisitionName
from alc_data.scoring.pool import Representative
from alc_data.scoring.score import score_table

if TYPE_CHECKING:
    from alc_data.workspace import Workspace


@dataclass(frozen=True)
class ImageScoring:
    """What every image of a round is scored with: the label version and superpixel set (resolved
    names), the checked acquisition, the seed and the representative. Picklable (Ray actors get it)."""

    version: str
    superpixel_set: str
    acquisition: AcquisitionName
    seed: int
    representative: Representative
    #: ABC's weight per class (sim with --balance abc, a2lc), or (K, K) by current and predicted class (abc-pred)
    class_weights: tuple[Any, ...] | None = None


def probability_stream(
    ws: Workspace, source: dict[str, Any], image_ids: Sequence[str], *, batch_size: int = 4,
    device: str | None = None, model: Any = None,
) -> Iterator[tuple[str, Any]]:
    """(image_id, probs) for ``image_ids`` from a ``source`` dict: ``{"checkpoint": path}`` (or an
    already loaded ``model``) or ``{"predictions": folder, "logits": bool}``; checked against the
    workspace. Used by the local engine and by each Ray actor for its batch."""
    if "predictions" in source:
        files = open_prediction_folder(ws, source["predictions"], image_ids, logits=bool(source.get("logits")))
        return checked_probabilities(ws, files, image_ids)

    return iter_probabilities(ws, model if model is not None else source["checkpoint"], image_ids,
                              batch_size=batch_size, device=device)


def score_stream(ws: Workspace, stream: Iterable[tuple[str, Any]], scoring: ImageScoring) -> Iterator[Any]:
    """One :class:`~alc_data.scoring.ScoreTable` per (image_id, probs) of ``stream``, scored against
    the label version and superpixel set of ``scoring`` read from the workspace (the acquisition is
    not checked again: :class:`ImageScoring` holds a checked name)."""
    for image_id, probs in stream:
        labels = ws.labels.read_label(scoring.version, image_id)
        sp = ws.superpixels.read_superpixels(scoring.superpixel_set, image_id)
        weights = None if scoring.class_weights is None else np.asarray(scoring.class_weights, dtype=np.float64)
        yield score_table(probs, labels, sp, acquisition=scoring.acquisition, seed=scoring.seed, image_id=image_id,
                          representative=scoring.representative, class_weights=weights)
