"""Measured latency and real-time factor of one streaming step, proved against the harness.

A step is what a device does when one new sample arrives (``bench.deploy.steppers``):

- reaching, windowed entries: one 4 ms sample in, windows updated by running sums, one velocity out;
- reaching, streaming entries: one 4 ms sample in, the model's state carried, one velocity out;
- grasp entries: one 40 ms bin in (the 12-bin window slides by one bin), one classification out.

Protocol: torch limited to ONE thread, inference mode, batch 1. The first ``warmup`` steps of the
test stream are run untimed, then at least ``n_steps`` consecutive steps are timed one by one
(perf_counter_ns). Figures: p50 / p99 / mean / max in microseconds and the real-time factor
RTF = p99 / step period (4 ms reaching, 40 ms grasp); RTF < 1 keeps up with the stream.

The measurement proves itself: every streamed output (warm-up and timed steps) is compared with
the batched predictions the harness scores (|diff| <= atol + rtol * |batched|, 1e-5 each); for
windowed entries the running-sum windows must also equal the harness's windows bit for bit. A
failed proof raises ``LatencyProofError`` with the figures of the mismatch: no latency is stored.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from collections.abc import Callable, Iterator
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from bench.deploy.steppers import BinStepper, StateStepper, WindowStepper
from bench.windows import window_sums

STEP_S = {"reaching": 0.004, "grasp-object": 0.040, "grasp-phase": 0.040}
STEP_TEXT = {
    "reaching-windowed": "one 4 ms sample in, running window sums updated (ring buffer), one velocity out; batch 1",
    "reaching-streaming": "one 4 ms sample in, model state carried (init_state/step), one velocity out; batch 1",
    "grasp": "one 40 ms bin in (the window slides by one bin, ring buffer), the whole window classified; batch 1",
}
N_STEPS = 2000
ATOL = RTOL = 1e-5


class LatencyProofError(AssertionError):
    """Streamed outputs differ from the batched ones: the latency figures are not stored."""


@lru_cache(maxsize=1)
def machine() -> dict:
    """The machine a latency was measured on."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "threads": 1,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
    }


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            yield
    finally:
        torch.set_num_threads(before)


def time_steps(step: Callable[[np.ndarray], torch.Tensor], samples: list[np.ndarray], timed: list[bool], max_seconds: float, warmup: int = 0) -> tuple[list[torch.Tensor], np.ndarray, bool]:
    """Run ``step`` over ``samples``; the ones flagged in ``timed`` are timed one by one.

    Returns the outputs of the flagged steps, their durations (ns) and whether the time cap
    (``max_seconds`` from the start) stopped the run early; the cap never stops it before
    ``warmup`` + 1 flagged steps."""
    outs: list[torch.Tensor] = []
    times: list[int] = []
    clock = time.perf_counter_ns
    deadline = clock() + int(max_seconds * 1e9)
    capped = False
    for x, flag in zip(samples, timed):
        if not flag:
            step(x)
            continue
        t0 = clock()
        y = step(x)
        t1 = clock()
        outs.append(y)
        times.append(t1 - t0)
        if t1 > deadline and len(times) > warmup:
            capped = True
            break
    return outs, np.asarray(times, dtype=np.int64), capped


def _left(start: float, max_seconds: float) -> float:
    return max(0.0, max_seconds - (time.perf_counter() - start))


def _figures(times_ns: np.ndarray, period_s: float) -> dict:
    us = times_ns / 1e3
    p50, p99 = float(np.percentile(us, 50)), float(np.percentile(us, 99))
    return {
        "p50_us": p50,
        "p99_us": p99,
        "mean_us": float(us.mean()),
        "max_us": float(us.max()),
        "rtf_p99": p99 / (period_s * 1e6),
        "rtf_p50": p50 / (period_s * 1e6),
        "period_ms": period_s * 1e3,
    }


