"""NeuroBench's synaptic-operation rules, applied per sample and vectorised.

NeuroBench 2.3 (``neurobench.metrics.utils.layers``) counts the operations of one layer call on
binary copies: every non-zero weight (bias excluded from the products) times every non-zero
input, plus, for recurrent cells, the element-wise products of their gate equations. The call
counts as accumulates (ACs) when its input holds only -1, 0 and 1 ("spiking"), else as MACs. A
per-sample model (NeuroBench's examples) makes one call per sample; bench's models make one call
per batch. The functions here give, for a batched call, the sums over its rows of what NeuroBench
reports for each row called alone, as (dense, effective MACs, effective ACs):

- ``linear_ops``: nn.Linear; each vector along the last dimension is one call.
- ``lstm_cell_ops`` / ``gru_cell_ops``: nn.LSTMCell / nn.GRUCell called with a batched (B, I)
  input and an explicit state; each row is one call. They follow NeuroBench's
  ``lstm_cell_macs`` / ``gru_cell_macs`` term by term, including how its dense count treats the
  state (an LSTM's (h, c) pair is binarised, not set to ones; a GRU's h is set to ones) and the
  input bias its GRU n term reads. A cell called without a state is left to NeuroBench's code.

Counts are exact: binary products are summed in float32 (exact below 2^24 per dot product) and
accumulated in int64. tests/test_evaluation.py checks every function against NeuroBench's own
code called row by row.
"""

from __future__ import annotations

import torch
from torch import nn

Ops = tuple[int, int, int]  # (dense, effective MACs, effective ACs)


def binary_rows(rows: torch.Tensor) -> torch.Tensor:
    """(n,) bool: rows whose every value is -1, 0 or 1 (NeuroBench's test for a spiking input)."""
    return ((rows == 0) | (rows == 1) | (rows == -1)).all(1)


def _split(per_row: torch.Tensor, spiking: torch.Tensor) -> tuple[int, int]:
    """Per-row effective counts -> (MACs, ACs) by each row's spiking flag."""
    per_row = per_row.to(torch.int64)
    acs = int(per_row[spiking].sum())
    return int(per_row.sum()) - acs, acs


def _nonzero(t: torch.Tensor) -> torch.Tensor:
    return (t != 0).to(torch.float32)


def synapses_per_input(layer: nn.Linear) -> torch.Tensor:
    """(F,) int64: non-zero weights leaving each input of ``layer`` (what one non-zero input costs)."""
    return (layer.weight != 0).sum(0)


def linear_ops(layer: nn.Linear, x: torch.Tensor, nnz_col: torch.Tensor | None = None) -> Ops:
    """Operations of ``layer`` on ``x`` (..., F), each vector of x counted as its own call.
    ``nnz_col``: ``synapses_per_input(layer)`` when the caller counts many calls of one layer."""
    rows = x.reshape(-1, x.shape[-1])
    dense = rows.shape[0] * layer.in_features * layer.out_features
    if nnz_col is None:
        nnz_col = synapses_per_input(layer)
    spiking = binary_rows(rows)
    per_row = ((rows != 0) * nnz_col).sum(1)  # (n,) int64
    macs, acs = _split(per_row, spiking)
    return dense, macs, acs


def _bias(cell: nn.RNNCellBase, ones: bool) -> tuple[torch.Tensor | float, torch.Tensor | float]:
    if not cell.bias:
        return 0.0, 0.0
    if ones:
        return torch.ones_like(cell.bias_ih), torch.ones_like(cell.bias_hh)
    return _nonzero(cell.bias_ih), _nonzero(cell.bias_hh)


def _lstm_rows(out: torch.Tensor, bias: torch.Tensor | float, c: torch.Tensor) -> torch.Tensor:
    """NeuroBench's lstm_cell_macs per row, from the binary gate products ``out`` (n, 4H) and
    the binarised cell state ``c`` (n, H), as booleans (out and the biases are >= 0, so a
    binarised gate is ``out != 0 or bias != 0``)."""
    ifgo = out.sum(1)  # i, f, g, o products without biases
    gates = out != 0
    if isinstance(bias, torch.Tensor):
        gates |= bias != 0
    elif bias:
        gates = torch.ones_like(gates)
    i, f, g, o = gates.chunk(4, 1)
    fc, ig = f & (c != 0), i & g  # f*c + i*g takes 0, 1 or 2
    return ifgo + fc.sum(1) + ig.sum(1) + (o & (fc | ig)).sum(1)


