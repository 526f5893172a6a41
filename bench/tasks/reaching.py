"""The primate-reaching task: predict finger (cursor) velocity from 4 ms spike bins; metric R2.

Data flow: .mat file -> Recording (bench.data.reaching) -> windows (bench.windows) -> model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from bench.data.recording import Recording
from bench.tasks import RecordingRef
from bench.windows import Windows, window_label_series, window_sums


def r2_score(pred: np.ndarray | torch.Tensor, target: np.ndarray | torch.Tensor) -> float:
    """NeuroBench's R2: per output dim 1 - SS_res / (n * var(target, ddof=0)), mean over dims."""
    p = torch.as_tensor(pred, dtype=torch.float64).reshape(-1, 2)
    y = torch.as_tensor(target, dtype=torch.float64).reshape(-1, 2)
    ss_res = ((y - p) ** 2).sum(0)
    ss_tot = ((y - y.mean(0)) ** 2).sum(0)
    return float((1 - ss_res / ss_tot).mean())


@dataclass
class ReachingData:
    """The view of one recording that an entry trains on and is evaluated on.

    x(split)        (n, N, C) window sums (the entry's Windows), one row per 4 ms sample
    y(split)        (n, 2) velocity at that sample
    y_series(split) (n, N, 2) velocity at the end of each of the N windows
    stream(split)   raw contiguous (T, C) inputs and (T, 2) labels of the split, for streaming models
    """

    recording: Recording
    windows: Windows
    seed: int = 0
    quick: bool = False
    device: str = "cpu"
    prime: bool = False  # fill windows at a split's start with the preceding samples
    warmup_zeros: bool = False  # unprimed: predict 0 until the windows are full (NeuroBench)
    buffer_start: bool = False  # unprimed: NeuroBench's growing start-of-stream buffer (windows.py)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_channels(self) -> int:
        return self.recording.n_channels

    @property
    def n_inputs(self) -> int:
        return self.recording.n_channels

    n_outputs = 2  # velocity x, y

    def indices(self, split: str) -> np.ndarray:
        if split == "trainval":
            return np.concatenate([self.recording.split["train"], self.recording.split["val"]])
        return self.recording.split[split]

    def _split_stream(self, split: str) -> tuple[np.ndarray, np.ndarray, int]:
        """Inputs from which the split's windows are cut, and the offset of its first sample.

        Without priming each split is its own stream (history before it counts as zeros, as in
        NeuroBench); with priming the windows reach back into the preceding samples.
        """
        idx = self.indices(split)
        lo, hi = int(idx.min()), int(idx.max()) + 1
        start = max(0, lo - self.windows.span) if self.prime else lo
        return self.recording.inputs[start:hi], idx - start, start

    def x(self, split: str) -> torch.Tensor:
        key = ("x", split)
        if key not in self._cache:
            stream, local, _ = self._split_stream(split)
            aligned = self.buffer_start and not self.prime
            self._cache[key] = torch.from_numpy(window_sums(stream, self.windows, local, buffer_start=aligned))
        return self._cache[key]

    def y(self, split: str) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(self.recording.labels[self.indices(split)], dtype=np.float32))

    def y_series(self, split: str) -> torch.Tensor:
        idx = self.indices(split)
        return torch.from_numpy(window_label_series(self.recording.labels, self.windows, idx))

    def stream(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        idx = self.indices(split)
        x = torch.from_numpy(np.ascontiguousarray(self.recording.inputs[idx], dtype=np.float32))
        return x, self.y(split)

    @torch.no_grad()
    def predict(self, model: torch.nn.Module, split: str, batch_size: int = 65536, streaming: bool = False) -> torch.Tensor:
        """Batched predictions (n, 2) for a split, model in eval mode (restored afterwards)."""
        was_training = model.training
        model.eval()
        try:
            if streaming:
                x, _ = self.stream(split)
                out = model(x.unsqueeze(0).to(self.device))
                return last_step(out.squeeze(0) if out.dim() == 3 else out).cpu()
            xs = self.x(split)
            post = self.warmup_postprocessor()
            outs = [post(model(xs[i:i + batch_size].to(self.device))).cpu() for i in range(0, len(xs), batch_size)]
            return torch.cat(outs) if outs else torch.zeros(0, 2)
        finally:
            model.train(was_training)

    def warmup_postprocessor(self):
        """Last step of each output; with ``warmup_zeros`` on an unprimed stream, the first
        span-1 predictions are zeros, as NeuroBench's example models output before their input
        buffer is full. Batches must arrive in time order (a fresh postprocessor per pass)."""
        seen = [0]
        n_zero = self.windows.span - 1 if (self.warmup_zeros and not self.prime) else 0

        def post(out: torch.Tensor) -> torch.Tensor:
            out = last_step(out)
            start = seen[0]
            seen[0] += len(out)
            if start < n_zero:
                out = out.clone()
                out[: n_zero - start] = 0
            return out

        return post

    def r2(self, model: torch.nn.Module, split: str = "val", streaming: bool = False) -> float:
        return r2_score(self.predict(model, split, streaming=streaming), self.y(split))


def last_step(out: torch.Tensor) -> torch.Tensor:
    """(B, T, K) -> (B, K) taking the last step; (B, K) passes through."""
    return out[:, -1] if out.dim() == 3 else out


class ReachingTask:
    name = "reaching"
    primary_metric = "R2"
    higher_is_better = True

    def recordings(self, names: list[str] | None = None, data_dir: Path | None = None) -> list[RecordingRef]:
        from bench.data import reaching as reader

        return reader.resolve_recordings(names, data_dir)

    def load(self, ref: RecordingRef, input_mode: str = "binary", train_ratio: float = 0.5) -> Recording:
        from bench.data import reaching as reader

        return reader.load_reaching(ref.path, input_mode=input_mode, train_ratio=train_ratio)

    def make_data(self, recording: Recording, entry, cfg, seed: int, quick: bool, device: str = "cpu", prime: bool = False) -> ReachingData:
        return ReachingData(recording, entry.windows_for(cfg), seed=seed, quick=quick, device=device, prime=prime, warmup_zeros=entry.warmup_zeros, buffer_start=entry.buffer_start)

    def evaluate(self, model, data: ReachingData, entry):
        from bench.evaluation import evaluate_reaching

        return evaluate_reaching(model, data, entry)


TASK = ReachingTask()
