"""Scoring a model through NeuroBench's Benchmark: guarded metrics, per-sample operation counts.

Task-agnostic: a task (``bench/tasks/...``) chooses the loader, the NeuroBench model wrapper and
the workload metrics; ``run_neurobench`` runs NeuroBench's Benchmark and returns an EvalOutcome.

- Guarded metrics. NeuroBench's metric managers print and swallow metric exceptions (static
  metrics vanish, workload metrics become 0.0). Every metric class handed to NeuroBench here is
  wrapped so that an exception is recorded with its traceback and the metric is reported as an
  error, never as a number. Non-finite predictions stop the evaluation with an error.
- Per-sample operation counts. NeuroBench's SynapticOperations decides, for each call of a hooked
  layer, whether the call's input is spiking (every value in {-1, 0, 1}: accumulates, ACs) or not
  (MACs). Its example models make one call per sample; bench's models make one call per batch, so
  one non-binary sample would turn a whole batch's ACs into MACs. ``SampleSynapticOperations``
  splits every hooked call into the calls a per-sample model makes (each vector a Linear layer
  receives; each batch row of a convolution or recurrent cell) and applies NeuroBench's rules to
  each (``bench.opcount``), in exact integer counts (NeuroBench's float32 sums of a large batch
  can round).
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import snntorch as snn
import torch
from neurobench.benchmarks import Benchmark
from neurobench.metrics.abstract.workload_metric import AccumulatedMetric
from neurobench.metrics.static import ConnectionSparsity, Footprint, ParameterCount
from neurobench.metrics.utils.layers import single_layer_MACs
from neurobench.metrics.workload import ActivationSparsity, SynapticOperations
from neurobench.models import NeuroBenchModel, TorchModel
from torch import nn

from bench.opcount import binary_rows, cell_ops, linear_ops, synapses_per_input

STATIC_METRICS = (Footprint, ConnectionSparsity, ParameterCount)
GATED_CELLS = (nn.GRUCell, nn.LSTMCell)


@dataclass
class EvalOutcome:
    metrics: dict  # metric name -> number or dict of numbers
    metric_errors: dict = field(default_factory=dict)  # metric name -> traceback text
    extra: dict = field(default_factory=dict)  # e.g. confusion matrix, n_test


class EvaluationError(RuntimeError):
    """The model's output cannot be scored (wrong shape, NaN, ...)."""


def _guard(metric_cls: type, errors: dict[str, str], name: str | None = None) -> type:
    """Subclass of a NeuroBench metric that records its exceptions before NeuroBench hides them.

    ``name`` is the result key (NeuroBench keys results by the class name); default: the class's.
    """
    name = name or metric_cls.__name__

    def __call__(self, *args, **kwargs):
        try:
            return metric_cls.__call__(self, *args, **kwargs)
        except Exception:
            errors.setdefault(name, traceback.format_exc())
            raise

    return type(name, (metric_cls,), {"__call__": __call__, "__module__": __name__})


# --- operations counted as a per-sample model would be counted ---------------------------------


def _take(args, mask: torch.Tensor):
    """The rows ``mask`` of a layer call's arguments (a tensor or nested tuples of tensors)."""
    if isinstance(args, tuple):
        return tuple(_take(a, mask) for a in args)
    return args[mask] if isinstance(args, torch.Tensor) else args


def _float64(args):
    if isinstance(args, tuple):
        return tuple(_float64(a) for a in args)
    return args.double() if isinstance(args, torch.Tensor) else args


