"""Training data: labelled images read from the workspace per item, augmented deterministically.

Nothing dataset-wide is kept in memory unless the split is small (see ``cache_megapixels``). The
batch order and every augmentation are functions of (seed, position in the sample stream), so a
training resumed at iteration i sees exactly the batches an uninterrupted one would, whatever the
number of DataLoader workers.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import InvalidInput

if TYPE_CHECKING:
    from alc_data.workspace import Workspace

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def normalize_image(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB → (3, H, W) float32, ImageNet mean/std normalised."""
    x = image.astype(np.float32) * (1.0 / 255.0)
    x -= IMAGENET_MEAN
    x /= IMAGENET_STD
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def round_up(value: int, multiple: int) -> int:
    return int(math.ceil(value / multiple) * multiple)


class LabelledImages:
    """Images and labels of one label version, read per item; cached when the split is small.

    ``get(i)`` → ((H, W, 3) uint8 RGB, (H, W) uint8 labels) of ``image_ids[i]``.
    """

    def __init__(self, ws: Workspace, version: str, image_ids: list[str], *, cache_megapixels: float = 0.0) -> None:
        self.ws = ws
        self.version = version
        self.image_ids = list(image_ids)
        total = sum(int(ws.catalogue.image_record(i).height) * int(ws.catalogue.image_record(i).width) for i in self.image_ids)
        self.cache_enabled = total <= cache_megapixels * 1e6
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.image_ids)

    def get(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        hit = self._cache.get(index)
        if hit is not None:
            return hit
        image_id = self.image_ids[index]
        image = self.ws.catalogue.load_image(image_id)
        label = self.ws.labels.read_label(self.version, image_id)
        if label.shape != image.shape[:2]:
            raise InvalidInput(
                f"labels of {image_id!r} in version {self.version!r} have shape {label.shape}, "
                f"the image {image.shape[:2]}; re-create the label version"
            )
        if self.cache_enabled:
            self._cache[index] = (image, label)
        return image, label

    def __getstate__(self) -> dict[str, Any]:  # DataLoader workers: send ids, not the cache
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state


def augment(
    image: np.ndarray,
    label: np.ndarray,
    rng: np.random.Generator,
    *,
    crop_size: int,
    out_size: int,
    scale_range: tuple[float, float],
    flip: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Random scale, crop and horizontal flip of one labelled image.

    ``image`` (H, W, 3) uint8, ``label`` (H, W) uint8 → ((3, S, S) float32 normalised image,
    (S, S) int64 labels) with S = ``out_size`` ≥ ``crop_size``. Areas outside the image (when the
    scaled image is smaller than the crop, and the margin up to ``out_size``) are 0 in the
    normalised image (the mean colour) and IGNORE_INDEX in the labels.
    """
    from PIL import Image

    h, w = label.shape
    lo, hi = scale_range
    s = float(rng.uniform(lo, hi)) if hi > lo else float(lo)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    if (nh, nw) != (h, w):
        image = np.asarray(Image.fromarray(image).resize((nw, nh), Image.Resampling.BILINEAR))
        label = np.asarray(Image.fromarray(label).resize((nw, nh), Image.Resampling.NEAREST))
    y0 = int(rng.integers(0, max(nh - crop_size, 0) + 1))
    x0 = int(rng.integers(0, max(nw - crop_size, 0) + 1))
    ch, cw = min(crop_size, nh - y0), min(crop_size, nw - x0)
    img_crop = image[y0:y0 + ch, x0:x0 + cw]
    lab_crop = label[y0:y0 + ch, x0:x0 + cw]
    if flip and rng.random() < 0.5:
        img_crop = img_crop[:, ::-1]
        lab_crop = lab_crop[:, ::-1]
    out_img = np.zeros((3, out_size, out_size), dtype=np.float32)
    out_lab = np.full((out_size, out_size), IGNORE_INDEX, dtype=np.int64)
    out_img[:, :ch, :cw] = normalize_image(img_crop)
    out_lab[:ch, :cw] = lab_crop
    return out_img, out_lab


class TrainCrops:
    """Map-style dataset for ``torch.utils.data.DataLoader``: key (index, sample_seed) → one crop.

    Returns ((3, S, S) float32, (S, S) int64) numpy arrays (see :func:`augment`).
    """

    def __init__(
        self,
        images: LabelledImages,
        *,
        crop_size: int,
        out_size: int,
        scale_range: tuple[float, float],
        flip: bool,
    ) -> None:
        self.images = images
        self.crop_size = int(crop_size)
        self.out_size = int(out_size)
        lo, hi = scale_range
        self.scale_range = (float(lo), float(hi))
        self.flip = bool(flip)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, key: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        index, sample_seed = key
        image, label = self.images.get(int(index))
        rng = np.random.default_rng(int(sample_seed))
        return augment(
            image, label, rng,
            crop_size=self.crop_size, out_size=self.out_size, scale_range=self.scale_range, flip=self.flip,
        )


class BatchKeys:
    """Batch sampler: the keys of iterations ``start .. total-1``, a pure function of the seed.

    The sample stream concatenates one random permutation of the images per epoch (epoch e uses
    ``default_rng([seed, e])``); iteration i takes stream positions [i·B, (i+1)·B). Each sample's
    augmentation seed is derived from (seed, position).
    """

    def __init__(self, num_images: int, batch_size: int, seed: int, start: int, total: int) -> None:
        if num_images < 1:
            raise InvalidInput("no training images; the split is empty")
        self.n = int(num_images)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.start = int(start)
        self.total = int(total)
        self._perm: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return max(0, self.total - self.start)

    def _permutation(self, epoch: int) -> np.ndarray:
        if self._perm is None or self._perm[0] != epoch:
            self._perm = (epoch, np.random.default_rng([self.seed, 17, epoch]).permutation(self.n))
        return self._perm[1]

    def keys(self, iteration: int) -> list[tuple[int, int]]:
        first = iteration * self.batch_size
        out = []
        for pos in range(first, first + self.batch_size):
            epoch, offset = divmod(pos, self.n)
            index = int(self._permutation(epoch)[offset])
            sample_seed = int(np.random.default_rng([self.seed, 29, pos]).integers(0, 2**62))
            out.append((index, sample_seed))
        return out

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for it in range(self.start, self.total):
            yield self.keys(it)
