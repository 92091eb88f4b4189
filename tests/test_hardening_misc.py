"""Leaks and misreadings outside ingest (issue 9): a hub token cut at the message limit, a checkpoint
trained on another class list."""

from __future__ import annotations

import warnings

import pytest

from alc_data.errors import AlcError, InvalidInput
from hardening_helpers import tiny_ws


# ---------------------------------------------------------------- hub token


class _FailingHub:
    def __init__(self, message: str) -> None:
        self.message = message

    def create_repo(self, *args, **kwargs):
        raise RuntimeError(self.message)


@pytest.mark.parametrize("token", ["s3cr3t-" * 8, "hf_" + "Ab1" * 12])
@pytest.mark.parametrize("before", range(285, 300, 2))
def test_token_straddling_the_message_cut_is_not_printed(tmp_path, token, before):
    from alc_data.publish.upload import upload_dataset

    message = "x" * before + f" {token} rest of the response"  # the cut at 300 falls inside the token
    with pytest.raises(AlcError) as err:
        upload_dataset(tmp_path, "org/name", token=token, api=_FailingHub(message))
    text = str(err.value)
    for n in range(4, len(token) + 1):
        assert token[:n] not in text, (n, text[-80:])


def test_long_error_is_still_cut(tmp_path):
    from alc_data.publish.upload import upload_dataset

    with pytest.raises(AlcError) as err:
        upload_dataset(tmp_path, "org/name", token="tok-12345", api=_FailingHub("y" * 5000))
    assert len(str(err.value)) < 500 and "…" in str(err.value)


# ---------------------------------------------------------------- checkpoint class names


def _checkpoint(path, class_names, *, with_names=True):
    from alc_data.models import build_model
    from alc_data.train import save_checkpoint

    payload = {"model_name": "demo-tiny", "num_classes": len(class_names), "model": build_model("demo-tiny", len(class_names)).state_dict(),
               "iteration": 0}
    if with_names:
        payload["class_names"] = list(class_names)
    return save_checkpoint(path, payload)


def test_checkpoint_of_another_class_list_is_refused(tmp_path):
    from alc_data.predict import iter_probabilities

    ws = tiny_ws(tmp_path / "ws", ["sky", "road", "car"])
    ckpt = _checkpoint(tmp_path / "m.pt", ["sky", "building", "car"])
    with pytest.raises(InvalidInput) as err:
        list(iter_probabilities(ws, ckpt, ws.catalogue.image_ids(), device="cpu"))
    msg = str(err.value)
    assert str(ckpt) in msg and "class 1" in msg and "'building'" in msg and "'road'" in msg and "\n" not in msg


def test_warm_start_from_another_class_list_is_refused(tmp_path):
    from alc_data.models import build_model
    from alc_data.train.loop import load_warm_start

    ws = tiny_ws(tmp_path / "ws", ["sky", "road"])
    ckpt = _checkpoint(tmp_path / "m.pt", ["road", "sky"])
    with pytest.raises(InvalidInput, match="class 0"):
        load_warm_start(build_model("demo-tiny", 2), ckpt, "demo-tiny", 2, class_names=ws.catalogue.class_names)


def test_checkpoint_without_class_names_works_with_a_warning(tmp_path):
    from alc_data.predict import iter_probabilities

    ws = tiny_ws(tmp_path / "ws", ["sky", "road"])
    ckpt = _checkpoint(tmp_path / "m.pt", ["a", "b"], with_names=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = list(iter_probabilities(ws, ckpt, ws.catalogue.image_ids(), device="cpu"))
    assert len(out) == 3
    assert any("no class names" in str(w.message) and str(ckpt) in str(w.message) for w in caught)


def test_checkpoint_with_the_same_class_list_is_silent(tmp_path):
    from alc_data.predict import iter_probabilities

    ws = tiny_ws(tmp_path / "ws", ["sky", "road"])
    ckpt = _checkpoint(tmp_path / "m.pt", ["sky", "road"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(list(iter_probabilities(ws, ckpt, ws.catalogue.image_ids(), device="cpu"))) == 3


# ---------------------------------------------------------------- diff's class file


def test_diff_class_file_keeps_lines_whole_and_refuses_control_characters(tmp_path):
    from alc_data.audit.sources import read_class_file

    path = tmp_path / "classes.txt"
    path.write_text("sky\r\nroad\rcar\n", encoding="utf-8")
    assert read_class_file(path) == ["sky", "road", "car"]
    path.write_text("sky\nroad\u2028car\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        read_class_file(path)
    assert str(path) in str(err.value) and "\\u2028" in str(err.value)
