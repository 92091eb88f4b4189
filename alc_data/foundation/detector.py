"""GroundingDINO (through transformers) as a class-aware box detector.

The post-processing in transformers returns boxes with free-text phrases, no class ids and no NMS,
so this module does the class mapping itself (docs/traps.md):

1. :func:`class_prompts` turns class names into prompt phrases (``tvmonitor`` → "tv monitor"); the
   background class is left out.
2. :func:`build_captions` tokenizes each phrase, joins them into captions ``"[CLS] road . car .
   traffic light . [SEP]"`` and records each class's token span; captions are split into chunks when
   the class list is longer than the text encoder takes (``max_text_len``).
3. :func:`detections_from_logits` scores each predicted box for each class as the max sigmoid logit
   over the class's tokens, gives the box the best class and keeps it above the threshold.
4. :func:`class_nms` runs per-class NMS (``torchvision.ops.batched_nms``).

Vocabulary: ``Q`` box queries, ``T`` text tokens (``max_text_len``), ``N`` kept boxes. Boxes are
``xyxy`` in pixels of the original image, float32.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from alc_data.errors import InvalidInput
from alc_data.foundation.common import (
    autocast,
    check_hf_folder,
    first_line,
    quiet_transformers,
    resolve_device,
)
from alc_data.foundation.hub import local_or_hub
from alc_data.names import parse_ascii_int

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase, ProcessorMixin

#: The ids GroundingDINO hard-codes for [CLS], [SEP], "." and "?" (its BERT-uncased vocabulary).
SPECIAL_TOKEN_IDS = {"[CLS]": 101, "[SEP]": 102, ".": 1012, "?": 1029}

DETECTOR_HINT = (
    "a GroundingDINO folder in Hugging Face format (config.json, model.safetensors, tokenizer and "
    "preprocessor files), e.g. from `hf download IDEA-Research/grounding-dino-tiny --local-dir DIR` "
    "(or grounding-dino-base) run once on a machine with internet, or the hub id itself "
    "(IDEA-Research/grounding-dino-base, resolved through the Hugging Face cache)"
)

#: Prompt phrases for class names that are not plain words (PASCAL VOC and friends).
DEFAULT_PHRASES = {
    "tvmonitor": "tv monitor",
    "pottedplant": "potted plant",
    "diningtable": "dining table",
    "motorbike": "motorbike",
    "aeroplane": "aeroplane",
}

#: Class names treated as "background": never prompted.
BACKGROUND_NAMES = ("background", "_background_", "bg", "__background__")


@dataclass(frozen=True)
class Detections:
    """Boxes found in one image: ``boxes`` (N, 4) float32 xyxy pixels, ``scores`` (N,) float32,
    ``classes`` (N,) int64 workspace class indices."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray

    @classmethod
    def empty(cls) -> "Detections":
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def select(self, keep: np.ndarray) -> "Detections":
        keep = np.asarray(keep)
        return Detections(self.boxes[keep], self.scores[keep], self.classes[keep])

    @classmethod
    def concat(cls, parts: Sequence["Detections"]) -> "Detections":
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.boxes for p in parts]).astype(np.float32),
            np.concatenate([p.scores for p in parts]).astype(np.float32),
            np.concatenate([p.classes for p in parts]).astype(np.int64),
        )


@dataclass(frozen=True)
class Caption:
    """One detector caption: its text, token ids (with [CLS]/[SEP]) and the class spans in it.

    ``spans``: list of (class index, first token, end token) with end exclusive, positions in
    ``input_ids``.
    """

    text: str
    input_ids: tuple[int, ...]
    spans: tuple[tuple[int, int, int], ...] = field(default_factory=tuple)


def default_phrase(name: str) -> str:
    """The prompt phrase for a class name: a known phrase, else the name with ``_``/``-`` as spaces."""
    key = name.strip().lower()
    if key in DEFAULT_PHRASES:
        return DEFAULT_PHRASES[key]
    return " ".join(key.replace("_", " ").replace("-", " ").split())


def is_background_name(name: str) -> bool:
    return name.strip().lower() in BACKGROUND_NAMES


def parse_prompt_overrides(items: Sequence[str] | None) -> dict[str, str]:
    """``["CLASS=PHRASE", ...]`` (``--prompt``) → {class: phrase}; an empty phrase skips the class."""
    out: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise InvalidInput(f"--prompt {item!r}: use CLASS=PHRASE, e.g. tvmonitor='tv monitor' (empty phrase: skip the class)")
        key, phrase = item.split("=", 1)
        out[key.strip()] = phrase.strip()
    return out


