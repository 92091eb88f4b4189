"""The correction loop and its recipes."""

from alc_data.loop.config import Recipe
from alc_data.loop.recipes import apply_overrides, load_recipe, read_recipe
from alc_data.loop.loop import Loop, prepare_workspace
from alc_data.loop.table import RoundRow, RunTable, plot_runs

__all__ = ["Loop", "Recipe", "apply_overrides", "load_recipe", "plot_runs", "prepare_workspace", "read_recipe", "RoundRow", "RunTable"]
