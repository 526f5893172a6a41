"""Shared fixtures: hermetic caches, and a small in-memory reaching recording."""

from __future__ import annotations

import numpy as np
import pytest

from bench.data.recording import Recording


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    """Small models train fastest on one intra-op thread (and tests stay fast on a busy box)."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session", autouse=True)
def _discovered():
    """Import the repository's entries once, so every test starts from the same registry."""
    from bench import registry

    registry.discover()
    return dict(registry._REGISTRY), set(registry._DISCOVERED)


@pytest.fixture(autouse=True)
def _registry_restored(_discovered):
    """Entries a test registers (templates, fault modules) do not leak into other tests."""
    from bench import registry

    yield
    registry._REGISTRY.clear()
    registry._REGISTRY.update(_discovered[0])
    registry._DISCOVERED.clear()
    registry._DISCOVERED.update(_discovered[1])


@pytest.fixture(autouse=True)
def _hermetic(tmp_path_factory, monkeypatch):
    """Keep caches and results of every test out of the user's directories."""
    root = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("BENCH_CACHE", str(root / "bench-cache"))
    monkeypatch.setenv("BENCH_RESULTS", str(root / "bench-results"))
    monkeypatch.setenv("BENCH_PROGRESS", "0")


def make_recording(n_channels: int = 96, n_samples: int = 6000, seed: int = 0, name: str = "mem_test") -> Recording:
    """A learnable in-memory recording: Poisson-ish spikes driven by a smooth 2-D velocity."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples)
    phase = rng.uniform(0, 2 * np.pi, 2)
    vel = np.stack([np.sin(2 * np.pi * t / 400 + phase[0]), np.cos(2 * np.pi * t / 650 + phase[1])], 1)
    tuning = rng.normal(size=(2, n_channels))
    rate = 0.05 * np.exp(0.8 * vel @ tuning)
    inputs = (rng.random((n_samples, n_channels)) < np.clip(rate, 0, 0.9)).astype(np.float32)
    bounds = np.linspace(0, n_samples, 41).astype(int)
    segments = np.stack([bounds[:-1], bounds[1:]], 1)
    n_train, n_val = 20, 10
    split = {
        "train": np.arange(0, bounds[n_train]),
        "val": np.arange(bounds[n_train], bounds[n_train + n_val]),
        "test": np.arange(bounds[n_train + n_val], n_samples),
    }
    names = tuple(f"M1 {i + 1:03d}" for i in range(n_channels))
    return Recording(name, inputs, vel.astype(np.float32), segments, split, names, {"source": "synthetic", "seed": seed, "generator_version": "in-memory"})


@pytest.fixture
def tiny_recording() -> Recording:
    return make_recording(96, 6000)
