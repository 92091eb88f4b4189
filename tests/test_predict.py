"""Prediction: full-resolution probabilities for odd and non-square images, streamed in order."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from alc_data.errors import AlcError

torch = pytest.importorskip("torch")


SIZES = [(29, 37), (33, 33), (45, 30), (17, 50), (40, 24)]  # (H, W): odd, non-square, both orientations


def sized_workspace(root: Path, num_classes: int = 4):
    from PIL import Image

    from alc_data.ingest.base import DatasetSource, IngestItem, ingest
    from alc_data.workspace import ClassInfo

    rng = np.random.default_rng(0)

    def items():
        for i, (h, w) in enumerate(SIZES):
            buf = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)).save(buf, format="PNG")
            gt = rng.integers(0, num_classes, size=(h, w)).astype(np.uint8)
            yield IngestItem(image_id=f"s{i}", image_path=Path(f"s{i}.png"), splits=("val",), gt=gt,
                             image_bytes=buf.getvalue())

    classes = [ClassInfo(i, f"c{i}", (10 * i, 20, 30)) for i in range(num_classes)]
    return ingest(root, DatasetSource("sized", classes, items, count=len(SIZES)))


@pytest.fixture(scope="module")
def sized(tmp_path_factory):
    """(workspace, checkpoint of a 4-class demo-tiny model with random weights)."""
    from alc_data.models import build_model
    from alc_data.train import save_checkpoint

    root = tmp_path_factory.mktemp("sized")
    ws = sized_workspace(root / "ws")
    torch.manual_seed(0)
    model = build_model("demo-tiny", 4)
    ckpt = save_checkpoint(root / "model.pt", {"model_name": "demo-tiny", "num_classes": 4, "class_names": ws.catalogue.class_names,
                                               "model": model.state_dict(), "iteration": 0})
    return ws, ckpt


@pytest.mark.parametrize("batch_size", [1, 3])
def test_probabilities_full_resolution_sum_to_one_in_order(sized, batch_size):
    from alc_data.predict import iter_probabilities

    ws, ckpt = sized
    ids = ws.catalogue.image_ids()[::-1]  # any order: yielded in the order asked
    out = list(iter_probabilities(ws, ckpt, ids, batch_size=batch_size, device="cpu"))
    assert [i for i, _ in out] == ids
    for image_id, probs in out:
        h, w = SIZES[int(image_id[1:])]
        assert isinstance(probs, torch.Tensor) and probs.device.type == "cpu"
        assert probs.shape == (4, h, w) and probs.dtype == torch.float32
        assert torch.allclose(probs.sum(0), torch.ones(h, w), atol=1e-5)
        assert (probs >= 0).all()
        # a random model still varies over the image: these are per-pixel maps, not one broadcast vector
        assert float(probs.std(dim=(1, 2)).max()) > 0


def test_numpy_output_predictions_and_model_objects(sized):
    from alc_data.predict import iter_predictions, iter_probabilities, load_model

    ws, ckpt = sized
    model, meta = load_model(ckpt, device="cpu")
    assert meta["model_name"] == "demo-tiny" and meta["num_classes"] == 4 and not model.training
    ids = ws.catalogue.image_ids()
    probs = dict(iter_probabilities(ws, model, ids, batch_size=2, as_numpy=True))
    preds = dict(iter_predictions(ws, ckpt, ids, batch_size=2, device="cpu"))
    for image_id in ids:
        assert isinstance(probs[image_id], np.ndarray) and probs[image_id].dtype == np.float32
        assert preds[image_id].dtype == np.uint8 and preds[image_id].shape == probs[image_id].shape[1:]
        assert np.array_equal(preds[image_id], probs[image_id].argmax(0))
    # a model handed in keeps its train/eval mode
    model.train()
    next(iter(iter_probabilities(ws, model, ids[:1])))
    list(iter_probabilities(ws, model, ids[:1]))
    assert model.training


def test_same_size_images_do_not_depend_on_the_batch(sized):
    from alc_data.predict import iter_probabilities

    ws, ckpt = sized
    ids = ["s1", "s1"]  # equal sizes: no cross-image padding, identical results
    (_, a), (_, b) = list(iter_probabilities(ws, ckpt, ids, batch_size=2, device="cpu"))
    (_, c), = list(iter_probabilities(ws, ckpt, ids[:1], batch_size=1, device="cpu"))
    assert torch.allclose(a, b) and torch.allclose(a, c, atol=1e-5)


def test_prediction_errors(sized, tmp_path):
    from alc_data.models import build_model
    from alc_data.predict import iter_probabilities, load_model
    from alc_data.train import save_checkpoint

    ws, _ = sized
    other = save_checkpoint(tmp_path / "k7.pt", {"model_name": "demo-tiny", "num_classes": 7,
                                                 "model": build_model("demo-tiny", 7).state_dict()})
    with pytest.raises(AlcError, match="k7.pt: model has 7 classes, the workspace 4"):
        list(iter_probabilities(ws, other, ws.catalogue.image_ids()))
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(AlcError, match="junk.pt: cannot read the model checkpoint"):
        load_model(junk)
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(2)}, plain)
    with pytest.raises(AlcError, match="plain.pt: not an alc-data model checkpoint"):
        load_model(plain)
    with pytest.raises(AlcError, match="missing.pt: model checkpoint not found"):
        load_model(tmp_path / "missing.pt")
    with pytest.raises(AlcError, match="batch_size must be ≥ 1"):
        list(iter_probabilities(ws, other, ws.catalogue.image_ids(), batch_size=0))
    assert list(iter_probabilities(ws, other, [])) == []
