"""A failed write (full disk, file-size limit, quota, read-only file system) is one line that names what
happened and what was kept, never "damaged"; the workspace checks clean afterwards (issue 21, item 5).

``correct``, ``score`` and ``export`` run under ``ulimit -f`` at several sizes (a subprocess whose
``preexec_fn`` sets RLIMIT_FSIZE; Python ignores SIGXFSZ, so writes fail with EFBIG). The errnos a
limit cannot produce (ENOSPC, EDQUOT, EROFS) are injected at the fault points (``ALC_FAIL_AT``).
"""

from __future__ import annotations

import errno
import os
import resource
import sqlite3
import subprocess
import sys

import pytest

from alc_data.workspace.check import check_workspace
from cli_helpers import run_cli
from test_kill import copy_template, run_alc, template  # noqa: F401 - the kill tests' template workspace

#: what each message says was kept (one of these), per command
KEPT = ("is kept", "was not written", "no round was registered", "nothing was written", "no answer was recorded")


def _argv(command: str, ws, where) -> list[str]:
    return {
        "correct": ["correct", "-w", ws, "--oracle", "gt", "--round", 1],
        "score": ["score", "-w", ws, "--model", ws / "runs" / "t0" / "final.pt", "--budget", 4, "--superpixels", "sam"],
        "export": ["export", "-w", ws, "--format", "voc", "--out", where / "out"],
    }[command]


def _limited(kib: int, *args) -> subprocess.CompletedProcess:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (kib * 1024, kib * 1024))

    env = {k: v for k, v in os.environ.items() if k not in ("ALC_KILL_AT", "ALC_FAIL_AT")}
    env.update(ALC_PROGRESS="0", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "alc_data_cli.main", *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=300, preexec_fn=limit)


@pytest.mark.parametrize("command", ["correct", "score", "export"])
def test_under_a_file_size_limit_the_workspace_stays_whole_and_the_message_says_what_was_kept(template, tmp_path,
                                                                                              command):  # noqa: F811
    failed = 0
    for kib in (8, 32, 48):
        ws = copy_template(template, tmp_path / f"k{kib}")
        proc = _limited(kib, *_argv(command, ws, tmp_path / f"k{kib}"))
        assert proc.returncode in (0, 2), proc.stderr
        if proc.returncode == 2:
            failed += 1
            line = proc.stderr.strip()
            assert "\n" not in line and line.startswith("error: file too large"), line
            assert "damaged" not in line and any(k in line for k in KEPT), line
        report = check_workspace(ws)
        assert report.ok, "; ".join(p.message for p in report.problems)
    assert failed, f"{command} never failed under the limits; lower them"


@pytest.mark.parametrize("code", ["ENOSPC", "EDQUOT", "EROFS", "EFBIG"])
def test_a_failed_write_of_the_version_keeps_the_answers_and_names_the_command_that_goes_on(template, tmp_path,
                                                                                            capsys, monkeypatch, code):  # noqa: F811
    ws = copy_template(template, tmp_path)
    monkeypatch.setenv("ALC_FAIL_AT", f"correct:staged={code}")
    rc, _, err = run_cli(capsys, "correct", "-w", ws, "--oracle", "gt", "--round", 1)
    assert rc == 2
    assert err.count("\n") == 1 and "damaged" not in err
    assert os.strerror(getattr(errno, code)).split()[0].lower() in err.lower() or "quota" in err, err
    assert "the answers of round 1 are recorded, v1 was not written" in err, err
    assert f"`alc-data correct -w {ws.resolve()} --round 1`" in err, err
    monkeypatch.delenv("ALC_FAIL_AT")
    rc, out, err = run_cli(capsys, "correct", "-w", ws, "--round", 1)
    assert rc == 0 and "labels v1" in out, err


