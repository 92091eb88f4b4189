"""The type checker over the library, as part of the suite (so CI runs it): ``python -m mypy``.

The settings live in ``[tool.mypy]`` of pyproject.toml (``files = ["alc_data"]``, ``disallow_untyped_defs``).
A cold run takes about a minute; mypy's cache (``.mypy_cache/``, ignored by git) makes a re-run take seconds.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.typecheck
def test_mypy_passes_on_the_library():
    if importlib.util.find_spec("mypy") is None:
        pytest.fail("mypy is not installed; it is in the test extra: pip install -e '.[test]'")
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"mypy found problems in alc_data/:\n{proc.stdout}{proc.stderr}"
    assert "Success" in proc.stdout, proc.stdout


def test_every_library_function_must_be_annotated():
    """``disallow_untyped_defs``: mypy fails on a function of ``alc_data/`` without full annotations."""
    text = (ROOT / "pyproject.toml").read_text()
    section = text[text.index("[tool.mypy]"):].split("\n[", 1)[0]  # Python 3.10 has no tomllib
    lines = {line.strip() for line in section.splitlines()}
    assert 'files = ["alc_data"]' in lines and "disallow_untyped_defs = true" in lines, section
