"""Scoring from predictions of any model: a folder of .npy/.npz files (probabilities or logits) or an
iterable of (image_id, probs); the same table as in memory; every bad file is one line, nothing registered."""

from __future__ import annotations

import json

import numpy as np
import pytest

from alc_data.errors import AlcError
from alc_data.predictions import save_prediction, softmax
from alc_data.score_round import score_probabilities
from cli_helpers import run_cli


def _logits(ws, seed: int = 0) -> dict[str, np.ndarray]:
    """Deterministic (K, H, W) float32 logits per training image."""
    rng = np.random.default_rng(seed)
    out = {}
    for image_id in ws.catalogue.image_ids("train"):
        rec = ws.catalogue.image_record(image_id)
        out[image_id] = (3 * rng.standard_normal((ws.catalogue.num_classes, int(rec.height), int(rec.width)))).astype(np.float32)
    return out


def _table(ws, rnd: int):
    from alc_data.scoring import ScoreTable

    path = ws.root / ws.ledger.round(rnd).score_table
    return ScoreTable.from_parquet(path).to_dict()


def _queries(ws, rnd: int):
    return [(q.image_id, q.superpixel_id, q.rank) for q in ws.ledger.queries(rnd)]


def _rounds(ws) -> int:
    return len(ws.ledger.rounds())


def _same_tables(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(np.asarray(a[key]), np.asarray(b[key])), key


def test_npz_folder_scores_like_the_same_probabilities_in_memory(demo_ws, tmp_path, capsys):
    ws = demo_ws
    probs = {i: softmax(x) for i, x in _logits(ws).items()}
    folder = tmp_path / "preds"
    for image_id, p in probs.items():
        save_prediction(folder, image_id, p, dtype=np.float32, compressed=True)
    # in memory (the Python entry point), then the same probabilities through the command line
    mem = score_probabilities(ws, probs.items(), budget=7, superpixel_set="sam")
    code, out, err = run_cli(capsys, "score", "-w", ws.root, "--predictions", folder, "--budget", 7,
                             "--superpixels", "sam", "--no-skip-asked", "--json")
    assert code == 0, err
    files = json.loads(out)
    assert (mem.round, files["round"]) == (1, 2)
    assert mem.candidates == files["candidates"] > 7
    _same_tables(_table(ws, 1), _table(ws, 2))
    assert _queries(ws, 1) == _queries(ws, 2) and len(_queries(ws, 1)) == 7
    params = ws.ledger.round(2).params
    assert params["predictions"] == str(folder.resolve()) and params["logits"] is False


def test_logits_files_float16_and_npy(demo_ws, tmp_path, capsys):
    ws = demo_ws
    logits = _logits(ws, seed=1)
    folder = tmp_path / "logits"
    folder.mkdir()
    for n, (image_id, x) in enumerate(logits.items()):
        if n % 2:
            np.save(folder / f"{image_id}.npy", x.astype(np.float16))
        else:
            np.savez(folder / f"{image_id}.npz", logits=x.astype(np.float16), other=np.zeros(3))
    code, out, err = run_cli(capsys, "score", "-w", ws.root, "--predictions", folder, "--logits", "--budget", 5,
                             "--superpixels", "sam", "--json")
    assert code == 0, err
    # the same float16 logits in memory, softmax applied by the entry point
    half = {i: x.astype(np.float16).astype(np.float32) for i, x in logits.items()}
    score_probabilities(ws, half.items(), logits=True, budget=5, superpixel_set="sam", skip_asked=False)
    _same_tables(_table(ws, 1), _table(ws, 2))
    # probabilities expected but logits given: one line pointing at --logits
    code, _, err = run_cli(capsys, "score", "-w", ws.root, "--predictions", folder, "--budget", 5, "--superpixels", "sam")
    assert code == 2 and "not probabilities" in err and "--logits" in err and err.count("\n") == 1, err


def _bad_cases(ws, folder):
    """(what to plant, expected message) – each breaks exactly one file of a good folder."""
    first, second = ws.catalogue.image_ids("train")[:2]
    k = ws.catalogue.num_classes
    rec = ws.catalogue.image_record(first)
    h, w = int(rec.height), int(rec.width)
    good = np.full((k, h, w), 1.0 / k, dtype=np.float32)
    nan = good.copy()
    nan[0, 3, 4] = np.nan
    return [
        (lambda: (folder / f"{first}.npz").unlink(), f"{first}.npy (or .npz): no predictions for image '{first}'"),
        (lambda: np.savez(folder / f"{first}.npz", probs=good[:-1]), f"{first}.npz: expected shape (K, H, W) = ({k}, {h}, {w})"),
        (lambda: np.savez(folder / f"{first}.npz", probs=good[:, :-2]), "got (%d, %d, %d)" % (k, h - 2, w)),
        (lambda: np.savez(folder / f"{first}.npz", probs=good.astype(np.float64)), f"{first}.npz: dtype float64; write float16 or float32"),
        (lambda: np.save(folder / f"{second}.npy", good), f"{second}.npy and {second}.npz both exist"),
        (lambda: np.savez(folder / f"{second}.npz", probs=nan), f"{second}.npz: contains NaN or inf"),
        (lambda: (folder / f"{first}.npz").write_bytes(b"not a zip"), f"{first}.npz: not a readable numpy .npz file"),
    ]


def test_bad_prediction_files_are_one_line_and_register_nothing(demo_ws, tmp_path, capsys):
    ws = demo_ws
    folder = tmp_path / "preds"
    for image_id, x in _logits(ws).items():
        save_prediction(folder, image_id, softmax(x))
    for n, (plant, message) in enumerate(_bad_cases(ws, folder)):
        snapshot = {p.name: p.read_bytes() for p in folder.iterdir()}
        plant()
        code, out, err = run_cli(capsys, "score", "-w", ws.root, "--predictions", folder, "--budget", 3, "--superpixels", "sam")
        assert code == 2 and err.startswith("error: ") and message in err and err.count("\n") == 1, (n, err)
        assert _rounds(ws) == 0 and not list((ws.root / "rounds").glob("*/scores.parquet")), n
        for p in folder.iterdir():
            p.unlink()
        for name, data in snapshot.items():
            (folder / name).write_bytes(data)
    code, _, err = run_cli(capsys, "score", "-w", ws.root, "--predictions", folder, "--model", folder, "--budget", 3)
    assert code == 2 and "one of the two" in err


def test_in_memory_entry_point_checks_its_input(demo_ws):
    ws = demo_ws
    probs = {i: softmax(x) for i, x in _logits(ws).items()}
    ids = list(probs)
    cases = [
        ([(ids[0], probs[ids[0]]), (ids[0], probs[ids[0]])], "given twice"),
        ([("nope", probs[ids[0]])], "'nope': not an image of the scored split"),
        ([(ids[0], probs[ids[0]][:, 1:])], "expected shape"),
        ([(i, probs[i]) for i in ids[:-1]], f"no probabilities for 1 image(s) of the scored split (first: '{ids[-1]}')"),
    ]
    for pairs, message in cases:
        with pytest.raises(AlcError, match=message.replace("(", r"\(").replace(")", r"\)")):
            score_probabilities(ws, pairs, budget=3, superpixel_set="sam")
        assert _rounds(ws) == 0
    torch = pytest.importorskip("torch")
    res = score_probabilities(ws, ((i, torch.from_numpy(p)) for i, p in probs.items()), budget=3, superpixel_set="sam")
    assert res.round == 1 and res.selected == 3
