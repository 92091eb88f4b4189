"""The ablation switches through the normal commands: --representative on score, loop.expand and
loop.representative in a recipe run."""

from __future__ import annotations

import json

import numpy as np
from cli_helpers import invoke


def cli(capsys, *args):
    res = invoke(capsys, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res


def test_score_representative_random_is_seeded_and_stored(demo_ws, capsys):
    ws = demo_ws
    w = ["-w", ws.root]
    out = cli(capsys, "train", *w, "--model", "demo-tiny", "--iterations", 4, "--batch-size", 4, "--crop-size", 48, "--json")
    ckpt = json.loads(out.stdout)["checkpoint"]
    reps = {}
    for rep in ("pool", "random"):
        res = json.loads(cli(capsys, "score", *w, "--model", ckpt, "--budget", 5, "--representative", rep,
                             "--no-skip-asked", "--seed", 3, "--superpixels", "sam", "--json").stdout)
        assert res["representative"] == rep
        params = ws.ledger.round(res["round"]).params
        assert params["representative"] == rep
        from alc_data.scoring import ScoreTable

        t = ScoreTable.from_parquet(res["score_table"])
        reps[rep] = {(i, int(s)): (int(r), int(c)) for i, s, r, c in zip(t.image_id, t.superpixel_id, t.rep_row, t.rep_col)}
        for (image_id, s), (r, c) in list(reps[rep].items())[:50]:
            assert ws.superpixels.read_superpixels("sam", image_id)[r, c] == s  # the representative lies in its superpixel
    assert reps["pool"].keys() == reps["random"].keys()
    assert sum(reps["pool"][k] != reps["random"][k] for k in reps["pool"]) > len(reps["pool"]) // 4
    res = invoke(capsys, ["score", *map(str, w), "--model", ckpt, "--budget", 5, "--representative", "median"])
    assert res.exit_code == 2 and "--representative 'median' is unknown" in res.output


def test_recipe_run_with_label_expansion_and_random_representative(tmp_path, capsys):
    ws = tmp_path / "ws"
    cli(capsys, "run", "demo", "-w", ws, "--name", "abl",
        "--set", "data.n_train=8", "--set", "data.n_val=2", "--set", "data.size=32",
        "--set", "train.iterations=3", "--set", "train.batch_size=4", "--set", "train.crop_size=32",
        "--set", "loop.rounds=1", "--set", "loop.budget=6", "--set", "loop.batch_size=4",
        "--set", "loop.final_train=false", "--set", "loop.expand=label", "--set", "loop.representative=random")
    from alc_data.workspace import Workspace

    w = Workspace.open(ws)
    assert w.labels.version("v1").params["expand"] == "label"
    params = w.ledger.round(1).params
    assert params["representative"] == "random"
    recipe = json.loads((ws / "runs" / "abl" / "recipe.json").read_text())
    assert recipe["loop"]["expand"] == "label" and recipe["loop"]["representative"] == "random"
    assert np.isfinite(json.loads((ws / "runs" / "abl" / "rounds.json").read_text())["rounds"][-1]["data_miou"])
