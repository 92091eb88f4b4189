"""The workspace keeps its promises: one writer at a time, validation before the first write, no
overwrite of what the ledger references, outputs never over the workspace, damaged databases and bugs
reported in one line. Each test reproduces a reported failure."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli
from test_correction import make_round

from alc_data.stages.correct import correct_round
from alc_data.errors import AlreadyExists, Conflict, WorkspaceBusy
from alc_data.workspace import Workspace
from alc_data.workspace.lock import write_lock

DATA = Path(__file__).parent / "data"


def hold_lock(root: Path, seconds: float) -> subprocess.Popen:
    """Another process that holds the workspace's write lock for ``seconds`` (started and holding on return)."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from alc_data.workspace import Workspace
        ws = Workspace.open({str(root)!r})
        with ws.writing("holder-test"):
            print("held", flush=True)
            time.sleep({seconds})
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def train_tiny(ws) -> Path:
    from alc_data.train import TrainConfig, train_model

    config = TrainConfig.from_dict(dict(model="demo-tiny", iterations=2, batch_size=2, crop_size=32, checkpoint_every=0))
    return Path(train_model(ws, config=config, run_dir=ws.root / "runs" / "tiny").checkpoint)


def labels_of(ws, version):
    return {i: ws.labels.read_label(version, i) for i in ws.catalogue.image_ids()}


# ---------------------------------------------------------------------------------------------- one writer
def test_second_writer_fails_at_once_with_no_wait_naming_the_holder(demo_ws, capsys):
    make_round(demo_ws, 6)
    holder = hold_lock(demo_ws.root, 30)
    try:
        code, _, err = run_cli(capsys, "--no-wait", "correct", "-w", demo_ws.root, "--oracle", "gt")
        assert code == 2
        assert f"pid {holder.pid}" in err and "holder-test" in err and err.count("\n") == 1
        with pytest.raises(WorkspaceBusy):
            with write_lock(demo_ws.root, "x", wait=False):
                pass
    finally:
        holder.kill()
        holder.wait()
    assert demo_ws.ledger.answers(1) == {}  # nothing recorded while another command wrote


def test_second_writer_waits_for_the_first_then_runs(demo_ws, capsys):
    make_round(demo_ws, 6)
    holder = hold_lock(demo_ws.root, 1.5)
    start = time.monotonic()
    code, out, err = run_cli(capsys, "correct", "-w", demo_ws.root, "--oracle", "gt")
    holder.wait()
    assert code == 0, err
    assert f"waiting for the workspace lock held by pid {holder.pid}" in err
    assert time.monotonic() - start > 0.5
    assert len(demo_ws.ledger.answers(1)) == 6


def test_a_crashed_holder_releases_the_lock(demo_ws):
    holder = hold_lock(demo_ws.root, 60)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with write_lock(demo_ws.root, "after-crash", wait=False):
        pass


def test_a_version_registered_meanwhile_keeps_its_files(demo_ws):
    """Reported: two `correct` at once; the loser's clean-up deleted labels/v1/ that the catalogue listed."""
    ws = demo_ws
    ids = ws.catalogue.image_ids()
    first = {i: ws.labels.read_label("v0", i) for i in ids}

    def racing_labels():
        yield ids[0], np.zeros_like(first[ids[0]])
        # another writer registers v1 while this one is still staging
        ws.labels.write_version("v1", iter([(ids[1], np.ones_like(first[ids[1]]))]), parent="v0", kind="correction")

    with pytest.raises(AlreadyExists, match="registered by another command"):
        ws.labels.write_version("v1", racing_labels(), parent="v0", kind="correction")
    assert [v.name for v in ws.labels.label_versions()] == ["v0", "v1"]
    assert (ws.labels.read_label("v1", ids[1]) == 1).all()  # the winner's files are intact
    np.testing.assert_array_equal(ws.labels.read_label("v1", ids[0]), first[ids[0]])
    assert not list((ws.root / "labels").glob(".v1.*"))  # no staging folder left behind


