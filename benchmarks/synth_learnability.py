"""How learnable are the synthetic sessions? Ridge on 200 ms vs a small GRU on 400 ms of history.

Issue 2 asks the synthetic default to reward what helps on the real data: a ridge regression on
10 x 20 ms bins should reach test R2 ~0.35-0.6 and a small GRU over 400 ms should beat it by
>= 0.08. Split, labels and R2 follow NeuroBench (train_ratio 0.5, velocity = gradient of
cursor_pos per 4 ms sample, R2 per dim then mean). Inputs are spike counts summed over units.

    .venv/bin/python benchmarks/synth_learnability.py [--sessions sim_indy_1 ...] [--scale default]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from bench.data.recording import RawReachingSession
from bench.data.synth_reaching import SCALES, SynthConfig, generate
from bench.tasks.reaching import r2_score
from bench.windows import Windows, window_sums


def session_arrays(s: RawReachingSession, train_ratio: float = 0.5):
    """(T, C) counts, (T, 2) velocity labels, split indices, by NeuroBench's rules.

    Same as ``bench.data.reaching.load_reaching(..., input_mode="counts")`` on the written file,
    computed from the arrays so no file is needed. A spike in (t[i-1], t[i]] counts at sample i.
    """
    k, n_ch = len(s.t), len(s.chan_names)
    edges = np.arange(s.t[0] - 0.004, s.t[-1], 0.004)  # NeuroBench's histogram edges
    counts = np.zeros((k, n_ch), dtype=np.float32)
    for c in range(n_ch):
        times = np.concatenate([row[c] for row in s.spikes])
        idx = np.searchsorted(edges, times, side="right")
        idx = idx[(idx >= 1) & (idx < min(k, edges.size))]
        counts[:, c] = np.bincount(idx, minlength=k)[:k]
    labels = np.gradient(s.cursor_pos.astype(np.float32), axis=0)  # mm per 4 ms sample
    change = np.flatnonzero(np.abs(np.diff(s.target_pos, axis=0)).sum(1))  # last sample of a target
    bounds = np.r_[0, change, k]
    n = len(bounds) - 1
    n_train = int(np.floor(train_ratio * n))
    n_val = (n - n_train) // 2
    group = np.repeat(np.r_[np.zeros(n_train), np.ones(n_val), np.full(n - n_train - n_val, 2)],
                      np.diff(bounds)).astype(int)
    split = {name: np.flatnonzero(group == g) for g, name in enumerate(("train", "val", "test"))}
    return counts, labels, split


def ridge_r2(counts: np.ndarray, labels: np.ndarray, split: dict, bins: int = 10, ws: int = 5) -> float:
    """Test R2 of ridge on ``bins`` x ``ws``-sample count sums; alpha chosen on validation."""
    spec = Windows(ws=ws, n=bins)
    feats = {k: window_sums(counts, spec, split[k]).reshape(len(split[k]), -1) for k in split}
    mu, sd = feats["train"].mean(0), feats["train"].std(0) + 1e-3
    X = {k: np.c_[(v - mu) / sd, np.ones(len(v))] for k, v in feats.items()}
    y = {k: labels[split[k]].astype(np.float64) for k in split}
    xtx, xty = X["train"].T @ X["train"], X["train"].T @ y["train"]
    best = (-np.inf, None)
    for alpha in 10.0 ** np.arange(0, 6):
        reg = alpha * np.eye(xtx.shape[0])
        reg[-1, -1] = 0
        w = np.linalg.solve(xtx + reg, xty)
        r2v = r2_score(X["val"] @ w, y["val"])
        if r2v > best[0]:
            best = (r2v, w)
    return r2_score(X["test"] @ best[1], y["test"])


class _GRU(torch.nn.Module):
    def __init__(self, c: int, hidden: int):
        super().__init__()
        self.inp = torch.nn.Linear(c, hidden)
        self.gru = torch.nn.GRU(hidden, hidden, batch_first=True)
        self.out = torch.nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, N, C) -> (B, 2)
        h, _ = self.gru(torch.relu(self.inp(x)))
        return self.out(h[:, -1])


def gru_r2(counts: np.ndarray, labels: np.ndarray, split: dict, n: int = 5, ws: int = 20,
           hidden: int = 48, epochs: int = 6, stride: int = 2, seed: int = 0) -> float:
    """Test R2 of a small GRU over n x ws samples (400 ms), best epoch on validation.

    Training uses every ``stride``-th sample (neighbours 4 ms apart are nearly identical).
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    spec = Windows(ws=ws, n=n)
    x = {k: np.log1p(window_sums(counts, spec, split[k])) for k in split}  # (I, n, C)
    mu, sd = x["train"].mean((0, 1)), x["train"].std((0, 1)) + 1e-3
    x = {k: torch.from_numpy((v - mu) / sd) for k, v in x.items()}
    ysd = labels[split["train"]].std(0)
    y = {k: torch.from_numpy(labels[split[k]] / ysd) for k in split}
    model = _GRU(counts.shape[1], hidden)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-5)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    best = (-np.inf, None)
    for _ in range(epochs):
        model.train()
        order = rng.permutation(len(y["train"]) // stride) * stride + rng.integers(stride)
        for b in range(0, len(order), 256):
            i = torch.from_numpy(order[b:b + 256])
            loss = torch.nn.functional.mse_loss(model(x["train"][i]), y["train"][i])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        model.eval()
        with torch.no_grad():
            r2v = r2_score(model(x["val"]), y["val"])
            if r2v > best[0]:
                best = (r2v, r2_score(model(x["test"]), y["test"]))
    return best[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="default", choices=sorted(SCALES))
    ap.add_argument("--sessions", nargs="*", help="names of the scale's sessions (default: all)")
    ap.add_argument("--epochs", type=int, default=6)
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    cfgs: list[SynthConfig] = [c for c in SCALES[args.scale] if not args.sessions or c.name in args.sessions]
    print(f"{'session':<12} {'C':>4} {'ridge R2':>9} {'GRU R2':>8} {'gain':>6} {'time s':>7}")
    for cfg in cfgs:
        t0 = time.time()
        counts, labels, split = session_arrays(generate(cfg))
        r = ridge_r2(counts, labels, split)
        g = gru_r2(counts, labels, split, epochs=args.epochs)
        print(f"{cfg.name:<12} {cfg.n_channels:>4} {r:>9.3f} {g:>8.3f} {g - r:>+6.3f} {time.time() - t0:>7.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
