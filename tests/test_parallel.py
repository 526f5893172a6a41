"""Parallel executors give the same results as the sequential runner (same seeds -> same R2)."""

from __future__ import annotations

import dataclasses
import os
import pickle
import signal
from pathlib import Path

import pytest

from bench import registry
from bench import results as store
from bench.data.io import md5_of
from bench.execution import local, run_all
from bench.execution import ray as ray_exec
from tests.fault_entries import _support as sup


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    with sup.hermetic(base):
        return sup.tiny_mat(base)


@pytest.fixture(scope="module")
def sequential(tiny, tmp_path_factory):
    """The reference: two seeds of fault_tiny (two rows each) run one after the other."""
    root = tmp_path_factory.mktemp("sequential")
    with sup.hermetic(tmp_path_factory.getbasetemp()):
        outs = run_all([sup.spec("fault_tiny", tiny, seed=s) for s in (0, 1)], root, progress=False)
    assert [o.status for o in outs] == ["ok", "ok"], [o.message for o in outs]
    return sup.metrics_by_row(root)


def test_reference_is_meaningful(sequential):
    assert len(sequential) == 4  # 2 rows x 2 seeds
    r2 = {k: v["R2"] for k, v in sequential.items()}
    assert all(0.05 < v < 1 for v in r2.values()), r2  # the tiny recording is learnable
    assert r2[("fault_tiny", "tiny_reach", 0)] != r2[("fault_tiny", "tiny_reach", 1)]  # seeds matter


def test_thread_budget():
    assert local.thread_budget(2, cores=2) == 1
    assert local.thread_budget(1, cores=8) == 1  # one torch thread per job unless asked
    assert local.thread_budget(1, cores=8, threads=4) == 4
    assert local.thread_budget(3, cores=8, threads=4) == 2  # never more than a job's share of the cores
    assert local.thread_budget(4, cores=2, threads=2) == 1


def test_death_cause_names_the_signal():
    assert local.death_cause(-signal.SIGKILL) == "worker killed by SIGKILL (possibly out of memory)"
    assert local.death_cause(-signal.SIGSEGV) == "worker killed by SIGSEGV"
    assert local.death_cause(3) == "worker exited with code 3"


def test_wire_spec_carries_no_functions(tiny):
    spec = sup.spec("fault_tiny", tiny, seed=3, overrides={"epochs": 1})
    wire = local.to_wire(spec)
    assert wire.entry_blob is None and wire.entry == "fault_tiny"
    blob = pickle.dumps(wire)
    assert b"tiny_linear" in blob and b"build" not in blob  # the source path travels, not code
    registry._reset_for_tests()  # as in a fresh worker: nothing registered
    back = local.from_wire(pickle.loads(blob))
    assert back.entry.name == "fault_tiny" and back.entry.source == spec.entry.source
    assert dataclasses.replace(back, entry=spec.entry) == spec


def test_modified_entry_travels_whole(tiny):
    spec = sup.spec("fault_tiny", tiny)
    spec.entry = dataclasses.replace(spec.entry, config=dataclasses.replace(spec.entry.config, hidden=3))
    wire = local.to_wire(spec)
    assert wire.entry_blob is not None
    assert local.from_wire(wire).entry.config.hidden == 3
    spec.entry = dataclasses.replace(spec.entry, train=lambda model, data, cfg: {})
    with pytest.raises(ValueError, match="'fault_tiny' differs from the registered one"):
        local.to_wire(spec)


def test_unknown_source_is_a_clear_error(tmp_path):
    with pytest.raises(registry.RegistryError, match="nowhere.py: entry source file not found"):
        registry.load_entry("fault_nowhere", tmp_path / "nowhere.py")
    with pytest.raises(registry.RegistryError, match="did not register entry 'fault_other'"):
        registry.load_entry("fault_other", sup.FAULT_DIR / "raiser.py")


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown executor"):
        run_all([], ".", executor="dask")
    with pytest.raises(ValueError, match="jobs and threads must be >= 1"):
        run_all([], ".", jobs=0)
    with pytest.raises(ValueError, match="retries >= 0"):
        run_all([], ".", retries=-1)
    assert run_all([], ".") == []


