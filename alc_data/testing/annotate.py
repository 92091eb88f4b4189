"""For the annotation tests and benchmark: a demo workspace with an open round, and a server subprocess."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.demo import build_demo_workspace
from alc_data.queries import create_round
from alc_data.scoring import ScoreTable, score_superpixels, select_top
from alc_data.workspace import Workspace

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
"""Headless Chromium as root on a machine without a GPU or network (Debian's `chromium` package)."""


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's `chromium` (on PATH) through Playwright; Playwright's own browser download is not used."""
    import shutil

    return playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)


def open_round_workspace(
    root: Path, *, n_train: int = 6, size: tuple[int, int] = (48, 48), budget: int = 12, seed: int = 0
) -> Workspace:
    """A demo workspace whose round 1 asks ``budget`` SIM queries of a model that knows the ground truth.

    ``size`` is (height, width)."""
    ws = build_demo_workspace(root, n_train=n_train, n_val=1, size=size, seed=seed)
    tables = []
    rng = np.random.default_rng(seed)
    for i in ws.catalogue.image_ids("train"):
        g = ws.catalogue.read_gt(i).astype(int)
        noisy = ws.labels.read_label("v0", i).astype(int)
        target = np.where(g == IGNORE_INDEX, noisy, g)
        logits = np.eye(ws.catalogue.num_classes)[target].transpose(2, 0, 1) * 4.0
        e = np.exp(logits + rng.normal(0.0, 0.3, logits.shape))  # a little noise: representatives vary
        tables.append(score_superpixels((e / e.sum(0)).astype(np.float32), ws.labels.read_label("v0", i),
                                        ws.superpixels.read_superpixels("sam", i), acquisition="sim", image_id=i))
    selected = select_top(ScoreTable.concat(tables), budget)
    create_round(ws, selected, label_version="v0", superpixel_set="sam", acquisition="sim", budget=budget)
    return ws


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(ws_root: Path, *args: str, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """``alc-data annotate`` in a subprocess; (process, the URL it printed)."""
    port = free_port() if port is None else port
    cmd = [sys.executable, "-c", "from alc_data_cli.main import main; main()", "annotate", "-w", str(ws_root),
           "--port", str(port), "--no-open", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if proc.stdout is None:  # never: stdout=PIPE above
        raise RuntimeError("the annotate process has no stdout pipe")
    out = proc.stdout
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline:
        line = out.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(r"(http://\S+)", line)
        if match:
            url = match.group(1)
            _wait_listening(port)
            return proc, url
    proc.kill()
    raise RuntimeError("annotate server did not start: " + "".join(seen))


def _wait_listening(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")
