"""Helpers shared by the tests: run the real console-script entry point in process."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


def run_cli(capsys, *args) -> tuple[int, str, str]:
    """Run the console-script entry point in process; (exit code, stdout, stderr)."""
    from alc_data_cli.main import main

    capsys.readouterr()
    argv, sys.argv = sys.argv, ["alc-data", *map(str, args)]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = argv
    out = capsys.readouterr()
    return code, out.out, out.err


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def invoke(capsys, args) -> CliResult:
    """:func:`run_cli` with a result object (exit_code, stdout, stderr, output)."""
    return CliResult(*run_cli(capsys, *args))


def indices(path: Path) -> np.ndarray:
    """The stored indices of a palette PNG (fails when the file is not a palette PNG)."""
    from PIL import Image

    with Image.open(path) as img:
        assert img.mode == "P", f"{path} is {img.mode}, not a palette PNG"
        return np.array(img)


def load_benchmark(name: str) -> Any:
    """``benchmarks/<name>.py`` imported as a module (the benchmarks are scripts, not a package)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

