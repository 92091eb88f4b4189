"""SegFormer through ``transformers.SegformerForSemanticSegmentation``, wrapped to the registry's contract.

The wrapper maps (N, 3, H, W) float32 ImageNet-normalised images (SegFormer's own normalisation) to
(N, K, H, W) float32 logits: SegFormer predicts at 1/4 resolution and the logits are upsampled
bilinearly to the input size. ``model.encoder`` is the MiT backbone (it gets the backbone learning
rate). The architecture travels with alc-data checkpoints as the config's JSON (``model_config``), so
a trained model is rebuilt without the folder or hub id it started from.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from alc_data.errors import InvalidInput
from alc_data.foundation.common import check_hf_folder, first_line, quiet_transformers
from alc_data.foundation.hub import local_or_hub

if TYPE_CHECKING:
    import torch
    from transformers import SegformerForSemanticSegmentation

#: the published MiT-b0..b5 sizes (Xie et al., 2021; nvidia/mit-b* configs)
VARIANTS: dict[str, dict[str, Any]] = {
    "b0": {"hidden_sizes": [32, 64, 160, 256], "depths": [2, 2, 2, 2], "decoder_hidden_size": 256},
    "b1": {"hidden_sizes": [64, 128, 320, 512], "depths": [2, 2, 2, 2], "decoder_hidden_size": 256},
    "b2": {"hidden_sizes": [64, 128, 320, 512], "depths": [3, 4, 6, 3], "decoder_hidden_size": 768},
    "b3": {"hidden_sizes": [64, 128, 320, 512], "depths": [3, 4, 18, 3], "decoder_hidden_size": 768},
    "b4": {"hidden_sizes": [64, 128, 320, 512], "depths": [3, 8, 27, 3], "decoder_hidden_size": 768},
    "b5": {"hidden_sizes": [64, 128, 320, 512], "depths": [3, 6, 40, 3], "decoder_hidden_size": 768},
}

HINT = "a SegFormer folder in Hugging Face format (config.json + weights) or a hub id such as nvidia/mit-b0"


def _wrapper_class() -> type[torch.nn.Module]:
    import torch
    import torch.nn.functional as F

    class SegformerSegmenter(torch.nn.Module):
        """(N, 3, H, W) → (N, K, H, W) logits of a ``SegformerForSemanticSegmentation``."""

        def __init__(self, net: SegformerForSemanticSegmentation) -> None:
            super().__init__()
            self.net = net

        @property
        def encoder(self) -> torch.nn.Module:
            return self.net.segformer

        def forward(self, x: "torch.Tensor") -> "torch.Tensor":
            logits = self.net(pixel_values=x).logits
            if logits.shape[-2:] != x.shape[-2:]:
                logits = F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)
            return logits

    return SegformerSegmenter


def _label_maps(num_classes: int, class_names: list[str] | None) -> tuple[dict[int, str], dict[str, int]]:
    names = list(class_names) if class_names and len(class_names) == num_classes else [f"class_{i}" for i in range(num_classes)]
    return {i: n for i, n in enumerate(names)}, {n: i for i, n in enumerate(names)}


def build_segformer(
    variant: str,
    num_classes: int,
    *,
    pretrained: str | os.PathLike | None = None,
    class_names: list[str] | None = None,
    model_config: str | None = None,
) -> torch.nn.Module:
    """A wrapped SegFormer with ``num_classes`` outputs.

    ``model_config`` (JSON from an alc-data checkpoint): that architecture, random weights (the
    caller loads the state dict). ``pretrained``: weights of a hub id or local folder; the head is
    re-initialised when the checkpoint's label count or (given ``class_names``) names differ.
    Otherwise: random weights of the ``variant`` sizes.
    """
    quiet_transformers()
    from transformers import SegformerConfig, SegformerForSemanticSegmentation

    id2label, label2id = _label_maps(num_classes, class_names)
    if model_config is not None:
        config = SegformerConfig(**json.loads(model_config))
        config.num_labels = num_classes
        net = SegformerForSemanticSegmentation(config)
    elif pretrained is not None:
        net = _from_pretrained(pretrained, num_classes, class_names, id2label, label2id)
    else:
        config = SegformerConfig(**VARIANTS[variant], id2label=id2label, label2id=label2id)
        config.num_labels = num_classes  # as in transformers 4 (5 types the keyword out of __init__)
        net = SegformerForSemanticSegmentation(config)
    model = _wrapper_class()(net)
    # a plain attribute, which torch's typed Module.__setattr__ does not describe
    setattr(model, "alc_model_config", net.config.to_json_string(use_diff=False))  # noqa: B010
    return model


def _from_pretrained(
    pretrained: str | os.PathLike, num_classes: int, class_names: list[str] | None,
    id2label: dict[int, str], label2id: dict[str, int],
) -> SegformerForSemanticSegmentation:
    from transformers import SegformerConfig, SegformerForSemanticSegmentation
    from transformers.utils import logging as hf_logging

    folder = local_or_hub(pretrained, what="SegFormer checkpoint")
    check_hf_folder(folder, ("segformer",), "a SegFormer checkpoint", HINT)
    config = SegformerConfig.from_pretrained(folder, local_files_only=True)
    old = [str(v) for _, v in sorted(config.id2label.items(), key=lambda kv: int(kv[0]))] if config.id2label else []
    same_classes = len(old) == num_classes and (
        class_names is None or [o.lower() for o in old] == [str(n).lower() for n in class_names]
    )
    config.num_labels = num_classes
    if not (same_classes and class_names is None):
        config.id2label, config.label2id = id2label, label2id
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialised head" notices: expected here
    try:
        net = SegformerForSemanticSegmentation.from_pretrained(
            folder, config=config, ignore_mismatched_sizes=True, local_files_only=True
        )
    except Exception as exc:  # noqa: BLE001 - any failure to load is the same user fix
        raise InvalidInput(f"{folder}: cannot load the SegFormer weights ({first_line(exc)}); expected {HINT}") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    if not same_classes:
        net.decode_head.classifier.reset_parameters()
    return net


__all__ = ["HINT", "VARIANTS", "build_segformer"]
