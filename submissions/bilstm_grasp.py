"""Bidirectional LSTM grasp decoders: object classifier and grasp/rest phase detector.

LINKS Foundation, "Deep Learning for real-time neural decoding of grasp" (2023): 480 ms windows
of 40 ms spike counts go through bidirectional LSTM layers (40 units, dropout 0.7-0.8, L2 on the
kernel and recurrent weights) and a softmax layer. ``bilstm-grasp`` names the grasped object from
grasp windows; ``bilstm-grasp-phase`` (2 BiLSTM layers) tells grasp windows from rest windows.

Recipe as the paper: Adam, batch 256, early stopping on validation accuracy, learning rate halved
after 10 epochs without a better validation accuracy, L1/L2 penalties of 0.01 (Keras style:
0.01 * sum|w| or 0.01 * sum w^2, added to the mean batch loss).

The parameters live in ``nn.LSTMCell`` modules (one per layer and direction), and the evaluated
forward loops over the 12 bins with them, so NeuroBench counts every operation. Training runs
:func:`train_forward` on the same tensors (both directions' input maps in one product, the two
directions stepped together); the two forwards agree to float precision (tests/test_grasp_task.py). Evaluation runs
:func:`window_pass`: the cells' arithmetic on the split's distinct bins (overlapping windows share
the first layer's input maps) with NeuroBench's per-sample operation counts, equal to the hooked
pass through NeuroBench's Benchmark metric for metric (tests/test_grasp_task.py).

Class imbalance of the detector (about 10 rest windows per grasp window): each epoch uses every
grasp window and a fresh random draw of ``rest_ratio`` (2) rest windows per grasp window, so the
detector sees 2:1 instead of 10:1 (a fifth of the windows per epoch, and a prior that does not
drown the grasp class); validation and test keep the true distribution. ``class_weight="balanced"`` weights the
loss by inverse class frequency instead, when wanted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from bench.evaluation import CountedPass
from bench.opcount import binary_rows, input_products, linear_ops, lstm_rows_ops
from bench.registry import Entry, register
from bench.training import backward_step, fit

REGULARISATIONS = ("none", "l1", "l2", "l1l2")


@dataclass(frozen=True)
class BiLSTMGraspConfig:
    layers: int = 1  # BiLSTM layers (paper's classifier: 1; detector: 2)
    units: int = 40  # hidden units per direction (paper: 40)
    dropout: float = 0.7  # between layers and before the softmax layer (paper: 0.7-0.8)
    regularisation: str = "l2"  # on kernel and recurrent weights: none | l1 | l2 | l1l2
    reg_strength: float = 0.01  # paper: 0.01 for each penalty
    lr: float = 1e-3  # Adam's initial learning rate
    batch_size: int = 256  # paper
    epochs: int = 60  # paper: up to 100; 60 keeps a session near a minute on 2 CPU cores
    patience: int = 20  # early stopping: epochs without a better validation accuracy
    lr_patience: int = 10  # halve the learning rate after this many flat epochs (paper)
    lr_factor: float = 0.5
    rest_ratio: float | None = None  # detector: rest windows drawn per grasp window each epoch
    class_weight: str = "none"  # "balanced": loss weights n / (K * n_k)

    SEARCH_SPACE: ClassVar[dict[str, tuple]] = {
        "layers": (1, 2, 3, 4),
        "units": (16, 32, 40, 64),
        "dropout": (0.0, 0.2, 0.4, 0.6, 0.7, 0.8),
        "regularisation": REGULARISATIONS,
        "lr": (1e-2, 1e-3, 1e-4),
    }

    def __post_init__(self) -> None:
        if self.regularisation not in REGULARISATIONS:
            raise ValueError(f"regularisation {self.regularisation!r} not in {REGULARISATIONS}")
        if self.class_weight not in ("none", "balanced"):
            raise ValueError(f"class_weight {self.class_weight!r} not in ('none', 'balanced')")
        if self.layers < 1 or self.units < 1 or not 0 <= self.dropout < 1:
            raise ValueError(f"need layers >= 1, units >= 1, 0 <= dropout < 1; got {self}")


class BiLSTMNet(nn.Module):
    """(B, T, C) spike counts -> (B, K) class logits (softmax is applied by the loss).

    Each layer runs a forward cell over t = 0..T-1 and a backward cell over t = T-1..0; the next
    layer reads both directions' outputs (B, T, 2H). The classifier reads the last state of
    each direction of the top layer, as Keras' Bidirectional(LSTM(return_sequences=False)).
    """

    def __init__(self, n_inputs: int, n_outputs: int, layers: int = 1, units: int = 40, dropout: float = 0.7):
        super().__init__()
        self.n_inputs, self.units = n_inputs, units
        sizes = [n_inputs] + [2 * units] * (layers - 1)
        self.fwd = nn.ModuleList(nn.LSTMCell(s, units) for s in sizes)
        self.bwd = nn.ModuleList(nn.LSTMCell(s, units) for s in sizes)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(2 * units, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[-1] != self.n_inputs:
            raise ValueError(f"BiLSTMNet expects (B, T, {self.n_inputs}) inputs; got {tuple(x.shape)}")
        B, T, _ = x.shape
        seq = x
        for layer, (cf, cb) in enumerate(zip(self.fwd, self.bwd)):
            if layer > 0:
                seq = self.drop(seq)
            zero = seq.new_zeros(B, self.units)
            hf, sf, hb, sb = zero, zero, zero, zero
            outs_f, outs_b = [], []
            for t in range(T):
                hf, sf = cf(seq[:, t], (hf, sf))
                hb, sb = cb(seq[:, T - 1 - t], (hb, sb))
                outs_f.append(hf)
                outs_b.append(hb)
            seq = torch.cat([torch.stack(outs_f, 1), torch.stack(outs_b[::-1], 1)], -1)  # (B, T, 2H)
        feats = torch.cat([hf, hb], -1)  # (B, 2H): last forward state, last backward state
        return self.head(self.drop(feats))

    def window_pass(self, bins: torch.Tensor, first: torch.Tensor, window: int) -> CountedPass:
        """Evaluation fast path (bench.tasks.grasp): see :func:`window_pass`."""
        return window_pass(self, bins, first, window)

    def penalty(self, kind: str, strength: float) -> torch.Tensor:
        """Keras-style L1/L2 penalty on the kernel (ih) and recurrent (hh) weights."""
        total = self.head.weight.new_zeros(())
        if kind == "none" or strength == 0:
            return total
        for cell in [*self.fwd, *self.bwd]:
            for w in (cell.weight_ih, cell.weight_hh):
                if "l1" in kind:
                    total = total + strength * w.abs().sum()
                if "l2" in kind:
                    total = total + strength * w.pow(2).sum()
        return total


# sigmoid(x) >= 1.8e-35 for x > -80, a normal float32: no faithful sigmoid rounds it to 0, so gate
# zeros are only counted in steps whose smallest pre-activation is below this bound
GATE_ZERO_BOUND = -80.0


@torch.no_grad()
def window_pass(net: BiLSTMNet, bins: torch.Tensor, first: torch.Tensor, window: int, batch_size: int = 4096) -> CountedPass:
    """``net`` on the windows bins[first[w] : first[w] + window], with what NeuroBench's hooks count.

    Computed as the cells compute (same linear maps, same gate arithmetic: bit for bit on this
    stack, tests/test_grasp_task.py), with NeuroBench's per-sample operation counts
    (bench.opcount) and the sigmoid-gate zeros of CellGateSparsity. Sliding windows share their
    bins: the first layer's input maps and binary input products are computed once per bin
    instead of once per window and step (``window`` times less work for the widest layer).
    """
    net.eval()
    H, T = net.units, window
    per_bin = [(F.linear(bins, c.weight_ih, c.bias_ih), input_products(c, bins)) for c in (net.fwd[0], net.bwd[0])]
    bin_spiking = binary_rows(bins)
    ops = [0, 0, 0]
    zeros = total = 0
    logits = []
    for lo in range(0, len(first), batch_size):
        rows = first[lo:lo + batch_size, None] + torch.arange(T, device=first.device)  # (B, T) bin of each step
        B = rows.shape[0]
        seq = None
        for layer, cells in enumerate(zip(net.fwd, net.bwd)):
            outs = []
            for d, cell in enumerate(cells):
                if layer == 0:  # (B, T, 4H) gathered from the bins; spiking flags (B, T)
                    gi_seq, ih_seq, spk_seq = per_bin[d][0][rows], per_bin[d][1][rows], bin_spiking[rows]
                else:  # the previous layer's outputs, all steps at once
                    gi_seq, ih_seq = F.linear(seq, cell.weight_ih, cell.bias_ih), input_products(cell, seq)
                    spk_seq = binary_rows(seq.reshape(B * T, -1)).view(B, T)
                h = c = bins.new_zeros(B, H)
                hs = [h] * T  # each step's output
                h_in, c_in = [h] * T, [c] * T  # the state each step starts from
                gate_zeros = torch.zeros((), dtype=torch.int64)
                for t in (range(T) if d == 0 else range(T - 1, -1, -1)):
                    h_in[t], c_in[t] = h, c
                    pre = F.linear(h, cell.weight_hh, cell.bias_hh) + gi_seq[:, t]
                    i, f, g, o = pre.chunk(4, 1)
                    i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
                    if pre.min() <= GATE_ZERO_BOUND:  # else no sigmoid gate can be exactly 0
                        gate_zeros += (i == 0).sum() + (f == 0).sum() + (o == 0).sum()
                    c = f * c + i * torch.tanh(g)
                    h = o * torch.tanh(c)
                    hs[t] = h
                zeros += int(gate_zeros)
                total += 3 * B * H * T
                # NeuroBench's count of every step (one row per window and step, all at once)
                state = (torch.stack(h_in, 1).reshape(B * T, H), torch.stack(c_in, 1).reshape(B * T, H))
                for k, v in enumerate(lstm_rows_ops(cell, ih_seq.reshape(B * T, -1), spk_seq.reshape(B * T), state)):
                    ops[k] += v
                outs.append(torch.stack(hs, 1))  # (B, T, H), in time order
            seq = torch.cat(outs, -1)  # (B, T, 2H): the next layer's input (dropout: eval)
        feats = torch.cat([seq[:, -1, :H], seq[:, 0, H:]], -1)  # last forward, last backward state
        for k, v in enumerate(linear_ops(net.head, feats)):
            ops[k] += v
        logits.append(net.head(feats))
    outputs = torch.cat(logits) if logits else bins.new_zeros(0, net.head.out_features)
    return CountedPass(outputs, (ops[0], ops[1], ops[2]), zeros, total)


def _input_maps(cf: nn.LSTMCell, cb: nn.LSTMCell, seq: torch.Tensor) -> torch.Tensor:
    """Both directions' input maps of one layer, biases included: (..., I) -> (..., 8H)."""
    return F.linear(seq, torch.cat([cf.weight_ih, cb.weight_ih]), torch.cat([cf.bias_ih + cf.bias_hh, cb.bias_ih + cb.bias_hh]))


