"""Shared pieces of the four NeuroBench primate-reaching baselines.

- ``load_published``: NeuroBench's published state dicts (``bench.paths.neurobench_weights_dir()``).
- ``register_input_state``: the (1, C) streaming input register NeuroBench's examples hold in a
  buffer when their Footprint is measured; our windowed baselines register the same buffer so
  NeuroBench's Footprint counts the same bytes.
- ``release_neuron_state``: snnTorch neurons keep their last membrane in a buffer named ``mem``;
  it is emptied after every forward pass so no state survives a call and Footprint stays fixed.
- ``NeuroBenchMLP``: the fc1 -> ReLU -> BN -> fc2 -> dropout -> ReLU -> BN -> fc3 head of ANN2D/3D.
- ``fit_stream``: training of streaming models on chunks of the train stream (truncated BPTT).
"""

from __future__ import annotations

import math
from pathlib import Path

import snntorch as snn
import torch
from torch import nn

from bench.paths import neurobench_weights_dir
from bench.tasks.reaching import ReachingData, r2_score
from bench.training import backward_step, chunk_stream, fit

SESSIONS = (
    "indy_20160622_01",
    "indy_20160630_01",
    "indy_20170131_02",
    "loco_20170210_03",
    "loco_20170215_02",
    "loco_20170301_05",
)

# model family -> file of one session's weights, relative to neurobench_weights_dir()
_LAYOUT = {
    "ann2d": "2D_ANN_Weight/{session}_model_state_dict.pth",
    "ann3d": "3D_ANN_Weight/{session}_model_state_dict.pth",
    "snn3d": "SNN3_Weight/{session}_model_state_dict.pth",
    "snn-streaming": "SNN2_{session}.pt",  # a checkpoint dict; weights under 'model_state_dict'
}


def published_path(family: str, session: str) -> Path:
    """Where NeuroBench's weights of ``family`` for ``session`` are stored."""
    if family not in _LAYOUT:
        raise KeyError(f"no published NeuroBench weights for model family {family!r}; known: {sorted(_LAYOUT)}")
    if session not in SESSIONS:
        raise KeyError(
            f"NeuroBench published {family} weights only for the six real sessions {list(SESSIONS)}; "
            f"got {session!r} (synthetic sessions have none: train the model instead)"
        )
    return neurobench_weights_dir() / _LAYOUT[family].format(session=session)


