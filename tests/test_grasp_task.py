"""The grasp tasks and the BiLSTM entries: data views, model equivalences, training, metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from bench.data.grasp import GraspRecording
from bench.data.grasp_prepare import prepare
from bench.tasks import get_task
from bench.tasks.grasp import (
    GraspData,
    confusion_matrix,
    evaluate_grasp,
    f1_positive,
    relaxed_accuracy,
)

OBJECTS = np.array([21, 22, 23, 41, 42])


def make_grasp_recording(n_trials: int = 50, n_units: int = 16, seed: int = 0, name: str = "sim_m_mem") -> GraspRecording:
    """A learnable in-memory session: 40 bins a trial, Hold at bin 24, Rew at bin 29; during
    [Hold, Rew) units fire more (phase) and by the object's tuning (object)."""
    rng = np.random.default_rng(seed)
    tuning = rng.normal(size=(len(OBJECTS), n_units))
    n_bins, hold, rew = 40, 24, 29
    obj = OBJECTS[np.arange(n_trials) % len(OBJECTS)]
    blocks = []
    for i in range(n_trials):
        rate = np.full((n_bins, n_units), 0.4)
        rate[hold - 2:rew] = 1.2 * np.exp(0.9 * tuning[i % len(OBJECTS)])
        blocks.append(rng.poisson(rate).astype(np.float32))
    labels = ("Start", "Hold", "Rew", "End")
    times = np.tile([0.0, hold * 0.04 + 0.01, rew * 0.04 + 0.01, n_bins * 0.04 - 0.001], (n_trials, 1))
    return GraspRecording(
        name=name, counts=np.concatenate(blocks), offsets=np.arange(n_trials + 1, dtype=np.int64) * n_bins,
        obj=obj.astype(np.int64), correct=np.ones(n_trials, bool), phase_labels=labels, phase_times=times,
        unit_names=tuple(f"u{j}" for j in range(n_units)), identity={"source": "synthetic", "seed": seed},
    )


@pytest.fixture(scope="module")
def gset():
    return prepare(make_grasp_recording())


@pytest.fixture(scope="module")
def entries():
    from bench import registry

    registry.discover()
    return {"object": registry.get("bilstm-grasp"), "phase": registry.get("bilstm-grasp-phase")}


def test_task_registry_and_data_shapes(gset, entries):
    obj_task, phase_task = get_task("grasp-object"), get_task("grasp-phase")
    assert obj_task.primary_metric == phase_task.primary_metric == "Accuracy"
    d_obj = obj_task.make_data(gset, entries["object"], entries["object"].config, seed=0, quick=True)
    d_ph = phase_task.make_data(gset, entries["phase"], entries["phase"].config, seed=0, quick=True)
    assert (d_obj.n_inputs, d_obj.n_outputs, d_ph.n_outputs) == (16, len(OBJECTS), 2)
    for split in ("train", "val", "test"):
        x, y = d_obj.x(split), d_obj.y(split)
        assert x.shape == (d_obj.size(split), 12, 16) and x.dtype == torch.float32 and y.dtype == torch.int64
        assert gset.is_grasp[d_obj.indices(split)].all()  # classification set: grasp windows only
        assert len(d_ph.indices(split)) == len(gset.split[split])
        assert torch.equal(d_ph.y(split), torch.from_numpy(gset.is_grasp[gset.split[split]].astype(np.int64)))
    # trial-level split: no trial in two splits
    trials = [set(gset.trial[d_ph.indices(s)]) for s in ("train", "val", "test")]
    assert not (trials[0] & trials[1]) and not (trials[0] & trials[2]) and not (trials[1] & trials[2])
    xb, yb = d_obj.take("test", np.array([2, 0]))
    assert torch.equal(xb[1], d_obj.x("test")[0]) and yb[0] == d_obj.y("test")[2]


