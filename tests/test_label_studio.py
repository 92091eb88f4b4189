"""Label Studio round trip: tasks + labeling config out, the JSON export back in through `correct`."""

from __future__ import annotations

import copy
import json
import shutil
import sqlite3
import xml.etree.ElementTree as ET
from contextlib import closing
from pathlib import Path

import pytest
from cli_helpers import run_cli

from alc_data.testing.annotate import open_round_workspace
from alc_data.answers.label_studio import read_label_studio_export
from alc_data.errors import InvalidInput
from alc_data.queries.create import round_queries
from alc_data.queries.label_studio import export_label_studio, label_studio_tasks
from alc_data.workspace import Workspace

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def ws(tmp_path):
    return open_round_workspace(tmp_path / "ws", budget=6)


def test_tasks_carry_the_query_a_point_and_the_preselected_class(ws, tmp_path, capsys):
    code, out, err = run_cli(capsys, "queries", "export", "-w", ws.root, "--format", "label-studio",
                             "--out", tmp_path / "tasks.json", "--image-url-prefix", "https://data.example/voc/")
    assert code == 0, err
    tasks = json.loads((tmp_path / "tasks.json").read_text())
    queries = round_queries(ws, 1)
    assert len(tasks) == len(queries) == 6
    for task, q in zip(tasks, queries):
        d = task["data"]
        assert d["image"] == f"https://data.example/voc/{ws.catalogue.image_path(q.image_id).name}"
        assert (d["query_id"], d["image_id"], d["superpixel_id"], d["rep_row"], d["rep_col"]) == (
            q.query_id, q.image_id, q.superpixel_id, q.rep_row, q.rep_col)
        assert d["shown_label"] == ws.catalogue.class_names[q.shown_label]
        (pred,) = task["predictions"]
        assert pred["score"] == pytest.approx(q.score)
        point, choice = pred["result"]
        h, w = ws.catalogue.image_record(q.image_id).height, ws.catalogue.image_record(q.image_id).width
        assert point["type"] == "keypointlabels" and point["to_name"] == "image"
        assert point["value"]["x"] == pytest.approx(100 * (q.rep_col + 0.5) / w)
        assert point["value"]["y"] == pytest.approx(100 * (q.rep_row + 0.5) / h)
        assert (point["original_width"], point["original_height"]) == (w, h)
        assert choice["type"] == "choices" and choice["value"]["choices"] == [ws.catalogue.class_names[q.shown_label]]
    assert [t["predictions"][0]["score"] for t in tasks] == sorted((t["predictions"][0]["score"] for t in tasks), reverse=True)
    # without a prefix: Label Studio's local-files URL of the image's path
    assert label_studio_tasks(ws, 1)[0]["data"]["image"].startswith("/data/local-files/?d=")


def test_labeling_config_lists_escaped_classes_and_cant_tell(ws, tmp_path):
    with closing(sqlite3.connect(ws.db_path)) as con, con:  # tampered on purpose, below the stores
        con.execute("UPDATE classes SET name=? WHERE idx=1", (XSS,))
    ws = Workspace.open(ws.root)
    _, config = export_label_studio(ws, tmp_path / "tasks.json")
    text = config.read_text()
    assert XSS not in text  # escaped
    root = ET.fromstring(text)
    choices = root.find("Choices")
    assert choices.get("name") == "answer" and choices.get("toName") == "image"
    assert [c.get("value") for c in choices] == [*ws.catalogue.class_names, "can't tell"]
    assert root.find("KeyPointLabels").get("name") == "pt" and root.find("Image").get("value") == "$image"


