"""Energy estimates (arithmetic, tables, failures as errors), the storage footprint of compressed
variants, and NeuroBench 2.3's neuron metrics as bench records them."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from bench.deploy.energy import TABLES, EnergyError, estimate, table_for
from bench.deploy.storage import sparse_bytes, storage_footprint

OPS = {"SynapticOperations": {"Effective_MACs": 1000.0, "Effective_ACs": 200.0, "Dense": 5000.0}, "MembraneUpdates": 50.0}


def test_estimate_per_prediction_and_per_second():
    e = estimate(OPS, "reaching", spiking=True)
    pj = 1000 * (3.7 + 0.9) + 200 * 0.9 + 50 * (3.7 + 2 * 0.9)
    assert e["per_prediction_nj"] == pytest.approx(pj / 1e3)
    assert e["per_second_uj"] == pytest.approx(pj * 250 / 1e6)
    assert e["estimate"] is True and e["table"]["name"] == "45nm-fp32" and "estimate" in e["label"]
    assert "memory traffic" in e["ignores"]


def test_non_spiking_entries_have_no_neuron_term_and_grasp_runs_at_25_hz():
    e = estimate({"SynapticOperations": OPS["SynapticOperations"]}, "grasp-phase", spiking=False)
    assert e["parts_nj"]["neuron_updates"] == 0 and e["predictions_per_s"] == pytest.approx(25.0)


def test_int8_table_is_cheaper_and_named():
    e8 = estimate(OPS, "reaching", True, "45nm-int8")
    assert e8["per_prediction_nj"] < estimate(OPS, "reaching", True)["per_prediction_nj"]
    assert e8["table"]["mac_pj"] == pytest.approx(0.23)


@pytest.mark.parametrize("metrics,errors,match", [
    ({}, {"SynapticOperations": "Traceback\nValueError: hook failed"}, "SynapticOperations failed"),
    ({}, {}, "not measured"),
    ({"SynapticOperations": {"Effective_MACs": 1.0}}, {}, "Effective_ACs"),
    ({"SynapticOperations": {"Effective_MACs": float("nan"), "Effective_ACs": 0.0}}, {}, "not a count"),
    ({"SynapticOperations": OPS["SynapticOperations"]}, {"MembraneUpdates": "boom"}, "MembraneUpdates failed"),
])
def test_failed_counts_are_errors_not_zero(metrics, errors, match):
    with pytest.raises(EnergyError, match=match):
        estimate(metrics, "reaching", spiking=True, errors=errors)


def test_unknown_table_is_an_error():
    with pytest.raises(EnergyError, match="unknown energy table"):
        estimate(OPS, "reaching", True, "7nm-magic")


def test_default_tables_follow_the_variant():
    assert table_for("base") == "45nm-fp32"
    assert table_for("pruned-q8") == "45nm-int8"
    assert table_for("fp16") == "45nm-fp16"
    model = nn.Linear(2, 2)
    model.quantization_summary = {"bits": 8, "tensors": ["weight"]}
    assert table_for("custom", model) == "45nm-int8"
    assert set(TABLES) >= {"45nm-fp32", "45nm-fp16", "45nm-int8"}


# --- storage -------------------------------------------------------------------------------------


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(100, 40)
        self.bn = nn.BatchNorm1d(40)
        self.register_buffer("input_state", torch.zeros(1, 100), persistent=False)


def test_float_model_counts_parameters_and_inference_buffers_only():
    s = storage_footprint(_Net())
    assert s["bytes"] == (100 * 40 + 40) * 4 + (40 + 40) * 4 + (40 + 40) * 4  # fc, bn affine, running stats
    assert "bn.num_batches_tracked" not in s["tensors"] and "input_state" not in s["tensors"]


def test_q8_weights_cost_one_byte_plus_a_scale():
    net = _Net()
    net.quantization_summary = {"bits": 8, "frac_bits": 7, "tensors": ["fc.weight"]}
    s = storage_footprint(net)
    assert s["tensors"]["fc.weight"] == {"bytes": 4000 + 4, "values": "int8", "layout": "dense", "numel": 4000}


def test_pruned_weights_take_the_cheapest_layout():
    net = _Net()
    with torch.no_grad():
        net.fc.weight[:, :90] = 0  # 90 % zeros: 400 non-zeros
    t = storage_footprint(net)["tensors"]["fc.weight"]
    options = sparse_bytes(net.fc.weight, 4.0)
    assert options["csr16"] == 400 * 4 + 400 * 2 + 41 * 2
    assert options["bitmask"] == 500 + 400 * 4
    assert t["layout"] == "bitmask" and t["bytes"] == min(options.values())
    dense = copy.deepcopy(_Net())
    assert storage_footprint(dense)["tensors"]["fc.weight"]["layout"] == "dense"


def test_fp16_tensors_cost_two_bytes():
    net = _Net().half()
    assert storage_footprint(net)["tensors"]["fc.weight"]["bytes"] == 8000


def test_summary_naming_unknown_tensors_is_an_error():
    net = _Net()
    net.quantization_summary = {"bits": 8, "tensors": ["nope.weight"]}
    with pytest.raises(ValueError, match="nope.weight"):
        storage_footprint(net)


# --- NeuroBench 2.3's neuron metrics ---------------------------------------------------------------


class _OneBatch:
    """The whole (T, 1, C) test stream as one time-ordered batch (what NeuroBench reads of a loader)."""

    def __init__(self, x, y):
        self.dataset, self.batch = x, (x, y)

    def __iter__(self):
        yield self.batch

    def __len__(self):
        return 1


def test_neuron_metrics_are_recorded_or_errors():
    from bench import registry
    from bench.neuron_metrics import NeuronOperations, workload_additions
    from bench.evaluation import run_neurobench
    from bench.tasks import get_task
    from tests.conftest import make_recording

    entry = registry.get("snn-streaming")
    cfg = entry.make_config(quick=True)
    data = get_task("reaching").make_data(make_recording(16, 2000), entry, cfg, seed=0, quick=True)
    torch.manual_seed(0)
    model = entry.build(16, 2, cfg).eval()
    extra, notes = workload_additions(model, spiking=True)
    x, y = data.stream("test")
    from neurobench.metrics.workload import (
        R2,
        ActivationSparsity,
        MembraneUpdates,
        SynapticOperations,
    )

    # NeuroBench 2.3 has no cost for reset_mechanism 'none' (the output layer): left out, with the reason
    assert NeuronOperations not in extra and "reset 'none'" in notes["NeuronOperations"]
    out = run_neurobench(model, _OneBatch(x.unsqueeze(1), y), [R2, ActivationSparsity, SynapticOperations, MembraneUpdates, *extra, NeuronOperations], spiking=True, streaming=True)
    layers = out.metrics["ActivationSparsityByLayer"]
    assert set(layers) == {"lif1", "lif_out"} and all(0 <= v <= 1 for v in layers.values())
    # forced onto that layer anyway, it is an error, never 0
    assert "NeuronOperations" not in out.metrics and "reset_mechanism 'none'" in out.metric_errors["NeuronOperations"]
    gru_extra, gru_notes = workload_additions(nn.GRUCell(3, 3), spiking=False)
    assert gru_extra == [] and "ActivationSparsityByLayer" in gru_notes