class SampleSynapticOperations(SynapticOperations):
    """NeuroBench's SynapticOperations with every hooked call split into per-sample calls.

    Linear layers: each input vector is one call (a per-sample model's call, or one time step of
    it). Recurrent cells: each batch row is one call (``bench.opcount``: NeuroBench's cell rules,
    vectorised). Convolutions, and cell calls those rules do not cover: each batch row is one
    call, counted by NeuroBench's own ``single_layer_MACs`` on float64 copies of the layer,
    grouped into spiking and non-spiking rows. Other layers (full nn.LSTM / nn.GRU) go to
    NeuroBench unchanged (it raises for them).
    """

    def __init__(self):
        super().__init__()
        self._copies: dict[int, nn.Module] = {}  # id(layer) -> its float64 copy, per evaluation

    def reset(self):
        super().reset()
        self._copies = {}

    def _float64_copy(self, layer: nn.Module) -> nn.Module:
        key = id(layer)
        if key not in self._copies:
            clone = copy.deepcopy(layer)
            for m in clone.modules():  # hooks travel with deepcopy: none may fire on the copy
                m._forward_hooks.clear()
                m._forward_pre_hooks.clear()
            self._copies[key] = clone.double()
        return self._copies[key]

    def _neurobench_ops(self, layer: nn.Module, args) -> tuple[int, int, int]:
        x = args[0] if isinstance(args, tuple) else args
        if x.dim() < 2:  # an unbatched call is one sample
            groups = [args]
        else:
            binary = binary_rows(x.reshape(x.shape[0], -1))
            groups = [_take(args, m) for m in (binary, ~binary) if bool(m.any())]
        layer64 = self._float64_copy(layer)
        dense = macs = acs = 0
        for g in groups:
            g64 = _float64(g)
            ops, spiking = single_layer_MACs(g64, layer64)
            total, _ = single_layer_MACs(g64, layer64, total=True)
            dense += total
            if spiking:
                acs += ops
            else:
                macs += ops
        return dense, macs, acs

    def __call__(self, model, preds, data):
        for hook in model.connection_hooks:
            calls = [call[0] if len(call) == 1 else call for call in hook.inputs]  # as NeuroBench unpacks a call
            if isinstance(hook.layer, nn.Linear) and calls and all(isinstance(a, torch.Tensor) for a in calls):
                # a streaming model calls each layer once per sample: its calls are counted
                # together (the counts are per row, so the sum is the same), the weights' fan-out once
                self._count(*_linear_calls_ops(hook.layer, calls))
                continue
            for args in calls:
                counted = None
                if isinstance(hook.layer, nn.Linear) and isinstance(args, torch.Tensor):
                    counted = linear_ops(hook.layer, args)
                elif isinstance(hook.layer, nn.RNNCellBase):
                    counted = cell_ops(hook.layer, args)
                if counted is not None:
                    dense, macs, acs = counted
                elif isinstance(hook.layer, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.RNNCellBase)):
                    dense, macs, acs = self._neurobench_ops(hook.layer, args)
                else:
                    hook.hook.remove()  # NeuroBench's own path (it removes the hook, as here)
                    try:
                        macs, spiking = single_layer_MACs(args, hook.layer)
                        dense, _ = single_layer_MACs(args, hook.layer, total=True)
                    finally:
                        hook.register_hook()
                    macs, acs = (0, macs) if spiking else (macs, 0)
                self._count(dense, macs, acs)
        self.total_samples += data[0].size(0)
        return self.compute()

    def _count(self, dense: int, macs: int, acs: int) -> None:
        self.total_synops += dense
        self.MAC += macs
        self.AC += acs


def _linear_calls_ops(layer: nn.Linear, calls: list[torch.Tensor], rows_per_chunk: int = 1 << 16) -> tuple[int, int, int]:
    """``linear_ops`` summed over many calls of one layer: the calls' rows are counted in chunks
    of about ``rows_per_chunk`` rows (bounded memory), the layer's fan-out computed once."""
    nnz_col = synapses_per_input(layer)
    total = [0, 0, 0]
    chunk: list[torch.Tensor] = []
    rows = 0
    for i, x in enumerate(calls):
        x = x.reshape(-1, x.shape[-1])
        chunk.append(x)
        rows += x.shape[0]
        if rows >= rows_per_chunk or i == len(calls) - 1:
            for k, v in enumerate(linear_ops(layer, torch.cat(chunk), nnz_col)):
                total[k] += v
            chunk, rows = [], 0
    return total[0], total[1], total[2]


# --- models and loaders handed to NeuroBench ---------------------------------------------------


class StreamModel(TorchModel):
    """Feeds a time-ordered batch (T, 1, C) to a stateful net as one sequence (1, T, C).

    NeuroBench then counts per-sample operations exactly as for a sample-by-sample stream:
    each layer runs once per 4 ms sample and ``data[0].size(0)`` is the number of samples.
    """

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        out = self.net(batch.transpose(0, 1))  # (1, T, K)
        return out.squeeze(0) if out.dim() == 3 else out


