"""The runner end to end on a small synthetic .mat file: train, evaluate, store, skip, fail."""

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from bench import registry
from bench import results as store
from bench.data.recording import RecordingRef
from bench.execution import RunSpec, execute
from bench.registry import Entry, Variant
from bench.training import fit_regressor
from bench.windows import Windows

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> RecordingRef:
    from bench.data.matfile import write_reaching_mat
    from bench.data.synth_reaching import SynthConfig, generate

    d = tmp_path_factory.mktemp("sessions")
    path = d / "sim_runner.mat"
    write_reaching_mat(path, generate(SynthConfig(name="sim_runner", n_channels=96, duration_s=60.0, seed=7)))
    return RecordingRef("sim_runner", path, True)


@dataclasses.dataclass
class Cfg:
    epochs: int = 2
    fail: bool = False


class Linear(nn.Module):
    def __init__(self, c, k):
        super().__init__()
        self.fc = nn.Linear(c, k)
        nn.init.zeros_(self.fc.weight)  # raw window counts are large: start from a zero map

    def forward(self, x):  # (B, 1, C) -> (B, 1, 2)
        return self.fc(x)


def train(model, data, cfg):
    if cfg.fail:
        raise RuntimeError("training exploded on purpose")
    return fit_regressor(model, data, epochs=cfg.epochs, lr=3e-3)


def halve(model, data, cfg):
    with torch.no_grad():
        model.fc.weight.mul_(0.5)
    return model


ENTRY = Entry(name="runner-linear", task="reaching", kind="submission", version="1", build=lambda c, k, cfg: Linear(c, k), train=train, config=Cfg(), windows=Windows(50, 1), variants=(Variant("half", halve),), source=__file__)


def test_execute_stores_complete_results_and_skips(session, tmp_path):
    spec = RunSpec(ENTRY, ["base", "half"], session, seed=3)
    out = execute(spec, tmp_path)
    assert out.status == "ok", out.message
    assert len(out.paths) == 2
    r = store.read(out.paths[0])
    assert r["status"] == "ok" and r["seed"] == 3 and r["recording"] == "sim_runner"
    assert r["data"]["source"] == "synthetic" and r["synthetic"] is True
    for key in ("torch", "snntorch", "neurobench", "bench", "git_commit", "git_dirty"):
        assert key in r["versions"]
    assert {"load_s", "train_s", "eval_s"} <= set(r["timing"])
    assert r["metrics"]["R2"] > 0.05  # learnable
    half = store.read(out.paths[1])
    assert half["row"] == "runner-linear-half" and half["metrics"]["R2"] != r["metrics"]["R2"]
    mtime = out.paths[0].stat().st_mtime_ns
    again = execute(spec, tmp_path)
    assert again.status == "skipped" and out.paths[0].stat().st_mtime_ns == mtime
    # same seed, same figures (CPU determinism)
    forced = execute(spec, tmp_path, force=True)
    assert store.read(forced.paths[0])["metrics"]["R2"] == pytest.approx(r["metrics"]["R2"], abs=1e-12)


def test_failed_run_never_overwrites_a_completed_result(session, tmp_path):
    spec = RunSpec(ENTRY, ["base"], session, seed=0)
    ok = execute(spec, tmp_path)
    before = ok.paths[0].read_bytes()
    failing = RunSpec(ENTRY, ["base"], session, seed=0, overrides={})
    bad_entry = dataclasses.replace(ENTRY, config=Cfg(fail=True))
    failing.entry = bad_entry
    out = execute(failing, tmp_path, force=True)
    assert out.status == "error" and "exploded" in out.message
    assert ok.paths[0].read_bytes() == before
    err = store.read(store.error_path(ok.paths[0]))
    assert err["status"] == "error" and err["error"]["stage"] == "train" and "Traceback" in err["error"]["traceback"]


SUBMISSION = textwrap.dedent('''
    """A user's submission: ridge-like linear decoder over 200 ms (test fixture)."""
    import dataclasses
    from torch import nn
    from bench.registry import Entry, register
    from bench.training import fit_regressor
    from bench.windows import Windows

    @dataclasses.dataclass
    class Config:
        epochs: int = 4

    class Net(nn.Module):
        def __init__(self, c, k):
            super().__init__()
            self.fc = nn.Linear(c, k)
            nn.init.zeros_(self.fc.weight)
        def forward(self, x):
            return self.fc(x)

    register(Entry(name="my-linear", task="reaching", kind="submission", version="1",
                   build=lambda c, k, cfg: Net(c, k),
                   train=lambda m, d, cfg: fit_regressor(m, d, epochs=cfg.epochs, lr=3e-3),
                   config=Config(), quick={"epochs": 2}, windows=Windows(50, 1), display="My linear"))
''')


