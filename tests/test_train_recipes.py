"""Real-dataset recipes start from pretrained weights; tests and offline users override to random init."""

from __future__ import annotations

import pytest

from alc_data.loop import apply_overrides, load_recipe
from alc_data.train import TrainConfig

REAL = ("pascal_voc", "pascal_voc_a2lc", "pascal_plus", "cityscapes")


@pytest.mark.parametrize("name", REAL)
def test_real_recipes_default_to_pretrained_and_override_to_random(name):
    recipe = load_recipe(name)
    train = {k: v for k, v in recipe["train"].items() if k != "warm_start"}
    assert TrainConfig.from_dict(train).encoder_weights == "imagenet"  # validated offline: nothing fetched
    random = apply_overrides(recipe, ["train.encoder_weights=none"])["train"]
    assert TrainConfig.from_dict({k: v for k, v in random.items() if k != "warm_start"}).encoder_weights is None


def test_foundation_checkpoints_in_recipes_are_hub_ids():
    from alc_data.foundation.hub import looks_like_hub_id

    voc = load_recipe("pascal_voc")["pseudo_label"]
    assert looks_like_hub_id(voc["detector"]) and looks_like_hub_id(voc["sam"])
    assert looks_like_hub_id(load_recipe("cityscapes")["superpixels"]["params"]["checkpoint"])


def test_demo_keeps_its_tiny_random_model():
    train = load_recipe("demo")["train"]
    assert train["model"] == "demo-tiny" and train.get("encoder_weights") is None
