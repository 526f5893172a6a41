"""Realistic synthetic primate-reaching sessions: the embedded default data set.

A session is simulated on the 4 ms grid and returned as a ``RawReachingSession`` in the layout of
the Zenodo files (O'Doherty et al., record 583331): self-paced reaches to targets on a grid with
minimum-jerk speed profiles, and threshold-crossing spikes of 96 or 192 channels whose rates are
tuned (log-linearly) to lagged velocity, speed and position, gain-modulated and perturbed by
low-dimensional latent dynamics, with a slow drift late in the session. See REFERENCE.md section 1
for the real-data statistics these defaults are chosen to match.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bench.data.recording import RawReachingSession

GENERATOR_VERSION = "1"
DT = 0.004  # s per sample: the Zenodo files' 250 Hz grid
_LOG_MOD_MAX = 2.5  # soft limit of the log-rate modulation
N_UNIT_ROWS = 5  # row 0 unsorted, rows 1-4 sorted units, as in the real cell arrays


@dataclass(frozen=True)
class SynthConfig:
    """One synthetic session. Defaults follow the real indy/loco sessions (REFERENCE.md 1)."""

    name: str
    n_channels: int = 96  # one Utah array (indy); 192 = M1 + S1 arrays (loco)
    duration_s: float = 300.0  # behaviour window; a few minutes keeps the default board fast
    seed: int = 0
    finger_rows: int = 3  # real files hold 3 (z, -x, -y) or 6 (+ azimuth, elevation, roll) rows
    t_start_s: float | None = None  # None: drawn in [100, 400) s; real t starts far from zero
    # behaviour
    targets_per_min: float = 35.0  # real sessions: about 24 (indy_20160622_01) to 42 per minute
    grid: int = 8  # 8 x 8 target grid
    grid_spacing_mm: float = 25.0  # grid spans +-87.5 mm, like the real workspace of ~ +-100 mm
    idle_per_min: float = 0.35  # pauses > 8 s (2,000 samples) that NeuroBench calls inactivity
    one_sample_target_prob: float = 0.008  # per reach: a target that lasts a single sample
    pre_s: float = 4.0  # spikes before t[0] (~6,000 spikes ~ 4 s in indy_20160630_01)
    post_s: float = 2.5  # spikes after t[-1] (~3,300 spikes ~ 2.3 s)
    # neurons (rates: all units of a channel summed)
    rate_median_hz: float = 12.0  # log-normal channel baselines: median ~ 6-15 Hz in real data
    rate_sigma: float = 0.95  # spread: real p25 ~ 3.5 Hz, p75 ~ 21 Hz
    rate_max_hz: float = 55.0  # real per-channel maxima are 30-60 Hz
    dead_channels_per_96: tuple[int, int] = (4, 8)  # real: 4-8 silent channels per array
    tuning_depth: float = 0.5  # log-rate gain of velocity tuning (cosine to preferred direction)
    speed_weight: float = 0.45  # log-rate gain of speed (direction-free, e.g. movement onset)
    position_weight: float = 0.25  # log-rate gain of hand position
    lag_ms: tuple[float, float] = (50.0, 200.0)  # M1 leads velocity by ~100-180 ms
    s1_lag_ms: tuple[float, float] = (-40.0, 60.0)  # S1 (second array) follows or barely leads
    s1_tuning_scale: float = 0.7  # S1 channels are more weakly velocity-tuned
    n_latents: int = 4  # low-dimensional dynamics the kinematics do not explain
    latent_weight: float = 0.2  # log-rate loading scale of the latent factors
    gain_mod: float = 0.5  # latent gain modulation of the tuning (engagement / attention)
    drift: float = 0.09  # last 20% fires ~8% less (indy_20160630_01)
    unsorted_share: float = 0.55  # share of spikes in row 0 (unsorted threshold crossings)
    sorted_units_mean: float = 1.5  # ~half of the 5 x C cells end up empty, as in real files


DEFAULT_SESSIONS: tuple[SynthConfig, ...] = (
    SynthConfig("sim_indy_1", 96, 300.0, seed=101, finger_rows=3, targets_per_min=30.0),
    SynthConfig("sim_indy_2", 96, 240.0, seed=102, finger_rows=6, targets_per_min=42.0),
    SynthConfig("sim_indy_3", 96, 270.0, seed=103, finger_rows=3, targets_per_min=34.0),
    SynthConfig("sim_loco_1", 192, 330.0, seed=201, finger_rows=6, targets_per_min=28.0),
    SynthConfig("sim_loco_2", 192, 300.0, seed=202, finger_rows=3, targets_per_min=26.0),
    SynthConfig("sim_loco_3", 192, 300.0, seed=203, finger_rows=6, targets_per_min=36.0),
)
# real lengths for performance work (indy_20160622_01 runs 2,450 s, indy_20160630_01 1,463 s)
_FULL_S = {"sim_indy_1": 2450.0, "sim_indy_2": 1463.0, "sim_indy_3": 1200.0,
           "sim_loco_1": 1400.0, "sim_loco_2": 1100.0, "sim_loco_3": 1300.0}
FULL_SCALE: tuple[SynthConfig, ...] = tuple(
    replace(c, duration_s=_FULL_S[c.name]) for c in DEFAULT_SESSIONS
)
SCALES = {"default": DEFAULT_SESSIONS, "full": FULL_SCALE}


# ---------------------------------------------------------------------------------------------
# behaviour


def _min_jerk_increments(n: int) -> np.ndarray:
    """Per-sample position increments of a minimum-jerk move of n samples; they sum to 1."""
    tau = np.arange(n + 1) / n
    s = tau**3 * (10 - 15 * tau + 6 * tau**2)
    return np.diff(s)


def _simulate_behaviour(cfg: SynthConfig, rng: np.random.Generator, n: int):
    """Cursor (n, 2) mm and target (n, 2) mm on the extended grid, plus the reach start samples."""
    half = (cfg.grid - 1) / 2
    offset = rng.uniform(-10, 10, 2)  # the workspace is not centred on the tracker's origin
    grid_xy = (np.stack(np.meshgrid(np.arange(cfg.grid), np.arange(cfg.grid)), -1).reshape(-1, 2)
               - half) * cfg.grid_spacing_mm + offset
    vel = np.zeros((n, 2))  # (n, 2) planned displacement per sample
    target = np.empty((n, 2))
    starts = []
    base_s = 1.1  # mean reaction + movement + correction + minimum hold of one reach
    p_idle = cfg.idle_per_min / cfg.targets_per_min  # per reach
    extra = max(60.0 / cfg.targets_per_min - base_s - p_idle * 14.25, 0.1)  # idles last ~14 s
    pos = grid_xy[rng.integers(len(grid_xy))].copy()
    pos0 = pos.copy()
    cur_t = grid_xy[rng.integers(len(grid_xy))]
    a = 0
    while a < n:
        starts.append(a)
        nxt = cur_t
        while np.allclose(nxt, cur_t):
            nxt = grid_xy[rng.integers(len(grid_xy))]
        cur_t = nxt
        a0 = a
        if rng.random() < cfg.one_sample_target_prob and a + 1 < n:
            target[a] = grid_xy[rng.integers(len(grid_xy))]  # a glitch target for one sample
            a0 = a + 1
            starts.append(a0)
        rt = rng.lognormal(np.log(0.24), 0.3) + 0.5 * extra * rng.exponential()
        if rng.random() < p_idle:  # the animal pauses: the target stays put for > 8 s
            rt += rng.uniform(8.5, 20.0)
        dist = float(np.hypot(*(cur_t - pos)))
        dur = (0.28 + 0.0028 * dist) * rng.lognormal(0, 0.15)
        ang = rng.normal(0, 0.08)
        rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
        disp1 = rot @ (cur_t - pos) * rng.normal(0.92, 0.07)
        s1 = a0 + int(rt / DT)
        n1 = max(int(dur / DT), 10)
        end = pos + disp1
        final = cur_t + rng.normal(0, 2.0, 2)  # lands inside the target window, not on its centre
        s2 = s1 + int(n1 * rng.uniform(0.6, 0.95))
        n2 = max(int(rng.uniform(0.18, 0.35) / DT), 10)
        for s, k, d in ((s1, n1, disp1), (s2, n2, final - end)):
            if s < n:
                m = min(k, n - s)
                vel[s:s + m] += _min_jerk_increments(k)[:m, None] * d[None, :]
        pos = final
        hold = rng.uniform(0.1, 0.25) + 0.5 * extra * rng.exponential()
        nxt_a = max(s1 + n1, s2 + n2) + int(hold / DT)
        target[a0:min(nxt_a, n)] = cur_t
        a = nxt_a
    cursor = pos0 + np.cumsum(vel, axis=0)
    # hand jitter: an Ornstein-Uhlenbeck wobble (~0.6 mm, 150 ms) on top of the planned path
    cursor += _ar1(rng, n, 2, tau_s=0.15) * 0.6
    return cursor, target, np.asarray(starts)


def _ar1(rng: np.random.Generator, n: int, k: int, tau_s: float) -> np.ndarray:
    """k unit-variance AR(1) series of n samples with time constant tau_s."""
    from scipy.signal import lfilter

    a = np.exp(-DT / tau_s)
    burn = int(3 * tau_s / DT)  # start in the stationary state
    x = lfilter([np.sqrt(1 - a * a)], [1, -a], rng.standard_normal((n + burn, k)), axis=0)
    return x[burn:]


def _latents(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """(n, k) latent factors: slow AR(1) drifts and a damped ~1.5 Hz oscillation (rotations)."""
    from scipy.signal import lfilter

    z = np.empty((n, k))
    taus = [2.0, 0.5, 5.0, 1.0]
    n_osc = 2 if k >= 3 else 0
    for j in range(k - n_osc):
        z[:, j] = _ar1(rng, n, 1, taus[j % len(taus)])[:, 0]
    if n_osc:
        f, r = rng.uniform(1.0, 2.0), np.exp(-DT / 0.4)
        w = 2 * np.pi * f * DT
        e = rng.standard_normal(n)
        osc = lfilter([1.0], [1, -2 * r * np.cos(w), r * r], e)  # complex-pole resonator
        osc2 = np.gradient(osc) / w  # quadrature component
        for j, o in enumerate((osc, osc2)):
            z[:, k - n_osc + j] = o / (o.std() + 1e-12)
    return z


# ---------------------------------------------------------------------------------------------
# neurons


@dataclass(frozen=True)
class _Channels:
    base_hz: np.ndarray  # (C,) mean rate, 0 for dead channels
    w: np.ndarray  # (C, 5) log-rate weights on vx, vy, speed, px, py (normalised units)
    lag: np.ndarray  # (C,) samples by which the channel leads the kinematics
    load: np.ndarray  # (C, K) latent loadings
    drift: np.ndarray  # (C,) fractional rate loss at the end of the session


def _channels(cfg: SynthConfig, rng: np.random.Generator) -> _Channels:
    C = cfg.n_channels
    base = rng.lognormal(np.log(cfg.rate_median_hz), cfg.rate_sigma, C)
    base = cfg.rate_max_hz * np.tanh(base / cfg.rate_max_hz)  # soft ceiling, as real maxima
    for a0 in range(0, C, 96):  # dead channels per 96-channel array
        n_dead = rng.integers(cfg.dead_channels_per_96[0], cfg.dead_channels_per_96[1] + 1)
        base[a0 + rng.choice(min(96, C - a0), n_dead, replace=False)] = 0.0
    s1 = np.arange(C) >= 96  # second array of 192-channel sessions: S1
    pd = rng.uniform(0, 2 * np.pi, C)
    depth = cfg.tuning_depth * rng.gamma(4.0, 0.25, C) * np.where(s1, cfg.s1_tuning_scale, 1.0)
    w = np.empty((C, 5))
    w[:, 0], w[:, 1] = depth * np.cos(pd), depth * np.sin(pd)
    w[:, 2] = cfg.speed_weight * rng.normal(0.6, 1.0, C)  # most channels rise with speed
    w[:, 3:] = cfg.position_weight * rng.normal(0, 1, (C, 2)) / np.sqrt(2)
    lo, hi = np.where(s1, cfg.s1_lag_ms[0], cfg.lag_ms[0]), np.where(s1, cfg.s1_lag_ms[1], cfg.lag_ms[1])
    lag = np.round(rng.uniform(lo, hi) / 1000 / DT).astype(np.int64)
    load = cfg.latent_weight * rng.normal(0, 1, (C, cfg.n_latents))
    load[:, 0] = cfg.gain_mod * rng.uniform(0.3, 1.0, C)  # the gain latent also lifts baselines
    drift = cfg.drift * rng.uniform(0.4, 1.6, C)
    return _Channels(base, w, lag, load, drift)


def _drift_profile(n: int, lo: int, k: int) -> np.ndarray:
    """(n,) 0 -> 1 smooth step over 72-82% of the behaviour window (samples lo .. lo + k)."""
    f = (np.arange(n) - lo) / k
    x = np.clip((f - 0.72) / 0.10, 0, 1)
    return x * x * (3 - 2 * x)


def _spike_samples(cfg, rng, ch: _Channels, kin: np.ndarray, z: np.ndarray, ramp: np.ndarray):
    """Per channel, the samples holding a spike: (sample, channel) index arrays.

    Channel-level dead time: at most one threshold crossing per 4 ms sample, so a 20 ms bin
    holds at most 5 spikes, as in the real data.
    """
    n, C = kin.shape[0], len(ch.base_hz)
    gain = np.exp(cfg.gain_mod * z[:, 0] - cfg.gain_mod**2 / 2)  # (n,) tuning gain modulation
    chunk = max(1, 2**21 // C)
    # pass 1: the log-rate's per-channel mean of exp(drive), so the mean rate equals base_hz
    drives = []
    norm = np.zeros(C)
    for a in range(0, n, chunk):
        i = np.arange(a, min(a + chunk, n))
        idx = np.minimum(i[:, None] + ch.lag[None, :], n - 1)  # (m, C) lead the kinematics
        d = np.zeros(idx.shape, dtype=np.float32)
        for f in range(kin.shape[1]):
            d += kin[idx, f].astype(np.float32) * ch.w[None, :, f].astype(np.float32)
        d *= gain[i, None].astype(np.float32)
        d += (z[i] @ ch.load.T).astype(np.float32)
        # rates saturate: soft-limit the log-rate modulation to about +-e^2.5
        np.exp(_LOG_MOD_MAX * np.tanh(d / _LOG_MOD_MAX), out=d)
        norm += d.sum(0, dtype=np.float64)
        drives.append(d)
    norm = np.where(norm > 0, norm / n, 1.0)
    scale = (ch.base_hz / norm * DT).astype(np.float32)  # expected spikes per sample per unit drive
    rows, cols = [], []
    for a, d in zip(range(0, n, chunk), drives):
        i = np.arange(a, a + d.shape[0])
        lam = d * scale[None, :] * (1 - ramp[i, None] * ch.drift[None, :]).astype(np.float32)
        p = -np.expm1(-lam)  # P(at least one crossing in 4 ms)
        r, c = np.nonzero(rng.random(p.shape, dtype=np.float32) < p)
        rows.append(r + a)
        cols.append(c)
    return np.concatenate(rows), np.concatenate(cols)


def _split_units(cfg, rng, sample, chan, C):
    """Unit row (0..4) of every spike: ~55% unsorted (row 0), the rest to 0-4 sorted units."""
    n_sorted = np.minimum(rng.poisson(cfg.sorted_units_mean, C), N_UNIT_ROWS - 1)
    frac_free = np.mean(n_sorted == 0)
    share0 = np.clip((cfg.unsorted_share - frac_free) / max(1 - frac_free, 1e-9), 0.05, 0.95)
    probs = np.zeros((C, N_UNIT_ROWS))
    for c in range(C):
        k = n_sorted[c]
        if k == 0:
            probs[c, 0] = 1.0
            continue
        probs[c, 0] = np.clip(rng.normal(share0, 0.12), 0.05, 0.95)
        probs[c, 1:k + 1] = (1 - probs[c, 0]) * rng.dirichlet(np.full(k, 2.0))
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(sample))
    return (u[:, None] >= cum[chan, :-1]).sum(1)


# ---------------------------------------------------------------------------------------------
# the session


def generate(cfg: SynthConfig) -> RawReachingSession:
    """Simulate one session (deterministic by ``cfg.seed``)."""
    if cfg.n_channels < 1 or cfg.duration_s <= 1 or cfg.finger_rows not in (3, 6):
        raise ValueError(f"invalid SynthConfig for {cfg.name!r}: {cfg}")
    rb, rn, rs, rt = (np.random.default_rng(s) for s in np.random.SeedSequence(cfg.seed).spawn(4))
    k = int(round(cfg.duration_s / DT))
    pre, post = int(round(cfg.pre_s / DT)), int(round(cfg.post_s / DT))
    n = pre + k + post  # extended grid: spikes exist before t[0] and after t[-1]
    cursor, target, _ = _simulate_behaviour(cfg, rb, n)  # (n, 2) mm
    vel = np.gradient(cursor, axis=0) / DT  # (n, 2) mm/s
    speed = np.hypot(vel[:, 0], vel[:, 1])
    v_scale, p_scale = 200.0, cfg.grid_spacing_mm * (cfg.grid - 1) / 2
    kin = np.column_stack([vel / v_scale, speed / v_scale, (cursor - cursor.mean(0)) / p_scale])
    ch = _channels(cfg, rn)
    z = _latents(rn, n, cfg.n_latents)
    samples, chans = _spike_samples(cfg, rs, ch, kin, z, _drift_profile(n, pre, k))
    units = _split_units(cfg, rs, samples, chans, cfg.n_channels)

    i0 = int(round(cfg.t_start_s / DT)) if cfg.t_start_s is not None else int(rt.integers(25_000, 100_000))
    t_ext = (i0 - pre + np.arange(n)) * 4 / 1000  # exact multiples of 4 ms
    # a spike counted at sample m lies in (t[m-1], t[m]) (NeuroBench bins to the upper edge)
    times = t_ext[samples] - DT * rt.uniform(0.05, 0.95, len(samples))
    order = np.lexsort((times, chans, units))
    times, chans, units = times[order], chans[order], units[order]
    key = units * cfg.n_channels + chans
    bounds = np.searchsorted(key, np.arange(N_UNIT_ROWS * cfg.n_channels + 1))
    spikes = [[times[bounds[u * cfg.n_channels + c]:bounds[u * cfg.n_channels + c + 1]].copy()
               for c in range(cfg.n_channels)] for u in range(N_UNIT_ROWS)]

    win = slice(pre, pre + k)
    cur, tgt = cursor[win], target[win]
    finger = np.empty((k, cfg.finger_rows))
    finger[:, 0] = 2.0 + 0.4 * _ar1(rt, k, 1, 3.0)[:, 0]  # hand height z (cm), slow wander
    finger[:, 1:3] = -cur / 10 + rt.normal(0, 0.003, (k, 2))  # cursor ~ -10 * finger[1:3]
    if cfg.finger_rows == 6:  # azimuth, elevation, roll (degrees), loosely following the hand
        finger[:, 3:] = 10 * _ar1(rt, k, 3, 2.0) + cur[:, [0, 1, 0]] * np.array([0.1, -0.1, 0.05])
    names = [f"M1 {i + 1:03d}" for i in range(min(cfg.n_channels, 96))]
    names += [f"S1 {i + 1:03d}" for i in range(cfg.n_channels - 96)]
    attrs = {"bench_synthetic": 1, "bench_seed": int(cfg.seed),
             "bench_generator_version": GENERATOR_VERSION, "bench_name": cfg.name}
    return RawReachingSession(t=t_ext[win].copy(), cursor_pos=cur.copy(), target_pos=tgt.copy(),
                              finger_pos=finger, spikes=spikes, chan_names=names, attrs=attrs)


# ---------------------------------------------------------------------------------------------
# files


def write_session(path: str | Path, cfg: SynthConfig) -> Path:
    """Generate ``cfg`` and write it as a Zenodo-layout MATLAB v7.3 file (atomically)."""
    from bench.data.matfile import write_reaching_mat

    path = Path(path)
    write_reaching_mat(path, generate(cfg))
    return path


def is_valid_session_file(path: Path, cfg: SynthConfig) -> bool:
    """True if ``path`` is a complete file this generator version wrote for ``cfg``."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            a = f.attrs
            return (int(a.get("bench_synthetic", 0)) == 1 and int(a.get("bench_seed", -1)) == cfg.seed
                    and _text(a.get("bench_generator_version")) == GENERATOR_VERSION
                    and _text(a.get("bench_name")) == cfg.name
                    and f["t"].shape == (1, int(round(cfg.duration_s / DT)))
                    and f["spikes"].shape == (N_UNIT_ROWS, cfg.n_channels))
    except (OSError, KeyError, ValueError, TypeError):
        return False


