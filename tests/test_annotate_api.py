"""The annotation server without a browser: leases, answers, undo, safety, and `correct` from the ledger."""

from __future__ import annotations

import socket
import sqlite3
from contextlib import closing

import pytest
from cli_helpers import run_cli

from alc_data.annotate import create_app
from alc_data.testing.annotate import open_round_workspace
from alc_data.answers.record import Answer
from alc_data.constants import IGNORE_INDEX
from alc_data.errors import Conflict, NotFound
from alc_data.workspace.ledger import LEASE_SECONDS

HOST = "127.0.0.1:8765"
ORIGIN = f"http://{HOST}"


@pytest.fixture
def ws(tmp_path):
    return open_round_workspace(tmp_path / "ws", budget=8)


def client(ws, **kw):
    from starlette.testclient import TestClient

    kw.setdefault("allowed_hosts", {HOST})
    return TestClient(create_app(ws, 1, annotator="ann", **kw), base_url=ORIGIN)


def post(c, path, body, **headers):
    return c.post(path, json=body, headers={"Origin": ORIGIN, **headers})


def test_leases_hand_out_queries_in_rank_order_once_and_return_when_expired(ws):
    ranks = {q.query_id: q.rank for q in ws.ledger.queries(1)}
    a = ws.ledger.lease_queries(1, holder="A", annotator="ann", now=1000.0)
    b = ws.ledger.lease_queries(1, holder="B", annotator="bob", now=1000.0)
    assert [ranks[q] for q in a] == [0, 1] and [ranks[q] for q in b] == [2, 3]
    assert ws.ledger.lease_queries(1, holder="A", annotator="ann", now=1010.0) == a  # renewed, not new ones
    # A's page is closed: after the lease time its queries go to the next page that asks
    later = 1010.0 + LEASE_SECONDS + 1
    assert ws.ledger.lease_queries(1, holder="C", annotator="cy", now=later) == a
    # and an answer from A that arrives late is still taken once; the second one conflicts
    ws.ledger.record_timed_answer(1, Answer(a[0], "unanswerable", None), annotator="ann", seconds=9.0)
    with pytest.raises(Conflict, match="already answered by 'ann'"):
        ws.ledger.record_timed_answer(1, Answer(a[0], "corrected", 1), annotator="cy", seconds=1.0)
    assert len(ws.ledger.answers(1)) == 1


def test_answers_yes_class_and_cant_tell_are_recorded_with_seconds(ws):
    c = client(ws)
    qs = post(c, "/api/lease", {"holder": "tab"}).json()["queries"]
    q0, q1 = qs
    other = next(i for i in range(ws.catalogue.num_classes) if i != q1["shown_label"])
    assert post(c, "/api/answer", {"holder": "tab", "query_id": q0["query_id"], "verdict": "accept", "seconds": 3.0}).status_code == 200
    r = post(c, "/api/answer", {"holder": "tab", "query_id": q1["query_id"], "class_index": other, "seconds": 5.0})
    assert r.status_code == 200 and r.json()["status"] == "corrected"
    q2 = post(c, "/api/lease", {"holder": "tab"}).json()["queries"][0]
    r = post(c, "/api/answer", {"holder": "tab", "query_id": q2["query_id"], "verdict": "unanswerable", "seconds": 4.0})
    p = r.json()["progress"]
    assert (p["answered"], p["accepted"], p["corrected"], p["unanswerable"], p["median_seconds"]) == (3, 1, 1, 1, 4.0)
    rows = [(r.query_id, r.status, r.answer_class, r.source, r.annotator, r.seconds)
            for r in ws.ledger.timed_answers(1)]
    assert rows == [
        (q0["query_id"], "accepted", q0["shown_label"], "annotate", "ann", 3.0),
        (q1["query_id"], "corrected", other, "annotate", "ann", 5.0),
        (q2["query_id"], "unanswerable", None, "annotate", "ann", 4.0),
    ]
    # a repeated request changes nothing; another annotator's answer to it is a 409
    r = post(c, "/api/answer", {"holder": "tab", "query_id": q0["query_id"], "verdict": "accept", "seconds": 3.0})
    assert r.status_code == 200 and r.json()["recorded"] is False
    r = post(c, "/api/answer", {"holder": "x", "annotator": "bob", "query_id": q0["query_id"], "class_index": other})
    assert r.status_code == 409 and "already answered by 'ann'" in r.json()["error"]


