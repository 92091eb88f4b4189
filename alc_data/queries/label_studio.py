"""Export a round's queries as Label Studio tasks, with the labeling configuration to import them into.

One task per query, in rank order. ``data`` carries the image URL and the query's identity
(``query_id``, ``round``, ``image_id``, ``superpixel_id``, ``rep_row``, ``rep_col``, ``shown_label``,
``workspace``: the workspace's dataset and creation time, and ``workspace_id``: its random id, so an
export is not applied to another);
``predictions`` holds a KeyPointLabels point on the representative pixel (x and y in percent of the
image size, at the pixel's centre, as Label Studio stores points) and a Choices result preselected with
the shown class, with the acquisition score as the prediction's ``score`` (Label Studio's Data Manager
can sort by it). The configuration lists the classes and a "can't tell" choice. Answers come back with
``alc-data correct --answers export.json`` (:mod:`alc_data.answers.label_studio`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import InvalidInput
from alc_data.names import class_name, unanswerable_choice
from alc_data.queries.export import WORKSPACE_ID_COLUMN
from alc_data.workspace import Workspace

KEYPOINT_FROM = "pt"
CHOICES_FROM = "answer"
IMAGE_TO = "image"


def workspace_tag(ws: Workspace) -> str:
    """Which workspace a task comes from: its dataset name and creation time (kept by copies)."""
    return f"{ws.catalogue.meta('dataset')}@{ws.catalogue.meta('created_at')}"


def image_url(ws: Workspace, image_id: str, prefix: str | None) -> str:
    """``prefix/<file name>``, or without a prefix Label Studio's local-files URL of the image's path."""
    path = ws.catalogue.image_path(image_id)
    if prefix:
        return f"{prefix.rstrip('/')}/{quote(path.name)}"
    return "/data/local-files/?d=" + quote(str(path).lstrip("/"))


def label_studio_tasks(ws: Workspace, round_no: int, *, image_url_prefix: str | None = None) -> list[dict[str, Any]]:
    """The round's queries as Label Studio task dicts (see the module docstring)."""
    from alc_data.queries.create import round_queries

    names = ws.catalogue.class_names
    tag, workspace_id = workspace_tag(ws), ws.catalogue.workspace_id
    acquisition = ws.ledger.round(round_no).acquisition
    tasks = []
    for q in round_queries(ws, round_no):
        rec = ws.catalogue.image_record(q.image_id)
        h, w = rec.height, rec.width
        shown = class_name(q.shown_label, names)
        result: list[dict[str, Any]] = [{
            "id": f"q{q.query_id}-pt", "from_name": KEYPOINT_FROM, "to_name": IMAGE_TO, "type": "keypointlabels",
            "original_width": w, "original_height": h, "image_rotation": 0,
            "value": {"x": 100.0 * (q.rep_col + 0.5) / w, "y": 100.0 * (q.rep_row + 0.5) / h, "width": 1,
                      "keypointlabels": ["query"]},
        }]
        if q.shown_label != IGNORE_INDEX:
            result.append({"id": f"q{q.query_id}-answer", "from_name": CHOICES_FROM, "to_name": IMAGE_TO,
                           "type": "choices", "value": {"choices": [shown]}})
        tasks.append({
            "data": {
                "image": image_url(ws, q.image_id, image_url_prefix), "query_id": q.query_id, "round": q.round,
                "rank": q.rank, "image_id": q.image_id, "superpixel_id": q.superpixel_id,
                "rep_row": q.rep_row, "rep_col": q.rep_col, "shown_label": shown, "workspace": tag,
                WORKSPACE_ID_COLUMN: workspace_id,
            },
            "predictions": [{"model_version": f"alc-data round {round_no} ({acquisition})", "score": q.score,
                             "result": result}],
        })
    return tasks


def labeling_config(ws: Workspace) -> str:
    """Label Studio labeling configuration (XML): the image, the point, the shown class, the choices."""
    lines = [
        "<View>",
        '  <Header value="Is the starred pixel of the shown class? If not, choose the right one."/>',
        f'  <Image name="{IMAGE_TO}" value="$image" zoom="true" zoomControl="true"/>',
        f'  <KeyPointLabels name="{KEYPOINT_FROM}" toName="{IMAGE_TO}" smart="false">',
        '    <Label value="query" background="#ff2bd6"/>',
        "  </KeyPointLabels>",
        '  <Text name="shown" value="shown label: $shown_label"/>',
        f'  <Choices name="{CHOICES_FROM}" toName="{IMAGE_TO}" choice="single" required="true">',
    ]
    for c in ws.catalogue.classes:
        lines.append(f"    <Choice value={quoteattr(c.name)} background={quoteattr('#%02x%02x%02x' % c.color)}/>")
    cant_tell = unanswerable_choice(ws.catalogue.class_names)  # never a class's name
    lines += [f"    <Choice value={quoteattr(cant_tell)}/>", "  </Choices>", "</View>", ""]
    return "\n".join(lines)


def export_label_studio(
    ws: Workspace,
    out: str | os.PathLike,
    *,
    round_no: int | None = None,
    image_url_prefix: str | None = None,
    overwrite: bool = False,
) -> tuple[Path, Path]:
    """Write the tasks to ``out`` (JSON) and the labeling config beside it (``<stem>.config.xml``).

    Refuses a name that does not end in ``.json``, paths inside the workspace and existing files unless
    ``overwrite``."""
    from alc_data.io.atomic import atomic_write_bytes
    from alc_data.io.outputs import check_output
    from alc_data.queries.create import check_round

    out = Path(out)
    config = out.with_name(f"{out.stem}.config.xml")
    check_output(out, ws.root, overwrite=overwrite, file=True)
    if out.suffix.lower() != ".json":  # the tasks are JSON; Label Studio's import and `correct` go by the suffix
        raise InvalidInput(f"--out {out}: Label Studio tasks are JSON; name the file {out.with_suffix('.json').name}")
    check_output(config, ws.root, overwrite=overwrite, file=True)
    rnd = check_round(ws, round_no)
    atomic_write_bytes(out, (json.dumps(label_studio_tasks(ws, rnd, image_url_prefix=image_url_prefix), indent=1) + "\n").encode(), shared=True)
    atomic_write_bytes(config, labeling_config(ws).encode(), shared=True)
    return out, config
