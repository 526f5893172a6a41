"""Does the reaching data path scale linearly with session length? Default vs full-length sessions.

For one synthetic session at the default length (sim_indy_1: 300 s) and at the real length
(``--scale full``: 2,450 s, 96 channels), a fresh subprocess each time:

* loads it (``load_reaching``, binned cache off) and
* prepares every split's windows for three entries' inputs (AEGRU 5 x 20 samples with the
  log-softplus transform, ANN3D 7 x 7 with NeuroBench's start-of-stream buffer, ANN2D 1 x 50),

and reports wall time, CPU time and peak resident memory (VmHWM of the subprocess, so no parent
state is counted; the RSS after imports is shown too: torch alone is ~250 MB). The last lines
print the full/default ratio of each cost next to the ratio of the lengths: linear scaling means
the cost ratio is at most the length ratio. Goal (issue 12, goal 6): nothing grows faster than T.

Each size is measured twice, in fresh processes: "cold" as a user's process runs, and "warm",
after the process touched ``--warm-mb`` of memory and freed it. On a virtual machine (this one),
the first touch of guest memory the host has not backed yet costs milliseconds per MB, which is
charged to whichever allocation is the largest; the warm run shows the algorithm's own cost.
Peak memory is taken from the cold run (the warm-up would count in it otherwise).

``--tree DIR`` runs the same measurement against another checkout (e.g. the code before a
change, from ``git archive``), for before/after tables.

    python benchmarks/bench_scale.py                    # generates both sessions in a temp folder
    python benchmarks/bench_scale.py --dir /tmp/scale   # keep the generated files for the next run
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

REPO = Path(__file__).resolve().parent.parent
SESSION = "sim_indy_1"
ENTRIES = {  # name -> (ws, n, lag, transform, buffer_start)
    "aegru": (20, 5, 0, "log_softplus", False),
    "ann3d": (7, 7, 1, None, True),
    "ann2d": (50, 1, 0, None, False),
}


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def worker(path: Path, warm_mb: int) -> None:
    """In a fresh process: load, then window every split for each entry; print JSON stats."""
    import numpy as np

    from bench.data.reaching import load_reaching
    from bench.tasks.reaching import ReachingData
    from bench.windows import Windows

    if warm_mb:
        warm = np.ones(warm_mb << 20, dtype=np.uint8)
        del warm
    rss0 = _status_mb("VmRSS")
    t0, c0 = time.perf_counter(), time.process_time()
    rec = load_reaching(path, cache=False)
    out = {"samples": int(rec.n_samples), "channels": int(rec.n_channels),
           "load_s": time.perf_counter() - t0, "load_cpu_s": time.process_time() - c0,
           "rss_after_imports_mb": rss0, "peak_after_load_mb": _status_mb("VmHWM")}
    for name, (ws, n, lag, transform, buffer_start) in ENTRIES.items():
        data = ReachingData(rec, Windows(ws=ws, n=n, lag=lag, transform=transform), buffer_start=buffer_start)
        t0, c0 = time.perf_counter(), time.process_time()
        xs = [data.x(split) for split in ("train", "val", "test")]
        out[f"{name}_windows_s"] = time.perf_counter() - t0
        out[f"{name}_windows_cpu_s"] = time.process_time() - c0
        out[f"{name}_windows_mb"] = sum(x.numel() * x.element_size() for x in xs) / 2**20
        out[f"{name}_check"] = float(np.float64(sum(float(x.sum()) for x in xs)))
        del data, xs
    out["peak_mb"] = _status_mb("VmHWM")
    print(json.dumps(out), flush=True)


def make_files(out_dir: Path) -> dict[str, Path]:
    """sim_indy_1 at the default and the full length, written by bench's generator."""
    sys.path.insert(0, str(REPO))
    from bench.data.synth_reaching import _configs, ensure_sessions

    paths = {}
    for scale in ("default", "full"):
        (cfg,) = _configs(scale, names=[SESSION])
        print(f"session {scale}: {cfg.duration_s:g} s, {cfg.n_channels} channels", flush=True)
        (paths[scale],) = ensure_sessions(out_dir / scale, [cfg])
    return paths


def run(path: Path, tree: Path, cache: Path, warm_mb: int) -> dict:
    env = {**os.environ, "BENCH_CACHE": str(cache), "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1",
           "BENCH_PROGRESS": "0"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(path), "--warm-mb", str(warm_mb)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tree)
    if res.returncode != 0:
        raise RuntimeError(f"worker failed on {path}:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, help="where to write (or find) the two sessions (default: temp)")
    ap.add_argument("--tree", type=Path, default=REPO, help="checkout whose bench is measured")
    ap.add_argument("--warm-mb", type=int, default=3000, help="memory the warm runs touch first (MB)")
    ap.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.warm_mb)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        files = make_files(args.dir or Path(tmp))
        print(f"measuring {args.tree}")
        tree = args.tree.resolve()
        cold = {sc: run(p, tree, Path(tmp) / f"cache-c-{sc}", 0) for sc, p in files.items()}
        warm = {sc: run(p, tree, Path(tmp) / f"cache-w-{sc}", args.warm_mb) for sc, p in files.items()}
    length = cold["full"]["samples"] / cold["default"]["samples"]
    print(f"{'':<30}{'default':>10}{'full':>10}{'ratio':>8}   {'default':>10}{'full':>10}{'ratio':>8}")
    print(f"{'':<30}{'cold process':^28}   {'warm memory':^28}")
    print(f"{'samples (T)':<30}{cold['default']['samples']:>10,}{cold['full']['samples']:>10,}{length:>8.2f}")
    keys = [("load", "load")] + [(f"{e} windows", f"{e}_windows") for e in ENTRIES]
    worst = []
    for label, key in keys:
        for unit, suffix in (("wall s", "_s"), ("CPU s", "_cpu_s")):
            c, w = (cold["default"][key + suffix], cold["full"][key + suffix]), (warm["default"][key + suffix], warm["full"][key + suffix])
            print(f"{label + ' (' + unit + ')':<30}{c[0]:>10.2f}{c[1]:>10.2f}{c[1] / c[0]:>8.2f}   "
                  f"{w[0]:>10.2f}{w[1]:>10.2f}{w[1] / w[0]:>8.2f}")
            if suffix == "_cpu_s":
                worst.append((w[1] / w[0], label))
    d, f = cold["default"], cold["full"]
    for label, key in (("peak RSS after load (MB)", "peak_after_load_mb"), ("peak RSS, all (MB)", "peak_mb")):
        print(f"{label:<30}{d[key]:>10.0f}{f[key]:>10.0f}{f[key] / d[key]:>8.2f}")
    grow_d, grow_f = d["peak_mb"] - d["rss_after_imports_mb"], f["peak_mb"] - f["rss_after_imports_mb"]
    print(f"{'peak RSS above imports (MB)':<30}{grow_d:>10.0f}{grow_f:>10.0f}{grow_f / grow_d:>8.2f}")
    out_mb = sum(f[f"{e}_windows_mb"] for e in ENTRIES)
    print(f"window arrays produced at full length: {out_mb:.0f} MB in all (the entries' inputs themselves)")
    top = max(worst)
    print(f"length ratio {length:.2f}; largest CPU-time ratio (warm) {top[0]:.2f} ({top[1]}); "
          f"peak memory above imports ratio {grow_f / grow_d:.2f} (linear: <= {length:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
