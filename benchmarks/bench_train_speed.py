"""Training speed (issue 12, goals 1 and 3), measured in one run: the matmul ceiling, AEGRU's
epoch throughput, thread counts under load, and every entry's training time before/after.

Parts (each prints its figures and ratios):
  1. ``matmul``   single-thread float32 matmul GFLOP/s: 1024 x 1024 (the issue's ceiling, 37-41
                  GFLOP/s on this CPU) and the best of the small cache-resident shapes;
  2. ``epoch``    one AEGRU training epoch (default config, train pass + validation R2) in the
                  BEFORE tree and the current one, 1 thread: wall and CPU seconds, the epoch's
                  matmul FLOPs (torch's FlopCounterMode over the same epoch: forward, backward and
                  validation, as executed) and GFLOP/s as a share of the 1024^3 ceiling;
  3. ``threads``  the current AEGRU epoch with 1 and with 2 torch threads while a busy loop
                  (another process) holds a core: what a job sees when another job shares the
                  machine;
  4. ``entries``  per-entry training time (train + variants, e.g. AEGRU's pruning fine-tune) and
                  test R2 per row, BEFORE tree vs current tree, each pair back to back in fresh
                  processes with 1 torch thread (interleaved: load from other work hits both).

FLOPs are the matmul FLOPs torch executes in the whole epoch: forward, backward and the
validation pass (about 3x a forward-only count; issue 12's "3.75 GFLOP/s" is consistent with a
forward-only count over the same epoch). The 1024^3 ceiling moves with the neighbours' cache
load (37-46 GFLOP/s when contended, 88-96 when not), so each run measures its own.

BEFORE is ``git archive <rev>`` (default 33e2950, the tree issue 12 measured) in a temp dir;
the sessions are written by the BEFORE tree's generator so both sides train on the same files.
The machine is shared (2 cores): wall times carry other processes' load, CPU seconds do not.

Run: .venv/bin/python benchmarks/bench_train_speed.py [--parts matmul epoch threads entries]
     [--entries ann2d aegru ...] [--recordings sim_indy_1 sim_loco_1] [--before-rev 33e2950]
     [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENTRIES = ("ann2d", "ann3d", "snn3d", "snn-streaming", "aegru", "gru")


# --- workers: fresh processes, PYTHONPATH picks the tree; only APIs present in both trees -------


def _setup(entry_name: str, rec_path: str, seed: int, threads: int, **overrides):
    import dataclasses

    import torch

    torch.set_num_threads(threads)
    from bench import registry
    from bench.data.reaching import load_reaching
    from bench.tasks import get_task
    from bench.training import set_seed

    registry.discover()
    entry = registry.get(entry_name)
    cfg = entry.make_config()
    cfg = dataclasses.replace(cfg, **overrides) if overrides else cfg
    rec = load_reaching(Path(rec_path), input_mode="binary")
    set_seed(seed)
    data = get_task(entry.task).make_data(rec, entry, cfg, seed=seed, quick=False)
    return entry, cfg, data, set_seed


def entry_worker(entry_name: str, rec_path: str, seed: int, threads: int) -> dict:
    """Train the entry (default config), compute its variants as the runner does (a chained
    variant from its base's model), return times, epochs and test R2 per row."""
    import copy

    entry, cfg, data, set_seed = _setup(entry_name, rec_path, seed, threads)
    t0, c0 = time.perf_counter(), time.process_time()
    model = entry.build(data.n_inputs, data.n_outputs, cfg)
    report = entry.train(model, data, cfg) or {}
    train_s = time.perf_counter() - t0
    r2 = {"base": data.r2(model, "test", streaming=entry.streaming)}
    stages: dict = {}
    t1 = time.perf_counter()
    for v in entry.variant_names()[1:]:
        var = entry.variant(v)
        set_seed(seed)
        if var.base and var.step is not None and var.base in stages:
            out = var.step(copy.deepcopy(stages[var.base]), data, cfg)
        else:
            out = var.apply(copy.deepcopy(model), data, cfg)
        stages[v] = out
        r2[v] = data.r2(out, "test", streaming=entry.streaming)
    variant_s = time.perf_counter() - t1
    return {"entry": entry_name, "train_s": train_s, "variant_s": variant_s, "total_s": train_s + variant_s,
            "cpu_s": time.process_time() - c0, "epochs": report.get("epochs_run"), "r2": r2}


def epoch_worker(rec_path: str, threads: int, repeats: int) -> dict:
    """AEGRU: ``train`` with epochs=1 (a training pass + validation R2), timed ``repeats`` times
    after one warm-up call; its matmul FLOPs counted over one more such call."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    entry, cfg, data, _ = _setup("aegru", rec_path, 0, threads, epochs=1)
    model = entry.build(data.n_inputs, data.n_outputs, cfg)
    entry.train(model, data, cfg)  # warm-up: first-use imports, window preparation
    walls, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        entry.train(model, data, cfg)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    with FlopCounterMode(display=False) as fc:
        entry.train(model, data, cfg)
    return {"threads": threads, "torch_threads": torch.get_num_threads(), "epoch_s": min(walls), "epoch_cpu_s": min(cpus),
            "flops": fc.get_total_flops(), "samples": len(data.indices("train"))}


def _spawn(tree: Path, args: list[str], threads: int = 1) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree), BENCH_PROGRESS="0",
               **{v: str(threads) for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")})
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], env=env, cwd=str(tree), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"worker {args} in {tree} failed:\n{out.stderr[-3000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["process_s"] = time.perf_counter() - t0
    return res


# --- part 1: the matmul ceiling -----------------------------------------------------------------


def matmul_gflops(n: int, seconds: float = 1.5) -> float:
    """Best single-thread float32 (n x n) @ (n x n) rate over ~``seconds``, in GFLOP/s."""
    import torch

    torch.set_num_threads(1)
    a, b, out = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
    torch.mm(a, b, out=out)
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        torch.mm(a, b, out=out)
        best = max(best, 2 * n**3 / (time.perf_counter() - t0) / 1e9)
    return best


# --- main -----------------------------------------------------------------------------------------


def export_tree(rev: str, dest: Path) -> Path:
    arch = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    dest.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=arch, check=True)
    return dest


def make_sessions(tree: Path, names: list[str], out: Path) -> dict[str, Path]:
    code = ("from pathlib import Path; from bench.data.synth_reaching import synth_command; "
            f"synth_command(Path({str(out)!r}), 'default', None, {names!r})")
    subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(tree)), cwd=str(tree), check=True, capture_output=True)
    return {n: out / f"{n}.mat" for n in names}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", nargs="+", default=["matmul", "epoch", "threads", "entries"], choices=["matmul", "epoch", "threads", "entries"])
    ap.add_argument("--entries", nargs="+", default=list(ENTRIES), help="entries timed in part 4 (on the first recording)")
    ap.add_argument("--recordings", nargs="+", default=["sim_indy_1"], help="part 4 runs every entry on the first, aegru and gru on the others")
    ap.add_argument("--before-rev", default="33e2950")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epoch-repeats", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write every figure here")
    args = ap.parse_args()
    figures: dict = {"before_rev": args.before_rev, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    with tempfile.TemporaryDirectory(prefix="bench_train_speed_") as tmp:
        before = export_tree(args.before_rev, Path(tmp) / "before")
        recs = make_sessions(before, args.recordings, Path(tmp) / "data")
        first = recs[args.recordings[0]]
        print(f"sessions {', '.join(args.recordings)} (synthetic, written by rev {args.before_rev}); "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)", flush=True)
        mm = None
        if {"matmul", "epoch", "threads"} & set(args.parts):
            mm = matmul_gflops(1024)
            small = max(matmul_gflops(n, 0.5) for n in (128, 256, 512))
            figures["matmul_gflops"] = {"1024": mm, "small_best": small}
            print(f"[matmul] single-thread float32: 1024^3 {mm:.1f} GFLOP/s (the ceiling below); best of 128/256/512: {small:.1f} GFLOP/s", flush=True)
        if "epoch" in args.parts:
            rows = {}
            for label, tree in (("before", before), ("after", ROOT)):
                e = rows[label] = _spawn(tree, ["--epoch-worker", str(first), "1", str(args.epoch_repeats)])
                e["gflops"], e["gflops_cpu"] = e["flops"] / e["epoch_s"] / 1e9, e["flops"] / e["epoch_cpu_s"] / 1e9
                print(f"[epoch] AEGRU {label:6s}: {e['epoch_s']:.2f} s wall / {e['epoch_cpu_s']:.2f} s CPU per epoch "
                      f"({e['samples']} windows, {e['flops'] / 1e9:.1f} GFLOP) = {e['gflops']:.1f} GFLOP/s wall "
                      f"({e['gflops'] / mm:.0%} of the 1024^3 matmul), {e['gflops_cpu']:.1f} GFLOP/s CPU ({e['gflops_cpu'] / mm:.0%})", flush=True)
            print(f"[epoch] speed-up {rows['before']['epoch_s'] / rows['after']['epoch_s']:.2f}x wall, "
                  f"{rows['before']['epoch_cpu_s'] / rows['after']['epoch_cpu_s']:.2f}x CPU (goal: >= 30% of the ceiling)", flush=True)
            figures["epoch"] = rows
        if "threads" in args.parts:
            spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            try:
                one = _spawn(ROOT, ["--epoch-worker", str(first), "1", "2"], threads=1)
                two = _spawn(ROOT, ["--epoch-worker", str(first), "2", "2"], threads=2)
            finally:
                spin.kill()
                spin.wait()
            figures["threads_under_load"] = {"1": one, "2": two}
            print(f"[threads] AEGRU epoch with a busy loop on one core: 1 thread {one['epoch_s']:.2f} s, 2 threads "
                  f"{two['epoch_s']:.2f} s ({two['epoch_s'] / one['epoch_s']:.2f}x the 1-thread time); bench's default is 1 thread per job", flush=True)
        if "entries" in args.parts:
            rows = []
            plan = [(n, args.recordings[0]) for n in args.entries]
            plan += [(n, r) for r in args.recordings[1:] for n in args.entries if n in ("aegru", "gru")]
            for k, (name, rec) in enumerate(plan):
                order = (("after", ROOT), ("before", before)) if k % 2 else (("before", before), ("after", ROOT))
                got = {label: _spawn(tree, ["--worker", name, str(recs[rec]), str(args.seed), "1"]) for label, tree in order}
                rows.append({"entry": name, "recording": rec, **got})
                _print_row(name, rec, got)
            figures["entries"] = rows
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


def _print_row(name: str, rec: str, got: dict) -> None:
    b, a = got["before"], got["after"]
    r2 = " ".join(f"{v}: {b['r2'][v]:.3f} -> {a['r2'].get(v, float('nan')):.3f}" for v in b["r2"])
    print(f"[entries] {name:13s} {rec:10s} before {b['total_s']:6.1f} s ({b['cpu_s']:6.1f} CPU, {b['epochs']} ep)  "
          f"after {a['total_s']:6.1f} s ({a['cpu_s']:6.1f} CPU, {a['epochs']} ep)  speed-up {b['total_s'] / a['total_s']:.2f}x wall "
          f"{b['cpu_s'] / a['cpu_s']:.2f}x CPU | R2 {r2}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print(json.dumps(entry_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "--epoch-worker":
        print(json.dumps(epoch_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
    else:
        raise SystemExit(main())
