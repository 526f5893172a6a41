"""Test-only entry whose training kills its own process with SIGKILL (as the OOM killer would)."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

from torch import nn

from bench.registry import Entry, register
from bench.windows import Windows


@dataclass(frozen=True)
class KillerConfig:
    hidden: int = 4


def build(n_inputs: int, n_outputs: int, cfg: KillerConfig) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(n_inputs, n_outputs))


def train(model: nn.Module, data, cfg: KillerConfig) -> dict:
    os.kill(os.getpid(), signal.SIGKILL)
    return {}


register(Entry(name="fault_killed", task="reaching", kind="submission", version="1", build=build,
               train=train, config=KillerConfig(), windows=Windows()))
