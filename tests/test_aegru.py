"""AEGRU and vanilla GRU: inference-only footprint, NeuroBench op counts checked by hand,
count windows (transform table, jitter distribution, Poisson loss), training path = evaluated
path, gate activation sparsity, streaming exactness and a quick training run."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from neurobench.metrics.static import Footprint
from neurobench.metrics.workload import ActivationSparsity, SynapticOperations
from torch import nn
from torch.nn import functional as F

from bench.evaluation import CellGateSparsity, run_neurobench
from bench.tasks.reaching import TASK, evaluate_reaching, stream_predictions
from bench.training import set_seed
from bench.windows import Windows, window_sums
from submissions import aegru, gru
from submissions._count_windows import (
    CountAugment,
    decoder_poisson_nll,
    poisson_nll_full,
    raw_counts,
)
from tests.conftest import make_recording


def _loader(x: torch.Tensor):
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, torch.zeros(len(x), 2)), batch_size=len(x))


def _synops(net: nn.Module, x: torch.Tensor) -> dict:
    loader = _loader(x)
    out = run_neurobench(net, loader, [SynapticOperations], static=[Footprint])
    assert not out.metric_errors, out.metric_errors
    return out.metrics


class OneStep(nn.Module):
    """One GRUCell step with the state passed explicitly, then a 2-unit readout."""

    def __init__(self, i: int, h: int, h0: torch.Tensor):
        super().__init__()
        self.cell, self.out, self.h0 = nn.GRUCell(i, h), nn.Linear(h, 2), h0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.cell(x, self.h0.expand(len(x), -1)))


@pytest.mark.parametrize("i,h", [(32, 32), (96, 32), (7, 5)])
def test_gru_step_op_count_matches_hand_computation(i, h):
    torch.manual_seed(0)
    x = torch.rand(4, i) + 0.1  # no zero inputs, not binary
    # nonzero state: every weight multiplies something non-zero
    m = _synops(OneStep(i, h, torch.rand(1, h) + 0.1), x)["SynapticOperations"]
    # 3 gates x h rows x (i + h) weights, + h for r * (W_hn h + b_hn), + 2h for (1 - z) n + z h
    step = 3 * h * (i + h) + h + 2 * h
    assert m["Dense"] == step + 2 * h
    assert m["Effective_MACs"] == step + 2 * h
    # zero state: W_hh h and z * h do no work
    m0 = _synops(OneStep(i, h, torch.zeros(1, h)), x)["SynapticOperations"]
    assert m0["Dense"] == step + 2 * h
    assert m0["Effective_MACs"] == 3 * h * i + 2 * h + 2 * h


@pytest.mark.parametrize("C,published", [(96, 39184), (192, 51856)])
def test_aegru_inference_footprint_and_dense_ops(C, published):
    cfg = aegru.AEGRUConfig()
    model = aegru.build(C, 2, cfg).eval()
    H, N = cfg.hidden, cfg.n
    params = C * H + H + 2 * H + (3 * H * H * 2 + 6 * H) + 2 * H + (2 * H + 2)
    assert sum(p.numel() for p in model.parameters()) == params
    # params + BN running stats + num_batches_tracked (int64) + the (1, C) input register
    assert published == params * 4 + 2 * H * 4 + 8 + C * 4
    x = torch.log(nn.functional.softplus(torch.poisson(torch.full((8, N, C), 1.5))))
    m = _synops(model, x)
    assert m["Footprint"] == published
    dense = N * C * H + N * (6 * H * H + 3 * H) + 2 * H  # encoder, N GRU steps, one readout
    assert m["SynapticOperations"]["Dense"] == dense
    # h_0 = 0: the first step saves W_hh h (3 H^2) and z * h (H)
    assert m["SynapticOperations"]["Effective_MACs"] == dense - 3 * H * H - H


def test_training_heads_are_not_part_of_the_evaluated_module(tiny_recording):
    cfg = dataclasses.replace(aegru.ENTRY.make_config(quick=True), epochs=1)
    set_seed(0)
    data = TASK.make_data(tiny_recording, aegru.ENTRY, cfg, seed=0, quick=True)
    model = aegru.build(96, 2, cfg)
    before = {n for n, _ in model.named_parameters()} | {n for n, _ in model.named_buffers()}
    aegru.train(model, data, cfg)
    after = {n for n, _ in model.named_parameters()} | {n for n, _ in model.named_buffers()}
    assert before == after
    assert not any(k.startswith(("logvar", "decoder", "_train")) for k in model.state_dict())
    assert isinstance(model.__dict__["_train_heads"], aegru.AEHeads)  # kept for fine-tuning


def test_count_windows_transform_table_and_jitter():
    rec = make_recording(96, 1500, seed=2)
    cfg = aegru.AEGRUConfig()
    data = TASK.make_data(rec, aegru.ENTRY, cfg, seed=0, quick=True)
    counts = raw_counts(data, "train")
    assert counts.dtype == torch.uint8
    plain = window_sums(rec.spikes if hasattr(rec, "spikes") else rec.inputs, Windows(cfg.ws, cfg.n), data.indices("train"))
    assert torch.equal(counts.float(), torch.from_numpy(plain))
    aug = CountAugment(0.5, int(counts.max()), "log_softplus")
    # the transform by table lookup is bit-identical to the windows the evaluation sees
    assert torch.equal(torch.from_numpy(aug.inputs(counts.numpy())), data.x("train"))
    # jitter: zeros stay zero, integers, reproducible for a seed, identity at p = 0
    c = np.random.default_rng(0).poisson(3.0, size=(200, 5, 50)).astype(np.uint8)
    big = CountAugment(0.5, int(c.max()), None)
    j = big.jitter(c, np.random.default_rng(1))
    assert np.array_equal(j, big.jitter(c, np.random.default_rng(1)))
    assert np.all(j[c == 0] == 0) and np.all(j >= 0)
    assert 0.2 < (j != c).mean() < 0.5  # half drawn, most draws differ from their mean
    assert np.array_equal(CountAugment(0.0, int(c.max()), None).jitter(c, np.random.default_rng(1)), c)
    # the draws follow (1 - p) delta(k) + p Poisson(k): mean k, variance p k
    k = np.full(400_000, 4, dtype=np.uint8)
    d = CountAugment(0.5, 4, None).jitter(k, np.random.default_rng(2)).astype(np.float64)
    assert abs(d.mean() - 4.0) < 0.02 and abs(d.var() - 2.0) < 0.03
    assert abs((d == 4).mean() - (0.5 + 0.5 * np.exp(-4) * 4**4 / 24)) < 0.005
    # the float-tensor helper keeps working on counts
    t = torch.from_numpy(c.astype(np.float32))
    jt = aegru.jitter_counts(t, 0.5, torch.Generator().manual_seed(1))
    assert torch.all(jt[t == 0] == 0) and torch.all(jt == jt.round())


def test_poisson_loss_equals_torch_full_loss():
    g = torch.Generator().manual_seed(0)
    log_rates = torch.randn(64, 5, 30, generator=g)
    counts = torch.poisson(torch.full((64, 5, 30), 2.5), generator=g).to(torch.int16)
    ref = F.poisson_nll_loss(log_rates, counts.float(), log_input=True, full=True)
    assert torch.allclose(poisson_nll_full(log_rates, counts), ref, atol=1e-6)
    # the fused decoder + loss node: same value and gradients as autograd through both
    dec = nn.Linear(8, 30).double()
    z = torch.randn(64, 5, 8, generator=g, dtype=torch.float64, requires_grad=True)
    fused = decoder_poisson_nll(z, dec, counts)
    grads = torch.autograd.grad(fused, [z, dec.weight, dec.bias])
    plain = F.poisson_nll_loss(dec(z), counts.double(), log_input=True, full=True)
    for a, b in zip(grads, torch.autograd.grad(plain, [z, dec.weight, dec.bias])):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    assert abs(fused.item() - plain.item()) < 1e-10


@pytest.mark.parametrize("module", [aegru, gru])
def test_training_path_equals_evaluated_path(module):
    set_seed(0)
    cfg = module.ENTRY.make_config()
    model = module.build(40, 2, cfg).eval()  # eval: dropout off in both paths
    x = torch.log(F.softplus(torch.poisson(torch.full((16, cfg.n, 40), 1.5))))
    with torch.no_grad():
        fast = model.recur_train(model.encode(x)) if module is aegru else model.forward_train(x)
        ref = model(x, all_steps=True)
    torch.testing.assert_close(fast, ref, atol=1e-5, rtol=1e-5)


def test_gate_sparsity_recomputes_the_cells_gates():
    torch.manual_seed(0)
    cell = nn.GRUCell(6, 4)
    x, h = torch.randn(5, 6), torch.randn(5, 4)
    r, z = CellGateSparsity.gates(cell, x, h).chunk(2, 1)
    gi, gh = nn.functional.linear(x, cell.weight_ih, cell.bias_ih), nn.functional.linear(h, cell.weight_hh, cell.bias_hh)
    n = torch.tanh(gi[:, 8:] + r * gh[:, 8:])
    assert torch.allclose((1 - z) * n + z * h, cell(x, h), atol=1e-6)
    net = OneStep(6, 4, torch.zeros(1, 4))
    with torch.no_grad():
        net.cell.bias_ih[:4] = -1e4  # r gate saturates to exactly 0; z does not
    out = run_neurobench(net, _loader(x), [ActivationSparsity], static=[])
    assert out.metrics["ActivationSparsity"] == pytest.approx(0.5)
    assert "sigmoid gate" in out.extra["notes"]["ActivationSparsity"]


@pytest.mark.parametrize("module", [aegru, gru])
def test_quick_training_learns_and_streams_exactly(module):
    rec = make_recording(96, 4000, seed=3)
    entry = module.ENTRY
    cfg = entry.make_config(quick=True)
    set_seed(0)
    data = TASK.make_data(rec, entry, cfg, seed=0, quick=True)
    model = entry.build(96, 2, cfg)
    report = entry.train(model, data, cfg)
    assert report["epochs_run"] == cfg.epochs
    out = evaluate_reaching(model, data, entry)
    assert not out.metric_errors
    assert out.metrics["R2"] > 0.3
    assert out.metrics["ActivationSparsity"] == 0.0  # sigmoid gates of a dense GRU never hit 0
    model.eval()
    ref = stream_predictions(model, data, limit=130)
    assert torch.allclose(ref, data.predict(model, "test")[:130], atol=1e-4)
