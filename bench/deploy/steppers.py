"""One streaming step as a device runs it: batch 1, one new sample in, one prediction out.

Three kinds of step, one per way an entry sees its input:

- ``WindowStepper`` (windowed reaching entries, ``Entry.windows``): a ring buffer holds the last
  ``span + 1`` raw 4 ms samples and the n window sums are kept as running sums: each new sample
  is added to the window it enters and the sample leaving that window is subtracted (2 x n
  channel rows per step, whatever the window length), never re-summing history. Sums are kept
  in float64 (exact for spike counts, like ``bench.windows``' cumulative sums), cast to float32
  and transformed exactly as the harness does, then the model runs on (1, n, C).
- ``StateStepper`` (streaming entries, ``Entry.streaming``): the model's own state is carried
  through the step protocol below.
- ``BinStepper`` (grasp entries): a ring buffer of the last T 40 ms bins receives one new bin;
  the classifier runs on the (1, T, U) window in time order (a bidirectional network cannot
  carry state across windows, so each step re-runs the whole window).

Step protocol for stateful models (``has_step_protocol``)::

    state = model.init_state(batch)            # anything the model wants to carry (tensors)
    y_t, state = model.step(x_t, state)        # x_t (batch, C) -> y_t (batch, K)

``model.step`` over a stream must equal ``model(x_stream)`` (B, T, K) step by step; the latency
measurement checks it on the test stream every time it runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from bench.windows import Windows, apply_transform


class StepProtocolError(TypeError):
    """A streaming model without ``init_state`` / ``step``."""


def has_step_protocol(model: nn.Module) -> bool:
    return callable(getattr(model, "init_state", None)) and callable(getattr(model, "step", None))


class WindowStepper:
    """Running window sums over a ring buffer of raw samples, then the model on (1, n, C)."""

    def __init__(self, model: nn.Module, spec: Windows, n_channels: int, warmup_zeros: int = 0, n_outputs: int = 2):
        self.model, self.spec = model, spec
        self.size = spec.span + 1  # samples i - span .. i
        self.ring = np.zeros((self.size, n_channels), dtype=np.float64)
        self.sums = np.zeros((spec.n, n_channels), dtype=np.float64)
        k = np.arange(spec.n)
        self.enter = spec.lag + (spec.n - 1 - k) * spec.ws  # sample i - enter[k] enters window k
        self.leave = self.enter + spec.ws  # sample i - leave[k] leaves window k
        self.i = 0
        self.warmup_zeros = warmup_zeros  # predictions 0 .. warmup_zeros-1 are zeros (NeuroBench's ANN2D)
        self.zero = torch.zeros(n_outputs)

    def push(self, x: np.ndarray) -> np.ndarray:
        """Add one raw sample (C,); returns the current windows (n, C) float32, transformed."""
        size = self.size
        self.ring[self.i % size] = x
        self.sums += self.ring[(self.i - self.enter) % size]
        self.sums -= self.ring[(self.i - self.leave) % size]
        self.i += 1
        return apply_transform(self.sums.astype(np.float32), self.spec.transform)

    def predict(self, windows: np.ndarray) -> torch.Tensor:
        if self.i <= self.warmup_zeros:
            return self.zero
        out = self.model(torch.from_numpy(windows).unsqueeze(0))
        return out[0, -1] if out.dim() == 3 else out[0]

    def __call__(self, x: np.ndarray) -> torch.Tensor:
        return self.predict(self.push(x))


class StateStepper:
    """The model's own ``step`` with its state carried (batch 1)."""

    def __init__(self, model: nn.Module):
        if not has_step_protocol(model):
            raise StepProtocolError(
                f"{type(model).__name__} is a streaming model without the step protocol: it needs "
                "init_state(batch) and step(x_t, state) -> (y_t, state) (see bench.deploy.steppers)"
            )
        self.model = model
        self.state = model.init_state(1)

    def __call__(self, x: np.ndarray) -> torch.Tensor:
        y, self.state = self.model.step(torch.from_numpy(x).unsqueeze(0), self.state)
        return y[0]


class BinStepper:
    """Ring buffer of the last ``length`` bins; the classifier runs on the window in time order."""

    def __init__(self, model: nn.Module, length: int, n_units: int):
        self.model, self.length = model, length
        self.ring = np.zeros((length, n_units), dtype=np.float32)
        # the window in time order for each write position: oldest bin first
        self.order = [(p + 1 + np.arange(length)) % length for p in range(length)]
        self.i = 0

    def push(self, x: np.ndarray) -> np.ndarray:
        p = self.i % self.length
        self.ring[p] = x
        self.i += 1
        return np.take(self.ring, self.order[p], axis=0)

    def __call__(self, x: np.ndarray) -> torch.Tensor:
        return self.model(torch.from_numpy(self.push(x)).unsqueeze(0))[0]


def stream_outputs(stepper: Any, samples: np.ndarray) -> torch.Tensor:
    """Run a stepper over (T, C) samples without timing; (T, K) outputs (for proofs and tests)."""
    with torch.inference_mode():
        return torch.stack([stepper(np.ascontiguousarray(samples[t])) for t in range(len(samples))])
