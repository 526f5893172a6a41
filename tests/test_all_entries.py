"""Registry-wide checks: every registered entry builds, runs forward, is batch-invariant and
trains on a tiny recording. A new submission is covered the moment it is registered."""

import copy

import pytest
import torch

from bench import registry
from bench.tasks.reaching import ReachingData, last_step
from bench.training import set_seed
from tests.conftest import make_recording

registry.discover()
REACHING = [e.name for e in registry.entries("reaching")]


@pytest.fixture(scope="module")
def small():
    return make_recording(96, 2400, seed=3)


def data_for(entry, rec, cfg):
    return ReachingData(rec, entry.windows_for(cfg), warmup_zeros=entry.warmup_zeros)


def probe(entry, data):
    if entry.streaming:
        x, _ = data.stream("test")
        return torch.stack([x[:40], x[40:80]])  # two different streams (2, 40, C)
    return data.x("test")[:6]


@pytest.mark.parametrize("name", REACHING)
def test_builds_forward_and_batch_invariant(name, small):
    entry = registry.get(name)
    cfg = entry.make_config(quick=True)
    set_seed(0)
    data = data_for(entry, small, cfg)
    model = entry.build(data.n_inputs, data.n_outputs, cfg).eval()
    x = probe(entry, data)
    with torch.no_grad():
        out = model(x)
        assert out.shape[0] == x.shape[0] and out.shape[-1] == 2 and out.dim() in (2, 3)
        if entry.streaming:
            assert out.shape[1] == x.shape[1]
        singles = torch.cat([model(x[i:i + 1]) for i in range(len(x))])
    torch.testing.assert_close(out, singles, atol=1e-5, rtol=1e-5)
    # no state survives a call: the same input gives the same output twice
    with torch.no_grad():
        torch.testing.assert_close(model(x), out)


@pytest.mark.parametrize("name", REACHING)
def test_trains_and_changes_weights(name, small):
    entry = registry.get(name)
    cfg = entry.make_config(quick=True)
    set_seed(0)
    data = data_for(entry, small, cfg)
    model = entry.build(data.n_inputs, data.n_outputs, cfg)
    before = copy.deepcopy(model.state_dict())
    report = entry.train(model, data, cfg)
    assert isinstance(report, dict)
    changed = [k for k, v in model.state_dict().items() if v.dtype.is_floating_point and not torch.equal(v, before[k])]
    assert changed, "training changed no weight"
    pred = data.predict(model, "test", streaming=entry.streaming)
    assert pred.shape == (len(data.indices("test")), 2) and torch.isfinite(pred).all()


def test_last_step_contract():
    assert last_step(torch.zeros(3, 5, 2)).shape == (3, 2)
    assert last_step(torch.zeros(3, 2)).shape == (3, 2)
