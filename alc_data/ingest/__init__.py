"""Dataset readers (a registry of formats) and the ingest driver that builds a workspace."""

from alc_data.ingest.base import FORMATS, DatasetSource, IngestItem, ingest


def load_formats() -> None:
    """Import every built-in reader so it registers itself in :data:`FORMATS`."""
    import importlib

    for module in BUILTIN_FORMAT_MODULES:
        importlib.import_module(module)


#: the modules whose import registers a built-in format; a missing one is an import error, never a
#: silently missing format
BUILTIN_FORMAT_MODULES = (
    "alc_data.ingest.voc",
    "alc_data.ingest.cityscapes",
    "alc_data.ingest.coco",
    "alc_data.ingest.folder",
    "alc_data.ingest.hf",
    "alc_data.demo.workspace",
)


__all__ = ["FORMATS", "DatasetSource", "IngestItem", "ingest", "load_formats"]
