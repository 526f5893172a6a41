"""Faults: dead workers, interrupted sweeps, concurrent writers of one result store."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bench import results as store
from bench.execution import check, paths_for, record_failure, run_all
from tests.fault_entries import _support as sup

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    with sup.hermetic(base):
        return sup.tiny_mat(base)


def _stored(path: Path) -> dict:
    assert path.is_file(), f"no result at {path}"
    return json.loads(path.read_text())


def _assert_clean_store(root: Path) -> None:
    """Every file is a complete JSON result, or the checkpoint of an ok result beside it; no
    temporary file is left behind (the store's per-folder ``.lock`` file is part of the store)."""
    from bench.deploy.checkpoints import SUFFIX

    for p in root.rglob("*"):
        if not p.is_file() or p.name == ".lock":
            continue
        assert not p.name.startswith("."), f"stray file {p}"
        if p.name.endswith(SUFFIX):
            result = p.with_name(p.name[: -len(SUFFIX)] + ".json")
            assert json.loads(result.read_text())["status"] == "ok", f"checkpoint without an ok result: {p}"
            continue
        assert p.suffix == ".json", f"stray file {p}"
        assert json.loads(p.read_text())["status"] in ("ok", "error")


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["local", "ray"])
def test_killed_worker_is_recorded_and_the_sweep_goes_on(tiny, tmp_path, executor):
    if executor == "ray":
        pytest.importorskip("ray", reason="ray is not installed (optional extra)")
    specs = [sup.spec("fault_killed", tiny), sup.spec("fault_tiny", tiny, variants=["base"])]
    outs = run_all(specs, tmp_path, jobs=2, retries=1, executor=executor, progress=False)
    killed, ok = outs
    assert ok.status == "ok", ok.message
    assert killed.status == "error"
    assert "fault_killed" in killed.message and "after 2 attempts" in killed.message
    if executor == "local":
        assert "worker killed by SIGKILL (possibly out of memory)" in killed.message
    else:
        assert "WorkerCrashedError" in killed.message
    record = _stored(paths_for(specs[0], tmp_path)["base"])
    assert record["status"] == "error" and record["entry"] == "fault_killed"
    assert record["error"]["stage"] == "worker" and record["error"]["message"] in killed.message
    assert record["identity_hash"] == check(specs[0], tmp_path).ihash and record["identity"]["entry"] == "fault_killed"
    _assert_clean_store(tmp_path)


def test_dead_worker_never_replaces_a_completed_result(tiny, tmp_path):
    spec = sup.spec("fault_killed", tiny)
    path = paths_for(spec, tmp_path)["base"]
    done = {"schema": store.SCHEMA, "status": "ok", "entry": "fault_killed", "metrics": {"R2": 0.5}}
    store.store(path, done)
    before = path.read_bytes()
    out = record_failure(spec, tmp_path, "worker", "WorkerDied", "worker killed by SIGKILL", force=True)
    assert path.read_bytes() == before
    assert out.paths == [store.error_path(path)] and _stored(store.error_path(path))["status"] == "error"


DRIVER = """
import sys
from pathlib import Path
from bench.execution import run_all
from tests.fault_entries import _support as sup
tiny, root, jobs = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
specs = [sup.spec("fault_tiny", tiny, seed=s, variants=["base"]) for s in (0, 1)]
specs += [sup.spec("fault_gated", tiny), sup.spec("fault_tiny", tiny, seed=2, variants=["base"])]
run_all(specs, root, jobs=jobs, progress=False)
"""


def _wait_for(paths: list[Path], proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not all(store.read(p, quiet=True).get("status") == "ok" for p in paths):
        if proc.poll() is not None:
            raise AssertionError(f"driver ended early (rc {proc.returncode}): {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("runs did not complete in time")
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.parametrize("how, jobs", [("SIGINT", 2), ("SIGKILL", 1)], ids=["ctrl-c-jobs2", "killed-sequential"])
def test_interrupted_sweep_keeps_results_and_resumes(tiny, tmp_path, how, jobs, monkeypatch):
    root, gate = tmp_path / "store", tmp_path / "gate"
    gate.touch()  # fault_gated waits while this exists: a run is in flight when we interrupt
    monkeypatch.setenv("BENCH_TEST_GATE", str(gate))
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(tiny), str(root), str(jobs)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        first = [paths_for(sup.spec("fault_tiny", tiny, seed=s, variants=["base"]), root)["base"] for s in (0, 1)]
        _wait_for(first, proc)
        proc.send_signal(getattr(signal, how))
        proc.wait(timeout=60)  # a Ctrl-C stops the workers too, promptly
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    assert proc.returncode != 0
    _assert_clean_store(root)
    completed = {p: p.read_bytes() for p in root.rglob("*.json") if _stored(p)["status"] == "ok"}
    assert set(first) <= set(completed)
    gate.unlink()
    specs = [sup.spec("fault_tiny", tiny, seed=s, variants=["base"]) for s in (0, 1)]
    specs += [sup.spec("fault_gated", tiny), sup.spec("fault_tiny", tiny, seed=2, variants=["base"])]
    outs = run_all(specs, root, progress=False)
    for spec, out in zip(specs, outs):
        was_done = paths_for(spec, root)["base"] in completed
        assert out.status == ("skipped" if was_done else "ok"), (spec.label(), out.message)
    assert any(o.status == "ok" for o in outs)  # the gated run, at least, was missing
    assert all(p.read_bytes() == b for p, b in completed.items())


WRITER = """
import sys, time
from pathlib import Path
from bench import results as store
root, name, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
while not go.exists():
    time.sleep(0.001)
for r in range(6):
    for i in range(40):
        store.store(root / "shared" / f"p{i}.json", {"schema": 1, "status": "ok", "writer": name, "round": r, "pad": "x" * 4000})
        store.store(root / name / f"own{r}_{i}.json", {"schema": 1, "status": "ok", "writer": name, "round": r})
"""


def test_two_processes_writing_one_store_lose_nothing(tmp_path):
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "store"), n, str(go)], cwd=REPO) for n in "ab"]
    time.sleep(0.5)
    go.touch()
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    root = tmp_path / "store"
    _assert_clean_store(root)
    for i in range(40):
        shared = _stored(root / "shared" / f"p{i}.json")
        assert shared["writer"] in "ab" and len(shared["pad"]) == 4000
    for n in "ab":
        assert len(list((root / n).glob("*.json"))) == 6 * 40


def test_an_error_racing_a_completed_result_never_replaces_it(tmp_path, monkeypatch):
    """Another command completes the run between this writer's check and its replace."""
    path = tmp_path / "run" / "seed0.json"
    real_read, others = store.read, []

    def read_then_other_writer_completes(p, quiet=False):
        seen = real_read(p, quiet)
        if Path(p) == path and not others:
            t = threading.Thread(target=store.store, args=(path, {"schema": 1, "status": "ok", "writer": "other"}))
            others.append(t)
            t.start()
            t.join(1.0)  # with a lock it waits for this writer; without one it lands now
        return seen

    monkeypatch.setattr(store, "read", read_then_other_writer_completes)
    store.store(path, {"schema": 1, "status": "error", "writer": "me"})
    others[0].join(10)
    assert real_read(path)["status"] == "ok", "the completed result was replaced by an error"
