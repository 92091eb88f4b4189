"""Dataset readers (a registry of formats) and the ingest driver that builds a workspace."""

from alc_data.ingest.base import FORMATS, DatasetSource, IngestItem, ingest


def load_formats() -> None:
    """Import every built-in reader so it registers itself in :data:`FORMATS`."""
    import importlib

    for name in ("voc", "cityscapes", "coco", "folder", "hf", "demo"):
        try:
            importlib.import_module(f"alc_data.ingest.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"alc_data.ingest.{name}":
                raise


__all__ = ["FORMATS", "DatasetSource", "IngestItem", "ingest", "load_formats"]
