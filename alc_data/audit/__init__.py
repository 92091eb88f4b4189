"""Audit label changes: diff two label versions or folders, draw the changes, write an HTML report."""

from alc_data.audit.diff import ImageChange, LabelDiff, diff_labels
from alc_data.audit.ledger_links import lineage
from alc_data.audit.pictures import diff_pictures, render_comparison, write_pictures
from alc_data.audit.regions import Region
from alc_data.audit.report import render_report, write_report
from alc_data.audit.sources import LabelSource, open_source, read_class_file

__all__ = [
    "ImageChange",
    "LabelDiff",
    "LabelSource",
    "Region",
    "diff_labels",
    "diff_pictures",
    "lineage",
    "open_source",
    "read_class_file",
    "render_comparison",
    "render_report",
    "write_pictures",
    "write_report",
]
