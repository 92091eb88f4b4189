"""Constants shared by the whole package."""

IGNORE_INDEX = 255
"""Label value for void / ignore pixels, in every label map the package reads or writes."""

#: Seconds per query from the ALC paper's user study (Kim et al., ICML 2024).
SECONDS_PER_CORRECTION_QUERY = 4.76
SECONDS_PER_CLASSIFICATION_QUERY = 6.31

#: The two answers besides a class, as the browser page and Label Studio show them (``answers`` reads
#: them back, ``queries`` writes them into the Label Studio configuration).
YES = "yes"
CANT_TELL = "can't tell"
UNANSWERABLE_CHOICES = (CANT_TELL, "cant tell", "unanswerable")
"""The words that mean "can't tell" in a Label Studio choice (any case), unless a class has that name."""