class Batches:
    """A 'dataloader' of consecutive slices of (x, y), in order (one batch if no batch_size).

    ``lead``: sizes of the first batches, before the ``batch_size`` ones. What NeuroBench's
    Benchmark reads of a DataLoader (``len(loader.dataset)``, ``len(loader)``, iteration),
    without DataLoader's per-item indexing and collation.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int | None = None, lead: Iterable[int] = ()):
        if len(x) != len(y):
            raise ValueError(f"inputs and labels differ in length: {len(x)} != {len(y)}")
        self.dataset = x
        self.y = y
        size = max(1, batch_size or len(x))
        self.bounds = [0]
        for n in list(lead) + [size] * math.ceil(len(x) / size):
            if self.bounds[-1] >= len(x):
                break
            self.bounds.append(min(len(x), self.bounds[-1] + max(1, int(n))))

    def __iter__(self):
        for lo, hi in zip(self.bounds, self.bounds[1:]):
            yield self.dataset[lo:hi], self.y[lo:hi]

    def __len__(self) -> int:
        return len(self.bounds) - 1


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
    model: NeuroBenchModel | None = None,
    postprocess: Callable[[torch.Tensor], torch.Tensor] | None = None,
    static: Iterable[type] = STATIC_METRICS,
) -> EvalOutcome:
    """Run NeuroBench's Benchmark with guarded metrics; returns metrics and metric errors.

    ``model`` is the NeuroBench wrapper of ``net`` (default: TorchModel, or StreamModel with
    ``streaming``). NeuroBench's SynapticOperations is replaced by SampleSynapticOperations.
    """
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
    workload_g = [
        _guard(SampleSynapticOperations, errors, "SynapticOperations") if m is SynapticOperations else _guard(m, errors)
        for m in workload
    ]
    if model is None:
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


@dataclass
class CountedPass:
    """A model's own evaluation pass: its outputs and what run_neurobench's hooks would count.

    A fast path a model may offer (e.g. sharing work between overlapping windows). ``ops`` are
    SampleSynapticOperations' totals over all samples (dense, MACs, ACs); ``gate_zeros`` /
    ``gate_total`` what CellGateSparsity counts. ``counted_outcome`` scores it exactly as
    ``run_neurobench`` scores the hooked pass (each model's tests prove the two equal).
    """

    outputs: torch.Tensor  # (n, K), in sample order
    ops: tuple[int, int, int]
    gate_zeros: int
    gate_total: int


def counted_outcome(net: nn.Module, counted: CountedPass, preds: torch.Tensor, labels: torch.Tensor, workload: Iterable[type], batch_size: int) -> EvalOutcome:
    """EvalOutcome of a CountedPass, equal to run_neurobench's on the same samples with a
    loader of ``batch_size``: static metrics through NeuroBench's Benchmark; SynapticOperations
    and the gate sparsity from the counts; other workload metrics (no hooks) called by batch and
    combined with NeuroBench's arithmetic (batch-weighted mean, or an accumulated metric's last
    value). A metric that raises is an error, never a number."""
    if has_activation_hooks(net, spiking=False):
        raise ValueError("a counted pass cannot stand in for ActivationSparsity's hooks on nn.ReLU / nn.Sigmoid modules")
    outcome = run_neurobench(net, Batches(labels[:0], labels[:0]), [])  # static metrics only
    n = len(labels)
    for metric in workload:
        name = metric.__name__
        try:
            if metric is SynapticOperations:
                dense, macs, acs = counted.ops
                value = {"Effective_MACs": macs / n, "Effective_ACs": acs / n, "Dense": dense / n}
            elif metric is ActivationSparsity:
                if counted.gate_total == 0:
                    raise EvaluationError("no recurrent cell ran during evaluation: gate sparsity not measured")
                value = counted.gate_zeros / counted.gate_total
                outcome.extra.setdefault("notes", {})["ActivationSparsity"] = CellGateSparsity.NOTE
            else:
                m, value = metric(), 0.0
                if getattr(m, "requires_hooks", False):
                    raise ValueError(f"{name} needs NeuroBench's hooks: a counted pass cannot provide it")
                for i in range(0, n, batch_size):
                    result = m(None, preds[i:i + batch_size], (None, labels[i:i + batch_size]))
                    b = len(labels[i:i + batch_size])
                    value = result if isinstance(m, AccumulatedMetric) else value + (result * b) / n
            outcome.metrics[name] = _plain(value)
        except Exception:
            outcome.metric_errors[name] = traceback.format_exc()
    return outcome


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
