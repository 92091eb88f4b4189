"""A setting that wants a whole number refuses inf, nan, fractions and numbers past int64 in one line
(exit 2), wherever it is read: recipes, ``--set``, train settings (issue 21, item 7)."""

from __future__ import annotations

import pytest

from alc_data.overrides import MAX_WHOLE, finite_number, whole_number
from cli_helpers import run_cli


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e300", "2.5", str(MAX_WHOLE + 1), "true"])
def test_run_refuses_a_number_that_is_not_a_whole_one(tmp_path, capsys, value):
    rc, _, err = run_cli(capsys, "run", "demo", "-w", tmp_path / "ws", "--set", f"train.iterations={value}")
    assert rc == 2 and err.startswith("error: recipe [train]: train setting iterations=") and err.count("\n") == 1, err
    rc, _, err = run_cli(capsys, "run", "demo", "-w", tmp_path / "ws", "--set", f"loop.budget={value}")
    assert rc == 2 and err.startswith("error: loop.budget = ") and " is " in err and err.count("\n") == 1, err
    assert not (tmp_path / "ws").exists()  # refused before anything was written


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e300", "true"])
def test_run_refuses_a_float_setting_that_is_not_finite(tmp_path, capsys, value):
    rc, _, err = run_cli(capsys, "run", "demo", "-w", tmp_path / "ws", "--set", f"train.lr={value}")
    assert rc == 2 and err.startswith("error: recipe [train]: train setting lr=") and err.count("\n") == 1, err


def test_whole_and_finite_numbers():
    assert whole_number("12") == 12 and whole_number(3.0) == 3 and whole_number(MAX_WHOLE) == MAX_WHOLE
    assert whole_number(str(MAX_WHOLE)) == MAX_WHOLE  # read as an int, not through a float
    for bad in (float("inf"), float("nan"), 0.5, MAX_WHOLE + 1, True, "x", None):
        with pytest.raises(ValueError):
            whole_number(bad)
    assert finite_number("0.5") == 0.5
    for bad in (float("inf"), "nan", False, "1e300"):
        with pytest.raises(ValueError):
            finite_number(bad)