def class_prompts(
    class_names: Sequence[str],
    overrides: Mapping[str, str] | None = None,
    *,
    skip: Sequence[int] = (),
) -> list[tuple[int, str]]:
    """(class index, phrase) for every class to prompt.

    Background classes (named ``background`` & co., see :data:`BACKGROUND_NAMES`) and the indices
    in ``skip`` are left out; ``overrides`` maps class names (or indices as strings) to phrases, an
    empty phrase leaving the class out. AlcError for an override naming no class, or a phrase with
    '.' or '?' (they separate phrases in the caption).
    """
    overrides = dict(overrides or {})
    lookup = {n.lower(): i for i, n in enumerate(class_names)}
    by_index: dict[int, str] = {}
    for key, phrase in overrides.items():
        k = str(key).strip()
        if k.lower() in lookup:
            idx = lookup[k.lower()]
        elif (index := parse_ascii_int(k)) is not None and index < len(class_names):
            idx = index
        else:
            raise InvalidInput(f"prompt for unknown class {k!r}; use one of: {', '.join(class_names)}")
        by_index[idx] = " ".join(str(phrase).lower().split())
    out = []
    for i, name in enumerate(class_names):
        if i in by_index:
            phrase = by_index[i]
        elif is_background_name(name) or i in skip:
            continue
        else:
            phrase = default_phrase(name)
        if not phrase:
            continue
        if "." in phrase or "?" in phrase:
            raise InvalidInput(f"prompt {phrase!r} for class {name!r} contains '.' or '?'; they separate phrases")
        out.append((i, phrase))
    if not out:
        raise InvalidInput("no class to prompt the detector with; check the class list and --prompt overrides")
    return out


def build_captions(tokenizer: PreTrainedTokenizerBase, prompts: Sequence[tuple[int, str]], max_len: int) -> list[Caption]:
    """Tokenize ``prompts`` and pack them into captions of at most ``max_len`` tokens.

    Each caption is ``[CLS] p1 . p2 . … [SEP]``; a class's span covers the tokens of its phrase
    (not the separating '.'). AlcError when the tokenizer does not use GroundingDINO's fixed ids or
    when one phrase alone does not fit.
    """
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    dot_id = tokenizer.convert_tokens_to_ids(".")
    if (cls_id, sep_id, dot_id) != (SPECIAL_TOKEN_IDS["[CLS]"], SPECIAL_TOKEN_IDS["[SEP]"], SPECIAL_TOKEN_IDS["."]):
        raise InvalidInput(
            f"detector tokenizer maps [CLS], [SEP], '.' to {cls_id}, {sep_id}, {dot_id}; GroundingDINO needs "
            "101, 102, 1012 (BERT uncased); use the tokenizer files shipped with the GroundingDINO checkpoint"
        )
    tokenized = []
    for idx, phrase in prompts:
        ids = list(tokenizer(phrase, add_special_tokens=False)["input_ids"])
        if not ids:
            raise InvalidInput(f"prompt {phrase!r} gives no tokens; choose another phrase")
        if len(ids) + 3 > max_len:
            raise InvalidInput(f"prompt {phrase!r} has {len(ids)} tokens; the detector takes {max_len - 3} at most")
        tokenized.append((idx, phrase, ids))
    captions: list[Caption] = []
    ids_now: list[int] = [cls_id]
    spans: list[tuple[int, int, int]] = []
    texts: list[str] = []
    for idx, phrase, ids in tokenized:
        if len(ids_now) + len(ids) + 2 > max_len:  # phrase + '.' + [SEP]
            captions.append(Caption(" . ".join(texts) + " .", tuple(ids_now + [sep_id]), tuple(spans)))
            ids_now, spans, texts = [cls_id], [], []
        spans.append((idx, len(ids_now), len(ids_now) + len(ids)))
        ids_now += ids + [dot_id]
        texts.append(phrase)
    captions.append(Caption(" . ".join(texts) + " .", tuple(ids_now + [sep_id]), tuple(spans)))
    return captions


def detections_from_logits(
    logits: np.ndarray,
    boxes_cxcywh: np.ndarray,
    caption: Caption,
    image_size: tuple[int, int],
    *,
    box_threshold: float,
    text_threshold: float | None = None,
) -> Detections:
    """Class-aware boxes from one image's detector output for one caption.

    ``logits``: (Q, T) float raw token logits (``-inf`` beyond the caption); ``boxes_cxcywh``:
    (Q, 4) float normalised (cx, cy, w, h); ``image_size``: (H, W) of the original image. A box's
    score for class c is the max over c's tokens of sigmoid(logit); the box takes the best class and
    is kept when that score ≥ ``box_threshold`` (and ≥ ``text_threshold`` when given).
    """
    logits = np.asarray(logits, dtype=np.float64)
    q = logits.shape[0]
    if not caption.spans or q == 0:
        return Detections.empty()
    probs = 1.0 / (1.0 + np.exp(-np.clip(logits, -60, 60)))
    per_class = np.stack([probs[:, a:b].max(axis=1) for _, a, b in caption.spans], axis=1)  # (Q, C)
    best = per_class.argmax(axis=1)
    score = per_class[np.arange(q), best]
    thr = box_threshold if text_threshold is None else max(box_threshold, text_threshold)
    keep = score >= thr
    class_ids = np.array([c for c, _, _ in caption.spans], dtype=np.int64)
    h, w = image_size
    b = np.asarray(boxes_cxcywh, dtype=np.float64)[keep]
    xyxy = np.stack([b[:, 0] - b[:, 2] / 2, b[:, 1] - b[:, 3] / 2, b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2], axis=1)
    xyxy = xyxy * np.array([w, h, w, h], dtype=np.float64)
    xyxy[:, 0::2] = xyxy[:, 0::2].clip(0, w)
    xyxy[:, 1::2] = xyxy[:, 1::2].clip(0, h)
    return Detections(xyxy.astype(np.float32), score[keep].astype(np.float32), class_ids[best[keep]])


