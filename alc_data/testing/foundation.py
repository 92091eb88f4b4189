"""Tiny random-initialised GroundingDINO and SAM checkpoints, saved with the libraries' own save
functions, for tests and for smoke runs of the benchmark. They build in well under a second and
give meaningless (but well-formed) boxes and masks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from alc_data.foundation.sam_pth import build_sam, sidecar_path

#: Words the tiny tokenizer knows besides the special tokens (BERT-uncased word pieces).
TINY_WORDS = (
    "background", "road", "car", "traffic", "light", "potted", "plant", "tv", "monitor", "dining", "table",
    "motorbike", "aeroplane", "dog", "cat", "person", "sky", "tree", "bird", "boat", "bus", "cow", "sheep",
    "sofa", "train", "chair", "bottle", "bicycle", "horse", "square", "disc",
)


def write_tiny_vocab(path: str | os.PathLike, words: Sequence[str] = TINY_WORDS) -> Path:
    """A BERT WordPiece vocab whose [CLS], [SEP], '.', '?' sit at GroundingDINO's fixed ids
    101, 102, 1012, 1029 (the model hard-codes them); other slots are ``[unusedN]``."""
    vocab = ["[PAD]"] + [f"[unused{i}]" for i in range(1, 100)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    fixed = {1012: ".", 1029: "?"}
    while len(vocab) < 1030:
        vocab.append(fixed.get(len(vocab), f"[unused{len(vocab)}]"))
    vocab += [w for w in dict.fromkeys(w.lower() for w in words) if w not in vocab]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(vocab) + "\n")
    return path


def build_tiny_grounding_dino(
    folder: str | os.PathLike,
    *,
    words: Sequence[str] = TINY_WORDS,
    max_text_len: int = 64,
    num_queries: int = 20,
    seed: int = 0,
) -> Path:
    """Save a tiny GroundingDINO (Swin backbone, 1-layer BERT, d_model 32, 2 decoder layers) with its
    processor and tokenizer to ``folder`` (Hugging Face format). Returns ``folder``."""
    import tempfile

    import torch
    import transformers
    from transformers import (
        BertConfig,
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoImageProcessor,
        GroundingDinoProcessor,
        SwinConfig,
    )

    # transformers 5 defines this name at run time only (an alias of BertTokenizer), so look it up
    BertTokenizerFast = getattr(transformers, "BertTokenizerFast")
    folder = Path(folder)
    with tempfile.TemporaryDirectory() as tmp:
        # BertTokenizerFast(vocab_file=...) ignores the file in transformers 5: load the folder instead
        vocab = write_tiny_vocab(Path(tmp) / "vocab.txt", words)
        tokenizer = BertTokenizerFast.from_pretrained(tmp, do_lower_case=True)
        n_vocab = len(vocab.read_text().splitlines())
    ids = (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.convert_tokens_to_ids("."))
    if ids != (101, 102, 1012):
        raise RuntimeError(f"tiny tokenizer has ids {ids} for [CLS], [SEP], '.'; expected 101, 102, 1012")
    torch.manual_seed(seed)
    backbone = SwinConfig(
        embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2], window_size=4, image_size=64,
        out_features=["stage2", "stage3", "stage4"],  # type: ignore[call-arg]  # taken by **kwargs; untyped in transformers 5
    )
    text = BertConfig(
        vocab_size=n_vocab, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=max(max_text_len, 64),
    )
    config = GroundingDinoConfig(
        backbone_config=backbone, text_config=text, use_pretrained_backbone=False, d_model=32,  # type: ignore[call-arg]  # **kwargs
        encoder_layers=1, decoder_layers=2, encoder_ffn_dim=64, decoder_ffn_dim=64, encoder_attention_heads=2,
        decoder_attention_heads=2, num_queries=num_queries, max_text_len=max_text_len,
    )
    model = GroundingDinoForObjectDetection(config).eval()
    processor = GroundingDinoProcessor(
        image_processor=GroundingDinoImageProcessor(size={"shortest_edge": 64, "longest_edge": 96}), tokenizer=tokenizer
    )
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def tiny_sam_architecture(*, decoder_num_heads: int = 8) -> dict:
    """Build arguments for a tiny segment-anything model (img_size 256, width 32, 2 blocks)."""
    return {
        "encoder_embed_dim": 32, "encoder_depth": 2, "encoder_num_heads": 2, "patch_size": 16, "img_size": 256,
        "window_size": 4, "global_attn_indexes": [1], "mlp_ratio": 2.0, "qkv_bias": True, "use_rel_pos": True,
        "out_chans": 32, "mask_in_chans": 8, "num_multimask_outputs": 3, "decoder_depth": 1, "decoder_mlp_dim": 64,
        "decoder_num_heads": decoder_num_heads, "attention_downsample_rate": 2, "iou_head_depth": 2,
        "iou_head_hidden_dim": 32, "pixel_mean": [123.675, 116.28, 103.53], "pixel_std": [58.395, 57.12, 57.375],
    }


def build_tiny_sam_pth(path: str | os.PathLike, *, decoder_num_heads: int = 8, seed: int = 0) -> Path:
    """Save the ``state_dict`` of a tiny segment-anything ``Sam`` to ``path`` (``torch.save``).
    With ``decoder_num_heads`` other than 8 a sidecar ``<path>.json`` records it."""
    import json

    import torch

    torch.manual_seed(seed)
    sam = build_sam(tiny_sam_architecture(decoder_num_heads=decoder_num_heads))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(sam.state_dict(), path)
    if decoder_num_heads != 8:
        sidecar_path(path).write_text(json.dumps({"decoder_num_heads": decoder_num_heads}))
    return path


def build_tiny_sam_hf(folder: str | os.PathLike, *, seed: int = 0) -> Path:
    """Save a tiny transformers ``SamModel`` and its ``SamProcessor`` (input size 256) to ``folder``."""
    import torch
    from transformers import (
        SamConfig,
        SamImageProcessor,
        SamMaskDecoderConfig,
        SamModel,
        SamProcessor,
        SamPromptEncoderConfig,
        SamVisionConfig,
    )

    torch.manual_seed(seed)
    vision = SamVisionConfig(
        hidden_size=32, output_channels=32, num_hidden_layers=2, num_attention_heads=2, image_size=256, patch_size=16,
        window_size=4, global_attn_indexes=[1], mlp_dim=64, num_pos_feats=16,
    )
    prompt = SamPromptEncoderConfig(hidden_size=32, image_size=256, patch_size=16, mask_input_channels=8)
    decoder = SamMaskDecoderConfig(
        hidden_size=32, mlp_dim=64, num_hidden_layers=1, num_attention_heads=2, iou_head_hidden_dim=32, iou_head_depth=2
    )
    model = SamModel(SamConfig(vision_config=vision, prompt_encoder_config=prompt, mask_decoder_config=decoder)).eval()
    processor = SamProcessor(SamImageProcessor(size={"longest_edge": 256}, pad_size={"height": 256, "width": 256}))
    folder = Path(folder)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def put_in_hub_cache(
    files: str | os.PathLike,
    repo_id: str,
    cache_dir: str | os.PathLike,
    *,
    revision: str | None = None,
) -> Path:
    """Lay out the files of folder ``files`` in a Hugging Face hub cache as ``hf download repo_id``
    would (``models--owner--name/snapshots/<commit>/`` plus ``refs/main``), for offline tests of hub-id
    resolution. ``revision``: the 40-hex commit to file them under (default: a hash of the repo id).
    Returns the snapshot folder."""
    import hashlib
    import shutil

    commit = revision or hashlib.sha1(repo_id.encode()).hexdigest()
    repo = Path(cache_dir) / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    shutil.copytree(files, snapshot, dirs_exist_ok=True)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot
