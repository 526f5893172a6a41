"""Test-only entry whose training raises."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from bench.registry import Entry, register
from bench.windows import Windows


@dataclass(frozen=True)
class RaiserConfig:
    hidden: int = 4


def build(n_inputs: int, n_outputs: int, cfg: RaiserConfig) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(n_inputs, n_outputs))


def train(model: nn.Module, data, cfg: RaiserConfig) -> dict:
    raise RuntimeError("deliberate failure during training (fault_raises)")


register(Entry(name="fault_raises", task="reaching", kind="submission", version="1", build=build,
               train=train, config=RaiserConfig(), windows=Windows()))
