"""Expansion of answers over their superpixels, and new label versions from the ledger."""

from alc_data.correction.apply import apply_answers, pending_answers
from alc_data.correction.expand import expand_answers
from alc_data.correction.rebuild import rebuild_version

__all__ = ["apply_answers", "expand_answers", "pending_answers", "rebuild_version"]
