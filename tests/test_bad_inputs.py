"""Feed the suite what users will feed it, on purpose, and count what happens.

Every case must end in a clear error naming the file or the entry, the other runs of the sweep
must go on, and no stored result may change (the store's bytes are compared before and after).
The module prints one summary line: bad inputs tried, clear errors, crashes, results lost.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io

from bench import registry
from bench import results as store
from bench.execution import run_all
from tests.fault_entries import _support as sup

TALLY: Counter = Counter()


def summary_line() -> str:
    return (f"bad inputs tried: {TALLY['tried']}, clear errors: {TALLY['clear']}, "
            f"unclear errors: {TALLY['unclear']}, crashes: {TALLY['crashes']}, results lost: {TALLY['lost']}")


class _SummaryPlugin:
    """Prints the tally in pytest's terminal summary."""

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if TALLY["tried"]:
            terminalreporter.write_sep("-", "bad-input summary")
            terminalreporter.write_line(summary_line())


@pytest.fixture(scope="module", autouse=True)
def _summary(request):
    plugin = _SummaryPlugin()
    if not request.config.pluginmanager.is_registered(plugin):
        request.config.pluginmanager.register(plugin, "bench-bad-input-summary")
    yield
    print(summary_line())


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    with sup.hermetic(base):
        return sup.tiny_mat(base)


@pytest.fixture(scope="module")
def populated(tiny, tmp_path_factory):
    """A store holding completed results (fault_tiny seed 0, both rows) that nothing may change."""
    root = tmp_path_factory.mktemp("populated")
    with sup.hermetic(tmp_path_factory.getbasetemp()):
        outs = run_all([sup.spec("fault_tiny", tiny, seed=0)], root, progress=False)
    assert outs[0].status == "ok", outs[0].message
    return root


