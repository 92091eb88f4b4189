"""Outputs meant for other people follow the umask (0644 files, 0755 folders under umask 022); the
workspace's own files keep their owner-only mode (issue 21, item 6)."""

from __future__ import annotations

import os

import pytest

from alc_data.testing.annotate import open_round_workspace
from cli_helpers import run_cli


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path) -> int:
    return path.stat().st_mode & 0o777


def test_query_exports_and_the_diff_report_follow_the_umask(tmp_path, capsys, umask_022):
    ws = open_round_workspace(tmp_path / "ws", n_train=2, size=(32, 32), budget=3)
    out = tmp_path / "out"
    out.mkdir()
    assert run_cli(capsys, "queries", "export", "-w", ws.root, "--out", out / "q.csv")[0] == 0
    assert run_cli(capsys, "queries", "export", "-w", ws.root, "--format", "label-studio",
                   "--out", out / "tasks.json")[0] == 0
    assert run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt")[0] == 0
    assert run_cli(capsys, "diff", "v0", "v1", "-w", ws.root, "--report", out / "r.html", "--out", out / "pics")[0] == 0
    written = sorted(p for p in out.rglob("*") if p.is_file())
    assert {p.name for p in written} >= {"q.csv", "tasks.json", "r.html"}
    assert {p.name: _mode(p) for p in written} == {p.name: 0o644 for p in written}
    assert _mode(out / "pics") == 0o755


def test_a_checkpoint_and_a_published_folder_follow_the_umask(tmp_path, umask_022):
    from alc_data.io.atomic import atomic_write_bytes, staged_folder
    from alc_data.train.checkpoint import save_checkpoint

    assert _mode(save_checkpoint(tmp_path / "final.pt", {"iteration": 1})) == 0o644
    assert _mode(staged_folder(tmp_path / "published", what="--to-dir")) == 0o755
    atomic_write_bytes(tmp_path / "own.bin", b"x")  # the workspace's own files stay the user's alone
    assert _mode(tmp_path / "own.bin") == 0o600


@pytest.mark.parametrize("fmt", ["csv", "label-studio"])
def test_queries_export_to_an_existing_folder_is_a_user_error(tmp_path, capsys, fmt):
    ws = open_round_workspace(tmp_path / "ws", n_train=2, size=(32, 32), budget=3)
    folder = tmp_path / "existing"
    folder.mkdir()
    for extra in ((), ("--overwrite",)):
        rc, _, err = run_cli(capsys, "queries", "export", "-w", ws.root, "--format", fmt, "--out", folder, *extra)
        assert rc == 2 and err == f"error: --out {folder}: is a folder; name the file to write (a new path inside it will do)\n"
    assert list(folder.iterdir()) == [] and not list(tmp_path.glob(".existing*"))