def doc_shaped_export(ws) -> str:
    """An export written by hand in the shape of the example in Label Studio's task-format documentation
    ("Label Studio JSON format of annotated tasks"), with a Choices result instead of rectangles and the
    task data our tasks carry; tasks 2-5: several annotations, can't tell, all cancelled, none."""
    q = round_queries(ws, 1)
    names = ws.catalogue.class_names
    other = lambda i: names[(q[i].shown_label + 1) % len(names)]  # noqa: E731
    text = """[
  {
    "id": 1,
    "created_at":"2021-03-09T21:52:49.513742Z",
    "updated_at":"2021-03-09T22:16:08.746926Z",
    "project":83,
    "annotations": [
      {
        "id": "1001",
        "result": [
          {
            "from_name": "answer",
            "id": "Dx_aB91ISN",
            "source": "$image",
            "to_name": "image",
            "type": "choices",
            "value": {
              "choices": ["@0@"]
            }
          }
        ],
        "was_cancelled": false,
        "ground_truth": false,
        "created_at": "2021-03-09T22:16:08.728353Z",
        "updated_at": "2021-03-09T22:16:08.728378Z",
        "lead_time": 4.288,
        "result_count": 0,
        "task": 1,
        "completed_by": 10
      }
    ],
    "data": {
      "image": "https://example.com/opensource/label-studio/1.jpg",
      "query_id": @1@,
      "image_id": "@2@",
      "superpixel_id": @3@
    },
    "predictions": [
      {
        "created_ago": "3 hours",
        "model_version": "model 1",
        "result": [
          {
            "from_name": "answer",
            "id": "t5sp3TyXPo",
            "source": "$image",
            "to_name": "image",
            "type": "choices",
            "value": {
              "choices": ["@4@"]
            }
          }
        ],
        "score": 0.95
      }
    ]
  },
  {
    "id": 2,
    "annotations": [
      {"id": 1002, "result": [{"from_name": "answer", "id": "a1", "to_name": "image", "type": "choices",
        "value": {"choices": ["@5@"]}}], "was_cancelled": false,
        "created_at": "2021-03-09T22:16:08.728353Z", "updated_at": "2021-03-09T22:16:08.728378Z", "task": 2},
      {"id": 1003, "result": [{"from_name": "answer", "id": "a2", "to_name": "image", "type": "choices",
        "value": {"choices": ["@6@"]}}], "was_cancelled": false,
        "created_at": "2021-03-10T09:00:00.000000Z", "updated_at": "2021-03-10T09:00:00.000000Z", "task": 2},
      {"id": 1004, "result": [{"from_name": "answer", "id": "a3", "to_name": "image", "type": "choices",
        "value": {"choices": ["@7@"]}}], "was_cancelled": true,
        "created_at": "2021-03-11T09:00:00.000000Z", "updated_at": "2021-03-11T09:00:00.000000Z", "task": 2}
    ],
    "data": {"image": "https://example.com/2.jpg", "query_id": @8@, "image_id": "@9@",
              "superpixel_id": @sp1@},
    "predictions": []
  },
  {
    "id": 3,
    "annotations": [
      {"id": 1005, "result": [{"from_name": "answer", "id": "a4", "to_name": "image", "type": "choices",
        "value": {"choices": ["can't tell"]}}], "was_cancelled": false, "task": 3}
    ],
    "data": {"image": "https://example.com/3.jpg", "query_id": @10@, "image_id": "@11@",
              "superpixel_id": @sp2@}
  },
  {
    "id": 4,
    "annotations": [
      {"id": 1006, "result": [], "was_cancelled": true, "task": 4}
    ],
    "data": {"image": "https://example.com/4.jpg", "query_id": @12@, "image_id": "@13@",
              "superpixel_id": @sp3@}
  },
  {
    "id": 5,
    "annotations": [],
    "data": {"image": "https://example.com/5.jpg", "query_id": @14@, "image_id": "@15@",
              "superpixel_id": @sp4@}
  }
]
"""
    values = {
        "@0@": names[q[0].shown_label],
        "@1@": q[0].query_id,
        "@2@": q[0].image_id,
        "@3@": q[0].superpixel_id,
        "@4@": names[q[0].shown_label],
        "@5@": names[q[1].shown_label],
        "@6@": other(1),
        "@7@": names[q[1].shown_label],
        "@8@": q[1].query_id,
        "@9@": q[1].image_id,
        "@10@": q[2].query_id,
        "@11@": q[2].image_id,
        "@12@": q[3].query_id,
        "@13@": q[3].image_id,
        "@14@": q[4].query_id,
        "@15@": q[4].image_id,
        "@sp1@": q[1].superpixel_id,
        "@sp2@": q[2].superpixel_id,
        "@sp3@": q[3].superpixel_id,
        "@sp4@": q[4].superpixel_id,
    }
    for key, value in values.items():  # @1@ never matches inside @10@: the closing @ differs
        text = text.replace(key, str(value))
    return text


def test_an_export_shaped_like_the_documentation_is_applied(ws, tmp_path, capsys):
    path = tmp_path / "export.json"
    path.write_text(doc_shaped_export(ws))
    q = round_queries(ws, 1)
    code, out, err = run_cli(capsys, "correct", "-w", ws.root, "--answers", path)
    assert code == 0, err
    assert "3 answers recorded" in out and "labels v1" in out
    rows = sorted((a.query_id, a.status.value, a.answer_class, a.source) for a in ws.ledger.answers(1).values())
    assert rows == [
        (q[0].query_id, "accepted", q[0].shown_label, "label-studio:export.json"),
        (q[1].query_id, "corrected", (q[1].shown_label + 1) % ws.catalogue.num_classes, "label-studio:export.json"),  # latest not cancelled
        (q[2].query_id, "unanswerable", None, "label-studio:export.json"),
    ]  # tasks 4 (all cancelled) and 5 (no annotation) stay open


