"""ANN3D: NeuroBench's fully connected primate-reaching baseline on 7 windows of 7 samples.

NeuroBench (Yik et al., 2024/2025), examples/primate_reaching: the 50-sample (0.2 s) buffer is
cut into 7 windows of 7 samples taken from its 49 OLDEST samples (the newest sample, i, is left
out: ``Windows(ws=7, n=7, lag=1)``), each summed per channel. The (7, C) sums are laid out
channel-major, (C, 7), flattened to 7*C features and fed through the ANN2D head:
fc1 (32) -> ReLU -> BatchNorm -> fc2 (48) -> dropout 0.5 -> ReLU -> BatchNorm -> fc3 (2).

Start of a stream: as NeuroBench's example, a prediction at every sample from sample 0 on (no
warmup zeros); while the buffer holds fewer than 50 rows (one zero row, then the samples so
far) the 7 windows are cut from its start (``buffer_start=True``, see bench.windows). The first
sample's input is binary (a zero row and one binary sample), so NeuroBench counts its fc1
operations as accumulates (ACs), and so does bench (tests/test_neurobench_side_by_side.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from baselines._common import NeuroBenchMLP, check_input, load_published, register_input_state
from bench.registry import Entry, register
from bench.tasks.reaching import ReachingData
from bench.training import fit_regressor
from bench.windows import Windows

WINDOWS = Windows(ws=7, n=7, lag=1)  # 7 x 7 samples ending at i-1, oldest first


@dataclass(frozen=True)
class ANN3DConfig:
    hidden1: int = 32  # NeuroBench's layer1
    hidden2: int = 48  # NeuroBench's layer2
    dropout: float = 0.5  # NeuroBench's drop_rate, after fc2
    epochs: int = 40  # upper bound; early stopping usually ends sooner
    lr: float = 1e-3  # Adam
    weight_decay: float = 1e-4  # fc1 has 7x the inputs of ANN2D: a little more L2
    batch_size: int = 256
    patience: int = 6  # epochs without a better val R2 before stopping


class ANN3D(NeuroBenchMLP):
    """(B, 7, C) window sums, oldest first -> (B, 2) velocity."""

    def __init__(self, n_inputs: int, n_outputs: int = 2, n_steps: int = 7, hidden1: int = 32, hidden2: int = 48, dropout: float = 0.5):
        super().__init__(n_inputs * n_steps, n_outputs, hidden1, hidden2, dropout)
        self.n_inputs, self.n_steps = n_inputs, n_steps
        register_input_state(self, n_inputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.n_steps, self.n_inputs, "ANN3D")
        flat = x.transpose(1, 2).reshape(x.shape[0], -1)  # (B, C, 7) channel-major -> (B, 7C)
        return self.head(flat)


def build(n_inputs: int, n_outputs: int, cfg: ANN3DConfig) -> ANN3D:
    return ANN3D(n_inputs, n_outputs, WINDOWS.n, cfg.hidden1, cfg.hidden2, cfg.dropout)


def train(model: ANN3D, data: ReachingData, cfg: ANN3DConfig) -> dict:
    return fit_regressor(
        model, data, epochs=cfg.epochs, lr=cfg.lr, weight_decay=cfg.weight_decay,
        batch_size=cfg.batch_size, patience=cfg.patience, desc="ann3d",
    )


def published_weights(session: str, seed: int = 0) -> dict[str, torch.Tensor]:  # one published set per session: seed unused
    return load_published("ann3d", session)


ENTRY = register(Entry(
    name="ann3d",
    task="reaching",
    kind="baseline",
    version="1",
    build=build,
    train=train,
    config=ANN3DConfig(),
    quick={"epochs": 3, "batch_size": 64},
    windows=WINDOWS,
    buffer_start=True,  # NeuroBench's growing start-of-stream buffer
    warmup_zeros=False,
    published_weights=published_weights,
    display="ANN3D",
    paper="NeuroBench (Yik et al., 2024/2025)",
    description="2-layer MLP on 7x7-sample spike counts, channel-major (NeuroBench baseline)",
))
