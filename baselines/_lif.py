"""Fast paths for snnTorch ``Leaky`` neurons in training: the same arithmetic, bit for bit.

snnTorch's ``Leaky.forward`` spends most of its time in Python around a handful of tensor ops
(module attribute writes that re-register its ``mem`` buffer, a reset signal computed through
the surrogate and thrown away, ...). Two replacements, used by SNN3D and SNN_streaming while no
hook watches the model (NeuroBench's metrics hook the neurons, so evaluation still calls the
snnTorch modules):

- ``leaky_step(lif, cur, mem)``: one step with exactly the tensor operations of
  ``Leaky.forward`` that reach the outputs, in the same order, so autograd builds the same
  graph and every gradient is identical;
- ``leaky_scan(lif, cur)`` / ``leaky_integrate(lif, cur)``: a whole (B, T, H) sequence as ONE
  autograd node (spikes out; or, without reset, membranes out), forward under no_grad and a
  hand-written backward through time that repeats, per step, the operations autograd would run
  (the surrogate's own ``backward`` included). Each membrane gradient has two contributions at
  most (the step's spike and the next step), so the sum is exact in any order; gradients equal
  the step-by-step graph's bit for bit (tested in tests/test_baselines.py).

Supported: ``Leaky`` with reset "subtract", "zero" or "none", ``reset_delay`` True (snnTorch's
default), no state quantisation, no inhibition, no learnt beta/threshold, and the arctan or fast
sigmoid surrogates.
"""

from __future__ import annotations

import types

import snntorch as snn
import torch
from snntorch import surrogate
from torch import nn
from torch.nn.modules import module as _module

RESETS = {0: "subtract", 1: "zero", 2: "none"}


