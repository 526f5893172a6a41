"""Training and evaluation kernels of the slowest entries (issue 12, goal 1), before vs after,
measured in ONE process on one torch thread, interleaved (load from other work hits both sides):

  1. ``bilstm``  one BiLSTM training step (forward + backward, batch 256, 12 bins, 552 units):
                 ``nn.LSTM`` sharing the cells' tensors (before) vs ``train_forward`` (after),
                 one and two layers; the outputs' and gradients' largest differences;
  2. ``rsnn``    bigRSNN's hand-written BPTT (1024 neurons, batch 16, 500 steps) with dense
                 recurrent products (before) vs sparse-spike products (after), forward +
                 backward; the spike rate and the largest differences;
  3. ``count``   NeuroBench's per-sample synaptic-operation count of a streaming model's layer
                 over a whole test stream (bigRSNN's 1024 x 1024 recurrent layer, 17,412 calls):
                 call by call with the layer's fan-out recomputed each call (before) vs all
                 calls together, fan-out once (after); counts must be equal.

Run: .venv/bin/python benchmarks/bench_kernels.py [--parts bilstm rsnn count] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(fn, repeats: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def interleaved(before, after, repeats: int) -> tuple[float, float]:
    """Median seconds of ``before`` and ``after``, run alternately."""
    before(), after()
    b, a = [], []
    for _ in range(repeats):
        b += timed(before, 1)
        a += timed(after, 1)
    return statistics.median(b), statistics.median(a)


def lstm_view(net) -> nn.LSTM:
    """The previous training path: an nn.LSTM whose parameters are the cells' tensors."""
    layers = len(net.fwd)
    lstm = nn.LSTM(net.n_inputs, net.units, num_layers=layers, batch_first=True, bidirectional=True, dropout=net.drop.p if layers > 1 else 0.0)
    for i, (cf, cb) in enumerate(zip(net.fwd, net.bwd)):
        for cell, suffix in ((cf, ""), (cb, "_reverse")):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                setattr(lstm, f"{name}_l{i}{suffix}", getattr(cell, name))
    return lstm


def part_bilstm(repeats: int) -> None:
    from submissions.bilstm_grasp import BiLSTMNet, train_forward

    torch.manual_seed(0)
    x = (torch.rand(256, 12, 552) < 0.25).float() * torch.randint(1, 5, (256, 12, 552)).float()
    print("BiLSTM training step (batch 256 x 12 bins x 552 units, forward + backward), 1 thread")
    for layers in (1, 2):
        net = BiLSTMNet(552, 4, layers, 40, 0.0).train()
        lstm = lstm_view(net)

        def old():
            net.zero_grad()
            _, (h, _) = lstm(x)
            net.head(torch.cat([h[-2], h[-1]], -1)).pow(2).sum().backward()
            return [p.grad.clone() for p in net.parameters()]

        def new():
            net.zero_grad()
            train_forward(net, x).pow(2).sum().backward()
            return [p.grad.clone() for p in net.parameters()]

        b, a = interleaved(old, new, repeats)
        g_old, g_new = old(), new()
        rel = max(float((u - v).abs().max() / (u.abs().max() + 1e-30)) for u, v in zip(g_old, g_new))
        print(f"  {layers} layer(s): nn.LSTM {b * 1e3:.1f} ms, train_forward {a * 1e3:.1f} ms: {b / a:.2f}x; "
              f"largest relative gradient difference {rel:.1e}")


def part_rsnn(repeats: int) -> None:
    from submissions import _rsnn
    from submissions._rsnn_fused import HiddenLoop

    torch.manual_seed(0)
    T, B, H = 500, 16, 1024
    w = (torch.randn(H, H) / H**0.5).requires_grad_()
    cur = (torch.randn(T, B, H) * 0.5 + 0.18).requires_grad_()  # ~3 % spiking, as bigRSNN in training
    d_syn = torch.full((H,), 0.67, requires_grad=True)
    d_mem = torch.full((H,), 0.82, requires_grad=True)
    keep = (torch.rand(T, B, H) >= 0.3).float() / 0.7
    g = torch.randn(T, B, H)

    def run(sparse: bool):
        for t in (w, cur, d_syn, d_mem):
            t.grad = None
        spikes, fed = HiddenLoop.apply(cur, w, d_syn, d_mem, keep, 20.0, sparse)
        (spikes * g).sum().backward()
        return spikes.detach(), w.grad.clone(), cur.grad.clone()

    b, a = interleaved(lambda: run(False), lambda: run(True), repeats)
    s0, gw0, gc0 = run(False)
    s1, gw1, gc1 = run(True)
    rate = float(s0.mean())
    print(f"bigRSNN hidden loop (T {T}, batch {B}, {H} neurons, {rate:.1%} of neurons spiking per step), forward + backward, 1 thread")
    print(f"  dense {b:.3f} s, sparse spikes {a:.3f} s: {b / a:.2f}x (threshold used by training: {_rsnn.SPARSE_MIN_HIDDEN} neurons); "
          f"spikes equal: {bool(torch.equal(s0, s1))}; largest relative difference of dW_rec {float((gw0 - gw1).abs().max() / gw0.abs().max()):.1e}, "
          f"of dcur {float((gc0 - gc1).abs().max() / gc0.abs().max()):.1e}")


def part_count(repeats: int) -> None:
    from bench.evaluation import _linear_calls_ops
    from bench.opcount import linear_ops

    torch.manual_seed(0)
    layer = nn.Linear(1024, 1024, bias=False)
    calls = [(torch.rand(1, 1024) < 0.01).float() for _ in range(17412)]

    def old():
        total = [0, 0, 0]
        for x in calls:
            for k, v in enumerate(linear_ops(layer, x)):
                total[k] += v
        return tuple(total)

    def new():
        return _linear_calls_ops(layer, calls)

    b, a = interleaved(old, new, max(1, repeats // 2))
    print("per-sample synaptic operations of a 1024 x 1024 layer over a 17,412-sample stream, 1 thread")
    print(f"  call by call {b:.2f} s, together {a:.3f} s: {b / a:.1f}x; counts equal: {old() == new()} {new()}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", nargs="+", default=["bilstm", "rsnn", "count"], choices=["bilstm", "rsnn", "count"])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    for part in args.parts:
        {"bilstm": part_bilstm, "rsnn": part_rsnn, "count": part_count}[part](args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