# ---------------------------------------------------------------------------------------------- overwrite
def test_overwriting_superpixels_that_rounds_use_is_refused_before_any_work(demo_ws, capsys):
    """Reported: the files were replaced, then a FOREIGN KEY error; `correct` spread answers over new regions."""
    ws = demo_ws
    make_round(ws, 6)
    before = {p.name: p.read_bytes() for p in (ws.root / "superpixels" / "sam").iterdir()}
    code, _, err = run_cli(capsys, "superpixels", "-w", ws.root, "--method", "slic", "--name", "sam", "--overwrite")
    assert code == 2 and "used by round(s) 1" in err and "--name" in err
    assert {p.name: p.read_bytes() for p in (ws.root / "superpixels" / "sam").iterdir()} == before
    assert ws.superpixels.superpixel_set("sam").method == "imported"
    assert not list((ws.root / "superpixels").glob(".*"))
    # a set no round uses can still be overwritten
    assert run_cli(capsys, "superpixels", "-w", ws.root, "--method", "slic", "--name", "fresh")[0] == 0
    assert run_cli(capsys, "superpixels", "-w", ws.root, "--method", "felzenszwalb", "--name", "fresh", "--overwrite")[0] == 0
    assert ws.superpixels.superpixel_set("fresh").method == "felzenszwalb"


@pytest.mark.parametrize("where", [".", "labels", "labels/v0", ".."])
def test_export_never_writes_into_or_over_the_workspace(tmp_path, capsys, where):
    """Reported: `export --out WS --overwrite` deleted the workspace before writing anything."""
    from alc_data.demo import build_demo_workspace

    ws = build_demo_workspace(tmp_path / "outer" / "ws", n_train=2, n_val=1, size=(24, 24))
    before = sorted(str(p.relative_to(ws.root)) for p in ws.root.rglob("*"))
    code, _, err = run_cli(capsys, "export", "-w", ws.root, "--version", "v0", "--out", ws.root / where, "--overwrite")
    assert code == 2 and "workspace" in err
    assert sorted(str(p.relative_to(ws.root)) for p in ws.root.rglob("*")) == before
    Workspace.open(ws.root).labels.read_label("v0", ws.catalogue.image_ids()[0])


def test_export_replaces_a_folder_only_when_complete(demo_ws, tmp_path, capsys):
    out = tmp_path / "export"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, _, err = run_cli(capsys, "export", "-w", demo_ws.root, "--out", out)
    assert code == 2 and "not empty" in err and (out / "keep.txt").read_text() == "mine"
    assert run_cli(capsys, "export", "-w", demo_ws.root, "--out", out, "--overwrite")[0] == 0
    assert sorted(p.name for p in out.iterdir())[:1] == ["classes.txt"] and not (out / "keep.txt").exists()
    assert not list(tmp_path.glob(".export*"))


def test_queries_export_never_overwrites_without_the_flag(demo_ws, tmp_path, capsys):
    """Reported: it overwrote a CSV people had filled in, and even alc.sqlite."""
    make_round(demo_ws, 4)
    filled = tmp_path / "round1.csv"
    filled.write_text("query_id,answer\n1,cat\n")
    code, _, err = run_cli(capsys, "queries", "export", "-w", demo_ws.root, "--out", filled)
    assert code == 2 and "exists" in err and filled.read_text() == "query_id,answer\n1,cat\n"
    db = demo_ws.root / "alc.sqlite"
    size = db.stat().st_size
    code, _, err = run_cli(capsys, "queries", "export", "-w", demo_ws.root, "--out", db, "--overwrite")
    assert code == 2 and "inside the workspace" in err and db.stat().st_size == size
    assert run_cli(capsys, "queries", "export", "-w", demo_ws.root, "--out", filled, "--overwrite")[0] == 0
    assert filled.read_text().startswith("query_id,round,rank")