def test_bad_answers_are_400_with_a_message_and_record_nothing(ws):
    c = client(ws)
    q = post(c, "/api/lease", {"holder": "tab"}).json()["queries"][0]
    r = post(c, "/api/answer", {"holder": "tab", "query_id": q["query_id"], "class_index": 99})
    assert r.status_code == 400 and "unknown class index 99" in r.json()["error"]
    r = post(c, "/api/answer", {"holder": "tab", "query_id": q["query_id"], "verdict": "giraffe"})
    assert r.status_code == 400 and "verdict 'giraffe' is none of" in r.json()["error"]
    assert post(c, "/api/answer", {"holder": "tab", "query_id": 10_000, "verdict": "accept"}).status_code == 404
    assert post(c, "/api/answer", {"holder": "tab", "query_id": q["query_id"], "verdict": "accept", "seconds": "1"}).status_code == 400
    assert ws.ledger.answers(1) == {}


def test_void_shown_label_has_no_yes(ws):
    with closing(sqlite3.connect(ws.db_path)) as con, con:  # plant a query whose representative pixel is void in the labels
        con.execute("UPDATE queries SET shown_label=? WHERE rank=0", (IGNORE_INDEX,))
    c = client(ws)
    q = post(c, "/api/lease", {"holder": "tab"}).json()["queries"][0]
    assert q["shown_label"] is None
    r = post(c, "/api/answer", {"holder": "tab", "query_id": q["query_id"], "verdict": "accept"})
    assert r.status_code == 400 and "shows void" in r.json()["error"]
    r = post(c, "/api/answer", {"holder": "tab", "query_id": q["query_id"], "class_index": 1})
    assert r.json()["status"] == "corrected"


def test_undo_is_a_recorded_retraction_and_stops_at_applied_answers(ws):
    c = client(ws)
    q = post(c, "/api/lease", {"holder": "tab"}).json()["queries"][0]
    post(c, "/api/answer", {"holder": "tab", "query_id": q["query_id"], "class_index": 2, "seconds": 7.5})
    r = post(c, "/api/undo", {"holder": "tab"})
    assert r.status_code == 200 and r.json()["query"]["query_id"] == q["query_id"]
    assert ws.ledger.answers(1) == {}  # no live answer: the retraction is recorded, the answer kept
    assert [(r.query_id, r.status, r.answer_class, r.annotator, r.seconds, r.retracted_by)
            for r in ws.ledger.timed_answers(1, retracted=True)] == [(q["query_id"], "corrected", 2, "ann", 7.5, "ann")]
    # the query comes back to the same page first, and is answered again
    assert post(c, "/api/lease", {"holder": "tab"}).json()["queries"][0]["query_id"] == q["query_id"]
    post(c, "/api/answer", {"holder": "tab", "query_id": q["query_id"], "verdict": "accept", "seconds": 1.0})
    assert post(c, "/api/undo", {"holder": "tab", "annotator": "bob"}).status_code == 404  # bob has nothing to undo
    r = post(c, "/api/undo", {"holder": "tab", "annotator": "bob", "query_id": q["query_id"]})
    assert r.status_code == 409 and "answered by 'ann'" in r.json()["error"]
    from alc_data.stages.correct import correct_round

    applied = correct_round(ws, round_no=1).applied
    assert applied is not None and applied.answers == 1
    r = post(c, "/api/undo", {"holder": "tab"})
    assert r.status_code == 404  # the only answer is applied: nothing left to undo
    with pytest.raises(Conflict, match="already applied"):
        ws.ledger.retract_answer(1, annotator="ann", holder="tab", query_id=q["query_id"])
    with pytest.raises(NotFound):
        ws.ledger.retract_answer(1, annotator="ann", holder="tab")