def test_dropped_in_submission_is_listed_trained_evaluated_ranked(session, tmp_path):
    subs = tmp_path / "my_submissions"
    subs.mkdir()
    (subs / "my_linear.py").write_text(SUBMISSION)
    data_dir = session.path.parent
    env = dict(os.environ, BENCH_SUBMISSIONS_DIRS=str(subs), BENCH_PROGRESS="0")

    def run(*args):
        return subprocess.run([sys.executable, "-m", "bench", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)

    listed = run("list")
    assert listed.returncode == 0, listed.stderr
    assert any(line.split()[:3] == ["my-linear", "reaching", "submission"] for line in listed.stdout.splitlines())
    res = tmp_path / "results"
    out = run("run", "my-linear", "--quick", "--data-dir", str(data_dir), "-r", "sim_runner", "--results", str(res))
    assert out.returncode == 0, out.stdout + out.stderr
    stored = store.load(res, tag="quick")
    assert [r["row"] for r in stored] == ["my-linear"] and stored[0]["status"] == "ok"
    board = (res / "leaderboard_quick.md").read_text()
    assert "| 1 | My linear" in board.replace("  ", " ") or "My linear" in board.split("Task: reaching")[1].splitlines()[4]
    bad = run("run", "my-linaer", "--quick")
    assert bad.returncode == 2 and "did you mean my-linear" in bad.stderr
    assert json.loads((store.result_path(res, "quick", "reaching", "my-linear", "sim_runner", 0)).read_text())["metrics"]["R2"] > 0


def test_registry_modules_all_build(session):
    """Every registered entry builds for 96 channels (parametrised tests live in test_all_entries)."""
    assert registry.discover()


def test_published_weights_take_session_and_seed_and_the_transform_applies(tmp_path):
    """--weights published: (session, seed) -> state dict, loaded strictly, then the entry's
    published_transform; only for real NeuroBench session names."""
    import h5py

    from bench.data.matfile import write_reaching_mat
    from bench.data.synth_reaching import SynthConfig, generate

    session = "indy_20160630_01"  # a file in the real layout, without generator marks, under a real name
    path = tmp_path / f"{session}.mat"
    write_reaching_mat(path, generate(SynthConfig(name="sim_pub", n_channels=96, duration_s=40.0, seed=3)))
    with h5py.File(path, "r+") as f:
        for k in [k for k in f.attrs if k.startswith("bench_")]:
            del f.attrs[k]
    calls = []
    reference = Linear(96, 2)
    with torch.no_grad():
        reference.fc.weight.normal_(0, 0.01)

    def weights(name, seed):
        calls.append((name, seed))
        return reference.state_dict()

    def transform(model):
        calls.append("transform")
        return model.double().float()

    entry = dataclasses.replace(ENTRY, published_weights=weights, published_transform=transform)
    spec = RunSpec(entry, ["base"], RecordingRef(session, path, False), seed=4, weights="published")
    out = execute(spec, tmp_path / "store")
    assert out.status == "ok", out.message
    assert calls == [(session, 4), "transform"]
    r = store.read(out.paths[0])
    assert r["row"] == "runner-linear-nbweights" and r["identity"]["weights"] == "published" and "train_s" not in r["timing"]
    fake = RunSpec(entry, ["base"], RecordingRef("sim_pub", path, True), weights="published")
    bad = execute(fake, tmp_path / "store")
    assert bad.status == "error" and "only for the real NeuroBench sessions" in bad.message


def test_quick_runs_use_the_first_part_of_a_session_and_say_so(tmp_path):
    """``run --quick`` (the smoke board) trains and scores on a session's first 120 s of reaches
    (grasp: first 300 trials), named in the identity; other quick runs (the gate, sweeps) keep
    whole sessions; a session no longer than the span is used whole."""
    from bench.data.grasp import load_grasp
    from bench.data.matfile import write_reaching_mat
    from bench.data.synth_reaching import SynthConfig, generate
    from bench.execution.identity import run_identity
    from bench.execution.runner import load_recording
    from bench.tasks import get_task

    path = tmp_path / "sim_long.mat"
    write_reaching_mat(path, generate(SynthConfig(name="sim_long", n_channels=96, duration_s=200.0, seed=3)))
    ref = RecordingRef("sim_long", path, True)
    task = get_task("reaching")
    full = task.load(ref)
    quick = load_recording(task, ref, RunSpec(ENTRY, ["base"], ref, seed=0, quick=True, quick_data=True))
    gate = load_recording(task, ref, RunSpec(ENTRY, ["base"], ref, seed=0, quick=True))
    assert gate.n_samples == full.n_samples
    assert 0.5 * 120 / 0.004 < quick.n_samples <= 120 / 0.004 < full.n_samples
    assert all(len(quick.split[s]) > 0 for s in ("train", "val", "test"))
    assert (quick.labels == full.labels[: quick.n_samples]).all() and (quick.spikes == full.spikes[: quick.n_samples]).all()
    data = {"source": "synthetic"}
    ident = run_identity(RunSpec(ENTRY, ["base"], ref, seed=0, quick=True, quick_data=True), Cfg(), data)
    assert ident["quick_data"] == task.quick_span
    assert "quick_data" not in run_identity(RunSpec(ENTRY, ["base"], ref, seed=0, quick=True), Cfg(), data)
    assert "quick_data" not in run_identity(RunSpec(ENTRY, ["base"], ref, seed=0), Cfg(), data)
    short = RecordingRef("sim_short", tmp_path / "sim_short.mat", True)
    write_reaching_mat(short.path, generate(SynthConfig(name="sim_short", n_channels=96, duration_s=60.0, seed=3)))
    assert load_recording(task, short, RunSpec(ENTRY, ["base"], short, seed=0, quick=True, quick_data=True)).n_samples == task.load(short).n_samples
    grasp = get_task("grasp-object")
    gref = grasp.recordings(["sim_m_1"])[0]
    raw = load_grasp(gref.path)
    assert raw.head(300).n_trials == 300 and raw.head(10**6) is raw
    assert (raw.head(300).counts == raw.counts[: raw.offsets[300]]).all()
