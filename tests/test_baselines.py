"""The four NeuroBench baselines: published weights, NeuroBench's figures, sample-by-sample
equality with NeuroBench's per-sample example models, and training from scratch.

All four predict from the first sample of a stream as NeuroBench's examples do: ANN2D outputs
zeros for the first 49 samples (its buffer is not full; no layer runs), ANN3D / SNN3D cut their
windows from the start of their growing buffer (``buffer_start``), SNN_streaming starts at rest.
Metric-by-metric equality with NeuroBench's own Benchmark: tests/test_neurobench_side_by_side.py.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import baselines.ann2d
import baselines.ann3d
import baselines.snn3d
import baselines.snn_streaming
from baselines._common import SESSIONS, lane_predictions, load_published
from bench.data.sessions import KNOWN
from bench.tasks.reaching import TASK, evaluate_reaching, r2_score, stream_predictions
from bench.training import set_seed
from tests.conftest import make_recording
from tests.neurobench_reference import reference_outputs, start_aligned_windows

ENTRIES = {m.ENTRY.name: m.ENTRY for m in (baselines.ann2d, baselines.ann3d, baselines.snn3d, baselines.snn_streaming)}
NAMES = list(ENTRIES)
SESSION_BY_CHANNELS = {96: "indy_20160622_01", 192: "loco_20170210_03"}

# NeuroBench's published figures (REFERENCE.md section 3): (footprint bytes, dense SynOps per
# sample the model runs on: bench's Dense_nominal)
PUBLISHED = {
    ("ann2d", 96): (20824, 4704), ("ann2d", 192): (33496, 7776),
    ("ann3d", 96): (94552, 23136), ("ann3d", 192): (180952, 44640),
    ("snn3d", 96): (24972, 32928), ("snn3d", 192): (43020, 54432),
    ("snn-streaming", 96): (19648, 4900), ("snn-streaming", 192): (38848, 9700),
}


@pytest.fixture(autouse=True)
def _one_thread():
    """These models are tiny: one intra-op thread is fastest and avoids contention on 2 cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def published_model(name: str, n_channels: int) -> torch.nn.Module:
    entry = ENTRIES[name]
    model = entry.build(n_channels, 2, entry.config)
    model.load_state_dict(load_published(name, SESSION_BY_CHANNELS[n_channels]), strict=True)
    return model.eval()


def random_binary_recording(n_channels: int, n_samples: int, seed: int, density: float = 0.15):
    """make_recording's splits and labels with i.i.d. random binary inputs."""
    rec = make_recording(n_channels, n_samples, seed=seed)
    rng = np.random.default_rng(seed + 1)
    inputs = (rng.random((n_samples, n_channels)) < density).astype(np.float32)
    return dataclasses.replace(rec, spikes=inputs)


def make_data(name: str, rec, quick: bool = False):
    entry = ENTRIES[name]
    return TASK.make_data(rec, entry, entry.make_config(quick=quick), seed=0, quick=quick)


# --- published weights ----------------------------------------------------------------------


@pytest.mark.parametrize("session", SESSIONS)
@pytest.mark.parametrize("name", NAMES)
def test_published_weights_load_strict(name, session):
    entry = ENTRIES[name]
    model = entry.build(KNOWN[session].channels, 2, entry.config)
    state = entry.published_weights(session)
    model.load_state_dict(state, strict=True)
    for key, value in state.items():
        assert torch.equal(model.state_dict()[key], value.to(model.state_dict()[key].dtype)), key


