"""numba kernels of the fused CPU scorer (imported only when scoring runs with numba installed).

The kernels read the probabilities in their own layout, (K, N) with N = H * W row-major pixels, and
index the superpixels through ``seg`` (N,) int32 (0..S-1, -1 = no candidate): no copy or
reordering of the probabilities. :func:`pool_scores` makes one pass over the image in blocks of
pixels:

1. per block, pred(x) (first maximal class) and |f(x)| in float64 (loops over classes outside and
   pixels inside: contiguous, vectorised by LLVM), then per pixel u(x) and the votes for dom(s);
2. after each block, every superpixel whose last pixel lies in it is finished while its pixels are
   still in cache: dom(s); in one pass over its pixels m(s), the float64 mean of f over s', and
   g(s) = sum over s of f(x) u(x) / |f(x)| (the sum of cosines times u, regrouped); then rep(s),
   the first maximum of cos(f(x), m(s)) over s', and SIM(s) = f(rep(s)) . g(s) / |f(rep(s))|.

Arithmetic follows the equations in float64 (inputs may be float32): sums over pixels run in
row-major pixel order and dot products over classes in class order, the order of the float64
reference, so m(s), the cosines and hence rep(s) are the ones it computes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

NEED_REP = 1  # rep(s): the pool's (mean, cosines) unless a random offset is given
NEED_U = 2  # u(x) summed over s (and at rep(s) when NEED_REP)
NEED_SIM = 4  # sum over s of cos(f(rep), f(x)) u(x); needs NEED_REP | NEED_U


@njit(cache=True, nogil=True)
def segment_index(sp_flat: np.ndarray, span: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dense superpixel index of every pixel, for ids in 0..span-1 (ids < 0: no candidate).

    Returns ``seg`` (N,) int32 (0..S-1 in id order, -1 = no candidate), ``ids`` (S,) int64 and
    ``counts`` (S,) int64.
    """
    N = sp_flat.size
    hist = np.zeros(span, np.int64)
    for x in range(N):
        v = sp_flat[x]
        if v >= 0:
            hist[v] += 1
    remap = np.full(span, -1, np.int32)
    S = 0
    for b in range(span):
        if hist[b] > 0:
            remap[b] = S
            S += 1
    ids = np.empty(S, np.int64)
    counts = np.empty(S, np.int64)
    for b in range(span):
        if remap[b] >= 0:
            ids[remap[b]] = b
            counts[remap[b]] = hist[b]
    seg = np.empty(N, np.int32)
    for x in range(N):
        v = sp_flat[x]
        seg[x] = remap[v] if v >= 0 else -1
    return seg, ids, counts


BLOCK = 2048
"""Pixels per block in the class-outer loops: their temporaries stay in cache."""


