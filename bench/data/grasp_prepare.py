"""The grasp paper's pipeline on a binned ``GraspRecording`` (REFERENCE.md section 7).

``prepare`` keeps correct trials with obj < 85, merges identical objects, drops rare objects,
splits trials per object (stratified), cuts 12-bin sliding windows and labels them grasp/rest
and by object. The windows are never materialised: ``WindowArray`` cuts the batches asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.data.grasp import GraspDataError, GraspRecording

OBJECT_MERGES = {11: 41, 13: 34, 14: 44, 16: 25, 12: 54}  # identical objects under two ids
MAX_OBJECT_ID = 85  # objects >= 85 are excluded by the paper
MIN_TRIALS_PER_OBJECT = 3


class WindowArray:
    """(W, window, U) float32 windows, cut on demand from the binned trials (no 2 GB copy).

    Indexing with an int, a slice, an index array or a boolean mask returns a float32 numpy
    array (the compact counts converted for that batch only); ``np.asarray(x)`` materialises
    all windows.
    """

    def __init__(self, counts: np.ndarray, starts: np.ndarray, window: int):
        self._view = np.lib.stride_tricks.sliding_window_view(counts, window, axis=0)  # (T', U, w)
        self.counts = counts  # (T', U) binned trials: window w is rows starts[w] .. starts[w] + window - 1
        self.starts = starts  # (W,) int64 first bin of each window in ``counts``
        self.window = window
        self.shape = (len(starts), window, counts.shape[1])
        self.dtype = np.dtype(np.float32)
        self.ndim = 3

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, idx) -> np.ndarray:
        if isinstance(idx, tuple):
            return self[idx[0]][(slice(None),) + idx[1:]]
        sel = self.starts[idx]
        return np.swapaxes(self._view[sel], -1, -2).astype(np.float32, order="C")  # (..., window, U)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self[np.arange(len(self))]
        return out if dtype is None else out.astype(dtype)


@dataclass(frozen=True, eq=False)
class GraspSet:
    """The windows of one recording, labelled for phase detection and object classification."""

    name: str
    x: WindowArray  # (W, window, U) float32 spike counts per 40 ms bin
    is_grasp: np.ndarray  # (W,) bool: the window's last bin lies in [Hold, Rew)
    obj: np.ndarray  # (W,) int64 object id after merging
    label: np.ndarray  # (W,) int64 index into ``classes``
    trial: np.ndarray  # (W,) int64 trial index in the GraspRecording
    split: dict[str, np.ndarray]  # "train" | "val" | "test" -> sorted window indices
    classes: np.ndarray  # (K,) int64 sorted object ids
    identity: dict
    n_units: int
    window: int = 12
    trial_split: dict | None = None  # "train" | "val" | "test" -> sorted trial indices

    @property
    def n_classes(self) -> int:
        return int(len(self.classes))

    def indices(self, split: str, grasp_only: bool = False) -> np.ndarray:
        """Window indices of a split ("train", "val", "test", "trainval"); grasp windows only
        for the object classification set."""
        if split == "trainval":
            idx = np.union1d(self.split["train"], self.split["val"])
        else:
            idx = self.split[split]
        return idx[self.is_grasp[idx]] if grasp_only else idx


def merged_objects(obj: np.ndarray) -> np.ndarray:
    """Object ids with identical objects mapped to one id (11->41, 13->34, 14->44, 16->25, 12->54)."""
    out = np.asarray(obj, dtype=np.int64).copy()
    for src, dst in OBJECT_MERGES.items():
        out[obj == src] = dst
    return out


def _round_half_up(x: float) -> int:
    return int(np.floor(x + 0.5))


def split_trials(obj: np.ndarray, *, test_share: float = 0.2, val_share: float = 0.2,
                 trainval_share: float | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """Positions 0..N-1 of trials split per object: test first, then validation of the rest.

    ``trainval_share`` (Table 5) keeps only that share of each object's trials for train +
    validation, from the same shuffled order, so smaller shares are subsets of larger ones and
    the test set does not change.
    """
    if not 0 < test_share < 1 or not 0 <= val_share < 1:
        raise ValueError(f"test_share {test_share} must be in (0, 1), val_share {val_share} in [0, 1)")
    if trainval_share is not None and not 0 < trainval_share <= 1 - test_share + 1e-9:
        raise ValueError(f"trainval_share {trainval_share} must be in (0, 1 - test_share = "
                         f"{1 - test_share:g}]")
    rng = np.random.default_rng(seed)
    parts: dict[str, list] = {"train": [], "val": [], "test": []}
    for o in np.unique(obj):
        pos = rng.permutation(np.flatnonzero(obj == o))
        n = len(pos)
        n_test = _round_half_up(test_share * n)
        rest = pos[n_test:]
        if trainval_share is not None:
            rest = rest[: min(len(rest), _round_half_up(trainval_share * n))]
        n_val = _round_half_up(val_share * len(rest))
        parts["test"].append(pos[:n_test])
        parts["val"].append(rest[:n_val])
        parts["train"].append(rest[n_val:])
    return {k: np.sort(np.concatenate(v)).astype(np.int64) if v else np.zeros(0, np.int64)
            for k, v in parts.items()}


def prepare(rec: GraspRecording, *, window: int = 12, test_share: float = 0.2,
            val_share: float = 0.2, trainval_share: float | None = None,
            seed: int = 0) -> GraspSet:
    """The paper's pipeline: filter, merge, drop rare objects, split trials, cut windows."""
    if window < 1:
        raise ValueError(f"window must be >= 1 bin, not {window}")
    obj = merged_objects(rec.obj)
    keep = rec.correct & (rec.obj < MAX_OBJECT_ID)
    ids, n_per = np.unique(obj[keep], return_counts=True)
    keep &= np.isin(obj, ids[n_per >= MIN_TRIALS_PER_OBJECT])
    kept = np.flatnonzero(keep)  # trial indices
    if kept.size == 0:
        raise GraspDataError(f"{rec.name}: no correct trial with obj < {MAX_OBJECT_ID} of an "
                             f"object with >= {MIN_TRIALS_PER_OBJECT} trials")
    hold, rew = rec.phase_bin("Hold")[kept], rec.phase_bin("Rew")[kept]
    n_bins = rec.n_bins[kept]
    n_win = np.maximum(n_bins - window + 1, 0)  # windows per kept trial
    w_trial = np.repeat(kept, n_win)  # (W,)
    first = np.repeat(np.cumsum(n_win) - n_win, n_win)
    local = np.arange(int(n_win.sum())) - first  # window's first bin inside its trial
    last = local + window - 1
    k_of_w = np.repeat(np.arange(len(kept)), n_win)
    starts = rec.offsets[w_trial] + local
    is_grasp = (last >= hold[k_of_w]) & (last < rew[k_of_w])
    classes = np.unique(obj[kept])
    w_obj = obj[w_trial]
    pos_split = split_trials(obj[kept], test_share=test_share, val_share=val_share,
                             trainval_share=trainval_share, seed=seed)
    trial_split = {k: kept[v] for k, v in pos_split.items()}
    split = {k: np.flatnonzero(np.isin(w_trial, v)) for k, v in trial_split.items()}
    return GraspSet(
        name=rec.name, x=WindowArray(rec.counts, starts.astype(np.int64), window),
        is_grasp=is_grasp, obj=w_obj, label=np.searchsorted(classes, w_obj).astype(np.int64),
        trial=w_trial.astype(np.int64), split=split, classes=classes.astype(np.int64),
        identity=dict(rec.identity), n_units=rec.n_units, window=window, trial_split=trial_split,
    )


def relaxed_neighbours(classes: np.ndarray) -> np.ndarray:
    """(K, K) bool: same object, or same shape (id // 10) with sizes (id % 10) one apart.

    The handle grips 0 and 1 (shape 0) are neighbours of each other by the same rule.
    """
    c = np.asarray(classes, dtype=np.int64)
    shape, size = c // 10, c % 10
    same_shape = shape[:, None] == shape[None, :]
    return (c[:, None] == c[None, :]) | (same_shape & (np.abs(size[:, None] - size[None, :]) == 1))