def check_equal(streamed: torch.Tensor, batched: torch.Tensor, what: str, atol: float = ATOL, rtol: float = RTOL) -> dict:
    """Compare streamed and batched outputs sample by sample; raise when any sample differs."""
    streamed, batched = streamed.float().reshape(len(streamed), -1), batched.float().reshape(len(batched), -1)
    if streamed.shape != batched.shape:
        raise LatencyProofError(f"{what}: streamed outputs {tuple(streamed.shape)} vs batched {tuple(batched.shape)}")
    diff = (streamed - batched).abs()
    bad = (diff > atol + rtol * batched.abs()).any(1)
    proof = {"n_compared": int(len(diff)), "max_abs_diff": float(diff.max()) if diff.numel() else 0.0, "atol": atol, "rtol": rtol}
    if bad.any():
        first = int(bad.nonzero()[0])
        raise LatencyProofError(
            f"{what}: streamed predictions differ from the batched ones at {int(bad.sum())} of {len(diff)} "
            f"samples (first at step {first}, max |diff| {proof['max_abs_diff']:.3g} > {atol:g} + {rtol:g}*|batched|)"
        )
    return proof


# --- reaching ------------------------------------------------------------------------------------


def reaching_latency(model: nn.Module, data, entry, split: str = "test", n_steps: int = N_STEPS, warmup: int = 200, max_seconds: float = 20.0) -> dict:
    """Latency of one 4 ms step of a reaching entry on the ``split`` stream of ``data``
    (a ``bench.tasks.reaching.ReachingData``). ``max_seconds`` bounds the whole measurement
    (reference predictions included); the timed steps stop when it is spent (after the warm-up)."""
    start = time.perf_counter()
    model = model.eval()
    idx = np.asarray(data.indices(split), dtype=np.int64)
    m = min(len(idx), warmup + n_steps)
    if m <= warmup:
        raise ValueError(f"the {split} stream has {len(idx)} samples; latency needs more than the {warmup} warm-up steps")
    if entry.streaming:
        x, _ = data.stream(split)
        x = x[:m].contiguous()
        with one_thread():
            ref = model(x.unsqueeze(0))
            ref = ref[0] if ref.dim() == 3 else ref
            stepper = StateStepper(model)
            outs, times, capped = time_steps(stepper, list(x.numpy()), [True] * m, _left(start, max_seconds), warmup)
        n = len(outs)
        proof = check_equal(torch.stack(outs), ref[:n], f"entry {entry.name!r}")
        kind = "reaching-streaming"
    else:
        spec = data.windows
        lo, hi = int(idx[0]), int(idx[m - 1]) + 1
        spikes = data.recording.spikes
        raw = spikes[lo:hi].astype(np.float32)
        pre = spikes[max(0, lo - spec.span):lo].astype(np.float32) if data.prime else raw[:0]
        unprimed = not data.prime
        stepper = WindowStepper(model, spec, raw.shape[1], warmup_zeros=spec.span - 1 if (data.warmup_zeros and unprimed) else 0, n_outputs=data.n_outputs)
        start_windows = _buffer_start_windows(raw, spec, m) if (data.buffer_start and unprimed) else {}
        emit = np.zeros(hi - lo, dtype=bool)
        emit[idx[:m] - lo] = True
        windows: list[np.ndarray] = []

        def step(sample: np.ndarray) -> torch.Tensor:
            w = stepper.push(sample)
            w = start_windows.get(stepper.i - 1, w)  # NeuroBench's growing start buffer (untimed warm-up only)
            windows.append(w)
            return stepper.predict(w)

        with one_thread():
            for s in pre:
                stepper.push(s)
            post = data.warmup_postprocessor()
            ref = post(model(data.x(split)[:m]))
            windows.clear()
            outs, times, capped = time_steps(step, list(raw), list(emit), _left(start, max_seconds), warmup)
        n = len(outs)
        got = np.stack([w for w, e in zip(windows, emit) if e][:n])
        want = data.x(split)[:n].numpy()
        if not np.array_equal(got, want):
            bad = np.flatnonzero((got != want).reshape(n, -1).any(1))
            raise LatencyProofError(f"entry {entry.name!r}: running-sum windows differ from the harness's at {len(bad)} of {n} samples (first at step {bad[0]})")
        proof = check_equal(torch.stack(outs), ref[:n], f"entry {entry.name!r}") | {"windows_bit_equal": True}
        kind = "reaching-windowed"
    return _record(times, STEP_S["reaching"], kind, proof, n_steps, warmup, capped)


