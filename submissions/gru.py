"""Vanilla GRU: the ablation of Table III of the AEGRU paper (Wang, Wang, Liu, BioCAS 2024).

The GRU layer and the output Linear only: no upstream Linear, no batch norm, no autoencoder. Same
input windows as AEGRU (5 x 20 samples, log-softplus), same optimiser, schedule, count jitter and
velocity loss (10 * MSE on every step), so that the only difference is the autoencoder front end.

    h_t = GRUCell(x'_t, h_{t-1}), h_0 = 0     # (B, 32) over the N window steps
    v = Linear(32 -> 2)(Dropout(h_N))         # every step in training, the last at inference

Training runs on AEGRU's count windows (``submissions/_count_windows.py``) and ``forward_train``
(the cell's equations over all steps on its own weights, ``submissions.aegru.gru_steps``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from bench.registry import Entry, register
from bench.tasks.reaching import ReachingData
from bench.windows import Windows
from submissions._count_windows import fit_count_windows
from submissions.aegru import fast_dropout, gru_steps


@dataclass(frozen=True)
class GRUConfig:
    ws: int = 20  # same windows as AEGRU
    n: int = 5
    hidden: int = 32  # same recurrent size as AEGRU
    dropout: float = 0.5
    w_mse: float = 10.0  # AEGRU's velocity-loss weight (matters with weight decay)
    lr: float = 1e-3
    weight_decay: float = 1e-3
    epochs: int = 20  # as AEGRU on the default synthetic sessions
    batch_size: int = 256
    patience: int = 10
    jitter_p: float = 0.5


def windows_for(cfg: GRUConfig) -> Windows:
    return Windows(ws=cfg.ws, n=cfg.n, transform="log_softplus")


class VanillaGRU(nn.Module):
    def __init__(self, n_inputs: int, n_outputs: int = 2, hidden: int = 32, dropout: float = 0.5):
        super().__init__()
        self.n_inputs, self.hidden = n_inputs, hidden
        self.cell = nn.GRUCell(n_inputs, hidden)
        self.dropout = nn.Dropout(dropout)
        self.readout = nn.Linear(hidden, n_outputs)
        # the (1, C) streaming input register, counted as NeuroBench's examples count theirs
        self.register_buffer("input_state", torch.zeros(1, n_inputs), persistent=False)

    def forward(self, x: torch.Tensor, all_steps: bool | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, N, 2) in training, (B, 2) in eval."""
        self._check(x)
        h = x.new_zeros(x.shape[0], self.hidden)
        hs = []
        for t in range(x.shape[1]):
            h = self.cell(x[:, t], h)
            hs.append(h)
        if self.training if all_steps is None else all_steps:
            return self.readout(self.dropout(torch.stack(hs, 1)))
        return self.readout(self.dropout(h))

    def forward_train(self, x: torch.Tensor) -> torch.Tensor:
        """``forward(x, all_steps=True)`` for training: ``gru_steps`` (the cell's equations on
        its own weights, the input gates of all steps in one matmul)."""
        self._check(x)
        return self.readout(fast_dropout(gru_steps(self.cell, x), self.dropout.p, self.training))

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 3 or x.shape[-1] != self.n_inputs:
            raise ValueError(f"VanillaGRU: input x must be (B, N, {self.n_inputs}), got {tuple(x.shape)}")


def build(n_inputs: int, n_outputs: int, cfg: GRUConfig) -> VanillaGRU:
    return VanillaGRU(n_inputs, n_outputs, cfg.hidden, cfg.dropout)


def train(model: VanillaGRU, data: ReachingData, cfg: GRUConfig) -> dict:
    """AEGRU's recipe without the autoencoder: Adam, cosine annealing, count jitter, velocity
    loss on every step, best validation R2."""
    return fit_count_windows(
        model, data, model.parameters(), lambda x, counts, y: cfg.w_mse * F.mse_loss(model.forward_train(x), y),
        epochs=cfg.epochs, lr=cfg.lr, weight_decay=cfg.weight_decay, batch_size=cfg.batch_size,
        patience=cfg.patience, jitter_p=cfg.jitter_p, desc="gru",
    )


ENTRY = register(
    Entry(
        name="gru",
        task="reaching",
        kind="submission",
        version="1",
        build=build,
        train=train,
        config=GRUConfig(),
        windows=windows_for,
        quick={"epochs": 2},
        display="vanilla GRU",
        paper="Wang, Wang, Liu: AEGRU, BioCAS 2024 (Table III ablation)",
        description="GRUCell(C -> 32) + Linear on 5 x 80 ms log-softplus windows",
    )
)
