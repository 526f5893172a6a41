"""The RSNN's time loops as two autograd Functions with hand-written backpropagation through
time, for training speed (the evaluated path in ``_rsnn.RSNN`` calls the neuron modules once per
sample so NeuroBench's hooks see every step; ``tests/test_rsnn.py`` proves both paths give the
same outputs and the same gradients).

On a CPU, small recurrent networks are bound by per-operation overhead: autograd records ~25
nodes per time step for the module path. Here the forward loop runs without autograd (about 10
tensor operations per step) and the backward loop carries three adjoints (about 10 operations
per step); everything that does not depend on the carried adjoints (surrogate derivatives,
weight and time-constant gradients) is computed for all steps at once.

Sparse spikes (``sparse=True``, chosen by the caller for wide layers: bigRSNN's 1024 neurons). The
recurrent input W_rec r reads spikes that are mostly zero (a few percent per 4 ms step), so the
forward product and the recurrent weight gradient (sum over steps of g_t r_t^T) go through
``torch.sparse.mm`` on the spikes: cost proportional to the spikes, not to B x H x H (5x less for
the forward product and 3x for the weight gradient at H = 1024 and 4 % of neurons spiking, on
one core). Same values up to float summation order (tests/test_rsnn.py).

Hidden layer, state at the start of step t: (syn, mem, r) with r the previous step's spikes
after dropout (``keep``): s_t = H(mem - 1); syn' = d_syn syn + cur_t + W_rec r;
mem' = (d_mem mem + (1 - d_mem) syn)(1 - s_t) (reset not differentiated, as snnTorch);
r' = s_t keep_t. The spike's surrogate derivative is snnTorch's fast sigmoid:
1 / (slope |mem - 1| + 1)^2.

Readout (leaky integrator, no reset): syn' = d_syn syn + u_t; mem' = d_mem mem + (1 - d_mem) syn;
the output at step t is mem'.
"""

from __future__ import annotations

import torch


