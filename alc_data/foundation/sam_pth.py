"""SAM from an original segment-anything ``.pth`` state dict: the architecture read from the tensor
shapes (a ``<checkpoint>.json`` sidecar may override any inferred value), then built and loaded with
segment-anything. torch and segment_anything are imported inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from alc_data.errors import InvalidInput
from alc_data.foundation.common import SAM_HINT, first_line


#: (encoder width, depth) of the published SAM image encoders.
MODEL_TYPES = {"vit_h": (1280, 32), "vit_l": (1024, 24), "vit_b": (768, 12), "default": (1280, 32)}

_REQUIRED_KEYS = (
    "image_encoder.patch_embed.proj.weight",
    "image_encoder.neck.0.weight",
    "prompt_encoder.mask_downscaling.3.weight",
    "mask_decoder.mask_tokens.weight",
    "mask_decoder.iou_token.weight",
)
_PIXEL_MEAN = [123.675, 116.28, 103.53]
_PIXEL_STD = [58.395, 57.12, 57.375]


# ---------------------------------------------------------------------------------------------
# architecture from a state dict
# ---------------------------------------------------------------------------------------------
def _layer_indices(sd: dict, prefix: str) -> list[int]:
    out = set()
    for k in sd:
        if k.startswith(prefix):
            head = k[len(prefix):].split(".", 1)[0]
            if head.isdigit():
                out.add(int(head))
    return sorted(out)


def sam_architecture(sd: dict) -> dict[str, Any]:
    """The build arguments of a segment-anything model, read from the shapes in its state dict.

    Returns a dict with keys encoder_embed_dim, encoder_depth, encoder_num_heads, patch_size,
    img_size, window_size, global_attn_indexes, mlp_ratio, qkv_bias, use_rel_pos, out_chans,
    mask_in_chans, num_multimask_outputs, decoder_depth, decoder_mlp_dim, decoder_num_heads,
    attention_downsample_rate, iou_head_depth, iou_head_hidden_dim, pixel_mean, pixel_std.
    """
    pe = sd["image_encoder.patch_embed.proj.weight"]  # (E, 3, p, p)
    embed, patch = int(pe.shape[0]), int(pe.shape[-1])
    blocks = _layer_indices(sd, "image_encoder.blocks.")
    if not blocks:
        raise KeyError("image_encoder.blocks.0")
    pos = sd.get("image_encoder.pos_embed")  # (1, S, S, E)
    use_rel_pos = "image_encoder.blocks.0.attn.rel_pos_h" in sd
    grid = int(pos.shape[1]) if pos is not None else None
    rel = {b: int(sd[f"image_encoder.blocks.{b}.attn.rel_pos_h"].shape[0]) for b in blocks} if use_rel_pos else {}
    if grid is None:
        grid = (max(rel.values()) + 1) // 2 if rel else 64
    window_sizes = {(n + 1) // 2 for n in rel.values() if (n + 1) // 2 != grid}
    window = min(window_sizes) if window_sizes else 14
    global_idx = [b for b in blocks if rel.get(b, 2 * grid - 1) == 2 * grid - 1] if rel else [blocks[-1]]
    if use_rel_pos:
        head_dim = int(sd["image_encoder.blocks.0.attn.rel_pos_h"].shape[1])
        heads = max(1, embed // head_dim)
    else:
        heads = max(1, embed // 64)
    lin1 = sd["image_encoder.blocks.0.mlp.lin1.weight"]
    dim = int(sd["mask_decoder.iou_token.weight"].shape[1])
    q = sd.get("mask_decoder.transformer.layers.0.cross_attn_token_to_image.q_proj.weight")
    rate = max(1, dim // int(q.shape[0])) if q is not None else 2
    dec_heads = 8
    while dec_heads > 1 and (dim // rate) % dec_heads:
        dec_heads //= 2
    dec_layers = _layer_indices(sd, "mask_decoder.transformer.layers.")
    iou_layers = _layer_indices(sd, "mask_decoder.iou_prediction_head.layers.")
    return {
        "encoder_embed_dim": embed,
        "encoder_depth": len(blocks),
        "encoder_num_heads": heads,
        "patch_size": patch,
        "img_size": grid * patch,
        "window_size": window,
        "global_attn_indexes": global_idx,
        "mlp_ratio": float(lin1.shape[0]) / embed,
        "qkv_bias": "image_encoder.blocks.0.attn.qkv.bias" in sd,
        "use_rel_pos": use_rel_pos,
        "out_chans": int(sd["image_encoder.neck.0.weight"].shape[0]),
        "mask_in_chans": int(sd["prompt_encoder.mask_downscaling.3.weight"].shape[0]),
        "num_multimask_outputs": int(sd["mask_decoder.mask_tokens.weight"].shape[0]) - 1,
        "decoder_depth": len(dec_layers),
        "decoder_mlp_dim": int(sd["mask_decoder.transformer.layers.0.mlp.lin1.weight"].shape[0]),
        "decoder_num_heads": dec_heads,
        "attention_downsample_rate": rate,
        "iou_head_depth": len(iou_layers),
        "iou_head_hidden_dim": int(sd["mask_decoder.iou_prediction_head.layers.0.weight"].shape[0]),
        "pixel_mean": list(_PIXEL_MEAN),
        "pixel_std": list(_PIXEL_STD),
    }


def build_sam(arch: dict[str, Any], *, device: str | None = None) -> Any:
    """A segment-anything ``Sam`` with the given architecture (see :func:`sam_architecture`)."""
    from functools import partial

    import torch
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    a = arch
    grid = a["img_size"] // a["patch_size"]
    ctx = torch.device(device) if device else contextlib.nullcontext()
    with ctx:
        sam = Sam(
            image_encoder=ImageEncoderViT(
                img_size=a["img_size"],
                patch_size=a["patch_size"],
                embed_dim=a["encoder_embed_dim"],
                depth=a["encoder_depth"],
                num_heads=a["encoder_num_heads"],
                mlp_ratio=a["mlp_ratio"],
                out_chans=a["out_chans"],
                qkv_bias=a["qkv_bias"],
                norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
                use_rel_pos=a["use_rel_pos"],
                window_size=a["window_size"],
                global_attn_indexes=tuple(a["global_attn_indexes"]),
            ),
            prompt_encoder=PromptEncoder(
                embed_dim=a["out_chans"],
                image_embedding_size=(grid, grid),
                input_image_size=(a["img_size"], a["img_size"]),
                mask_in_chans=a["mask_in_chans"],
            ),
            mask_decoder=MaskDecoder(
                num_multimask_outputs=a["num_multimask_outputs"],
                transformer=TwoWayTransformer(
                    depth=a["decoder_depth"],
                    embedding_dim=a["out_chans"],
                    mlp_dim=a["decoder_mlp_dim"],
                    num_heads=a["decoder_num_heads"],
                    attention_downsample_rate=a["attention_downsample_rate"],
                ),
                transformer_dim=a["out_chans"],
                iou_head_depth=a["iou_head_depth"],
                iou_head_hidden_dim=a["iou_head_hidden_dim"],
            ),
            pixel_mean=a["pixel_mean"],
            pixel_std=a["pixel_std"],
        )
    return sam.eval()


def sidecar_path(checkpoint: Path) -> Path:
    """``<checkpoint>.json``: optional architecture overrides beside a ``.pth``."""
    return checkpoint.with_name(checkpoint.name + ".json")


def _read_state_dict(path: Path) -> dict:
    import torch

    if path.name == "config.json" or path.suffix in (".json", ".safetensors"):
        raise InvalidInput(f"{path}: a Hugging Face file; pass its folder ({path.parent}) or {SAM_HINT}")
    try:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:  # files in the legacy (non-zip) format cannot be memory-mapped
            if "mmap" not in str(exc):
                raise
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch.load raises many types on a corrupt file (KeyError, IndexError, ...)
        raise InvalidInput(f"{path}: corrupt file or not a PyTorch state dict ({type(exc).__name__}); expected {SAM_HINT}") from None
    for key in ("model", "state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict) and _REQUIRED_KEYS[0] in obj[key]:
            obj = obj[key]
    if not isinstance(obj, dict) or any(k not in obj for k in _REQUIRED_KEYS):
        got = ", ".join(list(obj)[:3]) if isinstance(obj, dict) else type(obj).__name__
        raise InvalidInput(f"{path}: not a SAM state dict (found {got or 'nothing'}); expected {SAM_HINT}")
    return obj


def load_sam_pth(path: Path, *, model_type: str | None = None) -> tuple[Any, dict[str, Any]]:
    """A segment-anything ``Sam`` (on CPU, float32, eval) from a ``.pth`` state dict.

    Returns (model, architecture dict). AlcError for a corrupt file, a file that is no SAM state
    dict, or a ``model_type`` that does not match the file.
    """
    import torch

    sd = _read_state_dict(path)
    try:
        arch = sam_architecture(sd)
    except (KeyError, IndexError, AttributeError, ZeroDivisionError) as exc:
        raise InvalidInput(f"{path}: SAM state dict lacks {first_line(exc)}; expected {SAM_HINT}") from None
    side = sidecar_path(path)
    if side.is_file():
        try:
            extra = json.loads(side.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"{side}: unreadable architecture overrides ({exc}); fix or delete the file") from None
        unknown = sorted(set(extra) - set(arch)) if isinstance(extra, dict) else ["<not an object>"]
        if unknown:
            raise InvalidInput(f"{side}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(arch))}")
        arch.update(extra)
    if model_type is not None:
        mt = str(model_type).lower()
        if mt not in MODEL_TYPES:
            raise InvalidInput(f"SAM model type {model_type!r}: use one of vit_h, vit_l, vit_b (or leave it out)")
        want = MODEL_TYPES[mt]
        got = (arch["encoder_embed_dim"], arch["encoder_depth"])
        if got != want:
            raise InvalidInput(
                f"{path}: holds a SAM encoder of width {got[0]} and depth {got[1]}, not {mt} ({want[0]}, {want[1]}); "
                "fix --sam-type or the checkpoint"
            )
    try:
        sam = build_sam(arch, device="meta")
        sam.load_state_dict(sd, strict=True, assign=True)
    except (RuntimeError, ValueError, TypeError, AssertionError) as exc:
        raise InvalidInput(f"{path}: weights do not fit the SAM architecture read from them ({first_line(exc)})") from None
    # non-persistent buffers are not in the file: recreate them on CPU
    sam.register_buffer("pixel_mean", torch.tensor(arch["pixel_mean"], dtype=torch.float32).view(-1, 1, 1), False)
    sam.register_buffer("pixel_std", torch.tensor(arch["pixel_std"], dtype=torch.float32).view(-1, 1, 1), False)
    leftovers = [n for n, t in [*sam.named_parameters(), *sam.named_buffers()] if t.is_meta]
    if leftovers:
        raise InvalidInput(f"{path}: SAM state dict lacks {leftovers[0]}; expected {SAM_HINT}")
    return sam.float().eval(), arch