@njit(cache=True, nogil=True)
def group_pixels(seg: np.ndarray, S: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixels grouped by superpixel: ``order`` (n,) int32 flat indices (row-major inside a group),
    ``starts`` (S + 1,) int64 group bounds in ``order``, and ``finish`` (S,) int64: the superpixels
    by increasing last pixel (the order in which a row-major pass completes them)."""
    N = seg.size
    starts = np.zeros(S + 1, np.int64)
    for j in range(N):
        if seg[j] >= 0:
            starts[seg[j] + 1] += 1
    for s in range(S):
        starts[s + 1] += starts[s]
    slot = starts[:S].copy()
    order = np.empty(starts[S], np.int32)
    last = np.empty(S, np.int64)
    for j in range(N):
        s = seg[j]
        if s >= 0:
            order[slot[s]] = j
            slot[s] += 1
            last[s] = j
    return order, starts, np.argsort(last)


@njit(cache=True, nogil=True)
def pool_scores(
    P: np.ndarray, lab: np.ndarray, seg: np.ndarray, order: np.ndarray, starts: np.ndarray, finish: np.ndarray,
    rep_offset: np.ndarray, need: int, void: int, eps: float,
    pred: np.ndarray, nf: np.ndarray, u: np.ndarray, votes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Per-superpixel pool and scores of one image (see the module docstring).

    ``P`` (K, N) C-contiguous float32/float64; ``lab`` (N,) uint8 labels; ``seg`` (N,) int32;
    ``order``/``starts``/``finish`` from :func:`group_pixels`; ``rep_offset`` (S,) int64: the
    representative's rank among the pixels of s in row-major order (the random representative),
    or an empty array to take the pool's rep(s); ``need``: bits NEED_REP / NEED_U / NEED_SIM (pred
    and dom(s) always come). ``pred`` (>= N,) int32, ``nf`` and ``u`` (>= N,) float64 and ``votes``
    (>= S * K,) int64 are work arrays, overwritten (reused between calls: fresh multi-megabyte
    arrays cost more in page faults than the pass itself).

    Returns ``dom`` (S,) int64, ``rep`` (S,) int64 flat pixel index (0 when not asked), ``u_rep``,
    ``u_sum``, ``sim`` (S,) float64, and the number of candidate pixels whose probabilities are not
    finite (NaN/inf; the rest is then meaningless).
    """
    K = P.shape[0]
    N = P.shape[1]
    S = starts.size - 1
    Pf = P.ravel()
    dom = np.zeros(S, np.int64)
    rep = np.zeros(S, np.int64)
    u_rep = np.zeros(S, np.float64)
    u_sum = np.zeros(S, np.float64)
    sim = np.zeros(S, np.float64)
    want_u = (need & (NEED_U | NEED_SIM)) != 0
    want_sim = (need & NEED_SIM) != 0
    want_rep = (need & NEED_REP) != 0
    mx = np.empty(BLOCK, P.dtype)
    votes[:S * K] = 0
    g = np.zeros(K, np.float64)
    m = np.zeros(K, np.float64)
    bad = 0
    done = 0  # superpixels finished, in ``finish`` order
    for b0 in range(0, N, BLOCK):
        b1 = min(N, b0 + BLOCK)
        # 1. pred(x) and |f(x)|^2 in float64 for the block's pixels (class-outer, vectorised) ...
        mxb = mx[:b1 - b0]
        pb = pred[b0:b1]
        nb = nf[b0:b1]
        mxb[:] = Pf[b0:b1]
        pb[:] = 0
        nb[:] = 0.0
        for k in range(1, K):
            row = Pf[k * N + b0:k * N + b1]
            for j in range(b1 - b0):
                v = row[j]
                mv = mxb[j]
                pb[j] = np.int32(k) if v > mv else pb[j]
                mxb[j] = v if v > mv else mv
        for k in range(K):
            row = Pf[k * N + b0:k * N + b1]
            for j in range(b1 - b0):
                vd = np.float64(row[j])
                nb[j] += vd * vd
        for j in range(b0, b1):
            t = np.sqrt(nf[j])
            if seg[j] >= 0 and not np.isfinite(t):
                bad += 1
            nf[j] = max(t, eps)
        # ... then per pixel: the votes and u(x)
        for j in range(b0, b1):
            s = seg[j]
            if s < 0:
                continue
            votes[s * K + pred[j]] += 1
            if want_u:
                y = lab[j]
                uj = 1.0 - np.float64(mxb[j - b0] if y == void else Pf[np.int64(y) * N + j])
                u[j] = uj
                u_sum[s] += uj
        if bad:
            continue
        # 2. every superpixel whose last pixel is now behind us, while its pixels are in cache
        while done < S and (b1 == N or order[starts[finish[done] + 1] - 1] < b1):
            s = finish[done]
            done += 1
            d = 0
            for k in range(1, K):
                if votes[s * K + k] > votes[s * K + d]:
                    d = k
            dom[s] = d
            if not want_rep:
                continue
            p0 = starts[s]
            p1 = starts[s + 1]
            # one pass over s: m(s), the float64 sum over s' in row-major order, and (for SIM)
            # g(s) = sum over s of f(x) u(x) / |f(x)|, each class's sum in the same pixel order
            g[:] = 0.0
            m[:] = 0.0
            mean = rep_offset.size == 0
            for i in range(p0, p1):
                x = order[i]
                if mean and pred[x] == d:
                    if want_sim:
                        w = u[x] / nf[x]
                        for k in range(K):
                            v = np.float64(Pf[k * N + x])
                            m[k] += v
                            g[k] += v * w
                    else:
                        for k in range(K):
                            m[k] += Pf[k * N + x]
                elif want_sim:
                    w = u[x] / nf[x]
                    for k in range(K):
                        g[k] += Pf[k * N + x] * w
            if not mean:  # the random representative: the offset-th pixel of s
                r = order[p0 + rep_offset[s]]
            else:
                t = 0.0
                for k in range(K):
                    m[k] /= votes[s * K + d]
                    t += m[k] * m[k]
                nm = max(np.sqrt(t), eps)
                # rep(s): first maximum over s' of cos(f(x), m(s)), in row-major order
                r = -1
                best = -np.inf
                for i in range(p0, p1):
                    x = order[i]
                    if pred[x] == d:
                        dot = 0.0
                        for k in range(K):
                            dot += np.float64(Pf[k * N + x]) * m[k]
                        c = dot / (nf[x] * nm)
                        if r < 0 or c > best:
                            best = c
                            r = x
            rep[s] = r
            if want_u:
                u_rep[s] = u[r]
            if want_sim:
                # SIM(s) = f(rep) . g(s) / |f(rep)|
                dot = 0.0
                for k in range(K):
                    dot += np.float64(Pf[k * N + r]) * g[k]
                sim[s] = dot / nf[r]
    return dom, rep, u_rep, u_sum, sim, bad


@njit(cache=True, nogil=True)
def softmin_quality(
    P: np.ndarray, lab: np.ndarray, seg: np.ndarray, S: int, void: int, temperature: float
) -> tuple[np.ndarray, int]:
    """Soft-minimum over the non-void pixels of s of c(x) = f(x)[label(x)], (S,) float64 (NaN
    where every pixel of s is void), and the number of non-finite c(x).

    softmin = sum c e^(-(c - min)/T) / sum e^(-(c - min)/T), shifted by the superpixel's minimum.
    Reads one probability per candidate pixel.
    """
    N = P.shape[1]
    Pf = P.ravel()
    c = np.empty(N, np.float64)
    vmin = np.full(S, np.inf)
    bad = 0
    for j in range(N):
        s = seg[j]
        y = lab[j]
        if s >= 0 and y != void:
            v = np.float64(Pf[np.int64(y) * N + j])
            if not np.isfinite(v):
                bad += 1
            c[j] = v
            if v < vmin[s]:
                vmin[s] = v
    num = np.zeros(S, np.float64)
    den = np.zeros(S, np.float64)
    for j in range(N):
        s = seg[j]
        if s >= 0 and lab[j] != void:
            w = np.exp(-(c[j] - vmin[s]) / temperature)
            den[s] += w
            num[s] += w * c[j]
    out = np.full(S, np.nan)
    for s in range(S):
        if den[s] > 0:
            out[s] = num[s] / den[s]
    return out, bad
