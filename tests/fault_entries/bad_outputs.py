"""Test-only entries whose models answer wrongly: a (B, 3) output and NaN predictions."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bench.registry import Entry, register
from bench.windows import Windows


@dataclass(frozen=True)
class PlainConfig:
    hidden: int = 4


class ThreeOutputs(nn.Module):
    """Ignores n_outputs: (B, 1, C) -> (B, 3)."""

    def __init__(self, n_inputs: int) -> None:
        super().__init__()
        self.fc = nn.Linear(n_inputs, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x[:, -1])


class NaNOutputs(nn.Module):
    """Right shape, but every prediction is NaN."""

    def __init__(self, n_inputs: int, n_outputs: int) -> None:
        super().__init__()
        self.fc = nn.Linear(n_inputs, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x[:, -1]) * float("nan")


def no_training(model: nn.Module, data, cfg: PlainConfig) -> dict:
    return {"epochs_run": 0}


register(Entry(name="fault_shape", task="reaching", kind="submission", version="1",
               build=lambda n_in, n_out, cfg: ThreeOutputs(n_in), train=no_training,
               config=PlainConfig(), windows=Windows()))
register(Entry(name="fault_nan", task="reaching", kind="submission", version="1",
               build=lambda n_in, n_out, cfg: NaNOutputs(n_in, n_out), train=no_training,
               config=PlainConfig(), windows=Windows()))
