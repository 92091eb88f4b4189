"""Bad input through the real command line: exit code ≠ 0, one line naming the file and the fix,
no traceback, and the workspace exactly as it was before (nothing created, nothing changed)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("ALC_PROGRESS", "0")

from alc_data.constants import IGNORE_INDEX  # noqa: E402
from alc_data.io.labels import encode_label_png  # noqa: E402
from cli_helpers import run_cli  # noqa: E402


def snapshot(folder: Path) -> dict[str, str] | None:
    """Every entry under ``folder`` with the sha256 of its bytes (None when the folder is absent)."""
    if not folder.exists():
        return None
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(folder.rglob("*"))
    }


def make_dataset(root: Path) -> None:
    """A valid folder dataset: 3 PNG images with labels (K=3, 255 present) and ground truth."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for sub in ("images", "labels", "gt"):
        (root / sub).mkdir(parents=True)
    for image_id, (h, w) in {"a": (5, 6), "b": (6, 4), "c": (4, 4)}.items():
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / "images" / f"{image_id}.png")
        lab = rng.integers(0, 3, (h, w)).astype(np.uint8)
        lab[0, 0] = IGNORE_INDEX
        (root / "labels" / f"{image_id}.png").write_bytes(encode_label_png(lab))
        (root / "gt" / f"{image_id}.png").write_bytes(encode_label_png(lab))
    (root / "classes.txt").write_text("sky\nroad\ncar\n")
    (root / "train.txt").write_text("a\nb\nc\n")


def folder_args(root: Path, workspace: Path) -> list:
    return [
        "ingest", "folder", "--images", root / "images", "--labels", root / "labels", "--gt", root / "gt",
        "--classes", root / "classes.txt", "-w", workspace,
    ]


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _write_label(path: Path, arr: np.ndarray) -> None:
    path.write_bytes(encode_label_png(arr.astype(np.uint8)))


# (case id, mutation of the dataset, extra CLI args, file named in the message, words of the message)
CASES = [
    ("missing-images-folder", lambda r: None, ["--images", "{root}/nope"], "{root}/nope", "not found"),
    ("image-without-label", lambda r: (r / "labels" / "b.png").unlink(), [], "{root}/labels/b.png", "missing label"),
    ("label-without-image", lambda r: _write_label(r / "labels" / "zz.png", np.zeros((2, 2))), [],
     "{root}/labels/zz.png", "without an image"),
    ("gt-without-image", lambda r: _write_label(r / "gt" / "zz.png", np.zeros((2, 2))), [],
     "{root}/gt/zz.png", "without an image"),
    ("label-size", lambda r: _write_label(r / "labels" / "b.png", np.zeros((4, 6))), [],
     "{root}/labels/b.png", "differs from its image"),
    ("label-value", lambda r: _write_label(r / "labels" / "c.png", np.full((4, 4), 7)), [],
     "{root}/labels/c.png", "label value 7"),
    ("gt-value", lambda r: _write_label(r / "gt" / "c.png", np.full((4, 4), 3)), [],
     "{root}/gt/c.png", "label value 3"),
    ("truncated-label", lambda r: _truncate(r / "labels" / "c.png"), [], "{root}/labels/c.png", "truncated"),
    ("truncated-image", lambda r: _truncate(r / "images" / "b.png"), [], "{root}/images/b.png", "truncated"),
    ("duplicate-class", lambda r: (r / "classes.txt").write_text("sky\nroad\nSky\n"), [],
     "{root}/classes.txt:3", "repeats line 1"),
    ("split-list-unknown-id", lambda r: (r / "train.txt").write_text("a\nq\n"), ["--split", "train={root}/train.txt"],
     "{root}/train.txt:2", "has no image"),
    ("bad-split-option", lambda r: None, ["--split", "train"], "--split", "NAME=LISTFILE"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_folder_input(tmp_path, capsys, case):
    _, mutate, extra, named, words = case
    root = tmp_path / "data"
    make_dataset(root)
    mutate(root)
    parent = tmp_path / "new" / "deeper"  # a workspace path whose parents do not exist yet
    args = folder_args(root, parent / "ws") + [str(a).format(root=root) for a in extra]
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert named.format(root=root) in err and words in err
    assert "Traceback" not in err + out
    assert not (tmp_path / "new").exists()  # nothing created, not even the parent folders
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_workspace_that_already_holds_a_dataset_is_left_byte_identical(tmp_path, capsys):
    root = tmp_path / "data"
    make_dataset(root)
    ws = tmp_path / "ws"
    assert run_cli(capsys, *folder_args(root, ws))[0] == 0
    before = snapshot(ws)
    assert "alc.sqlite" in before
    code, out, err = run_cli(capsys, *folder_args(root, ws))
    assert code == 2 and err.count("\n") == 1
    assert str(ws) in err and "already holds dataset 'folder'" in err and "-w/--workspace" in err
    assert snapshot(ws) == before
    # a non-empty folder that is no workspace is refused as well, and left alone
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    code, _, err = run_cli(capsys, *folder_args(root, other))
    assert code == 2 and str(other) in err and "not an empty folder" in err
    assert snapshot(other) == {"keep.txt": hashlib.sha256(b"mine").hexdigest()}


def test_unwritable_workspace_parent(tmp_path, capsys):
    root = tmp_path / "data"
    make_dataset(root)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        code, out, err = run_cli(capsys, *folder_args(root, locked / "ws"))
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
        assert str(locked / "ws") in err and "writable" in err
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_unwritable_workspace_simulated(tmp_path, capsys, monkeypatch):
    """The same path as above when the tests run as root: the OS refuses the staging folder."""
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    root = tmp_path / "data"
    make_dataset(root)
    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    code, out, err = run_cli(capsys, *folder_args(root, tmp_path / "new" / "ws"))
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert str(tmp_path / "new" / "ws") in err and "Permission denied" in err and "writable" in err
    assert not (tmp_path / "new").exists()


def test_failure_late_in_the_ingest_leaves_no_staging_folder(tmp_path, capsys):
    root = tmp_path / "data"
    make_dataset(root)
    _write_label(root / "labels" / "c.png", np.full((4, 4), 9))  # 'c' is the last image read
    ws = tmp_path / "ws"
    ws.mkdir()  # an existing empty folder is a valid target; it must stay empty
    code, _, err = run_cli(capsys, *folder_args(root, ws))
    assert code == 2 and "label value 9" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "ws"]
    assert list(ws.iterdir()) == []


def test_voc_missing_folder(tmp_path, capsys):
    code, out, err = run_cli(capsys, "ingest", "voc", tmp_path / "nothing", "-w", tmp_path / "ws")
    assert code == 2 and str(tmp_path / "nothing") in err and "VOCdevkit" in err and err.count("\n") == 1
    assert not (tmp_path / "ws").exists()


def test_console_script_exit_code_and_no_traceback(tmp_path):
    """The installed entry point, in a subprocess: exit code 2, one line on stderr, nothing on stdout."""
    root = tmp_path / "data"
    make_dataset(root)
    (root / "labels" / "b.png").unlink()
    script = Path(sys.executable).with_name("alc-data")
    cmd = [str(script)] if script.is_file() else [sys.executable, "-m", "alc_data_cli.main"]
    env = {**os.environ, "ALC_PROGRESS": "0", "ALC_DEBUG": "0"}
    proc = subprocess.run(cmd + [str(a) for a in folder_args(root, tmp_path / "ws")], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(root / "labels" / "b.png") in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "ws").exists()