def _buffer_start_windows(raw: np.ndarray, spec, m: int) -> dict[int, np.ndarray]:
    """Windows of the first span-2 samples under NeuroBench's growing start buffer (bench.windows)."""
    first = min(m, max(0, spec.span - 2))
    if first == 0:
        return {}
    w = window_sums(raw[: spec.span], spec, np.arange(first), buffer_start=True)
    return {i: w[i] for i in range(first)}


# --- grasp ---------------------------------------------------------------------------------------


def grasp_latency(model: nn.Module, data, entry, split: str = "test", n_steps: int = N_STEPS, warmup: int = 50, max_seconds: float = 20.0) -> dict:
    """Latency of one 40 ms step of a grasp entry: one new bin, one classification of the window.

    The test windows are taken in order; where a window is its predecessor shifted by one bin
    the step pushes only the new bin, otherwise (a new trial) the ring is refilled untimed and
    only the push of the window's last bin and the classification are timed."""
    start = time.perf_counter()
    model = model.eval()
    n_all = data.size(split)
    m = min(n_all, warmup + n_steps)
    if m <= warmup:
        raise ValueError(f"the {split} split has {n_all} windows; latency needs more than the {warmup} warm-up steps")
    x = data.x(split)[:m].numpy()  # (m, T, U)
    T = x.shape[1]
    follows = np.zeros(m, dtype=bool)
    follows[1:] = (x[1:, :-1] == x[:-1, 1:]).reshape(m - 1, -1).all(1)
    samples, flags = [], []
    for j in range(m):
        if not follows[j]:
            samples.extend(x[j, :-1])
            flags.extend([False] * (T - 1))
        samples.append(x[j, -1])
        flags.append(True)
    stepper = BinStepper(model, T, x.shape[2])
    with one_thread():
        ref = model(torch.from_numpy(x))
        outs, times, capped = time_steps(stepper, samples, flags, _left(start, max_seconds), warmup)
    n = len(outs)
    streamed = torch.stack(outs)
    proof = check_equal(streamed, ref[:n], f"entry {entry.name!r}")
    if not torch.equal(streamed.argmax(-1), ref[:n].argmax(-1)):
        raise LatencyProofError(f"entry {entry.name!r}: streamed classes differ from the batched ones")
    proof["windows_refilled"] = int((~follows[:n]).sum())
    return _record(times, STEP_S[entry.task], "grasp", proof, n_steps, warmup, capped)


def _record(times: np.ndarray, period_s: float, kind: str, proof: dict, n_steps: int, warmup: int, capped: bool) -> dict:
    """Figures of the steps after the warm-up (the warm-up steps are timed but left out)."""
    times = times[warmup:]
    if len(times) == 0:
        raise ValueError(f"no step was timed after the {warmup} warm-up steps (time cap reached during the warm-up)")
    out = {"step": STEP_TEXT[kind], "n_timed": int(len(times)), "warmup_steps": warmup, **_figures(times, period_s), "proof": proof, "machine": machine()}
    if len(times) < n_steps:
        out["note"] = f"{len(times)} steps timed (fewer than {n_steps}: " + ("time cap reached)" if capped else "short test stream)")
    return out


def measure_latency(model: nn.Module, data, entry, **kw) -> dict:
    """Latency of ``entry``'s step on its test stream (reaching or grasp)."""
    if entry.task == "reaching":
        return reaching_latency(model, data, entry, **kw)
    if entry.task in ("grasp-object", "grasp-phase"):
        return grasp_latency(model, data, entry, **kw)
    raise ValueError(f"no latency protocol for task {entry.task!r}")
