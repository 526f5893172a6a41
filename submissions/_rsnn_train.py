"""Training of the recurrent spiking decoders (tinyRSNN, bigRSNN) in the harness.

Their recipe (REFERENCE.md section 8) and what bench does:

- surrogate gradients (snnTorch's fast sigmoid, slope 20), RMSE loss on velocity, Adam with
  lr 2e-3 and a cosine schedule (per optimiser step), 2 s training samples cut with overlap from
  the training part, dropout 0.3 on the hidden spikes, learned heterogeneous time constants,
  an upper firing-rate bound (10 Hz per neuron, strength 0.01, on each neuron's rate in Hz per
  training sample, squared hinge) and a lower one (strength 100 on each neuron's mean spikes per
  sample over the batch, squared hinge at 1e-3): as theirs, with bench's own choice of units.
- Changed, and why:
  * split: the harness's (NeuroBench's) first half train / next quarter validation / last quarter
    test, not their 65 / 10 / 25; the test quarter is the same, the validation part chooses the
    best epoch and drives pruning.
  * no cross-session pre-training by default: bench trains one recording per run and must fit a
    2-core CPU budget (tinyRSNN: at most 3 minutes on a default synthetic session). The option
    ``pretrain_data`` ('synthetic' or a data folder) + ``pretrain_epochs`` pre-trains on the
    training parts of all sessions of the same channel count found there, as they do per monkey.
  * epochs (tinyRSNN 30 with lr 5e-3, bigRSNN 10 with their lr 2e-3; not 200 + 100 of
    pre-training), batch 32 (bigRSNN 16; not 250) of samples cut every 0.4 s (80 % overlap) so an
    epoch holds ~13 optimiser steps, early stopping after 12 epochs without a better validation
    R2, gradient-norm clipping at 1: their 6 h / 12 h per seed on a GPU do not fit the budget.
    Measured on sim_indy_1 (one core, OMP_NUM_THREADS=1): tinyRSNN ~50 s of CPU.
  * the first 25 samples (100 ms) of each training sample are left out of the loss: every sample
    starts from rest while the evaluated stream does so only once.
  * weights start random with the input weights scaled on a training batch so that the free
    membrane potential has std ``sigma_u`` (in the spirit of their fluctuation-driven
    initialisation); hidden tau / tau0 start log-uniform in [1, 8] (their learned values span
    ~0.2-11 x tau0); the readouts start at tau0.
- Pruning: their iterative magnitude pruning with re-training: per-layer L1 at 40 %, then +10 %
  steps, then +5 % steps after the first failure, each followed by ``prune_epochs`` of
  re-training with the masks held, keeping the last rate whose validation R2 stays within 2 %
  (relative) of the unpruned model's, at most 80 %.
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from baselines._common import lane_predictions
from bench.pruning import Masks, prune_l1_per_tensor
from bench.tasks.reaching import ReachingData, r2_score
from bench.training import backward_step, show_progress
from submissions._rsnn import DT, RSNN, RSNNConfig

VAL_OVERLAP = 250  # samples (1 s) of priming per validation lane


def cut_samples(streams: list[tuple[torch.Tensor, torch.Tensor]], length: int, stride: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, length, C) inputs and (N, length, 2) labels cut every ``stride`` samples (random
    phase per call) from each contiguous (T, C) stream; a stream shorter than ``length`` gives
    one sample of its own length only if it is the only stream."""
    xs, ys = [], []
    for x, y in streams:
        L = min(length, len(x))
        if L < length and len(streams) > 1:
            continue
        phase = int(torch.randint(0, max(1, min(stride, len(x) - L + 1)), (1,), generator=gen))
        starts = torch.arange(phase, len(x) - L + 1, stride)
        idx = starts[:, None] + torch.arange(L)[None, :]
        xs.append(x[idx])
        ys.append(y[idx])
    if not xs:
        raise ValueError(f"no training stream is {length} samples long")
    return torch.cat(xs), torch.cat(ys)


def rate_penalty(spikes: torch.Tensor, cfg: RSNNConfig) -> torch.Tensor:
    """Firing-rate regularisers on the hidden spikes (B, T, H)."""
    rate_hz = spikes.mean(1) / DT  # (B, H)
    upper = torch.relu(rate_hz - cfg.rate_max_hz).pow(2).mean()
    lower = torch.relu(cfg.rate_min - spikes.mean((0, 1))).pow(2).mean()
    return cfg.rate_max_strength * upper + cfg.rate_min_strength * lower


