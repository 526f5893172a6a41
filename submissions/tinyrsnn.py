"""tinyRSNN: 64 recurrent current-based LIF neurons and 2 leaky-integrator readouts, streaming.

Liu, Gygax, Rossbroich, Chua, Zhang, Zenke (BioCAS 2024 Grand Challenge, ZenkeLab): the winner
of the challenge's R2-versus-complexity track. The model, its dynamics and how NeuroBench counts
it: ``submissions/_rsnn.py``; the harness's training recipe and what it changes from theirs:
``submissions/_rsnn_train.py``.

Rows: ``tinyrsnn`` (trained, float32), ``tinyrsnn-pruned`` (iterative magnitude pruning with
re-training), ``tinyrsnn-fp16`` and ``tinyrsnn-pruned-fp16`` (half precision; the published
configuration and the leaderboard row). ``--weights published`` evaluates the authors' weights
(five seeds per real session, float16), whose footprint, dense SynOps and connection sparsity
equal the published figures exactly (tests/test_rsnn.py).
"""

from __future__ import annotations

from bench.quantization import float16_variant
from bench.registry import Entry, Variant, register
from bench.windows import Windows
from submissions._rsnn import RSNNConfig, build_rsnn, load_published, published_transform
from submissions._rsnn_train import prune_iteratively, train

CONFIG = RSNNConfig(hidden=64, readout_taus=((10e-3, 50e-3),))
QUICK = {"epochs": 6, "sample_len": 100, "sample_stride": 50, "batch_size": 16, "burn_in": 10, "val_every": 1, "val_lanes": 4, "prune_epochs": 1, "prune_max": 0.5}

PRUNED = Variant(
    "pruned",
    lambda model, data, cfg: prune_iteratively(model, data, cfg),
    "iterative per-layer magnitude pruning from 40 % (+10 %, then +5 %) with re-training, while validation R2 stays within 2 %, at most 80 %",
)


def published_weights(session: str, seed: int) -> dict:
    """The authors' seed-``seed`` weights (1..5) of a real session, in bench's keys."""
    return load_published(session, seed)


ENTRY = register(Entry(
    name="tinyrsnn",
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
    variants=(PRUNED, float16_variant(), float16_variant(after=PRUNED)),
    published_weights=published_weights,
    published_transform=published_transform,
    display="tinyRSNN",
    paper="Liu, Gygax, Rossbroich, Chua, Zhang, Zenke: recurrent SNN decoders, BioCAS 2024 Grand Challenge",
    description="64 recurrent CuBa-LIF neurons, 2 leaky-integrator readouts, learned time constants, one 4 ms sample per step",
))
