"""Constants shared by the whole package."""

IGNORE_INDEX = 255
"""Label value for void / ignore pixels, in every label map the package reads or writes."""

#: Seconds per query from the ALC paper's user study (Kim et al., ICML 2024).
SECONDS_PER_CORRECTION_QUERY = 4.76
SECONDS_PER_CLASSIFICATION_QUERY = 6.31
