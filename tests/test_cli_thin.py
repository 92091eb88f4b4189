"""The CLI parses, calls the library, prints: every check a user can hit lives in ``alc_data/``."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import alc_data.errors as errors

CLI = Path(__file__).resolve().parents[1] / "cli"
PROJECT_ERRORS = {name for name, obj in vars(errors).items() if inspect.isclass(obj) and issubclass(obj, errors.AlcError)}


def _raised_name(node: ast.Raise) -> str | None:
    exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    if isinstance(exc, ast.Attribute):
        return exc.attr
    return exc.id if isinstance(exc, ast.Name) else None


def test_cli_raises_no_project_error_itself():
    offenders = []
    for path in sorted(CLI.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Raise) and node.exc is not None and _raised_name(node) in PROJECT_ERRORS:
                offenders.append(f"{path.name}:{node.lineno} raises {_raised_name(node)}")
    assert offenders == [], "move these checks into the library function the command calls: " + "; ".join(offenders)


def test_the_scan_sees_a_planted_check():
    planted = ast.parse("def f(x):\n    if x:\n        raise InvalidInput('bad')\n    raise errors.NotFound('x')\n")
    names = [_raised_name(n) for n in ast.walk(planted) if isinstance(n, ast.Raise)]
    assert sorted(names) == ["InvalidInput", "NotFound"] and set(names) <= PROJECT_ERRORS


def test_only_main_handles_project_errors():
    importers = sorted(p.name for p in CLI.glob("*.py") if "alc_data.errors" in p.read_text())
    assert importers == ["main.py"]
