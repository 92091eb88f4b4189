"""The workspace: SQLite catalogue + ledger and the files of label versions and superpixel sets."""

from alc_data.workspace.workspace import (
    ClassInfo,
    LabelVersion,
    SuperpixelSet,
    Workspace,
    check_label_values,
    check_name,
    now_iso,
    rgb,
    validate_classes,
)

__all__ = [
    "ClassInfo",
    "LabelVersion",
    "SuperpixelSet",
    "Workspace",
    "check_label_values",
    "check_name",
    "now_iso",
    "rgb",
    "validate_classes",
]
