"""ANN2D: NeuroBench's fully connected primate-reaching baseline on one 0.2 s window.

NeuroBench (Yik et al., "The NeuroBench framework for benchmarking neuromorphic computing
algorithms and systems", 2024/2025), examples/primate_reaching: at each 4 ms sample the spikes of
the last 50 samples (0.2 s, the current one included) are summed per channel and fed through
fc1 (32) -> ReLU -> BatchNorm -> fc2 (48) -> dropout 0.5 -> ReLU -> BatchNorm -> fc3 (2).
NeuroBench's example outputs zeros until its buffer holds 50 samples (the first 49 predictions
of a stream) without running its layers: ``warmup_zeros=True`` makes the harness do the same
(those samples add no operations or activations; NeuroBench's Dense divides by every sample, so
it is below the per-sample 4,704 that bench also stores as ``Dense_nominal``).

Footprint, as NeuroBench counts it: parameters (fc1..fc3, BN affine) + BN running statistics and
two int64 batch counters + the (1, C) streaming input state (see ``_common.register_input_state``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from baselines._common import NeuroBenchMLP, check_input, load_published, register_input_state
from bench.registry import Entry, register
from bench.tasks.reaching import ReachingData
from bench.training import fit_regressor
from bench.windows import Windows

WINDOWS = Windows(ws=50, n=1)  # one sum over the last 50 samples (0.2 s), sample i included


@dataclass(frozen=True)
class ANN2DConfig:
    hidden1: int = 32  # NeuroBench's layer1
    hidden2: int = 48  # NeuroBench's layer2
    dropout: float = 0.5  # NeuroBench's drop_rate, after fc2
    epochs: int = 40  # upper bound; early stopping usually ends sooner
    lr: float = 1e-3  # Adam; BN makes the 0..50 spike counts well scaled
    weight_decay: float = 1e-5  # light L2 against overfitting the small first layer
    batch_size: int = 256
    patience: int = 6  # epochs without a better val R2 before stopping


class ANN2D(NeuroBenchMLP):
    """(B, 1, C) window sums -> (B, 2) velocity."""

    def __init__(self, n_inputs: int, n_outputs: int = 2, hidden1: int = 32, hidden2: int = 48, dropout: float = 0.5):
        super().__init__(n_inputs, n_outputs, hidden1, hidden2, dropout)
        self.n_inputs = n_inputs
        register_input_state(self, n_inputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, 1, self.n_inputs, "ANN2D")
        return self.head(x[:, 0])  # (B, C) -> (B, 2)


def build(n_inputs: int, n_outputs: int, cfg: ANN2DConfig) -> ANN2D:
    return ANN2D(n_inputs, n_outputs, cfg.hidden1, cfg.hidden2, cfg.dropout)


def train(model: ANN2D, data: ReachingData, cfg: ANN2DConfig) -> dict:
    return fit_regressor(
        model, data, epochs=cfg.epochs, lr=cfg.lr, weight_decay=cfg.weight_decay,
        batch_size=cfg.batch_size, patience=cfg.patience, desc="ann2d",
    )


def published_weights(session: str, seed: int = 0) -> dict[str, torch.Tensor]:  # one published set per session: seed unused
    return load_published("ann2d", session)


ENTRY = register(Entry(
    name="ann2d",
    task="reaching",
    kind="baseline",
    version="1",
    build=build,
    train=train,
    config=ANN2DConfig(),
    quick={"epochs": 3, "batch_size": 64},
    windows=WINDOWS,
    warmup_zeros=True,
    published_weights=published_weights,
    display="ANN2D",
    paper="NeuroBench (Yik et al., 2024/2025)",
    description="2-layer MLP on 0.2 s spike counts (NeuroBench baseline)",
))