def test_an_export_derived_from_the_task_file_is_applied(ws, tmp_path, capsys):
    """What Label Studio exports after a person accepted every preselected prediction but changed one."""
    tasks_path, _ = export_label_studio(ws, tmp_path / "tasks.json")
    tasks = json.loads(tasks_path.read_text())
    names = ws.catalogue.class_names
    for n, task in enumerate(tasks, start=1):
        result = copy.deepcopy(task["predictions"][0]["result"])
        if n == 2:
            shown = names.index(task["data"]["shown_label"])
            result[1]["value"]["choices"] = [names[(shown + 2) % len(names)]]
        task["id"] = n
        task["annotations"] = [{"id": 100 + n, "result": result, "was_cancelled": False, "lead_time": 3.1, "task": n}]
    path = tmp_path / "project-1-at-2026-11-30.json"
    path.write_text(json.dumps(tasks))
    code, out, err = run_cli(capsys, "correct", "-w", ws.root, "--answers", path)
    assert code == 0, err
    counts = {s.value: n for s, n in ws.ledger.status_counts(1).items()}
    assert counts == {"accepted": 5, "corrected": 1}
    assert ws.ledger.round(1).output_version == "v1"


def test_bad_tasks_are_named_by_position_and_nothing_is_applied(ws, tmp_path):
    tasks_path, _ = export_label_studio(ws, tmp_path / "tasks.json")
    tasks = json.loads(tasks_path.read_text())
    for task in tasks:
        task["annotations"] = [{"result": task["predictions"][0]["result"], "was_cancelled": False}]
    tasks[1]["data"]["image_id"] = "someone_elses_image"
    tasks[2]["annotations"][0]["result"][1]["value"]["choices"] = ["giraffe"]
    tasks[3]["data"] = {"image": "x.jpg"}
    tasks[4]["data"]["workspace"] = "alc-demo@2020-01-01T00:00:00+00:00"
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks, indent=2))
    lines = path.read_text().splitlines()
    starts = [i + 1 for i, line in enumerate(lines) if line == "  {"]
    with pytest.raises(InvalidInput) as info:
        read_label_studio_export(ws, path, round_no=1)
    msg = str(info.value)
    assert "4 bad task(s), nothing applied" in msg
    assert f"task 2 (line {starts[1]}): image 'someone_elses_image'" in msg
    assert f"task 3 (line {starts[2]}): unknown class 'giraffe'" in msg
    assert f"task 4 (line {starts[3]}): no data.query_id" in msg
    assert f"task 5 (line {starts[4]}): a task from workspace 'alc-demo@2020-01-01T00:00:00+00:00', not this one" in msg
    assert ws.ledger.answers(1) == {}
    path.write_text("{}")
    with pytest.raises(InvalidInput, match="expected a list of tasks"):
        read_label_studio_export(ws, path, round_no=1)


def test_a_task_from_another_round_is_an_error(tmp_path, capsys):
    root = tmp_path / "old"
    shutil.copytree(Path(__file__).parent / "data" / "workspace-0.1.0", root)
    ws = Workspace.open(root)
    tasks = label_studio_tasks(ws, 1)
    for task in tasks:
        task["annotations"] = [{"result": task["predictions"][0]["result"], "was_cancelled": False}]
    path = tmp_path / "round1.json"
    path.write_text(json.dumps(tasks[:2], indent=1))
    code, out, err = run_cli(capsys, "correct", "-w", root, "--answers", path, "--round", "2")
    assert code == 2 and err.count("\n") == 1
    assert f"task 1 (line 2): query {tasks[0]['data']['query_id']} belongs to round 1, not round 2" in err


def test_label_studio_tasks_under_another_name_than_json_are_refused(tmp_path, capsys):
    """Red team, session 7: `--format label-studio --out x.csv` wrote JSON under a .csv name (and `correct
    --answers x.csv` would then read it as a CSV); the CSV export already refused a .json name."""
    ws = open_round_workspace(tmp_path / "ws", n_train=2, size=(32, 32), budget=3)
    code, _, err = run_cli(capsys, "queries", "export", "-w", ws.root, "--format", "label-studio", "--out", tmp_path / "x.csv")
    assert code == 2 and "name the file x.json" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "x.config.xml").exists()
