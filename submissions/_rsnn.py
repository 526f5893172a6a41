"""Recurrent spiking decoders of the BioCAS 2024 challenge: tinyRSNN and bigRSNN (the model).

Liu, Gygax, Rossbroich, Chua, Zhang, Zenke, "Decoding finger velocity from cortical spike trains
with recurrent spiking neural networks" (BioCAS 2024 Grand Challenge, team ZenkeLab). Written for
bench from the facts in REFERENCE.md section 8; the entries are ``submissions/tinyrsnn.py`` and
``submissions/bigrsnn.py``, training lives in ``submissions/_rsnn_train.py``.

Dynamics, per 4 ms sample t (dt = 4 ms), every state starting at zero at the start of a stream:

    s_t    = H(mem - 1)                                 spike from the membrane BEFORE the update
    syn   <- d_syn * syn + W_in x_{t-1} + W_rec s_{t-1}  one-step input register; last step's spikes
    mem   <- (d_mem * mem + (1 - d_mem) * syn_old) * (1 - s_t)       reset to zero
    readout (no reset):  syn_o <- d * syn_o + W_out s_{t-1};  mem_o <- d * mem_o + (1 - d) * syn_o_old
    prediction_t = mem_o (the mean over the readout heads for bigRSNN)

All three state variables are updated from the values they held at the start of the step (the
order of the authors' snnTorch evaluation wrappers, which REFERENCE.md writes as sequential
assignments); d = exp(-dt / tau) with tau = softplus(p) * tau0 learned per neuron; no biases.

NeuroBench and snnTorch. ``CubaLIF`` is an ``snntorch.SpikingNeuron`` subclass, so NeuroBench's
ActivationSparsity and MembraneUpdates hooks find it (they hook every SpikingNeuron child), read
its first output as the spikes and its ``mem`` attribute before/after each call. snnTorch's own
``RSynaptic``/``Synaptic`` fire from the UPDATED membrane and feed the membrane the new synaptic
current, so the neuron here writes its own ``forward`` (fire from the old membrane, old current
into the membrane) and uses snnTorch's fast-sigmoid surrogate (slope 20) for the spike. It is
called once per sample, so MembraneUpdates counts per-step membrane changes. The readout units
are CubaLIF without reset: their threshold crossings are unused but returned as snnTorch's
``Synaptic`` returns them, so NeuroBench counts them as activations exactly as it does for the
authors' wrapper and for SNN_streaming's output layer. The weights are three ``nn.Linear``
layers (input, recurrent, readout) that NeuroBench's SynapticOperations hooks: fed binary inputs
and spikes, all their operations are accumulates (effective MACs = 0). The evaluated path calls
every layer once per sample, as a device runs the network (and as the authors' evaluation did):
NeuroBench's own SynapticOperations sums a layer call's operation count in the layer's dtype,
which overflows float16 for a whole-stream call, and a whole-stream matrix product rounds
differently from a one-sample one (float32 sums in another order, ~1e-7), which could flip a
spike sitting on the threshold. So the step protocol below (``init_state`` / ``step``, one sample
per call, used by bench.deploy's latency and ONNX export) equals ``model(stream)`` bit for bit in
float32 and float16. Training (``run(..., fused=True)``, the default with gradients) runs the
same equations through the hand-written BPTT of ``_rsnn_fused`` (3x faster on a CPU; tested
equal).

NIR. NIR's CubaLIF (tau_syn dI/dt = -I + w_in S, tau_mem dv/dt = v_leak - v + R I, reset to
v_reset when v > v_threshold) cannot express this neuron: here the spike comes from the membrane
BEFORE the update and resets the UPDATED membrane, so the sample of synaptic current integrated
in the step after a threshold crossing is discarded (one step of refractoriness) -- NIR's CubaLIF
resets at the crossing and integrates the next sample. No delay placed around a CubaLIF turns one
into the other, so ``nir_missing`` refuses the export with that reason (the readout, a CubaLI
under forward Euler, and the one-step registers, NIR Delay nodes, would map).

Footprint. SpikingNeuron registers its threshold, graded-spike factor and reset code as buffers;
here they are plain constants (threshold 1, no graded spikes, reset fixed by the neuron type), so
NeuroBench's Footprint counts exactly the weights and the per-neuron time-constant parameters,
which is how the published 21,000 / 33,288 B (float16) and 4,636,752 B (float32) come out. The
per-head readout tau0 are Python constants too.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import snntorch as snn
import torch
from snntorch import surrogate
from torch import nn
from torch.nn import functional as F

from bench.paths import REPO_ROOT
from submissions._rsnn_fused import HiddenLoop, ReadoutLoop

DT = 4e-3  # s per sample
SPARSE_MIN_HIDDEN = 256  # training: recurrent products through sparse spikes from this width up (_rsnn_fused)

# --- configuration shared by both entries --------------------------------------------------


@dataclass(frozen=True)
class RSNNConfig:
    """Architecture and recipe; tinyrsnn.py and bigrsnn.py set their own defaults."""

    hidden: int = 64
    readout_taus: tuple[tuple[float, float], ...] = ((10e-3, 50e-3),)  # (tau0_syn, tau0_mem) per head, s
    tau_mem: float = 20e-3  # hidden tau0_mem (s)
    tau_syn: float = 10e-3  # hidden tau0_syn (s)
    surrogate_slope: float = 20.0  # fast sigmoid
    dropout: float = 0.3  # on the hidden spikes, training only
    tau_init: tuple[float, float] = (1.0, 8.0)  # hidden tau / tau0 drawn log-uniformly in this range
    sigma_u: float = 1.0  # initial membrane std on a training batch (fluctuation-driven init)
    rec_gain: float = 1.0  # initial recurrent weights ~ N(0, rec_gain^2 / hidden)
    out_gain: float = 0.5  # initial readout weights ~ N(0, out_gain^2 / hidden)
    # training (submissions/_rsnn_train.py)
    epochs: int = 30
    lr: float = 5e-3
    batch_size: int = 32
    sample_len: int = 500  # 2 s training samples
    sample_stride: int = 100  # cut with 80 % overlap
    burn_in: int = 25  # first samples of each training sample left out of the loss
    loss: str = "rmse"  # "rmse" or "mse"
    grad_clip: float | None = 1.0
    rate_max_hz: float = 10.0  # upper firing-rate bound per neuron (Hz) ...
    rate_max_strength: float = 0.01  # ... and its strength
    rate_min: float = 1e-3  # lower bound on each neuron's mean spikes per sample ...
    rate_min_strength: float = 100.0  # ... and its strength
    val_every: int = 2  # epochs between validation R2 checks (best weights are kept)
    val_lanes: int = 16
    patience: int = 12  # epochs without a better validation R2 before stopping
    pretrain_data: str = ""  # "", "synthetic" or a data folder: pre-train on all its sessions of the same channel count
    pretrain_epochs: int = 0
    # iterative magnitude pruning (the 'pruned' variants)
    prune_start: float = 0.4
    prune_step: float = 0.1
    prune_fine_step: float = 0.05
    prune_max: float = 0.8
    prune_tolerance: float = 0.02  # stop when validation R2 falls more than 2 % below the unpruned one
    prune_epochs: int = 5  # re-training after each pruning step
    prune_lr: float = 1e-3


# --- the neuron --------------------------------------------------------------------------------


def softplus_inverse(y: float) -> float:
    return y + math.log(-math.expm1(-y))


class CubaLIF(snn.SpikingNeuron):
    """Current-based LIF group (``reset=True``) or leaky-integrator readout (``reset=False``)
    with learned per-neuron time constants tau = softplus(p) * tau0.

    ``forward(i_in, i_rec, syn, mem, decays) -> (spk, syn', mem')`` updates one step from the
    state at the start of the step; ``spk = H(mem - 1)`` uses the membrane BEFORE the update.
    """

    def __init__(self, size: int, tau_syn0: float | tuple[float, ...], tau_mem0: float | tuple[float, ...], reset: bool, slope: float = 20.0):
        super().__init__(threshold=1.0, spike_grad=surrogate.fast_sigmoid(slope=slope), reset_mechanism="zero" if reset else "none")
        for name in ("threshold", "graded_spikes_factor", "reset_mechanism_val"):
            self._buffers.pop(name, None)  # constants of the neuron type, not model state
        self.threshold = 1.0
        self.size, self.resets = size, reset
        self.tau_syn0, self.tau_mem0 = tau_syn0, tau_mem0
        self.syn_param = nn.Parameter(torch.full((size,), softplus_inverse(1.0)))
        self.mem_param = nn.Parameter(torch.full((size,), softplus_inverse(1.0)))
        self.mem = torch.zeros(0)  # the last membrane, for NeuroBench's hooks only (not a buffer)

    @staticmethod
    def _tau(p: torch.Tensor, tau0: float | tuple[float, ...]) -> torch.Tensor:
        if isinstance(tau0, tuple):
            if len(set(tau0)) > 1:
                work = torch.promote_types(p.dtype, torch.float32)
                return (F.softplus(p.to(work)) * torch.tensor(tau0, dtype=work, device=p.device)).to(p.dtype)
            tau0 = tau0[0]
        return F.softplus(p) * tau0

    def decays(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(d_syn, d_mem, 1 - d_mem), computed in the parameters' dtype."""
        d_syn = torch.exp(-DT / self._tau(self.syn_param, self.tau_syn0))
        d_mem = torch.exp(-DT / self._tau(self.mem_param, self.tau_mem0))
        return d_syn, d_mem, 1 - d_mem

    def taus(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Time constants (s) of synapse and membrane, per neuron."""
        return self._tau(self.syn_param, self.tau_syn0), self._tau(self.mem_param, self.tau_mem0)

    def forward(self, i_in: torch.Tensor, i_rec: torch.Tensor | None, syn: torch.Tensor, mem: torch.Tensor, decays: tuple) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if torch.is_grad_enabled():
            spk = self.spike_grad(mem - self.threshold).to(mem.dtype)  # the surrogate returns float32
        else:  # evaluation: the surrogate's forward, (mem - 1 > 0), without building its autograd node
            spk = (mem > self.threshold).to(mem.dtype)
        new_syn, new_mem = self.update(spk.detach(), i_in, i_rec, syn, mem, decays)  # reset detached, as snnTorch
        self.mem = new_mem
        return spk, new_syn, new_mem

    def update(self, spk: torch.Tensor, i_in: torch.Tensor, i_rec: torch.Tensor | None, syn: torch.Tensor, mem: torch.Tensor, decays: tuple) -> tuple[torch.Tensor, torch.Tensor]:
        """(syn', mem') from the state at the start of the step and its spikes ``spk``: the
        arithmetic of ``forward`` (and of ``RSNN.step``, which calls it without the module)."""
        d_syn, d_mem, c_mem = decays
        new_syn = d_syn * syn + i_in
        if i_rec is not None:
            new_syn = new_syn + i_rec
        new_mem = d_mem * mem + c_mem * syn
        if self.resets:
            new_mem = new_mem - spk * new_mem  # reset to zero
        return new_syn, new_mem

    def extra_repr(self) -> str:
        return f"{self.size}, reset={'zero' if self.resets else 'none'}"


# --- the network -------------------------------------------------------------------------------


class RSNN(nn.Module):
    """(B, T, C) binary samples -> (B, T, 2) velocity; state from rest, carried along T."""

    def __init__(self, n_inputs: int, n_outputs: int, cfg: RSNNConfig):
        super().__init__()
        if cfg.hidden < 1 or not cfg.readout_taus:
            raise ValueError(f"RSNN: need hidden >= 1 and at least one readout head, got hidden={cfg.hidden}, readout_taus={cfg.readout_taus}")
        self.n_inputs, self.n_outputs, self.n_heads = n_inputs, n_outputs, len(cfg.readout_taus)
        H, K = cfg.hidden, n_outputs * len(cfg.readout_taus)
        self.fc_in = nn.Linear(n_inputs, H, bias=False)
        self.fc_rec = nn.Linear(H, H, bias=False)
        self.fc_out = nn.Linear(H, K, bias=False)  # head-major rows: head 0 (x, y), head 1 (x, y), ...
        self.hidden = CubaLIF(H, cfg.tau_syn, cfg.tau_mem, reset=True, slope=cfg.surrogate_slope)
        syn0 = tuple(s for s, _ in cfg.readout_taus for _ in range(n_outputs))
        mem0 = tuple(m for _, m in cfg.readout_taus for _ in range(n_outputs))
        self.readout = CubaLIF(K, syn0, mem0, reset=False, slope=cfg.surrogate_slope)
        self.dropout_p = cfg.dropout  # on the hidden spikes, training only
        self.slope = cfg.surrogate_slope
        self.reset_parameters(cfg)

    @torch.no_grad()
    def reset_parameters(self, cfg: RSNNConfig) -> None:
        """Random weights (train() rescales the input weights on data) and heterogeneous hidden
        time constants: tau / tau0 log-uniform in ``cfg.tau_init``; readouts start at tau0."""
        H = self.fc_rec.in_features
        nn.init.normal_(self.fc_in.weight, 0.0, 1.0 / math.sqrt(self.n_inputs))
        nn.init.normal_(self.fc_rec.weight, 0.0, cfg.rec_gain / math.sqrt(H))
        nn.init.normal_(self.fc_out.weight, 0.0, cfg.out_gain / math.sqrt(H))
        lo, hi = (math.log(v) for v in cfg.tau_init)
        for p in (self.hidden.syn_param, self.hidden.mem_param):
            scale = torch.exp(torch.empty(H).uniform_(lo, hi))
            p.copy_(scale + torch.log(-torch.expm1(-scale)))  # softplus^-1
        self.readout.syn_param.fill_(softplus_inverse(1.0))
        self.readout.mem_param.fill_(softplus_inverse(1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x)[0]

    def run(self, x: torch.Tensor, stepwise: bool | None = None, fused: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Predictions (B, T, 2) and the hidden spikes (B, T, H) before dropout.

        ``stepwise``: project input and readout one sample at a time (default; ``False``
        projects the whole stream at once, faster for the module path with gradients, not bit
        for bit equal to ``step`` in float32).
        ``fused``: run the time loops as ``_rsnn_fused``'s autograd Functions (default: when
        training with gradients; the evaluated path calls the neuron modules every step)."""
        if x.dim() != 3 or x.shape[-1] != self.n_inputs:
            raise ValueError(f"RSNN: input x must be (B, T, {self.n_inputs}), got {tuple(x.shape)}")
        dtype = self.fc_in.weight.dtype
        x = x.to(dtype)
        B, T, _ = x.shape
        if stepwise is None:
            stepwise = True  # see the module docstring (NeuroBench's op counts, step == forward)
        if fused is None:
            fused = self.training and torch.is_grad_enabled()
        x_reg = torch.cat([x.new_zeros(B, 1, self.n_inputs), x[:, :-1]], 1)  # x_{t-1}
        H = self.fc_rec.in_features
        # dropout masks for every step at once (one random draw instead of one per step)
        keep = F.dropout(x.new_ones(B, T, H), self.dropout_p, True) if self.training and self.dropout_p > 0 else None
        if fused:
            return self._run_fused(x_reg, keep)
        return self._run_modules(x_reg, keep, stepwise)

    def _run_modules(self, x_reg: torch.Tensor, keep: torch.Tensor | None, stepwise: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """The evaluated path: the neuron modules and the recurrent layer are called once per
        sample (NeuroBench's hooks see every step); ``x_reg`` holds x_{t-1} at step t."""
        x = x_reg
        B, T, H = x.shape[0], x.shape[1], self.fc_rec.in_features
        # (B, T, H) at once; unbind: indexing [:, t] would cost a full-size gradient per step
        i_in = None if stepwise else self.fc_in(x_reg).unbind(1)
        keep = keep.unbind(1) if keep is not None else None
        dec = self.hidden.decays()
        syn = mem = s_reg = x.new_zeros(B, H)
        self.hidden.mem = mem
        raw, fed = [], []
        try:
            for t in range(T):
                cur = self.fc_in(x_reg[:, t]) if stepwise else i_in[t]
                spk, syn, mem = self.hidden(cur, self.fc_rec(s_reg), syn, mem, dec)
                s_reg = spk if keep is None else spk * keep[t]  # feeds the recurrence and the readout next step
                raw.append(spk)
                fed.append(s_reg)
            s_prev = [x.new_zeros(B, H)] + fed[:-1]  # s_{t-1}
            K = self.fc_out.out_features
            u = None if stepwise else self.fc_out(torch.stack(s_prev, 1)).unbind(1)
            dec_o = self.readout.decays()
            syn_o = mem_o = x.new_zeros(B, K)
            self.readout.mem = mem_o
            outs = []
            for t in range(T):
                cur = self.fc_out(s_prev[t]) if stepwise else u[t]
                _, syn_o, mem_o = self.readout(cur, None, syn_o, mem_o, dec_o)
                outs.append(mem_o)
        finally:  # no state survives a call
            self.hidden.mem = self.readout.mem = torch.zeros(0)
        pred = torch.stack(outs, 1).reshape(B, T, self.n_heads, self.n_outputs)
        if pred.dtype == torch.float16:  # predictions leave as float32 (exact), like the labels
            pred = pred.float()
        pred = pred.mean(2)
        return pred, torch.stack(raw, 1)

    def _run_fused(self, x_reg: torch.Tensor, keep: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The same network with the time loops of ``_rsnn_fused`` (training speed)."""
        B, T, _ = x_reg.shape
        d_syn, d_mem, _ = self.hidden.decays()
        cur = self.fc_in(x_reg).transpose(0, 1).contiguous()  # (T, B, H)
        keep_t = keep.transpose(0, 1).contiguous() if keep is not None else None
        sparse = self.fc_rec.weight.shape[0] >= SPARSE_MIN_HIDDEN
        spikes, fed = HiddenLoop.apply(cur, self.fc_rec.weight, d_syn, d_mem, keep_t, self.slope, sparse)
        s_prev = torch.cat([fed.new_zeros(1, B, fed.shape[2]), fed[:-1]])
        d_syn_o, d_mem_o, _ = self.readout.decays()
        out = ReadoutLoop.apply(self.fc_out(s_prev), d_syn_o, d_mem_o)  # (T, B, K)
        pred = out.transpose(0, 1).reshape(B, T, self.n_heads, self.n_outputs).mean(2)
        return pred, spikes.transpose(0, 1)

    # --- the step protocol (bench.deploy.steppers): one 4 ms sample per call, evaluation only --

    def init_state(self, batch: int = 1) -> tuple[torch.Tensor, ...]:
        """Zero state of a new stream, in the weights' dtype: (x_prev (B, C), syn, mem,
        s_reg (B, H), syn_o, mem_o (B, K)) -- the one-step input register, the hidden neurons,
        their spike register and the readout units of every head (head-major, as ``fc_out``).
        Also computes the decays the steps use (a device computes them once, not per sample)."""
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValueError(f"RSNN.init_state: batch must be a positive int, got {batch!r}")
        w = self.fc_in.weight
        H, K = self.fc_rec.in_features, self.fc_out.out_features
        self._step_cache = None
        self._step_decays()
        return (w.new_zeros(batch, self.n_inputs), w.new_zeros(batch, H), w.new_zeros(batch, H), w.new_zeros(batch, H),
                w.new_zeros(batch, K), w.new_zeros(batch, K))

    def _step_decays(self) -> tuple[tuple, tuple]:
        """The hidden and readout decays, computed once per parameter version (as ``run`` does
        once per call, bit for bit) and recomputed whenever a time-constant parameter changes."""
        params = (self.hidden.syn_param, self.hidden.mem_param, self.readout.syn_param, self.readout.mem_param)
        try:
            key = tuple((p.data_ptr(), p._version, p.dtype, p.device) for p in params)
        except RuntimeError:  # inference tensors keep no version counter: recompute every step
            key = None
        cache = getattr(self, "_step_cache", None)
        if key is None or cache is None or cache[0] != key:
            with torch.no_grad():
                cache = (key, self.hidden.decays(), self.readout.decays())
            self._step_cache = cache
        return cache[1], cache[2]

    def step(self, x_t: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """One sample: x_t (B, C) -> prediction (B, 2) float32 and the new state. The same
        operations, in the same order and shapes, as ``run``'s evaluated path (no dropout), so
        stepping a stream equals ``model(stream)`` bit for bit; the layers' weights and the
        neurons' ``update`` are applied directly (no module call, no surrogate-gradient node: a
        device's step does not pay for NeuroBench's hooks or for training)."""
        if x_t.dim() != 2 or x_t.shape[-1] != self.n_inputs:
            raise ValueError(f"RSNN.step: x_t must be (B, {self.n_inputs}), got {tuple(x_t.shape)}")
        if not isinstance(state, (tuple, list)) or len(state) != 6:
            raise ValueError("RSNN.step: state must be the 6 tensors of init_state (x_prev, syn, mem, s_reg, syn_o, mem_o)")
        x_prev, syn, mem, s_reg, syn_o, mem_o = state
        dec, dec_o = self._step_decays()
        spk = (mem > self.hidden.threshold).to(mem.dtype)  # = the surrogate's forward, H(mem - 1)
        syn, mem = self.hidden.update(spk, F.linear(x_prev, self.fc_in.weight), F.linear(s_reg, self.fc_rec.weight), syn, mem, dec)
        syn_o, mem_o = self.readout.update(spk, F.linear(s_reg, self.fc_out.weight), None, syn_o, mem_o, dec_o)  # no reset: spk unused
        y = mem_o.reshape(len(mem_o), self.n_heads, self.n_outputs)
        if y.dtype == torch.float16:  # predictions leave as float32 (exact), as in run()
            y = y.float()
        return y.mean(1), (x_t.to(self.fc_in.weight.dtype), syn, mem, spk, syn_o, mem_o)

    def nir_missing(self) -> list[str]:
        """Why NIR cannot express this network (bench.deploy.nir_format asks before tracing)."""
        return [
            "hidden (CubaLIF, reset to zero): the spike is taken from the membrane BEFORE the update and zeroes the "
            "UPDATED membrane, so the synaptic current of the step after a threshold crossing is discarded (one step "
            "of refractoriness); NIR's CubaLIF (tau_syn dI/dt = -I + w_in S, tau_mem dv/dt = v_leak - v + R I, "
            "v = v_reset when v > v_threshold) resets at the crossing and integrates that current, and no NIR "
            "node (Delay included) adds a spike-gated refractory step"
        ]


def build_rsnn(n_inputs: int, n_outputs: int, cfg: RSNNConfig) -> RSNN:
    return RSNN(n_inputs, n_outputs, cfg)


def to_half(model: nn.Module) -> nn.Module:
    """float16 weights and time constants, as tinyRSNN is published and run."""
    return model.half()


# --- the published tinyRSNN weights --------------------------------------------------------

# session -> folder of ../shared/tinyrsnn-weights (REFERENCE.md section 8)
FOLDERS = {
    "indy_20160622_01": "indy01",
    "indy_20160630_01": "indy02",
    "indy_20170131_02": "indy03",
    "loco_20170210_03": "loco01",
    "loco_20170215_02": "loco02",
    "loco_20170301_05": "loco03",
}
SEEDS = (1, 2, 3, 4, 5)
# stork key -> bench key
KEY_MAP = {
    "con1.op.weight": "fc_in.weight",
    "con2.op.weight": "fc_rec.weight",
    "con3.op.weight": "fc_out.weight",
    "group2.syn_param": "hidden.syn_param",
    "group2.mem_param": "hidden.mem_param",
    "group3.syn_param_readout": "readout.syn_param",
    "group3.mem_param_readout": "readout.mem_param",
}
# a repeated parameter's last name -> the primary key it must equal (the stork artefact)
_PRIMARY = {k.split(".")[-1]: k for k in KEY_MAP if k.startswith("group")}
_REPEAT_PREFIXES = ("con1.src.", "con1.dst.", "con2.src.", "con2.dst.", "con3.src.", "con3.dst.", "output_group.")


def weights_dir() -> Path:
    """The published tinyRSNN weights (``../shared/tinyrsnn-weights``; ``BENCH_RSNN_WEIGHTS`` moves it)."""
    env = os.environ.get("BENCH_RSNN_WEIGHTS")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "tinyrsnn-weights"


def published_path(session: str, seed: int) -> Path:
    if session not in FOLDERS:
        raise KeyError(
            f"tinyRSNN weights are published only for the six real sessions {list(FOLDERS)}; got {session!r} "
            "(synthetic sessions have none: train the model instead)"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed not in SEEDS:
        raise KeyError(f"tinyRSNN weights are published for seeds {list(SEEDS)}; got seed {seed!r} (use --seeds 1 2 3 4 5)")
    return weights_dir() / FOLDERS[session] / f"tinyRSNN-{seed}.pth"


def map_stork_state(state: dict, source: str = "state dict") -> dict[str, torch.Tensor]:
    """bench's state dict from a stork one: the seven tensors of the model, renamed; every
    repeated ``con*.src/dst.*`` / ``output_group.*`` tensor must equal its primary tensor."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{source}: expected a state dict of tensors, got {type(state).__name__}")
    missing = [k for k in KEY_MAP if k not in state]
    if missing:
        raise ValueError(f"{source}: missing tinyRSNN tensors {missing} (keys present: {sorted(state)})")
    for key, value in state.items():
        if key in KEY_MAP:
            continue
        leaf = key.split(".")[-1]
        if not key.startswith(_REPEAT_PREFIXES) or leaf not in _PRIMARY:
            raise ValueError(f"{source}: unexpected key {key!r} (not part of the tinyRSNN layout)")
        primary = state[_PRIMARY[leaf]]
        if value.shape != primary.shape or not torch.equal(value, primary):
            raise ValueError(f"{source}: {key!r} should repeat {_PRIMARY[leaf]!r} but differs from it")
    return {KEY_MAP[k]: state[k].detach().cpu() for k in KEY_MAP}


def load_published(session: str, seed: int) -> dict[str, torch.Tensor]:
    """The published seed-``seed`` tinyRSNN weights of ``session`` in bench's keys (float16)."""
    path = published_path(session, seed)
    if not path.is_file():
        raise FileNotFoundError(f"tinyRSNN weights file {path} not found (set BENCH_RSNN_WEIGHTS to the folder holding indy01/ ... loco03/)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path}: not a readable torch state dict ({type(exc).__name__}: {exc})") from exc
    return map_stork_state(state, str(path))


def published_transform(model: nn.Module) -> nn.Module:
    """Applied after strict loading: tinyRSNN runs in float16 as published."""
    return to_half(model)
