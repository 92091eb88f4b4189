"""alc-data: Active Label Correction for semantic-segmentation datasets.

Importing the package is cheap: heavy libraries (torch, transformers, datasets, ...) are imported
inside the functions that need them.
"""

__version__ = "0.1.0"

from alc_data.constants import IGNORE_INDEX  # noqa: E402

__all__ = ["IGNORE_INDEX", "__version__"]