# ---------------------------------------------------------------------------------------------- validate first
def test_correct_checks_every_option_before_recording(demo_ws, capsys):
    """Reported: `--tau 2` was rejected only after 30 answers were recorded (never applied)."""
    make_round(demo_ws, 6)
    for args, message in [
        (("--oracle", "gt", "--tau", "2"), "--tau 2"),
        (("--oracle", "gt", "--oracle-mode", "majority"), "unknown oracle mode"),
        (("--oracle", "gt", "--tau", "0.5"), "checkpoint"),
        (("--oracle", "human"), "unknown oracle"),
        (("--oracle", "gt", "--round", "7"), "round 7 does not exist"),
    ]:
        code, _, err = run_cli(capsys, "correct", "-w", demo_ws.root, *args)
        assert code == 2 and message in err, (args, err)
        assert demo_ws.ledger.answers(1) == {}


def test_killed_correct_leaves_answers_that_score_refuses_and_correct_applies(demo_ws, tmp_path, capsys):
    """Reported: a kill after the answers were recorded left them unapplied; `score` then ran on v0."""
    ws = demo_ws
    make_round(ws, 8)
    ckpt = train_tiny(ws)
    env = {**os.environ, "ALC_KILL_AT": "correct:recorded", "ALC_KILL_LOG": str(tmp_path / "killed")}
    proc = subprocess.run([sys.executable, "-m", "alc_data_cli.main", "correct", "-w", str(ws.root), "--oracle", "gt"],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL and (tmp_path / "killed").read_text() == "correct:recorded"
    assert len(ws.ledger.answers(1)) == 8 and ws.ledger.rounds_with_unapplied_answers() == [1]
    code, _, err = run_cli(capsys, "score", "-w", ws.root, "--model", ckpt, "--budget", 4)
    assert code == 2 and f"alc-data correct -w {ws.root} --round 1" in err
    assert len(ws.ledger.rounds()) == 1
    with pytest.raises(Conflict):
        from alc_data.score_round import score_round

        score_round(ws, checkpoint=ckpt, budget=4)
    # the command the message names applies them, exactly as an uninterrupted run would
    code, _, err = run_cli(capsys, "correct", "-w", ws.root, "--round", 1)
    assert code == 0, err
    assert ws.ledger.rounds_with_unapplied_answers() == [] and ws.ledger.round(1).output_version == "v1"
    code, _, err = run_cli(capsys, "score", "-w", ws.root, "--model", ckpt, "--budget", 4)
    assert code == 0, err


def test_round_numbers_are_allocated_with_the_round(demo_ws):
    """Reported: two `score` at once wrote one rounds/NNN/scores.parquet (numbers computed twice)."""
    ws = demo_ws
    row = ("demo_00000", 1, 0, 0, 0, 0, 1, 0.5, 0, 0, 0, 0)
    kw = dict(label_version="v0", superpixel_set="sam", acquisition="sim", budget=1)
    seen = []

    def place(n: int) -> str:
        seen.append(n)
        ws.rounds_dir(n).mkdir(parents=True)
        (ws.rounds_dir(n) / "scores.parquet").write_bytes(b"")
        return f"rounds/{n:03d}/scores.parquet"

    assert ws.ledger.create_round(queries=[row], score_table=place, **kw) == 1
    assert ws.ledger.create_round(queries=[row], score_table=place, **kw) == 2
    assert seen == [1, 2] and [r.score_table for r in ws.ledger.rounds()] == ["rounds/001/scores.parquet",
                                                                             "rounds/002/scores.parquet"]

    def fail(n):
        raise OSError("disk full")

    with pytest.raises(OSError):
        ws.ledger.create_round(queries=[row], score_table=fail, **kw)
    assert [r.round for r in ws.ledger.rounds()] == [1, 2]  # nothing registered


def test_two_scores_never_ask_one_superpixel_twice(demo_ws, capsys):
    ws = demo_ws
    ckpt = train_tiny(ws)
    for _ in range(2):
        assert run_cli(capsys, "score", "-w", ws.root, "--model", ckpt, "--budget", 5, "--superpixels", "sam")[0] == 0
        assert run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt")[0] == 0
    first = {(q.image_id, q.superpixel_id) for q in ws.ledger.queries(1)}
    second = {(q.image_id, q.superpixel_id) for q in ws.ledger.queries(2)}
    assert len(first) == len(second) == 5 and not first & second
    assert (ws.root / "rounds" / "001" / "scores.parquet").is_file() and (ws.root / "rounds" / "002" / "scores.parquet").is_file()
    assert not list((ws.root / "rounds").glob(".*"))


# ---------------------------------------------------------------------------------------------- one line
@pytest.mark.damages_workspace
@pytest.mark.parametrize("content", [b"", b"this is not a database" * 100])
def test_damaged_database_is_one_line(tmp_path, capsys, content):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "alc.sqlite").write_bytes(content)
    code, out, err = run_cli(capsys, "info", "-w", ws)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and "alc.sqlite" in err