def test_published_weights_errors(monkeypatch, tmp_path):
    with pytest.raises(KeyError, match="six real sessions"):
        load_published("ann2d", "sim_indy_1")
    with pytest.raises(KeyError, match="model family"):
        load_published("lstm", SESSIONS[0])
    monkeypatch.setenv("BENCH_NB_WEIGHTS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="SNN2_indy_20160622_01.pt"):
        load_published("snn-streaming", SESSIONS[0])
    torch.save({"epoch": 3}, tmp_path / "SNN2_indy_20160622_01.pt")
    with pytest.raises(ValueError, match="model_state_dict"):
        load_published("snn-streaming", SESSIONS[0])


# --- NeuroBench's static figures --------------------------------------------------------------


@pytest.mark.parametrize("n_channels", [96, 192])
@pytest.mark.parametrize("name", NAMES)
def test_neurobench_footprint_and_dense_synops(name, n_channels):
    entry = ENTRIES[name]
    model = published_model(name, n_channels)
    data = make_data(name, make_recording(n_channels, 1200, seed=3))
    outcome = evaluate_reaching(model, data, entry)
    assert outcome.metric_errors == {}
    footprint, dense = PUBLISHED[(name, n_channels)]
    ops, T = outcome.metrics["SynapticOperations"], outcome.extra["n_test"]
    assert outcome.metrics["Footprint"] == footprint
    assert ops["Dense_nominal"] == dense
    # NeuroBench's stream figure: ANN2D runs no layer on the first 49 samples of the stream
    n_run = T - 49 if name == "ann2d" else T
    assert ops["Dense"] == pytest.approx(dense * n_run / T, rel=1e-12)
    if entry.spiking:
        assert outcome.metrics["MembraneUpdates"] > 0
    elif name == "ann2d":
        assert ops["Effective_ACs"] == 0  # 50-sample sums are not binary
    else:  # ANN3D's first input (a zero row and one binary sample, cut into windows) is binary
        assert 0 < ops["Effective_ACs"] * T <= 7 * n_channels * 32
    # the evaluation scores the same predictions the harness makes
    preds = data.predict(model, "test", streaming=entry.streaming)
    assert outcome.metrics["R2"] == pytest.approx(r2_score(preds, data.y("test")), abs=1e-5)


# --- sample-by-sample equality with NeuroBench-style per-sample models ---------------------


@pytest.mark.parametrize("n_channels", [96, 192])
@pytest.mark.parametrize("name", NAMES)
def test_equals_neurobench_models_sample_by_sample(name, n_channels):
    entry = ENTRIES[name]
    model = published_model(name, n_channels)
    data = make_data(name, random_binary_recording(n_channels, 1200, seed=n_channels))
    ours = data.predict(model, "test", streaming=entry.streaming)  # (T, 2), the harness path
    x, _ = data.stream("test")
    ref = reference_outputs(name, load_published(name, SESSION_BY_CHANNELS[n_channels]), x)
    assert ours.shape == ref.shape == (len(x), 2)
    # from the very first sample: ANN2D's warm-up zeros and ANN3D/SNN3D's growing start buffer
    # (bench.windows buffer_start) are reproduced by the harness
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)
    if name == "ann2d":
        assert torch.all(ours[:49] == 0) and torch.all(ours[49:].abs().sum(1) > 0)
    if name in ("ann3d", "snn3d"):
        with torch.no_grad():
            early = torch.stack([model(start_aligned_windows(x, i).unsqueeze(0))[0] for i in range(48)])
        torch.testing.assert_close(ours[:48], early, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_batched_equals_stream_predictions(name):
    entry = ENTRIES[name]
    set_seed(1)
    model = entry.build(96, 2, entry.config).eval()
    data = make_data(name, random_binary_recording(96, 800, seed=5))
    limit = 60 if entry.streaming else 90  # the streaming reference re-runs every prefix
    slow = stream_predictions(model, data, "test", limit=limit, streaming=entry.streaming)
    fast = data.predict(model, "test", streaming=entry.streaming)[:limit]
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-5)


# --- model contract ------------------------------------------------------------------------


def probe_input(name: str, batch: int, n_channels: int = 96, steps: int = 30) -> torch.Tensor:
    entry = ENTRIES[name]
    T = steps if entry.streaming else entry.windows.n
    gen = torch.Generator().manual_seed(0)
    scale = 1.0 if entry.streaming else float(entry.windows.ws)
    return torch.round(torch.rand(batch, T, n_channels, generator=gen) * scale)


def footprint_bytes(model: torch.nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in list(model.parameters()) + list(model.buffers()))


@pytest.mark.parametrize("name", NAMES)
def test_forward_shape_batch_invariance_and_no_state(name):
    entry = ENTRIES[name]
    set_seed(0)
    model = entry.build(96, 2, entry.config).eval()
    size = footprint_bytes(model)
    x = probe_input(name, 5)
    with torch.no_grad():
        out = model(x)
        expected = (5, x.shape[1], 2) if entry.streaming else (5, 2)
        assert out.shape == expected
        singles = torch.cat([model(x[i:i + 1]) for i in range(5)])
        torch.testing.assert_close(out, singles, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(model(x), out)  # nothing carried between calls
    model.train()
    model(x).sum().backward()
    assert footprint_bytes(model) == size  # no state left in buffers (snnTorch's mem)


@pytest.mark.parametrize("name", NAMES)
def test_bad_input_shape_is_a_clear_error(name):
    entry = ENTRIES[name]
    model = entry.build(96, 2, entry.config)
    with pytest.raises(ValueError, match=r"must be \(B, .*96\)"):
        model(torch.zeros(2, 7, 95))


def test_lane_predictions_match_one_pass():
    entry = ENTRIES["snn-streaming"]
    model = published_model("snn-streaming", 96)
    data = make_data("snn-streaming", make_recording(96, 2400, seed=2))
    x, _ = data.stream("val")
    full = data.predict(model, "val", streaming=True)
    lanes = lane_predictions(model, x, lanes=4, overlap=4 * entry.config.burn_in)
    assert lanes.shape == full.shape
    assert r2_score(lanes, full) > 0.999


# --- training --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_training_step_changes_weights(name):
    entry = ENTRIES[name]
    set_seed(0)
    rec = make_recording(96, 1600, seed=4)
    cfg = entry.make_config(quick=True, epochs=1)
    model = entry.build(96, 2, cfg)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = entry.train(model, TASK.make_data(rec, entry, cfg, seed=0, quick=True), cfg)
    assert report["epochs_run"] == 1 and np.isfinite(report["best_val_r2"])
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert "fc1.weight" in changed


@pytest.mark.parametrize("name", NAMES)
def test_quick_training_learns(name):
    entry = ENTRIES[name]
    set_seed(0)
    rec = make_recording(96, 6000)
    cfg = entry.make_config(quick=True)
    model = entry.build(96, 2, cfg)
    data = TASK.make_data(rec, entry, cfg, seed=0, quick=True)
    entry.train(model, data, cfg)
    assert data.r2(model, "test", streaming=entry.streaming) > 0.3