def test_task_metric_helpers():
    conf = confusion_matrix(np.array([0, 0, 1, 1, 1]), np.array([0, 1, 1, 1, 0]), 2)
    assert conf.tolist() == [[1, 1], [1, 2]]
    assert f1_positive(conf) == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    nb = np.array([[True, True, False], [True, True, False], [False, False, True]])
    assert relaxed_accuracy(np.array([0, 1, 2, 2]), np.array([1, 1, 0, 2]), nb) == 0.75


@pytest.mark.parametrize("kind", ["object", "phase"])
def test_entry_builds_forward_batch_invariant(gset, entries, kind):
    entry = entries[kind]
    data = GraspData(gset, kind)
    torch.manual_seed(0)
    net = entry.build(data.n_inputs, data.n_outputs, entry.config).eval()
    x = data.x("test")[:9]
    with torch.no_grad():
        full = net(x)
        one = torch.cat([net(x[i:i + 1]) for i in range(len(x))])
    assert full.shape == (9, data.n_outputs)
    torch.testing.assert_close(full, one, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="expects"):
        net(x[:, :, :5])


@pytest.mark.parametrize("layers", [1, 3])
def test_cell_model_equals_training_forward(layers):
    from submissions.bilstm_grasp import BiLSTMNet, train_forward

    torch.manual_seed(1)
    net = BiLSTMNet(7, 4, layers=layers, units=5, dropout=0.5).eval()
    x = torch.rand(6, 12, 7) * 3
    with torch.no_grad():
        torch.testing.assert_close(net(x), train_forward(net, x), rtol=1e-5, atol=1e-6)
    # the same function, so the same gradients as the cell loop (and as nn.LSTM on these tensors)
    lstm = nn.LSTM(7, 5, num_layers=layers, batch_first=True, bidirectional=True)
    for i, (cf, cb) in enumerate(zip(net.fwd, net.bwd)):
        for cell, suffix in ((cf, ""), (cb, "_reverse")):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                setattr(lstm, f"{name}_l{i}{suffix}", getattr(cell, name))
    _, (h, _) = lstm(x)
    torch.testing.assert_close(net.head(torch.cat([h[-2], h[-1]], -1)).detach(), train_forward(net, x).detach(), rtol=1e-5, atol=1e-6)
    grads = []
    for forward in (net, lambda v: train_forward(net, v)):
        net.zero_grad()
        forward(x).pow(2).sum().backward()
        grads.append([p.grad.clone() for p in net.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    # a training step through it moves the cells (the same tensors)
    before = net.fwd[0].weight_ih.detach().clone()
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    train_forward(net, x).sum().backward()
    opt.step()
    assert not torch.equal(before, net.fwd[0].weight_ih)


def test_config_penalty_and_validation():
    from submissions.bilstm_grasp import BiLSTMGraspConfig, BiLSTMNet

    net = BiLSTMNet(3, 2, layers=1, units=2, dropout=0.0)
    w = [c.weight_ih for c in (*net.fwd, *net.bwd)] + [c.weight_hh for c in (*net.fwd, *net.bwd)]
    l1 = sum(float(t.detach().abs().sum()) for t in w)
    l2 = sum(float(t.detach().pow(2).sum()) for t in w)
    assert float(net.penalty("none", 0.01).detach()) == 0.0
    assert float(net.penalty("l1", 0.01).detach()) == pytest.approx(0.01 * l1, rel=1e-5)
    assert float(net.penalty("l1l2", 0.01).detach()) == pytest.approx(0.01 * (l1 + l2), rel=1e-5)
    with pytest.raises(ValueError, match="regularisation"):
        BiLSTMGraspConfig(regularisation="l3")
    space = BiLSTMGraspConfig.SEARCH_SPACE
    assert space["layers"] == (1, 2, 3, 4) and space["units"] == (16, 32, 40, 64) and space["lr"] == (1e-2, 1e-3, 1e-4)


def _train_and_evaluate(gset, entry, kind, **overrides):
    from bench.training import set_seed

    task = get_task(entry.task)
    cfg = entry.make_config(**overrides)
    set_seed(0)
    data = task.make_data(gset, entry, cfg, seed=0, quick=False)
    net = entry.build(data.n_inputs, data.n_outputs, cfg)
    report = entry.train(net, data, cfg)
    return data, net, report, task.evaluate(net, data, entry)


def test_object_classifier_learns_and_metrics_present(gset, entries):
    data, net, report, out = _train_and_evaluate(gset, entries["object"], "object", epochs=25, patience=25, dropout=0.2, lr=1e-2, batch_size=64)
    chance = 1 / len(OBJECTS)
    assert report["best_val_accuracy"] > 2 * chance
    assert out.metrics["Accuracy"] > 2 * chance, out.metrics
    assert out.metrics["RelaxedAccuracy"] >= out.metrics["Accuracy"]
    assert not out.metric_errors, out.metric_errors
    ops = out.metrics["SynapticOperations"]
    # dense ops of one window through both cells (12 steps) and the head are all counted
    assert ops["Dense"] > 12 * 2 * 4 * 40 * 16 and 0 < ops["Effective_MACs"] <= ops["Dense"]
    assert out.metrics["ParameterCount"] == sum(p.numel() for p in net.parameters())
    assert out.metrics["Footprint"] > 0
    conf = np.asarray(out.extra["confusion"])
    assert conf.shape == (len(OBJECTS), len(OBJECTS)) and conf.sum() == data.size("test")
    assert np.trace(conf) / conf.sum() == pytest.approx(out.metrics["Accuracy"], abs=1e-6)
    assert out.extra["classes"] == [str(c) for c in OBJECTS]
    json.dumps(out.extra)


def test_phase_detector_learns_with_f1(gset, entries):
    data, net, report, out = _train_and_evaluate(gset, entries["phase"], "phase", epochs=12, patience=12, layers=1, units=16, lr=1e-2, batch_size=64)
    rest_share = 1 - float(data.y("test").float().mean())
    assert out.metrics["Accuracy"] > rest_share  # better than always saying "rest"
    assert out.metrics["F1"] > 0.5
    conf = np.asarray(out.extra["confusion"])
    assert conf.shape == (2, 2) and out.extra["classes"] == ["rest", "grasp"]
    assert f1_positive(conf) == pytest.approx(out.metrics["F1"])


def test_evaluation_rejects_wrong_output(gset, entries):
    from bench.evaluation import EvaluationError

    data = GraspData(gset, "object")
    bad = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12 * 16, 3))
    with pytest.raises(EvaluationError, match="expected"):
        evaluate_grasp(bad, data, entries["object"])