@pytest.fixture
def store_copy(populated, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(populated, root)
    return root, sup.snapshot(root)


def _lost(root: Path, before: dict[str, bytes]) -> int:
    after = sup.snapshot(root)
    return sum(1 for k, b in before.items() if after.get(k) != b)


def _verdict(clear: bool, crashed: bool, lost: int, detail: str) -> None:
    """Count the case, then fail it unless it ended cleanly."""
    TALLY["tried"] += 1
    TALLY["clear"] += clear and not crashed
    TALLY["unclear"] += not clear and not crashed
    TALLY["crashes"] += crashed
    TALLY["lost"] += lost
    assert not crashed, f"crashed: {detail}"
    assert clear, f"unclear error: {detail}"
    assert lost == 0, f"{lost} stored result(s) changed: {detail}"


def _sweep(bad_spec, tiny: Path, root: Path, seed: int, *, jobs: int = 1, force: bool = False):
    """Run the bad spec between two good ones; returns (bad outcome, crash text or '')."""
    good = [sup.spec("fault_tiny", tiny, seed=seed, variants=["base"])]
    specs = [bad_spec] + good
    try:
        outs = run_all(specs, root, jobs=jobs, force=force, progress=False)
    except Exception as exc:  # an escape is a crash of the whole sweep
        return None, f"{type(exc).__name__}: {exc}"
    if outs[1].status != "ok":
        return outs[0], f"the good run did not go on: {outs[1].message}"
    return outs[0], ""


# --- reaching files ---------------------------------------------------------------------------


def _write(dst: Path, data: bytes) -> Path:
    dst.write_bytes(data)
    return dst


def _edit(src: Path, dst: Path, change: Callable[[h5py.File], None]) -> Path:
    shutil.copyfile(src, dst)
    with h5py.File(dst, "r+") as f:
        change(f)
    return dst


def _replace(f: h5py.File, name: str, data: np.ndarray) -> None:
    attrs = dict(f[name].attrs)
    del f[name]
    f.create_dataset(name, data=data)
    f[name].attrs.update(attrs)


def _nan_cursor(f: h5py.File) -> None:
    f["cursor_pos"][0, 100] = np.nan


def _jitter_clock(f: h5py.File) -> None:
    t = f["t"][()]
    t[0, 50] += 0.0013
    _replace(f, "t", t)


def _backwards_clock(f: h5py.File) -> None:
    t = f["t"][()]
    t[0, [60, 61]] = t[0, [61, 60]]
    _replace(f, "t", t)


def _set_name_cell(f: h5py.File, i: int, data: np.ndarray, matlab_class: str = "char") -> None:
    """Point chan_names{i} at a new cell value (HDF5 references are addresses: a new object)."""
    ds = f["#refs#"].create_dataset(f"bench_bad_{i}", data=data)
    ds.attrs["MATLAB_class"] = np.bytes_(matlab_class)
    refs = f["chan_names"][()]
    refs[0, i] = ds.ref
    attrs = dict(f["chan_names"].attrs)
    del f["chan_names"]
    f.create_dataset("chan_names", data=refs, dtype=h5py.ref_dtype).attrs.update(attrs)


def _codes(text: str, dtype=np.uint16) -> np.ndarray:
    return np.array([ord(c) for c in text], dtype=dtype)[:, None]


def _one_segment(f: h5py.File) -> None:
    _replace(f, "target_pos", np.full(f["target_pos"].shape, 30.0))


def _no_spikes(f: h5py.File) -> None:
    empty = f["#refs#"].create_dataset("bench_empty", data=np.zeros(2, np.uint64))
    empty.attrs["MATLAB_class"] = np.bytes_("double")
    empty.attrs["MATLAB_empty"] = np.uint8(1)
    refs = f["spikes"][()]
    refs[...] = empty.ref
    attrs = dict(f["spikes"].attrs)
    del f["spikes"]
    f.create_dataset("spikes", data=refs, dtype=h5py.ref_dtype).attrs.update(attrs)


def _clock_elsewhere(f: h5py.File) -> None:
    _replace(f, "t", f["t"][()] + 10_000.0)  # a regular clock, but hours after every spike


def _still_cursor(f: h5py.File) -> None:
    _replace(f, "cursor_pos", np.full(f["cursor_pos"].shape, 12.5))


def _forge(f: h5py.File, name: str, shape: tuple[int, ...], compressed: bool) -> None:
    """Replace ``name`` by a dataset that declares ``shape`` but stores (almost) nothing."""
    attrs = dict(f[name].attrs)
    del f[name]
    kw = {"chunks": (1, 1 << 16), "compression": "gzip"} if compressed else {}
    f.create_dataset(name, shape=shape, dtype=np.float64, **kw).attrs.update(attrs)


def _forge_cell(f: h5py.File) -> None:
    ds = f["#refs#"].create_dataset("bench_huge", shape=(1, 3_000_000_000), dtype=np.float64,
                                    chunks=(1, 1 << 16), compression="gzip")
    ds.attrs["MATLAB_class"] = np.bytes_("double")
    refs = f["spikes"][()]
    refs[0, 5] = ds.ref
    attrs = dict(f["spikes"].attrs)
    del f["spikes"]
    f.create_dataset("spikes", data=refs, dtype=h5py.ref_dtype).attrs.update(attrs)


READING_CASES: dict[str, tuple[Callable[[Path, Path], Path], tuple[str, ...]]] = {
    "truncated": (lambda s, d: _write(d, s.read_bytes()[: s.stat().st_size // 2]), ()),
    "not-hdf5": (lambda s, d: _write(d, b"subject,trial\nindy,1\n"), ()),
    "empty-file": (lambda s, d: _write(d, b""), ()),
    "matlab-v5": (lambda s, d: scipy.io.savemat(d, {"t": np.arange(10.0)}) or d, ()),
    "missing-variable": (lambda s, d: _edit(s, d, lambda f: f.__delitem__("spikes")), ("spikes",)),
    "wrong-layout": (lambda s, d: _edit(s, d, lambda f: _replace(f, "cursor_pos", np.zeros((3, f["t"].shape[1])))), ("cursor_pos",)),
    "clock-length": (lambda s, d: _edit(s, d, lambda f: _replace(f, "t", f["t"][()][:, :-10])), ("cursor_pos", "'t'")),
    "nan-positions": (lambda s, d: _edit(s, d, _nan_cursor), ("cursor_pos", "NaN")),
    "irregular-clock": (lambda s, d: _edit(s, d, _jitter_clock), ("'t'", "4 ms")),
    "backwards-clock": (lambda s, d: _edit(s, d, _backwards_clock), ("'t'", "increasing")),
    "missing-file": (lambda s, d: d, ("no such file",)),
    # character data of the wrong MATLAB type or impossible code points in chan_names
    "chan-names-double": (lambda s, d: _edit(s, d, lambda f: _set_name_cell(f, 3, np.array([[77.0], [49.0]]), "double")), ("'chan_names'", "class 'double'")),
    "chan-names-float-codes": (lambda s, d: _edit(s, d, lambda f: _set_name_cell(f, 3, np.array([[77.0], [49.0]]))), ("'chan_names'", "float64 data")),
    "chan-names-surrogate": (lambda s, d: _edit(s, d, lambda f: _set_name_cell(f, 2, np.array([[77], [0xD800], [49]], np.uint16))), ("'chan_names'", "impossible character")),
    "chan-names-control-char": (lambda s, d: _edit(s, d, lambda f: _set_name_cell(f, 2, _codes("M1\x07"))), ("'chan_names'", "non-printable", "U+0007")),
    "chan-names-code-too-large": (lambda s, d: _edit(s, d, lambda f: _set_name_cell(f, 2, _codes("M1", np.uint32) + np.uint32(70_000))), ("'chan_names'", "70077", "outside")),
    "chan-names-negative-code": (lambda s, d: _edit(s, d, lambda f: _set_name_cell(f, 2, -_codes("M1", np.int32))), ("'chan_names'", "-77", "outside")),
    # a session that cannot be split as the task needs, no spikes, a cursor that never moves
    "one-reach-segment": (lambda s, d: _edit(s, d, _one_segment), ("'target_pos'", "train split is empty", "1 reach segment(s)")),
    "no-spikes-at-all": (lambda s, d: _edit(s, d, _no_spikes), ("'spikes'", "no spike times at all")),
    "spikes-outside-the-clock": (lambda s, d: _edit(s, d, _clock_elsewhere), ("'spikes'", "none of its", "within variable 't'")),
    "cursor-never-moves": (lambda s, d: _edit(s, d, _still_cursor), ("'cursor_pos'", "R2 is undefined")),
    # sizes declared inside a file that the file cannot hold (refused before allocating)
    "forged-clock-size-compressed": (lambda s, d: _edit(s, d, lambda f: _forge(f, "t", (1, 2_000_000_000), True)), ("variable 't'", "impossible")),
    "forged-clock-size-contiguous": (lambda s, d: _edit(s, d, lambda f: _forge(f, "t", (1, 2_000_000_000), False)), ("variable 't'", "impossible")),
    "forged-position-size": (lambda s, d: _edit(s, d, lambda f: _forge(f, "cursor_pos", (2, 10_000), False)), ("variable 'cursor_pos'", "impossible")),
    "forged-spike-cell-size": (lambda s, d: _edit(s, d, _forge_cell), ("'spikes'", "impossible")),
}


@pytest.mark.parametrize("case", sorted(READING_CASES))
def test_bad_reaching_file(case, tiny, store_copy, tmp_path):
    from bench.data.reaching import RecordingError, load_reaching

    root, before = store_copy
    make, words = READING_CASES[case]
    bad = make(tiny, tmp_path / f"{case}.mat")
    try:
        load_reaching(bad, cache=False)
        direct = "no error raised"
    except RecordingError as exc:
        msg = str(exc)
        direct = "" if bad.name in msg and all(w in msg for w in words) else f"message lacks the file or {words}: {msg}"
    except Exception as exc:
        direct = f"{type(exc).__name__} instead of RecordingError: {exc}"
    out, crash = _sweep(sup.spec("fault_tiny", bad, seed=0), tiny, root, seed=7)
    clear = not direct and out is not None and out.status == "error" and bad.name in out.message
    _verdict(clear, bool(crash), _lost(root, before), crash or direct or (out.message if out else ""))


FORGED = ("forged-clock-size-compressed", "forged-clock-size-contiguous", "forged-spike-cell-size")


@pytest.mark.parametrize("case", FORGED)
def test_forged_sizes_never_allocate(case, tiny, tmp_path):
    """A file under 1 MB that declares gigabytes is refused while bench has allocated almost nothing."""
    import tracemalloc

    from bench.data.reaching import RecordingError, load_reaching

    bad = READING_CASES[case][0](tiny, tmp_path / f"{case}.mat")
    size = bad.stat().st_size
    tracemalloc.start()
    try:
        with pytest.raises(RecordingError) as err:
            load_reaching(bad, cache=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    clear = size < 1_000_000 and bad.name in str(err.value) and peak < 16_000_000
    _verdict(clear, False, 0, f"file {size} bytes, peak allocation {peak} bytes: {err.value}")


def _segments_at(f: h5py.File, bounds: list[int]) -> None:
    """Targets that change right after each sample in ``bounds`` (NeuroBench's segment ends)."""
    k = f["target_pos"].shape[1]
    target = np.zeros((2, k))
    for j, b in enumerate(bounds):
        target[:, b + 1:] = 10.0 * (j + 1)
    _replace(f, "target_pos", target)


def test_split_shorter_than_the_entry_window(tiny, store_copy, tmp_path):
    """A validation split of 5 samples under an entry whose windows span 10: refused before
    training (the task calls bench.data.reaching.check_usable with the entry's window)."""
    from bench.data.reaching import RecordingError, check_usable, load_reaching

    root, before = store_copy
    bad = _edit(tiny, tmp_path / "short-val.mat", lambda f: _segments_at(f, [3999, 7999, 8004]))
    rec = load_reaching(bad, cache=False)  # usable in itself
    assert len(rec.split["val"]) == 5
    problem = ""
    try:
        check_usable(rec, 10)
        problem = "check_usable raised nothing"
    except RecordingError as exc:
        if not all(w in str(exc) for w in (bad.name, "val split holds 5 samples", "input window of 10 samples")):
            problem = f"unclear: {exc}"
    out, crash = _sweep(sup.spec("fault_tiny", bad, seed=0), tiny, root, seed=16)
    clear = not problem and out is not None and out.status == "error" and "input window" in out.message and bad.name in out.message
    _verdict(clear, bool(crash), _lost(root, before), crash or problem or (out.message if out else ""))


# --- caches: a damaged entry is rebuilt from its source with a note, never a permanent failure --


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(b"\x00garbage" * 50)
    else:  # one flipped byte in the middle (a zip member's CRC catches it)
        mid = len(data) // 2
        path.write_bytes(data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1:])


@pytest.mark.parametrize("how", ["truncated", "garbage", "flipped"])
def test_damaged_reaching_cache_is_rebuilt(how, tiny, tmp_path, monkeypatch, capsys):
    from bench.data.reaching import load_reaching

    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    first = load_reaching(tiny)
    (entry,) = (tmp_path / "cache" / "binned").glob("*.npz")
    _damage(entry, how)
    capsys.readouterr()
    again = load_reaching(tiny)
    note = capsys.readouterr().err
    third = load_reaching(tiny)  # the rebuilt entry is used from now on
    clear = (np.array_equal(again.spikes, first.spikes) and np.array_equal(again.labels, first.labels)
             and not again.extra.get("from_cache") and third.extra.get("from_cache")
             and "note: cache entry" in note and entry.name in note and tiny.name in note)
    _verdict(clear, False, 0, f"note: {note!r}")


@pytest.mark.parametrize("record", ["truncated JSON", "[1, 2]", '{"md5": "not-a-digest"}'])
def test_damaged_md5_record_is_rebuilt(record, tiny, tmp_path, monkeypatch, capsys):
    import hashlib

    from bench.data import io

    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    digest = io.file_md5(tiny)
    (side,) = (tmp_path / "cache" / "md5").glob("*.json")
    side.write_text('{"path": "' if record == "truncated JSON" else record)
    capsys.readouterr()
    again = io.file_md5(tiny)
    note = capsys.readouterr().err
    clear = (again == digest == hashlib.md5(tiny.read_bytes()).hexdigest() and "note: cache entry" in note
             and io.known_md5(tiny) == digest)
    _verdict(clear, False, 0, f"md5 {again}, note {note!r}")


@pytest.mark.parametrize("how", ["truncated", "garbage", "flipped"])
def test_damaged_grasp_cache_is_rebuilt(how, tmp_path, monkeypatch, capsys):
    grasp = pytest.importorskip("bench.data.grasp")
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    src = _write_neo(tmp_path / "good.neo.mat")
    first = grasp.load_grasp(src)
    (entry,) = (tmp_path / "cache" / "grasp").glob("*.npz")
    _damage(entry, how)
    capsys.readouterr()
    again = grasp.load_grasp(src)
    note = capsys.readouterr().err
    clear = (np.array_equal(again.counts, first.counts) and np.array_equal(again.phase_times, first.phase_times, equal_nan=True)
             and "note: cache entry" in note and src.name in note)
    _verdict(clear, False, 0, f"note: {note!r}")


# --- grasp files (.neo.mat) -------------------------------------------------------------------

PHASES = ("Start", "Rest", "Motor", "FixLOn", "Fix", "Cue", "Mem", "React", "Go", "Hold", "Rew", "Intert", "End")


def _write_neo(path: Path, annotations: bool = True, events: bool = True, n_trials: int = 3) -> Path:
    """A tiny NeoMatlabIO file: trials of 4 units, phase events, obj / correct annotations."""
    import neo
    import quantities as pq

    rng = np.random.default_rng(0)
    block = neo.Block(name="tiny_grasp")
    for i in range(n_trials):
        t0 = 10.0 * i
        seg = neo.Segment(name=f"trial {i}")
        if annotations or i < n_trials - 1:  # the last trial loses its annotations
            seg.annotate(obj=[11, 23, 35][i % 3], correct=1)
        for u in range(4):
            times = np.sort(rng.uniform(t0, t0 + 5.6, 30))
            seg.spiketrains.append(neo.SpikeTrain(times * pq.s, t_start=t0 * pq.s, t_stop=(t0 + 5.6) * pq.s, name=f"unit {u}"))
        if events or i < n_trials - 1:
            width = max(len(p) for p in PHASES)
            labels = np.array([p.ljust(width) for p in PHASES])
            seg.events.append(neo.Event((t0 + np.linspace(0.0, 5.5, len(PHASES))) * pq.s, labels=labels, name="phases"))
        block.segments.append(seg)
    neo.io.NeoMatlabIO(str(path)).write_block(block)
    return path


def _write_neo_changed(path: Path, change: Callable) -> Path:
    """The tiny grasp file, its neo Block changed by ``change(block)`` before writing."""
    import neo

    tmp = _write_neo(path.with_name("src-" + path.name))
    block = neo.io.NeoMatlabIO(str(tmp)).read_block()
    change(block)
    neo.io.NeoMatlabIO(str(path)).write_block(block)
    return path


def _stretch_last_trial(block, t_stop: float) -> None:
    import quantities as pq

    seg = block.segments[-1]
    seg.spiketrains[:] = [st.__class__(st.times, t_start=st.t_start, t_stop=t_stop * pq.s, name=st.name)
                          for st in seg.spiketrains]


GRASP_CASES: dict[str, tuple[Callable[[Path], Path], tuple[str, ...]]] = {
    "obj-nan": (lambda d: _write_neo_changed(d, lambda b: b.segments[1].annotate(obj=float("nan"))), ("trial 1", "'obj' = nan")),
    "obj-inf": (lambda d: _write_neo_changed(d, lambda b: b.segments[2].annotate(obj=float("inf"))), ("trial 2", "'obj' = inf")),
    "obj-huge": (lambda d: _write_neo_changed(d, lambda b: b.segments[0].annotate(obj=1e300)), ("trial 0", "'obj' = 1e+300")),
    "correct-nan": (lambda d: _write_neo_changed(d, lambda b: b.segments[1].annotate(correct=float("nan"))), ("trial 1", "'correct' = nan")),
    "trial-span-absurd": (lambda d: _write_neo_changed(d, lambda b: _stretch_last_trial(b, 1e12)), ("trial 2", "spans", "longer than the 600 s")),
    "missing-annotations": (lambda d: _write_neo(d, annotations=False), ("obj",)),
    "missing-events": (lambda d: _write_neo(d, events=False), ("events",)),
    "truncated": (lambda d: _write(d, _write_neo(d).read_bytes()[:700]), ()),
    "not-a-mat-file": (lambda d: _write(d, b"<html>login required</html>"), ()),
}


GRASP_GAPS: dict[str, str] = {}  # cases the reader does not yet answer clearly (strict xfail)


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=GRASP_GAPS[c]))
                                  if c in GRASP_GAPS else c for c in sorted(GRASP_CASES)])
