"""bigRSNN: 1024 recurrent current-based LIF neurons and five leaky-integrator readout heads.

Liu, Gygax, Rossbroich, Chua, Zhang, Zenke (BioCAS 2024 Grand Challenge, ZenkeLab): the same
dynamics as tinyRSNN (``submissions/_rsnn.py``) with 1024 hidden neurons and five 2-unit readout
heads whose (tau0_syn, tau0_mem) are (10, 50), (5, 20), (20, 20), (10, 30) and (30, 100) ms; the
prediction is the mean of the five heads' membranes. Runs in float32, unpruned, as published.
Its weights are not published (NeuroBench's leaderboard figures are in ``_rsnn_published.py``).
Training: ``submissions/_rsnn_train.py``, with fewer epochs than tinyRSNN (each step costs ~100x
more on a CPU); the default configuration is measured in the module's closing note of issue 10.
"""

from __future__ import annotations

from bench.registry import Entry, register
from bench.windows import Windows
from submissions._rsnn import RSNNConfig, build_rsnn
from submissions._rsnn_train import train

HEADS_MS = ((10, 50), (5, 20), (20, 20), (10, 30), (30, 100))  # (tau0_syn, tau0_mem) per readout head

CONFIG = RSNNConfig(
    hidden=1024,
    readout_taus=tuple((s * 1e-3, m * 1e-3) for s, m in HEADS_MS),
    epochs=10,
    lr=2e-3,
    batch_size=16,
    sample_stride=250,
    val_every=1,
    patience=4,
)
QUICK = {"epochs": 1, "sample_len": 100, "sample_stride": 50, "batch_size": 16, "burn_in": 10, "val_every": 1, "val_lanes": 4}

ENTRY = register(Entry(
    name="bigrsnn",
    task="reaching",
    kind="submission",
    version="1",
    build=build_rsnn,
    train=train,
    config=CONFIG,
    quick=QUICK,
    windows=Windows(ws=1, n=1),  # raw 4 ms samples, one per step
    streaming=True,
    spiking=True,
    display="bigRSNN",
    paper="Liu, Gygax, Rossbroich, Chua, Zhang, Zenke: recurrent SNN decoders, BioCAS 2024 Grand Challenge",
    description="1024 recurrent CuBa-LIF neurons, five leaky-integrator readout heads averaged, one 4 ms sample per step",
))
