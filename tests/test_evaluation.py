import dataclasses

import pytest
import torch
from neurobench.metrics.workload import R2
from torch import nn

from bench.evaluation import EvaluationError, evaluate_reaching, stream_predictions
from bench.registry import Entry
from bench.tasks.reaching import ReachingData, r2_score
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
    assert out.metrics["SynapticOperations"]["Dense"] == 7 * (96 * 8 + 8 * 2)


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