def test_bad_grasp_file(case, tmp_path):
    grasp = pytest.importorskip("bench.data.grasp", reason="bench.data.grasp is not available")
    good = _write_neo(tmp_path / "good.neo.mat")
    assert grasp.load_grasp(good, cache=False).name == "good"  # the well-formed twin reads
    make, words = GRASP_CASES[case]
    bad = make(tmp_path / f"{case}.neo.mat")
    try:
        grasp.load_grasp(bad, cache=False)
        problem = "no error raised"
    except grasp.GraspDataError as exc:
        msg = str(exc)
        problem = "" if bad.name in msg and all(w in msg for w in words) else f"message lacks the file or {words}: {msg}"
    except Exception as exc:
        problem = f"{type(exc).__name__} instead of GraspDataError: {exc}"
    _verdict(not problem, False, 0, problem)


# --- submissions ------------------------------------------------------------------------------


def test_submission_that_fails_to_import(tiny, store_copy):
    root, before = store_copy
    bad = sup.BROKEN_DIR / "broken_import.py"
    problems = []
    for load in (lambda: registry.discover(packages=(), extra_dirs=[sup.BROKEN_DIR]),
                 lambda: registry.load_entry("broken", bad)):
        try:
            load()
            problems.append("no error raised")
        except registry.RegistryError as exc:
            if str(bad) not in str(exc) or "ModuleNotFoundError" not in str(exc):
                problems.append(f"unclear: {exc}")
    out, crash = _sweep(sup.spec("fault_tiny", tiny, seed=8, variants=["base"]), tiny, root, seed=9)
    ok = out is not None and out.status == "ok"  # the other entries still run
    _verdict(not problems and ok, bool(crash), _lost(root, before), crash or "; ".join(problems))


