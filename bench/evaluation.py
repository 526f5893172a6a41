"""Evaluation through NeuroBench's Benchmark, batched, causal, and guarded.

NeuroBench's metric managers print and swallow metric exceptions (static metrics vanish,
workload metrics become 0.0). Every metric class handed to NeuroBench here is wrapped so that
an exception is recorded with its traceback and the metric is reported as an error instead.
Non-finite predictions stop the evaluation with an error naming the first bad sample.
"""

from __future__ import annotations

import contextlib
import io
import math
import traceback
from collections.abc import Callable, Iterable

import numpy as np
import snntorch as snn
import torch
from neurobench.benchmarks import Benchmark
from neurobench.metrics.static import ConnectionSparsity, Footprint, ParameterCount
from neurobench.metrics.workload import (
    R2,
    ActivationSparsity,
    MembraneUpdates,
    SynapticOperations,
)
from neurobench.models import TorchModel
from torch import nn

from bench.tasks import EvalOutcome
from bench.tasks.reaching import ReachingData, last_step

STATIC_METRICS = (Footprint, ConnectionSparsity, ParameterCount)


class EvaluationError(RuntimeError):
    """The model's output cannot be scored (wrong shape, NaN, ...)."""


def _guard(metric_cls: type, errors: dict[str, str]) -> type:
    """Subclass of a NeuroBench metric that records its exceptions before NeuroBench hides them."""

    def __call__(self, *args, **kwargs):
        try:
            return metric_cls.__call__(self, *args, **kwargs)
        except Exception:
            errors.setdefault(metric_cls.__name__, traceback.format_exc())
            raise

    return type(metric_cls.__name__, (metric_cls,), {"__call__": __call__, "__module__": __name__})


class StreamModel(TorchModel):
    """Feeds a time-ordered batch (T, 1, C) to a stateful net as one sequence (1, T, C).

    NeuroBench then counts per-sample operations exactly as for a sample-by-sample stream:
    each layer runs once per 4 ms sample and ``data[0].size(0)`` is the number of samples.
    """

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        out = self.net(batch.transpose(0, 1))  # (1, T, K)
        return out.squeeze(0) if out.dim() == 3 else out


class _OneBatch:
    """A 'dataloader' holding one batch (the whole test stream, in time order)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        self.dataset = x
        self._batch = (x, y)

    def __iter__(self):
        yield self._batch

    def __len__(self) -> int:
        return 1


def has_activation_hooks(net: nn.Module, spiking: bool) -> bool:
    kinds: tuple = (nn.ReLU, nn.Sigmoid) + ((snn.SpikingNeuron,) if spiking else ())
    return any(isinstance(m, kinds) for m in net.modules())


def run_neurobench(
    net: nn.Module,
    loader: Iterable,
    workload: Iterable[type],
    *,
    spiking: bool = False,
    streaming: bool = False,
    postprocess: Callable[[torch.Tensor], torch.Tensor] | None = None,
    static: Iterable[type] = STATIC_METRICS,
) -> EvalOutcome:
    """Run NeuroBench's Benchmark with guarded metrics; returns metrics and metric errors."""
    errors: dict[str, str] = {}
    notes: dict[str, str] = {}
    workload = list(workload)
    gates = None
    if ActivationSparsity in workload and not has_activation_hooks(net, spiking):
        # NeuroBench would report 0.0 for a model with no hookable activation: not a measurement.
        workload.remove(ActivationSparsity)
        if any(isinstance(m, GATED_CELLS) for m in net.modules()):
            gates = CellGateSparsity(net)  # recurrent cells: their sigmoid gates, hooked here
            notes["ActivationSparsity"] = CellGateSparsity.NOTE
        else:
            notes["ActivationSparsity"] = "not measured: no nn.ReLU / nn.Sigmoid / spiking neuron to hook"
    static_g = [_guard(m, errors) for m in static]
    workload_g = [_guard(m, errors) for m in workload]
    model = (StreamModel if streaming else TorchModel)(net)
    if spiking:
        model.add_activation_module(snn.SpikingNeuron)

    def post(preds: torch.Tensor) -> torch.Tensor:
        preds = postprocess(preds) if postprocess else preds
        if not torch.isfinite(preds).all():
            bad = int((~torch.isfinite(preds)).reshape(len(preds), -1).any(1).nonzero()[0])
            raise EvaluationError(f"model produced non-finite predictions (first at batch row {bad})")
        return preds

    bench = Benchmark(model, loader, [], [post], [static_g, workload_g])
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            with torch.no_grad():
                results = bench.run(quiet=True)
    finally:
        model.cleanup_hooks()  # no NeuroBench hook may stay on the net (copies would inherit it)
        if gates is not None:
            gates.close()
    if gates is not None:
        try:
            results["ActivationSparsity"] = gates.value()
        except Exception:
            errors["ActivationSparsity"] = traceback.format_exc()
    metrics: dict = {}
    for name, value in results.items():
        if name in errors:
            continue
        metrics[name] = _plain(value)
    for name in [m.__name__ for m in list(static) + workload]:
        if name not in metrics and name not in errors:
            errors[name] = f"NeuroBench returned no value for {name}"
    for name, value in metrics.items():
        if isinstance(value, float) and not math.isfinite(value):
            errors[name] = f"{name} is not finite ({value})"
    for name in errors:
        metrics.pop(name, None)
    return EvalOutcome(metrics=metrics, metric_errors=errors, extra={"notes": notes} if notes else {})


