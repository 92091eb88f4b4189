"""SAM (Segment Anything) from a local checkpoint: box prompts → masks, and automatic masks.

Two checkpoint formats are accepted, both from local paths only:

- an original segment-anything ``.pth`` state dict (``sam_vit_h_4b8939.pth``, ``sam_vit_l_0b3195.pth``,
  ``sam_vit_b_01ec64.pth``). The architecture is read from the tensor shapes in the file (encoder
  width, depth, heads, window size, global-attention blocks, image size, decoder sizes), so ViT-H/L/B
  and smaller custom models load alike; ``model_type`` (``vit_h``/``vit_l``/``vit_b``), when given, is
  checked against the file. Two values are not stored in the weights: the mask decoder's attention
  heads (SAM uses 8) and the pixel mean/std (ImageNet, 0..255). A sidecar JSON beside the checkpoint,
  ``<checkpoint>.json`` (e.g. ``tiny.pth.json``), may override any inferred value, e.g.
  ``{"decoder_num_heads": 2}``.
- a Hugging Face-format folder (``config.json`` with ``model_type: sam`` + ``model.safetensors``
  + ``preprocessor_config.json``), e.g. ``facebook/sam-vit-base``, loaded with transformers'
  ``SamModel``/``SamProcessor``.

Both are wrapped as a predictor with segment-anything's ``SamPredictor`` interface (``set_image``,
``predict_torch``, ``transform``), so box prompting and the automatic mask generator share one code
path. The image embedding is computed once per image; all boxes of an image go through the mask
decoder in batches.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from alc_data.errors import InvalidInput, NotFound
from alc_data.foundation.common import (
    autocast,
    check_hf_folder,
    first_line,
    quiet_transformers,
    resolve_device,
)

if TYPE_CHECKING:
    import torch
    from segment_anything import SamAutomaticMaskGenerator, SamPredictor
    from segment_anything.modeling import Sam
    from segment_anything.utils.amg import MaskData
    from transformers import SamModel, SamProcessor

SAM_HINT = (
    "a SAM ViT-H/L/B .pth from segment-anything's model checkpoints (sam_vit_h_4b8939.pth, sam_vit_l_0b3195.pth, "
    "sam_vit_b_01ec64.pth), a Hugging Face SAM folder, or a hub id such as facebook/sam-vit-huge (resolved "
    "through the Hugging Face cache)"
)

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


def build_sam(arch: dict[str, Any], *, device: str | None = None) -> Sam:
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
    import pickle

    import torch

    if path.name == "config.json" or path.suffix in (".json", ".safetensors"):
        raise InvalidInput(f"{path}: a Hugging Face file; pass its folder ({path.parent}) or {SAM_HINT}")
    errors = (RuntimeError, EOFError, pickle.UnpicklingError, ValueError, OSError, AttributeError, TypeError)
    try:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:  # files in the legacy (non-zip) format cannot be memory-mapped
            if "mmap" not in str(exc):
                raise
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except errors as exc:
        raise InvalidInput(f"{path}: corrupt file or not a PyTorch state dict ({type(exc).__name__}); expected {SAM_HINT}") from None
    for key in ("model", "state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict) and _REQUIRED_KEYS[0] in obj[key]:
            obj = obj[key]
    if not isinstance(obj, dict) or any(k not in obj for k in _REQUIRED_KEYS):
        got = ", ".join(list(obj)[:3]) if isinstance(obj, dict) else type(obj).__name__
        raise InvalidInput(f"{path}: not a SAM state dict (found {got or 'nothing'}); expected {SAM_HINT}")
    return obj


def load_sam_pth(path: Path, *, model_type: str | None = None) -> tuple[Sam, dict[str, Any]]:
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


# ---------------------------------------------------------------------------------------------
# a SamPredictor-compatible wrapper around transformers' SamModel
# ---------------------------------------------------------------------------------------------
class HFSamPredictor:
    """segment-anything's ``SamPredictor`` interface over a transformers ``SamModel``.

    Coordinates given to :meth:`predict_torch` are in the resized input frame (``transform``),
    as with ``SamPredictor``; masks come back at the original image size. Mixed precision is applied
    around it by :class:`AmpPredictor`.
    """

    mask_threshold = 0.0

    def __init__(self, model: SamModel, processor: SamProcessor) -> None:
        from segment_anything.utils.transforms import ResizeLongestSide

        self.model = model
        self.processor = processor
        ip = processor.image_processor
        self.target_length = int(ip.size["longest_edge"])
        pad = getattr(ip, "pad_size", None) or {"height": self.target_length, "width": self.target_length}
        self.pad_hw = (int(pad["height"]), int(pad["width"]))
        self.transform = ResizeLongestSide(self.target_length)
        # read by SamAutomaticMaskGenerator (a plain attribute, which torch's typed __setattr__ does not describe)
        setattr(self.model, "mask_threshold", self.mask_threshold)  # noqa: B010
        self.reset_image()

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def reset_image(self) -> None:
        self.features = None
        self.original_size: tuple[int, ...] | None = None
        self.input_size: tuple[int, ...] | None = None
        self.is_image_set = False

    def set_image(self, image: np.ndarray, image_format: str = "RGB") -> None:
        """Compute the embedding of an (H, W, 3) uint8 RGB image."""
        import torch

        if image_format != "RGB":
            image = image[..., ::-1]
        enc = self.processor.image_processor(images=np.array(image, copy=True), return_tensors="pt")
        with torch.inference_mode():
            self.features = self.model.get_image_embeddings(enc["pixel_values"].to(self.device))
        self.original_size = tuple(int(v) for v in enc["original_sizes"][0])
        self.input_size = tuple(int(v) for v in enc["reshaped_input_sizes"][0])
        self.is_image_set = True

    def predict_torch(
        self,
        point_coords: torch.Tensor | None,
        point_labels: torch.Tensor | None,
        boxes: torch.Tensor | None = None,
        mask_input: torch.Tensor | None = None,
        multimask_output: bool = True,
        return_logits: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, M, H, W) masks (bool, or float logits), (B, M) predicted IoU, (B, M, h, w) low-res logits."""
        import torch
        import torch.nn.functional as F

        if not self.is_image_set or self.original_size is None or self.input_size is None:
            raise RuntimeError("set_image must be called before predict_torch")
        kwargs: dict[str, Any] = {}
        if point_coords is not None:
            if point_labels is None:
                raise RuntimeError("point_labels must come with point_coords")
            kwargs["input_points"] = point_coords[None].float()  # (1, B, n, 2)
            kwargs["input_labels"] = point_labels[None].long()  # (1, B, n)
        if boxes is not None:
            kwargs["input_boxes"] = boxes[None].float()  # (1, B, 4)
        with torch.inference_mode():
            out = self.model(image_embeddings=self.features, multimask_output=multimask_output, **kwargs)
        low = out.pred_masks[0].float()  # (B, M, h, w)
        iou = out.iou_scores[0].float()  # (B, M)
        b, m = low.shape[:2]
        x = F.interpolate(low.flatten(0, 1)[:, None], self.pad_hw, mode="bilinear", align_corners=False)
        x = x[..., : self.input_size[0], : self.input_size[1]]
        x = F.interpolate(x, self.original_size, mode="bilinear", align_corners=False)[:, 0]
        masks = x.reshape(b, m, *self.original_size)
        if not return_logits:
            masks = masks > self.mask_threshold
        return masks, iou, low