def no_hooks(model: nn.Module) -> bool:
    """True when no forward hook (module or global) could observe the model's submodules."""
    if _module._global_forward_hooks or _module._global_forward_pre_hooks:
        return False
    return not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def _surrogate_backward(lif: snn.Leaky):
    """The neuron's surrogate gradient as a function (u, grad) -> grad, from the surrogate's own
    autograd ``backward`` (so the formula and its rounding are snnTorch's)."""
    fn = lif.spike_grad
    cells = {c.cell_contents for c in (fn.__closure__ or ()) if isinstance(c.cell_contents, (int, float))}
    names = fn.__code__.co_names if hasattr(fn, "__code__") else ()
    if "ATan" in names and len(cells) == 1:
        kind, key = surrogate.ATan, "alpha"
    elif "FastSigmoid" in names and len(cells) == 1:
        kind, key = surrogate.FastSigmoid, "slope"
    else:
        raise NotImplementedError(f"fast LIF path: unsupported surrogate {fn!r}")
    value = cells.pop()

    def backward(u: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        ctx = types.SimpleNamespace(saved_tensors=(u,), **{key: value})
        return kind.backward(ctx, grad)[0]

    return backward


def _check(lif: snn.Leaky) -> str:
    if not isinstance(lif, snn.Leaky) or lif.state_quant or lif.inhibition or not lif.reset_delay:
        raise NotImplementedError(f"fast LIF path: unsupported neuron configuration {lif!r}")
    if lif.beta.requires_grad or lif.threshold.requires_grad or lif.graded_spikes_factor.requires_grad:
        raise NotImplementedError("fast LIF path: learnt beta / threshold / graded spikes are not supported")
    return RESETS[int(lif.reset_mechanism_val)]


def leaky_step(lif: snn.Leaky, cur: torch.Tensor, mem: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor]:
    """One ``lif(cur, mem)`` call without the module: returns (spikes, membrane) with the same
    values and the same autograd graph (the reset signal is computed without a graph: snnTorch
    detaches it). Without reset the spikes, which nothing downstream uses, are not computed
    (None)."""
    reset = _check(lif)
    if reset == "none":
        return None, lif.beta.clamp(0, 1) * mem + cur
    with torch.no_grad():
        r = lif.spike_grad(mem - lif.threshold)
    if reset == "zero":
        mem = (1 - r) * mem
    new = lif.beta.clamp(0, 1) * mem + cur
    if reset == "subtract":
        new = new - r * lif.threshold
    spk = lif.spike_grad(new - lif.threshold) * lif.graded_spikes_factor
    return spk, new


class _Scan(torch.autograd.Function):
    """A reset LIF layer over (B, T, H) input currents -> (B, T, H) spikes, from rest.

    Per step, as snnTorch computes it: r_t = H(m_{t-1} - thr) (the reset signal; equal to the
    previous step's spike, H the Heaviside step), [zero: m <- (1 - r_t) m], m_t = beta m + c_t
    [subtract: - r_t thr], u_t = m_t - thr, s_t = H(u_t) gsf."""

    @staticmethod
    def forward(ctx, cur: torch.Tensor, beta: torch.Tensor, thr: torch.Tensor, gsf: torch.Tensor, reset: str, sg_backward):
        B, T, H = cur.shape
        mem = cur.new_zeros(B, H)
        fired = cur.new_zeros(B, H)  # H(m_{-1} - thr) with m_{-1} = 0 < thr
        keep = ctx.needs_input_grad[0]  # without a backward pass the u_t are not stored
        us, rs = [], []
        for c in cur.unbind(1):
            r = fired
            if reset == "zero":
                mem = (1 - r) * mem
            mem = beta * mem + c
            if reset == "subtract":
                mem = mem - r * thr
            u = mem - thr
            fired = (u > 0).to(cur.dtype)
            if keep:
                us.append(u)
            rs.append(fired)
        fired_t = torch.stack(rs)  # (T, B, H)
        if keep:
            ctx.save_for_backward(beta, gsf, torch.stack(us), fired_t)
        ctx.reset, ctx.sg_backward = reset, sg_backward
        spikes = fired_t.transpose(0, 1)
        return (spikes if bool(gsf == 1) else spikes * gsf).contiguous()  # x * 1.0 == x

    @staticmethod
    def backward(ctx, grad_spikes: torch.Tensor):
        beta, gsf, us, fired = ctx.saved_tensors
        T = us.shape[0]
        g_s = grad_spikes.transpose(0, 1)  # (T, B, H)
        if not bool(gsf == 1):
            g_s = g_s * gsf
        g_u = ctx.sg_backward(us, g_s)  # the surrogate is elementwise: all steps at once
        keep = 1 - fired[:-1] if ctx.reset == "zero" else None  # (1 - r_{t+1}) = 1 - H(u_t)
        grads = [None] * T
        carry = None  # gradient reaching m_t from step t + 1
        for t in range(T - 1, -1, -1):
            g = g_u[t] if carry is None else g_u[t] + carry
            grads[t] = g  # m_t = beta * (...) + c_t (- r_t thr): c_t gets m_t's gradient
            if t:
                carry = g * beta
                if keep is not None:  # m_{t-1} entered step t as (1 - r_t) * m_{t-1}
                    carry = carry * keep[t - 1]
        return torch.stack(grads, 1), None, None, None, None, None


class _Integrate(torch.autograd.Function):
    """A non-resetting LIF layer over (B, T, K) currents -> (B, T, K) membranes, from rest."""

    @staticmethod
    def forward(ctx, cur: torch.Tensor, beta: torch.Tensor):
        B, T, K = cur.shape
        mem = cur.new_zeros(B, K)
        outs = []
        for t in range(T):
            mem = beta * mem + cur[:, t]
            outs.append(mem)
        ctx.save_for_backward(beta)
        return torch.stack(outs, 1)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        (beta,) = ctx.saved_tensors
        T = grad_out.shape[1]
        grads = [None] * T
        g = None
        for t in range(T - 1, -1, -1):
            g = grad_out[:, t] if g is None else grad_out[:, t] + g * beta
            grads[t] = g
        return torch.stack(grads, 1), None


def leaky_scan(lif: snn.Leaky, cur: torch.Tensor) -> torch.Tensor:
    """Spikes (B, T, H) of a resetting ``Leaky`` layer fed ``cur`` (B, T, H) from rest; equal
    to calling ``lif`` step by step (values and gradients)."""
    reset = _check(lif)
    if reset == "none":
        raise ValueError("leaky_scan needs a resetting neuron; use leaky_integrate for reset 'none'")
    beta = lif.beta.clamp(0, 1).to(cur.dtype)
    return _Scan.apply(cur, beta, lif.threshold, lif.graded_spikes_factor, reset, _surrogate_backward(lif))


def leaky_integrate(lif: snn.Leaky, cur: torch.Tensor) -> torch.Tensor:
    """Membranes (B, T, K) of a non-resetting ``Leaky`` layer fed ``cur`` (B, T, K) from rest."""
    if _check(lif) != "none":
        raise ValueError("leaky_integrate needs reset_mechanism 'none'")
    return _Integrate.apply(cur, lif.beta.clamp(0, 1).to(cur.dtype))


__all__ = ["no_hooks", "leaky_step", "leaky_scan", "leaky_integrate"]
