"""tinyRSNN and bigRSNN: the published weights give the published figures exactly, the dynamics
are those of REFERENCE.md section 8, NeuroBench counts the model as a spiking one, and the
pruning / float16 variants do what they say. (Batched = streamed and training are proved for
every entry by tests/test_all_entries.py.)"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math

import numpy as np
import pytest
import snntorch as snn
import torch
from neurobench.benchmarks import Benchmark
from neurobench.metrics.static import ConnectionSparsity, Footprint, ParameterCount
from neurobench.metrics.workload import SynapticOperations
from neurobench.models import TorchModel

import submissions.bigrsnn as big
import submissions.tinyrsnn as tiny
from bench.evaluation import Batches, StreamModel, run_neurobench
from bench.tasks.reaching import ReachingData, reaching_workload
from bench.training import set_seed
from submissions import _rsnn
from submissions import _rsnn_published as pub
from submissions._rsnn import RSNN, RSNNConfig, load_published, map_stork_state, published_transform
from tests.conftest import make_recording

SESSIONS = list(_rsnn.FOLDERS)
CHANNELS = {s: 96 if s.startswith("indy") else 192 for s in SESSIONS}
HAVE_WEIGHTS = (_rsnn.weights_dir() / "indy01").is_dir()
needs_weights = pytest.mark.skipif(not HAVE_WEIGHTS, reason=f"published tinyRSNN weights not found in {_rsnn.weights_dir()}")


def binary_stream(T: int, C: int, seed: int = 0, p: float = 0.1) -> torch.Tensor:
    return (torch.rand(T, C, generator=torch.Generator().manual_seed(seed)) < p).float()


def neurobench(model: torch.nn.Module, x: torch.Tensor, workload=None) -> dict:
    """NeuroBench's metrics on one (T, C) stream, as bench evaluates streaming entries."""
    out = run_neurobench(model, Batches(x.unsqueeze(1), torch.randn(len(x), 2)), workload or reaching_workload(True), spiking=True, streaming=True)
    assert not out.metric_errors, out.metric_errors
    return out.metrics


def neurobench_own_synops(model: torch.nn.Module, x: torch.Tensor) -> dict:
    """NeuroBench's own SynapticOperations (not bench's per-sample counter), through its Benchmark."""
    wrapper = StreamModel(model)
    wrapper.add_activation_module(snn.SpikingNeuron)
    bench = Benchmark(wrapper, Batches(x.unsqueeze(1), torch.randn(len(x), 2)), [], [], [[], [SynapticOperations]])
    try:
        with contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
            return bench.run(quiet=True)["SynapticOperations"]
    finally:
        wrapper.cleanup_hooks()


def published_model(session: str, seed: int) -> RSNN:
    model = tiny.ENTRY.build(CHANNELS[session], 2, tiny.CONFIG)
    model.load_state_dict(tiny.ENTRY.published_weights(session, seed), strict=True)
    return tiny.ENTRY.published_transform(model).eval()


# --- the 30 published weight files --------------------------------------------------------


@needs_weights
@pytest.mark.parametrize("seed", _rsnn.SEEDS)
@pytest.mark.parametrize("session", SESSIONS)
def test_published_weights_give_the_published_static_figures_exactly(session, seed):
    model = published_model(session, seed)
    assert all(p.dtype == torch.float16 for p in model.parameters()) and not list(model.buffers())
    nb = TorchModel(model)
    footprint, sparsity, n_params = Footprint()(nb), ConnectionSparsity()(nb), ParameterCount()(nb)
    expected = pub.PUBLISHED["tinyrsnn"][session]
    assert footprint == expected["Footprint"]  # 21,000 B (96 ch) / 33,288 B (192 ch)
    assert n_params * 2 == footprint
    assert sparsity == pub.CONNECTION_SPARSITY_BY_SEED[session][seed - 1]
    x = binary_stream(30, CHANNELS[session], seed)
    ops = neurobench(model, x, [SynapticOperations])["SynapticOperations"]
    assert ops["Dense"] == expected["Dense"]  # 10,368 / 16,512
    assert ops["Effective_MACs"] == 0 and ops["Effective_ACs"] > 0
    assert neurobench_own_synops(model, x) == ops  # NeuroBench's own counter agrees exactly
    per_seed = json.loads((_rsnn.weights_dir() / "per_seed" / f"results_tinyRSNN_{session}.json").read_text())
    k = pub.PER_SEED_ORDER.index(seed)
    assert sparsity == per_seed["connection_sparsity"][k]
    assert footprint == per_seed["footprint"][k] and ops["Dense"] == per_seed["dense"][k]


