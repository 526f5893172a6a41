"""One run cannot affect another: process state, read-only inputs, every failure the run's own."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bench import results as store
from bench.execution import Interrupted, isolation, run_all
from bench.execution import runner as run_mod
from tests.fault_entries import _support as sup


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    with sup.hermetic(base):
        return sup.tiny_mat(base)


@pytest.fixture(scope="module")
def alone(tiny, tmp_path_factory):
    """fault_tiny seed 0 in a fresh store: the figures every later run must reproduce."""
    root = tmp_path_factory.mktemp("alone")
    with sup.hermetic(tmp_path_factory.getbasetemp()):
        out = run_all([sup.spec("fault_tiny", tiny, variants=["base"])], root, progress=False)[0]
    assert out.status == "ok", out.message
    return store.read(out.paths[0])["metrics"]


def _state() -> tuple:
    return (torch.get_default_dtype(), torch.is_grad_enabled(), torch.is_anomaly_enabled(),
            torch.are_deterministic_algorithms_enabled(), torch.get_num_threads(), tuple(sorted(np.geterr().items())))


def test_a_leaking_entry_does_not_change_the_next_run(tiny, alone, tmp_path):
    """fault_leaky leaves float64, grad off, numpy raising, anomaly + determinism on, 2 threads."""
    caller = _state()
    outs = run_all([sup.spec("fault_leaky", tiny, variants=["base"]), sup.spec("fault_tiny", tiny, variants=["base"])], tmp_path, progress=False)
    assert [o.status for o in outs] == ["ok", "ok"], [o.message for o in outs]
    after = store.read(outs[1].paths[0])["metrics"]
    assert after["R2"] == alone["R2"]  # exactly: the same clean start as a run alone
    assert after == alone
    assert _state() == caller  # and the caller gets its own state back


def test_isolated_restores_rng_and_state():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    with isolation.isolated(1):
        torch.set_default_dtype(torch.float64)
        np.seterr(all="raise")
        torch.rand(100)  # consumes the caller's stream inside the run
        assert torch.get_num_threads() == 1
    assert torch.get_default_dtype() == torch.float32 and np.geterr()["divide"] == "warn"
    assert torch.equal(torch.rand(3), expected)


def test_system_exit_in_train_is_that_runs_error(tiny, tmp_path):
    outs = run_all([sup.spec("fault_exits", tiny, variants=["base"]), sup.spec("fault_tiny", tiny, seed=1, variants=["base"])], tmp_path, progress=False)
    exited, ok = outs
    assert ok.status == "ok", ok.message
    assert exited.status == "error" and "SystemExit" in exited.message
    err = store.read(exited.paths[0])["error"]
    assert err["stage"] == "train" and err["type"] == "SystemExit" and "sys.exit(3)" in err["traceback"]


def test_writing_into_the_recording_is_an_error_and_harms_nobody(tiny, alone, tmp_path):
    specs = [sup.spec("fault_writes", tiny, variants=["base"]), sup.spec("fault_aliases", tiny, variants=["base"]),
             sup.spec("fault_tiny", tiny, variants=["base"])]
    writes, aliases, ok = run_all(specs, tmp_path, progress=False)
    assert writes.status == "error" and "read-only" in writes.message, writes.message
    assert aliases.status == "error" and "wrote into its input recording" in aliases.message, aliases.message
    assert ok.status == "ok" and store.read(ok.paths[0])["metrics"] == alone


def test_recording_arrays_are_read_only(tiny):
    spec = sup.spec("fault_tiny", tiny)
    from bench.tasks import get_task

    rec = isolation.freeze(run_mod.load_recording(get_task("reaching"), spec.ref, spec))
    for arr in (rec.spikes, rec.labels, rec.segments, rec.split["train"]):
        with pytest.raises(ValueError, match="read-only"):
            arr[..., :1] = 0


def test_odd_training_report_is_converted_or_reported(tiny, tmp_path):
    out = run_all([sup.spec("fault_report", tiny, variants=["base"])], tmp_path, progress=False)[0]
    assert out.status == "ok", out.message
    r = store.read(out.paths[0])
    train = r["train"]
    assert train["tensor"] == [1.5, 2.5] and train["scalar"] == 0.25 and train["count"] == 7
    assert train["tags"] == ["a", "b"] and train["nested"] == {"t": 3}
    assert train["opaque"] == "<Opaque object>"
    assert any("train.opaque: Opaque is not JSON" in w for w in r["warnings"]) and out.warnings
    json.dumps(r)  # the stored file is plain JSON


def test_ctrl_c_stops_the_sweep_keeps_results_and_says_how_to_resume(tiny, tmp_path):
    specs = [sup.spec("fault_tiny", tiny, seed=2, variants=["base"]), sup.spec("fault_interrupt", tiny, variants=["base"]),
             sup.spec("fault_tiny", tiny, seed=3, variants=["base"])]
    caller = _state()
    with pytest.raises(Interrupted, match="run the same command again to resume") as info:
        run_all(specs, tmp_path, progress=False)
    assert "after 1 of 3 runs" in str(info.value)
    assert _state() == caller
    first = run_mod.paths_for(specs[0], tmp_path)["base"]
    assert store.read(first)["status"] == "ok"
    assert not run_mod.paths_for(specs[2], tmp_path)["base"].exists()
    assert not run_mod.paths_for(specs[1], tmp_path)["base"].exists()  # nothing half-written for it


def test_cli_prints_the_interrupt_without_a_traceback(monkeypatch, capsys):
    from bench import cli

    def interrupted(args):
        raise Interrupted("interrupted after 2 of 5 runs: completed results are stored; run the same command again to resume")

    monkeypatch.setattr(cli, "cmd_list", interrupted)
    assert cli.main(["list"]) == 130
    err = capsys.readouterr().err
    assert "run the same command again" in err and "Traceback" not in err


def test_fingerprint_follows_views_to_their_memory():
    """A recording holding a sliding-window view over its bins is fingerprinted through the
    bins (not a window-times-larger copy), and a write to the bins still changes it."""
    from dataclasses import dataclass

    import numpy as np

    from bench.execution import isolation

    @dataclass
    class Rec:
        counts: np.ndarray
        windows: np.ndarray

    counts = np.zeros((1000, 7), np.uint8)
    rec = Rec(counts, np.lib.stride_tricks.sliding_window_view(counts, 12, axis=0))
    assert isolation._owner(rec.windows) is counts and isolation._owner(counts[5:]) is counts
    before = isolation.digest(rec)
    assert isolation.digest(Rec(counts, counts[3:])) == isolation.digest(Rec(counts, counts))
    counts[500, 3] = 1
    assert isolation.digest(rec) != before
    empty = np.zeros((0, 7), np.uint8)  # an empty split's array (memoryview cannot cast it)
    assert isolation.digest(Rec(empty, empty[:, :3])) != isolation.digest(Rec(np.zeros((0, 6), np.uint8), empty))
