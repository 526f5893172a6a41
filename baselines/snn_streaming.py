"""SNN_streaming: NeuroBench's two-layer spiking baseline fed one 4 ms sample per step.

NeuroBench (Yik et al., 2024/2025), examples/primate_reaching (SNN2): each binary 4 ms sample
goes through fc1 (50, no bias) -> dropout 0.3 -> LIF (beta 0.96, threshold 1, reset to zero) ->
fc_out (2, no bias) -> LIF (beta 0.96, no reset); the prediction at every sample is the output
layer's membrane. The membranes start at zero at the start of the stream and are carried across
the whole stream (``streaming=True``: the model receives the stream as (1, T, C)). There is no
input window, hence no warmup and no input state: the first prediction is made on sample 0.

Footprint, as NeuroBench counts it: the two weight matrices + snnTorch's scalar neuron buffers
(threshold 1 is an int64 here as in the published weights, beta and graded_spikes_factor
float32, reset_mechanism_val int64: 24 bytes per neuron layer). Membranes are state, not counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import snntorch as snn
import torch
from snntorch import surrogate
from torch import nn

from baselines._common import check_input, fit_stream, load_published, release_neuron_state
from baselines._lif import leaky_integrate, leaky_scan, no_hooks
from bench.registry import Entry, register
from bench.tasks.reaching import ReachingData
from bench.windows import Windows

WINDOWS = Windows(ws=1, n=1)  # raw 4 ms samples


@dataclass(frozen=True)
class SNNStreamingConfig:
    hidden: int = 50  # NeuroBench's hidden_size
    dropout: float = 0.3  # NeuroBench's p, on fc1's output current
    beta: float = 0.96  # membrane decay per 4 ms sample (NeuroBench's tau): ~100 ms memory
    surrogate_slope: float = 20.0  # fast-sigmoid surrogate slope (NeuroBench)
    epochs: int = 40  # upper bound; early stopping usually ends sooner
    lr: float = 2e-3  # Adam
    chunk: int = 250  # samples per training piece (1 s): the BPTT truncation length
    burn_in: int = 50  # first samples of a piece left out of the loss (0.96^50 = 0.13)
    batch_size: int = 16  # pieces per step
    grad_clip: float = 1.0  # surrogate gradients through 250 steps can spike
    patience: int = 6  # epochs without a better val R2 before stopping
    val_lanes: int = 16  # validation stream run as 16 primed pieces in parallel (speed)


class SNNStreaming(nn.Module):
    """(B, T, C) binary samples -> (B, T, 2) velocity, state carried along T from rest."""

    def __init__(self, n_inputs: int, n_outputs: int = 2, hidden: int = 50, dropout: float = 0.3, beta: float = 0.96, surrogate_slope: float = 20.0):
        super().__init__()
        self.n_inputs = n_inputs
        self.fc1 = nn.Linear(n_inputs, hidden, bias=False)
        self.fc_out = nn.Linear(hidden, n_outputs, bias=False)
        grad = surrogate.fast_sigmoid(slope=surrogate_slope)
        # threshold=1 (an int, stored as int64 like the published weights' buffers)
        lif = dict(beta=beta, threshold=1, spike_grad=grad, learn_beta=False, learn_threshold=False)
        self.lif1 = snn.Leaky(**lif, reset_mechanism="zero")
        self.lif_out = snn.Leaky(**lif, reset_mechanism="none")
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, None, self.n_inputs, "SNN_streaming")
        B, T, _ = x.shape
        cur1 = self.dropout(self.fc1(x))  # (B, T, H): the input layer has no recurrence
        if no_hooks(self):  # nothing observes the neurons: each layer's time loop as one autograd node, bit for bit
            return leaky_integrate(self.lif_out, self.fc_out(leaky_scan(self.lif1, cur1)))  # (B, T, 2)
        mem1 = x.new_zeros(B, self.fc1.out_features)
        spikes = []
        for t in range(T):
            spk1, mem1 = self.lif1(cur1[:, t], mem1)
            spikes.append(spk1)
        cur2 = self.fc_out(torch.stack(spikes, 1))  # (B, T, 2)
        mem2 = x.new_zeros(B, self.fc_out.out_features)
        outs = []
        for t in range(T):
            _, mem2 = self.lif_out(cur2[:, t], mem2)
            outs.append(mem2)
        release_neuron_state(self)
        return torch.stack(outs, 1)  # (B, T, 2)

    # Step protocol (bench.deploy.steppers): one 4 ms sample in, the two membranes carried.
    # Stepping over a stream equals forward() on it; the neurons' ``mem`` buffers keep the last
    # state afterwards (call release_neuron_state before measuring Footprint).
    def init_state(self, batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        w = self.fc1.weight
        return w.new_zeros(batch, self.fc1.out_features), w.new_zeros(batch, self.fc_out.out_features)

    def step(self, x_t: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, tuple]:
        mem1, mem2 = state
        spk1, mem1 = self.lif1(self.dropout(self.fc1(x_t)), mem1)
        _, mem2 = self.lif_out(self.fc_out(spk1), mem2)
        return mem2, (mem1, mem2)


def build(n_inputs: int, n_outputs: int, cfg: SNNStreamingConfig) -> SNNStreaming:
    return SNNStreaming(n_inputs, n_outputs, cfg.hidden, cfg.dropout, cfg.beta, cfg.surrogate_slope)


def train(model: SNNStreaming, data: ReachingData, cfg: SNNStreamingConfig) -> dict:
    return fit_stream(
        model, data, epochs=cfg.epochs, lr=cfg.lr, chunk=cfg.chunk, burn_in=cfg.burn_in,
        batch_size=cfg.batch_size, patience=cfg.patience, grad_clip=cfg.grad_clip,
        val_lanes=cfg.val_lanes, desc="snn-streaming",
    )


def published_weights(session: str, seed: int = 0) -> dict[str, torch.Tensor]:  # one published set per session: seed unused
    return load_published("snn-streaming", session)


ENTRY = register(Entry(
    name="snn-streaming",
    task="reaching",
    kind="baseline",
    version="1",
    build=build,
    train=train,
    config=SNNStreamingConfig(),
    quick={"epochs": 3, "batch_size": 4},
    windows=WINDOWS,
    streaming=True,
    spiking=True,
    warmup_zeros=False,
    published_weights=published_weights,
    display="SNN_streaming",
    paper="NeuroBench (Yik et al., 2024/2025)",
    description="2-layer LIF network fed one 4 ms sample per step, state across the stream (NeuroBench baseline)",
))
