"""The fast LIF paths (baselines/_lif.py) equal snnTorch's Leaky modules bit for bit: outputs,
input gradients, and whole SNN3D / SNN_streaming training steps (the snnTorch path is forced
by a forward hook, as NeuroBench's metrics attach them)."""

from __future__ import annotations

import copy

import pytest
import snntorch as snn
import torch
from snntorch import surrogate

from baselines import snn3d, snn_streaming
from baselines._lif import leaky_integrate, leaky_scan, leaky_step, no_hooks
from bench.training import set_seed

NEURONS = {
    "zero/fast_sigmoid": dict(beta=0.96, threshold=1, spike_grad=surrogate.fast_sigmoid(slope=20.0), reset_mechanism="zero"),
    "subtract/atan": dict(beta=0.5, threshold=0.5, spike_grad=surrogate.atan(alpha=2.0), reset_mechanism="subtract"),
    "none/atan": dict(beta=0.5, threshold=0.5, spike_grad=surrogate.atan(alpha=2.0), reset_mechanism="none"),
    "none/fast_sigmoid": dict(beta=0.96, threshold=1, spike_grad=surrogate.fast_sigmoid(slope=20.0), reset_mechanism="none"),
}


def _snntorch_sequence(lif: snn.Leaky, cur: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mem = cur.new_zeros(cur.shape[0], cur.shape[2])
    spikes, mems = [], []
    for t in range(cur.shape[1]):
        s, mem = lif(cur[:, t], mem)
        spikes.append(s)
        mems.append(mem)
    return torch.stack(spikes, 1), torch.stack(mems, 1)


def _bits(t: torch.Tensor) -> torch.Tensor:
    """The raw bits of the values (so that -0.0 and +0.0 differ; snnTorch's spikes are float32
    whatever the input dtype, so values are compared as float64)."""
    return t.detach().double().view(torch.int64)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])  # numpy loops / torch loops
@pytest.mark.parametrize("steps", [7, 120])
@pytest.mark.parametrize("kind", sorted(NEURONS))
def test_layer_paths_equal_snntorch_bit_for_bit(kind, steps, dtype):
    lif = snn.Leaky(**NEURONS[kind])
    gen = torch.Generator().manual_seed(steps)
    base = (torch.randn(5, steps, 9, generator=gen) * 1.5).to(dtype)
    base[0, :3] = -0.0  # signed zeros in the input currents
    weight = torch.randn(5, steps, 9, generator=gen).to(dtype)
    none = kind.startswith("none")
    leaves = [base.clone().requires_grad_() for _ in range(3)]
    spikes, mems = _snntorch_sequence(lif, leaves[0])
    ref = mems if none else spikes
    (ref * weight).sum().backward()
    fast = leaky_integrate(lif, leaves[1]) if none else leaky_scan(lif, leaves[1])
    (fast * weight).sum().backward()
    mem, outs = leaves[2].new_zeros(5, 9), []
    for t in range(steps):
        s, mem = leaky_step(lif, leaves[2][:, t], mem)
        outs.append(mem if none else s)
    (torch.stack(outs, 1) * weight).sum().backward()
    assert torch.equal(_bits(fast), _bits(ref)) and torch.equal(_bits(torch.stack(outs, 1)), _bits(ref))
    assert torch.equal(_bits(leaves[1].grad), _bits(leaves[0].grad)) and torch.equal(_bits(leaves[2].grad), _bits(leaves[0].grad))
    if not none:
        assert 0 < float(ref.detach().mean()) < 1  # the test exercises both spikes and resets


@pytest.mark.parametrize("module,steps,batch", [(snn3d, 7, 64), (snn_streaming, 150, 6)])
def test_training_steps_equal_the_snntorch_path(module, steps, batch):
    entry = module.ENTRY
    set_seed(0)
    fast = entry.build(96, 2, entry.config)
    slow = copy.deepcopy(fast)
    slow.lif1.register_forward_hook(lambda *args: None)  # a watcher: the snnTorch modules run
    assert no_hooks(fast) and not no_hooks(slow)
    opts = [torch.optim.Adam(m.parameters(), lr=2e-3) for m in (fast, slow)]
    gen = torch.Generator().manual_seed(1)
    for step in range(3):
        x = (torch.rand(batch, steps, 96, generator=gen) < 0.15).float()
        y = torch.randn(batch, 2, generator=gen) if module is snn3d else torch.randn(batch, steps, 2, generator=gen)
        for model, opt in zip((fast, slow), opts):
            torch.manual_seed(step)  # the same dropout masks
            loss = torch.nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        for (name, a), b in zip(fast.named_parameters(), slow.parameters()):
            assert torch.equal(_bits(a.grad), _bits(b.grad)), f"step {step}: gradient of {name} differs"
    for a, b in zip(fast.parameters(), slow.parameters()):
        assert torch.equal(_bits(a), _bits(b))
    fast.eval()
    slow.eval()
    with torch.no_grad():
        assert torch.equal(_bits(fast(x)), _bits(slow(x)))


def test_unsupported_neurons_are_refused():
    lif = snn.Leaky(beta=0.5, learn_beta=True)
    with pytest.raises(NotImplementedError, match="learnt"):
        leaky_scan(lif, torch.zeros(1, 3, 2))
    with pytest.raises(ValueError, match="reset_mechanism 'none'"):
        leaky_integrate(snn.Leaky(beta=0.5), torch.zeros(1, 3, 2))
