"""The plain values that leave the data layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class RecordingRef:
    """A recording to run on: a name, where its file is, and whether it is synthetic."""

    name: str
    path: Path
    synthetic: bool


@dataclass(frozen=True, eq=False)
class Recording:
    """One primate-reaching session, binned on the 4 ms grid, ready for windowing.

    ``inputs[i]`` and ``labels[i]`` belong to the same 4 ms sample i (NeuroBench's convention).
    """

    name: str  # session name, e.g. "indy_20160630_01" or "sim_indy_1"
    inputs: np.ndarray  # (T, C) float32: binary (any unit fired) or spike counts per 4 ms bin
    labels: np.ndarray  # (T, 2) float32: cursor velocity x, y in mm per 4 ms sample
    segments: np.ndarray  # (S, 2) int64: [start, stop) sample indices of each reach
    split: dict[str, np.ndarray]  # "train" | "val" | "test" -> sorted int64 sample indices
    channel_names: tuple[str, ...]
    identity: dict  # {"source": "file", "md5": ...} or {"source": "synthetic", "seed": ..., ...}
    input_mode: str = "binary"  # "binary" (NeuroBench) or "counts"
    bin_width: float = 0.004
    train_ratio: float = 0.5
    extra: dict = field(default_factory=dict)

    @property
    def n_channels(self) -> int:
        return int(self.inputs.shape[1])

    @property
    def n_samples(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def synthetic(self) -> bool:
        return self.identity.get("source") == "synthetic"


@dataclass(frozen=True, eq=False)
class RawReachingSession:
    """What a Zenodo reaching file holds, in MATLAB's orientation already undone.

    This is what the synthetic generator produces and what ``bench.data.matfile`` writes.
    """

    t: np.ndarray  # (k,) float64 seconds, exact 4 ms grid, starting far from 0
    cursor_pos: np.ndarray  # (k, 2) float64 mm
    target_pos: np.ndarray  # (k, 2) float64 mm
    finger_pos: np.ndarray  # (k, 3) or (k, 6) float64 cm: z, -x, -y[, azimuth, elevation, roll]
    spikes: list[list[np.ndarray]]  # [unit_row][channel] -> 1-D float64 spike times (s); may be empty
    chan_names: list[str]  # e.g. ["M1 001", ...]
    attrs: dict = field(default_factory=dict)  # provenance written next to the data (synthetic only)