def _text(v) -> str | None:
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray) and v.size == 1:
        return _text(v.item())
    return None if v is None else str(v)


def _configs(scale: str, seed: int | None = None, names: list[str] | None = None) -> list[SynthConfig]:
    if scale not in SCALES:
        raise ValueError(f"unknown synthetic scale {scale!r}; known: {sorted(SCALES)}")
    cfgs = list(SCALES[scale])
    if names:
        known = [c.name for c in cfgs]
        wanted = [n[:-4] if n.endswith(".mat") else n for n in names]
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise ValueError(f"unknown synthetic session(s) {unknown}; known: {known}")
        cfgs = [c for c in cfgs if c.name in wanted]
    if seed is not None:  # one base seed, a different seed per session
        cfgs = [replace(c, seed=seed + i) for i, c in enumerate(cfgs)]
    return cfgs


def default_dir(scale: str = "default", seed: int | None = None) -> Path:
    """Cache folder of a scale's sessions: <cache>/synthetic/<GENERATOR_VERSION>[/full][/seed-N]."""
    from bench.paths import cache_dir

    d = cache_dir() / "synthetic" / GENERATOR_VERSION
    if scale != "default":
        d = d / scale
    return d / f"seed-{seed}" if seed is not None else d


def _write_job(job: tuple[str, SynthConfig]) -> float:
    """Worker-process job: write one session, return its seconds."""
    path, cfg = job
    t0 = time.perf_counter()
    write_session(Path(path), cfg)
    return time.perf_counter() - t0


