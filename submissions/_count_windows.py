"""Training on integer window counts, for AEGRU and the vanilla GRU: jitter and transform on
whole batches by table lookup, nothing inverted.

AEGRU's inputs are x' = log(softplus(s)) of window sums s, and its augmentation (count jitter)
acts on s. Instead of cutting transformed windows and inverting the transform per batch, the
training split is kept as its raw window sums (uint8 when they fit: 1 byte per value instead of
4) and each batch is:

    k  = jitter(s)            one uniform per value, an exact inverse-CDF draw (CountAugment)
    x' = table[k]             the transform by table lookup: bit-identical to bench.windows
    t  = k (float)            the Poisson targets, with no inversion

``fit_count_windows`` is the epoch both entries train with (on bench.training.fit): Adam
(fused), cosine annealing, early stopping on validation R2 of the evaluated model.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Iterable

import numpy as np
import torch
from torch import nn

from bench.tasks.reaching import ReachingData
from bench.training import fit
from bench.windows import apply_transform

GUIDE_BINS = 1024  # uniform-grid bins of the jitter's guide table (draws stay exact)


def raw_counts(data: ReachingData, split: str) -> torch.Tensor:
    """(n, N, C) integer window sums of ``split``: the data's windows without their transform,
    in the smallest integer dtype that holds them (uint8 for binary 4 ms inputs). Kept on
    ``data`` (like its transformed windows), so epochs and variants cut them once."""
    plain = dataclasses.replace(data.windows, transform=None)
    memo = data.__dict__.setdefault("_raw_counts", {})
    key = (plain, split, getattr(data, "prime", False))
    if key not in memo:
        fresh = {"_cache": {}} if any(f.name == "_cache" and f.init for f in dataclasses.fields(data)) else {}
        sums = dataclasses.replace(data, windows=plain, **fresh).x(split)
        top = int(sums.max()) if sums.numel() else 0
        if sums.numel() and (float(sums.min()) < 0 or not torch.equal(sums, sums.round())):
            raise ValueError(f"window sums of split {split!r} are not whole counts >= 0 (input mode with fractional values?)")
        memo[key] = sums.to(torch.uint8 if top < 256 else torch.int16 if top < 2**15 else torch.int32)
    return memo[key]


class CountAugment:
    """Count jitter (each value replaced, with probability ``p``, by a Poisson draw with itself
    as the mean; zeros stay zero) and the window transform, by table lookup on integer counts
    up to ``max_count`` (numpy: its per-op cost on a batch is a fraction of torch's).

    The jitter draws the mixture (1 - p) * delta(k) + p * Poisson(k) by inversion of its CDF,
    tabulated in float64 per k, with one float32 uniform per value: a guide table over
    ``GUIDE_BINS`` bins gives the answer directly for most uniforms; the few (< 1%) that fall in
    a bin holding a step of the CDF are resolved by comparing with the CDF itself. Draws are
    capped where the Poisson tail of the largest k falls below 1e-15.
    """

    def __init__(self, p: float, max_count: int, transform: str | None):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"jitter probability must lie in [0, 1], got {p}")
        self.p = float(p)
        K = max(1, int(max_count))
        M = int(K + 14 * math.sqrt(K) + 20)  # table width: values 0..M-1
        k = np.arange(K + 1, dtype=np.float64)[:, None]
        m = np.arange(M, dtype=np.float64)[None, :]
        log_k = np.log(np.maximum(k, 1e-300))
        pmf = np.exp(-k + m * log_k - np.vectorize(math.lgamma)(m + 1))
        pmf[0] = 0.0
        pmf[0, 0] = 1.0  # Poisson(0) = 0
        cdf = self.p * np.cumsum(pmf, 1) + (1.0 - self.p) * (m >= k)
        cdf[:, -1] = 1.0
        self.cdf = cdf  # (K + 1, M)
        self.dtype = np.int16 if M < 2**15 else np.int32
        # guide[k, j]: the draw for every u in [j / G, (j + 1) / G), or -1 when a CDF step lies inside
        edges = np.stack([np.searchsorted(row, np.arange(GUIDE_BINS + 1) / GUIDE_BINS, side="right") for row in cdf])
        lo, hi = edges[:, :-1], edges[:, 1:]
        self.guide = np.where(lo == hi, lo, -1).astype(self.dtype).reshape(-1)  # ((K + 1) * G,)
        self.table = np.ascontiguousarray(apply_transform(np.arange(M, dtype=np.float32), transform), dtype=np.float32)
        self.max_count = K

    def jitter(self, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Jittered copy of integer ``counts`` (any shape, values <= max_count) as int16/int32."""
        if self.p == 0.0:
            return counts.astype(self.dtype)
        flat = counts.reshape(-1)
        u = rng.random(flat.shape, dtype=np.float32)
        idx = flat.astype(np.int32) * GUIDE_BINS
        idx += (u * GUIDE_BINS).astype(np.int32)
        out = np.take(self.guide, idx)
        amb = np.flatnonzero(out < 0)
        if amb.size:  # count the CDF values <= u in the row of each such value's k
            out[amb] = (self.cdf[flat[amb]] <= u[amb].astype(np.float64)[:, None]).sum(1)
        return out.reshape(counts.shape)

    def inputs(self, counts: np.ndarray) -> np.ndarray:
        """The transformed windows (float32), equal bit for bit to bench.windows' transform."""
        return np.take(self.table, counts)


@functools.lru_cache(maxsize=4)
def _stirling_table(size: int) -> torch.Tensor:
    v = np.arange(size, dtype=np.float64)
    w = np.maximum(v, 1.0)
    return torch.from_numpy(np.where(v > 1, v * np.log(w) - w + 0.5 * np.log(2 * np.pi * w), 0.0))


def _stirling_mean(counts: torch.Tensor) -> float:
    """mean of t log t - t + log(2 pi t) / 2 over the counts (0 where t <= 1), from their
    histogram: the constant term of the full Poisson NLL, which carries no gradient."""
    hist = torch.bincount(counts.reshape(-1).cpu())
    return float(hist.double() @ _stirling_table(1 << max(6, int(len(hist) - 1).bit_length()))[: len(hist)]) / max(counts.numel(), 1)


def poisson_nll_full(log_rates: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """= F.poisson_nll_loss(log_rates, counts, log_input=True, full=True) for integer counts."""
    return nn.functional.poisson_nll_loss(log_rates, counts.to(log_rates.dtype), log_input=True, full=False) + _stirling_mean(counts)


class _DecoderPoissonNLL(torch.autograd.Function):
    """mean(exp(l) - t l) with l = z W^T + b, as one autograd node: backward is
    G = (exp(l) - t) / n, then G W, G^T z and G summed (no per-op graph on (B, N, C))."""

    @staticmethod
    def forward(ctx, z: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        z2 = z.reshape(-1, z.shape[-1])
        log_rates = torch.addmm(bias, z2, weight.t())  # (M, C)
        rates = log_rates.exp()
        ctx.save_for_backward(z2, weight, rates, targets)
        ctx.z_shape = z.shape
        return torch.addcmul(rates, targets, log_rates, value=-1.0).mean()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        z2, weight, rates, targets = ctx.saved_tensors
        g = (rates - targets).mul_(grad / rates.numel())  # (M, C)
        grad_z = (g @ weight).reshape(ctx.z_shape) if ctx.needs_input_grad[0] else None
        grad_w = g.t() @ z2 if ctx.needs_input_grad[1] else None
        grad_b = g.sum(0) if ctx.needs_input_grad[2] else None
        return grad_z, grad_w, grad_b, None


def decoder_poisson_nll(z: torch.Tensor, decoder: nn.Linear, counts: torch.Tensor) -> torch.Tensor:
    """= poisson_nll_full(decoder(z), counts): the full Poisson NLL of integer ``counts`` (any
    shape ending in C) under log-rates ``decoder(z)``, with a fused gradient."""
    targets = counts.reshape(-1, counts.shape[-1]).to(z.dtype)
    return _DecoderPoissonNLL.apply(z, decoder.weight, decoder.bias, targets) + _stirling_mean(counts)


Loss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]  # (inputs, counts, labels) -> loss


def fit_count_windows(
    model: nn.Module,
    data: ReachingData,
    params: Iterable[nn.Parameter],
    loss_fn: Loss,
    *,
    epochs: int,
    lr: float,
    weight_decay: float,
    batch_size: int,
    patience: int,
    jitter_p: float,
    split: str = "train",
    val: str | None = "val",
    hold: Callable[[torch.optim.Optimizer], object] | None = None,
    keep: nn.Module | None = None,
    desc: str = "train",
) -> dict:
    """Mini-batches of raw window counts -> jitter -> transform -> ``loss_fn(x, counts, y)``
    with y the labels at the end of every window (B, N, 2), on bench.training.fit (early
    stopping on the validation R2 of ``model``, the evaluated module; ``val=None``: every epoch,
    last weights kept). Adam (fused kernel) with cosine annealing. ``keep`` is the module whose
    weights are kept and restored (default ``model``; e.g. the model with its training heads);
    ``hold(optimizer)`` lets a caller attach pruning masks. Returns fit's report."""
    counts = raw_counts(data, split).numpy()
    y = data.y_series(split)
    aug = CountAugment(jitter_p, int(counts.max()) if counts.size else 1, data.windows.transform)
    gen = torch.Generator().manual_seed(data.seed)
    rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=gen)))
    opt = torch.optim.Adam(list(params), lr=lr, weight_decay=weight_decay, fused=True)
    if hold is not None:
        hold(opt)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))

    def train_epoch(epoch: int) -> float:
        perm = torch.randperm(len(counts), generator=gen)
        total = 0.0
        for i in range(0, len(counts), batch_size):
            b = perm[i:i + batch_size]
            k = aug.jitter(np.take(counts, b.numpy(), axis=0), rng)
            x, k = torch.from_numpy(aug.inputs(k)).to(data.device), torch.from_numpy(k).to(data.device)
            loss = loss_fn(x, k, y[b].to(data.device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(b)
        sched.step()
        return total / max(len(counts), 1)

    validate = (lambda: data.r2(model, val)) if val else None
    return fit(keep if keep is not None else model, train_epoch, validate, epochs=epochs, patience=patience, desc=desc)


__all__ = ["raw_counts", "CountAugment", "poisson_nll_full", "decoder_poisson_nll", "fit_count_windows"]