class HiddenLoop(torch.autograd.Function):
    """(cur (T, B, H), W_rec (H, H), d_syn (H,), d_mem (H,), keep (T, B, H) | None, slope,
    sparse) -> spikes (T, B, H), fed spikes s * keep (T, B, H)."""

    @staticmethod
    def forward(ctx, cur, w_rec, d_syn, d_mem, keep, slope, sparse=False):
        T, B, H = cur.shape
        c_mem = 1 - d_mem
        wt = w_rec.t().contiguous() if sparse else w_rec.t()  # sparse.mm would copy a transposed view every step
        syn = mem = r = cur.new_zeros(B, H)
        syns, mems, rs, spikes, fed = [], [], [], [], []
        keeps = keep.unbind(0) if keep is not None else None  # per-step views made once (indexing costs an op per step)
        for t, cur_t in enumerate(cur.unbind(0)):
            syns.append(syn)
            mems.append(mem)
            rs.append(r)
            fired = mem > 1.0
            s = fired.to(cur.dtype)
            if sparse:
                new_syn = torch.addcmul(cur_t, d_syn, syn) + torch.sparse.mm(r.to_sparse(), wt)
            else:
                new_syn = torch.addmm(torch.addcmul(cur_t, d_syn, syn), r, wt)
            mem = torch.addcmul(d_mem * mem, c_mem, syn).masked_fill_(fired, 0.0)  # reset to zero
            syn = new_syn
            r = s if keeps is None else s * keeps[t]
            spikes.append(s)
            fed.append(r)
        spikes_t, fed_t = torch.stack(spikes), torch.stack(fed)
        ctx.save_for_backward(w_rec, d_syn, d_mem, keep if keep is not None else cur.new_ones(1), torch.stack(syns), torch.stack(mems), torch.stack(rs), spikes_t)
        ctx.has_keep, ctx.slope, ctx.sparse = keep is not None, slope, sparse
        return spikes_t, fed_t

    @staticmethod
    def backward(ctx, g_spikes, g_fed):
        w, d_syn, d_mem, keep, syn_pre, mem_pre, r_pre, spikes = ctx.saved_tensors
        T, B, H = syn_pre.shape
        c_mem = 1 - d_mem
        g_spikes = torch.zeros_like(spikes) if g_spikes is None else g_spikes
        g_fed = torch.zeros_like(spikes) if g_fed is None else g_fed
        surrogate = (ctx.slope * (mem_pre - 1.0).abs() + 1.0).pow(-2)  # ds_t / dmem_{t-1}
        not_spiked = 1 - spikes
        a_syn = a_mem = a_r = syn_pre.new_zeros(B, H)  # dL/d(state after step t) from later steps
        g_cur, qs = [None] * T, [None] * T
        # per-step views made once (indexing costs an op per step)
        g_fed_t, g_spk_t, not_t, sur_t = (v.unbind(0) for v in (g_fed, g_spikes, not_spiked, surrogate))
        keep_t = keep.unbind(0) if ctx.has_keep else None
        for t in range(T - 1, -1, -1):
            a_r = a_r + g_fed_t[t]
            d_s = torch.addcmul(g_spk_t[t], a_r, keep_t[t]) if ctx.has_keep else a_r + g_spk_t[t]
            q = a_mem * not_t[t]  # dL/d(d_mem mem + c_mem syn) at step t
            g_cur[t], qs[t] = a_syn, q
            a_syn, a_mem, a_r = torch.addcmul(a_syn * d_syn, q, c_mem), torch.addcmul(q * d_mem, d_s, sur_t[t]), a_syn @ w
        g_cur_t, q_t = torch.stack(g_cur), torch.stack(qs)
        if ctx.sparse:  # (r^T g)^T with the spikes sparse
            g_w = torch.sparse.mm(r_pre.reshape(T * B, H).to_sparse().t(), g_cur_t.reshape(T * B, H)).t()
        else:
            g_w = g_cur_t.reshape(T * B, H).t() @ r_pre.reshape(T * B, H)
        g_dsyn = (g_cur_t * syn_pre).sum((0, 1))
        g_dmem = (q_t * (mem_pre - syn_pre)).sum((0, 1))
        return g_cur_t, g_w, g_dsyn, g_dmem, None, None, None


class ReadoutLoop(torch.autograd.Function):
    """(u (T, B, K), d_syn (K,), d_mem (K,)) -> membranes after each step (T, B, K)."""

    @staticmethod
    def forward(ctx, u, d_syn, d_mem):
        T, B, K = u.shape
        c_mem = 1 - d_mem
        syn = mem = u.new_zeros(B, K)
        syns, outs = [], []
        for u_t in u.unbind(0):
            syns.append(syn)
            mem, syn = torch.addcmul(d_mem * mem, c_mem, syn), torch.addcmul(u_t, d_syn, syn)
            outs.append(mem)
        out = torch.stack(outs)
        ctx.save_for_backward(d_syn, d_mem, torch.stack(syns), out)
        return out

    @staticmethod
    def backward(ctx, g_out):
        d_syn, d_mem, syn_pre, out = ctx.saved_tensors
        T, B, K = syn_pre.shape
        c_mem = 1 - d_mem
        mem_pre = torch.cat([out.new_zeros(1, B, K), out[:-1]])
        a_syn = a_mem = out.new_zeros(B, K)
        g_u, g_mem = [None] * T, [None] * T
        g_steps = g_out.unbind(0)
        for t in range(T - 1, -1, -1):
            a_mem = a_mem + g_steps[t]
            g_u[t], g_mem[t] = a_syn, a_mem
            a_syn, a_mem = torch.addcmul(a_syn * d_syn, a_mem, c_mem), a_mem * d_mem
        g_u_t, g_mem_t = torch.stack(g_u), torch.stack(g_mem)
        return g_u_t, (g_u_t * syn_pre).sum((0, 1)), (g_mem_t * (mem_pre - syn_pre)).sum((0, 1))
