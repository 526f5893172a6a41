"""One run cannot affect another: clean process-wide state per run, read-only recordings.

:func:`isolated` starts every run from the same state whatever ran before it in the process
(torch default dtype and device, grad mode, anomaly detection, deterministic algorithms,
float32 matmul precision, torch threads, numpy error handling, working directory) and restores
the caller's state, RNGs included, afterwards.

:func:`freeze` makes every numpy array of a loaded recording read-only (an entry writing into
its inputs gets numpy's "assignment destination is read-only" error), and :func:`digest`
fingerprints those arrays so the runner can prove after a run that nothing wrote into them by
another route (e.g. a tensor sharing their memory).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

CLEAN_NP_ERR = {"divide": "warn", "over": "warn", "under": "ignore", "invalid": "warn"}  # numpy's defaults


@dataclass
class ProcessState:
    """The process-wide settings a run could change."""

    dtype: torch.dtype
    grad: bool
    anomaly: bool
    anomaly_nan: bool
    deterministic: bool
    deterministic_warn_only: bool
    matmul_precision: str
    threads: int
    np_err: dict
    cwd: str
    device: Any = None
    cudnn: tuple = ()
    rng: tuple = ()  # (torch, numpy, python) RNG states; None in a clean state


def capture(rng: bool = True) -> ProcessState:
    """The current process state."""
    return ProcessState(
        dtype=torch.get_default_dtype(),
        grad=torch.is_grad_enabled(),
        anomaly=torch.is_anomaly_enabled(),
        anomaly_nan=torch.is_anomaly_check_nan_enabled(),
        deterministic=torch.are_deterministic_algorithms_enabled(),
        deterministic_warn_only=torch.is_deterministic_algorithms_warn_only_enabled(),
        matmul_precision=torch.get_float32_matmul_precision(),
        threads=torch.get_num_threads(),
        np_err=dict(np.geterr()),
        cwd=os.getcwd(),
        device=torch.get_default_device() if hasattr(torch, "get_default_device") else None,
        cudnn=(torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark, torch.backends.cudnn.enabled),
        rng=(torch.get_rng_state(), np.random.get_state(), random.getstate()) if rng else (),
    )


def clean(threads: int, cwd: str) -> ProcessState:
    """The state every run starts from."""
    return ProcessState(
        dtype=torch.float32, grad=True, anomaly=False, anomaly_nan=True, deterministic=False,
        deterministic_warn_only=False, matmul_precision="highest", threads=max(1, int(threads)),
        np_err=dict(CLEAN_NP_ERR), cwd=cwd, device=None, cudnn=(False, False, True), rng=(),
    )


def apply(state: ProcessState) -> None:
    """Make ``state`` the process's state (RNGs only when it carries them)."""
    torch.set_default_dtype(state.dtype)
    torch.set_grad_enabled(state.grad)
    torch.set_anomaly_enabled(state.anomaly, state.anomaly_nan)
    torch.use_deterministic_algorithms(state.deterministic, warn_only=state.deterministic_warn_only)
    torch.set_float32_matmul_precision(state.matmul_precision)
    if torch.get_num_threads() != state.threads:
        torch.set_num_threads(state.threads)
    np.seterr(**state.np_err)
    if hasattr(torch, "get_default_device") and torch.get_default_device() != (state.device or torch.device("cpu")):
        # cpu means "no default-device mode" (installing one would slow every factory call)
        torch.set_default_device(None if state.device is None or state.device.type == "cpu" else state.device)
    if state.cudnn:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark, torch.backends.cudnn.enabled = state.cudnn
    with contextlib.suppress(OSError):
        if os.getcwd() != state.cwd:
            os.chdir(state.cwd)
    if state.rng:
        torch.set_rng_state(state.rng[0])
        np.random.set_state(state.rng[1])
        random.setstate(state.rng[2])


@contextlib.contextmanager
def isolated(threads: int | None = None) -> Iterator[ProcessState]:
    """Run the body from the clean state (``threads`` torch threads; default: the caller's
    count) and give the caller its own state back afterwards, whatever the body did."""
    before = capture()
    start = clean(threads or before.threads, before.cwd)
    apply(start)
    try:
        yield start
    finally:
        apply(before)


# --- read-only recordings -------------------------------------------------------------------


def _arrays(obj: Any, depth: int = 0) -> Iterator[np.ndarray]:
    """The numpy arrays reachable from a recording (dataclass fields, dicts, lists, tuples)."""
    if depth > 4:
        return
    if isinstance(obj, np.ndarray):
        yield obj
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from _arrays(getattr(obj, f.name, None), depth + 1)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _arrays(v, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in obj[:64]:
            yield from _arrays(v, depth + 1)
    elif hasattr(obj, "__dict__") and type(obj).__module__.startswith("bench."):
        for v in vars(obj).values():
            yield from _arrays(v, depth + 1)


def freeze(recording: Any) -> Any:
    """Mark every numpy array of ``recording`` read-only; returns it."""
    for arr in _arrays(recording):
        arr.flags.writeable = False
    return recording


def _owner(arr: np.ndarray) -> np.ndarray:
    """The array whose memory ``arr`` views (itself if it owns it); also through the
    wrapper numpy's ``as_strided`` / ``sliding_window_view`` keep as ``base``."""
    while True:
        base = arr.base
        if not isinstance(base, np.ndarray):
            base = getattr(base, "base", None)
        if not isinstance(base, np.ndarray):
            return arr
        arr = base


def digest(recording: Any) -> str:
    """Fingerprint of the bytes of every array of ``recording``: each view is followed to the
    array that owns its memory, and each owner is hashed once (a sliding-window view over a
    session's bins would otherwise be copied out, window times the session's size)."""
    h = hashlib.blake2b(digest_size=16)
    seen: set[int] = set()
    for arr in _arrays(recording):
        arr = _owner(arr)
        if id(arr) in seen:
            continue
        seen.add(id(arr))
        h.update(str((arr.dtype.str, arr.shape)).encode())
        data = np.ascontiguousarray(arr)
        h.update(memoryview(data).cast("B") if data.size else b"")  # an empty (0, k) array cannot be cast
    return h.hexdigest()
