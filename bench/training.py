"""Training helpers shared by entries: seeding, ONE early-stopping skeleton, a regression fit.

- ``fit``: the early-stopping skeleton every training loop in bench runs on (``fit_regressor``
  here, ``baselines._common.fit_stream``, ``submissions.bilstm_grasp.train_grasp``): epochs of a
  ``train_epoch`` callback, a ``validate`` score after each, patience, the best weights restored,
  a progress bar and the history. Entries may write their own loop; they need not.
- ``fit_regressor``: the same fair recipe for every windowed reaching entry: Adam, mini-batches
  of window rows, early stopping on validation R2.
"""

from __future__ import annotations

import copy
import math
import os
import random
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from bench.tasks.reaching import ReachingData, last_step, r2_score


def set_seed(seed: int) -> None:
    """Seed every RNG bench uses; called by the runner before build and train."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def show_progress() -> bool:
    return os.environ.get("BENCH_PROGRESS", "1") != "0"


def fit(
    model: nn.Module,
    train_epoch: Callable[[int], float],
    validate: Callable[[], float] | None,
    *,
    epochs: int,
    patience: int,
    min_epochs: int = 1,
    after_epoch: Callable[[float], dict | None] | None = None,
    score_name: str = "val_r2",
    desc: str = "train",
) -> dict:
    """Early stopping: the skeleton of every training loop in bench.

    Each epoch: ``model.train()``, ``train_epoch(epoch)`` (0-based; returns the epoch's mean
    training loss), then ``validate()`` (higher is better) and ``after_epoch(score)`` (e.g. a
    learning-rate scheduler; the dict it returns is added to the epoch's history row). An epoch
    whose score beats every earlier one (strictly) becomes the best and its weights are copied;
    training stops once ``patience`` epochs passed without a better score (never before
    ``min_epochs``) and the best weights are restored. Without ``validate`` every epoch runs and
    the last weights are kept. Returns epochs_run, best_epoch, best_<score_name>, history, train_s.
    """
    best_score, best_state, best_epoch = -math.inf, None, 0
    history: list[dict] = []
    t0 = time.perf_counter()
    bar = tqdm(range(epochs), desc=desc, leave=False, disable=not show_progress())
    for epoch in bar:
        model.train()
        loss = train_epoch(epoch)
        score = validate() if validate is not None else float("nan")
        row = {"epoch": epoch + 1, "loss": loss, score_name: score}
        row.update((after_epoch(score) if after_epoch is not None else None) or {})
        history.append(row)
        bar.set_postfix(loss=f"{loss:.4f}", **{score_name: f"{score:.3f}"})
        if validate is None:
            best_score, best_epoch = score, epoch + 1
        elif score > best_score or best_state is None:
            best_score, best_state, best_epoch = score, copy.deepcopy(model.state_dict()), epoch + 1
        elif epoch + 1 >= min_epochs and epoch + 1 - best_epoch >= patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return {
        "epochs_run": len(history),
        "best_epoch": best_epoch,
        f"best_{score_name}": best_score,
        "history": history,
        "train_s": time.perf_counter() - t0,
    }


def fit_regressor(
    model: nn.Module,
    data: ReachingData,
    *,
    epochs: int,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    batch_size: int = 256,
    patience: int = 5,
    min_epochs: int = 1,
    cosine: bool = False,
    loss_fn: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
    series: bool = False,
    train_split: str = "train",
    val_split: str | None = "val",
    grad_clip: float | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    desc: str = "train",
) -> dict:
    """Mini-batch training on window rows with early stopping on validation R2.

    ``series=True`` trains on the label of every window step (targets (B, N, 2)); otherwise on
    the label of the prediction sample (B, 2) against the model's last step. ``loss_fn(model,
    x, y)`` replaces the default MSE. Returns a report (epochs run, best val R2, loss history).
    """
    x = data.x(train_split)
    y = data.y_series(train_split) if series else data.y(train_split)
    gen = torch.Generator().manual_seed(data.seed)
    opt = optimizer or torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs)) if cosine else None

    def train_epoch(epoch: int) -> float:
        perm = torch.randperm(len(x), generator=gen)
        total, count = 0.0, 0
        for i in range(0, len(x), batch_size):
            b = perm[i:i + batch_size]
            xb, yb = x[b].to(data.device), y[b].to(data.device)
            if augment is not None:
                xb = augment(xb, gen)
            if loss_fn is not None:
                loss = loss_fn(model, xb, yb)
            else:
                out = model(xb)
                pred = out if series else last_step(out)
                loss = nn.functional.mse_loss(pred, yb)
            total += backward_step(model, opt, loss, grad_clip) * len(b)
            count += len(b)
        if sched is not None:
            sched.step()
        return total / max(count, 1)

    validate = (lambda: data.r2(model, val_split)) if val_split else None
    return fit(model, train_epoch, validate, epochs=epochs, patience=patience, min_epochs=min_epochs, desc=desc)


def backward_step(model: nn.Module, opt: torch.optim.Optimizer, loss: torch.Tensor, grad_clip: float | None = None) -> float:
    """One optimiser step on ``loss`` (optional gradient-norm clipping); returns the loss value."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip:
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    return loss.item()


def chunk_stream(x: torch.Tensor, y: torch.Tensor, length: int, gen: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut a (T, C) stream and its (T, D) labels into (B, length, ·) chunks (random phase)."""
    T = x.shape[0]
    length = min(length, T)
    offset = int(torch.randint(0, max(1, T % length + 1), (1,), generator=gen)) if gen is not None else 0
    n = (T - offset) // length
    xs = x[offset:offset + n * length].reshape(n, length, -1)
    ys = y[offset:offset + n * length].reshape(n, length, -1)
    return xs, ys


__all__ = ["set_seed", "fit", "fit_regressor", "backward_step", "chunk_stream", "r2_score", "show_progress"]
