"""bench's figures equal NeuroBench's own pipeline, metric by metric, for the four baselines.

For each baseline, with NeuroBench's published weights, the same test stream is scored twice:
1. NeuroBench's pipeline: the example model (tests/neurobench_reference.py, per-sample, buffer or
   membranes on self) through NeuroBench's Benchmark and TorchModel with the DataLoader batch of
   its benchmark script;
2. bench's harness: the batched baseline through ``TASK.evaluate`` (vectorised windows, batches).
Every metric NeuroBench reports (Footprint, ConnectionSparsity, ParameterCount, R2,
ActivationSparsity, SynapticOperations Dense / Effective_MACs / Effective_ACs, MembraneUpdates)
must agree to 1e-6 relative. R2 also gets 1e-7 absolute: with these weights on synthetic spikes
R2 is near 0, where float32 sums in a different order move it by ~1e-8.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import baselines.ann2d
import baselines.ann3d
import baselines.snn3d
import baselines.snn_streaming
from baselines._common import load_published
from bench.tasks.reaching import TASK
from tests.conftest import make_recording
from tests.neurobench_reference import neurobench_pipeline

ENTRIES = {m.ENTRY.name: m.ENTRY for m in (baselines.ann2d, baselines.ann3d, baselines.snn3d, baselines.snn_streaming)}
SESSION = {96: "indy_20160622_01", 192: "loco_20170210_03"}
# dense operations per sample the model runs on (NeuroBench's published Dense for these weights)
NOMINAL_DENSE = {
    ("ann2d", 96): 4704, ("ann2d", 192): 7776, ("ann3d", 96): 23136, ("ann3d", 192): 44640,
    ("snn3d", 96): 32928, ("snn3d", 192): 54432, ("snn-streaming", 96): 4900, ("snn-streaming", 192): 9700,
}
# (baseline, channels, samples in the recording; the test stream is its last quarter). Streams
# are short because NeuroBench's per-sample pipeline is slow (SNN3D: ~40 ms per sample); ANN2D's
# is longer than one 256-sample batch so that its batch-weighted ActivationSparsity is exercised.
CASES = [
    ("ann2d", 96, 2400), ("ann2d", 192, 1200),
    ("ann3d", 96, 1200), ("ann3d", 192, 600),
    ("snn3d", 96, 600), ("snn3d", 192, 400),
    ("snn-streaming", 96, 2400), ("snn-streaming", 192, 1200),
]


def flat(metrics: dict) -> dict:
    out = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def side_by_side(name: str, rec) -> tuple[dict, dict, object]:
    entry = ENTRIES[name]
    C = rec.n_channels
    state = load_published(name, SESSION[C])
    model = entry.build(C, 2, entry.config)
    model.load_state_dict(state, strict=True)
    data = TASK.make_data(rec, entry, entry.config, seed=0, quick=False)
    ours = TASK.evaluate(model, data, entry)
    x, y = data.stream("test")
    theirs = neurobench_pipeline(name, state, x, y)
    return flat(theirs), ours, data


def assert_same(theirs: dict, ours, name: str, C: int) -> None:
    assert ours.metric_errors == {}
    mine = flat(ours.metrics)
    assert set(theirs) <= set(mine), f"bench lacks {set(theirs) - set(mine)}"
    for key, value in theirs.items():
        tol = {"rel": 1e-6, "abs": 1e-7} if key == "R2" else {"rel": 1e-6, "abs": 0}
        assert mine[key] == pytest.approx(value, **tol), f"{name} ({C} ch) {key}: NeuroBench {value!r}, bench {mine[key]!r}"
    assert mine["SynapticOperations.Dense_nominal"] == NOMINAL_DENSE[(name, C)]


@pytest.mark.parametrize("name,C,n", CASES, ids=[f"{n}-{c}ch" for n, c, _ in CASES])
def test_bench_equals_neurobench_pipeline(name, C, n):
    rec = make_recording(C, n, seed=7 + C)
    theirs, ours, data = side_by_side(name, rec)
    assert_same(theirs, ours, name, C)
    if name == "ann2d":  # 49 samples without any operation: the stream figure is below nominal
        T = len(data.indices("test"))
        assert theirs["SynapticOperations.Dense"] == pytest.approx(NOMINAL_DENSE[(name, C)] * (T - 49) / T, rel=1e-12)
    if name == "ann3d":  # the first sample's fc1 input (a zero row + one sample) is binary: ACs
        assert theirs["SynapticOperations.Effective_ACs"] > 0


def test_spike_counts_mix_acs_and_macs_per_sample():
    """Count inputs (some samples binary, some not): NeuroBench decides AC or MAC per sample;
    bench, which runs the whole stream in one call, must decide the same way per sample."""
    rec = make_recording(96, 2000, seed=3)
    rng = np.random.default_rng(0)
    counts = rec.spikes.astype(np.float32) * (1 + (rng.random(rec.spikes.shape) < 0.02))
    rec = dataclasses.replace(rec, spikes=counts)
    theirs, ours, _ = side_by_side("snn-streaming", rec)
    assert theirs["SynapticOperations.Effective_MACs"] > 0 and theirs["SynapticOperations.Effective_ACs"] > 0
    assert_same(theirs, ours, "snn-streaming", 96)


def test_dense_nominal_counts_the_samples_run():
    """ANN2D's Dense_nominal is the architecture's per-sample count (the 49 zero predictions at
    the start of the stream ran no layer); NeuroBench's Dense divides by every sample."""
    rec = make_recording(96, 400, seed=1)
    entry = ENTRIES["ann2d"]
    data = TASK.make_data(rec, entry, entry.config, seed=0, quick=False)
    out = TASK.evaluate(entry.build(96, 2, entry.config), data, entry)
    ops, T = out.metrics["SynapticOperations"], out.extra["n_test"]
    assert out.extra["n_warmup_zeros"] == 49
    assert ops["Dense_nominal"] == 96 * 32 + 32 * 48 + 48 * 2
    assert ops["Dense"] == pytest.approx(ops["Dense_nominal"] * (T - 49) / T, rel=1e-12)