def train_forward(net: BiLSTMNet, x: torch.Tensor | None = None, gates0: torch.Tensor | None = None) -> torch.Tensor:
    """Same function as ``net(x)`` (dropout follows ``net.training``), arranged for training speed.

    Per layer, both directions' input maps are ONE matrix product over all steps (the widest
    product by far: 552 channels into 8 x 40 gates), the two biases are added once, and the two
    directions step together as a batch of 2 (one ``baddbmm`` per step for both recurrent maps,
    one sigmoid over all gates). Autograd differentiates it like the cell loop: 2x faster than
    ``nn.LSTM`` for one layer on a CPU core (``benchmarks/bench_kernels.py``), the same outputs
    to float rounding (tests/test_grasp_task.py). ``gates0``: the first layer's input maps
    (B, T, 8H) when the caller computed them (validation: once per distinct bin).
    """
    seq = x
    B, T = (x.shape[0], x.shape[1]) if x is not None else (gates0.shape[0], gates0.shape[1])
    H = net.units
    h = None
    for layer, (cf, cb) in enumerate(zip(net.fwd, net.bwd)):
        if layer > 0:
            seq = net.drop(seq)
        gi = (gates0 if layer == 0 and gates0 is not None else _input_maps(cf, cb, seq)).view(B, T, 2, 4 * H)
        steps = torch.stack([gi[:, :, 0], gi[:, :, 1].flip(1)]).permute(2, 0, 1, 3)  # (T, 2, B, 4H), backward reversed
        w_hh = torch.stack([cf.weight_hh.t(), cb.weight_hh.t()])  # (2, H, 4H)
        h = c = gi.new_zeros(2, B, H)
        outs = []
        for t in range(T):
            pre = torch.baddbmm(steps[t], h, w_hh)  # gates i, f, g, o of both directions
            i, f, _, o = torch.sigmoid(pre).chunk(4, -1)
            c = torch.addcmul(f * c, i, torch.tanh(pre[..., 2 * H:3 * H]))
            h = o * torch.tanh(c)
            outs.append(h)
        hs = torch.stack(outs)  # (T, 2, B, H); direction 1 in reversed time
        seq = torch.cat([hs[:, 0].transpose(0, 1), hs[:, 1].flip(0).transpose(0, 1)], -1)  # (B, T, 2H)
    return net.head(net.drop(torch.cat([h[0], h[1]], -1)))  # last forward state, last backward state


