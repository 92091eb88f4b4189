"""Every ``alc-data ...`` command printed for the user to run is shell-quoted, through one helper
(``alc_data.hints.command``), so that it runs as shown from a path with spaces or quotes (issue 21, item 11)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from alc_data.hints import command
from alc_data.testing.annotate import open_round_workspace
from cli_helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
#: an f-string that writes a value into an ``alc-data`` command line by hand
HAND_WRITTEN = re.compile(r"""[`"']alc-data [^`"']*\{""")
#: text that starts like a command but is none: the version line, Label Studio's model name
NOT_COMMANDS = ('"alc-data {__version__}"', '"alc-data round {round_no} ({acquisition})"')


def test_command_quotes_every_argument():
    assert command("correct", "-w", Path("/data/my ws"), "--round", 3) == "alc-data correct -w '/data/my ws' --round 3"
    assert shlex.split(command("run", "it's", "--answers", "a;b.csv")) == ["alc-data", "run", "it's", "--answers", "a;b.csv"]


def test_no_command_is_written_by_hand():
    found = []
    for folder in ("alc_data", "cli"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if HAND_WRITTEN.search(line) and not any(t in line for t in NOT_COMMANDS):
                    found.append(f"{path.relative_to(ROOT)}:{n}")
    assert found == [], "write these with alc_data.hints.command(...): " + ", ".join(found)


def test_a_printed_hint_runs_as_shown_from_a_path_with_a_space_and_a_quote(tmp_path, capsys):
    ws = open_round_workspace(tmp_path / "it's a ws", n_train=2, size=(32, 32), budget=3)
    out = tmp_path / "my queries.csv"
    rc, printed, _ = run_cli(capsys, "queries", "export", "-w", ws.root, "--out", out)
    assert rc == 0
    hint = printed.split("`")[1]
    assert shlex.split(hint) == ["alc-data", "correct", "-w", str(ws.root), "--answers", str(out)]
