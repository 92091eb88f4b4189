"""The published dataset's feature schemas (the ``default`` config and the ``corrections`` config)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import datasets


def default_features(class_names: list[str]) -> datasets.Features:
    """``datasets.Features`` of the default config."""
    import datasets

    list_type = getattr(datasets, "List", None) or datasets.Sequence
    return datasets.Features(
        {
            "image": datasets.Image(),
            "label": datasets.Image(),
            "label_original": datasets.Image(),
            "image_id": datasets.Value("string"),
            "classes_present": list_type(datasets.ClassLabel(names=list(class_names))),
        }
    )


CORRECTION_COLUMNS = {
    "correction_id": "int64",
    "query_id": "int64",
    "round": "int32",
    "label_version": "string",
    "image_id": "string",
    "superpixel_set": "string",
    "superpixel_id": "int64",
    "old_class": "int16",
    "old_class_name": "string",
    "new_class": "int16",
    "new_class_name": "string",
    "pixels": "int64",
    "status": "string",
    "source": "string",
    "annotator": "string",
    "answered_at": "string",
    "propagation_id": "int64",  # the columns below: automatic relabels (source "propagated") only, else null
    "confidence": "float64",
    "model": "string",
    "review": "string",  # accepted | rejected | null (not reviewed)
}


def correction_features() -> datasets.Features:
    import datasets

    return datasets.Features({k: datasets.Value(v) for k, v in CORRECTION_COLUMNS.items()})