@pytest.mark.slow
def test_local_jobs_match_sequential(tiny, sequential, tmp_path):
    specs = [sup.spec("fault_tiny", tiny, seed=s) for s in (0, 1)]
    outs = run_all(specs, tmp_path, jobs=2, progress=False)
    assert [o.status for o in outs] == ["ok", "ok"], [o.message for o in outs]
    assert [o.spec for o in outs] == specs  # outcomes in the order of the specs
    assert sup.metrics_by_row(tmp_path) == sequential  # every metric, exactly
    before = sup.snapshot(tmp_path)
    again = run_all(specs, tmp_path, jobs=2, progress=False)
    assert [o.status for o in again] == ["skipped", "skipped"]
    assert sup.snapshot(tmp_path) == before


def test_execute_remote_with_shipped_bytes_matches(tiny, sequential, tmp_path):
    """The Ray path without Ray: run in a private store from shipped bytes, driver stores."""
    spec = sup.spec("fault_tiny", tiny, seed=1)
    digest = md5_of(tiny)
    result = ray_exec.execute_remote(local.to_wire(spec), fetch=tiny.read_bytes, digest=digest)
    assert result["data"] == "shipped" and result["status"] == "ok"
    copy = Path(os.environ["BENCH_CACHE"]) / "shipped" / digest / tiny.name
    assert md5_of(copy) == digest
    out = ray_exec.store_remote(spec, tmp_path, result)
    assert out.status == "ok" and all(p.is_relative_to(tmp_path) for p in out.paths)
    got = sup.metrics_by_row(tmp_path)
    assert got == {k: v for k, v in sequential.items() if k[2] == 1}


# --- Ray ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_local(tmp_path_factory):
    ray = pytest.importorskip("ray", reason="ray is not installed (optional extra: pip install 'ray>=2.9')")
    base = tmp_path_factory.getbasetemp()
    env = {"BENCH_CACHE": str(base / "bench-cache"), "BENCH_PROGRESS": "0"}
    ray.init(num_cpus=2, include_dashboard=False, runtime_env={"env_vars": env}, log_to_driver=False)
    yield base
    ray.shutdown()


@pytest.mark.slow
@pytest.mark.parametrize("ship", ["never", "always"])
def test_ray_matches_sequential(ray_local, tiny, sequential, tmp_path, ship):
    specs = [sup.spec("fault_tiny", tiny, seed=s) for s in (0, 1)]
    outs = run_all(specs, tmp_path, executor="ray", ship=ship, progress=False)
    assert [o.status for o in outs] == ["ok", "ok"], [o.message for o in outs]
    assert sup.metrics_by_row(tmp_path) == sequential
    hosts = {store.read(p)["versions"]["host"] for o in outs for p in o.paths}
    assert len(hosts) == 1  # provenance of the machine that ran it
    if ship == "always":
        shipped = ray_local / "bench-cache" / "shipped" / md5_of(tiny) / tiny.name
        assert shipped.is_file()
    again = run_all(specs, tmp_path, executor="ray", progress=False)
    assert [o.status for o in again] == ["skipped", "skipped"]


def test_pool_order_is_longest_first_and_fresh_stores_are_estimated_from_the_reference(tmp_path):
    """A pool starts the longest runs first (unknown ones at the mean, ties in plan order); a
    store without timings borrows the committed reference's (the same run, else the same
    entry's other recordings)."""
    import json

    from bench.execution import expected_seconds, longest_first
    from bench.execution.runner import Check

    assert longest_first([0, 1, 2, 3], [5.0, None, 20.0, 5.0]) == [2, 1, 0, 3]
    assert longest_first([2, 0], [None, None, None]) == [2, 0]
    ref, mine = tmp_path / "reference", tmp_path / "mine"
    stored = ref / "leaderboard" / "reaching" / "tiny" / "sim_a" / "seed0.json"
    stored.parent.mkdir(parents=True)
    stored.write_text(json.dumps({"timing": {"load_s": 1.0, "train_s": 10.0, "eval_s": 2.0}}))
    same = Check(paths={"base": mine / "leaderboard" / "reaching" / "tiny" / "sim_a" / "seed0.json"})
    other = Check(paths={"base": mine / "leaderboard" / "reaching" / "tiny" / "sim_b" / "seed0.json"})
    unknown = Check(paths={"base": mine / "leaderboard" / "reaching" / "other" / "sim_a" / "seed0.json"})
    import bench.paths

    real = bench.paths.REPO_ROOT
    try:
        bench.paths.REPO_ROOT = tmp_path / "repo"
        (tmp_path / "repo").mkdir()
        (tmp_path / "repo" / "results").symlink_to(ref)
        assert expected_seconds([same, other, unknown], mine) == [13.0, 13.0, None]
    finally:
        bench.paths.REPO_ROOT = real
