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
decoder in batches. The two loaders: :mod:`alc_data.foundation.sam_pth` and
:mod:`alc_data.foundation.sam_hf`.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from alc_data.errors import InvalidInput, NotFound
from alc_data.foundation.common import SAM_HINT, autocast, resolve_device
from alc_data.foundation.hub import local_or_hub
from alc_data.foundation.sam_hf import HFSamPredictor, load_sam_hf
from alc_data.foundation.sam_pth import MODEL_TYPES, load_sam_pth

if TYPE_CHECKING:
    import torch
    from segment_anything import SamAutomaticMaskGenerator, SamPredictor
    from segment_anything.utils.amg import MaskData


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
        predictor.model.to(device)
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