ENTRY_CASES = {
    "wrong-shape": ("fault_shape", ("fault_shape", "shape (4, 3)")),
    "nan-output": ("fault_nan", ("fault_nan", "non-finite")),
    "raises-in-training": ("fault_raises", ("fault_raises", "train", "deliberate failure")),
}


@pytest.mark.parametrize("case", sorted(ENTRY_CASES))
def test_bad_submission(case, tiny, store_copy):
    root, before = store_copy
    name, words = ENTRY_CASES[case]
    out, crash = _sweep(sup.spec(name, tiny, seed=0), tiny, root, seed=10)
    text = f"{out.spec.label()}: {out.message}" if out else ""
    clear = out is not None and out.status == "error" and all(w in text for w in words)
    _verdict(clear, bool(crash), _lost(root, before), crash or text)


@pytest.mark.slow
def test_submission_killed_in_training(tiny, store_copy):
    root, before = store_copy
    out, crash = _sweep(sup.spec("fault_killed", tiny, seed=0), tiny, root, seed=11, jobs=2)
    clear = out is not None and out.status == "error" and "fault_killed" in out.message and "SIGKILL" in out.message
    _verdict(clear, bool(crash), _lost(root, before), crash or (out.message if out else ""))


def test_sweep_override_with_a_typo(tiny, store_copy):
    root, before = store_copy
    out, crash = _sweep(sup.spec("fault_tiny", tiny, seed=0, overrides={"epoch": 3}), tiny, root, seed=12)
    clear = out is not None and out.status == "error" and "epoch" in out.message
    _verdict(clear, bool(crash), _lost(root, before), crash or (out.message if out else ""))


