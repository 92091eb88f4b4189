"""A tiny random SegFormer saved in Hugging Face format, for tests and smoke runs (builds in < 1 s)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence


def build_tiny_segformer(folder: str | os.PathLike, class_names: Sequence[str] = ("a", "b", "c"), *, seed: int = 0) -> Path:
    """Save a 4-stage SegFormer (widths 8-16-24-32, one block per stage, decoder 16) whose head
    predicts ``class_names`` to ``folder`` with ``save_pretrained``. Returns ``folder``."""
    import torch
    from transformers import SegformerConfig, SegformerForSemanticSegmentation

    torch.manual_seed(seed)
    names = list(class_names)
    config = SegformerConfig(
        hidden_sizes=[8, 16, 24, 32], depths=[1, 1, 1, 1], num_attention_heads=[1, 1, 1, 1], decoder_hidden_size=16,
        id2label=dict(enumerate(names)), label2id={n: i for i, n in enumerate(names)},
    )
    config.num_labels = len(names)
    folder = Path(folder)
    SegformerForSemanticSegmentation(config).eval().save_pretrained(folder)
    return folder