def test_runner_end_to_end_quick(tmp_path, entries, monkeypatch):
    """The runner stores a complete grasp result (quick config) from a .neo.mat-free recording."""
    from bench import results as store
    from bench.execution import runner
    from bench.tasks import RecordingRef

    rec = make_grasp_recording(n_trials=30, seed=3, name="sim_z_mem")
    monkeypatch.setattr("bench.data.grasp.load_grasp", lambda path, cache=True: rec)
    ref = RecordingRef("sim_z_mem", tmp_path / "sim_z_mem.neo.mat", True)
    spec = runner.RunSpec(entries["phase"], ["base"], ref, 0, quick=True, load_options={"trainval_share": 0.6})
    out = runner.execute(spec, tmp_path)
    assert out.status == "ok", out.message
    r = store.read(out.paths[0])
    assert r["metrics"]["Accuracy"] > 0 and "F1" in r["metrics"] and "trainval_share0.6" in out.paths[0].name
    assert r["run"]["load_options"] == {"trainval_share": 0.6}


@pytest.mark.parametrize("kind", ["object", "phase"])
def test_window_pass_equals_neurobench_hooks(gset, entries, kind):
    """The BiLSTM's fast evaluation (its own pass over the distinct bins) gives exactly the
    metrics of the hooked pass through NeuroBench's Benchmark, predictions included."""
    from bench.training import set_seed

    entry = entries[kind]
    cfg = entry.make_config(quick=True, epochs=2, dropout=0.2, lr=1e-2, batch_size=64)
    set_seed(0)
    data = get_task(entry.task).make_data(gset, entry, cfg, seed=0, quick=True)
    net = entry.build(data.n_inputs, data.n_outputs, cfg)
    entry.train(net, data, cfg)
    fast = evaluate_grasp(net, data, entry, fast=True)
    hooked = evaluate_grasp(net, data, entry, fast=False)
    assert not fast.metric_errors and not hooked.metric_errors
    assert fast.metrics == hooked.metrics and fast.extra == hooked.extra
    ops = fast.metrics["SynapticOperations"]
    assert ops["Effective_ACs"] > 0 and ops["Effective_MACs"] > 0  # some windows have binary bins