# --- metrics ----------------------------------------------------------------------------------


def _break_metric(monkeypatch, metric: type) -> None:
    """``metric`` raises until the first result is stored (the bad run), then works again."""
    armed, real_call, real_store = [True], metric.__call__, store.store

    def call(self, *args, **kwargs):
        if armed[0]:
            raise ArithmeticError("deliberate metric failure")
        return real_call(self, *args, **kwargs)

    def store_and_disarm(path, payload):
        armed[0] = False
        return real_store(path, payload)

    monkeypatch.setattr(metric, "__call__", call)
    monkeypatch.setattr(store, "store", store_and_disarm)


def test_primary_metric_raises(tiny, store_copy, monkeypatch):
    """R2 fails while re-running a completed run (force): its result stays, the error goes beside."""
    from neurobench.metrics.workload import R2

    root, before = store_copy
    _break_metric(monkeypatch, R2)
    out, crash = _sweep(sup.spec("fault_tiny", tiny, seed=0, variants=["base"]), tiny, root, seed=13, force=True)
    monkeypatch.undo()
    record = store.read(out.paths[0]) if out else {}
    clear = (out is not None and out.status == "error" and "R2 failed" in out.message
             and out.paths[0].name.endswith(".error.json")
             and "deliberate metric failure" in record.get("error", {}).get("traceback", ""))
    _verdict(clear, bool(crash), _lost(root, before), crash or (out.message if out else ""))


