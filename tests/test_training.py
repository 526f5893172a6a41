"""bench.training.fit: the one early-stopping skeleton (patience, best weights, history)."""

from __future__ import annotations

import math

import torch
from torch import nn

from bench.training import fit


def scripted(scores: list[float]):
    """A model whose weight records the epoch, trained by a step that writes it, scored by a script."""
    model = nn.Linear(1, 1, bias=False)
    calls = {"train": 0}

    def train_epoch(epoch: int) -> float:
        assert model.training
        calls["train"] += 1
        with torch.no_grad():
            model.weight.fill_(epoch + 1)
        return 10.0 - epoch

    def validate() -> float:
        return scores[calls["train"] - 1]

    return model, train_epoch, validate, calls


def test_patience_stops_and_best_weights_come_back():
    model, train_epoch, validate, calls = scripted([0.1, 0.5, 0.4, 0.5, 0.3, 0.9])
    report = fit(model, train_epoch, validate, epochs=6, patience=3, desc="t")
    assert calls["train"] == 5  # best at epoch 2; epochs 3, 4, 5 not strictly better: stop
    assert report["epochs_run"] == 5 and report["best_epoch"] == 2 and report["best_val_r2"] == 0.5
    assert model.weight.item() == 2  # epoch 2's weights restored
    assert [h["loss"] for h in report["history"]] == [10, 9, 8, 7, 6]


def test_min_epochs_and_after_epoch_rows():
    model, train_epoch, validate, calls = scripted([0.9, 0.1, 0.1, 0.1, 0.1])
    seen = []
    report = fit(
        model, train_epoch, validate, epochs=5, patience=1, min_epochs=4,
        after_epoch=lambda s: seen.append(s) or {"lr": len(seen)}, score_name="val_accuracy",
    )
    assert calls["train"] == 4 and seen == [0.9, 0.1, 0.1, 0.1]
    assert report["history"][-1] == {"epoch": 4, "loss": 7.0, "val_accuracy": 0.1, "lr": 4}
    assert report["best_val_accuracy"] == 0.9 and model.weight.item() == 1


def test_without_validation_every_epoch_runs_and_last_weights_stay():
    model, train_epoch, _, calls = scripted([])
    report = fit(model, train_epoch, None, epochs=3, patience=1)
    assert calls["train"] == 3 and report["best_epoch"] == 3 and math.isnan(report["best_val_r2"])
    assert model.weight.item() == 3
