"""The grasp tasks (REFERENCE.md section 7): 480 ms windows of 40 ms spike counts ->

- ``grasp-object``: which object is held (grasp windows only; K classes; metric Accuracy, plus
  RelaxedAccuracy: a neighbouring size of the same shape counts as correct);
- ``grasp-phase``: grasp (last bin in [Hold, Rew)) or rest, on every window (metric Accuracy,
  plus F1 with grasp as the positive class).

Data flow: .neo.mat -> GraspRecording (bench.data.grasp) -> GraspSet (prepare) -> GraspData
(this module, one view per task) -> model (B, 12, U) -> (B, K) logits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from bench.data.recording import RecordingRef
from bench.evaluation import EvalOutcome, EvaluationError, counted_outcome, run_neurobench

PHASE_CLASSES = ("rest", "grasp")
QUICK_TRIALS = 300  # run --quick: a session's first 300 trials


@dataclass
class GraspData:
    """The view of one prepared grasp session an entry trains and is evaluated on.

    x(split) (n, T, U) float32 counts; y(split) (n,) int64 class index. ``take(split, rows)``
    gathers a batch without materialising the split (the detector's training split is large).
    """

    gset: object  # bench.data.grasp_prepare.GraspSet
    task_kind: str  # "object" or "phase"
    seed: int = 0
    quick: bool = False
    device: str = "cpu"
    _rows: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.task_kind not in ("object", "phase"):
            raise ValueError(f"task_kind must be 'object' or 'phase', not {self.task_kind!r}")
        x = self.gset.x
        if x.ndim != 3 or x.shape[0] != len(self.gset.is_grasp):
            raise ValueError(f"{self.gset.name}: GraspSet.x has shape {x.shape}; expected (W, T, U) with W = {len(self.gset.is_grasp)}")

    @property
    def name(self) -> str:
        return self.gset.name

    @property
    def n_inputs(self) -> int:
        return int(self.gset.x.shape[2])

    @property
    def n_outputs(self) -> int:
        return len(self.gset.classes) if self.task_kind == "object" else 2

    @property
    def class_names(self) -> list[str]:
        return [str(int(c)) for c in self.gset.classes] if self.task_kind == "object" else list(PHASE_CLASSES)

    def indices(self, split: str) -> np.ndarray:
        """Window indices (into the GraspSet) of a split, for this task."""
        if split not in self._rows:
            if split == "trainval":
                idx = np.concatenate([self.indices("train"), self.indices("val")])
            elif split in self.gset.split:
                idx = np.asarray(self.gset.split[split], dtype=np.int64)
                if self.task_kind == "object":
                    idx = idx[self.gset.is_grasp[idx]]
            else:
                raise KeyError(f"{self.name}: no split {split!r}; splits: {sorted(self.gset.split)} and 'trainval'")
            self._rows[split] = idx
        return self._rows[split]

    def size(self, split: str) -> int:
        return len(self.indices(split))

    def labels(self, split: str) -> np.ndarray:
        idx = self.indices(split)
        if self.task_kind == "object":
            return np.asarray(self.gset.label[idx], dtype=np.int64)
        return np.asarray(self.gset.is_grasp[idx], dtype=np.int64)

    def take(self, split: str, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows of a split: inputs (n, T, U) float32 on ``device``, labels (n,) int64 on CPU."""
        idx = self.indices(split)[rows]
        x = torch.from_numpy(np.ascontiguousarray(self.gset.x[idx], dtype=np.float32)).to(self.device)
        return x, torch.from_numpy(self.labels(split)[rows])

    def x(self, split: str) -> torch.Tensor:
        return self.take(split, np.arange(self.size(split)))[0].cpu()

    def y(self, split: str) -> torch.Tensor:
        return torch.from_numpy(self.labels(split))

    def window_bins(self, split: str) -> tuple[torch.Tensor, torch.Tensor, int]:
        """The split's windows as (bins (n, U) float32: every distinct 40 ms bin they cover, in
        time order; first (W,) int64: the row of each window's first bin; window length).
        Window w of the split is bins[first[w] : first[w] + window]."""
        wa = self.gset.x
        starts = np.asarray(wa.starts[self.indices(split)], dtype=np.int64)
        used = np.unique((starts[:, None] + np.arange(wa.window)).ravel())
        bins = torch.from_numpy(np.ascontiguousarray(wa.counts[used], dtype=np.float32)).to(self.device)
        return bins, torch.from_numpy(np.searchsorted(used, starts)).to(self.device), int(wa.window)

    def dataset(self, split: str) -> torch.utils.data.Dataset:
        return _SplitDataset(self, split)

    @torch.no_grad()
    def predict(self, model: torch.nn.Module, split: str, batch_size: int = 2048) -> torch.Tensor:
        """Class indices (n,) predicted for a split (model in eval mode, restored afterwards)."""
        was_training = model.training
        model.eval()
        try:
            n = self.size(split)
            outs = [model(self.take(split, np.arange(i, min(n, i + batch_size)))[0]).argmax(-1).cpu() for i in range(0, n, batch_size)]
            return torch.cat(outs) if outs else torch.zeros(0, dtype=torch.int64)
        finally:
            model.train(was_training)

    def accuracy(self, model: torch.nn.Module, split: str = "val") -> float:
        return float((self.predict(model, split) == self.y(split)).float().mean())


class _SplitDataset(torch.utils.data.Dataset):
    """(x, y) rows of a split, gathered lazily (for NeuroBench's DataLoader)."""

    def __init__(self, data: GraspData, split: str):
        self.data, self.split = data, split
        self.idx = data.indices(split)
        self.y = data.labels(split)

    def __len__(self) -> int:
        return len(self.idx)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.from_numpy(np.asarray(self.data.gset.x[self.idx[i]], dtype=np.float32)), torch.tensor(self.y[i])

    def __getitems__(self, rows: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        x, y = self.data.take(self.split, np.asarray(rows))
        return [(x.cpu(), y)]


def _collate(batch):
    return batch[0] if len(batch) == 1 and batch[0][0].dim() == 3 else torch.utils.data.default_collate(batch)


# --- task metrics, computed from predictions -----------------------------------------------------


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    """(k, k) int64 counts; row = true class, column = predicted class."""
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


def f1_positive(conf: np.ndarray, positive: int = 1) -> float:
    """F1 of one class from a confusion matrix (0.0 when it is never predicted nor present)."""
    tp = conf[positive, positive]
    fp = conf[:, positive].sum() - tp
    fn = conf[positive, :].sum() - tp
    return float(2 * tp / (2 * tp + fp + fn)) if tp + fp + fn else 0.0


def relaxed_accuracy(y_true: np.ndarray, y_pred: np.ndarray, neighbours: np.ndarray) -> float:
    """Share of predictions equal to the true class or one of its neighbours (K, K) bool."""
    return float(neighbours[np.asarray(y_true), np.asarray(y_pred)].mean()) if len(y_true) else float("nan")


# --- the two tasks -------------------------------------------------------------------------------


class GraspTask:
    primary_metric = "Accuracy"
    # bump when a metric's definition changes (stored results are then re-run). 2: operations
    # counted per sample (a cell row whose input is binary counts as ACs, as NeuroBench counts
    # a per-sample call), and every LSTMCell dense count as NeuroBench's rule gives it
    eval_version = "2"
    higher_is_better = True

    def __init__(self, name: str, kind: str):
        self.name, self.kind = name, kind

    def recordings(self, names: list[str] | None = None, data_dir: Path | None = None) -> list[RecordingRef]:
        from bench.data.grasp import resolve_grasp_recordings

        return resolve_grasp_recordings(names, data_dir)

    # run --quick (the smoke board) uses a session's first QUICK_TRIALS trials; recorded in the identity
    quick_span = f"the first {QUICK_TRIALS} trials of each session"

    def load(self, ref: RecordingRef, quick_data: bool = False, **options):
        """Read (cached) and prepare a session; options go to ``bench.data.grasp_prepare.prepare``
        (window, test_share, val_share, trainval_share, seed)."""
        from bench.data.grasp import load_grasp
        from bench.data.grasp_prepare import prepare

        rec = load_grasp(ref.path)
        return prepare(rec.head(QUICK_TRIALS) if quick_data else rec, **options)

    def make_data(self, recording, entry, cfg, seed: int, quick: bool, device: str = "cpu", prime: bool = False) -> GraspData:
        data = GraspData(recording, self.kind, seed=seed, quick=quick, device=device)
        for split in ("train", "val", "test"):
            if data.size(split) == 0:
                raise ValueError(f"{recording.name}: the {split} split holds no {self.name} windows")
        return data

    def evaluate(self, model: torch.nn.Module, data: GraspData, entry) -> EvalOutcome:
        return evaluate_grasp(model, data, entry)


def _check_logits(logits: torch.Tensor) -> None:
    if not torch.isfinite(logits).all():
        bad = int((~torch.isfinite(logits)).reshape(len(logits), -1).any(1).nonzero()[0])
        raise EvaluationError(f"model produced non-finite logits (first at batch row {bad})")


def evaluate_grasp(model: torch.nn.Module, data: GraspData, entry, split: str = "test", batch_size: int = 1024, fast: bool = True) -> EvalOutcome:
    """NeuroBench metrics (ClassificationAccuracy on argmax, SynapticOperations, activation
    sparsity, static metrics) plus confusion matrix, F1 / relaxed accuracy from the same
    predictions. NeuroBench's accuracy must equal ours: a mismatch is a metric error.

    A model with a ``window_pass(bins, first, window) -> CountedPass`` method (the BiLSTMs) is
    scored from its own pass over the split's distinct bins (``fast``), which computes what
    NeuroBench's hooked pass measures, bit for bit (tests/test_grasp_task.py); ``fast=False``
    runs the hooked pass through NeuroBench's Benchmark.
    """
    from neurobench.metrics.workload import (
        ActivationSparsity,
        ClassificationAccuracy,
        SynapticOperations,
    )

    model = model.to(data.device).eval()
    with torch.no_grad():
        probe = model(data.take(split, np.arange(min(4, data.size(split))))[0])
    if probe.dim() != 2 or probe.shape[-1] != data.n_outputs:
        raise EvaluationError(f"entry {entry.name!r}: model output has shape {tuple(probe.shape)}; expected (B, {data.n_outputs}) logits")
    workload = [ClassificationAccuracy, ActivationSparsity, SynapticOperations]
    y_true = data.labels(split)
    if fast and callable(getattr(model, "window_pass", None)) and not entry.spiking:
        counted = model.window_pass(*data.window_bins(split))  # the model's own pass (BiLSTM)
        _check_logits(counted.outputs)
        preds = counted.outputs.argmax(-1).cpu()
        outcome = counted_outcome(model, counted, preds, torch.from_numpy(y_true), workload, batch_size)
    else:
        seen: list[torch.Tensor] = []

        def post(logits: torch.Tensor) -> torch.Tensor:
            _check_logits(logits)
            seen.append(logits.argmax(-1).cpu())
            return seen[-1]

        loader = torch.utils.data.DataLoader(data.dataset(split), batch_size=batch_size, shuffle=False, collate_fn=_collate)
        outcome = run_neurobench(model, loader, workload, spiking=entry.spiking, postprocess=post)
        preds = torch.cat(seen) if seen else torch.zeros(0, dtype=torch.int64)
    y_pred = preds.numpy()
    k = data.n_outputs
    conf = confusion_matrix(y_true, y_pred, k)
    ours = float((y_true == y_pred).mean())
    if "ClassificationAccuracy" in outcome.metrics:
        nb = float(outcome.metrics.pop("ClassificationAccuracy"))
        if abs(nb - ours) > 1e-6:
            outcome.metric_errors["Accuracy"] = f"NeuroBench's ClassificationAccuracy {nb:.6f} != bench's {ours:.6f}"
        else:
            outcome.metrics["Accuracy"] = nb
    else:
        outcome.metric_errors.setdefault("Accuracy", outcome.metric_errors.get("ClassificationAccuracy", "ClassificationAccuracy missing"))
    if data.task_kind == "phase":
        outcome.metrics["F1"] = f1_positive(conf, 1)
    else:
        from bench.data.grasp_prepare import relaxed_neighbours

        outcome.metrics["RelaxedAccuracy"] = relaxed_accuracy(y_true, y_pred, relaxed_neighbours(data.gset.classes))
    outcome.extra.update({
        "n_test": int(len(y_true)),
        "split": split,
        "confusion": conf.tolist(),
        "classes": data.class_names,
        "bench_accuracy": ours,
        "n_units": data.n_inputs,
        "n_trials": {s: int(len(np.unique(data.gset.trial[data.indices(s)]))) for s in ("train", "val", "test")},
    })
    json.dumps(outcome.extra)  # fail here, not in the result store, if something is not JSON
    return outcome


TASKS = {
    "grasp-object": GraspTask("grasp-object", "object"),
    "grasp-phase": GraspTask("grasp-phase", "phase"),
}