def test_score_and_export_name_what_failed_and_what_was_kept(template, tmp_path, capsys, monkeypatch):  # noqa: F811
    ws = copy_template(template, tmp_path)
    monkeypatch.setenv("ALC_FAIL_AT", "score:staged=ENOSPC")
    rc, _, err = run_cli(capsys, *_argv("score", ws, tmp_path))
    assert rc == 2 and err.startswith("error: no space left on the device while scoring a new round"), err
    assert "no round was registered" in err
    v0 = ws / "labels" / "v0"
    monkeypatch.setattr(os, "link", _failing_write)  # export hard-links or copies each image: both fail
    monkeypatch.setattr("shutil.copyfile", _failing_write)
    rc, _, err = run_cli(capsys, "export", "-w", ws, "--format", "voc", "--out", tmp_path / "out", "--images")
    assert rc == 2 and err.startswith("error: disk quota exceeded while exporting v0 to"), err
    assert "nothing was written there" in err and not (tmp_path / "out").exists() and v0.is_dir()


def _failing_write(*args, **kwargs):
    raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT), str(args[-1]))


@pytest.mark.damages_workspace
def test_damaged_is_said_only_when_the_integrity_check_fails(template, tmp_path):  # noqa: F811
    from alc_data.workspace.db import Database

    ws = copy_template(template, tmp_path)
    db = Database(ws / "alc.sqlite")
    # an error that is not a damaged file: the database passes its integrity check
    said = str(db.failure(sqlite3.DatabaseError("database disk image is malformed"))).replace(str(ws), "WS")
    assert "damaged" not in said and "passes its integrity check" in said
    with open(ws / "alc.sqlite", "r+b") as fh:  # now really damage it: overwrite pages past the header
        fh.seek(4096)
        fh.write(b"\xff" * 8192)
    said = str(db.failure(sqlite3.DatabaseError("database disk image is malformed")))
    assert "is damaged" in said and "integrity_check" in said, said


def test_sqlite_io_errors_are_read_from_the_file_system(tmp_path, monkeypatch):
    from alc_data.io import failures

    class Fs:
        f_flag, f_bavail, f_frsize = 0, 10 ** 9, 4096

    monkeypatch.setattr(os, "statvfs", lambda p: Fs)
    monkeypatch.setattr(resource, "getrlimit", lambda r: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert failures.probe_errno(tmp_path) is None
    Fs.f_flag = os.ST_RDONLY
    assert failures.probe_errno(tmp_path) == errno.EROFS
    Fs.f_flag, Fs.f_bavail = 0, 1
    assert failures.probe_errno(tmp_path) == errno.ENOSPC
    Fs.f_bavail = 10 ** 9
    monkeypatch.setattr(resource, "getrlimit", lambda r: (4096, 4096))
    assert failures.probe_errno(tmp_path) == errno.EFBIG
    big = tmp_path / "big.sqlite"
    big.write_bytes(b"")
    monkeypatch.setattr(resource, "getrlimit", lambda r: (1 << 30, 1 << 30))  # a limit no file came near
    assert failures.probe_errno(tmp_path, (big,)) is None
    monkeypatch.setattr(resource, "getrlimit", lambda r: (1 << 20, 1 << 20))
    assert failures.probe_errno(tmp_path, (big,)) == errno.EFBIG


def test_train_under_a_file_size_limit_says_which_checkpoint_and_how_to_resume(template, tmp_path):  # noqa: F811
    ws = copy_template(template, tmp_path)
    proc = _limited(500, "train", "-w", ws, "--model", "demo-tiny", "--batch-size", 2, "--crop-size", 32,
                    "--device", "cpu", "--iterations", 2, "--checkpoint-every", 0, "--run-dir", ws / "runs" / "t1")
    assert proc.returncode == 2, proc.stderr  # was 3: torch's RuntimeError("unexpected pos ...")
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("error: file too large") and "while writing the checkpoint" in line, line
    assert f"resume with --run-dir {ws / 'runs' / 't1'}" in line
    assert check_workspace(ws).ok
