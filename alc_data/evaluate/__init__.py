"""Evaluation: confusion matrices, data mIoU of a label version, model mIoU, per-class tables.

Percentages (``data_miou``, ``model_miou``, ``miou``, ``per_class``, ``pixel_accuracy``) are in
percent; ``coverage`` and ``skipped`` are fractions (0..1) of the pixels.
"""

from alc_data.evaluate.evaluate import MiouResult, data_miou, evaluate_labels_or_model, model_miou
from alc_data.evaluate.metrics import confusion_matrix, iou_per_class, scores
from alc_data.evaluate.tables import per_class_table, summary_line

__all__ = [
    "MiouResult",
    "confusion_matrix",
    "data_miou",
    "evaluate_labels_or_model",
    "iou_per_class",
    "model_miou",
    "per_class_table",
    "scores",
    "summary_line",
]
