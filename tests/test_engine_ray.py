"""--engine ray: score (every acquisition), superpixels (SLIC, SAM) and Grounded-SAM pseudo labels on a
local Ray instance give exactly the local engine's results; an actor killed in the middle changes nothing;
a run interrupted on one engine resumes on the other; without Ray, one line naming the extra."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from alc_data.engine.ray_pseudo_label import PseudoLabelActor, pseudo_label_ray
from alc_data.engine.ray_score import ScoreActor, score_shards_ray
from alc_data.predictions import save_prediction, softmax
from alc_data.scoring import ACQUISITIONS, ScoreTable
from alc_data.scoring.shards import merge_shards, ordered_shards
from cli_helpers import run_cli

ray = pytest.importorskip("ray", reason='needs the ray extra: pip install "alc-data[ray]"')


@pytest.fixture(scope="module", autouse=True)
def ray_instance():
    os.environ["RAY_DISABLE_USAGE_STATS"] = "1"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=200_000_000,
             configure_logging=False)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the test's actor classes travel by value
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """A demo workspace and a folder of seeded probabilities for its training images."""
    from alc_data.demo import build_demo_workspace

    root = tmp_path_factory.mktemp("ray")
    ws = build_demo_workspace(root / "ws", n_train=10, n_val=2, size=(40, 48), seed=0)
    rng = np.random.default_rng(0)
    folder = root / "preds"
    for image_id in ws.catalogue.image_ids("train"):
        rec = ws.catalogue.image_record(image_id)
        logits = 3 * rng.standard_normal((ws.catalogue.num_classes, int(rec.height), int(rec.width)))
        save_prediction(folder, image_id, softmax(logits.astype(np.float32)), dtype=np.float32)
    return ws, folder


def _round(ws, rnd: int) -> tuple[ScoreTable, list[tuple[str, int, int]]]:
    r = ws.ledger.round(rnd)
    return (ScoreTable.from_parquet(ws.root / r.score_table),
            [(q.image_id, q.superpixel_id, q.rank) for q in ws.ledger.queries(rnd)])


def _score(capsys, ws, folder, acquisition: str, *engine: str) -> int:
    code, out, err = run_cli(capsys, "score", "-w", ws.root, "--predictions", folder, "--budget", 6, "-a", acquisition,
                             "--superpixels", "sam", "--no-skip-asked", "--json", *engine)
    assert code == 0, err
    return json.loads(out)["round"]


@pytest.mark.parametrize("acquisition", ACQUISITIONS.names())
def test_score_on_ray_equals_local(scored, capsys, acquisition):
    ws, folder = scored
    local = _score(capsys, ws, folder, acquisition)
    on_ray = _score(capsys, ws, folder, acquisition, "--engine", "ray")
    table_local, queries_local = _round(ws, local)
    table_ray, queries_ray = _round(ws, on_ray)
    assert len(table_local) > 0 and table_ray.equals(table_local)
    assert queries_ray == queries_local
    assert ws.ledger.round(on_ray).params["engine"] == "ray"
    assert not list((ws.root / "rounds").glob(".scores.*"))  # staging shards removed


def test_score_from_a_checkpoint_on_ray_equals_local(scored, capsys, tmp_path):
    import torch

    from alc_data.models import build_model
    from alc_data.train import save_checkpoint

    ws, _ = scored
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "model.pt", {
        "model_name": "demo-tiny", "num_classes": ws.catalogue.num_classes, "class_names": ws.catalogue.class_names,
        "model": build_model("demo-tiny", ws.catalogue.num_classes).state_dict(), "iteration": 0})
    rounds = []
    for engine in ("local", "ray"):  # one image per forward pass: the same arithmetic in any batch layout
        code, out, err = run_cli(capsys, "score", "-w", ws.root, "--model", ckpt, "--budget", 5, "--superpixels", "sam",
                                 "--no-skip-asked", "--batch-size", 1, "--engine", engine, "--json")
        assert code == 0, err
        rounds.append(_round(ws, json.loads(out)["round"]))
    (table_local, queries_local), (table_ray, queries_ray) = rounds
    assert len(table_local) > 0 and table_ray.equals(table_local)
    assert queries_ray == queries_local


def dies_once(actor_class: type, marker: Path) -> type:
    """``actor_class`` whose first batch is done (its files written), then its process dies; once only:
    the ``marker`` file remembers."""

    class DiesOnce(actor_class):
        def __call__(self, batch):
            out = super().__call__(batch)
            if not marker.exists():
                marker.write_text(str(os.getpid()))
                os._exit(1)
            return out

    return DiesOnce


def test_an_actor_killed_in_the_middle_changes_nothing(scored, capsys, tmp_path):
    ws, folder = scored
    local = _score(capsys, ws, folder, "sim")
    table_local, _ = _round(ws, local)
    ids = ws.catalogue.image_ids("train")
    from alc_data.scoring.acquisitions import check_acquisition
    from alc_data.scoring.pool import Representative
    from alc_data.scoring.stream import ImageScoring

    scoring = ImageScoring("v0", "sam", check_acquisition("sim"), 0, Representative.POOL)
    staging = tmp_path / "shards"
    staging.mkdir()
    shards = score_shards_ray(ws, ids, staging, source={"predictions": str(folder), "logits": False}, scoring=scoring,
                              concurrency=2, actor_class=dies_once(ScoreActor, tmp_path / "died"), images_per_batch=3)
    assert (tmp_path / "died").exists()  # an actor did die
    paths = [s.path for s in ordered_shards(shards, len(ids))]
    merge_shards(paths, tmp_path / "scores.parquet")
    assert ScoreTable.from_parquet(tmp_path / "scores.parquet").equals(table_local)


def test_superpixels_on_ray_equal_local(scored, capsys):
    ws, _ = scored
    for name, engine in (("slic_local", ()), ("slic_ray", ("--engine", "ray"))):
        code, _, err = run_cli(capsys, "superpixels", "-w", ws.root, "-m", "slic", "--name", name,
                               "--param", "n_segments=20", *engine)
        assert code == 0, err
    for image_id in ws.catalogue.image_ids():
        assert np.array_equal(ws.superpixels.read_superpixels("slic_ray", image_id), ws.superpixels.read_superpixels("slic_local", image_id))
    assert not list((ws.root / "superpixels").glob(".*"))  # staging removed


def test_without_ray_engine_ray_is_one_line_naming_the_extra(scored, capsys, monkeypatch):
    ws, folder = scored
    rounds = len(ws.ledger.rounds())
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    code, _, err = run_cli(capsys, "score", "-w", ws.root, "--predictions", folder, "--budget", 2, "--engine", "ray")
    assert code == 2 and len(err.strip().splitlines()) == 1 and 'pip install "alc-data[ray]"' in err, err
    assert len(ws.ledger.rounds()) == rounds
    code, _, err = run_cli(capsys, "score", "-w", ws.root, "--predictions", folder, "--budget", 2, "--engine", "spark")
    assert code == 2 and "--engine 'spark' is unknown" in err, err


def test_workspace_checks_clean_after_ray_runs(scored, assert_workspace_ok):
    assert_workspace_ok(scored[0])


def test_a_bad_file_found_by_an_actor_is_one_line_and_nothing_registered(scored, capsys, tmp_path):
    ws, folder = scored
    bad = tmp_path / "preds"
    for path in folder.iterdir():
        (bad / path.name).parent.mkdir(exist_ok=True)
        (bad / path.name).write_bytes(path.read_bytes())
    first = ws.catalogue.image_ids("train")[3]
    probs = np.load(bad / f"{first}.npz")["probs"].copy()
    probs[0, 0, 0] = np.nan  # the header is fine: only the actor reading the data finds it
    save_prediction(bad, first, probs, dtype=np.float32)
    rounds = len(ws.ledger.rounds())
    code, _, err = run_cli(capsys, "score", "-w", ws.root, "--predictions", bad, "--budget", 2, "--engine", "ray")
    assert code == 2 and len(err.strip().splitlines()) == 1 and first in err, err
    assert len(ws.ledger.rounds()) == rounds
    assert not list((ws.root / "rounds").glob(".scores.*"))


# ------------------------------------------------------------------ Grounded-SAM and SAM on actors
@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    from alc_data.testing.foundation import build_tiny_grounding_dino, build_tiny_sam_pth

    root = tmp_path_factory.mktemp("models")
    return {"dino": build_tiny_grounding_dino(root / "dino"), "sam": build_tiny_sam_pth(root / "sam_tiny.pth")}


def _pseudo_label(capsys, ws, models, name: str, *extra) -> dict:
    code, out, err = run_cli(capsys, "pseudo-label", "-w", ws.root, "--detector", models["dino"], "--sam", models["sam"],
                             "--device", "cpu", "--batch-size", 3, "--box-threshold", 0.05, "--version", name,
                             "--instances-set", f"gsam_{name}", "--json", *extra)
    assert code == 0, err
    return json.loads(out)


def _same_pseudo_labels(ws, a: str, b: str) -> None:
    for image_id in ws.catalogue.image_ids():
        assert np.array_equal(ws.labels.read_label(a, image_id), ws.labels.read_label(b, image_id)), image_id
        assert np.array_equal(ws.superpixels.read_superpixels(f"gsam_{a}", image_id), ws.superpixels.read_superpixels(f"gsam_{b}", image_id))


def test_pseudo_labels_on_ray_equal_local(scored, capsys, tiny_models):
    ws, _ = scored
    local = _pseudo_label(capsys, ws, tiny_models, "pl_local")
    on_ray = _pseudo_label(capsys, ws, tiny_models, "pl_ray", "--engine", "ray")
    assert local["boxes"] > 0 and on_ray["computed"] == on_ray["images"] == len(ws.catalogue.image_ids())
    assert {k: on_ray[k] for k in ("boxes", "boxes_per_class", "mask_coverage")} == \
        {k: local[k] for k in ("boxes", "boxes_per_class", "mask_coverage")}
    _same_pseudo_labels(ws, "pl_local", "pl_ray")
    assert not (ws.root / "pseudo").exists()  # staging removed


def test_a_pseudo_label_actor_killed_in_the_middle_changes_nothing(scored, capsys, tiny_models, tmp_path):
    from alc_data.foundation.grounded_sam import load_staged

    ws, _ = scored
    if "pl_local" not in {v.name for v in ws.labels.label_versions()}:
        _pseudo_label(capsys, ws, tiny_models, "pl_local")
    version = ws.labels.version("pl_local")
    models = {"detector": tiny_models["dino"], "sam": tiny_models["sam"], "device": "cpu"}
    options = {"prompts": [(i, p) for i, p in enumerate(ws.catalogue.class_names) if p in version.params["prompts"].values()],
               "box_threshold": 0.05, "text_threshold": None, "nms_iou": 0.5,
               "background": version.params["background_label"]}
    stage = tmp_path / "stage"
    stage.mkdir()
    pseudo_label_ray(ws, ws.catalogue.image_ids(), stage, models=models, options=options, batch_size=3, concurrency=2,
                     actor_class=dies_once(PseudoLabelActor, tmp_path / "died"))
    assert (tmp_path / "died").exists()  # an actor did die
    assert sorted(p.stem for p in stage.glob("*.npz")) == sorted(ws.catalogue.image_ids())
    for image_id in ws.catalogue.image_ids():
        res = load_staged(stage / f"{image_id}.npz")
        assert np.array_equal(res["labels"], ws.labels.read_label("pl_local", image_id)), image_id
        assert np.array_equal(res["instances"], ws.superpixels.read_superpixels("gsam_pl_local", image_id))


def test_a_run_interrupted_on_one_engine_resumes_on_the_other(scored, capsys, tiny_models, monkeypatch):
    from alc_data import pseudo_label as pl
    from alc_data.workspace.check import check_workspace

    ws, _ = scored
    if "pl_local" not in {v.name for v in ws.labels.label_versions()}:
        _pseudo_label(capsys, ws, tiny_models, "pl_local")
    real, calls = pl.pseudo_label_images, []

    def interrupted(images, *a, **k):
        calls.append(len(images))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(images, *a, **k)

    monkeypatch.setattr(pl, "pseudo_label_images", interrupted)
    code, _, err = run_cli(capsys, "pseudo-label", "-w", ws.root, "--detector", tiny_models["dino"], "--sam",
                           tiny_models["sam"], "--device", "cpu", "--batch-size", 3, "--box-threshold", 0.05,
                           "--version", "pl_resumed", "--instances-set", "gsam_pl_resumed")
    assert code == 130, err
    assert len(list((ws.root / "pseudo" / "pl_resumed").glob("*.npz"))) == 3
    notices = check_workspace(ws.root).notices
    assert [n.kind for n in notices] == ["unfinished-run"] and "3 of 12 images staged" in notices[0].message
    monkeypatch.undo()
    res = _pseudo_label(capsys, ws, tiny_models, "pl_resumed", "--engine", "ray")
    assert res["resumed"] == 3 and res["computed"] == len(ws.catalogue.image_ids()) - 3
    _same_pseudo_labels(ws, "pl_local", "pl_resumed")


def test_a_model_an_actor_cannot_load_is_one_line_and_nothing_written(scored, capsys, tiny_models, tmp_path):
    ws, _ = scored
    bad = tmp_path / "sam_vit_b_damaged.pth"
    bad.write_bytes(b"not a checkpoint")
    versions = [v.name for v in ws.labels.label_versions()]
    code, _, err = run_cli(capsys, "pseudo-label", "-w", ws.root, "--detector", tiny_models["dino"], "--sam", bad,
                           "--device", "cpu", "--version", "pl_bad", "--instances-set", "gsam_bad", "--engine", "ray")
    assert code == 2 and len(err.strip().splitlines()) == 1 and bad.name in err, err
    assert [v.name for v in ws.labels.label_versions()] == versions
    assert not (ws.root / "pseudo" / "pl_bad").exists()


def test_sam_superpixels_on_ray_equal_local(scored, capsys, tiny_models):
    ws, _ = scored
    for name, engine in (("samsp_local", ()), ("samsp_ray", ("--engine", "ray"))):
        code, _, err = run_cli(capsys, "superpixels", "-w", ws.root, "-m", "sam", "--sam", tiny_models["sam"],
                               "--name", name, "--param", "device=cpu", "--param", "points_per_side=4",
                               "--param", "pred_iou_thresh=0", "--param", "stability_score_thresh=0", *engine)
        assert code == 0, err
    for image_id in ws.catalogue.image_ids():
        assert np.array_equal(ws.superpixels.read_superpixels("samsp_ray", image_id), ws.superpixels.read_superpixels("samsp_local", image_id))
    assert len(np.unique(ws.superpixels.read_superpixels("samsp_ray", ws.catalogue.image_ids()[0]))) > 1


def flaky_slic(image, *, context, fail_file: str = "", log: str = "", n_segments: int = 20):
    """SLIC that fails on the image named in ``fail_file`` while that file exists, and logs the images it computes."""
    from alc_data.errors import InvalidInput
    from alc_data.superpixels import SUPERPIXEL_METHODS, load_methods

    load_methods()  # in a Ray actor the registry starts empty
    if Path(fail_file).is_file() and Path(fail_file).read_text() == context.image_id:
        raise InvalidInput(f"{context.image_id}: a planted failure")
    with open(log, "a") as f:
        f.write(context.image_id + "\n")
    return SUPERPIXEL_METHODS.get("slic")(image, n_segments=n_segments)


def test_a_stopped_superpixel_run_resumes_where_it_stopped_on_either_engine(scored, capsys, tmp_path, monkeypatch):
    from alc_data.superpixels import SUPERPIXEL_METHODS
    from alc_data.superpixels.base import staging_folder
    from alc_data.workspace.check import check_workspace

    ws, _ = scored
    monkeypatch.setitem(SUPERPIXEL_METHODS._items, "flaky-slic", flaky_slic)
    ids = ws.catalogue.image_ids()
    fail, log = tmp_path / "fail", tmp_path / "computed"
    fail.write_text(ids[7])
    args = ("superpixels", "-w", ws.root, "-m", "flaky-slic", "--name", "slic_resumed", "--param", f"fail_file={fail}",
            "--param", f"log={log}")
    code, _, err = run_cli(capsys, *args, "--engine", "ray")
    assert code == 2 and "a planted failure" in err and len(err.strip().splitlines()) == 1, err
    staged = {p.stem for p in staging_folder(ws, "slic_resumed").glob("*.npz")}
    assert staged and ids[7] not in staged and len(staged) < len(ids)
    report = check_workspace(ws.root)  # a consistent state waiting for its command, not debris
    assert report.ok and [n.kind for n in report.notices] == ["unfinished-run"]
    assert f"{len(staged)} of {len(ids)} images staged" in report.notices[0].message
    code, _, err = run_cli(capsys, *args, "--param", "n_segments=30")
    assert code == 2 and "superpixel maps made with other settings (params)" in err, err
    assert {p.stem for p in staging_folder(ws, "slic_resumed").glob("*.npz")} == staged  # kept
    fail.unlink()
    log.unlink()
    code, _, err = run_cli(capsys, *args)  # the local engine finishes what Ray began
    assert code == 0, err
    assert sorted(log.read_text().split()) == sorted(set(ids) - staged)  # only what the stopped run missed
    for name, engine in (("slic_reference", ()), ("slic_resumed_ray", ("--engine", "ray"))):
        assert run_cli(capsys, "superpixels", "-w", ws.root, "-m", "slic", "--name", name, "--param", "n_segments=20",
                       *engine)[0] == 0
    for image_id in ids:
        reference = ws.superpixels.read_superpixels("slic_reference", image_id)
        assert np.array_equal(ws.superpixels.read_superpixels("slic_resumed", image_id), reference)
        assert np.array_equal(ws.superpixels.read_superpixels("slic_resumed_ray", image_id), reference)
    assert not (ws.root / "staging").exists()


def test_a_second_writer_is_refused_before_any_work_on_ray(scored, capsys, tiny_models):
    from test_integrity import hold_lock

    ws, _ = scored
    holder = hold_lock(ws.root, 60)
    try:
        for args in (("superpixels", "-w", ws.root, "-m", "slic", "--name", "slic_busy"),
                     ("pseudo-label", "-w", ws.root, "--detector", tiny_models["dino"], "--sam", tiny_models["sam"],
                      "--device", "cpu", "--version", "pl_busy", "--instances-set", "gsam_busy")):
            code, _, err = run_cli(capsys, "--no-wait", *args, "--engine", "ray")
            assert code == 2 and f"pid {holder.pid}" in err and len(err.strip().splitlines()) == 1, err
            assert not (ws.root / "staging").exists() and not (ws.root / "pseudo").exists()  # no work was done
    finally:
        holder.kill()
        holder.wait()


def test_errors_on_ray_equals_local(scored, capsys, tmp_path):
    import pyarrow.parquet as pq

    ws, folder = scored
    results = []
    for engine in ("local", "ray"):
        out = tmp_path / engine / "errors.parquet"
        code, stdout, err = run_cli(capsys, "errors", "-w", ws.root, "--predictions", folder, "--superpixels", "sam",
                                    "--out", out, "--engine", engine, "--json")
        assert code == 0, err
        results.append((json.loads(stdout), pq.read_table(out), pq.read_table(out.with_name("errors.images.parquet"))))
    (res_l, table_l, images_l), (res_r, table_r, images_r) = results
    assert res_l["suspects"] > 0 and table_r.equals(table_l) and images_r.equals(images_l)
    assert res_r["metrics"] == res_l["metrics"] and res_r["top"] == res_l["top"]
    assert not list((tmp_path / "ray").glob(".errors.*"))  # staging shards removed