def test_requests_from_other_hosts_and_origins_are_refused(ws):
    c = client(ws)
    body = {"holder": "tab"}
    assert c.get("/api/session").status_code == 200
    assert c.get("/api/session", headers={"Host": "evil.example:8765"}).status_code == 403  # DNS rebinding
    assert post(c, "/api/lease", body, Origin="http://evil.example").status_code == 403
    r = c.post("/api/lease", content=b"holder=tab", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 403  # a plain HTML form from another page
    assert post(c, "/api/lease", body, **{"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert post(c, "/api/lease", body).status_code == 200


def test_token_is_required_when_one_is_set(ws):
    c = client(ws, allowed_hosts=None, token="s3cret")
    assert c.get("/").status_code == 403
    assert c.get("/api/session").status_code == 403
    assert c.get("/api/session", headers={"X-Alc-Token": "wrong"}).status_code == 403
    assert c.get("/api/session?token=s3cret").status_code == 200
    page = c.get("/?token=s3cret")  # sets the cookie the images then use
    assert page.status_code == 200 and "alc_token" in page.headers["set-cookie"]
    q = post(c, "/api/lease", {"holder": "t"}, **{"X-Alc-Token": "s3cret"}).json()["queries"][0]
    assert c.get("/" + q["image_url"]).status_code == 200


def test_images_are_served_by_id_only(ws):
    c = client(ws)
    image_id = ws.catalogue.image_ids()[0]
    r = c.get(f"/image/{image_id}")
    assert r.status_code == 200 and r.content == ws.catalogue.image_path(image_id).read_bytes()
    assert c.get("/image/nope").status_code == 404
    assert c.get("/image/..%2F..%2Falc.sqlite").status_code == 404
    assert c.get("/image/" + str(ws.catalogue.image_path(image_id)).replace("/", "%2F")).status_code == 404
    assert c.get("/overlay/999").status_code == 404
    overlay = c.get("/overlay/1")
    assert overlay.status_code == 200 and overlay.content[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.damages_workspace
@pytest.mark.parametrize("damage", ["wrong key", "wrong shape"])
def test_a_damaged_superpixel_map_is_a_one_line_error_not_a_traceback(ws, damage):
    import numpy as np

    q = ws.ledger.queries(1)[0]
    h, w = ws.catalogue.image_sizes()[q.image_id]
    path = ws.superpixels.superpixel_path(q.superpixel_set, q.image_id)
    if damage == "wrong key":
        np.savez(path, other=np.zeros((h, w), np.int32))
    else:
        np.savez(path, superpixels=np.zeros((h + 3, w), np.int32))
    from starlette.testclient import TestClient

    c = TestClient(create_app(ws, 1, annotator="ann", allowed_hosts={HOST}), base_url=ORIGIN, raise_server_exceptions=False)
    r = c.get(f"/overlay/{q.query_id}")
    assert r.status_code == 500 and "alc-data check" in r.json()["error"] and q.image_id in r.json()["error"]


def test_overlay_marks_the_superpixel_border():
    import numpy as np

    from alc_data.annotate.overlay import outline_mask

    sp = np.zeros((5, 6), np.int32)
    sp[1:4, 1:5] = 7
    inside, border = outline_mask(sp, 7)
    assert inside.sum() == 12 and border.sum() == 10 and not border[2, 2] and not border[2, 3]


def test_port_in_use_is_one_line_suggesting_port(ws, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        code, out, err = run_cli(capsys, "annotate", "-w", ws.root, "--port", port)
    assert code == 2 and err.count("\n") == 1 and f"port {port}" in err and "--port" in err


def test_correct_without_answers_applies_the_ledger_and_info_shows_measured_seconds(ws, capsys):
    c = client(ws)
    for _ in range(4):
        q = post(c, "/api/lease", {"holder": "tab"}).json()["queries"][0]
        other = (q["shown_label"] + 1) % ws.catalogue.num_classes
        post(c, "/api/answer", {"holder": "tab", "query_id": q["query_id"], "class_index": other, "seconds": 2.0})
    code, out, err = run_cli(capsys, "correct", "-w", ws.root)
    assert code == 0, err
    assert "answers already in the ledger" in out and "labels v1" in out and "4 corrected" in out
    code, out, err = run_cli(capsys, "correct", "-w", ws.root, "--answers", "x.csv", "--oracle", "gt")
    assert code != 0
    code, out, err = run_cli(capsys, "info", "-w", ws.root, "--json")
    import json

    cost = json.loads(out)["cost"]
    assert cost["rounds"][0]["measured_median_seconds"] == 2.0 and cost["rounds"][0]["timed_answers"] == 4
    code, out, err = run_cli(capsys, "info", "-w", ws.root)
    assert "meas" in out and "2.0 s" in out  # (rich wraps the header in a narrow terminal)


@pytest.mark.slow
def test_recipe_with_answers_from_annotate_stops_after_scoring_and_continues(tmp_path, capsys):
    import json

    from cli_helpers import invoke
    from test_loop import TINY

    from alc_data.answers import oracle_answers
    from alc_data.queries import round_queries
    from alc_data.workspace import Workspace

    ws_dir = tmp_path / "ws"
    args = ["run", "demo", "-w", str(ws_dir), "--answers-from", "annotate", "--json",
            *[a for s in [*TINY, "loop.rounds=1", "loop.final_train=false"] for a in ("--set", s)]]
    res = invoke(capsys, args)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["waiting_for_answers"]
    assert f"alc-data annotate -w {ws_dir.resolve()} --round 1" in res.output and "0 of 8 queries answered" in res.output
    # a person answers in the browser (here: the ground truth, through the same ledger calls as the page)
    ws = Workspace.open(ws_dir)
    for n, a in enumerate(oracle_answers(ws, round_queries(ws, 1), label_version="v0")):
        ws.ledger.record_timed_answer(1, a, annotator="ann", seconds=1.0 + n)
    res = invoke(capsys, args)
    assert res.exit_code == 0, res.output
    table = json.loads(res.stdout)
    assert not table["waiting_for_answers"] and [r["round"] for r in table["rounds"]] == [0, 1]
    assert table["rounds"][1]["clicks"] == 8 and table["rounds"][1]["measured_median_seconds"] == 4.5
    assert ws.ledger.round(1).output_version == "v1"


def test_a_public_bind_address_prints_a_url_with_a_token_and_needs_it(ws):
    import urllib.error
    import urllib.parse
    import urllib.request

    from alc_data.testing.annotate import free_port, start_server

    port = free_port()
    proc, url = start_server(ws.root, "--host", "0.0.0.0", port=port)
    try:
        token = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["token"][0]
        assert len(token) >= 24
        base = f"http://127.0.0.1:{port}"
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"{base}/api/session", timeout=10)
        assert info.value.code == 403
        with urllib.request.urlopen(f"{base}/api/session?token={token}", timeout=10) as r:
            assert r.status == 200
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_a_query_another_live_page_holds_cannot_be_answered_from_elsewhere(ws):
    """Red team, session 7: /api/answer ignored leases, so a page (or a script) answered a query another
    live page was showing, whose person then got a 409 for their own query."""
    c = client(ws)
    held = post(c, "/api/lease", {"holder": "A"}).json()["queries"][0]
    for body in ({"holder": "B"}, {}):  # another page, or a request naming no page
        r = post(c, "/api/answer", {**body, "annotator": "bob", "query_id": held["query_id"], "verdict": "accept"})
        assert r.status_code == 409 and "another page" in r.json()["error"], r.text
    assert ws.ledger.answers(1) == {}
    r = post(c, "/api/answer", {"holder": "A", "query_id": held["query_id"], "verdict": "accept"})
    assert r.status_code == 200 and r.json()["recorded"] is True
    # a query nobody holds (never leased, or its lease ran out) is answered by whoever comes first
    free = [q.query_id for q in ws.ledger.queries(1) if q.query_id not in ws.ledger.answers(1)][-1]
    r = post(c, "/api/answer", {"holder": "B", "query_id": free, "verdict": "unanswerable"})
    assert r.status_code == 200 and r.json()["recorded"] is True
