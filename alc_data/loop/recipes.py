"""Recipes: small TOML files that may extend a base recipe, with ``--set key.sub=value`` overrides
(:mod:`alc_data.overrides`), checked as a whole by :class:`alc_data.loop.config.Recipe`.

``extends = "base.toml"`` (a path relative to the recipe, or a built-in recipe name) is loaded first
and the recipe's tables are merged over it, key by key; a ``[data]`` table naming another ``source``
replaces the parent's (each format has its own fields). Built-in recipes live in the top-level
``recipes/`` folder, installed as the package ``alc_data_recipes``.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

from alc_data.errors import InvalidInput, MissingDependency, NotFound
from alc_data.loop.config import Recipe

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def builtin_recipes_dir() -> Path:
    """The folder of the built-in recipes."""
    import importlib.util

    spec = importlib.util.find_spec("alc_data_recipes")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency("the built-in recipes are not installed; reinstall alc-data or pass a recipe file path")
    return Path(list(spec.submodule_search_locations)[0])


def builtin_recipe_names() -> list[str]:
    return sorted(p.stem for p in builtin_recipes_dir().glob("*.toml") if not p.stem.startswith("_"))


BUILT_IN_RECIPES = ("demo", "pascal_voc", "pascal_voc_a2lc", "pascal_plus", "cityscapes")
"""The recipes shipped in ``alc_data_recipes`` that ``alc-data run NAME`` takes (``base`` is only extended)."""


def find_recipe(name_or_path: str | os.PathLike, *, relative_to: Path | None = None) -> Path:
    """A recipe file from a path, a path relative to another recipe, or a built-in name (``demo``)."""
    text = str(name_or_path)
    candidates = [Path(text)]
    if relative_to is not None:
        candidates.insert(0, relative_to / text)
    if not text.endswith((".toml", ".json")):
        candidates.append(builtin_recipes_dir() / f"{text}.toml")
    else:
        candidates.append(builtin_recipes_dir() / Path(text).name)
    for cand in candidates:
        if cand.is_file():
            return cand.resolve()
    raise NotFound(
        f"recipe {text!r} not found; pass a .toml file (or a run's recipe.json) or one of: {', '.join(builtin_recipe_names())}"
    )


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``over`` into a copy of ``base`` (tables merge, other values replace)."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def without_other_source(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` without its ``[data]`` table when ``over`` names another ``data.source`` (another dataset
    format: the base's fields mean nothing for it), else ``base`` itself."""
    own, inherited = over.get("data"), base.get("data")
    if not isinstance(own, dict) or not isinstance(inherited, dict) or own.get("source", inherited.get("source")) == inherited.get("source"):
        return base
    return {k: v for k, v in base.items() if k != "data"}


def load_recipe(name_or_path: str | os.PathLike, *, _seen: tuple[Path, ...] = (), _relative_to: Path | None = None) -> dict[str, Any]:
    """Load a recipe with its ``extends`` chain resolved (``extends`` itself is removed)."""
    path = find_recipe(name_or_path, relative_to=_relative_to)
    if path in _seen:
        raise InvalidInput(f"{path}: recipes extend each other in a cycle ({' → '.join(p.name for p in (*_seen, path))})")
    if path.suffix == ".json":  # a run's resolved recipe.json: every table, nothing to extend
        from alc_data.loop.config import saved_recipe_dict

        try:
            saved = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}: not valid JSON ({exc}); pass a .toml recipe or a run's recipe.json") from None
        if not isinstance(saved, dict):
            raise InvalidInput(f"{path}: a recipe.json holds one object of tables; pass a run's recipe.json")
        return {**saved_recipe_dict(saved), "name": saved.get("name") or path.stem}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path}: not valid TOML ({exc}); fix the recipe") from None
    parent = data.pop("extends", None)
    name = data.pop("name", None) or path.stem
    if parent:
        base = load_recipe(parent, _seen=(*_seen, path), _relative_to=path.parent)
        data = merge(without_other_source(base, data), data)
    data["name"] = name
    return data


def apply_overrides(recipe: dict[str, Any], overrides: list[str] | None) -> dict[str, Any]:
    """Apply ``--set key.sub=value`` overrides (parsed by :mod:`alc_data.overrides`); an unknown
    top-level table is an error (typo guard). ``--set data.source=X`` naming another format replaces the
    recipe's ``[data]`` table, as a recipe extending another with its own ``source`` does."""
    from alc_data.loop.config import TABLES
    from alc_data.overrides import apply_overrides as apply

    given = apply({}, overrides, option="--set", tables=TABLES)  # what the items set: a data.source of its own?
    return apply(without_other_source(recipe, given), overrides, option="--set", tables=TABLES)


def read_recipe(name_or_path: str | os.PathLike, overrides: list[str] | None = None, *, answers_from: str | None = None) -> Recipe:
    """``alc-data run RECIPE --set ... [--answers-from X]``: the recipe loaded, overridden and checked
    as a whole (:class:`alc_data.loop.config.Recipe`), before anything is written."""
    recipe = apply_overrides(load_recipe(name_or_path), overrides)
    if answers_from is not None:
        recipe = merge(recipe, {"loop": {"answers_from": answers_from}})
    return Recipe.from_dict(recipe)
