"""SNN3D: NeuroBench's three-layer spiking primate-reaching baseline on 7 windows of 7 samples.

NeuroBench (Yik et al., 2024/2025), examples/primate_reaching: the same 7 windows as ANN3D (7
sums of 7 samples from the 49 oldest of the last 50, ``Windows(ws=7, n=7, lag=1)``) are
normalised by a LayerNorm over the whole (7, C) block, then run as 7 time steps through
fc1 (32) -> dropout -> LIF -> fc2 (48) -> LIF -> fc3 (2) -> LIF (no reset). The LIF neurons are
snnTorch ``Leaky`` with beta 0.5, threshold 0.5 and an arctan surrogate (alpha 2); all
membranes start from zero for every prediction. The prediction is the last membrane of the
output neurons scaled by two learnt factors (v_x, v_y).

Start of a stream: as ANN3D and NeuroBench's example, a prediction at every sample from sample 0
on (no warmup zeros), windows cut from the start of the growing buffer (``buffer_start=True``).
Footprint, as NeuroBench counts it: parameters (fc1..fc3, LayerNorm affine (7, C), v_x, v_y) +
snnTorch's scalar neuron buffers (threshold, beta, graded_spikes_factor as float32,
reset_mechanism_val as int64: 20 bytes per neuron layer) + the (1, C) streaming input state.
"""

from __future__ import annotations

from dataclasses import dataclass

import snntorch as snn
import torch
from snntorch import surrogate
from torch import nn

from baselines._common import (
    check_input,
    load_published,
    register_input_state,
    release_neuron_state,
)
from baselines._lif import leaky_integrate, leaky_scan, no_hooks
from bench.registry import Entry, register
from bench.tasks.reaching import ReachingData
from bench.training import fit_regressor
from bench.windows import Windows

WINDOWS = Windows(ws=7, n=7, lag=1)  # 7 x 7 samples ending at i-1, oldest first


@dataclass(frozen=True)
class SNN3DConfig:
    hidden1: int = 32  # NeuroBench's layer1
    hidden2: int = 48  # NeuroBench's layer2
    dropout: float = 0.5  # NeuroBench's drop_rate, on fc1's output current
    beta: float = 0.5  # membrane decay per step (NeuroBench)
    threshold: float = 0.5  # NeuroBench's mem_thresh
    surrogate_alpha: float = 2.0  # arctan surrogate slope (NeuroBench)
    epochs: int = 40  # upper bound; early stopping usually ends sooner
    lr: float = 2e-3  # Adam; surrogate gradients are small, a slightly larger step helps
    weight_decay: float = 0.0
    batch_size: int = 256
    patience: int = 6  # epochs without a better val R2 before stopping


class SNN3D(nn.Module):
    """(B, 7, C) window sums, oldest first -> (B, 2) velocity."""

    def __init__(
        self, n_inputs: int, n_outputs: int = 2, n_steps: int = 7, hidden1: int = 32, hidden2: int = 48,
        dropout: float = 0.5, beta: float = 0.5, threshold: float = 0.5, surrogate_alpha: float = 2.0,
    ):
        super().__init__()
        if n_outputs != 2:
            raise ValueError(f"SNN3D predicts 2 outputs (scaled by v_x, v_y); got n_outputs={n_outputs}")
        self.n_inputs, self.n_steps = n_inputs, n_steps
        self.fc1 = nn.Linear(n_inputs, hidden1)
        self.fc2 = nn.Linear(hidden1, hidden2)
        self.fc3 = nn.Linear(hidden2, n_outputs)
        self.dropout = nn.Dropout(dropout)
        self.norm_layer = nn.LayerNorm([n_steps, n_inputs])
        grad = surrogate.atan(alpha=surrogate_alpha)
        lif = dict(beta=beta, threshold=threshold, spike_grad=grad, learn_beta=False, learn_threshold=False)
        self.lif1 = snn.Leaky(**lif)
        self.lif2 = snn.Leaky(**lif)
        self.lif3 = snn.Leaky(**lif, reset_mechanism="none")
        self.v_x = nn.Parameter(torch.normal(0.0, 1.0, size=(1,)))
        self.v_y = nn.Parameter(torch.normal(0.0, 1.0, size=(1,)))
        register_input_state(self, n_inputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.n_steps, self.n_inputs, "SNN3D")
        B = x.shape[0]
        cur1 = self.dropout(self.fc1(self.norm_layer(x)))  # (B, 7, H1)
        if no_hooks(self):  # nothing observes the neurons: snnTorch's arithmetic, bit for bit, without its module overhead
            # layer by layer (baselines/_lif.py); fc2 and fc3 still run once per step (same gradient sums)
            spk1 = leaky_scan(self.lif1, cur1).unbind(1)  # 7 x (B, H1)
            spk2 = leaky_scan(self.lif2, torch.stack([self.fc2(s) for s in spk1], 1)).unbind(1)
            mem3 = leaky_integrate(self.lif3, torch.stack([self.fc3(s) for s in spk2], 1))[:, -1]
            return mem3 * torch.cat([self.v_x, self.v_y])  # (B, 2)
        mem1 = x.new_zeros(B, self.fc1.out_features)
        mem2 = x.new_zeros(B, self.fc2.out_features)
        mem3 = x.new_zeros(B, self.fc3.out_features)
        for t in range(self.n_steps):
            spk1, mem1 = self.lif1(cur1[:, t], mem1)
            spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
            _, mem3 = self.lif3(self.fc3(spk2), mem3)
        release_neuron_state(self)
        return mem3 * torch.cat([self.v_x, self.v_y])  # (B, 2)


def build(n_inputs: int, n_outputs: int, cfg: SNN3DConfig) -> SNN3D:
    return SNN3D(
        n_inputs, n_outputs, WINDOWS.n, cfg.hidden1, cfg.hidden2, cfg.dropout,
        cfg.beta, cfg.threshold, cfg.surrogate_alpha,
    )


def train(model: SNN3D, data: ReachingData, cfg: SNN3DConfig) -> dict:
    return fit_regressor(
        model, data, epochs=cfg.epochs, lr=cfg.lr, weight_decay=cfg.weight_decay,
        batch_size=cfg.batch_size, patience=cfg.patience, desc="snn3d",
    )


def published_weights(session: str, seed: int = 0) -> dict[str, torch.Tensor]:  # one published set per session: seed unused
    return load_published("snn3d", session)


ENTRY = register(Entry(
    name="snn3d",
    task="reaching",
    kind="baseline",
    version="1",
    build=build,
    train=train,
    config=SNN3DConfig(),
    quick={"epochs": 3, "batch_size": 64},
    windows=WINDOWS,
    buffer_start=True,  # NeuroBench's growing start-of-stream buffer
    spiking=True,
    warmup_zeros=False,
    published_weights=published_weights,
    display="SNN3D",
    paper="NeuroBench (Yik et al., 2024/2025)",
    description="3-layer LIF network over 7 windows of 7 samples (NeuroBench baseline)",
))
