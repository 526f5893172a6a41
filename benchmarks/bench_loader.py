"""Load + bin one full-length reaching session: bench's reader vs NeuroBench's PrimateReaching.

Both run on the same .mat file, each in a fresh subprocess, and report wall time and peak
resident memory (the process's VmHWM: ``ru_maxrss`` is not used because Linux carries the
parent's high-water mark into a forked child; the RSS right after imports is shown too, since
NeuroBench's module pulls in torch). bench runs twice: on a file it has never seen (its md5 is
computed on a second thread while the file is parsed) and on a file whose md5 it remembers (every
later load; the binned cache is off in both). The parent then checks that inputs, labels and
split index sets are identical. Goal (issue 12, goal 5): >= 20x faster and <= 1/3 of the peak
memory; both ratios are printed from this one run.

    python benchmarks/bench_loader.py                      # synthetic sim_indy_1, 2,450 s, 96 ch
    python benchmarks/bench_loader.py --source poisson     # quick Poisson file, no generator
    python benchmarks/bench_loader.py --file data/indy_20160630_01.mat
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

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _status_mb(field: str) -> float:
    """A memory line of /proc/self/status in MB (VmRSS: now, VmHWM: peak of this process)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def poisson_session(
    seconds: float, n_ch: int, units: int = 5, rate_hz: float = 15.0, seed: int = 0
):
    """Random Poisson spikes (~rate_hz per channel over all units, ~half the cells empty)."""
    from bench.data.recording import RawReachingSession

    rng = np.random.default_rng(seed)
    k = int(round(seconds / 0.004))
    t = 148.984 + np.arange(k) * 0.004
    seg = np.repeat(np.arange(k // 600 + 1), 600)[:k]
    target = np.stack([np.sin(seg * 1.3), np.cos(seg * 0.7)], axis=1) * 80.0
    cursor = np.cumsum(rng.normal(scale=0.3, size=(k, 2)), axis=0)
    finger = np.column_stack([np.full(k, 2.0), -cursor / 10.0])
    share = np.array([0.55] + [0.45 / (units - 1)] * (units - 1))
    spikes = []
    for u in range(units):
        row = []
        for _ in range(n_ch):
            if u > 0 and rng.random() < 0.6:
                row.append(np.empty(0))
                continue
            n = rng.poisson(rate_hz * share[u] / 0.73 * (seconds + 6))  # 0.73: cells not emptied
            row.append(np.sort(rng.uniform(t[0] - 4, t[-1] + 2, n)))
        spikes.append(row)
    names = [f"M1 {i:03d}" for i in range(1, n_ch + 1)]
    return RawReachingSession(t, cursor, target, finger, spikes, names)


def make_file(out_dir: Path, source: str, seconds: float, n_ch: int) -> Path:
    from bench.data.matfile import write_reaching_mat

    if source in ("auto", "synth"):
        try:
            from dataclasses import replace

            from bench.data.synth_reaching import FULL_SCALE, generate

            cfg = replace(FULL_SCALE[0], duration_s=seconds, n_channels=n_ch)
            path = out_dir / f"indy_{cfg.name}_{int(seconds)}s.mat"  # NeuroBench wants 'indy'
            if not path.exists():
                print(f"generating {cfg.name} ({seconds:.0f} s, {n_ch} channels) ...", flush=True)
                write_reaching_mat(path, generate(cfg))
            return path
        except ImportError:
            if source == "synth":
                raise
    path = out_dir / f"indy_poisson_{int(seconds)}s_{n_ch}ch.mat"
    if not path.exists():
        print(f"writing a Poisson session ({seconds:.0f} s, {n_ch} channels) ...", flush=True)
        write_reaching_mat(path, poisson_session(seconds, n_ch))
    return path


WHICH = ("neurobench", "ours-first-sight", "ours-md5-known")


def worker(which: str, path: Path, dump: Path) -> None:
    """Runs in a fresh process: load once, print stats as JSON, then dump the outputs."""
    if which.startswith("ours"):
        from bench.data.reaching import load_reaching
    else:
        from neurobench.datasets import PrimateReaching
    rss0 = _status_mb("VmRSS")
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    if which.startswith("ours"):
        rec = load_reaching(path, cache=False)
        x, y, split = rec.spikes, rec.labels, rec.split  # spikes: the compact (T, C) uint8
    else:
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            nb = PrimateReaching(
                file_path=str(path.parent),
                filename=path.name,
                num_steps=1,
                train_ratio=0.5,
                bin_width=0.004,
                biological_delay=0,
                download=False,
            )
        k = nb.labels.shape[1]
        x, y = nb.samples.numpy()[:, :k].T, nb.labels.numpy().T  # views, no copies
        split = {"train": nb.ind_train, "val": nb.ind_val, "test": nb.ind_test}
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    peak = _status_mb("VmHWM")
    print(
        json.dumps(
            {
                "which": which,
                "wall_s": wall,
                "cpu_s": cpu,
                "peak_rss_mb": peak,
                "rss_after_imports_mb": rss0,
            }
        ),
        flush=True,
    )
    np.savez(
        dump,
        inputs=np.asarray(x, dtype=np.uint8),
        labels=np.asarray(y),
        **{s: np.asarray(v, dtype=np.int64) for s, v in split.items()},
    )


def run_worker(which: str, path: Path, dump: Path, cache: Path) -> dict:
    env = {**os.environ, "BENCH_CACHE": str(cache), "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    if which == "ours-md5-known":  # remember the file's md5 first, in another process
        code = "import sys; from bench.data.io import file_md5; file_md5(sys.argv[1])"
        subprocess.run([sys.executable, "-c", code, str(path)], env=env, check=True)
    cmd = [sys.executable, __file__, "--worker", which, "--file", str(path), "--dump", str(dump)]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--source", choices=("auto", "synth", "poisson"), default="auto")
    ap.add_argument("--seconds", type=float, default=2450.0)
    ap.add_argument("--channels", type=int, default=96)
    ap.add_argument("--file", type=Path, help="use this .mat file instead of generating one")
    ap.add_argument("--dir", type=Path, help="where to write the generated file (default: temp)")
    ap.add_argument("--repeats", type=int, default=1, help="runs per loader (best wall time kept)")
    ap.add_argument("--worker", choices=WHICH, help=argparse.SUPPRESS)
    ap.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.file, args.dump)
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = args.file or make_file(args.dir or tmp, args.source, args.seconds, args.channels)
        print(f"file: {path} ({path.stat().st_size / 1e6:.1f} MB)")
        stats = {}
        runs: dict[str, list[dict]] = {w: [] for w in WHICH}
        for i in range(args.repeats):  # alternate, so all see the same machine load
            for which in runs:
                cache = tmp / f"cache-{which}-{i}"
                runs[which].append(run_worker(which, path, tmp / f"{which}.npz", cache))
        stats = {
            w: {
                "wall_s": min(r["wall_s"] for r in rs),
                "cpu_s": min(r["cpu_s"] for r in rs),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in rs),
                "rss_after_imports_mb": max(r["rss_after_imports_mb"] for r in rs),
            }
            for w, rs in runs.items()
        }
        b = np.load(tmp / "neurobench.npz")
        same = {}
        for which in WHICH[1:]:
            a = np.load(tmp / f"{which}.npz")
            for key in ("inputs", "labels", "train", "val", "test"):
                same[f"{which}:{key}"] = bool(np.array_equal(a[key], b[key]))
        print(
            f"samples: {b['inputs'].shape[0]}, channels: {b['inputs'].shape[1]}, "
            f"test samples: {b['test'].size}, spikes binned: {int(b['inputs'].sum())}"
        )
        print(f"best of {args.repeats} runs each (wall and CPU time of the load itself)")
        print(
            f"{'loader':<18}{'wall (s)':>10}{'CPU (s)':>10}{'peak RSS (MB)':>15}{'RSS after imports':>19}"
            f"{'speed-up (wall)':>17}{'peak RSS ratio':>16}"
        )
        nb = stats["neurobench"]
        for which, s in stats.items():
            print(
                f"{which:<18}{s['wall_s']:>10.2f}{s['cpu_s']:>10.2f}{s['peak_rss_mb']:>15.0f}"
                f"{s['rss_after_imports_mb']:>19.0f}{nb['wall_s'] / s['wall_s']:>16.1f}x"
                f"{s['peak_rss_mb'] / nb['peak_rss_mb']:>16.2f}"
            )
        for which in WHICH[1:]:
            s = stats[which]
            print(
                f"{which}: speed-up {nb['wall_s'] / s['wall_s']:.1f}x wall, "
                f"{nb['cpu_s'] / s['cpu_s']:.1f}x CPU (goal >= 20x); peak memory ratio "
                f"{s['peak_rss_mb'] / nb['peak_rss_mb']:.2f} (goal <= 0.33)"
            )
        print(f"identical outputs: {all(same.values())} ({len(same)} arrays compared)")
        if not all(same.values()):
            print("FAIL: outputs differ", file=sys.stderr)
            return 1
        return 0


if __name__ == "__main__":
    sys.exit(main())