def test_secondary_metric_raises(tiny, store_copy, monkeypatch):
    """SynapticOperations fails: the run is scored, the failure is recorded, never a number."""
    from bench.evaluation import SampleSynapticOperations  # NeuroBench's, counted per sample

    root, before = store_copy
    _break_metric(monkeypatch, SampleSynapticOperations)
    out, crash = _sweep(sup.spec("fault_tiny", tiny, seed=14, variants=["base"]), tiny, root, seed=15)
    monkeypatch.undo()
    record = store.read(out.paths[0]) if out else {}
    clear = (out is not None and "SynapticOperations" not in record.get("metrics", {})
             and "deliberate metric failure" in record.get("metric_errors", {}).get("SynapticOperations", ""))
    _verdict(clear, bool(crash), _lost(root, before), crash or str(record.get("metric_errors")))


# --- command line: every bad argument is a parser or user error naming it, never a traceback ----


def _cli(argv: list[str], capsys) -> tuple[int | None, str, str]:
    """Run ``python -m bench ARGV`` in this process: (exit code, stderr, crash text or '')."""
    from bench import cli

    try:
        rc = cli.main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's usage errors
        rc = exc.code
    except Exception as exc:  # an escape is a crash
        return None, capsys.readouterr().err, f"{type(exc).__name__}: {exc}"
    err = capsys.readouterr().err
    return rc, err, ("traceback shown" if "Traceback" in err else "")