@torch.no_grad()
def scale_input_weights(model: RSNN, x: torch.Tensor, sigma_u: float, skip: int = 25) -> float:
    """Rescale W_in so the hidden neurons' free membrane (no spikes, no reset) has std
    ``sigma_u`` on the (B, T, C) batch ``x``; returns the factor applied."""
    cur = model.fc_in(x.to(model.fc_in.weight.dtype))
    d_syn, d_mem, c_mem = model.hidden.decays()
    syn = mem = cur.new_zeros(cur.shape[0], cur.shape[2])
    mems = []
    for t in range(cur.shape[1]):
        mem, syn = d_mem * mem + c_mem * syn, d_syn * syn + cur[:, t]
        mems.append(mem)
    std = float(torch.stack(mems[skip:] or mems, 1).std())
    factor = sigma_u / std if std > 0 else 1.0
    model.fc_in.weight.mul_(factor)
    return factor


@torch.no_grad()
def val_r2(model: RSNN, data: ReachingData, lanes: int) -> float:
    """Validation R2 through the training path's loops (same network, no dropout; ~3x faster
    than the evaluated module path, equal to float rounding)."""
    xv, yv = data.stream("val")
    pred = lane_predictions(model, xv.to(data.device), lanes, VAL_OVERLAP, forward=lambda b: model.run(b, fused=True)[0])
    return r2_score(pred.cpu(), yv)


def fit(model: RSNN, data: ReachingData, cfg: RSNNConfig, *, epochs: int, lr: float, streams: list | None = None, masks: Masks | None = None, desc: str = "rsnn") -> dict:
    """Train on 2 s samples of ``streams`` (default: the train stream); best validation R2
    weights are kept. ``masks`` (pruning) are held through every optimiser step."""
    streams = streams or [data.stream("train")]
    gen = torch.Generator().manual_seed(data.seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    if masks is not None:
        masks.hold(opt)
    n_samples = len(cut_samples(streams, cfg.sample_len, cfg.sample_stride, torch.Generator().manual_seed(0))[0])
    steps = max(1, epochs * math.ceil(n_samples / cfg.batch_size))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    best = (-math.inf, copy.deepcopy(model.state_dict()), 0)
    history: list[dict] = []
    t0 = time.perf_counter()
    bar = tqdm(range(epochs), desc=desc, leave=False, disable=not show_progress())
    for epoch in bar:
        model.train()
        xs, ys = cut_samples(streams, cfg.sample_len, cfg.sample_stride, gen)
        perm = torch.randperm(len(xs), generator=gen)
        total = reg_total = 0.0
        rate = 0.0
        for i in range(0, len(xs), cfg.batch_size):
            b = perm[i:i + cfg.batch_size]
            xb, yb = xs[b].to(data.device), ys[b].to(data.device)
            pred, spikes = model.run(xb)
            burn = min(cfg.burn_in, xb.shape[1] - 1)
            mse = nn.functional.mse_loss(pred[:, burn:], yb[:, burn:])
            fit_loss = mse.sqrt() if cfg.loss == "rmse" else mse
            reg = rate_penalty(spikes, cfg)
            total += backward_step(model, opt, fit_loss + reg, cfg.grad_clip) * len(b)
            reg_total += float(reg.detach()) * len(b)
            rate += float(spikes.detach().mean()) / DT * len(b)
            sched.step()
        n = max(len(xs), 1)
        row = {"epoch": epoch + 1, "loss": total / n, "reg": reg_total / n, "rate_hz": rate / n}
        last = epoch + 1 == epochs
        if (epoch + 1) % max(1, cfg.val_every) == 0 or last:
            row["val_r2"] = val_r2(model, data, cfg.val_lanes)
            bar.set_postfix(loss=f"{row['loss']:.4f}", val_r2=f"{row['val_r2']:.3f}", hz=f"{row['rate_hz']:.1f}")
            if row["val_r2"] > best[0]:
                best = (row["val_r2"], copy.deepcopy(model.state_dict()), epoch + 1)
            elif epoch + 1 - best[2] >= cfg.patience:
                history.append(row)
                break
        history.append(row)
    model.load_state_dict(best[1])
    model.eval()
    return {"epochs_run": len(history), "best_epoch": best[2], "best_val_r2": best[0], "history": history, "train_s": time.perf_counter() - t0}


def pretrain_streams(data: ReachingData, cfg: RSNNConfig) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], list[str]]:
    """Training parts (and names) of every session in ``cfg.pretrain_data`` with this
    recording's channel count: 'synthetic' = bench's default synthetic sessions, else every
    ``*.mat`` file of that folder. Test parts are never used."""
    from bench.data.reaching import load_reaching
    from bench.data.synth_reaching import ensure_default_sessions

    if cfg.pretrain_data == "synthetic":
        files = [Path(p) for p in ensure_default_sessions()]
    else:
        folder = Path(cfg.pretrain_data)
        if not folder.is_dir():
            raise ValueError(f"pretrain_data={cfg.pretrain_data!r}: not a folder (give 'synthetic' or a folder of session .mat files)")
        files = sorted(folder.glob("*.mat"))
    rec = data.recording
    streams, names = [], []
    for path in files:
        other = load_reaching(path, input_mode=rec.input_mode, train_ratio=rec.train_ratio)
        if other.n_channels != rec.n_channels:
            continue
        idx = other.split["train"]
        streams.append((torch.from_numpy(np.asarray(other.spikes[idx], dtype=np.float32)), torch.from_numpy(np.asarray(other.labels[idx], dtype=np.float32))))
        names.append(other.name)
    if not streams:
        raise ValueError(f"pretrain_data={cfg.pretrain_data!r}: no session with {rec.n_channels} channels among {[p.name for p in files]}")
    return streams, names