# --- training ----------------------------------------------------------------------------------


def _epoch_rows(y: np.ndarray, cfg: BiLSTMGraspConfig, rng: np.random.Generator) -> np.ndarray:
    """Training rows of one epoch: all, or (detector) all positives + a draw of negatives."""
    if cfg.rest_ratio is None:
        return rng.permutation(len(y))
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    n_neg = min(len(neg), int(math.ceil(cfg.rest_ratio * max(len(pos), 1))))
    return rng.permutation(np.concatenate([pos, rng.choice(neg, n_neg, replace=False)]))


@torch.no_grad()
def _val_accuracy(net: BiLSTMNet, data, split: str = "val", batch_size: int = 4096, bins: tuple | None = None) -> float:
    """Accuracy on a split; overlapping windows share their bins' first-layer input maps
    (computed once per distinct 40 ms bin, not once per window and step). ``bins``: the split's
    ``data.window_bins(split)`` when the caller keeps them across epochs."""
    net.eval()
    bins, first, window = bins or data.window_bins(split)
    maps = _input_maps(net.fwd[0], net.bwd[0], bins)  # (n_bins, 8H)
    y = torch.from_numpy(data.labels(split))
    correct = 0
    for i in range(0, len(first), batch_size):
        rows = first[i:i + batch_size, None] + torch.arange(window, device=first.device)
        correct += int((train_forward(net, gates0=maps[rows]).argmax(-1).cpu() == y[i:i + batch_size]).sum())
    return correct / max(len(first), 1)


