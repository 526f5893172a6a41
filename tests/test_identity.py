"""A stored result is re-used only for the same identity: entry, config, data, reader, evaluation."""

from __future__ import annotations

import dataclasses
import io
import shutil
from pathlib import Path

import h5py
import pytest

from bench import results as store
from bench.data.matfile import write_reaching_mat
from bench.data.synth_reaching import DEFAULT_SESSIONS, DT, SynthConfig, generate
from bench.execution import check, check_all, identity, paths_for, run_all
from tests.fault_entries import _support as sup


def _write(path: Path, seed: int, synthetic: bool = True) -> Path:
    cfg = SynthConfig(path.stem, n_channels=24, duration_s=40.0, seed=seed, tuning_depth=1.5, rate_median_hz=20.0, t_start_s=120.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_reaching_mat(path, generate(cfg))
    if not synthetic:  # what a real recording looks like to bench: no generator marks
        with h5py.File(path, "r+") as f:
            for k in [k for k in f.attrs if k.startswith("bench_")]:
                del f.attrs[k]
    return path


@pytest.mark.parametrize("synthetic", [True, False], ids=["synthetic", "real-file"])
def test_replaced_file_under_the_same_name_is_run_again(tmp_path, synthetic):
    data, root = tmp_path / "data", tmp_path / "store"
    path = _write(data / "tiny_reach.mat", seed=1, synthetic=synthetic)
    spec = sup.spec("fault_tiny", path, variants=["base"])
    spec.ref = dataclasses.replace(spec.ref, synthetic=synthetic)
    first = run_all([spec], root, progress=False)[0]
    assert first.status == "ok", first.message
    old = store.read(first.paths[0])
    assert run_all([spec], root, progress=False)[0].status == "skipped"

    shutil.copyfile(_write(tmp_path / "other" / "tiny_reach.mat", seed=2, synthetic=synthetic), path)  # same name, other data
    chk = check(spec, root)
    assert not chk.done and "identity changed (data)" in chk.reasons["base"]
    again = run_all([spec], root, progress=False)[0]
    assert again.status == "ok", again.message
    new = store.read(again.paths[0])
    assert new["data"]["md5"] != old["data"]["md5"] and new["metrics"]["R2"] != old["metrics"]["R2"]
    assert new["identity"]["data"] != old["identity"]["data"]
    assert list(again.paths[0].parent.glob("*.json")) == [again.paths[0]]  # replaced, not mixed


def test_identity_names_what_decides_the_numbers(tmp_path):
    path = _write(tmp_path / "tiny_reach.mat", seed=1)
    spec = sup.spec("fault_tiny", path, variants=["base"])
    chk = check(spec, tmp_path / "store")
    ident = chk.identity
    assert ident["entry"] == "fault_tiny" and ident["entry_version"] == "1" and ident["config"]["epochs"] == 2
    assert ident["weights"] is None and ident["input_mode"] == "binary" and ident["prime"] is False
    assert ident["data"] == {"source": "synthetic", "generator": "bench.data.synth_reaching", "generator_version": "1", "seed": 1,
                             "name": "tiny_reach", "shape": {"t": [1, 10000], "spikes": [5, 24]}}
    assert ident["reader"] == {"reader": "bench.data.reaching", "version": "1"}
    assert ident["eval_version"] == identity.eval_version("reaching")
    assert chk.data["md5"] and chk.data["file"] == "tiny_reach.mat"
    variants = {
        "config": dataclasses.replace(spec, overrides={"epochs": 3}),
        "input mode": dataclasses.replace(spec, input_mode="counts"),
        "priming": dataclasses.replace(spec, prime=True),
        "load options": dataclasses.replace(spec, load_options={"train_ratio": 0.4}),
        "weights": dataclasses.replace(spec, weights="published"),
    }
    for what, other in variants.items():
        assert check(other, tmp_path / "store").ihash != chk.ihash, what


def test_a_new_evaluation_version_runs_again(tmp_path, monkeypatch):
    path = _write(tmp_path / "tiny_reach.mat", seed=1)
    spec = sup.spec("fault_tiny", path, variants=["base"])
    assert run_all([spec], tmp_path, progress=False)[0].status == "ok"
    from bench.tasks import get_task

    monkeypatch.setattr(type(get_task("reaching")), "eval_version", "99")
    chk = check(spec, tmp_path)
    assert not chk.done and chk.reasons["base"] == "identity changed (eval_version)"


def test_recording_names_that_would_collide_are_refused(tmp_path):
    path = _write(tmp_path / "tiny reach.mat", seed=1)
    spec = sup.spec("fault_tiny", path, variants=["base"])
    assert spec.ref.name == "tiny reach"
    out = run_all([spec], tmp_path / "store", progress=False)[0]
    assert out.status == "error" and "recording name 'tiny reach' cannot name a result file" in out.message
    assert not (tmp_path / "store" / "test").exists()
    with pytest.raises(ValueError, match="cannot name a result file"):
        store.result_path(tmp_path, "leaderboard", "reaching", "x", "../escape", 0)


def test_a_file_holding_another_runs_result_is_never_overwritten(tmp_path):
    path = _write(tmp_path / "tiny_reach.mat", seed=1)
    spec = sup.spec("fault_tiny", path, variants=["base"])
    target = paths_for(spec, tmp_path)["base"]
    foreign = {"schema": store.SCHEMA, "status": "ok", "task": "reaching", "row": "fault_tiny", "recording": "Tiny_Reach", "seed": 0,
               "tag": "test", "overrides": {}, "metrics": {"R2": 0.9}}  # e.g. a case-insensitive file system
    store.atomic_write_json(target, foreign)
    before = target.read_bytes()
    out = run_all([spec], tmp_path, progress=False)[0]
    assert out.status == "error" and "holds the result of another run" in out.message
    assert target.read_bytes() == before
    plan = check_all([spec, dataclasses.replace(spec)], tmp_path)
    assert plan.refused


def test_run_says_what_it_reuses_and_how_to_rerun(tmp_path):
    path = _write(tmp_path / "tiny_reach.mat", seed=1)
    specs = [sup.spec("fault_tiny", path, seed=s, variants=["base"]) for s in (0, 1)]
    run_all(specs[:1], tmp_path, progress=False)
    out = io.StringIO()
    run_all(specs, tmp_path, stream=out)
    text = out.getvalue()
    assert "2 runs: 1 re-used (same identity as their stored result), 1 to run (new: 1)" in text
    assert "--force" in text


def test_schema_1_results_count_only_where_provably_the_same_run(tmp_path, monkeypatch):
    """A schema-1 record (as committed in results/) is re-used when its old hash, file and
    reader/evaluation versions prove it the same run; otherwise run says why and re-runs."""
    path = _write(tmp_path / "tiny_reach.mat", seed=1, synthetic=False)
    spec = sup.spec("fault_tiny", path, variants=["base"])
    out = run_all([spec], tmp_path, progress=False)[0]
    target = out.paths[0]
    record = store.read(target)
    legacy = {k: v for k, v in record.items() if k not in ("identity", "identity_hash", "key", "load_options")}
    legacy |= {"schema": 1, "config_hash": identity._legacy_hash(spec, check(spec, tmp_path).cfg), "data": {"source": "file", "md5": record["data"]["md5"]}}
    legacy["run"]["weights"] = None
    store.atomic_write_json(target, legacy)
    from bench.tasks import get_task

    reaching = type(get_task("reaching"))
    if reaching.eval_version != identity.LEGACY_EVAL_VERSION:  # metrics changed since schema 1: not provable
        chk = check(spec, tmp_path)
        assert not chk.done and "evaluation version" in chk.reasons["base"]
    monkeypatch.setattr(reaching, "eval_version", identity.LEGACY_EVAL_VERSION)
    chk = check(spec, tmp_path)
    assert chk.done and chk.reasons["base"] == "older result (schema 1) proven identical"
    other = dataclasses.replace(spec, input_mode="counts")
    assert "another entry version, config or run options" in check(other, tmp_path).reasons["base"]
    _write(tmp_path / "x" / "tiny_reach.mat", seed=5, synthetic=False).replace(path)
    assert "another file (md5 differs)" in check(spec, tmp_path).reasons["base"]


def test_schema_1_synthetic_results_need_a_default_session():
    cfg = DEFAULT_SESSIONS[0]
    data = {"source": "synthetic", "generator": "bench.data.synth_reaching", "generator_version": "1", "seed": cfg.seed, "name": cfg.name,
            "shape": {"t": [1, int(round(cfg.duration_s / DT))], "spikes": [5, cfg.n_channels]}}
    assert identity._is_default_session("reaching", data)
    longer = {**data, "shape": {"t": [1, 10 * int(round(cfg.duration_s / DT))], "spikes": [5, cfg.n_channels]}}
    assert not identity._is_default_session("reaching", longer)  # e.g. the full-scale session of that name
    assert not identity._is_default_session("reaching", {**data, "seed": cfg.seed + 1})
