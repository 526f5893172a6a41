"""Test-only entry: a tiny MLP on 2 windows of 5 samples; trains in about a second.

Used by the parallel, fault and bad-input tests as the run that must go on.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bench.registry import Entry, Variant, register
from bench.training import fit_regressor
from bench.windows import Windows


@dataclass(frozen=True)
class TinyConfig:
    epochs: int = 2
    hidden: int = 8
    lr: float = 1e-2
    batch_size: int = 256


def build(n_inputs: int, n_outputs: int, cfg: TinyConfig) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(2 * n_inputs, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, n_outputs))


def train(model: nn.Module, data, cfg: TinyConfig) -> dict:
    return fit_regressor(model, data, epochs=cfg.epochs, lr=cfg.lr, batch_size=cfg.batch_size, patience=cfg.epochs)


def halve_output(model: nn.Module, data, cfg: TinyConfig) -> nn.Module:
    """A second row for the same trained model: the output layer scaled by one half."""
    with torch.no_grad():
        model[-1].weight.mul_(0.5)
        model[-1].bias.mul_(0.5)
    return model


register(Entry(
    name="fault_tiny", task="reaching", kind="submission", version="1", build=build, train=train,
    config=TinyConfig(), windows=Windows(ws=5, n=2), variants=(Variant("halved", halve_output),),
    description="test-only tiny MLP",
))