GATED_CELLS = (nn.GRUCell, nn.LSTMCell)


class CellGateSparsity:
    """Activation sparsity of recurrent cells, measured on their sigmoid gates.

    NeuroBench's ActivationSparsity hooks nn.ReLU / nn.Sigmoid modules, but nn.GRUCell and
    nn.LSTMCell apply their gate sigmoids inside one fused call. A forward hook on each cell
    recomputes the gates from the cell's own inputs and weights (GRU: r, z; LSTM: i, f, o) and
    counts exact zeros, the quantity NeuroBench's Sigmoid hook would count if the gates were
    modules: zeros / all gate activations, over all cells, steps and samples.
    """

    NOTE = (
        "recurrent cells: fraction of exact zeros in the sigmoid gate outputs (GRUCell r, z; "
        "LSTMCell i, f, o) over all cells, steps and samples (NeuroBench hooks only nn.ReLU / "
        "nn.Sigmoid modules; the gates are recomputed from each cell's inputs by a forward hook)"
    )

    def __init__(self, net: nn.Module):
        self.zeros = 0
        self.total = 0
        self.handles = [m.register_forward_hook(self._hook) for m in net.modules() if isinstance(m, GATED_CELLS)]

    @staticmethod
    def gates(cell: nn.Module, x: torch.Tensor, state) -> torch.Tensor:
        """The cell's sigmoid gate outputs for input x (B, I) and its state: (B, k * H)."""
        H = cell.hidden_size
        if isinstance(state, tuple):
            h = state[0]
        else:
            h = state
        if h is None:
            h = x.new_zeros(x.shape[0], H)
        gi = nn.functional.linear(x, cell.weight_ih, cell.bias_ih)
        gh = nn.functional.linear(h, cell.weight_hh, cell.bias_hh)
        if isinstance(cell, nn.GRUCell):
            return torch.sigmoid(gi[:, : 2 * H] + gh[:, : 2 * H])  # r, z
        pre = gi + gh  # LSTM: i, f, g, o
        return torch.sigmoid(torch.cat([pre[:, : 2 * H], pre[:, 3 * H:]], 1))  # i, f, o

    def _hook(self, cell: nn.Module, inputs: tuple, output) -> None:
        x = inputs[0]
        state = inputs[1] if len(inputs) > 1 else None
        if x.dim() == 1:  # unbatched call
            x = x.unsqueeze(0)
            state = tuple(s.unsqueeze(0) for s in state) if isinstance(state, tuple) else (state.unsqueeze(0) if state is not None else None)
        with torch.no_grad():
            g = self.gates(cell, x, state)
        self.zeros += int((g == 0).sum())
        self.total += g.numel()

    def value(self) -> float:
        if self.total == 0:
            raise EvaluationError("no recurrent cell ran during evaluation: gate sparsity not measured")
        return self.zeros / self.total

    def close(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles.clear()


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def reaching_workload(spiking: bool) -> list[type]:
    metrics = [R2, ActivationSparsity, SynapticOperations]
    return metrics + [MembraneUpdates] if spiking else metrics


def evaluate_reaching(model: nn.Module, data: ReachingData, entry, split: str = "test", batch_size: int = 8192) -> EvalOutcome:
    """Score a trained reaching model on the test stream with NeuroBench's metrics."""
    model = model.to(data.device).eval()
    check_output_shape(model, data, entry)
    if entry.streaming:
        x, y = data.stream(split)
        loader = _OneBatch(x.unsqueeze(1), y)  # (T, 1, C): one time-ordered batch
        post = None
    else:
        x, y = data.x(split), data.y(split)
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch_size, shuffle=False)
        post = data.warmup_postprocessor()
    outcome = run_neurobench(model, loader, reaching_workload(entry.spiking), spiking=entry.spiking, streaming=entry.streaming, postprocess=post)
    outcome.extra.update({"n_test": int(len(y)), "split": split, "primed": data.prime})
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


# --- streaming proofs -------------------------------------------------------------------------


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
