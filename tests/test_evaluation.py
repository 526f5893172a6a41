import dataclasses

import pytest
import torch
from neurobench.metrics.utils.layers import single_layer_MACs
from neurobench.metrics.workload import R2, SynapticOperations
from neurobench.models import TorchModel
from torch import nn

from bench.evaluation import Batches, EvaluationError, run_neurobench
from bench.opcount import gru_cell_ops, linear_ops, lstm_cell_ops
from bench.registry import Entry
from bench.tasks.reaching import ReachingData, evaluate_reaching, r2_score, stream_predictions
from bench.windows import Windows


@dataclasses.dataclass
class Cfg:
    x: int = 0


class Windowed(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fc = nn.Linear(c, 8)
        self.act = nn.ReLU()
        self.out = nn.Linear(8, 2)

    def forward(self, x):  # (B, T, C) -> (B, T, 2)
        return self.out(self.act(self.fc(x)))


class Leaky(nn.Module):
    """A stateful streaming toy: an exponential trace of the input, read out linearly."""

    def __init__(self, c):
        super().__init__()
        self.fc = nn.Linear(c, 2)

    def forward(self, x):  # (B, T, C) -> (B, T, 2)
        h = torch.zeros(x.shape[0], 2)
        outs = []
        for t in range(x.shape[1]):
            h = 0.9 * h + self.fc(x[:, t])
            outs.append(h)
        return torch.stack(outs, 1)


def make_entry(**kw):
    return Entry(name="toy", task="reaching", kind="submission", version="1", build=lambda *a: None, train=lambda *a: {}, config=Cfg(), **kw)


def test_metrics_present_and_r2_matches(tiny_recording):
    e = make_entry(windows=Windows(7, 7, 1), warmup_zeros=True)
    data = ReachingData(tiny_recording, e.windows, warmup_zeros=True)
    torch.manual_seed(0)
    m = Windowed(96)
    out = evaluate_reaching(m, data, e)
    assert not out.metric_errors
    for k in ("Footprint", "ConnectionSparsity", "ParameterCount", "R2", "ActivationSparsity", "SynapticOperations"):
        assert k in out.metrics
    assert out.metrics["R2"] == pytest.approx(r2_score(data.predict(m, "test"), data.y("test")), abs=1e-6)
    ops, T = out.metrics["SynapticOperations"], out.extra["n_test"]
    assert ops["Dense_nominal"] == 7 * (96 * 8 + 8 * 2)  # per sample the model ran on
    assert ops["Dense"] == pytest.approx(ops["Dense_nominal"] * (T - 49) / T, rel=1e-12)  # 49 warm-up zeros


@pytest.mark.parametrize("spec,warm", [(Windows(50, 1), True), (Windows(7, 7, 1), False), (Windows(20, 5, transform="log_softplus"), False)])
def test_batched_equals_sample_by_sample(tiny_recording, spec, warm):
    data = ReachingData(tiny_recording, spec, warmup_zeros=warm)
    m = Windowed(96).eval()
    batched = data.predict(m, "test")[:120]
    streamed = stream_predictions(m, data, "test", limit=120)
    torch.testing.assert_close(batched, streamed, atol=1e-5, rtol=1e-5)
    if warm:
        assert torch.all(batched[:49] == 0) and torch.any(batched[49] != 0)


def test_streaming_model_batched_equals_prefix_runs(tiny_recording):
    e = make_entry(windows=Windows(), streaming=True)
    data = ReachingData(tiny_recording, e.windows)
    m = Leaky(96)
    batched = data.predict(m, "test", streaming=True)[:60]
    streamed = stream_predictions(m, data, "test", limit=60, streaming=True)
    torch.testing.assert_close(batched, streamed)
    out = evaluate_reaching(m, data, e)
    assert out.metrics["SynapticOperations"]["Dense"] == 96 * 2  # per 4 ms sample
    assert "ActivationSparsity" not in out.metrics and out.extra["notes"]["ActivationSparsity"]


def test_metric_exception_is_an_error_not_zero(tiny_recording, monkeypatch):
    def boom(self, model, preds, data):
        raise RuntimeError("metric exploded")

    monkeypatch.setattr(R2, "__call__", boom)
    e = make_entry(windows=Windows(5, 2))
    out = evaluate_reaching(Windowed(96), ReachingData(tiny_recording, e.windows), e)
    assert "R2" not in out.metrics
    assert "metric exploded" in out.metric_errors["R2"]


def test_nan_and_wrong_shape_are_errors(tiny_recording):
    e = make_entry(windows=Windows(5, 2))
    data = ReachingData(tiny_recording, e.windows)

    class NaNModel(Windowed):
        def forward(self, x):
            return super().forward(x) * float("nan")

    class Wrong(Windowed):
        def forward(self, x):
            return super().forward(x)[..., :1]

    with pytest.raises(EvaluationError, match="non-finite"):
        evaluate_reaching(NaNModel(96), data, e)
    with pytest.raises(EvaluationError, match="toy"):
        evaluate_reaching(Wrong(96), data, e)


def test_no_hooks_left_behind(tiny_recording):
    """A model evaluated twice (or deep-copied after evaluation) measures the same."""
    import copy

    e = make_entry(windows=Windows(5, 2))
    data = ReachingData(tiny_recording, e.windows)
    m = Windowed(96)
    first = evaluate_reaching(m, data, e).metrics
    assert not any(mod._forward_hooks or mod._forward_pre_hooks for mod in m.modules())
    again = evaluate_reaching(copy.deepcopy(m), data, e).metrics
    assert first == again


# --- operations counted per sample --------------------------------------------------------------


def per_row_neurobench(layer: nn.Module, rows) -> tuple[int, int, int]:
    """NeuroBench's own count, one call per row (what its per-sample example models produce)."""
    dense = macs = acs = 0
    xs = rows if isinstance(rows, list) else list(rows)
    for r in xs:
        args = tuple(a.unsqueeze(0) if isinstance(a, torch.Tensor) else tuple(t.unsqueeze(0) for t in a) for a in r) if isinstance(r, tuple) else r.unsqueeze(0)
        ops, spiking = single_layer_MACs(args, layer)
        total, _ = single_layer_MACs(args, layer, total=True)
        dense += total
        acs, macs = (acs + ops, macs) if spiking else (acs, macs + ops)
    return dense, macs, acs


def mixed_rows(n: int, f: int, seed: int) -> torch.Tensor:
    """Rows of which some are binary (0/1/-1), some counts, some all zero."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, f, generator=g) < 0.2).float()
    x[::3] *= torch.randint(1, 4, (f,), generator=g).float()  # every third row: counts up to 3
    x[1::5] = -x[1::5]  # signed binary rows stay binary
    x[4] = 0
    return x


def test_linear_ops_equal_neurobench_per_row():
    layer = nn.Linear(40, 16)
    with torch.no_grad():
        layer.weight[layer.weight.abs() < 0.05] = 0  # some absent synapses
    x = mixed_rows(30, 40, 0)
    assert linear_ops(layer, x) == per_row_neurobench(layer, x)
    assert linear_ops(layer, x.reshape(5, 6, 40)) == per_row_neurobench(layer, x)  # (B, T, F): each vector


@pytest.mark.parametrize("cell_cls", [nn.GRUCell, nn.LSTMCell])
def test_cell_ops_equal_neurobench_per_row(cell_cls):
    """A cell called on a batch counts as NeuroBench counts one call per row (AC/MAC per row)."""
    torch.manual_seed(0)
    cell = cell_cls(12, 8)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = cell

        def forward(self, x):
            h = torch.zeros(x.shape[0], 8)
            state = h if cell_cls is nn.GRUCell else (h, torch.zeros(x.shape[0], 8))
            for t in range(x.shape[1]):
                state = self.cell(x[:, t], state)
            out = state if cell_cls is nn.GRUCell else state[0]
            return out[:, :2]

    x = mixed_rows(20, 12 * 3, 1).reshape(20, 3, 12)
    out = run_neurobench(Net(), Batches(x, torch.zeros(20, 2), 7), [SynapticOperations], static=[])
    assert not out.metric_errors
    # reference: every row alone through NeuroBench, with the states the batched run produced
    calls = []
    hook = cell.register_forward_pre_hook(lambda m, a: calls.append(a))
    with torch.no_grad():
        Net()(x)
    hook.remove()
    rows = []
    for a in calls:
        x_t, state = a
        for i in range(len(x_t)):
            rows.append((x_t[i], state[i] if isinstance(state, torch.Tensor) else tuple(s[i] for s in state)))
    dense, macs, acs = per_row_neurobench(cell, rows)
    ops = out.metrics["SynapticOperations"]
    assert ops["Dense"] * 20 == pytest.approx(dense, rel=1e-12)
    assert ops["Effective_MACs"] * 20 == pytest.approx(macs, rel=1e-12)
    assert ops["Effective_ACs"] * 20 == pytest.approx(acs, rel=1e-12)
    assert acs > 0 and macs > 0


@pytest.mark.parametrize("cell_cls", [nn.GRUCell, nn.LSTMCell])
def test_cell_rules_equal_neurobench_on_edge_cases(cell_cls):
    """Zero weights and biases, zero and signed states, all-zero and binary inputs: the vectorised
    rules give NeuroBench's count row by row (dense, MACs, ACs)."""
    torch.manual_seed(1)
    cell = cell_cls(10, 6)
    with torch.no_grad():
        cell.weight_ih[cell.weight_ih.abs() < 0.1] = 0
        cell.weight_hh[:, :2] = 0
        cell.bias_ih[::3] = 0
        cell.bias_hh[::2] = 0
    x = mixed_rows(16, 10, 2)
    h = torch.randn(16, 6).round()  # some exact zeros
    h[:3] = 0
    rows = [(x[i], h[i]) for i in range(16)]
    if cell_cls is nn.LSTMCell:
        c = torch.randn(16, 6).round()
        c[5:8] = 0
        rows = [(x[i], (h[i], c[i])) for i in range(16)]
        assert lstm_cell_ops(cell, x, (h, c)) == per_row_neurobench(cell, rows)
    else:
        assert gru_cell_ops(cell, x, h) == per_row_neurobench(cell, rows)


def test_batches_loader_slices_in_order():
    x, y = torch.arange(10.0).view(10, 1), torch.arange(10.0).view(10, 1) * 2
    batches = list(Batches(x, y, 4))
    assert len(Batches(x, y, 4)) == len(batches) == 3 and len(Batches(x, y)) == 1
    assert torch.equal(torch.cat([b[0] for b in batches]), x) and torch.equal(batches[2][1], y[8:])
    led = [len(b[0]) for b in Batches(x, y, 4, lead=[3])]  # NeuroBench's grid first, then large
    assert led == [3, 4, 3] and len(Batches(x, y, 4, lead=[3])) == 3
    with pytest.raises(ValueError, match="differ in length"):
        Batches(x, y[:3])


def test_warmup_rows_never_reach_the_model(tiny_recording):
    """ANN2D-style entries: the first span-1 samples get zeros without a model call."""
    from bench.tasks.reaching import WarmupModel

    seen = []

    class Spy(Windowed):
        def forward(self, x):
            seen.append(len(x))
            return super().forward(x)

    wrapper = WarmupModel(Spy(96), n_zero=49)
    assert isinstance(wrapper, TorchModel)
    outs = [wrapper(torch.ones(30, 1, 96)) for _ in range(3)]
    assert seen == [11, 30]  # batch 1: none, batch 2: rows 19.., batch 3: all
    assert torch.all(outs[0] == 0) and torch.all(outs[1][:19] == 0) and torch.all(outs[1][19:] != 0)
