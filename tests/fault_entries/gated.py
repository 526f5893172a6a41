"""Test-only entry whose training waits while the file named by $BENCH_TEST_GATE exists.

Lets a test hold a run in flight (to interrupt the sweep around it), then release it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from bench.registry import Entry, register
from bench.windows import Windows


@dataclass(frozen=True)
class GatedConfig:
    max_wait_s: float = 120.0


def build(n_inputs: int, n_outputs: int, cfg: GatedConfig) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(n_inputs, n_outputs))


def train(model: nn.Module, data, cfg: GatedConfig) -> dict:
    gate = os.environ.get("BENCH_TEST_GATE")
    deadline = time.monotonic() + cfg.max_wait_s
    while gate and Path(gate).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return {"waited": bool(gate)}


register(Entry(name="fault_gated", task="reaching", kind="submission", version="1", build=build,
               train=train, config=GatedConfig(), windows=Windows()))