def train(model: RSNN, data: ReachingData, cfg: RSNNConfig) -> dict:
    """Initialise on data, optionally pre-train across sessions, then train on this session."""
    if cfg.loss not in ("rmse", "mse"):
        raise ValueError(f"loss must be 'rmse' or 'mse', got {cfg.loss!r}")
    t0 = time.perf_counter()
    x, y = data.stream("train")
    gen = torch.Generator().manual_seed(data.seed)
    xs, _ = cut_samples([(x, y)], cfg.sample_len, cfg.sample_stride, gen)
    pick = torch.randperm(len(xs), generator=gen)[: min(len(xs), 16)]
    report: dict = {"init_input_scale": scale_input_weights(model, xs[pick].to(data.device), cfg.sigma_u)}
    if cfg.pretrain_data and cfg.pretrain_epochs > 0:
        streams, names = pretrain_streams(data, cfg)
        pre = fit(model, data, cfg, epochs=cfg.pretrain_epochs, lr=cfg.lr, streams=streams, desc="rsnn pretrain")
        report["pretrain"] = {k: pre[k] for k in ("epochs_run", "best_epoch", "best_val_r2", "train_s")} | {"sessions": names}
    report |= fit(model, data, cfg, epochs=cfg.epochs, lr=cfg.lr)
    report["train_s"] = time.perf_counter() - t0
    return report


def prune_iteratively(model: RSNN, data: ReachingData, cfg: RSNNConfig) -> RSNN:
    """Iterative per-layer magnitude pruning with re-training (see the module docstring)."""
    t0 = time.perf_counter()
    model.eval()
    base = val_r2(model, data, cfg.val_lanes)
    floor = base - cfg.prune_tolerance * abs(base)
    accepted = (0.0, copy.deepcopy(model.state_dict()), base)
    rate, step = cfg.prune_start, cfg.prune_step
    history = []
    while rate <= cfg.prune_max + 1e-9:
        trial = copy.deepcopy(model)
        trial.load_state_dict(accepted[1])
        masks = prune_l1_per_tensor(trial, rate)
        try:
            fit(trial, data, cfg, epochs=cfg.prune_epochs, lr=cfg.prune_lr, masks=masks, desc=f"rsnn prune {rate:.2f}")
        finally:
            masks.release()
        r2 = val_r2(trial, data, cfg.val_lanes)
        history.append({"rate": round(rate, 4), "val_r2": r2, "kept": r2 >= floor})
        if r2 >= floor:
            accepted = (rate, copy.deepcopy(trial.state_dict()), r2)
            rate = round(rate + step, 4)
        elif step > cfg.prune_fine_step and accepted[0] > 0:
            step = cfg.prune_fine_step
            rate = round(accepted[0] + step, 4)
        else:
            break
    model.load_state_dict(accepted[1])
    model.pruning_summary = {  # plain attribute: not a parameter or buffer
        "rate": accepted[0], "val_r2_unpruned": base, "val_r2": accepted[2], "steps": history,
        "prune_s": time.perf_counter() - t0,
        "note": "" if accepted[0] else f"no rate from {cfg.prune_start} kept validation R2 within {cfg.prune_tolerance:.0%}: unpruned",
    }
    return model
