"""SAM from a Hugging Face-format folder (transformers' ``SamModel``/``SamProcessor``), wrapped with
segment-anything's ``SamPredictor`` interface. torch and transformers are imported inside the
functions that need them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from alc_data.errors import InvalidInput
from alc_data.foundation.common import SAM_HINT, check_hf_folder, first_line, quiet_transformers


class HFSamPredictor:
    """segment-anything's ``SamPredictor`` interface over a transformers ``SamModel``.

    Coordinates given to :meth:`predict_torch` are in the resized input frame (``transform``),
    as with ``SamPredictor``; masks come back at the original image size. Mixed precision is applied
    around it by :class:`AmpPredictor`.
    """

    mask_threshold = 0.0

    def __init__(self, model: Any, processor: Any) -> None:
        from segment_anything.utils.transforms import ResizeLongestSide

        self.model = model
        self.processor = processor
        ip = processor.image_processor
        self.target_length = int(ip.size["longest_edge"])
        pad = getattr(ip, "pad_size", None) or {"height": self.target_length, "width": self.target_length}
        self.pad_hw = (int(pad["height"]), int(pad["width"]))
        self.transform = ResizeLongestSide(self.target_length)
        self.model.mask_threshold = self.mask_threshold  # read by SamAutomaticMaskGenerator
        self.reset_image()

    @property
    def device(self) -> Any:
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

    def predict_torch(self, point_coords: Any, point_labels: Any, boxes: Any = None, mask_input: Any = None,
                      multimask_output: bool = True, return_logits: bool = False) -> tuple[Any, Any, Any]:
        """(B, M, H, W) masks (bool, or float logits), (B, M) predicted IoU, (B, M, h, w) low-res logits."""
        import torch
        import torch.nn.functional as F

        size, shown = self.original_size, self.input_size
        if not self.is_image_set or size is None or shown is None:
            raise RuntimeError("set_image must be called before predict_torch")
        kwargs: dict[str, Any] = {}
        if point_coords is not None:
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
        x = x[..., : shown[0], : shown[1]]
        x = F.interpolate(x, size, mode="bilinear", align_corners=False)[:, 0]
        masks = x.reshape(b, m, *size)
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
