"""Synthetic grasp sessions in the layout of the grasp paper's Neo files (REFERENCE.md section 7).

A session is a delayed grasping task: each trial runs through the phases Start ... End with
realistic durations, one of 50 objects (id = 10 * shape + size, handle grips 0 and 1) is shown at
Cue and grasped at Hold. Units (AIP, F5, M1 arrays) fire as inhomogeneous Poisson processes whose
log-rates add: a log-normal baseline, per-phase gains (smoothed, strongest change around Go and
Hold in F5/M1), object tuning from Cue on (visual: AIP-weighted; motor: F5/M1-weighted, peaking at
Go and Hold) through a smooth object embedding in which neighbouring sizes of one shape are close,
per-trial offsets, per-trial grip jitter of the embedding and slow within-trial latents.
Identical objects (11 = 41, ...) share an embedding. Files are written as ``.neo.mat``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from bench.data.io import atomic_output, atomic_write
from bench.data.neo_matfile import padded_labels, write_neo_mat

GENERATOR_VERSION = "3"
DT = 0.01  # s: rate grid (spike times themselves are continuous)
PHASES = ("Start", "Rest", "Motor", "FixLOn", "Fix", "Cue", "Mem", "React", "Go", "Hold", "Rew",
          "Intert", "End")
# mean duration (s) of the interval that each marker opens, and its log-normal spread
_DUR = np.array([0.04, 0.05, 1.28, 0.23, 0.64, 0.69, 0.79, 0.05, 0.59, 0.49, 0.06, 0.69, 0.0])
_DUR_SIGMA = np.array([0.2, 0.2, 0.33, 0.15, 0.15, 0.1, 0.3, 0.3, 0.25, 0.2, 0.2, 0.4, 0.0])
# how strongly the object shows in the rates during each phase: visual (AIP) and motor (F5/M1)
_ENV_VISUAL = np.array([0, 0, 0, 0, 0, 1.0, 0.6, 0.5, 0.4, 0.3, 0.2, 0.05, 0])
_ENV_MOTOR = np.array([0, 0, 0, 0, 0, 0.15, 0.25, 0.4, 0.85, 1.0, 0.6, 0.1, 0])
# objects: handle grips, shape 1 (mixed, 11-16), rings .. vertical cylinders (2x-7x, sizes 1-6),
# special 81-85 and 91 (objects >= 85 are recorded but the paper excludes them)
OBJECTS = (0, 1, *range(11, 17), *[10 * s + k for s in range(2, 8) for k in range(1, 7)],
           *range(81, 86), 91)
_SAME_AS = {11: 41, 13: 34, 14: 44, 16: 25, 12: 54}  # physically identical objects
AREAS = ("AIP", "F5", "M1")
_AREA_VISUAL = np.array([1.0, 0.6, 0.2])
_AREA_MOTOR = np.array([0.5, 1.0, 1.0])
_AREA_GRASP = np.array([0.4, 1.0, 1.2])


@dataclass(frozen=True)
class GraspSynthConfig:
    """One synthetic session; defaults follow the real sessions (REFERENCE.md section 7)."""

    name: str
    n_units: int = 552
    n_trials: int = 745
    seed: int = 0
    animal: str = "m"
    mean_rate_hz: float = 7.7  # real mean rate per unit
    rate_sigma: float = 0.8  # log-normal spread of unit baselines
    incorrect_share: float = 0.07  # error trials (correct = 0)
    abort_share: float = 0.5  # of error trials: aborted after Go, without Hold / Rew markers
    phase_depth: float = 0.25  # sd of per-unit per-phase log-gains
    grasp_depth: float = 0.9  # mean extra log-gain of grasp units around Go / Hold
    grasp_unit_share: float = 0.45
    n_dims: int = 8  # object embedding dimensions
    size_weight: float = 0.7  # size vs shape in the embedding (neighbouring sizes stay close)
    visual_tuning: float = 0.45  # log-rate sd of the object drive at full visual envelope
    motor_tuning: float = 0.85  # ... at full motor envelope
    grip_jitter: float = 0.4  # per-trial jitter of the object embedding (sd, embedding sd = 1)
    trial_noise: float = 0.25  # sd of per-trial per-unit log-rate offsets
    n_latents: int = 3
    latent_weight: float = 0.2
    latent_tau_s: float = 0.4
    smooth_s: float = 0.04  # phase transitions are smoothed with this time constant
    iti_s: tuple[float, float] = (0.4, 1.2)  # gap between trials


DEFAULT_GRASP_SESSIONS: tuple[GraspSynthConfig, ...] = (
    GraspSynthConfig("sim_m_1", 552, 745, seed=4001, animal="m"),
    GraspSynthConfig("sim_m_2", 568, 757, seed=4002, animal="m"),
    GraspSynthConfig("sim_m_3", 554, 653, seed=4003, animal="m"),
    GraspSynthConfig("sim_z_1", 391, 687, seed=5001, animal="z", grip_jitter=0.45),
    GraspSynthConfig("sim_z_2", 388, 724, seed=5002, animal="z", grip_jitter=0.45),
    GraspSynthConfig("sim_z_3", 369, 610, seed=5003, animal="z", grip_jitter=0.45),
)


@dataclass
class GraspSim:
    """A simulated session as plain arrays (what ``to_block`` and the writers take)."""

    cfg: GraspSynthConfig
    unit_names: list[str]
    obj: np.ndarray  # (N,) int64
    correct: np.ndarray  # (N,) bool
    t_start: np.ndarray  # (N,) s, session clock
    t_stop: np.ndarray
    event_labels: list[list[str]]  # per trial, in order
    event_times: list[np.ndarray]  # per trial, s, session clock
    spikes: list[np.ndarray]  # per trial: flat spike times (s), unit-major, sorted per unit
    counts: list[np.ndarray]  # per trial: (U,) spikes per unit
    annotations: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# the session


def _embedding(rng: np.random.Generator, cfg: GraspSynthConfig) -> dict[int, np.ndarray]:
    """Object -> (D,) vector: shape term + a smooth per-shape size curve + a shared size axis."""
    d = cfg.n_dims
    shape_vec = {s: rng.standard_normal(d) for s in range(10)}
    a, b = rng.standard_normal((10, d)), rng.standard_normal((10, d))
    common = rng.standard_normal(d)  # grip aperture grows with size whatever the shape
    emb = {}
    for o in OBJECTS:
        src = _SAME_AS.get(o, o)
        s, k = divmod(src, 10)
        z = (k - 3.5) / 2.5 if s else (k - 0.5)  # size in about [-1, 1]
        emb[o] = shape_vec[s] + cfg.size_weight * (a[s] * z + 0.5 * b[s] * z * z + 0.8 * common * z)
    mat = np.stack([emb[o] for o in OBJECTS])
    mat = (mat - mat.mean(0)) / mat.std(0)
    return {o: mat[i] for i, o in enumerate(OBJECTS)}


def _trial_plan(rng: np.random.Generator, cfg: GraspSynthConfig):
    n = cfg.n_trials
    obj = np.resize(np.array(OBJECTS), n)  # about n / 50 trials of every object
    obj = rng.permutation(obj).astype(np.int64)
    correct = rng.random(n) >= cfg.incorrect_share
    aborted = ~correct & (rng.random(n) < cfg.abort_share)
    dur = _DUR * rng.lognormal(-_DUR_SIGMA**2 / 2, _DUR_SIGMA, (n, len(PHASES)))  # mean _DUR
    onset = np.concatenate([np.zeros((n, 1)), np.cumsum(dur, 1)[:, :-1]], 1)  # marker times
    onset += rng.uniform(0.0, 0.02, (n, 1))  # Start comes a little after t_start
    length = onset[:, -1] + rng.uniform(0.005, 0.03, n)
    go = PHASES.index("Go")
    cut = onset[:, go] + rng.uniform(0.3, 0.8, n)  # aborted: End soon after Go
    length = np.where(aborted, cut + 0.02, length)
    gaps = rng.uniform(*cfg.iti_s, n)
    t0 = rng.uniform(5.0, 30.0) + np.concatenate([[0.0], np.cumsum(length + gaps)[:-1]])
    return obj, correct, aborted, onset, length, t0


def _ema(x: np.ndarray, a: np.ndarray, gain: np.ndarray, init: np.ndarray) -> np.ndarray:
    """y[t] = a * y[t-1] + gain * x[t] with y[-1] = init, per column, without a Python loop."""
    t = np.arange(len(x))[:, None]
    log_a = np.log(a)  # (K,) < 0; a**-t stays finite for trials of minutes at these time constants
    y = np.cumsum(gain * x * np.exp(-t * log_a), axis=0) * np.exp(t * log_a)
    return y + np.exp((t + 1) * log_a) * init


def simulate(cfg: GraspSynthConfig) -> GraspSim:
    """Simulate one session: trial plan, tuned units, Poisson spikes (vectorised per trial)."""
    if cfg.n_units < 1 or cfg.n_trials < 1:
        raise ValueError(f"{cfg.name}: n_units and n_trials must be >= 1, got {cfg.n_units}, "
                         f"{cfg.n_trials}")
    ss = np.random.SeedSequence(cfg.seed)
    rng_s = np.random.default_rng(ss.spawn(1)[0])
    u, p, d, k = cfg.n_units, len(PHASES), cfg.n_dims, cfg.n_latents
    area = np.sort(rng_s.integers(0, 3, u))
    names = [f"{AREAS[a]} {i + 1:03d}" for i, a in enumerate(area)]
    emb = _embedding(rng_s, cfg)
    log_base = rng_s.normal(0.0, cfg.rate_sigma, u)
    gain = rng_s.normal(0.0, cfg.phase_depth, (u, p))  # (U, P) log-gain per phase
    is_grasp_unit = rng_s.random(u) < cfg.grasp_unit_share
    g = cfg.grasp_depth * _AREA_GRASP[area] * rng_s.lognormal(0, 0.4, u) * is_grasp_unit
    sign = np.where(rng_s.random(u) < 0.75, 1.0, -1.0)  # most grasp units fire more
    gain[:, PHASES.index("Go")] += 0.6 * sign * g
    gain[:, PHASES.index("Hold")] += sign * g
    gain[:, PHASES.index("Rew")] += 0.5 * sign * g
    w_vis = rng_s.standard_normal((u, d)) / np.sqrt(d) * _AREA_VISUAL[area, None]
    w_mot = rng_s.standard_normal((u, d)) / np.sqrt(d) * _AREA_MOTOR[area, None]
    load = rng_s.standard_normal((k, u)) * cfg.latent_weight
    obj, correct, aborted, onset, length, t0 = _trial_plan(rng_s, cfg)
    a = np.concatenate([np.full(p, np.exp(-DT / cfg.smooth_s)), np.full(k, np.exp(-DT / cfg.latent_tau_s))])
    ema_gain = np.concatenate([1 - a[:p], np.sqrt(1 - a[p:] ** 2)])
    env = np.stack([_ENV_VISUAL, _ENV_MOTOR], 1)  # (P, 2)
    noise_seeds = ss.spawn(cfg.n_trials)
    spike_rngs = [np.random.default_rng(s) for s in ss.spawn(cfg.n_trials)]

    def log_rate(i: int) -> np.ndarray:
        rng = np.random.default_rng(noise_seeds[i])  # the same draws on every call
        n_steps = int(np.ceil(length[i] / DT))
        t = (np.arange(n_steps) + 0.5) * DT
        phase = np.clip(np.searchsorted(onset[i], t, side="right") - 1, 0, p - 1)
        x = np.zeros((n_steps, p + k))
        x[np.arange(n_steps), phase] = 1.0
        x[:, p:] = rng.standard_normal((n_steps, k))
        init = np.concatenate([x[0, :p], rng.standard_normal(k)])
        x = _ema(x, a, ema_gain, init)  # (T, P + k): smoothed phase indicators, AR(1) latents
        e = emb[int(obj[i])] + cfg.grip_jitter * rng.standard_normal(d)
        design = np.concatenate([x, x[:, :p] @ env, np.ones((n_steps, 1))], 1)  # (T, P+k+3)
        weights = np.concatenate([  # (P+k+3, U)
            gain.T, load, cfg.visual_tuning * (w_vis @ e)[None], cfg.motor_tuning * (w_mot @ e)[None],
            (log_base + cfg.trial_noise * rng.standard_normal(u))[None]])
        return np.einsum("ku,tk->ut", weights, design)  # (U, T); no BLAS threads to contend

    # one global scale sets the mean rate, estimated on the first trials
    pilot = [np.exp(log_rate(i)).mean() * length[i] for i in range(min(40, cfg.n_trials))]
    scale = cfg.mean_rate_hz * float(np.sum(length[:len(pilot)]) / np.sum(pilot))
    spikes, counts = [], []
    for i in range(cfg.n_trials):
        rng = spike_rngs[i]
        rate = np.exp(log_rate(i))  # (U, T)
        rate *= scale * DT  # expected spikes per step
        n_steps = rate.shape[1]
        flat = rate.ravel()
        cum = np.cumsum(flat)  # unit-major
        ends = cum[n_steps - 1::n_steps]
        total = np.diff(np.concatenate([[0.0], ends]))  # (U,) expected spikes per unit
        n = rng.poisson(total)  # (U,)
        unit = np.repeat(np.arange(u), n)
        r = np.sort(unit + rng.random(len(unit))) - unit  # sorted within unit
        target = (ends - total)[unit] + r * total[unit]
        j = np.minimum(np.searchsorted(cum, target, side="right"), len(cum) - 1)
        frac = (cum[j] - target) / np.maximum(flat[j], 1e-300)
        step = j - unit * n_steps
        spikes.append(t0[i] + np.clip((step + 1 - frac) * DT, 0.0, length[i] - 1e-9))
        counts.append(n.astype(np.int64))
    ev_labels, ev_times = [], []
    for i in range(cfg.n_trials):
        keep = list(range(PHASES.index("Go") + 1)) if aborted[i] else list(range(p))
        labels = [PHASES[j] for j in keep]
        times = onset[i, keep]
        if aborted[i]:
            labels.append("End")
            times = np.append(times, length[i] - 0.02)
        ev_labels.append(labels)
        ev_times.append(t0[i] + times)
    ann = {"source": "synthetic", "seed": int(cfg.seed), "generator_version": GENERATOR_VERSION,
           "generator": "bench.data.synth_grasp", "animal": cfg.animal}
    return GraspSim(cfg, names, obj, correct, t0, t0 + length, ev_labels, ev_times, spikes,
                    counts, ann)


# ---------------------------------------------------------------------------------------------
# neo objects and .neo.mat files


def to_block(sim: GraspSim):
    """The session as a neo Block: one Segment per trial (obj / correct annotations, phase
    Event, one SpikeTrain per unit sharing the trial's t_start / t_stop)."""
    import neo
    import quantities as pq

    block = neo.Block(name=sim.cfg.name)
    block.annotate(**sim.annotations)
    for i in range(len(sim.obj)):
        seg = neo.Segment(name=f"trial {i}")
        seg.annotate(obj=int(sim.obj[i]), correct=int(sim.correct[i]))
        t0, t1 = sim.t_start[i] * pq.s, sim.t_stop[i] * pq.s
        for name, times in zip(sim.unit_names, np.split(sim.spikes[i], np.cumsum(sim.counts[i])[:-1])):
            seg.spiketrains.append(neo.SpikeTrain(times * pq.s, t_start=t0, t_stop=t1, name=name))
        seg.events.append(neo.Event(sim.event_times[i] * pq.s, labels=padded_labels(sim.event_labels[i]),
                                    name="phases"))
        block.segments.append(seg)
    return block


def generate(cfg: GraspSynthConfig):
    """Simulate ``cfg`` and return it as a ``neo.Block``."""
    return to_block(simulate(cfg))


NEO_WRITER_MAX_TRAINS = 20_000  # above this, the byte-compatible writer (neo takes ~1 ms a train)


def write_session(path: Path, cfg: GraspSynthConfig, engine: str = "auto") -> Path:
    """Simulate and write ``cfg`` as a ``.neo.mat`` (MAT v5, variable ``block``), atomically.

    engine "neo": ``neo.io.NeoMatlabIO.write_block``; "fast": ``neo_matfile.write_neo_mat``, a direct
    writer of the structs NeoMatlabIO reads (tests check neo reads both alike); "auto": neo up to
    ``NEO_WRITER_MAX_TRAINS`` spiketrains, else fast (neo needs ~1 ms per spiketrain).
    """
    path = Path(path)
    if engine == "auto":
        engine = "neo" if cfg.n_units * cfg.n_trials <= NEO_WRITER_MAX_TRAINS else "fast"
    if engine not in ("neo", "fast"):
        raise ValueError(f"engine must be 'auto', 'neo' or 'fast', not {engine!r}")
    sim = simulate(cfg)
    with atomic_output(path) as tmp:
        if engine == "neo":
            import neo

            neo.io.NeoMatlabIO(str(tmp)).write_block(to_block(sim))
        else:
            write_neo_mat(str(tmp), sim)
    return path


def binned(sim: GraspSim):
    """The simulated session binned at 40 ms, exactly as ``load_grasp`` bins its ``.neo.mat``
    (same function, same float64 times: tests/test_synth_grasp.py proves the arrays equal)."""
    from bench.data.grasp import bin_trials

    cfg = sim.cfg
    identity = {"source": "synthetic", "generator": "bench.data.synth_grasp",
                "generator_version": GENERATOR_VERSION, "seed": int(cfg.seed), "name": cfg.name}
    return bin_trials(
        cfg.name, t_start=sim.t_start, t_stop=sim.t_stop,
        spikes=list(zip(sim.spikes, sim.counts)), obj=sim.obj, correct=sim.correct,
        events=[dict(zip(lab, t.tolist())) for lab, t in zip(sim.event_labels, sim.event_times)],
        unit_names=sim.unit_names, identity=identity,
    )


def write_binned_session(path: Path, cfg: GraspSynthConfig) -> Path:
    """Simulate ``cfg`` and write it straight into bench's binned form (``<name>.grasp.npz``)."""
    from bench.data.grasp import write_binned

    return write_binned(binned(simulate(cfg)), Path(path))


# ---------------------------------------------------------------------------------------------
# default sessions


def default_dir() -> Path:
    from bench.paths import cache_dir

    return cache_dir() / "synthetic-grasp" / GENERATOR_VERSION


def _cost_s(cfg: GraspSynthConfig) -> float:
    return cfg.n_units * cfg.n_trials / 70_000  # ~6 s for a 552-unit, 745-trial session


def _binned_is_current(path: Path, cfg: GraspSynthConfig) -> bool:
    """A complete binned file of this generator version, session and seed (its meta says so)."""
    from bench.data.grasp import CACHE_VERSION

    if not path.is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
        ident = meta["identity"]
        return (meta.get("cache_version") == CACHE_VERSION and ident.get("seed") == cfg.seed
                and ident.get("generator_version") == GENERATOR_VERSION and meta["name"] == cfg.name)
    except Exception as e:  # noqa: BLE001 - a damaged file of ours is made again
        from bench.data.io import cache_note

        cache_note(path, f"{type(e).__name__}: {e}", f"the generator (session {cfg.name}, seed {cfg.seed})")
        return False


def _write_binned_job(job: tuple[str, GraspSynthConfig]) -> str:
    path, cfg = job
    return str(write_binned_session(Path(path), cfg))


def ensure_default_grasp_sessions(out_dir: Path | None = None,
                                  names: list[str] | None = None) -> list[Path]:
    """The default sessions as ``<name>.grasp.npz`` (binned at 40 ms), generated once per
    generator version (in parallel, with a progress bar) and kept in the cache."""
    from bench.data.generation import generate_all
    from bench.data.grasp import BINNED_SUFFIX

    out = Path(out_dir) if out_dir is not None else default_dir()
    cfgs = _select(names)
    paths = [out / f"{cfg.name}{BINNED_SUFFIX}" for cfg in cfgs]
    todo = [(str(p), c) for p, c in zip(paths, cfgs) if not _binned_is_current(p, c)]
    generate_all(_write_binned_job, todo, what="synthetic grasp sessions",
                 label=lambda j: f"{j[1].name} ({j[1].n_units} units x {j[1].n_trials} trials)",
                 cost_s=lambda j: _cost_s(j[1]))
    return paths


def default_config_for(path: Path) -> GraspSynthConfig | None:
    """The default session a binned file in the default folder was made from (None otherwise)."""
    from bench.data.grasp import recording_name

    path = Path(path)
    if path.parent.resolve() != default_dir().resolve():
        return None
    return {c.name: c for c in DEFAULT_GRASP_SESSIONS}.get(recording_name(path))


def _select(names: list[str] | None) -> list[GraspSynthConfig]:
    from bench.data.grasp_neo import GraspDataError

    known = {c.name: c for c in DEFAULT_GRASP_SESSIONS}
    if not names:
        return list(DEFAULT_GRASP_SESSIONS)
    missing = [n for n in names if n not in known]
    if missing:
        raise GraspDataError(f"unknown synthetic grasp session(s) {missing}; known: {sorted(known)}")
    return [known[n] for n in names]


def _neo_is_current(path: Path, cfg: GraspSynthConfig) -> bool:
    """A complete ``.neo.mat`` of this generator version and seed (its ``.ok`` stamp says so)."""
    if not path.is_file() or path.stat().st_size < 1024:
        return False
    stamp = path.with_name(path.name + ".ok")
    return stamp.is_file() and stamp.read_text().strip() == f"{GENERATOR_VERSION} {cfg.seed}"


def _write_neo_job(job: tuple[str, GraspSynthConfig]) -> str:
    path, cfg = job
    write_session(Path(path), cfg)
    atomic_write(Path(path + ".ok"), f"{GENERATOR_VERSION} {cfg.seed}\n", fsync=False)
    return path


def synth_grasp_command(out: Path | None = None, seed: int | None = None,
                        names: list[str] | None = None) -> list[Path]:
    """``python -m bench data synth --task grasp``: write the sessions in the real file format
    (``<name>.neo.mat``, NeoMatlabIO's layout) to ``out`` or the cache; a seed shifts every
    session's seed by it. Files already written for the same generator version and seed stay."""
    from bench.data.generation import generate_all

    cfgs = _select(names)
    if seed is not None:
        cfgs = [replace(c, seed=c.seed + seed) for c in cfgs]
    base = Path(out) if out is not None else default_dir() / (f"seed-{seed}" if seed is not None else "")
    paths = [base / f"{c.name}.neo.mat" for c in cfgs]
    todo = [(str(p), c) for p, c in zip(paths, cfgs) if not _neo_is_current(p, c)]
    generate_all(_write_neo_job, todo, what="grasp .neo.mat files",
                 label=lambda j: f"{j[1].name} ({j[1].n_units} units x {j[1].n_trials} trials)",
                 cost_s=lambda j: 3 * _cost_s(j[1]))
    for p, c in zip(paths, cfgs):
        kept = "kept " if str(p) not in {j[0] for j in todo} else "wrote"
        print(f"{kept} {p} ({c.n_units} units, {c.n_trials} trials, seed {c.seed}, "
              f"{p.stat().st_size / 1e6:.1f} MB)")
    return paths
