"""Batched harness evaluation vs a NeuroBench-style sample-by-sample loop (issue 3).

ANN2D with NeuroBench's published weights (indy_20160622_01, 96 channels) on the test split of a
full-length synthetic session (2,450 s). Two ways:
  1. harness: bench.evaluation.evaluate_reaching (vectorised windows, batches of 8192, NeuroBench
     Benchmark with all metrics) and the plain batched prediction path;
  2. streaming: one 4 ms sample at a time appended to a buffer, the model called once per sample,
     as NeuroBench's example models do.
Both R2 must agree to 1e-5. Run: .venv/bin/python benchmarks/bench_eval_speed.py [--seconds 2450]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from bench import registry
from bench.data.matfile import write_reaching_mat
from bench.data.reaching import load_reaching
from bench.data.synth_reaching import SynthConfig, generate
from bench.evaluation import evaluate_reaching
from bench.tasks.reaching import ReachingData, r2_score


def streaming_loop(model: torch.nn.Module, x: torch.Tensor, window: int = 50) -> torch.Tensor:
    """NeuroBench style: a rolling buffer, one model call per sample, zeros until it is full."""
    buf = torch.zeros(window, x.shape[1])
    preds = torch.zeros(len(x), 2)
    with torch.no_grad():
        for i in range(len(x)):
            buf = torch.cat([buf[1:], x[i:i + 1]])
            if i >= window - 1:
                preds[i] = model(buf.sum(0).view(1, 1, -1))[0]
    return preds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=2450.0)
    args = ap.parse_args()
    registry.discover()
    entry = registry.get("ann2d")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sim_full.mat"
        t0 = time.perf_counter()
        write_reaching_mat(path, generate(SynthConfig(name="sim_full", n_channels=96, duration_s=args.seconds, seed=11)))
        print(f"generated {args.seconds:.0f} s session in {time.perf_counter() - t0:.1f} s")
        rec = load_reaching(path, cache=False)
    model = entry.build(96, 2, entry.config)
    model.load_state_dict(entry.published_weights("indy_20160622_01"), strict=True)
    model.eval()
    data = ReachingData(rec, entry.windows, warmup_zeros=True)
    n = len(data.indices("test"))
    with torch.no_grad():  # warm both paths up once (first-call allocations)
        model(data.x("val")[:64])
    print(f"test split: {n} samples ({n * 0.004:.0f} s)")

    t0 = time.perf_counter()
    batched = data.predict(model, "test")
    t_pred = time.perf_counter() - t0
    t0 = time.perf_counter()
    outcome = evaluate_reaching(model, ReachingData(rec, entry.windows, warmup_zeros=True), entry)
    t_bench = time.perf_counter() - t0

    x, y = data.stream("test")
    t0 = time.perf_counter()
    streamed = streaming_loop(model, x)
    t_stream = time.perf_counter() - t0

    r2_b, r2_s = r2_score(batched, y), r2_score(streamed, y)
    print(f"R2 batched {r2_b:.6f}  NeuroBench-metric R2 {outcome.metrics['R2']:.6f}  streaming {r2_s:.6f}  |diff| {abs(r2_b - r2_s):.2e}")
    assert abs(r2_b - r2_s) < 1e-5 and abs(outcome.metrics["R2"] - r2_s) < 1e-5
    print(f"batched prediction: {t_pred:.2f} s   full harness evaluation (all NeuroBench metrics): {t_bench:.2f} s")
    print(f"sample-by-sample streaming loop (prediction only): {t_stream:.2f} s")
    print(f"speed-up: prediction {t_stream / t_pred:.0f}x, full evaluation {t_stream / t_bench:.0f}x")


if __name__ == "__main__":
    main()
