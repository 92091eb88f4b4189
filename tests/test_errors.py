"""The error types: code raises a subclass of ``AlcError``, never the base class, and each subclass
carries the exit code and the line the command line ends with."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import alc_data.errors as errors
from cli_helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
SUBCLASSES = sorted(
    (obj for obj in vars(errors).values() if inspect.isclass(obj) and issubclass(obj, errors.AlcError)
     and obj is not errors.AlcError),
    key=lambda c: c.__name__,
)


def _base_raises(source: str, where: str) -> list[str]:
    """``where:line`` of each ``raise AlcError(...)`` / ``raise errors.AlcError`` in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source, where)):
        if not isinstance(node, ast.Raise) or node.exc is None:
            continue
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        name = exc.attr if isinstance(exc, ast.Attribute) else exc.id if isinstance(exc, ast.Name) else None
        if name == "AlcError":
            found.append(f"{where}:{node.lineno}")
    return found


def test_no_code_raises_the_base_class() -> None:
    offenders = []
    for folder in ("alc_data", "cli"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            offenders += _base_raises(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert offenders == [], "raise the subclass of alc_data.errors that says what went wrong: " + ", ".join(offenders)


def test_the_scan_sees_a_planted_base_raise() -> None:
    planted = "def f(x):\n    if x:\n        raise AlcError('bad')\n    raise errors.AlcError\n"
    assert sorted(_base_raises(planted, "f.py")) == ["f.py:3", "f.py:4"]
    assert _base_raises("raise InvalidInput('bad')\n", "g.py") == []


@pytest.mark.parametrize("cls", SUBCLASSES, ids=lambda c: c.__name__)
def test_every_subclass_carries_an_exit_code_and_the_cli_exits_with_it(cls, capsys, monkeypatch, tmp_path) -> None:
    import alc_data.workspace.lock

    assert isinstance(cls.exit_code, int) and 1 <= cls.exit_code <= 2
    error = cls("planted")

    def broken(wait: bool) -> None:
        raise error

    monkeypatch.setattr(alc_data.workspace.lock, "set_wait", broken)
    code, out, err = run_cli(capsys, "info", "-w", tmp_path)
    assert (code, out, err) == (cls.exit_code, "", error.report() + "\n")


def test_user_errors_exit_2_and_failed_checks_exit_1_without_an_error_line() -> None:
    assert errors.InvalidInput("x").report() == "error: x" and errors.InvalidInput.exit_code == 2
    assert errors.ChecksFailed("ws: 2 problems").report() == "ws: 2 problems" and errors.ChecksFailed.exit_code == 1
    assert errors.ChecksFailed("").report() == ""