@needs_weights
@pytest.mark.parametrize("entry,name", [("tinyrsnn", "tinyRSNN"), ("bigrsnn", "bigRSNN")])
def test_published_table_equals_the_authors_summaries(entry, name):
    summary = json.loads((_rsnn.weights_dir() / f"results_summary_{name}.json").read_text())
    keys = {"footprint": "Footprint", "dense": "Dense", "connection_sparsity": "ConnectionSparsity", "activation_sparsity": "ActivationSparsity", "macs": "Effective_MACs", "acs": "Effective_ACs", "r2": "R2"}
    for session, row in summary.items():
        ours = pub.PUBLISHED[entry]["mean" if session == "average" else session]
        for theirs, mine in keys.items():
            assert ours[mine] == pytest.approx(row[theirs], rel=0, abs=1e-12), (session, mine)
    for session in SESSIONS:  # the per-session means are the means of the per-seed figures
        kind = "tinyRSNN" if entry == "tinyrsnn" else "maxR2"
        seeds = json.loads((_rsnn.weights_dir() / "per_seed" / f"results_{kind}_{session}.json").read_text())
        assert pub.PUBLISHED[entry][session]["R2"] == pytest.approx(float(np.mean(seeds["r2"])), abs=1e-9)


def test_bench_reports_print_the_same_rsnn_figures():
    published = pytest.importorskip("bench.reports.published")
    for entry, name in (("tinyrsnn", "tinyRSNN"), ("bigrsnn", "bigRSNN")):
        table = published.PUBLISHED_REACHING[name]
        for metric, values in table.items():
            for session, value in zip(published.SESSIONS, values):
                assert value == pytest.approx(pub.PUBLISHED[entry][session][metric], abs=6e-5), (name, metric, session)


# --- loading: the stork layout, strictly -----------------------------------------------------


def stork_state(model: RSNN) -> dict[str, torch.Tensor]:
    """A state dict in the stork layout (primary tensors + their repeats) from a bench model."""
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    out = {stork: sd[ours] for stork, ours in _rsnn.KEY_MAP.items()}
    for conn in ("con1.dst", "con2.src", "con2.dst", "con3.src"):
        out[f"{conn}.mem_param"], out[f"{conn}.syn_param"] = out["group2.mem_param"].clone(), out["group2.syn_param"].clone()
    for grp in ("con3.dst", "output_group"):
        out[f"{grp}.mem_param_readout"], out[f"{grp}.syn_param_readout"] = out["group3.mem_param_readout"].clone(), out["group3.syn_param_readout"].clone()
    return out


def test_stork_layout_maps_strictly_and_checks_the_repeats():
    model = RSNN(16, 2, RSNNConfig(hidden=8))
    state = stork_state(model)
    mapped = map_stork_state(state, "x.pth")
    other = RSNN(16, 2, RSNNConfig(hidden=8))
    other.load_state_dict(mapped, strict=True)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values()))
    bad = dict(state)
    bad["con2.src.mem_param"] = bad["con2.src.mem_param"] + 1
    with pytest.raises(ValueError, match=r"x.pth: 'con2.src.mem_param' should repeat 'group2.mem_param'"):
        map_stork_state(bad, "x.pth")
    with pytest.raises(ValueError, match="unexpected key 'con4.op.weight'"):
        map_stork_state(state | {"con4.op.weight": torch.zeros(1)}, "x.pth")
    with pytest.raises(ValueError, match=r"missing tinyRSNN tensors \['con2.op.weight'\]"):
        map_stork_state({k: v for k, v in state.items() if k != "con2.op.weight"}, "x.pth")


