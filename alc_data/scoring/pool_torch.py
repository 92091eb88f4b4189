"""The torch backend of the diversified pixel pool (:mod:`alc_data.scoring.pool` says what it
computes): float64 on the inputs' device, ``index_add_`` / ``scatter_add_`` / ``scatter_reduce_``
over superpixel indices. torch is imported inside the functions that need it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import InvalidInput
from alc_data.scoring.pool import COS_EPS, ScoringContext, random_offsets

class TorchContext(ScoringContext):
    """torch backend on the inputs' device, float64; candidate pixels in row-major order."""

    def __init__(self, probs: Any, labels: Any, superpixels: Any, K: int, H: int, W: int,
                 image_id: str, seed: int, representative: str = "pool", from_logits: bool = False) -> None:
        import torch

        self.num_classes, self.shape, self.image_id, self.seed = K, (H, W), image_id, seed
        self.representative = representative
        device = probs.device
        self._torch = torch

        sp_flat = superpixels.reshape(-1)
        pix = torch.nonzero(sp_flat >= 0).reshape(-1)  # candidate pixels, row-major
        ids, seg = torch.unique(sp_flat[pix], sorted=True, return_inverse=True)
        S, n = int(ids.numel()), int(pix.numel())
        self.num_superpixels, self._n, self._seg = S, n, seg
        counts = torch.zeros(S, dtype=torch.int64, device=device).scatter_add_(
            0, seg, torch.ones_like(seg)
        )
        self.superpixel_ids = ids.cpu().numpy().astype(np.int64)
        self.area = counts.cpu().numpy().astype(np.int64)

        F = probs.reshape(K, H * W).index_select(1, pix).to(torch.float64)
        if from_logits:  # softmax on the device, candidate pixels only; nothing goes to the host
            F = torch.softmax(F, dim=0)
        self._F = F
        self._labels = labels.reshape(-1).index_select(0, pix).to(torch.int64)
        if S == 0:
            self.dominant = self.rep_flat = self.label_at_rep = np.empty(0, dtype=np.int64)
            self._pred = self._labels
            self._nf = F.new_zeros(0)
            self._cos_mean = F.new_zeros(0)
            self._rep_pos = pix
            return

        pred = F.argmax(dim=0)  # ties: first maximal index
        self._pred = pred
        votes = torch.zeros(S * K, dtype=torch.int64, device=device)
        votes = votes.scatter_add_(0, seg * K + pred, torch.ones_like(pred)).reshape(S, K)
        dom = votes.argmax(dim=1)
        n_dom = votes.gather(1, dom[:, None])[:, 0]
        in_sp = pred == dom[seg]

        m = F.new_zeros((K, S)).index_add_(1, seg, F * in_sp) / n_dom
        nm = m.pow(2).sum(0).sqrt().clamp_min(COS_EPS)
        nf = F.pow(2).sum(0).sqrt()
        if not bool(torch.isfinite(nf).all()):
            bad = int((~torch.isfinite(nf)).sum())
            raise InvalidInput(
                f"probs hold NaN or inf at {bad} candidate pixel{'s' if bad != 1 else ''}; "
                "check the model's output (softmax of finite logits)"
            )
        nf = nf.clamp_min(COS_EPS)
        self._nf = nf
        cos = (F * m[:, seg]).sum(0) / (nf * nm[seg])
        self._cos_mean = cos
        cos = torch.where(in_sp, cos, torch.full_like(cos, -torch.inf))
        segmax = torch.full((S,), -torch.inf, dtype=cos.dtype, device=device)
        segmax.scatter_reduce_(0, seg, cos, reduce="amax")
        hit = cos == segmax[seg]
        pos = torch.arange(n, device=device)
        first = torch.full((S,), n, dtype=torch.int64, device=device)
        first.scatter_reduce_(0, seg[hit], pos[hit], reduce="amin")
        if representative == "random":  # the k-th candidate pixel of s in row-major order
            offsets = torch.from_numpy(random_offsets(self.area, seed, image_id)).to(device)
            starts = torch.cumsum(counts, 0) - counts
            first = torch.sort(seg, stable=True).indices[starts + offsets]
        self._rep_pos = first

        self.dominant = dom.cpu().numpy().astype(np.int64)
        self.rep_flat = pix[first].cpu().numpy().astype(np.int64)
        self.label_at_rep = self._labels[first].cpu().numpy().astype(np.int64)

    def uncertainty(self) -> Any:
        if not hasattr(self, "_u"):
            torch = self._torch
            y = torch.where(self._labels == IGNORE_INDEX, self._pred, self._labels)
            self._u = 1.0 - self._F.gather(0, y[None, :])[0]
        return self._u

    def predicted_class(self) -> Any:
        return self._pred

    def current_class(self) -> Any:
        torch = self._torch
        return torch.where(self._labels == IGNORE_INDEX, self._pred, self._labels)

    def cos_to_mean(self) -> Any:
        return self._cos_mean.to(self._torch.float64)

    def cos_to_rep(self) -> Any:
        frep = self._F[:, self._rep_pos]
        dot = (self._F * frep[:, self._seg]).sum(0)
        return dot / (self._nf * self._nf[self._rep_pos][self._seg])

    def self_confidence(self) -> tuple[Any, Any]:
        torch = self._torch
        mask = self._labels != IGNORE_INDEX
        y = torch.where(mask, self._labels, torch.zeros_like(self._labels))
        return self._F.gather(0, y[None, :])[0], mask

    def _segment_sum_t(self, values: Any) -> Any:
        torch = self._torch
        v = torch.as_tensor(values, device=self._F.device).to(torch.float64)
        return v.new_zeros(self.num_superpixels).scatter_add_(0, self._seg, v)

    def segment_sum(self, values: Any) -> np.ndarray:
        return self._segment_sum_t(values).cpu().numpy()

    def segment_softmin(self, values: Any, mask: Any, temperature: float) -> np.ndarray:
        torch = self._torch
        v = torch.as_tensor(values, device=self._F.device).to(torch.float64)
        inf = torch.full_like(v, torch.inf)
        vmin = torch.full((self.num_superpixels,), torch.inf, dtype=v.dtype, device=v.device)
        vmin.scatter_reduce_(0, self._seg, torch.where(mask, v, inf), reduce="amin")
        shift = torch.where(torch.isfinite(vmin), vmin, torch.zeros_like(vmin))[self._seg]
        w = torch.exp(torch.where(mask, -(v - shift) / temperature, -inf))
        den = self._segment_sum_t(w)
        num = self._segment_sum_t(w * torch.where(mask, v, torch.zeros_like(v)))
        out = torch.where(den > 0, num / den.clamp_min(1e-300), torch.full_like(den, torch.nan))
        return out.cpu().numpy()

    def at_rep(self, values: Any) -> np.ndarray:
        torch = self._torch
        v = torch.as_tensor(values, device=self._F.device)
        return v[self._rep_pos].to(torch.float64).cpu().numpy()

    @property
    def rep_probs(self) -> np.ndarray:
        return self._F[:, self._rep_pos].cpu().numpy()
