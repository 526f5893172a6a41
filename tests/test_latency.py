"""Latency: the streaming steps equal the harness (windows bit for bit, outputs within 1e-5), the
proof fails loudly when they do not, and the record carries its figures and machine. No test
asserts a time."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from bench import deploy, registry
from bench.deploy.latency import LatencyProofError, check_equal, grasp_latency, reaching_latency
from bench.deploy.steppers import (
    BinStepper,
    StateStepper,
    StepProtocolError,
    WindowStepper,
    stream_outputs,
)
from bench.tasks import get_task
from bench.windows import Windows, window_sums
from tests.conftest import make_recording

FAST = dict(n_steps=120, warmup=20)


@pytest.mark.parametrize("spec", [Windows(1, 1), Windows(50, 1), Windows(7, 7, lag=1), Windows(20, 5, transform="log_softplus"), Windows(3, 4, lag=2)])
def test_running_sums_equal_window_sums_bit_for_bit(spec):
    rng = np.random.default_rng(1)
    x = rng.poisson(0.7, (400, 9)).astype(np.float32)
    stepper = WindowStepper(nn.Identity(), spec, 9)
    got = np.stack([stepper.push(x[t]) for t in range(len(x))])
    assert np.array_equal(got, window_sums(x, spec))


def test_bin_stepper_gives_the_window_in_time_order():
    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    stepper = BinStepper(nn.Identity(), 4, 2)
    for t in range(20):
        w = stepper.push(x[t])
        if t >= 3:
            assert np.array_equal(w, x[t - 3:t + 1])


def _reaching(name: str, **kw):
    entry = registry.get(name)
    cfg = entry.make_config(quick=True)
    data = get_task("reaching").make_data(make_recording(16, 2400), entry, cfg, seed=0, quick=True, **kw)
    torch.manual_seed(0)
    return entry, data, entry.build(data.n_inputs, data.n_outputs, cfg).eval()


@pytest.mark.parametrize("name", ["ann2d", "ann3d", "snn3d", "aegru", "gru", "snn-streaming"])
def test_reaching_latency_proves_itself(name):
    entry, data, model = _reaching(name)
    rec = reaching_latency(model, data, entry, **FAST)
    assert rec["n_timed"] == FAST["n_steps"]
    assert rec["proof"]["n_compared"] == FAST["n_steps"] + FAST["warmup"]
    assert rec["proof"]["max_abs_diff"] <= 1e-5
    assert rec["proof"].get("windows_bit_equal", entry.streaming) is True
    assert 0 < rec["p50_us"] <= rec["p99_us"] <= rec["max_us"]
    assert rec["rtf_p99"] == pytest.approx(rec["p99_us"] / 4000.0)
    assert rec["machine"]["threads"] == 1 and rec["machine"]["torch"] == torch.__version__


def test_primed_stream_is_proved_too():
    entry, data, model = _reaching("ann3d", prime=True)
    assert reaching_latency(model, data, entry, **FAST)["proof"]["windows_bit_equal"]


def test_ann2d_warmup_zeros_are_streamed():
    entry, data, model = _reaching("ann2d")
    outs = stream_outputs(WindowStepper(model, data.windows, 16, warmup_zeros=49), data.recording.inputs[data.indices("test")][:60])
    assert torch.all(outs[:49] == 0) and torch.any(outs[49:] != 0)


class _WrongStep(nn.Module):
    """A streaming model whose step forgets its state: the proof must catch it."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(16, 2)

    def forward(self, x):
        return torch.cumsum(self.lin(x), 1)

    def init_state(self, batch):
        return torch.zeros(batch, 2)

    def step(self, x, state):
        y = self.lin(x)  # should be state + lin(x)
        return y, y


def test_a_wrong_step_fails_the_proof():
    entry, data, _ = _reaching("snn-streaming")
    with pytest.raises(LatencyProofError, match="differ from the batched"):
        reaching_latency(_WrongStep(), data, entry, **FAST)


def test_streaming_model_without_protocol_is_refused():
    with pytest.raises(StepProtocolError, match="init_state"):
        StateStepper(nn.Linear(3, 2))


def test_snn_streaming_step_equals_forward_on_a_long_stream():
    entry, data, model = _reaching("snn-streaming")
    x, _ = data.stream("train")
    with torch.no_grad():
        full = model(x[:1500].unsqueeze(0))[0]
    streamed = stream_outputs(StateStepper(model), x[:1500].numpy())
    assert len(streamed) == len(full) and (streamed - full).abs().max() <= 1e-5  # batch-1 matmuls round differently


def test_check_equal_reports_and_raises():
    a = torch.zeros(10, 2)
    assert check_equal(a, a + 5e-6, "x")["max_abs_diff"] == pytest.approx(5e-6)
    with pytest.raises(LatencyProofError, match="1 of 10"):
        check_equal(a, torch.cat([a[:9], torch.ones(1, 2)]), "x")


def test_grasp_latency_proves_itself():
    from bench.data.grasp_prepare import prepare
    from tests.test_grasp_task import make_grasp_recording

    entry = registry.get("bilstm-grasp-phase")
    cfg = entry.make_config(quick=True)
    data = get_task("grasp-phase").make_data(prepare(make_grasp_recording()), entry, cfg, seed=0, quick=True)
    torch.manual_seed(0)
    model = entry.build(data.n_inputs, data.n_outputs, cfg).eval()
    rec = grasp_latency(model, data, entry, n_steps=60, warmup=10)
    assert rec["n_timed"] == 60 and rec["period_ms"] == 40.0
    assert rec["proof"]["windows_refilled"] >= 1  # a new trial refills the ring
    assert rec["proof"]["max_abs_diff"] <= 1e-5


def test_measure_records_errors_not_numbers():
    entry, data, model = _reaching("ann2d")
    metrics = {"SynapticOperations": {"Effective_MACs": 100.0, "Effective_ACs": 0.0, "Dense": 100.0}}
    out = deploy.measure(model, data, entry, "base", metrics, {}, latency=False)
    assert out["latency_skipped"] and "latency" not in out
    assert out["energy"]["per_prediction_nj"] == pytest.approx(100 * 4.6 / 1e3)
    failed = deploy.measure(model, data, entry, "base", {}, {"SynapticOperations": "Traceback...\nValueError: boom"}, latency=False)
    assert "energy" not in failed and "SynapticOperations failed" in failed["errors"]["energy"]


def test_latency_budget_caps_the_steps():
    assert deploy.latency_budget(100.0, 4) == pytest.approx(2.0)
    entry, data, model = _reaching("aegru")
    rec = reaching_latency(model, data, entry, n_steps=2000, warmup=5, max_seconds=0.0)
    assert rec["n_timed"] == 1 and "time cap" in rec["note"]