def lstm_cell_ops(cell: nn.LSTMCell, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> Ops:
    """Operations of ``cell`` on x (n, I) with ``state`` (h, c) (n, H) each."""
    return lstm_rows_ops(cell, input_products(cell, x), binary_rows(x), state)


def input_products(cell: nn.RNNCellBase, x: torch.Tensor) -> torch.Tensor:
    """(n, gates * H): products of x's non-zero values with the cell's non-zero input weights."""
    return _nonzero(x) @ _nonzero(cell.weight_ih).t()


def lstm_rows_ops(cell: nn.LSTMCell, ih: torch.Tensor, spiking: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> Ops:
    """``lstm_cell_ops`` from the rows' ``input_products`` and spiking flags (computed once per
    distinct input row when overlapping windows share them)."""
    hb, cb = _nonzero(state[0]), _nonzero(state[1])
    w_hh = _nonzero(cell.weight_hh)
    b_ih, b_hh = _bias(cell, ones=False)
    H = cell.hidden_size
    if cell.bias and bool(((b_ih + b_hh) != 0).all()):
        # every binarised gate is 1 whatever the products: i, f, g, o products, then
        # f*c + i*g = c + 1 (nnz(c) + H) and o * [c1 != 0] (H), per row
        per_row = ih.sum(1) + hb @ w_hh.sum(0) + cb.sum(1) + 2 * H
    else:
        per_row = _lstm_rows(ih + hb @ w_hh.t(), b_ih + b_hh, cb)
    macs, acs = _split(per_row, spiking)
    # dense: weights and x set to ones, NeuroBench binarises (not ones) the nested (h, c) pair.
    # Every gate product is then I + nnz(h) >= 1, so every binarised gate is 1: the row counts
    # 4H (I + nnz(h)) products, f*c + i*g = c + 1 (nnz(c) + H), and o * [c1 != 0] = H.
    nnz_h, nnz_c = int(hb.sum()), int(cb.sum())
    dense = 4 * H * (cell.input_size * ih.shape[0] + nnz_h) + nnz_c + 2 * H * ih.shape[0]
    return dense, macs, acs


def _gru_rows(ih: torch.Tensor, hh: torch.Tensor, h: torch.Tensor, b_ih, b_hh) -> torch.Tensor:
    """NeuroBench's gru_cell_macs per row, from the binary products ih, hh (n, 3H)."""
    H = h.shape[1]
    rzn = ih + hh
    ops = rzn.sum(1)  # all weight-input products
    rzn = rzn + b_ih + b_hh
    r, z = rzn[:, :H], rzn[:, H:2 * H]
    hh_n = hh[:, 2 * H:] + (b_hh[2 * H:] if isinstance(b_hh, torch.Tensor) else b_hh)
    n_hh = (r != 0) & (hh_n != 0)  # r * (W_hn h + b_hn)
    ops = ops + n_hh.sum(1)
    # NeuroBench's n term, as its code computes it: the hidden products, plus element 2 of the
    # (3H, 1) input-bias column (``bias_ih[2, :]``, one value broadcast), plus the r term
    b_n = b_ih[2] if isinstance(b_ih, torch.Tensor) else b_ih
    n = (hh[:, 2 * H:] + b_n + n_hh.to(torch.float32)) != 0
    t1 = ((1 - z) != 0) & n  # (1 - z) * n
    t2 = (z != 0) & (h != 0)  # z * h
    return ops + t1.sum(1) + t2.sum(1)


def gru_cell_ops(cell: nn.GRUCell, x: torch.Tensor, h: torch.Tensor) -> Ops:
    """Operations of ``cell`` on x (n, I) with state h (n, H) (NeuroBench needs the state passed)."""
    if not cell.bias:
        raise ValueError("gru_cell_ops: NeuroBench's GRU count needs biases (its code fails without)")
    hb = _nonzero(h)
    ih = input_products(cell, x)
    hh = hb @ _nonzero(cell.weight_hh).t()
    b_ih, b_hh = _bias(cell, ones=False)
    macs, acs = _split(_gru_rows(ih, hh, hb, b_ih, b_hh), binary_rows(x))
    n, H = x.shape[0], cell.hidden_size  # dense: weights, x and h all ones
    b_ih, b_hh = _bias(cell, ones=True)
    full = _gru_rows(torch.full((n, 3 * H), float(cell.input_size)), torch.full((n, 3 * H), float(H)), torch.ones(n, H), b_ih, b_hh)
    return int(full.to(torch.int64).sum()), macs, acs


def cell_ops(cell: nn.Module, args) -> Ops | None:
    """Per-row operations of one batched cell call (NeuroBench's hooked arguments), or None when
    the call is not one these rules cover (unbatched, no state passed, a GRU without bias, other
    cells)."""
    x, state = (args[0], args[1] if len(args) > 1 else None) if isinstance(args, tuple) else (args, None)
    if not isinstance(x, torch.Tensor) or x.dim() != 2:
        return None
    shape = (x.shape[0], cell.hidden_size) if isinstance(cell, nn.RNNCellBase) else None
    if isinstance(cell, nn.LSTMCell):
        if isinstance(state, tuple) and len(state) == 2 and all(isinstance(s, torch.Tensor) and s.shape == shape for s in state):
            return lstm_cell_ops(cell, x, state)
        return None
    if isinstance(cell, nn.GRUCell) and cell.bias and isinstance(state, torch.Tensor) and state.shape == shape:
        return gru_cell_ops(cell, x, state)
    return None
