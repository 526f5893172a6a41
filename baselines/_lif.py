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
  autograd node (spikes out; or, without reset, membranes out), forward without a graph and a
  hand-written backward through time that repeats, per step, the operations autograd would run
  (the surrogate's own ``backward`` included, for all steps at once: it is elementwise). Each
  membrane gradient has two contributions at most (the step's spike and the next step), so the
  sum is exact in any order. On CPU float32 the time loops run in numpy: the same IEEE float32
  operations at a fraction of torch's per-call cost on small arrays. Outputs and gradients equal
  the step-by-step snnTorch graph's bit for bit (tests/test_lif.py).

Supported: ``Leaky`` with reset "subtract", "zero" or "none", ``reset_delay`` True (snnTorch's
default), no state quantisation, no inhibition, no learnt beta/threshold, and the arctan or fast
sigmoid surrogates.
"""

from __future__ import annotations

import types

import numpy as np
import snntorch as snn
import torch
from snntorch import surrogate
from torch import nn
from torch.nn.modules import module as _module

RESETS = {0: "subtract", 1: "zero", 2: "none"}


def no_hooks(model: nn.Module) -> bool:
    """True when no forward hook (module or global) could observe the model's submodules and no
    tracer (ONNX export, torch.jit) records the forward: the fast path runs outside autograd's
    op graph (numpy), which a tracer cannot see."""
    if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
        return False
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


def _on_host(t: torch.Tensor) -> bool:
    """Time loops over CPU float32 run in numpy: the same IEEE float32 arithmetic, element by
    element, at a fraction of torch's per-call cost on small arrays."""
    return t.device.type == "cpu" and t.dtype == torch.float32


def _scan_loop(cur, rest, beta, thr, reset: str, keep_u: bool, as_float):
    """The forward recursion over (T, B, H) currents (numpy arrays or tensors alike) from the
    membrane ``rest`` (zeros); returns the lists of u_t (or None) and of H(u_t)."""
    T = cur.shape[0]
    mem = rest
    fired = rest  # H(m_{-1} - thr) = 0
    us = [None] * T if keep_u else None
    rs = [None] * T
    for t in range(T):
        r = fired  # = H(m_{t-1} - thr), snnTorch's reset signal
        if reset == "zero":
            mem = (1 - r) * mem
        mem = beta * mem + cur[t]
        if reset == "subtract":
            mem = mem - r * thr
        u = mem - thr
        fired = as_float(u > 0)
        if keep_u:
            us[t] = u
        rs[t] = fired
    return us, rs


def _scan_backward_loop(g_u, fired, beta, reset: str):
    """g_t = g_u[t] + (g_{t+1} beta) [(1 - r_{t+1})], from t = T - 1 down; returns [g_t]."""
    T = len(g_u)
    grads = [None] * T
    carry = None  # gradient reaching m_t from step t + 1
    for t in range(T - 1, -1, -1):
        g = g_u[t] if carry is None else g_u[t] + carry
        grads[t] = g  # m_t = beta * (...) + c_t (- r_t thr): c_t gets m_t's gradient
        if t:
            carry = g * beta
            if reset == "zero":  # m_{t-1} entered step t as (1 - r_t) * m_{t-1}, r_t = H(u_{t-1})
                carry = carry * (1 - fired[t - 1])
    return grads


class _Scan(torch.autograd.Function):
    """A reset LIF layer over (B, T, H) input currents -> (B, T, H) spikes, from rest.

    Per step, as snnTorch computes it: r_t = H(m_{t-1} - thr) (the reset signal; equal to the
    previous step's spike, H the Heaviside step), [zero: m <- (1 - r_t) m], m_t = beta m + c_t
    [subtract: - r_t thr], u_t = m_t - thr, s_t = H(u_t) gsf."""

    @staticmethod
    def forward(ctx, cur: torch.Tensor, beta: torch.Tensor, thr: torch.Tensor, gsf: torch.Tensor, reset: str, sg_backward):
        keep_u = ctx.needs_input_grad[0]  # without a backward pass the u_t are not kept
        steps = cur.detach().transpose(0, 1).contiguous()  # (T, B, H)
        if _on_host(cur):
            us, rs = _scan_loop(steps.numpy(), np.zeros(steps.shape[1:], np.float32), np.float32(beta.item()), np.float32(thr.item()),
                                reset, keep_u, lambda a: a.astype(np.float32))
            fired = torch.from_numpy(np.stack(rs))
            us = torch.from_numpy(np.stack(us)) if keep_u else None
        else:
            us, rs = _scan_loop(steps, torch.zeros_like(steps[0]), beta, thr, reset, keep_u, lambda a: a.to(cur.dtype))
            fired = torch.stack(rs)
            us = torch.stack(us) if keep_u else None
        if keep_u:
            ctx.save_for_backward(beta, gsf, us, fired)
        ctx.reset, ctx.sg_backward = reset, sg_backward
        spikes = fired.transpose(0, 1)
        return (spikes if bool(gsf == 1) else spikes * gsf).contiguous()  # x * 1.0 == x

    @staticmethod
    def backward(ctx, grad_spikes: torch.Tensor):
        beta, gsf, us, fired = ctx.saved_tensors
        g_s = grad_spikes.transpose(0, 1)  # (T, B, H)
        if not bool(gsf == 1):
            g_s = g_s * gsf
        g_u = ctx.sg_backward(us, g_s)  # the surrogate is elementwise: all steps at once
        if _on_host(g_u):
            grads = _scan_backward_loop(g_u.contiguous().numpy(), fired.numpy(), np.float32(beta.item()), ctx.reset)
            grad_cur = torch.from_numpy(np.stack(grads, 1))
        else:
            grad_cur = torch.stack(_scan_backward_loop(g_u, fired, beta, ctx.reset), 1)
        return grad_cur, None, None, None, None, None


def _integrate_loop(cur, rest, beta):
    """m_t = beta m_{t-1} + c_t over (T, B, K) currents from m_{-1} = ``rest`` (zeros)."""
    mem, outs = rest, []
    for c in cur:
        mem = beta * mem + c
        outs.append(mem)
    return outs


def _integrate_backward_loop(grad_out, beta):
    """g_t = grad_out[t] + g_{t+1} beta, from t = T - 1 down; returns [g_t]."""
    T = len(grad_out)
    grads = [None] * T
    g = None
    for t in range(T - 1, -1, -1):
        g = grad_out[t] if g is None else grad_out[t] + g * beta
        grads[t] = g
    return grads


class _Integrate(torch.autograd.Function):
    """A non-resetting LIF layer over (B, T, K) currents -> (B, T, K) membranes, from rest."""

    @staticmethod
    def forward(ctx, cur: torch.Tensor, beta: torch.Tensor):
        steps = cur.detach().transpose(0, 1).contiguous()  # (T, B, K)
        ctx.save_for_backward(beta)
        if _on_host(cur):
            rest = np.zeros(steps.shape[1:], np.float32)
            return torch.from_numpy(np.stack(_integrate_loop(steps.numpy(), rest, np.float32(beta.item())), 1))
        return torch.stack(_integrate_loop(steps, torch.zeros_like(steps[0]), beta), 1)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        (beta,) = ctx.saved_tensors
        steps = grad_out.transpose(0, 1).contiguous()  # (T, B, K)
        if _on_host(grad_out):
            return torch.from_numpy(np.stack(_integrate_backward_loop(steps.numpy(), np.float32(beta.item())), 1)), None
        return torch.stack(_integrate_backward_loop(steps, beta), 1), None


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
