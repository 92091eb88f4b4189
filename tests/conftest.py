"""Shared test setup: offline hub, no progress bars, the real-format fixtures (tests/fixtures), tiny workspaces."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ALC_PROGRESS", "0")
# one thread for torch and BLAS (set before torch is imported): the test models are tiny, and on a
# small shared machine more threads only wait for each other (5-10x slower under contention)
os.environ.setdefault("OMP_NUM_THREADS", "1")

#: real-format samples in their native layouts (provenance: tests/fixtures/PROVENANCE.md); they are part of
#: the repository, so a test that needs one never skips: a missing file is a failure
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    """:data:`FIXTURES`, the real-format samples kept in the repository."""
    return FIXTURES


@pytest.fixture
def demo_ws(tmp_path):
    """A small demo workspace: 12 training and 4 validation images of 48×48."""
    from alc_data.demo import build_demo_workspace

    return build_demo_workspace(tmp_path / "ws", n_train=12, n_val=4, size=(48, 48), seed=0)


@pytest.fixture
def scored(demo_ws, tmp_path):
    """(workspace, checkpoint): :func:`demo_ws` with a demo-tiny model (30 iterations) and round 1 of 24
    SIM queries on its ``sam`` regions, unanswered."""
    from alc_data.stages.score import ScoreOptions, score
    from alc_data.train import TrainConfig, train_model

    cfg = TrainConfig.from_dict({"model": "demo-tiny", "iterations": 30, "batch_size": 4, "crop_size": 48},
                                seed=0, device="cpu", num_workers=0, checkpoint_every=0)
    ckpt = train_model(demo_ws, config=cfg, run_dir=tmp_path / "m").checkpoint
    score(demo_ws, ScoreOptions(budget=24, checkpoint=ckpt, superpixel_set="sam"))
    return demo_ws, ckpt


@pytest.fixture
def assert_workspace_ok():
    """``assert_workspace_ok(ws_or_path)``: `alc-data check` finds nothing wrong (not even debris).

    Call it at the end of tests whose workspace should be whole; tests that damage one on purpose
    check the problems themselves (tests/test_check.py)."""

    def check(ws_or_path) -> None:
        from alc_data.workspace.check import check_workspace

        from alc_data.workspace import Workspace

        report = check_workspace(ws_or_path.root if isinstance(ws_or_path, Workspace) else ws_or_path)
        assert report.ok, "alc-data check: " + "; ".join(p.message for p in report.problems)

    return check


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "damages_workspace: the test leaves a workspace broken on purpose (the end-of-test check skips it)"
    )


@pytest.fixture(autouse=True)
def _every_workspace_checks_clean(request, tmp_path):
    """After every test, `alc-data check` must pass on each workspace it left in its temporary folder,
    unless the test is marked ``damages_workspace`` (it breaks one on purpose and checks that itself)."""
    yield
    if request.node.get_closest_marker("damages_workspace"):
        return
    rep = getattr(request.node, "rep_call", None)
    if rep is None or not rep.passed:
        return
    from alc_data.workspace.check import check_workspace

    for db in sorted(tmp_path.rglob("alc.sqlite")):
        report = check_workspace(db.parent)
        assert report.ok, f"alc-data check on {db.parent}: " + "; ".join(p.message for p in report.problems)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call":
        item.rep_call = rep
