"""Reusable pruning and quantization: exact global rate, masks held through fine-tuning,
NeuroBench sees the pruning (sparsity, effective MACs) but not in the footprint, Q1.7 grid."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest
import torch
from neurobench.metrics.static import ConnectionSparsity, Footprint
from neurobench.metrics.workload import SynapticOperations
from torch import nn

from bench.evaluation import run_neurobench
from bench.pruning import prunable_weights, prune_global_l1, pruned_variant
from bench.quantization import quantize_fixed, quantize_q17, quantize_tensor, quantized_variant
from submissions import aegru


def _model(C: int = 96) -> aegru.AEGRU:
    torch.manual_seed(0)
    return aegru.build(C, 2, aegru.AEGRUConfig()).eval()


def _selected(model: nn.Module) -> list[torch.Tensor]:
    return [p for _, p in prunable_weights(model)]


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_global_rate_is_exact_over_selected_weights(rate):
    model = _model()
    biases = {n: p.detach().clone() for n, p in model.named_parameters() if "bias" in n or n.startswith(("bn", "norm"))}
    masks = prune_global_l1(model, rate)
    ws = _selected(model)
    n = sum(p.numel() for p in ws)
    assert sum(int((p == 0).sum()) for p in ws) == round(rate * n)
    assert masks.summary()["n_pruned"] == round(rate * n)
    for name, p in model.named_parameters():
        if name in biases:
            assert torch.equal(p, biases[name])  # biases and norms are never pruned
    if 0 < rate < 1:  # global: the kept weights are the largest overall
        kept = torch.cat([p[p != 0].abs() for p in ws])
        cut = torch.cat([p.abs().flatten() for p in ws]).sort().values[round(rate * n) - 1]
        assert kept.min() >= cut


def test_selected_layers_only_and_bad_rate():
    model = _model()
    prune_global_l1(model, 0.5, [model.cell])
    assert int((model.encoder.weight == 0).sum()) == 0
    assert float((torch.cat([model.cell.weight_ih.flatten(), model.cell.weight_hh.flatten()]) == 0).float().mean()) == 0.5
    with pytest.raises(ValueError, match="rate"):
        prune_global_l1(model, 1.5)


def test_masks_stay_zero_through_fine_tuning():
    model = _model()
    model.train()
    masks = prune_global_l1(model, 0.5)
    zero = [(p == 0).clone() for _, p, _ in masks.params]
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-3)
    masks.hold(opt)
    x = torch.randn(64, 5, 96)
    for _ in range(5):
        loss = model(x, all_steps=True).pow(2).mean() + sum(p.sum() for p in model.parameters())
        opt.zero_grad()
        loss.backward()
        opt.step()
        for (_, p, _), z in zip(masks.params, zero):
            assert torch.all(p[z] == 0)
            assert p.grad is None or torch.all(p.grad[z] == 0)
    masks.release()
    assert not masks._handles
    assert all(torch.all(p[z] == 0) for (_, p, _), z in zip(masks.params, zero))
    assert not any(k.endswith(("_orig", "_mask")) for k in model.state_dict())  # permanent, plain


def _metrics(model: nn.Module) -> dict:
    torch.manual_seed(1)
    x = torch.log(nn.functional.softplus(torch.poisson(torch.full((16, 5, 96), 1.0))))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, torch.zeros(16, 2)), batch_size=16)
    out = run_neurobench(model, loader, [SynapticOperations], static=[Footprint, ConnectionSparsity])
    assert not out.metric_errors
    return out.metrics


def test_neurobench_sees_pruning_but_footprint_is_unchanged():
    model = _model()
    dense = _metrics(model)
    finetuned = []
    variant = pruned_variant(0.5, finetune=lambda m, d, c, masks: finetuned.append(masks.summary()["rate"]))
    pruned = variant.apply(copy.deepcopy(model), None, aegru.AEGRUConfig(prune_rate=0.5))
    assert finetuned == [0.5]
    sparse = _metrics(pruned)
    assert sparse["Footprint"] == dense["Footprint"]
    assert dense["ConnectionSparsity"] == 0.0
    # ConnectionSparsity also counts the GRU biases (never pruned): just under 0.5
    assert 0.47 < sparse["ConnectionSparsity"] < 0.5
    d, s = dense["SynapticOperations"], sparse["SynapticOperations"]
    assert s["Dense"] == d["Dense"]
    assert s["Effective_MACs"] < 0.6 * d["Effective_MACs"]


def test_variant_rate_comes_from_config():
    model = _model()
    out = pruned_variant(0.5).apply(model, None, aegru.AEGRUConfig(prune_rate=0.3))
    assert out.pruning_summary["rate"] == pytest.approx(0.3, abs=1e-3)

    @dataclass(frozen=True)
    class NoRate:
        epochs: int = 1

    out = pruned_variant(0.2).apply(_model(), None, NoRate())
    assert out.pruning_summary["rate"] == pytest.approx(0.2, abs=1e-3)


def test_q17_grid_and_range():
    t = torch.tensor([-3.0, -1.0, -0.003, 0.0, 0.003, 0.5, 0.99, 2.0])
    q = quantize_tensor(t)
    assert torch.equal(q, torch.tensor([-1.0, -1.0, 0.0, 0.0, 0.0, 0.5, 127 / 128, 127 / 128]))
    model = _model()
    with torch.no_grad():
        model.encoder.weight[0, :4] = torch.tensor([5.0, -5.0, 0.3, 0.0])
    report = quantize_q17(model)
    assert report["n_saturated"] >= 2 and report["max_round_error"] <= 2**-8 + 1e-7
    for p in _selected(model):
        assert torch.equal(p * 128, torch.round(p * 128))
        assert p.min() >= -1 and p.max() <= 127 / 128
    assert not torch.equal(model.cell.bias_ih * 128, torch.round(model.cell.bias_ih * 128))  # biases left


def test_pruned_then_quantized_keeps_zeros():
    model = _model()
    variant = quantized_variant(8, 7, after=pruned_variant(0.5))
    assert variant.name == "pruned-q8"
    out = variant.apply(model, None, aegru.AEGRUConfig())
    ws = _selected(out)
    n = sum(p.numel() for p in ws)
    assert sum(int((p == 0).sum()) for p in ws) >= n // 2
    assert out.quantization_summary["n_quantized"] == n
    assert quantize_fixed(_model(), 4, 2)["bits"] == 4