def load_sam_hf(path: Path) -> tuple[HFSamPredictor, dict[str, Any]]:
    """(HFSamPredictor on CPU, config dict) from a Hugging Face SAM folder."""
    check_hf_folder(path, ("sam",), "a SAM checkpoint", SAM_HINT)
    quiet_transformers()
    from transformers import SamImageProcessor, SamModel, SamProcessor

    try:
        model = SamModel.from_pretrained(path, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to load is the same user fix
        raise InvalidInput(f"{path}: cannot load the SAM weights ({first_line(exc)}); expected {SAM_HINT}") from None
    # a SamVisionConfig (transformers types the sub-config as config, dict or None)
    vision: Any = model.config.vision_config
    if any((path / n).is_file() for n in ("preprocessor_config.json", "processor_config.json")):
        try:
            processor = SamProcessor.from_pretrained(path, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any failure to load is the same user fix
            raise InvalidInput(f"{path}: cannot load the SAM processor ({first_line(exc)}); expected {SAM_HINT}") from None
    else:  # the model's own input size, SAM's normalisation
        size = int(vision.image_size)
        processor = SamProcessor(SamImageProcessor(size={"longest_edge": size}, pad_size={"height": size, "width": size}))
    return HFSamPredictor(model.eval(), processor), {"vision_hidden_size": vision.hidden_size}


# ---------------------------------------------------------------------------------------------
# the wrapper used by pseudo-label and the superpixel method
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _generator_class() -> type[SamAutomaticMaskGenerator]:
    """segment-anything's automatic mask generator, guarded and working with any predictor."""
    import types

    import torch
    from segment_anything import SamAutomaticMaskGenerator
    from segment_anything.utils.amg import MaskData

    class GuardedMaskGenerator(SamAutomaticMaskGenerator):
        """Takes a predictor (``SamPredictor`` or :class:`HFSamPredictor`) instead of a model, and
        returns no masks instead of crashing when ``crop_n_layers ≥ 1`` and no mask survives
        (segment-anything issue 614: ``box_area`` of an empty crop-box list)."""

        def __init__(self, predictor: AmpPredictor, **kwargs: Any) -> None:
            # the parent builds a throwaway SamPredictor from model.image_encoder.img_size only
            stub = types.SimpleNamespace(image_encoder=types.SimpleNamespace(img_size=predictor.transform.target_length))
            super().__init__(stub, **kwargs)
            self.predictor = predictor

        def _generate_masks(self, image: np.ndarray) -> MaskData:
            from segment_anything.utils.amg import generate_crop_boxes

            crop_boxes, layer_idxs = generate_crop_boxes(image.shape[:2], self.crop_n_layers, self.crop_overlap_ratio)
            if len(crop_boxes) > 1:
                data = MaskData()
                total = 0
                for crop_box, layer_idx in zip(crop_boxes, layer_idxs):
                    crop_data = self._process_crop(image, crop_box, layer_idx, image.shape[:2])
                    total += len(crop_data["rles"])
                    data.cat(crop_data)
                if total == 0:
                    data.to_numpy()
                    return data
                from torchvision.ops.boxes import batched_nms, box_area

                scores = 1 / box_area(data["crop_boxes"])
                keep = batched_nms(
                    data["boxes"].float(), scores.to(data["boxes"].device), torch.zeros(len(data["boxes"])),
                    iou_threshold=self.crop_nms_thresh,
                )
                data.filter(keep)
                data.to_numpy()
                return data
            return super()._generate_masks(image)

    return GuardedMaskGenerator


class AmpPredictor:
    """Runs a predictor's model calls under mixed precision (bfloat16 on CUDA) and hands back
    float32 outputs, so the mask generator's own maths (stability, NMS) stays in float32."""

    def __init__(self, inner: SamPredictor | HFSamPredictor, device: str, amp: bool = True) -> None:
        self.inner = inner
        self.device_name = device
        self.amp = amp

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def set_image(self, image: np.ndarray, image_format: str = "RGB") -> None:
        import torch

        with torch.inference_mode(), autocast(self.device_name, self.amp):
            self.inner.set_image(np.ascontiguousarray(image), image_format)

    def predict_torch(self, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        import torch

        with torch.inference_mode(), autocast(self.device_name, self.amp):
            masks, iou, low = self.inner.predict_torch(*args, **kwargs)
        return (masks if masks.dtype == torch.bool else masks.float()), iou.float(), low.float()

    def reset_image(self) -> None:
        self.inner.reset_image()


class SamMasker:
    """A loaded SAM: :meth:`masks_from_boxes` (Grounded-SAM) and :meth:`automatic_masks` (superpixels).

    Wraps a predictor with ``SamPredictor``'s interface; ``source`` describes the checkpoint.
    """

    def __init__(
        self, predictor: SamPredictor | HFSamPredictor, *, device: str = "cpu", amp: bool = True,
        source: dict | None = None, box_batch: int = 64,
    ) -> None:
        self.predictor = predictor
        self.amp_predictor = AmpPredictor(predictor, device, amp)
        self.device = device
        self.amp = amp
        self.source = source or {}
        self.box_batch = int(box_batch)

    def describe(self) -> dict[str, Any]:
        return dict(self.source)

    def set_image(self, image: np.ndarray) -> None:
        """Compute the image embedding once ((H, W, 3) uint8 RGB)."""
        self.amp_predictor.set_image(image)

    def masks_from_boxes(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """One mask per box: ``image`` (H, W, 3) uint8 RGB, ``boxes`` (N, 4) float xyxy pixels →
        (N, H, W) bool. The embedding is computed once; boxes go through the decoder in batches."""
        import torch

        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        h, w = image.shape[:2]
        if boxes.shape[0] == 0:
            return np.zeros((0, h, w), dtype=bool)
        self.set_image(image)
        out = []
        for start in range(0, boxes.shape[0], self.box_batch):
            chunk = torch.as_tensor(boxes[start : start + self.box_batch], device=self.predictor.device)
            tb = self.predictor.transform.apply_boxes_torch(chunk, (h, w))
            masks, _, _ = self.amp_predictor.predict_torch(None, None, boxes=tb, multimask_output=False)
            out.append(masks[:, 0].bool().cpu().numpy())
        self.predictor.reset_image()
        return np.concatenate(out, axis=0)

    def automatic_masks(
        self,
        image: np.ndarray,
        *,
        points_per_side: int = 32,
        points_per_batch: int = 128,
        pred_iou_thresh: float = 0.88,
        stability_score_thresh: float = 0.95,
        stability_score_offset: float = 1.0,
        box_nms_thresh: float = 0.7,
        crop_n_layers: int = 0,
        crop_nms_thresh: float = 0.7,
        crop_n_points_downscale_factor: int = 1,
        min_mask_region_area: int = 0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """SAM's automatic masks of an (H, W, 3) uint8 RGB image.

        Returns ((N, H, W) bool masks, (N,) float32 predicted IoU). Never raises for "no mask".
        """
        import torch

        gen = _generator_class()(
            self.amp_predictor,
            points_per_side=int(points_per_side),
            points_per_batch=int(points_per_batch),
            pred_iou_thresh=float(pred_iou_thresh),
            stability_score_thresh=float(stability_score_thresh),
            stability_score_offset=float(stability_score_offset),
            box_nms_thresh=float(box_nms_thresh),
            crop_n_layers=int(crop_n_layers),
            crop_nms_thresh=float(crop_nms_thresh),
            crop_n_points_downscale_factor=int(crop_n_points_downscale_factor),
            min_mask_region_area=int(min_mask_region_area),
            output_mode="binary_mask",
        )
        with torch.inference_mode():
            anns = gen.generate(np.ascontiguousarray(image))
        h, w = image.shape[:2]
        if not anns:
            return np.zeros((0, h, w), dtype=bool), np.zeros(0, dtype=np.float32)
        masks = np.stack([np.asarray(a["segmentation"], dtype=bool) for a in anns])
        scores = np.array([a["predicted_iou"] for a in anns], dtype=np.float32)
        return masks, scores


def load_sam(
    path: str | os.PathLike,
    *,
    model_type: str | None = None,
    device: str = "auto",
    amp: bool = True,
    box_batch: int = 64,
) -> SamMasker:
    """Load SAM from a ``.pth`` file (segment-anything) or a Hugging Face folder (transformers).

    AlcError, one line with where to get the right file, for a missing path, the wrong kind of file
    or folder, a corrupt file, or a ``model_type`` that does not match.
    """
    from alc_data.foundation.hub import local_or_hub

    path = local_or_hub(path, what="SAM checkpoint")
    device = resolve_device(device)
    if not path.exists():
        raise NotFound(f"{path}: SAM checkpoint not found; expected {SAM_HINT}")
    if path.is_dir():
        if not (path / "config.json").is_file() and any(path.glob("*.pth")):
            raise InvalidInput(f"{path}: is a folder; pass the .pth file in it ({next(path.glob('*.pth')).name}) to --sam")
        predictor, info = load_sam_hf(path)
        if model_type is not None:
            mt = str(model_type).lower()
            if mt not in MODEL_TYPES:
                raise InvalidInput(f"SAM model type {model_type!r}: use one of vit_h, vit_l, vit_b (or leave it out)")
            if info["vision_hidden_size"] != MODEL_TYPES[mt][0]:
                raise InvalidInput(f"{path}: holds a SAM encoder of width {info['vision_hidden_size']}, not {mt}; fix --sam-type")
        predictor.model.to(device)  # type: ignore[arg-type]  # transformers types PreTrainedModel.to unbound
        source = {"kind": "sam-transformers", "path": str(path.resolve()), **info}
    else:
        from segment_anything import SamPredictor

        sam, arch = load_sam_pth(path, model_type=model_type)
        sam.to(device)
        predictor = SamPredictor(sam)
        source = {
            "kind": "sam-segment-anything",
            "path": str(path.resolve()),
            "model_type": model_type,
            "encoder": {k: arch[k] for k in ("encoder_embed_dim", "encoder_depth", "img_size")},
        }
    return SamMasker(predictor, device=device, amp=amp, source=source, box_batch=box_batch)


_CACHE: dict[tuple, SamMasker] = {}


def cached_sam(path: str | os.PathLike, *, model_type: str | None = None, device: str = "auto", amp: bool = True) -> SamMasker:
    """:func:`load_sam`, kept in memory across calls (keyed by path, file time and size, type,
    device); only the latest model is kept."""
    from alc_data.foundation.hub import local_or_hub

    p = local_or_hub(path, what="SAM checkpoint")
    try:
        st = p.stat()
        stamp = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = None
    key = (str(p.resolve()), stamp, model_type, resolve_device(device), amp)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = load_sam(p, model_type=model_type, device=device, amp=amp)
    return _CACHE[key]
