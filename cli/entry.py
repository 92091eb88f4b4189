"""The console script: ``alc-data`` imports the command line inside a guard, so Ctrl-C while the heavy
modules load is the same one line as Ctrl-C later (a traceback of an import otherwise)."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from alc_data_cli.main import main as run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted while starting; re-run the same command\n")
        sys.exit(130)
    run()