def class_nms(det: Detections, iou_threshold: float) -> Detections:
    """Per-class non-maximum suppression (torchvision ``batched_nms``), highest score first."""
    if len(det) == 0:
        return det
    import torch
    from torchvision.ops import batched_nms

    keep = batched_nms(
        torch.as_tensor(det.boxes, dtype=torch.float32),
        torch.as_tensor(det.scores, dtype=torch.float32),
        torch.as_tensor(det.classes, dtype=torch.int64),
        float(iou_threshold),
    ).numpy()
    return det.select(keep)


class GroundingDinoDetector:
    """A GroundingDINO model and processor loaded from a local Hugging Face-format folder.

    ``detect(images, prompts)`` → one :class:`Detections` per image, after per-class NMS.
    """

    def __init__(
        self, model: PreTrainedModel, processor: ProcessorMixin, *, device: str = "cpu", amp: bool = True,
        source: dict | None = None,
    ) -> None:
        self.model = model
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.device = device
        self.amp = amp
        self.source = source or {}
        cfg = model.config
        text_max = getattr(getattr(cfg, "text_config", None), "max_position_embeddings", None) or 10**9
        self.max_text_len = int(min(getattr(cfg, "max_text_len", 256) or 256, text_max))
        self._captions: dict[tuple, list[Caption]] = {}

    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str = "auto", amp: bool = True) -> "GroundingDinoDetector":
        """Load from a folder or a hub id (``IDEA-Research/grounding-dino-base``, resolved through the
        Hugging Face cache); AlcError (one line, with where to get it) for anything else."""
        path = local_or_hub(path, what="GroundingDINO checkpoint")
        check_hf_folder(path, ("grounding-dino",), "a GroundingDINO checkpoint", DETECTOR_HINT)
        device = resolve_device(device)
        quiet_transformers()
        from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

        try:
            model = AutoModelForZeroShotObjectDetection.from_pretrained(path, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any failure to load is the same user fix
            raise InvalidInput(f"{path}: cannot load the GroundingDINO weights ({first_line(exc)}); expected {DETECTOR_HINT}") from None
        try:
            processor = AutoProcessor.from_pretrained(path, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any failure to load is the same user fix
            raise InvalidInput(
                f"{path}: cannot load the GroundingDINO processor/tokenizer ({first_line(exc)}); expected {DETECTOR_HINT}"
            ) from None
        if getattr(processor, "tokenizer", None) is None or getattr(processor, "image_processor", None) is None:
            raise InvalidInput(f"{path}: no tokenizer or image-processor files; expected {DETECTOR_HINT}")
        model.to(device).eval()
        return cls(model, processor, device=device, amp=amp, source={"path": str(path.resolve())})

    def captions(self, prompts: Sequence[tuple[int, str]]) -> list[Caption]:
        key = tuple(prompts)
        if key not in self._captions:
            self._captions[key] = build_captions(self.tokenizer, prompts, self.max_text_len)
        return self._captions[key]

    def detect(
        self,
        images: Sequence[np.ndarray],
        prompts: Sequence[tuple[int, str]],
        *,
        box_threshold: float = 0.2,
        text_threshold: float | None = None,
        nms_iou: float = 0.5,
    ) -> list[Detections]:
        """Boxes for the class ``prompts`` in each image ((H, W, 3) uint8 RGB), one forward per
        caption chunk for the whole batch."""
        import torch

        if not images:
            return []
        images = [img if img.flags.writeable else img.copy() for img in images]  # torch wants writable arrays
        pix = self.processor.image_processor(images=images, return_tensors="pt")
        pixel_values = pix["pixel_values"].to(self.device)
        pixel_mask = pix["pixel_mask"].to(self.device) if "pixel_mask" in pix else None
        n = len(images)
        per_image: list[list[Detections]] = [[] for _ in range(n)]
        for cap in self.captions(prompts):
            ids = torch.tensor([cap.input_ids] * n, dtype=torch.long, device=self.device)
            with torch.inference_mode(), autocast(self.device, self.amp):
                out = self.model(
                    pixel_values=pixel_values,
                    pixel_mask=pixel_mask,
                    input_ids=ids,
                    attention_mask=torch.ones_like(ids),
                    token_type_ids=torch.zeros_like(ids),
                )
            logits = out.logits.float().cpu().numpy()
            boxes = out.pred_boxes.float().cpu().numpy()
            for i, img in enumerate(images):
                per_image[i].append(
                    detections_from_logits(
                        logits[i], boxes[i], cap, img.shape[:2], box_threshold=box_threshold, text_threshold=text_threshold
                    )
                )
        return [class_nms(Detections.concat(parts), nms_iou) for parts in per_image]

    def describe(self) -> dict[str, Any]:
        return {"kind": "grounding-dino", **self.source, "max_text_len": self.max_text_len}
