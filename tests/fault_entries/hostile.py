"""Test-only hostile entries: each trains a tiny MLP (as ``tiny_linear``) and then misbehaves.

- fault_leaky: leaves float64 as the default dtype, grad mode off, numpy raising on every
  floating-point warning, anomaly detection and deterministic algorithms on, 2 torch threads
- fault_exits: calls sys.exit in training
- fault_writes: writes into the spike array of the recording it was given (numpy)
- fault_aliases: writes into it through a tensor that shares its memory
- fault_report: returns a training report holding a tensor, a set, numpy scalars and an object
  JSON cannot hold
- fault_interrupt: raises KeyboardInterrupt in training (a Ctrl-C during that run)
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from bench.registry import Entry, register
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


def tiny_train(model: nn.Module, data, cfg: TinyConfig) -> dict:
    return fit_regressor(model, data, epochs=cfg.epochs, lr=cfg.lr, batch_size=cfg.batch_size, patience=cfg.epochs)


def leak(model, data, cfg: TinyConfig) -> dict:
    report = tiny_train(model, data, cfg)
    torch.set_default_dtype(torch.float64)
    torch.set_grad_enabled(False)
    torch.set_anomaly_enabled(True)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)
    np.seterr(all="raise")
    return report


def exits(model, data, cfg: TinyConfig) -> dict:
    sys.exit(3)


def writes(model, data, cfg: TinyConfig) -> dict:
    data.recording.spikes[:] = 0
    return {}


def aliases(model, data, cfg: TinyConfig) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "the given NumPy array is not writable"
        torch.from_numpy(data.recording.spikes).zero_()
    return {}


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque object>"


def odd_report(model, data, cfg: TinyConfig) -> dict:
    report = tiny_train(model, data, cfg)
    report.update(tensor=torch.tensor([1.5, 2.5]), scalar=np.float32(0.25), count=np.int64(7), tags={"b", "a"},
                  nested={"t": torch.tensor(3)}, opaque=Opaque())
    return report


def interrupt(model, data, cfg: TinyConfig) -> dict:
    raise KeyboardInterrupt


for name, fn in (("fault_leaky", leak), ("fault_exits", exits), ("fault_writes", writes), ("fault_aliases", aliases),
                 ("fault_report", odd_report), ("fault_interrupt", interrupt)):
    register(Entry(name=name, task="reaching", kind="submission", version="1", build=build, train=fn,
                   config=TinyConfig(), windows=Windows(ws=5, n=2), description="test-only hostile entry"))
