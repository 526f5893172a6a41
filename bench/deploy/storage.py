"""Storage footprint: the bytes a device stores for a model, beside NeuroBench's Footprint.

NeuroBench's Footprint counts every parameter and buffer at its in-memory size (float32 for
simulated 8-bit weights) plus the streaming input state. The storage footprint counts what a
device keeps in its weight memory instead:

- a tensor listed in ``model.quantization_summary["tensors"]`` (8-bit fixed point) costs 1 byte
  per weight (``bits / 8`` in general) plus one float32 scale (4 bytes) per tensor;
  ``quantization_summary["format"] == "fp16"`` costs 2 bytes per value; a float16 tensor also
  costs 2 bytes; everything else its dtype's size (4 bytes for float32);
- a 2-D (or larger, flattened to rows) weight with exact zeros costs the cheapest of: dense;
  CSR (values + 16-bit column indices + row pointers, 16-bit while the non-zeros fit, else 32);
  a bitmask (one bit per position, rounded up to bytes) + the non-zero values;
- parameters and inference buffers (batch-norm running statistics, neuron constants) count;
  training counters (``num_batches_tracked``) and non-persistent runtime registers (the
  ``input_state`` streaming register, neuron membranes) do not: they are state, not storage.
"""

from __future__ import annotations

import math

import torch
from torch import nn

RULE = (
    "bytes a device stores: 8-bit weights 1 byte each + one 4-byte scale per tensor, fp16 values 2 bytes, "
    "other values their dtype's size; weights with zeros stored in the cheapest of dense, CSR (16-bit column "
    "indices) and bitmask + values; parameters and persistent inference buffers only (no num_batches_tracked, "
    "no runtime state)"
)


def sparse_bytes(t: torch.Tensor, value_bytes: float) -> dict[str, int]:
    """Bytes of ``t`` stored dense, as CSR (16-bit indices where they fit) and as bitmask + values."""
    rows = t.shape[0] if t.dim() >= 1 else 1
    cols = t.numel() // max(rows, 1)
    nnz = int(torch.count_nonzero(t))
    dense = math.ceil(t.numel() * value_bytes)
    col_idx = 2 if cols <= 2**16 else 4
    ptr = 2 if nnz < 2**16 else 4
    csr = math.ceil(nnz * value_bytes) + nnz * col_idx + (rows + 1) * ptr
    bitmask = math.ceil(t.numel() / 8) + math.ceil(nnz * value_bytes)
    return {"dense": dense, "csr16": csr, "bitmask": bitmask}


def storage_footprint(model: nn.Module) -> dict:
    """Bytes per tensor and in total under the rule above; NeuroBench's Footprint is unchanged."""
    summary = getattr(model, "quantization_summary", None)
    quant = set(summary.get("tensors", [])) if isinstance(summary, dict) else set()
    q_format = summary.get("format") if isinstance(summary, dict) else None
    q_bits = int(summary.get("bits", 8)) if isinstance(summary, dict) else 8
    found = set()
    tensors: dict[str, dict] = {}
    named = list(model.named_parameters())
    persistent = set(model.state_dict().keys())
    named += [(n, b) for n, b in model.named_buffers() if n in persistent and not n.endswith("num_batches_tracked")]
    total = 0
    for name, t in named:
        t = t.detach()
        extra = 0
        if name in quant:
            found.add(name)
            if q_format == "fp16":
                value_bytes, kind = 2.0, "fp16"
            else:
                value_bytes, kind = q_bits / 8, f"int{q_bits}"
                extra = 4  # the tensor's scale
        elif t.dtype == torch.float16 or t.dtype == torch.bfloat16:
            value_bytes, kind = 2.0, "fp16"
        else:
            value_bytes, kind = float(t.element_size()), str(t.dtype).replace("torch.", "")
        options = sparse_bytes(t, value_bytes) if t.dim() >= 2 and t.is_floating_point() else {"dense": math.ceil(t.numel() * value_bytes)}
        layout = min(options, key=lambda k: (options[k], k != "dense"))
        size = options[layout] + extra
        tensors[name] = {"bytes": size, "values": kind, "layout": layout, "numel": int(t.numel())}
        total += size
    missing = sorted(quant - found)
    if missing:
        raise ValueError(f"quantization_summary names tensors the model does not have: {missing}")
    return {"bytes": total, "rule": RULE, "tensors": tensors}
