"""The primate-reaching task: predict finger (cursor) velocity from 4 ms spike bins; metric R2.

Data flow: .mat file -> Recording (bench.data.reaching) -> windows (bench.windows) -> model ->
evaluation (``evaluate_reaching``: NeuroBench's metrics through ``bench.evaluation``).

Evaluation reports what NeuroBench's own example pipeline reports on the same test stream
(tests/test_neurobench_side_by_side.py): windowed entries are scored in time-ordered batches,
those holding warm-up samples on the examples' 256-sample DataLoader grid (ActivationSparsity
is NeuroBench's batch-weighted mean); entries with ``warmup_zeros`` (ANN2D) predict zeros for
the first span - 1 samples WITHOUT running the model, as NeuroBench's example does, so those
samples add no operations or activations; operations are counted per sample
(``SampleSynapticOperations``).
``SynapticOperations.Dense_nominal`` is the dense count per sample the model ran on (4,704 for a
96-channel ANN2D), beside NeuroBench's stream figure ``Dense`` (total / all samples).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from neurobench.metrics.workload import R2, ActivationSparsity, MembraneUpdates, SynapticOperations
from neurobench.models import TorchModel
from torch import nn

from bench.data.recording import Recording, RecordingRef
from bench.evaluation import Batches, EvalOutcome, EvaluationError, StreamModel, run_neurobench
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
        return self.recording.spikes[start:hi], idx - start, start  # compact counts, no copy

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
        x = torch.from_numpy(self.recording.spikes[idx].astype(np.float32))  # this split only
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
            run = WarmupModel(model, self.n_warmup, self.n_outputs)
            outs = [run(xs[i:i + batch_size].to(self.device)).cpu() for i in range(0, len(xs), batch_size)]
            return torch.cat(outs) if outs else torch.zeros(0, 2)
        finally:
            model.train(was_training)

    @property
    def n_warmup(self) -> int:
        """Leading samples of an unprimed split predicted as zeros without running the model
        (``warmup_zeros``: NeuroBench's ANN2D, whose buffer is not yet full); else 0."""
        return self.windows.span - 1 if (self.warmup_zeros and not self.prime) else 0

    def warmup_postprocessor(self):
        """Last step of each output; with ``warmup_zeros`` on an unprimed stream, the first
        span-1 predictions are zeros, as NeuroBench's example models output before their input
        buffer is full. Batches must arrive in time order (a fresh postprocessor per pass)."""
        seen = [0]
        n_zero = self.n_warmup

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


class WarmupModel(TorchModel):
    """A windowed net called on time-ordered batches of one stream (a fresh instance per pass).

    Returns the last step of each output; the first ``n_zero`` samples of the stream get zero
    predictions and never reach the net (NeuroBench's ANN2D runs no layer before its buffer is
    full, so they count no operations and no activations).
    """

    def __init__(self, net: nn.Module, n_zero: int = 0, n_outputs: int = 2):
        super().__init__(net)
        self.n_zero, self.n_outputs, self.seen = n_zero, n_outputs, 0

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        start = self.seen
        self.seen += len(batch)
        skip = min(max(self.n_zero - start, 0), len(batch))
        if skip == 0:
            return last_step(self.net(batch))
        out = batch.new_zeros(len(batch), self.n_outputs)
        if skip < len(batch):
            out[skip:] = last_step(self.net(batch[skip:]))
        return out


# --- evaluation --------------------------------------------------------------------------------

NEUROBENCH_BATCH = 256  # test DataLoader batch of NeuroBench's ANN examples (ActivationSparsity weights)
EVAL_BATCH = 8192  # batches after the warm-up ones (see evaluate_reaching)
QUICK_SECONDS = 120.0  # run --quick: the reaches within a session's first 120 s


def reaching_workload(spiking: bool) -> list[type]:
    metrics = [R2, ActivationSparsity, SynapticOperations]
    return metrics + [MembraneUpdates] if spiking else metrics


def evaluate_reaching(model: nn.Module, data: ReachingData, entry, split: str = "test", batch_size: int = EVAL_BATCH) -> EvalOutcome:
    """Score a trained reaching model on the test stream with NeuroBench's metrics.

    NeuroBench's ActivationSparsity is a batch-weighted mean of per-batch sparsities over its
    DataLoader's batches (256 samples in the examples). Only a batch holding warm-up samples
    (which run no layer) weighs its samples differently; every later sample of a windowed model
    adds the same number of activations, so those batches may be merged without changing the
    mean. The warm-up part keeps NeuroBench's 256-sample grid; the rest runs in ``batch_size``.
    """
    model = model.to(data.device).eval()
    check_output_shape(model, data, entry)
    n_zero = 0
    if entry.streaming:
        x, y = data.stream(split)
        loader = Batches(x.unsqueeze(1), y)  # (T, 1, C): one time-ordered batch
        wrapper = StreamModel(model)
    else:
        x, y = data.x(split), data.y(split)
        n_zero = min(data.n_warmup, len(y))
        loader = Batches(x, y, batch_size, lead=[NEUROBENCH_BATCH] * math.ceil(n_zero / NEUROBENCH_BATCH))
        wrapper = WarmupModel(model, n_zero, data.n_outputs)
    from bench.neuron_metrics import workload_additions

    extra_metrics, not_measured = workload_additions(model, entry.spiking)  # NeuroBench 2.3's per-layer / neuron metrics
    outcome = run_neurobench(model, loader, reaching_workload(entry.spiking) + extra_metrics, spiking=entry.spiking, model=wrapper)
    if not_measured:
        outcome.extra["not_measured"] = not_measured
    ops = outcome.metrics.get("SynapticOperations")
    if isinstance(ops, dict) and isinstance(ops.get("Dense"), (int, float)) and len(y) > n_zero:
        # NeuroBench divides by every sample of the stream; the nominal figure by those run
        ops["Dense_nominal"] = round(ops["Dense"] * len(y)) / (len(y) - n_zero)
    outcome.extra.update({"n_test": int(len(y)), "split": split, "primed": data.prime, "n_warmup_zeros": n_zero})
    return outcome


def check_output_shape(model: nn.Module, data: ReachingData, entry) -> None:
    """Fail early, naming the entry, when a model's output is not (B, 2) or (B, T, 2)."""
    with torch.no_grad():
        if entry.streaming:
            x, _ = data.stream("test")
            probe = x[:8].unsqueeze(0).to(data.device)
        else:
            probe = data.x("test")[:4].to(data.device)
        out = model(probe)
    if not isinstance(out, torch.Tensor) or out.shape[-1] != 2 or out.dim() not in (2, 3) or out.shape[0] != probe.shape[0]:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise EvaluationError(f"entry {entry.name!r}: model output has shape {shape} for input {tuple(probe.shape)}; expected (B, 2) or (B, T, 2)")


@torch.no_grad()
def stream_predictions(model: nn.Module, data: ReachingData, split: str = "test", limit: int | None = None, streaming: bool = False) -> torch.Tensor:
    """Sample-by-sample predictions the way a device would make them (reference, slow).

    Windowed entries: a buffer of raw samples (zeros before the stream) receives one 4 ms sample
    at a time; the windows are summed from the buffer with plain loops and the model is called
    once per sample. Streaming entries: the model is re-run on the growing prefix and its last
    output kept (state cannot leak from the future). Used to prove the batched path exact.
    Unprimed streams only (the split starts from an empty buffer).
    """
    from bench.windows import apply_transform

    model.eval()
    x, _ = data.stream(split)
    if limit is not None:
        x = x[:limit]
    preds = []
    spec = data.windows
    if not streaming:
        # NeuroBench's buffers: zeros (span rows) or, with buffer_start, one zero row that grows
        buf = torch.zeros(1 if data.buffer_start else spec.span, x.shape[1])
        for i in range(len(x)):
            buf = torch.cat([buf, x[i:i + 1]])[-spec.span:]  # newest sample last
            if data.warmup_zeros and i < spec.span - 1:
                preds.append(torch.zeros(2))
                continue
            wins = []
            for k in range(spec.n):
                if len(buf) < spec.span:  # growing buffer: windows from its start
                    rows = buf[k * spec.ws:(k + 1) * spec.ws]
                else:
                    end = spec.span - spec.lag - (spec.n - 1 - k) * spec.ws  # exclusive
                    rows = buf[end - spec.ws:end]
                wins.append(rows.sum(0))
            w = apply_transform(torch.stack(wins).numpy(), spec.transform)
            preds.append(last_step(model(torch.from_numpy(w).unsqueeze(0)))[0])
    else:
        for i in range(len(x)):
            out = model(x[: i + 1].unsqueeze(0))
            preds.append(out[0, -1] if out.dim() == 3 else out[0])
    return torch.stack(preds)


class ReachingTask:
    name = "reaching"
    primary_metric = "R2"
    eval_version = "2"  # 2: ANN2D/ANN3D ops as NeuroBench's own pipeline counts them (issue 9)
    higher_is_better = True

    def recordings(self, names: list[str] | None = None, data_dir: Path | None = None) -> list[RecordingRef]:
        from bench.data import reaching as reader

        return reader.resolve_recordings(names, data_dir)

    # run --quick (the smoke board) trains and scores on the reaches within a session's first
    # QUICK_SECONDS (split again by NeuroBench's rule); recorded in the result's identity
    quick_span = f"reaches within the first {QUICK_SECONDS:g} s of each session"

    def load(self, ref: RecordingRef, input_mode: str = "binary", train_ratio: float = 0.5, quick_data: bool = False) -> Recording:
        from bench.data import reaching as reader

        rec = reader.load_reaching(ref.path, input_mode=input_mode, train_ratio=train_ratio)
        return reader.head(rec, QUICK_SECONDS) if quick_data else rec

    def make_data(self, recording: Recording, entry, cfg, seed: int, quick: bool, device: str = "cpu", prime: bool = False) -> ReachingData:
        from bench.data.reaching import check_usable

        windows = entry.windows_for(cfg)
        check_usable(recording, windows.span)  # splits shorter than the window, R2 undefined: before training
        return ReachingData(recording, windows, seed=seed, quick=quick, device=device, prime=prime, warmup_zeros=entry.warmup_zeros, buffer_start=entry.buffer_start)

    def evaluate(self, model, data: ReachingData, entry) -> EvalOutcome:
        return evaluate_reaching(model, data, entry)


TASK = ReachingTask()
