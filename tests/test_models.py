"""Model registry contract (every registered model), local encoder weights, device selection."""

from __future__ import annotations

import pytest

from alc_data.errors import AlcError
from alc_data.models import MODELS, build_model, input_multiple, load_encoder_weights, select_device

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name", MODELS.names())
def test_every_model_builds_and_maps_images_to_logits(name):
    torch.manual_seed(0)
    model = build_model(name, 3).eval()
    assert 64 % input_multiple(model) == 0
    assert getattr(model, "alc_model_name") == name
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64))
    assert out.shape == (1, 3, 64, 64)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()
    # every model has an encoder (its parameters get the backbone learning rate)
    enc = {id(p) for p in model.encoder.parameters()}
    assert 0 < len(enc) < len(list(model.parameters()))


def test_demo_model_is_small():
    model = build_model("demo-tiny", 7)
    assert sum(p.numel() for p in model.parameters()) < 2_000_000
    assert input_multiple(model) == 8


def test_unknown_model_and_bad_class_count():
    with pytest.raises(AlcError, match="unknown model 'nope'.*demo-tiny"):
        build_model("nope", 3)
    with pytest.raises(AlcError, match="num_classes"):
        build_model("demo-tiny", 0)


def test_encoder_weights_load_from_a_local_file(tmp_path):
    torch.manual_seed(1)
    source = build_model("demo-tiny", 3)
    plain = tmp_path / "encoder.pth"
    torch.save(source.encoder.state_dict(), plain)
    wrapped = tmp_path / "whole.pth"  # a whole model under "state_dict", keys prefixed "encoder."
    torch.save({"state_dict": source.state_dict(), "epoch": 3}, wrapped)
    for path in (plain, wrapped):
        torch.manual_seed(2)
        model = build_model("demo-tiny", 5, encoder_weights=path)
        for key, value in source.encoder.state_dict().items():
            assert torch.equal(model.encoder.state_dict()[key], value), key
        # the decoder is not touched (5 classes here, 3 in the source)
        assert model.segmentation_head[0].out_channels == 5


def test_encoder_weights_missing_corrupt_or_wrong(tmp_path):
    with pytest.raises(AlcError, match="missing.pth: encoder weights not found"):
        build_model("demo-tiny", 3, encoder_weights=tmp_path / "missing.pth")
    bad = tmp_path / "corrupt.pth"
    bad.write_bytes(b"this is not a checkpoint")
    with pytest.raises(AlcError, match="corrupt.pth: cannot read encoder weights"):
        build_model("demo-tiny", 3, encoder_weights=bad)
    other = tmp_path / "mobilenet.pth"
    torch.save(build_model("deeplabv3plus-mobilenet_v2", 3).encoder.state_dict(), other)
    with pytest.raises(AlcError, match=r"mobilenet.pth: only 0 of \d+ encoder tensors match"):
        build_model("demo-tiny", 3, encoder_weights=other)
    not_tensors = tmp_path / "dict.pth"
    torch.save({"a": 1}, not_tensors)
    with pytest.raises(AlcError, match="dict.pth: not a state dict"):
        load_encoder_weights(build_model("demo-tiny", 3), not_tensors)


def test_select_device():
    assert select_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert select_device("cpu").type == "cpu"
    with pytest.raises(AlcError, match="unknown device"):
        select_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(AlcError, match="CUDA is not available"):
            select_device("cuda")
