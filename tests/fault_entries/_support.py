"""Helpers shared by test_parallel, test_faults and test_bad_inputs (not an entry module:
discovery skips names starting with ``_``)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

FAULT_DIR = Path(__file__).resolve().parent
BROKEN_DIR = FAULT_DIR / "broken"
SOURCES = {
    "fault_tiny": "tiny_linear.py",
    "fault_killed": "killer.py",
    "fault_raises": "raiser.py",
    "fault_shape": "bad_outputs.py",
    "fault_nan": "bad_outputs.py",
    "fault_gated": "gated.py",
    **{name: "hostile.py" for name in ("fault_leaky", "fault_exits", "fault_writes", "fault_aliases", "fault_report", "fault_interrupt")},
}
TINY_NAME = "tiny_reach"


def entry(name: str):
    """A fault entry, (re)registered from its file (the registry is restored between tests)."""
    from bench.registry import load_entry

    return load_entry(name, FAULT_DIR / SOURCES[name])


@contextlib.contextmanager
def hermetic(base: Path) -> Iterator[None]:
    """The environment conftest gives each test, for fixtures wider than one test."""
    old = {k: os.environ.get(k) for k in ("BENCH_CACHE", "BENCH_RESULTS", "BENCH_PROGRESS")}
    os.environ.update({"BENCH_CACHE": str(base / "bench-cache"), "BENCH_RESULTS": str(base / "bench-results"), "BENCH_PROGRESS": "0"})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def tiny_mat(base: Path) -> Path:
    """A small learnable Zenodo-layout reaching file (24 channels, 40 s), written once per session."""
    from bench.data.matfile import write_reaching_mat
    from bench.data.synth_reaching import SynthConfig, generate

    path = base / "fault-data" / f"{TINY_NAME}.mat"
    if not path.is_file():
        cfg = SynthConfig(TINY_NAME, n_channels=24, duration_s=40.0, seed=1, tuning_depth=1.5, rate_median_hz=20.0, t_start_s=120.0)
        write_reaching_mat(path, generate(cfg))
    return path


def ref(path: Path, name: str | None = None):
    from bench.data.recording import RecordingRef

    return RecordingRef(name or Path(path).stem, Path(path), True)


def spec(name: str, recording: Path, seed: int = 0, variants: list[str] | None = None, **kw):
    from bench.execution import RunSpec

    e = entry(name)
    return RunSpec(e, variants or e.variant_names(), ref(recording), seed=seed, tag=kw.pop("tag", "test"), **kw)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every stored file's bytes (temporary files included: none may be left behind)."""
    root = Path(root)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()} if root.exists() else {}


def metrics_by_row(root: Path) -> dict[tuple, dict]:
    """{(row, recording, seed): metrics} of every ok result under ``root``."""
    from bench import results as store

    return {(r["row"], r["recording"], r["seed"]): r["metrics"] for r in store.load(root, tag=None) if r["status"] == "ok"}
