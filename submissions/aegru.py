"""AEGRU: an autoencoder-regularised GRU decoder of finger velocity (Wang, Wang, Liu, BioCAS 2024).

Built from the facts in REFERENCE.md section 5. Input: N windows of WS samples (5 x 20 = 400 ms),
x' = log(softplus(window sum)). The EVALUATED module (``AEGRU``) is the inference path only:

    mu = clamp(BN(Linear(C -> 32)(x')), -10, 10)      per window step   # (B, N, 32)
    h_t = LayerNorm(GRUCell(mu_t, h_{t-1})), h_0 = 0   over the N steps  # (B, 32)
    v = Linear(32 -> 2)(Dropout(h_N))                  last step at inference, every step in training

Training adds a variational branch (logvar = Linear(128 -> 32)(ReLU(Linear(C -> 128)(x')))),
reparameterised sampling z = mu + eps * exp(logvar / 2) and a Poisson decoder rates =
exp(Linear(32 -> C)(z)); they live in ``AEHeads``, which the evaluated module does not register
(no parameters, buffers, footprint or operations of theirs reach NeuroBench). The model keeps an
unregistered reference to them so that variants can fine-tune with the same loss.

Footprint: NeuroBench counts parameters and buffers. Like the NeuroBench examples (and our
baselines), the module registers a (1, C) float32 ``input_state``: the streaming input register a
device keeps, counted the way NeuroBench's examples count theirs. The published 39,184 / 51,856
bytes are exactly parameters + BN buffers + num_batches_tracked + this (1, C) register.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from bench.pruning import Masks, pruned_variant
from bench.quantization import quantized_variant
from bench.registry import Entry, register
from bench.tasks.reaching import ReachingData
from bench.training import fit_regressor
from bench.windows import Windows


@dataclass(frozen=True)
class AEGRUConfig:
    ws: int = 20  # samples per window (80 ms): the paper's best WS (Fig. 3)
    n: int = 5  # windows per prediction (400 ms of history)
    hidden: int = 32  # latent size = GRU size
    logvar_hidden: int = 128  # width of the (training-only) variance branch
    clamp: float = 10.0  # |mu| bound after batch norm
    dropout: float = 0.5  # before the output layer
    w_poisson: float = 1.0  # loss weights: Poisson reconstruction, KL, velocity MSE
    w_kl: float = 0.0
    w_mse: float = 10.0
    lr: float = 1e-3
    weight_decay: float = 1e-3
    epochs: int = 20  # paper: 50 on 25-40 min sessions; validation R2 plateaus by ~15-20 on 5-min sessions
    batch_size: int = 256
    patience: int = 10  # early stop on validation R2 (best weights restored)
    jitter_p: float = 0.5  # share of counts replaced by a Poisson draw of themselves
    prune_rate: float = 0.5  # target rate of the 'pruned' variants (global L1)
    finetune_epochs: int = 10  # after pruning, on train + validation
    finetune_lr: float = 1e-4


def windows_for(cfg: AEGRUConfig) -> Windows:
    return Windows(ws=cfg.ws, n=cfg.n, transform="log_softplus")


# --- inputs: the transform and the count jitter -----------------------------------------------


def log_softplus(counts: torch.Tensor) -> torch.Tensor:
    """x' = log(softplus(x)), the window transform (as bench.windows applies it)."""
    return torch.log(F.softplus(counts))


def counts_from_log_softplus(x: torch.Tensor) -> torch.Tensor:
    """Exact inverse of the transform for integer window sums: x = log(expm1(exp(x'))), rounded.
    float32 is exact for sums below ~80 (rounding error << 0.5); larger sums go through float64."""
    top = float(x.max()) if x.numel() else 0.0
    work = x.double() if top > 4.3 else x.float()
    return torch.round(torch.log(torch.expm1(torch.exp(work)))).clamp_min(0).to(x.dtype)


