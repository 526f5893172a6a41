"""bench.tune: an Optuna study over the BiLSTM search space, stored, with the best config reusable."""

from __future__ import annotations

import dataclasses
import json

import pytest

from bench.tasks import RecordingRef
from tests.test_grasp_task import make_grasp_recording


@pytest.fixture
def grasp_ref(tmp_path, monkeypatch):
    rec = make_grasp_recording(n_trials=30, n_units=8, seed=5, name="sim_m_tune")
    monkeypatch.setattr("bench.data.grasp.load_grasp", lambda path, cache=True: rec)
    return RecordingRef("sim_m_tune", tmp_path / "sim_m_tune.neo.mat", True)


@pytest.fixture
def classifier():
    from bench import registry

    registry.discover()
    return registry.get("bilstm-grasp")


def test_study_runs_stores_and_writes_best(tmp_path, grasp_ref, classifier):
    optuna = pytest.importorskip("optuna")
    from bench.tune import best_overrides, best_path, run_study, search_space

    space = search_space(classifier)
    study = run_study(classifier, [grasp_ref], 2, results_root=tmp_path, quick=True, progress=False)
    assert len(study.trials) == 2 and all(t.value is not None and 0 <= t.value <= 1 for t in study.trials)
    for t in study.trials:
        assert set(t.params) == set(space) and all(t.params[k] in space[k] for k in space)
    payload = json.loads(best_path("bilstm-grasp", tmp_path).read_text())
    assert payload["best_value"] == max(t.value for t in study.trials)
    assert payload["overrides"] == study.best_trial.params and payload["n_trials"] == 2
    assert payload["recordings"] == ["sim_m_tune"] and payload["synthetic"] is True
    overrides = best_overrides("bilstm-grasp", tmp_path)
    assert overrides == study.best_trial.params
    cfg = classifier.make_config(**overrides)  # the runner applies them as config overrides
    assert all(getattr(cfg, k) == v for k, v in overrides.items())
    # the study lives in the sqlite storage under <results>/tune/ and is resumed by name
    storage = f"sqlite:///{(tmp_path / 'tune' / 'bilstm-grasp.db').resolve()}"
    assert len(optuna.load_study(study_name="bilstm-grasp-quick", storage=storage).trials) == 2
    again = run_study(classifier, [grasp_ref], 1, results_root=tmp_path, quick=True, progress=False)
    assert len(again.trials) == 3
    params = [tuple(sorted(t.params.items())) for t in again.trials]
    assert len(set(params)) == 3  # random start-up trials differ, also across resumed calls


def test_best_overrides_absent_and_broken(tmp_path):
    from bench.tune import best_overrides, best_path

    assert best_overrides("bilstm-grasp", tmp_path) == {}
    path = best_path("bilstm-grasp", tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="unreadable"):
        best_overrides("bilstm-grasp", tmp_path)
    path.write_text(json.dumps({"entry": "other", "overrides": {}}))
    with pytest.raises(ValueError, match="no overrides"):
        best_overrides("bilstm-grasp", tmp_path)


def test_search_space_required(classifier):
    from bench.tune import search_space

    @dataclasses.dataclass(frozen=True)
    class NoSpace:
        lr: float = 1e-3

    with pytest.raises(ValueError, match="no SEARCH_SPACE"):
        search_space(dataclasses.replace(classifier, config=NoSpace()))


def test_tune_cli_parses_and_reports_unknown_entry(tmp_path, capsys):
    import argparse

    from bench.tune import add_tune_parser

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    add_tune_parser(sub)
    args = parser.parse_args(["tune", "bilstm-grasq", "--trials", "2", "--results", str(tmp_path), "--storage", "sqlite:///x.db", "--study", "s"])
    assert (args.trials, args.storage, args.study) == (2, "sqlite:///x.db", "s")
    assert args.func(args) == 2
    assert "did you mean bilstm-grasp" in capsys.readouterr().err