def train_grasp(model: BiLSTMNet, data, cfg: BiLSTMGraspConfig) -> dict:
    """Adam through ``train_forward``, early stopping on validation accuracy, best weights restored."""
    y_train = data.y("train").numpy()
    val_bins = data.window_bins("val")  # the validation windows' distinct bins, gathered once
    rng = np.random.default_rng(data.seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=cfg.lr_factor, patience=cfg.lr_patience)
    weight = None
    if cfg.class_weight == "balanced":
        counts = np.bincount(y_train, minlength=data.n_outputs).astype(np.float64)
        weight = torch.tensor(len(y_train) / (data.n_outputs * np.maximum(counts, 1)), dtype=torch.float32, device=data.device)

    def train_epoch(epoch: int) -> float:
        rows = _epoch_rows(y_train, cfg, rng)
        total, count = 0.0, 0
        for i in range(0, len(rows), cfg.batch_size):
            xb, yb = data.take("train", rows[i:i + cfg.batch_size])
            loss = nn.functional.cross_entropy(train_forward(model, xb), yb.to(data.device), weight=weight)
            loss = loss + model.penalty(cfg.regularisation, cfg.reg_strength)
            total += backward_step(model, opt, loss) * len(yb)
            count += len(yb)
        return total / max(count, 1)

    def after_epoch(acc: float) -> dict:
        sched.step(acc)  # halve the learning rate after lr_patience flat epochs
        return {"lr": opt.param_groups[0]["lr"]}

    report = fit(
        model, train_epoch, lambda: _val_accuracy(model, data, bins=val_bins), epochs=cfg.epochs, patience=cfg.patience,
        after_epoch=after_epoch, score_name="val_accuracy", desc=f"bilstm {data.task_kind}",
    )
    model.eval()
    return report | {"final_lr": opt.param_groups[0]["lr"]}


def build(n_inputs: int, n_outputs: int, cfg: BiLSTMGraspConfig) -> BiLSTMNet:
    return BiLSTMNet(n_inputs, n_outputs, cfg.layers, cfg.units, cfg.dropout)


QUICK = {"epochs": 3, "patience": 3}
PAPER = "LINKS Foundation, Deep Learning for real-time neural decoding of grasp (2023)"

CLASSIFIER = register(Entry(
    name="bilstm-grasp",
    task="grasp-object",
    kind="submission",
    version="1",
    build=build,
    train=train_grasp,
    config=BiLSTMGraspConfig(),
    quick=QUICK,
    display="BiLSTM",
    paper=PAPER,
    description="bidirectional LSTM (40 units, dropout 0.7, L2) naming the grasped object from a 480 ms window",
))

DETECTOR = register(Entry(
    name="bilstm-grasp-phase",
    task="grasp-phase",
    kind="submission",
    version="1",
    build=build,
    train=train_grasp,
    config=BiLSTMGraspConfig(layers=2, dropout=0.5, rest_ratio=2.0, epochs=15, patience=5),
    quick=QUICK,
    display="BiLSTM detector",
    paper=PAPER,
    description="two bidirectional LSTM layers telling grasp (Hold) windows from rest windows",
))