def ensure_sessions(out_dir: Path, cfgs: list[SynthConfig], verbose: bool = False) -> list[Path]:
    """Write each config's ``<name>.mat`` into ``out_dir`` unless a valid one is already there.

    The missing sessions are generated in worker processes with a progress bar
    (``bench.data.generation``); ``verbose`` prints one line per session as well.
    """
    from bench.data.generation import generate_all

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"{out_dir} is a file, not a folder for the synthetic sessions")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{cfg.name}.mat" for cfg in cfgs]
    todo = [(str(p), c) for p, c in zip(paths, cfgs) if not is_valid_session_file(p, c)]
    seconds = generate_all(
        _write_job, todo, what="synthetic reaching sessions",
        label=lambda j: f"{j[1].name} ({j[1].n_channels} channels, {j[1].duration_s:g} s)",
        cost_s=lambda j: j[1].n_channels * j[1].duration_s / 12_000,  # ~2.5 s for 192 ch x 330 s
    )
    took = {j[0]: s for j, s in zip(todo, seconds)}
    for path, cfg in zip(paths, cfgs):
        if not verbose:
            continue
        if str(path) not in took:
            print(f"kept  {path} (valid, seed {cfg.seed})")
        else:
            size = path.stat().st_size / 1e6
            print(f"wrote {path} ({cfg.n_channels} channels, {cfg.duration_s:g} s, seed "
                  f"{cfg.seed}, {size:.1f} MB, {took[str(path)]:.1f} s)")
    return paths


def ensure_default_sessions(out_dir: Path | None = None, scale: str = "default") -> list[Path]:
    """The six synthetic sessions of ``scale``, created on first use (deterministic by seed)."""
    cfgs = _configs(scale)
    return ensure_sessions(Path(out_dir) if out_dir is not None else default_dir(scale), cfgs)


def synth_command(out: Path | None, scale: str, seed: int | None, names: list[str] | None) -> list[Path]:
    """``python -m bench data synth``: write the sessions as ``<name>.mat`` files, say what was done."""
    cfgs = _configs(scale, seed, names)
    out_dir = Path(out) if out is not None else default_dir(scale, seed)
    return ensure_sessions(out_dir, cfgs, verbose=True)