def test_published_weights_refuse_synthetic_sessions_bad_seeds_and_missing_files(tmp_path, monkeypatch):
    with pytest.raises(KeyError, match="only for the six real sessions.*sim_indy_1"):
        load_published("sim_indy_1", 1)
    for seed in (0, 6, "1"):
        with pytest.raises(KeyError, match="seeds \\[1, 2, 3, 4, 5\\]"):
            load_published("indy_20160622_01", seed)
    monkeypatch.setenv("BENCH_RSNN_WEIGHTS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="tinyRSNN-3.pth not found.*BENCH_RSNN_WEIGHTS"):
        load_published("loco_20170215_02", 3)
    (tmp_path / "indy01").mkdir()
    (tmp_path / "indy01" / "tinyRSNN-1.pth").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not a readable torch state dict"):
        load_published("indy_20160622_01", 1)


# --- dynamics -------------------------------------------------------------------------------


def reference_outputs(model: RSNN, x: torch.Tensor) -> torch.Tensor:
    """REFERENCE.md section 8 written out per sample, every state updated from its value at the
    start of the step; (T, C) -> (T, 2)."""
    sd = {k: v.double() for k, v in model.state_dict().items()}
    W_in, W_rec, W_out = sd["fc_in.weight"], sd["fc_rec.weight"], sd["fc_out.weight"]

    def decay(p, tau0):
        return torch.exp(-_rsnn.DT / (torch.nn.functional.softplus(p) * torch.as_tensor(tau0, dtype=torch.float64)))

    ds, dm = decay(sd["hidden.syn_param"], model.hidden.tau_syn0), decay(sd["hidden.mem_param"], model.hidden.tau_mem0)
    dso, dmo = decay(sd["readout.syn_param"], model.readout.tau_syn0), decay(sd["readout.mem_param"], model.readout.tau_mem0)
    H, K = W_rec.shape[0], W_out.shape[0]
    syn, mem, s_prev, x_prev = torch.zeros(H, dtype=torch.float64), torch.zeros(H, dtype=torch.float64), torch.zeros(H, dtype=torch.float64), torch.zeros(x.shape[1], dtype=torch.float64)
    syn_o, mem_o = torch.zeros(K, dtype=torch.float64), torch.zeros(K, dtype=torch.float64)
    out = []
    for t in range(len(x)):
        s = (mem > 1.0).double()  # from the membrane before the update
        syn, mem = ds * syn + W_in @ x_prev + W_rec @ s_prev, (dm * mem + (1 - dm) * syn) * (1 - s)
        syn_o, mem_o = dso * syn_o + W_out @ s_prev, dmo * mem_o + (1 - dmo) * syn_o
        out.append(mem_o.reshape(-1, 2).mean(0))
        x_prev, s_prev = x[t].double(), s
    return torch.stack(out)


@pytest.mark.parametrize("cfg", [tiny.CONFIG, RSNNConfig(hidden=24, readout_taus=big.CONFIG.readout_taus)])
def test_dynamics_follow_the_published_equations(cfg):
    torch.manual_seed(1)
    model = RSNN(20, 2, cfg).double().eval()
    with torch.no_grad():
        model.fc_in.weight.mul_(6.0)  # plenty of spikes
    x = binary_stream(300, 20, seed=2, p=0.2).double()
    with torch.no_grad():
        ours, spikes = model.run(x.unsqueeze(0))
        stepped, _ = model.run(x.unsqueeze(0), stepwise=True)
    assert 0.01 < float(spikes.mean()) < 0.5
    torch.testing.assert_close(ours[0], reference_outputs(model, x), rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(stepped, ours, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("heads,sparse", [(tiny.CONFIG.readout_taus, False), (big.CONFIG.readout_taus, False), (big.CONFIG.readout_taus, True)])
def test_fused_training_loops_give_the_same_outputs_and_gradients(heads, sparse, monkeypatch):
    """The training path (hand-written BPTT; its sparse-spike products as bigRSNN uses them)
    equals autograd through the evaluated path."""
    monkeypatch.setattr(_rsnn, "SPARSE_MIN_HIDDEN", 1 if sparse else 10**9)
    torch.manual_seed(0)
    model = RSNN(10, 2, RSNNConfig(hidden=16, readout_taus=heads)).double().train()
    with torch.no_grad():
        model.fc_in.weight.mul_(5.0)
    x = binary_stream(150, 10, seed=1, p=0.2).double().reshape(3, 50, 10)
    y = torch.randn(3, 50, 2, dtype=torch.float64)
    results = []
    for fused in (False, True):
        model.zero_grad()
        torch.manual_seed(7)  # the same dropout masks
        pred, spikes = model.run(x, fused=fused)
        (((pred - y) ** 2).mean() + 0.3 * spikes.mean(1).pow(2).mean()).backward()
        results.append((pred.detach(), spikes.detach(), {k: p.grad.clone() for k, p in model.named_parameters()}))
    (p0, s0, g0), (p1, s1, g1) = results
    assert 0.02 < float(s0.mean()) < 0.5 and torch.equal(s0, s1)
    torch.testing.assert_close(p1, p0, rtol=1e-12, atol=1e-14)
    for name in g0:  # the module path's surrogate (snnTorch) returns float32 spikes: 1e-7 relative
        assert float(g0[name].abs().max()) > 0, name
        torch.testing.assert_close(g1[name], g0[name], rtol=1e-5, atol=1e-6 * float(g0[name].abs().max()), msg=name)


def test_half_precision_runs_the_same_network():
    torch.manual_seed(3)
    model = RSNN(32, 2, tiny.CONFIG).eval()
    with torch.no_grad():
        model.fc_in.weight.mul_(4.0)
        for p in model.parameters():  # values that float16 holds exactly
            p.copy_(p.half().float())
    x = binary_stream(200, 32, seed=4)
    with torch.no_grad():
        full = model(x.unsqueeze(0))
        half = copy.deepcopy(model).half()(x.unsqueeze(0))
    assert half.dtype == torch.float32 and half.shape == full.shape
    assert float((half - full).abs().max()) < 0.05 * float(full.abs().max()) + 1e-3


# --- NeuroBench counts ----------------------------------------------------------------------


@pytest.mark.parametrize("C", [96, 192])
def test_neurobench_counts_tiny_and_big_as_published(C):
    set_seed(0)
    tiny_model = tiny.ENTRY.build(C, 2, tiny.CONFIG).eval()
    m = neurobench(tiny_model, binary_stream(40, C))
    weights = 64 * C + 64 * 64 + 2 * 64
    assert m["Footprint"] == 4 * (weights + 132) and m["ParameterCount"] == weights + 132
    assert m["SynapticOperations"]["Dense"] == weights and m["SynapticOperations"]["Effective_MACs"] == 0
    assert 0 < m["ActivationSparsity"] <= 1 and m["MembraneUpdates"] > 0
    assert published_transform(tiny_model) is tiny_model and neurobench(tiny_model, binary_stream(40, C))["Footprint"] == 2 * (weights + 132)
    big_model = big.ENTRY.build(C, 2, big.CONFIG).eval()
    m = neurobench(big_model, binary_stream(4, C), [SynapticOperations])
    assert Footprint()(TorchModel(big_model)) == pub.PUBLISHED["bigrsnn"]["indy_20160622_01" if C == 96 else "loco_20170210_03"]["Footprint"]
    assert m["SynapticOperations"]["Dense"] == pub.PUBLISHED["bigrsnn"]["indy_20160622_01" if C == 96 else "loco_20170210_03"]["Dense"]


def test_activation_sparsity_counts_hidden_spikes_and_readout_crossings():
    set_seed(0)
    model = tiny.ENTRY.build(96, 2, tiny.CONFIG).eval()
    with torch.no_grad():
        model.fc_in.weight.mul_(5.0)
    x = binary_stream(100, 96)
    with torch.no_grad():
        pred, spikes = model.run(x.unsqueeze(0))
    readout_mem = torch.cat([torch.zeros(1, 2), pred[0, :-1]])  # membrane before each update
    active = float(spikes.sum()) + float((readout_mem > 1).sum())
    assert neurobench(model, x)["ActivationSparsity"] == pytest.approx(1 - active / (100 * 66), abs=1e-12)


# --- variants -------------------------------------------------------------------------------


@pytest.mark.parametrize("C,rate,zeros,sparsity", [(96, 0.4, 4146, 0.3999), (96, 0.45, 4664, 0.4498), (96, 0.5, 5184, 0.5), (192, 0.45, 7429, 0.4499)])
def test_per_layer_pruning_counts_are_those_of_the_published_weights(C, rate, zeros, sparsity):
    """floor(rate * n) zeros per layer: the counts (and NeuroBench's rounded connection
    sparsities) found in the published files pruned at 40 / 45 / 50 %."""
    from bench.pruning import prune_l1_per_tensor

    model = RSNN(C, 2, tiny.CONFIG)
    prune_l1_per_tensor(model, rate).release()
    assert sum(int((m.weight == 0).sum()) for m in (model.fc_in, model.fc_rec, model.fc_out)) == zeros
    assert ConnectionSparsity()(TorchModel(model)) == sparsity


def test_iterative_pruning_keeps_per_layer_floor_rates_and_fp16_keeps_the_zeros():
    rec = make_recording(24, 2400, seed=5)
    cfg = tiny.ENTRY.make_config(quick=True)
    data = ReachingData(rec, tiny.ENTRY.windows_for(cfg), seed=0)
    set_seed(0)
    model = tiny.ENTRY.build(24, 2, cfg)
    tiny.ENTRY.train(model, data, cfg)
    pruned = tiny.ENTRY.variant("pruned").apply(copy.deepcopy(model), data, cfg)
    summary = pruned.pruning_summary
    rate = summary["rate"]
    assert summary["steps"] and summary["steps"][0]["rate"] == cfg.prune_start
    assert rate in [0.0] + [s["rate"] for s in summary["steps"] if s["kept"]] and rate <= cfg.prune_max
    for layer in (pruned.fc_in, pruned.fc_rec, pruned.fc_out):
        assert int((layer.weight == 0).sum()) >= math.floor(rate * layer.weight.numel() + 1e-9)
        assert not layer.weight._backward_hooks  # masks released
    if rate:
        assert summary["val_r2"] >= summary["val_r2_unpruned"] * (1 - cfg.prune_tolerance) - 1e-12
    zeros = [(layer.weight == 0) for layer in (pruned.fc_in, pruned.fc_rec, pruned.fc_out)]
    half = tiny.ENTRY.variant("pruned-fp16").step(copy.deepcopy(pruned), data, cfg)
    assert all(p.dtype == torch.float16 for p in half.parameters())
    assert all(torch.equal(z, layer.weight == 0) for z, layer in zip(zeros, (half.fc_in, half.fc_rec, half.fc_out)))
    assert Footprint()(TorchModel(half)) == 2 * sum(p.numel() for p in half.parameters())
    assert torch.isfinite(data.predict(half, "test", streaming=True)).all()


# --- end to end: the published weights on a file of the real layout ----------------------------


@needs_weights
def test_published_weights_run_end_to_end_on_a_real_layout_file(tmp_path):
    """A synthetic session written in the Zenodo layout under a real session's name (only in
    this temporary folder) stands in for the real file: the runner loads the seed-2 weights,
    casts them to float16 and scores them with NeuroBench's metrics. Accumulate-only (effective
    MACs 0); ACs and activation sparsity are measured (on synthetic spikes they cannot match the
    real-data figures, and R2 is meaningless here)."""
    from bench.data.recording import RecordingRef
    from bench.data.synth_reaching import SynthConfig, write_session
    from bench.execution.runner import RunSpec, execute
    from bench.results import load_store

    session = "indy_20160622_01"
    path = write_session(tmp_path / f"{session}.mat", SynthConfig(name=session, n_channels=96, duration_s=40.0, seed=11))
    spec = RunSpec(tiny.ENTRY, ["base"], RecordingRef(session, path, False), seed=2, weights="published")
    outcome = execute(spec, tmp_path / "results")
    assert outcome.status == "ok", outcome.message
    records, problems = load_store(tmp_path / "results", None, "reaching")
    assert not problems and len(records) == 1
    rec = records[0]
    m = rec["metrics"]
    assert rec["status"] == "ok" and not rec.get("metric_errors")
    assert m["Footprint"] == 21000 and m["ParameterCount"] == 10500
    assert m["ConnectionSparsity"] == pub.CONNECTION_SPARSITY_BY_SEED[session][1]
    assert m["SynapticOperations"]["Dense"] == 10368 and m["SynapticOperations"]["Effective_MACs"] == 0
    assert m["SynapticOperations"]["Effective_ACs"] > 0 and 0.5 < m["ActivationSparsity"] < 1
    assert m["MembraneUpdates"] > 0 and math.isfinite(m["R2"])


def test_cross_session_pretraining_uses_the_training_parts_of_same_channel_sessions(tmp_path):
    from bench.data.synth_reaching import SynthConfig, write_session

    folder = tmp_path / "sessions"
    folder.mkdir()
    write_session(folder / "sim_a.mat", SynthConfig(name="sim_a", n_channels=24, duration_s=30.0, seed=1))
    write_session(folder / "sim_b.mat", SynthConfig(name="sim_b", n_channels=48, duration_s=30.0, seed=2))
    cfg = tiny.ENTRY.make_config(quick=True, pretrain_data=str(folder), pretrain_epochs=1)
    data = ReachingData(make_recording(24, 2400, seed=5), tiny.ENTRY.windows_for(cfg), seed=0)
    set_seed(0)
    report = tiny.ENTRY.train(tiny.ENTRY.build(24, 2, cfg), data, cfg)
    assert report["pretrain"]["sessions"] == ["sim_a"] and report["pretrain"]["epochs_run"] == 1
    bad = tiny.ENTRY.make_config(quick=True, pretrain_data=str(tmp_path / "nowhere"), pretrain_epochs=1)
    with pytest.raises(ValueError, match="not a folder"):
        tiny.ENTRY.train(tiny.ENTRY.build(24, 2, bad), data, bad)


# --- the step protocol: latency and export (bench.deploy) -------------------------------------


def spiking_model(C: int, cfg: RSNNConfig, seed: int = 0) -> RSNN:
    torch.manual_seed(seed)
    model = RSNN(C, 2, cfg).eval()
    with torch.no_grad():
        model.fc_in.weight.mul_(5.0)  # plenty of spikes, some membranes near the threshold
    return model


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("cfg", [tiny.CONFIG, RSNNConfig(hidden=48, readout_taus=big.CONFIG.readout_taus)])
def test_step_equals_forward_bit_for_bit(cfg, dtype):
    from bench.deploy.steppers import StateStepper, stream_outputs

    model = spiking_model(24, cfg).to(dtype)
    x = binary_stream(600, 24, seed=5, p=0.15)
    with torch.no_grad():
        full, spikes = model.run(x.unsqueeze(0))
    assert 0.01 < float(spikes.float().mean()) < 0.5
    streamed = stream_outputs(StateStepper(model), x.numpy())
    assert streamed.dtype == torch.float32 and torch.equal(streamed, full[0])
    # batch 2: two streams stepped together equal the batched forward too
    xs = torch.stack([x[:200], x[300:500]])
    state = model.init_state(2)
    with torch.no_grad():
        outs = []
        for t in range(200):
            y, state = model.step(xs[:, t], state)
            outs.append(y)
        assert torch.equal(torch.stack(outs, 1), model(xs))


def test_step_state_is_the_published_registers():
    model = spiking_model(16, RSNNConfig(hidden=8, readout_taus=((10e-3, 50e-3), (5e-3, 20e-3))))
    state = model.init_state(3)
    assert [tuple(s.shape) for s in state] == [(3, 16), (3, 8), (3, 8), (3, 8), (3, 4), (3, 4)]
    assert all(s.dtype == torch.float32 and not s.any() for s in state)
    x = binary_stream(50, 16, seed=1, p=0.3)
    state = model.init_state(1)
    with torch.no_grad():
        for t in range(50):
            y, state = model.step(x[t:t + 1], state)
    assert torch.equal(state[0], x[49:50])  # the input register holds the last sample
    torch.testing.assert_close(y[0].double(), reference_outputs(model, x)[-1], rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        model.hidden.syn_param.mul_(1.5)  # an in-place change in the middle of a stream ...
    (d_syn, _, _), _ = model._step_decays()
    assert torch.equal(d_syn, model.hidden.decays()[0])  # ... is seen by the next step
    with pytest.raises(ValueError, match=r"x_t must be \(B, 16\)"):
        model.step(x[:1, :8], state)
    with pytest.raises(ValueError, match="6 tensors of init_state"):
        model.step(x[:1], state[:3])
    with pytest.raises(ValueError, match="positive int"):
        model.init_state(0)


@torch.no_grad()
def test_step_decays_are_recomputed_when_a_time_constant_changes():
    model = spiking_model(16, RSNNConfig(hidden=8))
    x = binary_stream(80, 16, seed=2, p=0.3)
    state = model.init_state(1)  # a stream started before the change ...
    model.hidden.mem_param.add_(0.7)
    model.readout.syn_param.sub_(0.2)
    outs = []
    for t in range(80):
        y, state = model.step(x[t:t + 1], state)
        outs.append(y[0])
    assert torch.equal(torch.stack(outs), model(x.unsqueeze(0))[0])  # ... steps with the new decays


@torch.no_grad()
def test_the_neuron_discards_the_current_after_a_crossing_as_the_nir_refusal_says():
    """The fact behind ``nir_missing``: a membrane above the threshold spikes at the next step and
    that step's update is zeroed whatever the synaptic current (NIR's CubaLIF would integrate it)."""
    neuron = _rsnn.CubaLIF(1, 10e-3, 20e-3, reset=True)
    dec = neuron.decays()
    d_mem, c_mem = dec[1], dec[2]
    for syn in (0.0, 0.8, 5.0):
        spk, _, new_mem = neuron(torch.zeros(1, 1), None, torch.tensor([[syn]]), torch.tensor([[1.3]]), dec)
        assert float(spk) == 1.0 and float(new_mem) == 0.0  # the current syn is lost
    spk, _, new_mem = neuron(torch.zeros(1, 1), None, torch.tensor([[0.8]]), torch.tensor([[0.9]]), dec)
    assert float(spk) == 0.0 and torch.equal(new_mem[0], d_mem * 0.9 + c_mem * 0.8)  # below: integrates


@pytest.mark.parametrize("row", ["tinyrsnn", "tinyrsnn-fp16", "bigrsnn"])
def test_latency_of_the_rsnn_rows_proves_itself_exactly(row):
    from bench.deploy.latency import reaching_latency
    from bench.tasks import get_task

    entry = tiny.ENTRY if row.startswith("tiny") else big.ENTRY
    cfg = entry.make_config(quick=True)
    data = get_task("reaching").make_data(make_recording(16, 2400, seed=4), entry, cfg, seed=0, quick=True)
    model = spiking_model(16, cfg if row != "bigrsnn" else RSNNConfig(hidden=96, readout_taus=big.CONFIG.readout_taus))
    if row.endswith("fp16"):
        model = tiny.ENTRY.variant("fp16").apply(model, data, cfg)
    rec = reaching_latency(model, data, entry, n_steps=150, warmup=20)
    assert rec["n_timed"] == 150 and rec["proof"]["n_compared"] == 170
    assert rec["proof"]["max_abs_diff"] == 0.0  # bit for bit, float16 included
    assert 0 < rec["p50_us"] <= rec["p99_us"] and "init_state/step" in rec["step"]


def test_onnx_export_of_one_step_round_trips_and_float16_is_refused(tmp_path):
    pytest.importorskip("onnxruntime")
    from bench.deploy import export as ex

    model = spiking_model(12, tiny.CONFIG)
    x = binary_stream(400, 12, seed=6, p=0.2)
    with torch.no_grad():
        assert float(model.run(x.unsqueeze(0))[1].mean()) > 0.01
    report = ex.export_verified(model, tiny.ENTRY, "onnx", x, tmp_path / "t")
    assert report["max_abs_diff"] <= 1e-5 and report["n_samples"] == 400
    import onnx

    graph = onnx.load(str(tmp_path / "t.onnx")).graph
    assert [i.name for i in graph.input] == ["x"] + [f"state{i}" for i in range(6)]
    with pytest.raises(ex.ExportUnsupported, match="float16") as info:
        ex.export_verified(copy.deepcopy(model).half(), tiny.ENTRY, "onnx", x, tmp_path / "h")
    assert "float32 row" in info.value.missing[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.onnx", "t.onnx.json"]  # nothing written for fp16


def test_nir_export_is_refused_with_the_neuron_it_lacks(tmp_path):
    pytest.importorskip("nir")
    from bench.deploy import export as ex

    for cfg in (tiny.CONFIG, RSNNConfig(hidden=8, readout_taus=big.CONFIG.readout_taus)):
        model = spiking_model(12, cfg)
        with pytest.raises(ex.ExportUnsupported) as info:
            ex.export_verified(model, tiny.ENTRY, "nir", binary_stream(50, 12), tmp_path / "n")
        text = " ".join(info.value.missing)
        assert "CubaLIF" in text and "BEFORE the update" in text and "refractoriness" in text
    assert list(tmp_path.iterdir()) == []


@needs_weights
@pytest.mark.parametrize("session", ["indy_20160622_01", "loco_20170210_03"])
def test_published_weights_step_equals_forward_bit_for_bit_in_float16(session):
    from bench.deploy.steppers import StateStepper, stream_outputs

    model = published_model(session, 2)
    x = binary_stream(800, CHANNELS[session], seed=9, p=0.05)
    with torch.no_grad():
        full, spikes = model.run(x.unsqueeze(0))
    assert float(spikes.float().mean()) > 0.005 and all(s.dtype == torch.float16 for s in model.init_state(1))
    assert torch.equal(stream_outputs(StateStepper(model), x.numpy()), full[0])