def jitter_counts(counts: torch.Tensor, p: float, gen: torch.Generator | None = None) -> torch.Tensor:
    """Each count replaced, with probability p, by a Poisson draw with itself as the mean.

    Draws come from a numpy generator seeded from ``gen`` (torch.poisson is ~10x slower on CPU);
    zero counts stay zero (Poisson(0) = 0), so only picked non-zero counts are drawn."""
    pick = (torch.rand(counts.shape, generator=gen) < p).to(counts.device) & (counts > 0)
    rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=gen)))
    out = counts.clone()
    lam = counts[pick].detach().cpu().double().numpy()
    out[pick] = torch.from_numpy(rng.poisson(lam)).to(counts.device, counts.dtype)
    return out


def jitter_transformed(p: float):
    """Augmentation for windows that arrive transformed: the jitter acts on the counts (the
    window sums BEFORE log-softplus), so invert, jitter, transform again."""

    def augment(xb: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return log_softplus(jitter_counts(counts_from_log_softplus(xb), p, gen))

    return augment


# --- the evaluated model ---------------------------------------------------------------------


class AEGRU(nn.Module):
    """Inference path: encoder mean (Linear + BN + clamp) -> GRUCell + LayerNorm -> Linear."""

    def __init__(self, n_inputs: int, n_outputs: int = 2, hidden: int = 32, dropout: float = 0.5, clamp: float = 10.0):
        super().__init__()
        self.n_inputs, self.hidden, self.clamp = n_inputs, hidden, clamp
        self.encoder = nn.Linear(n_inputs, hidden)
        self.bn = nn.BatchNorm1d(hidden)
        self.cell = nn.GRUCell(hidden, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.dropout = nn.Dropout(dropout)
        self.readout = nn.Linear(hidden, n_outputs)
        self.register_buffer("input_state", torch.zeros(1, n_inputs), persistent=False)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, C) transformed windows -> latent means (B, N, H)."""
        if x.dim() != 3 or x.shape[-1] != self.n_inputs:
            raise ValueError(f"AEGRU: input x must be (B, N, {self.n_inputs}), got {tuple(x.shape)}")
        B, N, C = x.shape
        mu = self.bn(self.encoder(x.reshape(B * N, C)))  # (B*N, H)
        return mu.clamp(-self.clamp, self.clamp).reshape(B, N, self.hidden)

    def recur(self, z: torch.Tensor, all_steps: bool) -> torch.Tensor:
        """(B, N, H) latents -> (B, N, 2) velocities, or (B, 2) from the last step only."""
        h = z.new_zeros(z.shape[0], self.hidden)  # passed explicitly: NeuroBench counts h ops
        hs = []
        for t in range(z.shape[1]):
            h = self.norm(self.cell(z[:, t], h))
            hs.append(h)
        if all_steps:
            return self.readout(self.dropout(torch.stack(hs, 1)))
        return self.readout(self.dropout(h))

    def forward(self, x: torch.Tensor, all_steps: bool | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, N, 2) in training, (B, 2) in eval (override with ``all_steps``)."""
        return self.recur(self.encode(x), self.training if all_steps is None else all_steps)


class AEHeads(nn.Module):
    """Training-only parts: the variance branch and the Poisson decoder."""

    def __init__(self, n_inputs: int, hidden: int = 32, logvar_hidden: int = 128):
        super().__init__()
        self.logvar = nn.Sequential(nn.Linear(n_inputs, logvar_hidden), nn.ReLU(), nn.Linear(logvar_hidden, hidden))
        self.decoder = nn.Linear(hidden, n_inputs)


class AEGRUTrainer(nn.Module):
    """The model plus its training heads; forward = the model's (so validation R2 is the
    evaluated model's), ``loss`` = the paper's objective."""

    def __init__(self, model: AEGRU, heads: AEHeads, cfg: AEGRUConfig):
        super().__init__()
        self.model, self.heads, self.cfg = model, heads, cfg

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x (B, N, C) transformed windows, y (B, N, 2) velocity at the end of each window."""
        cfg = self.cfg
        counts = counts_from_log_softplus(x)  # Poisson targets: the window sums
        mu = self.model.encode(x)  # (B, N, H)
        logvar = self.heads.logvar(x)  # (B, N, H)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        log_rates = self.heads.decoder(z)  # (B, N, C); rates = exp(log_rates)
        pred = self.model.recur(z, all_steps=True)  # (B, N, 2)
        loss = cfg.w_mse * F.mse_loss(pred, y)
        if cfg.w_poisson:
            # = PoissonNLL(exp(log_rates), counts; log_input=False, full=True), computed from the
            # log-rates directly (same value up to its 1e-8 guard, without exp then log)
            loss = loss + cfg.w_poisson * F.poisson_nll_loss(log_rates, counts, log_input=True, full=True)
        if cfg.w_kl:
            loss = loss + cfg.w_kl * (-0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(-1).mean())
        return loss


def build(n_inputs: int, n_outputs: int, cfg: AEGRUConfig) -> AEGRU:
    return AEGRU(n_inputs, n_outputs, cfg.hidden, cfg.dropout, cfg.clamp)


def _heads_of(model: AEGRU, cfg: AEGRUConfig) -> AEHeads:
    heads = model.__dict__.get("_train_heads")  # unregistered: invisible to NeuroBench
    if heads is None:
        heads = AEHeads(model.n_inputs, cfg.hidden, cfg.logvar_hidden)
        model.__dict__["_train_heads"] = heads
    return heads.to(next(model.parameters()).device)


def _fit(model: AEGRU, data: ReachingData, cfg: AEGRUConfig, *, epochs: int, lr: float, split: str, val: str | None, masks: Masks | None = None, desc: str = "aegru") -> dict:
    trainer = AEGRUTrainer(model, _heads_of(model, cfg), cfg)
    opt = torch.optim.Adam(trainer.parameters(), lr=lr, weight_decay=cfg.weight_decay)
    if masks is not None:
        masks.hold(opt)
    return fit_regressor(
        trainer, data, epochs=epochs, batch_size=cfg.batch_size, patience=cfg.patience, cosine=True,
        optimizer=opt, loss_fn=lambda m, xb, yb: m.loss(xb, yb), augment=jitter_transformed(cfg.jitter_p) if cfg.jitter_p else None,
        series=True, train_split=split, val_split=val, desc=desc,
    )


def train(model: AEGRU, data: ReachingData, cfg: AEGRUConfig) -> dict:
    """The paper's recipe: Adam, cosine annealing, batch 256, count jitter, best validation R2."""
    return _fit(model, data, cfg, epochs=cfg.epochs, lr=cfg.lr, split="train", val="val")


def finetune(model: AEGRU, data: ReachingData, cfg: AEGRUConfig, masks: Masks) -> dict:
    """After pruning: fine-tune on train + validation (no early stopping), masks held."""
    return _fit(model, data, cfg, epochs=cfg.finetune_epochs, lr=cfg.finetune_lr, split="trainval", val=None, masks=masks, desc="aegru finetune")


def inference_layers(model: nn.Module) -> list[nn.Module]:
    """The GRU, output and encoder layers: what the paper prunes and quantizes."""
    return [model.encoder, model.cell, model.readout]


PRUNED = pruned_variant(0.5, finetune=finetune, modules=inference_layers)

ENTRY = register(
    Entry(
        name="aegru",
        task="reaching",
        kind="submission",
        version="1",
        build=build,
        train=train,
        config=AEGRUConfig(),
        windows=windows_for,
        variants=(PRUNED, quantized_variant(8, 7, after=PRUNED, name="pruned-q8", modules=inference_layers)),
        quick={"epochs": 2, "finetune_epochs": 1},
        display="AEGRU",
        paper="Wang, Wang, Liu: AEGRU, BioCAS 2024 Grand Challenge (1st place)",
        description="autoencoder-regularised GRU on 5 x 80 ms log-softplus windows; pruned and Q1.7 variants",
    )
)
