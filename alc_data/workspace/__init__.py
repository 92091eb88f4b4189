"""The workspace: SQLite catalogue + ledger and the files of label versions and superpixel sets.

``Workspace`` opens four stores: ``ws.catalogue`` (:class:`Catalogue`), ``ws.labels``
(:class:`LabelStore`), ``ws.superpixels`` (:class:`SuperpixelStore`) and ``ws.ledger`` (:class:`Ledger`).
"""

from alc_data.workspace.catalogue import Catalogue, ClassInfo, ImageRecord, rgb, validate_classes
from alc_data.workspace.clock import now_iso
from alc_data.workspace.db import check_name
from alc_data.workspace.labels import LabelStore, LabelVersion, check_label_values
from alc_data.workspace.ledger import Ledger
from alc_data.workspace.superpixels import SuperpixelSet, SuperpixelStore
from alc_data.workspace.workspace import Workspace

__all__ = [
    "Catalogue",
    "ClassInfo",
    "ImageRecord",
    "LabelStore",
    "LabelVersion",
    "Ledger",
    "SuperpixelSet",
    "SuperpixelStore",
    "Workspace",
    "check_label_values",
    "check_name",
    "now_iso",
    "rgb",
    "validate_classes",
]
