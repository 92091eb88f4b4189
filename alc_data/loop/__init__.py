"""The correction loop and its recipes."""

from alc_data.loop.recipes import apply_overrides, load_recipe
from alc_data.loop.run import Loop, plot_runs, prepare_workspace

__all__ = ["Loop", "apply_overrides", "load_recipe", "plot_runs", "prepare_workspace"]