def test_an_unexpected_exception_is_reported_as_a_bug(demo_ws, capsys, monkeypatch):
    import alc_data.info

    def broken(*args, **kwargs):
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(alc_data.info, "summary", broken)
    code, _, err = run_cli(capsys, "info", "-w", demo_ws.root)
    assert code == 3 and "ZeroDivisionError: planted" in err and "ALC_DEBUG=1" in err and err.count("\n") == 1
    monkeypatch.setenv("ALC_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        run_cli(capsys, "info", "-w", demo_ws.root)


def test_the_released_workspace_opens_and_is_upgraded(tmp_path):
    from alc_data.workspace.migrations import latest_version

    root = tmp_path / "old"
    shutil.copytree(DATA / "workspace-0.1.0", root)
    ws = Workspace.open(root)
    assert int(ws.catalogue.meta("schema_version")) == latest_version()
    assert [r.round for r in ws.ledger.rounds()] == [1, 2] and ws.ledger.round(1).output_version == "v1"
    assert len(ws.ledger.answers(1)) == 12 and ws.ledger.answers(2) == {}
    assert ws.labels.read_label("v1", ws.catalogue.image_ids()[0]).shape == (24, 24)
    # and it keeps working: the open round is answered and applied
    res = correct_round(ws, oracle="gt")
    assert res.round == 2 and res.recorded == 4


def test_info_names_rounds_whose_answers_are_not_applied(demo_ws, capsys):
    from alc_data.answers.oracle import oracle_answers

    make_round(demo_ws, 5)
    answers = oracle_answers(demo_ws, demo_ws.ledger.queries(1), label_version="v0")
    demo_ws.ledger.record_answers(1, answers, source="test", annotator="t")
    code, out, _ = run_cli(capsys, "info", "-w", demo_ws.root)
    assert code == 0 and f"round 1: 5 answers recorded but not applied yet; run `alc-data correct -w {demo_ws.root} --round 1`" in out
    correct_round(demo_ws)
    assert "not applied" not in run_cli(capsys, "info", "-w", demo_ws.root)[1]


def test_an_overwrite_killed_before_its_commit_is_put_back_by_repair(demo_ws, tmp_path, capsys):
    """The window between renaming a new set into place and committing it: `.X.old` is the only copy that
    matches the catalogue, and `check --repair` must restore it, not delete it as debris."""
    from alc_data.workspace.check import check_workspace

    ws = demo_ws
    assert run_cli(capsys, "superpixels", "-w", ws.root, "--method", "slic", "--name", "fresh")[0] == 0
    before = {i: ws.superpixels.read_superpixels("fresh", i) for i in ws.catalogue.image_ids()}
    env = {**os.environ, "ALC_KILL_AT": "superpixels:renamed", "ALC_KILL_LOG": str(tmp_path / "killed")}
    proc = subprocess.run([sys.executable, "-m", "alc_data_cli.main", "superpixels", "-w", str(ws.root), "--method",
                           "felzenszwalb", "--name", "fresh", "--overwrite"], env=env, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL and (tmp_path / "killed").read_text() == "superpixels:renamed"
    report = check_workspace(ws.root)
    assert [p.kind for p in report.problems] == ["superpixels-interrupted"]
    assert check_workspace(ws.root, repair=True).ok
    assert ws.superpixels.superpixel_set("fresh").method == "slic"
    for i in ws.catalogue.image_ids():
        np.testing.assert_array_equal(ws.superpixels.read_superpixels("fresh", i), before[i])
