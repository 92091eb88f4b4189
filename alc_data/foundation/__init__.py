"""Foundation models: Grounded-SAM pseudo labels (GroundingDINO boxes → SAM masks) and SAM masks
for superpixels. Checkpoints load from local paths or hub ids (resolved through the Hugging Face
cache, see :mod:`alc_data.foundation.hub`); torch/transformers/segment_anything are imported inside
the functions that need them.

- :mod:`alc_data.foundation.detector`: GroundingDINO loading, captions, token spans, per-class NMS.
- :mod:`alc_data.foundation.sam`: SAM loading (segment-anything ``.pth`` or Hugging Face folder),
  box prompts → masks, automatic masks.
- :mod:`alc_data.foundation.paint`: masks → semantic label map + instance map (smallest on top).
- :mod:`alc_data.foundation.grounded_sam`: boxes → masks → label and instance maps for a batch of images.

The workspace driver, :func:`alc_data.pseudo_label.run_pseudo_label`, sits above the engine layer.
"""

from alc_data.foundation.detector import Detections, build_captions, class_nms, class_prompts
from alc_data.foundation.paint import paint_masks, paint_regions, winning_mask
from alc_data.foundation.grounded_sam import pseudo_label_images

__all__ = [
    "Detections",
    "build_captions",
    "class_nms",
    "class_prompts",
    "paint_masks",
    "paint_regions",
    "pseudo_label_images",
    "winning_mask",
]