def _cli_case(argv: list[str], expected: str, capsys) -> None:
    rc, err, crash = _cli(argv, capsys)
    clear = rc == 2 and expected in err
    _verdict(clear, bool(crash), 0, crash or f"rc {rc}: {err.strip()[-400:]}")


@pytest.mark.parametrize("argv, expected", [
    (["run", "fault_tiny", "--seeds", "-1"], "seed must be 0..4294967295, got -1"),
    (["run", "fault_tiny", "--seeds", "4294967296"], "seed must be 0..4294967295, got 4294967296"),
    (["run", "fault_tiny", "--seeds", "1e3"], "seed must be an integer, got '1e3'"),
    (["run", "fault_tiny", "--jobs", "0"], "--jobs must be 1..1024, got 0"),
    (["run", "fault_tiny", "--jobs", "-1"], "--jobs must be 1..1024, got -1"),
    (["run", "fault_tiny", "--retries", "-1"], "--retries must be 0..100, got -1"),
    (["run", "fault_tiny", "--threads", "0"], "--threads must be 1..1024, got 0"),
    (["tune", "bilstm-grasp", "--trials", "0"], "--trials must be 1..100000, got 0"),
    (["tune", "bilstm-grasp", "--seed", "-5"], "seed must be 0..4294967295, got -5"),
    (["tune", "bilstm-grasp", "--timeout", "-1"], "--timeout must lie in (0, inf), got -1"),
    (["sweep", "prune", "aegru", "--rates", "1.0"], "pruning rate must lie in [0, 1), got 1.0"),
    (["sweep", "prune", "aegru", "--rates", "nan"], "pruning rate must lie in [0, 1), got nan"),
    (["sweep", "window", "aegru", "--ws", "0"], "--ws must be 1..100000, got 0"),
    (["sweep", "window", "aegru", "--n", "-2"], "--n must be 1..10000, got -2"),
    (["sweep", "trainsize", "bilstm-grasp", "--shares", "1"], "train + validation share must lie in (0, 1), got 1"),
    (["data", "synth", "--seed", "-1"], "--seed must be 0..2147483647, got -1"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_cli_numbers_out_of_range(argv, expected, capsys):
    _cli_case(argv, expected, capsys)


@pytest.mark.parametrize("argv, expected", [
    (["run", "aegr"], "did you mean aegru"),
    (["gate", "aegr"], "did you mean aegru"),
    (["sweep", "prune", "aegr", "--plot-only"], "did you mean aegru"),
    (["sweep", "window", "aegr", "--plot-only"], "did you mean aegru"),
    (["sweep", "trainsize", "bilstm-grsp"], "did you mean bilstm-grasp"),
    (["tune", "bilstm-grsp"], "did you mean bilstm-grasp"),
    (["data", "synth", "--names", "sim_indy_9"], "unknown synthetic reaching session 'sim_indy_9'; did you mean sim_indy_3"),
    (["data", "synth", "--task", "grasp", "--names", "sim_m_9"], "unknown synthetic grasp session 'sim_m_9'; did you mean sim_m_3"),
    (["list", "--task", "reachng"], "did you mean reaching"),
    (["run", "--all", "--task", "grasp-objet"], "did you mean grasp-object"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_cli_unknown_names_get_suggestions(argv, expected, capsys):
    _cli_case(argv, expected, capsys)


@pytest.mark.parametrize("command", [["run", "fault_tiny"], ["tune", "bilstm-grasp"], ["sweep", "window", "aegru"], ["data", "download"]],
                         ids=lambda v: " ".join(v))
def test_cli_data_dir_that_is_a_file(command, tmp_path, capsys):
    afile = tmp_path / "recordings.mat"
    afile.write_text("not a folder")
    _cli_case([*command, "--data-dir", afile], f"{afile} is a file, not a folder", capsys)


def test_cli_published_weights_only_for_real_sessions(tiny, capsys):
    _cli_case(["run", "ann2d", "--weights", "published"], "needs the real NeuroBench sessions (--data-dir)", capsys)
    _cli_case(["run", "ann2d", "--weights", "published", "--data-dir", tiny.parent, "-r", tiny.stem],
              "published weights exist only for the real NeuroBench sessions", capsys)
    _cli_case(["run", "aegru", "--weights", "neurobench", "--data-dir", tiny.parent, "-r", tiny.stem], "no published weights for aegru", capsys)


def test_cli_recording_names_that_cannot_name_a_result_file(tiny, tmp_path, capsys):
    shutil.copyfile(tiny, tmp_path / "tiny reach.mat")
    _cli_case(["run", "ann2d", "--data-dir", tmp_path, "-r", "tiny reach"], "recording name 'tiny reach' cannot name a result file", capsys)
    _cli_case(["run", "ann2d", "--data-dir", tmp_path, "-r", "nope"], "recording(s) ['nope'] not usable", capsys)
    (tmp_path / "store").write_text("a file")
    _cli_case(["run", "ann2d", "--data-dir", tiny.parent, "-r", tiny.stem, "--results", tmp_path / "store"], "is a file, not a folder", capsys)


def test_all_tasks_with_one_recording_run_the_tasks_that_have_it(tiny, tmp_path, capsys):
    """`run --all -r NAME` and `run --all --data-dir DIR` run the tasks whose recordings there
    are and name the tasks they skip (both aborted on the grasp task before)."""
    import argparse

    from bench.cli_common import recordings_by_task
    from bench.data.synth_grasp import GraspSynthConfig, write_session

    tasks = ["grasp-object", "grasp-phase", "reaching"]
    got = recordings_by_task(tasks, argparse.Namespace(recording=[tiny.stem], data_dir=tiny.parent))
    err = capsys.readouterr().err
    assert list(got) == ["reaching"] and [r.name for r in got["reaching"]] == [tiny.stem]
    assert "skipped task grasp-object" in err and "skipped task grasp-phase" in err
    write_session(tmp_path / "tiny_grasp.neo.mat", GraspSynthConfig("tiny_grasp", n_units=6, n_trials=40, seed=3))
    got = recordings_by_task(tasks, argparse.Namespace(recording=None, data_dir=tmp_path))
    err = capsys.readouterr().err
    assert sorted(got) == ["grasp-object", "grasp-phase"] and "skipped task reaching" in err
    with pytest.raises(ValueError, match="not usable by any selected task"):
        recordings_by_task(tasks, argparse.Namespace(recording=["nope"], data_dir=tmp_path))