def test_grasp_ops_equal_neurobench_one_window_per_call(gset, entries):
    """bench's per-sample counts equal NeuroBench's own SynapticOperations when NeuroBench is
    given one window per call (as a per-sample model would be run)."""
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.workload import SynapticOperations
    from neurobench.models import TorchModel

    from bench.evaluation import counted_outcome

    entry = entries["phase"]
    torch.manual_seed(0)
    data = GraspData(gset, "phase")
    net = entry.build(data.n_inputs, 2, entry.make_config(layers=2, units=8)).eval()
    rows = np.arange(40)
    x, y = data.take("test", rows)
    model = TorchModel(net)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=1)
    with torch.no_grad():
        theirs = Benchmark(model, loader, [], [], [[], [SynapticOperations]]).run(quiet=True)["SynapticOperations"]
    model.cleanup_hooks()
    wa = gset.x
    starts = np.asarray(wa.starts[data.indices("test")[rows]])
    used = np.unique((starts[:, None] + np.arange(wa.window)).ravel())
    bins = torch.from_numpy(np.asarray(wa.counts[used], dtype=np.float32))
    counted = net.window_pass(bins, torch.from_numpy(np.searchsorted(used, starts)), wa.window)
    ours = counted_outcome(net, counted, counted.outputs.argmax(-1), y, [SynapticOperations], 1).metrics["SynapticOperations"]
    assert theirs["Effective_ACs"] > 0
    for key in ("Dense", "Effective_MACs", "Effective_ACs"):
        assert ours[key] == pytest.approx(theirs[key], rel=1e-9), key


def test_window_pass_counts_saturated_gates(gset, entries):
    """Gates driven to exactly 0 (a -1e4 bias) are counted as the hooked pass counts them."""
    entry = entries["phase"]
    torch.manual_seed(0)
    data = GraspData(gset, "phase")
    net = entry.build(data.n_inputs, 2, entry.make_config(layers=2, units=8)).eval()
    with torch.no_grad():
        net.fwd[1].bias_ih[:3] = -1e4  # three input gates of the second layer's forward cell
    fast = evaluate_grasp(net, data, entry, fast=True)
    hooked = evaluate_grasp(net, data, entry, fast=False)
    assert fast.metrics["ActivationSparsity"] > 0
    assert fast.metrics == hooked.metrics


@pytest.mark.parametrize("kind", ["object", "phase"])
def test_validation_with_shared_bins_equals_the_cell_model(gset, entries, kind):
    """Training's validation accuracy (first-layer maps once per distinct bin) is the accuracy
    of the evaluated cell model on the same split."""
    from submissions.bilstm_grasp import _val_accuracy

    entry = entries[kind]
    torch.manual_seed(4)
    data = GraspData(gset, kind)
    net = entry.build(data.n_inputs, data.n_outputs, entry.config).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(3.0)  # spread the logits: no near-ties for float rounding to break
    assert _val_accuracy(net, data, "val") == pytest.approx(data.accuracy(net, "val"), abs=1.5 / data.size("val"))