def load_published(family: str, session: str) -> dict[str, torch.Tensor]:
    """NeuroBench's published state dict of ``family`` ('ann2d', ...) for ``session``, on CPU."""
    path = published_path(family, session)
    if not path.is_file():
        raise FileNotFoundError(
            f"NeuroBench weights file {path} not found (set BENCH_NB_WEIGHTS to the folder holding "
            "2D_ANN_Weight/, 3D_ANN_Weight/, SNN3_Weight/ and SNN2_<session>.pt)"
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    if family == "snn-streaming":
        if not isinstance(state, dict) or "model_state_dict" not in state:
            keys = list(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"{path}: expected a checkpoint dict with key 'model_state_dict', got {keys}")
        state = state["model_state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: expected a state dict of tensors, got {type(state).__name__}")
    return dict(state)


def register_input_state(module: nn.Module, n_inputs: int) -> None:
    """Register ``input_state``: (1, C) float32 zeros, not persistent (not in the state dict).

    It stands for the streaming input state a device keeps, counted as NeuroBench's example models
    count theirs: their input window lives in a buffer that is (1, C) when Footprint runs. The
    batched forward never reads it (the harness cuts the windows), so it stays zeros.
    """
    module.register_buffer("input_state", torch.zeros(1, n_inputs, dtype=torch.float32), persistent=False)


def release_neuron_state(module: nn.Module) -> None:
    """Empty the ``mem`` buffer snnTorch neurons keep after a call (no state between calls)."""
    for m in module.modules():
        if isinstance(m, snn.SpikingNeuron) and isinstance(getattr(m, "mem", None), torch.Tensor):
            m.mem = torch.zeros(0, device=m.mem.device, dtype=m.mem.dtype)


def check_input(x: torch.Tensor, n_steps: int | None, n_inputs: int, model: str) -> None:
    """Clear error for an input that is not (B, n_steps, C)."""
    if x.dim() != 3 or x.shape[-1] != n_inputs or (n_steps is not None and x.shape[1] != n_steps):
        steps = "T" if n_steps is None else n_steps
        raise ValueError(f"{model}: input x must be (B, {steps}, {n_inputs}), got {tuple(x.shape)}")


class NeuroBenchMLP(nn.Module):
    """NeuroBench's ANN head: fc1 -> ReLU -> BN1 -> fc2 -> dropout -> ReLU -> BN2 -> fc3.

    Parameter names (fc1, fc2, fc3, batchnorm1, batchnorm2) are those of the published weights.
    """

    def __init__(self, n_features: int, n_outputs: int, hidden1: int, hidden2: int, dropout: float):
        super().__init__()
        self.fc1 = nn.Linear(n_features, hidden1)
        self.fc2 = nn.Linear(hidden1, hidden2)
        self.fc3 = nn.Linear(hidden2, n_outputs)
        self.dropout = nn.Dropout(dropout)
        self.batchnorm1 = nn.BatchNorm1d(hidden1)
        self.batchnorm2 = nn.BatchNorm1d(hidden2)
        self.activation = nn.ReLU()

    def head(self, x: torch.Tensor) -> torch.Tensor:  # (B, F) -> (B, K)
        x = self.batchnorm1(self.activation(self.fc1(x)))
        x = self.batchnorm2(self.activation(self.dropout(self.fc2(x))))
        return self.fc3(x)


def fit_stream(
    model: nn.Module,
    data: ReachingData,
    *,
    epochs: int,
    lr: float,
    chunk: int,
    burn_in: int,
    batch_size: int,
    patience: int,
    weight_decay: float = 0.0,
    grad_clip: float | None = None,
    val_lanes: int = 16,
    desc: str = "train",
) -> dict:
    """Train a streaming model on chunks of the train stream; early stopping on val R2.

    Each epoch cuts the train stream into ``chunk``-sample pieces at a random phase
    (``chunk_stream``); every piece starts from rest and backpropagates through its own steps only
    (truncated BPTT). The first ``burn_in`` steps of a piece, where the state is still filling,
    are left out of the loss. Validation R2 is computed on the whole val stream run as
    ``val_lanes`` parallel pieces, each primed with the ``4 * burn_in`` samples before it (see
    ``lane_predictions``). The best weights are restored.
    """
    if burn_in >= chunk:
        raise ValueError(f"burn_in ({burn_in}) must be shorter than chunk ({chunk})")
    x, y = data.stream("train")  # (T, C), (T, 2)
    xv, yv = data.stream("val")
    gen = torch.Generator().manual_seed(data.seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)

    def train_epoch(epoch: int) -> float:
        xs, ys = chunk_stream(x, y, chunk, gen)  # (N, L, C), (N, L, 2)
        perm = torch.randperm(len(xs), generator=gen)
        total, count = 0.0, 0
        for i in range(0, len(xs), batch_size):
            b = perm[i:i + batch_size]
            xb, yb = xs[b].to(data.device), ys[b].to(data.device)
            out = model(xb)  # (B, L, 2)
            loss = nn.functional.mse_loss(out[:, burn_in:], yb[:, burn_in:])
            total += backward_step(model, opt, loss, grad_clip) * len(b)
            count += len(b)
        return total / max(count, 1)

    def validate() -> float:
        return r2_score(lane_predictions(model, xv.to(data.device), val_lanes, 4 * burn_in).cpu(), yv)

    return fit(model, train_epoch, validate, epochs=epochs, patience=patience, desc=desc)


@torch.no_grad()
def lane_predictions(model: nn.Module, x: torch.Tensor, lanes: int, overlap: int, forward=None) -> torch.Tensor:
    """Predictions (T, 2) of a streaming model on a (T, C) stream, computed as ``lanes`` pieces
    in one batch, each primed with the ``overlap`` samples before it (fast validation).
    ``forward``: what to call on the (lanes, T', C) batch instead of ``model`` (in eval mode).

    Equal to one pass over the stream up to the state's memory of the priming: with beta 0.96
    and overlap 200 a membrane keeps 0.96**200 = 3e-4 of what it held before the priming.
    """
    T = x.shape[0]
    size = math.ceil(T / max(1, lanes))
    spans = [(max(0, s - overlap), s, min(T, s + size)) for s in range(0, T, size)]
    longest = max(e - p for p, _, e in spans)
    batch = x.new_zeros(len(spans), longest, x.shape[1])
    for k, (p, _, e) in enumerate(spans):
        batch[k, : e - p] = x[p:e]
    was_training = model.training
    model.eval()
    try:
        out = (forward or model)(batch)  # (lanes, longest, 2)
    finally:
        model.train(was_training)
    return torch.cat([out[k, s - p: e - p] for k, (p, s, e) in enumerate(spans)])
