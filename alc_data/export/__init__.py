"""``alc-data export --format``: a label version written back in a dataset's own layout.

Each writer registers itself beside its format's reader (``FORMATS.register_export``), so one registry
(:data:`alc_data.ingest.FORMATS`) holds both directions; :func:`load_exporters` imports them all.
"""

from alc_data.export.base import ExportChoice, ExportJob


def load_exporters() -> None:
    """Import every built-in writer (and reader) so it registers itself in ``FORMATS``."""
    import importlib

    from alc_data.ingest import load_formats

    load_formats()
    for module in BUILTIN_EXPORT_MODULES:
        importlib.import_module(module)


#: the modules whose import registers a built-in writer; a missing one is an import error
BUILTIN_EXPORT_MODULES = (
    "alc_data.export.folder",
    "alc_data.export.voc",
    "alc_data.export.cityscapes",
    "alc_data.export.coco",
    "alc_data.export.fiftyone",
    "alc_data.export.hf",
)

__all__ = ["BUILTIN_EXPORT_MODULES", "ExportChoice", "ExportJob", "load_exporters"]
