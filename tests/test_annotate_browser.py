"""The annotation page in headless Chromium (Debian's `chromium`, driven by Playwright for Python).

One browser for the module. The server runs as a real `alc-data annotate` subprocess, so it can be
killed in the middle and started again.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from contextlib import closing

import pytest
from cli_helpers import run_cli

from alc_data.annotate.app import CLASS_KEYS
from alc_data.testing.annotate import launch_chromium, start_server
from alc_data.constants import IGNORE_INDEX
from alc_data.workspace import Workspace

XSS = "<img src=x onerror=alert(1)>"

REQUIRED = os.environ.get("ALC_REQUIRE_BROWSER", "") not in ("", "0")  # set by .ci/run: fail, never skip


@pytest.fixture(scope="module")
def browser():
    missing = None
    if shutil.which("chromium") is None:
        missing = "no `chromium` on PATH; `make test` installs it (apt-get install chromium)"
    try:
        from playwright import sync_api
    except ImportError:
        missing = missing or "playwright is missing; install the `test` extra (pip install -e '.[test]')"
    if missing and REQUIRED:
        pytest.fail(missing)
    if missing:
        pytest.skip(missing)
    with sync_api.sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


class Page:
    """One browser tab on the annotation page, answering with the keyboard."""

    def __init__(self, context, url: str, ws: Workspace) -> None:
        self.page = context.new_page()
        self.dialogs: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.ws = ws
        self.url = url
        self.page.goto(url)

    def shown(self) -> int:
        """Wait until a query is drawn and answerable; its id."""
        self.page.wait_for_function("document.body.dataset.shownId", timeout=40_000)
        return int(self.page.evaluate("document.body.dataset.shownId"))

    def wait_for(self, query_id: int) -> None:
        self.page.wait_for_function(f"document.body.dataset.shownId === '{query_id}'", timeout=40_000)

    def press(self, key: str) -> int:
        qid = self.shown()
        self.page.keyboard.press(key)
        self.page.wait_for_function(f"document.body.dataset.shownId !== '{qid}'", timeout=40_000)
        return qid

    def shown_label(self, query_id: int) -> int:
        return self.ws.ledger.queries_by_id([query_id])[query_id].shown_label

    def other_class_key(self, query_id: int) -> tuple[str, int]:
        shown = self.shown_label(query_id)
        cls = next(c for c in (2, 3, 4) if c != shown)
        return CLASS_KEYS[cls], cls


def cli(capsys, *args) -> str:
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    return out


def test_answer_with_the_keyboard_reload_kill_two_annotators_then_correct(browser, tmp_path, capsys):
    # the README's path: a demo workspace with an open round (ingest, train, score), then annotate
    root = tmp_path / "ws"
    cli(capsys, "ingest", "demo", "-w", root, "--train", 8, "--val", 2, "--size", 48)
    cli(capsys, "train", "-w", root, "--model", "demo-tiny", "--iterations", 4, "--crop-size", 48, "--batch-size", 4,
        "--run-dir", root / "runs" / "t1")
    cli(capsys, "score", "-w", root, "--model", root / "runs" / "t1" / "final.pt", "--budget", 12)
    ws = Workspace.open(root)
    by_rank = [q.query_id for q in ws.ledger.queries(1)]
    with closing(sqlite3.connect(ws.db_path)) as con, con:  # a class name that is HTML, and a void shown label at rank 2
        con.execute("UPDATE classes SET name=? WHERE idx=1", (XSS,))
        con.execute("UPDATE queries SET shown_label=? WHERE query_id=?", (IGNORE_INDEX, by_rank[2]))
    ws = Workspace.open(ws.root)
    proc, url = start_server(ws.root, "--annotator", "alice")
    port = url.rsplit(":", 1)[1].strip("/")
    try:
        ctx_a = browser.new_context(viewport={"width": 1100, "height": 700})
        a = Page(ctx_a, url, ws)
        # rank 0: yes (Enter); rank 1: another class by its shortcut
        assert a.press("Enter") == by_rank[0]
        key, cls1 = a.other_class_key(by_rank[1])
        assert a.press(key) == by_rank[1]
        # rank 2 shows void: "Which class ...?" without yes; Enter does nothing; x = can't tell
        a.wait_for(by_rank[2])
        assert a.page.inner_text("#question") == "Which class is this pixel?"
        assert not a.page.is_visible("#yes")
        a.page.keyboard.press("Enter")
        assert "void" in a.page.inner_text("#message")
        assert a.press("x") == by_rank[2]
        # rank 3: y, then undo (Backspace) brings it back; answer it with a class instead
        assert a.press("y") == by_rank[3]
        a.wait_for(by_rank[4])
        a.page.keyboard.press("Backspace")
        a.wait_for(by_rank[3])
        key, cls3 = a.other_class_key(by_rank[3])
        # the filter box: type a class name and pick it with Enter
        a.page.keyboard.press("/")
        a.page.keyboard.type(ws.catalogue.class_names[cls3][:4])
        a.page.keyboard.press("Enter")
        a.wait_for(by_rank[4])
        # class names are text, never HTML
        assert XSS in a.page.inner_text("#classes") and a.page.locator("#classes img").count() == 0
        # reload in the middle: the same tab continues at its query
        a.page.reload()
        a.wait_for(by_rank[4])
        assert "4 / 12 answered" in a.page.inner_text("#progress")
        assert a.press("y") == by_rank[4]

        # kill the server in the middle; started again, a page opened anew continues at the first
        # unanswered query (the killed server's leases are released)
        a.wait_for(by_rank[5])
        proc.kill()
        proc.wait(timeout=30)
        ctx_a.close()
        proc, url = start_server(ws.root, "--annotator", "alice", port=int(port))
        ctx_a = browser.new_context(viewport={"width": 1100, "height": 700})
        a = Page(ctx_a, url, ws)
        a.wait_for(by_rank[5])
        assert a.press("y") == by_rank[5]

        # a second annotator in another browser context: each gets other queries, nothing twice
        ctx_b = browser.new_context(viewport={"width": 1100, "height": 700})
        b = Page(ctx_b, url, ws)
        first_b = b.shown()  # the page has loaded its session: typing the name now is not overwritten by it
        b.page.fill("#annotator", "bob")
        b.page.keyboard.press("Enter")
        assert first_b not in (by_rank[6], by_rank[7])  # A holds its current and its next query
        # answer the rest with both pages: a page whose queries are all held by the other one waits
        # ("being answered by others") until those are answered, so drive whichever page shows a query
        deadline = time.monotonic() + 120
        while not all(p.page.evaluate("document.body.dataset.done") for p in (a, b)):
            shown = [p for p in (a, b) if p.page.evaluate("document.body.dataset.shownId")]
            for p in shown:
                p.press("y")
            if not shown:
                a.page.wait_for_timeout(200)
            assert time.monotonic() < deadline, "the two pages stopped answering"
        for p in (a, b):
            p.page.wait_for_function("document.body.dataset.done === '1'", timeout=40_000)
            assert "All 12 queries of round 1 are answered" in p.page.inner_text("#done")
            assert p.dialogs == []
        a.page.screenshot(path=str(tmp_path / "done.png"))
    finally:
        proc.kill()
        proc.wait(timeout=30)

    rows = sorted((r.query_id, r.status, r.answer_class, r.annotator, r.seconds)
                  for r in ws.ledger.timed_answers(1))
    assert sorted(r[0] for r in rows) == sorted(by_rank)  # every query answered exactly once
    status = {r[0]: r[1:4] for r in rows}
    assert status[by_rank[0]] == ("accepted", ws.ledger.queries(1)[0].shown_label, "alice")
    assert status[by_rank[1]] == ("corrected", cls1, "alice")
    assert status[by_rank[2]] == ("unanswerable", None, "alice")
    assert status[by_rank[3]] == ("corrected", cls3, "alice")
    assert {r[3] for r in rows} == {"alice", "bob"}
    assert all(r[4] is not None and 0 < r[4] < 60 for r in rows)
    assert [(r.query_id, r.status, r.retracted_by) for r in ws.ledger.timed_answers(1, retracted=True)] == [
        (by_rank[3], "accepted", "alice")]  # the undone answer is kept in the ledger as a retraction

    out = cli(capsys, "correct", "-w", root)
    assert "answers already in the ledger" in out and "labels v1 (parent v0)" in out
    assert json.loads(cli(capsys, "eval", "-w", root, "--json"))["version"] == "v1"
    for qid, cls in ((by_rank[1], cls1), (by_rank[3], cls3)):
        q = ws.ledger.queries_by_id([qid])[qid]
        image_id, r, c = q.image_id, q.rep_row, q.rep_col
        assert ws.labels.read_label("v1", image_id)[r, c] == cls


def test_undo_pressed_before_the_answer_is_recorded_takes_that_answer_back(browser, demo_ws):
    """Backspace right after an answer, while the server has not replied yet (a slow network or a busy
    machine), must take back that answer, not nothing (or an older one)."""
    from test_correction import make_round

    ws = demo_ws
    make_round(ws, 4)
    by_rank = [q.query_id for q in ws.ledger.queries(1)]
    proc, url = start_server(ws.root, "--annotator", "alice")
    try:
        ctx = browser.new_context(viewport={"width": 1100, "height": 700})
        # every answer takes 0.8 s to reach the server
        ctx.add_init_script(
            "const f = window.fetch; window.fetch = (u, o) => String(u).includes('api/answer')"
            " ? new Promise((r) => setTimeout(r, 800)).then(() => f(u, o)) : f(u, o);"
        )
        a = Page(ctx, url, ws)
        a.wait_for(by_rank[0])
        a.page.keyboard.press("y")
        a.page.wait_for_function(f"document.body.dataset.shownId === '{by_rank[1]}'", timeout=10_000)
        a.page.keyboard.press("Backspace")  # the answer to rank 0 is still on its way
        a.page.wait_for_function(f"document.body.dataset.shownId === '{by_rank[0]}'", timeout=10_000)
        ctx.close()
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert ws.ledger.answers(1) == {}  # nothing live: the answer was recorded, then retracted
    assert [r.query_id for r in ws.ledger.timed_answers(1, retracted=True)] == [by_rank[0]]
