"""Parse grasp recordings in Neo's layout into validated trials (REFERENCE.md section 7).

``.neo.mat`` files (NeoMatlabIO's MAT v5 structs) are read straight from scipy's structs, other
formats through neo. Every trial is checked; a problem is a ``GraspDataError`` naming the file,
the trial and what is wrong (missing annotations or events, non-finite object ids, spiketrains
that disagree, absurd trial spans).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_TRIAL_S = 600.0  # a trial (one segment) lasting longer than this is refused as absurd


class GraspDataError(ValueError):
    """A grasp recording lacks something the pipeline needs; the message names file and trial."""


@dataclass
class Trial:
    t_start: float  # s
    t_stop: float
    spikes: list[np.ndarray]  # per unit, s
    unit_names: list[str]
    annotations: dict
    events: dict[str, float]  # label -> absolute time (s)
    span: list  # per unit (t_start, t_stop), s
    has_events: bool
    obj: int = -1
    correct: bool = False


_UNIT_SCALE = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6}


def _to_seconds(units: object) -> float:
    u = str(units).strip()
    if u not in _UNIT_SCALE:
        import quantities as pq

        _UNIT_SCALE[u] = float(pq.Quantity(1.0, u).rescale("s").magnitude)
    return _UNIT_SCALE[u]


def _as_list(x: object) -> list:
    """A MATLAB cell as loadmat(squeeze_me=True) returns it: one struct, an array, or nothing."""
    if x is None:
        return []
    if isinstance(x, np.ndarray):
        return list(x.ravel())
    return [x]


def _struct_dict(s: object) -> dict:
    if s is None or not hasattr(s, "_fieldnames"):
        return {}
    return {f: getattr(s, f) for f in s._fieldnames}


def _labels(raw: object) -> list[str]:
    arr = np.atleast_1d(np.asarray(raw))
    return [str(v).strip() for v in arr.ravel()]


def _read_mat(path: Path) -> tuple[list[Trial], dict]:
    """NeoMatlabIO's layout read straight from scipy's structs (no neo objects: ~4x faster).

    Same variable (``block``), same fields and units as ``NeoMatlabIO.read_block`` interprets;
    tests check both give the same trials.
    """
    import scipy.io

    try:
        d = scipy.io.loadmat(str(path), struct_as_record=False, squeeze_me=True)
    except NotImplementedError as e:  # MAT v7.3 (HDF5): not what NeoMatlabIO writes
        raise GraspDataError(f"{path}: not a MAT v5 file as NeoMatlabIO writes ({e})") from e
    if "block" not in d:
        found = sorted(k for k in d if not k.startswith("__"))
        raise GraspDataError(f"{path}: no variable 'block' (a neo Block); variables: {found}")
    blk = d["block"]
    trials = []
    for seg in _as_list(getattr(blk, "segments", None)):
        spikes, names, span = [], [], []
        for j, st in enumerate(_as_list(getattr(seg, "spiketrains", None))):
            k = _to_seconds(getattr(st, "times_units", "s"))
            spikes.append(np.atleast_1d(np.asarray(st.times, dtype=np.float64)) * k)
            span.append((float(st.t_start) * _to_seconds(getattr(st, "t_start_units", "s")),
                         float(st.t_stop) * _to_seconds(getattr(st, "t_stop_units", "s"))))
            name = getattr(st, "name", None)
            names.append(str(name) if isinstance(name, str) and name else f"unit {j:03d}")
        events = {}
        evs = _as_list(getattr(seg, "events", None))
        if evs:
            ev = evs[0]
            t = np.atleast_1d(np.asarray(ev.times, dtype=np.float64)) * _to_seconds(
                getattr(ev, "times_units", "s"))
            events = dict(zip(_labels(getattr(ev, "labels", [])), t.tolist()))
        trials.append(_make_trial(spikes, span, names, _struct_dict(
            getattr(seg, "annotations", None)), events, evs))
    return trials, _struct_dict(getattr(blk, "annotations", None))


def _read_neo(path: Path) -> tuple[list[Trial], dict]:
    """Any format neo reads (NeoMatlabIO for .mat), through neo objects."""
    import neo

    if path.name.endswith(".mat"):
        blk = neo.io.NeoMatlabIO(str(path)).read_block()
    else:
        blk = neo.io.get_io(str(path)).read_block()
    if blk is None:
        raise GraspDataError(f"{path}: neo found no block in the file")
    trials = []
    for seg in blk.segments:
        spikes, span, names = [], [], []
        for j, st in enumerate(seg.spiketrains):
            spikes.append(np.asarray(st.times.rescale("s").magnitude, dtype=np.float64))
            span.append((float(st.t_start.rescale("s").magnitude),
                         float(st.t_stop.rescale("s").magnitude)))
            names.append(str(st.name) if st.name else f"unit {j:03d}")
        events = {}
        if seg.events:
            ev = seg.events[0]
            t = np.asarray(ev.times.rescale("s").magnitude, dtype=np.float64)
            events = dict(zip(_labels(ev.labels), np.atleast_1d(t).tolist()))
        trials.append(_make_trial(spikes, span, names, dict(seg.annotations), events,
                                  seg.events))
    return trials, dict(blk.annotations)


def _make_trial(spikes, span, names, ann, events, raw_events) -> Trial:
    return Trial(span[0][0] if span else np.nan, span[0][1] if span else np.nan, spikes, names,
                  ann, events, span, bool(len(raw_events)))


def read_trials(path: Path, engine: str = "auto") -> tuple[list[Trial], dict]:
    """Parse and validate every trial; ``engine``: "auto", "scipy" (.mat only) or "neo"."""
    path = Path(path)
    if engine == "auto":
        engine = "scipy" if path.name.endswith(".mat") else "neo"
    if engine not in ("scipy", "neo"):
        raise ValueError(f"engine must be 'auto', 'scipy' or 'neo', not {engine!r}")
    if not path.exists():
        raise GraspDataError(f"{path}: no such file")
    try:
        trials, block_ann = (_read_mat if engine == "scipy" else _read_neo)(path)
    except GraspDataError:
        raise
    except (OSError, ValueError, IndexError, KeyError, TypeError, EOFError) as exc:
        # scipy/neo report truncated or foreign files with bare low-level errors
        raise GraspDataError(f"{path}: not a readable Neo recording (.neo.mat: MATLAB v5 with a 'block' struct): "
                             f"{type(exc).__name__}: {exc}") from exc
    _validate(trials, path)
    return trials, block_ann


def _number(value: object, what: str, where: str) -> float:
    try:
        return float(np.asarray(value, dtype=np.float64).ravel()[0])
    except (TypeError, ValueError, IndexError) as e:
        raise GraspDataError(f"{where}: annotation {what!r} must be a number, got {value!r}") from e


def _validate(trials: list[Trial], path: Path) -> None:
    if not trials:
        raise GraspDataError(f"{path}: the block holds no segments (one segment per trial)")
    n0 = len(trials[0].spikes)
    for i, tr in enumerate(trials):
        where = f"{path}: trial {i}"
        for key in ("obj", "correct"):
            if key not in tr.annotations:
                raise GraspDataError(f"{where}: segment annotation {key!r} is missing "
                                     f"(annotations: {sorted(tr.annotations)})")
        obj = _number(tr.annotations["obj"], "obj", where)
        ok = _number(tr.annotations["correct"], "correct", where)
        if not np.isfinite(obj) or obj != round(obj) or abs(obj) > 2**31:
            raise GraspDataError(f"{where}: annotation 'obj' = {obj} is not an integer object id")
        if ok not in (0.0, 1.0):
            raise GraspDataError(f"{where}: annotation 'correct' = {ok} is not 0 or 1")
        tr.obj = int(round(obj))
        tr.correct = ok == 1
        if not tr.spikes:
            raise GraspDataError(f"{where}: the segment holds no spiketrains")
        if len(tr.spikes) != n0:
            raise GraspDataError(f"{where}: {len(tr.spikes)} spiketrains (units), "
                                 f"but trial 0 has {n0}; every trial must hold the same units")
        spans = np.asarray(tr.span, dtype=np.float64)  # (U, 2)
        if not np.all(np.isfinite(spans)):
            raise GraspDataError(f"{where}: spiketrain t_start / t_stop must be finite, got "
                                 f"{tuple(spans[np.argmax(~np.isfinite(spans).all(1))])} s")
        bad = np.flatnonzero(np.abs(spans - spans[0]).max(axis=1) > 1e-6)
        if bad.size:
            j = int(bad[0])
            raise GraspDataError(f"{where}: spiketrain {j} spans {tuple(spans[j])} s but "
                                 f"spiketrain 0 spans {tuple(spans[0])} s; all spiketrains of a "
                                 f"trial must share t_start and t_stop")
        if not spans[0, 1] > spans[0, 0]:
            raise GraspDataError(f"{where}: t_stop {spans[0, 1]} s is not after t_start "
                                 f"{spans[0, 0]} s")
        if spans[0, 1] - spans[0, 0] > MAX_TRIAL_S:
            raise GraspDataError(f"{where}: spans {spans[0, 1] - spans[0, 0]:.6g} s (t_start "
                                 f"{spans[0, 0]:.6g} s, t_stop {spans[0, 1]:.6g} s), longer than "
                                 f"the {MAX_TRIAL_S:g} s a trial may last")
        if not tr.has_events:
            raise GraspDataError(f"{where}: no events; the phase markers must be seg.events[0]")
        missing = [lab for lab in ("Hold", "Rew") if lab not in tr.events]
        if missing and tr.correct:
            raise GraspDataError(f"{where}: phase label(s) {missing} missing from events[0] "
                                 f"(labels: {list(tr.events)})")
