"""Fixed-point weight quantization (e.g. Q1.7, 8 bits) as a reusable post-training variant.

``w_q = clamp(round(w * 2^f), -2^(b-1), 2^(b-1) - 1) / 2^f`` with b bits of which f are fractional:
Q1.7 (b = 8, f = 7) puts every weight on the 2^-7 grid in [-1, 127/128]. Weights are stored
back as float32 values on that grid (simulated quantization): NeuroBench's Footprint keeps
counting 4 bytes per parameter, as it does for every entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from bench.pruning import prunable_weights
from bench.registry import Variant


def quantize_tensor(t: torch.Tensor, bits: int = 8, frac_bits: int = 7) -> torch.Tensor:
    """Round to the 2^-frac_bits grid and saturate to the signed ``bits``-bit range."""
    if bits < 2 or not 0 <= frac_bits < bits:
        raise ValueError(f"need bits >= 2 and 0 <= frac_bits < bits; got bits={bits}, frac_bits={frac_bits}")
    scale = float(2**frac_bits)
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return torch.clamp(torch.round(t * scale), lo, hi) / scale


@torch.no_grad()
def quantize_fixed(
    model: nn.Module,
    bits: int = 8,
    frac_bits: int = 7,
    modules: Iterable[nn.Module] | None = None,
    include_bias: bool = False,
) -> dict:
    """Quantize, in place, the weight matrices of every Linear / Conv / recurrent layer (of
    ``modules`` if given; biases too with ``include_bias``). Exact zeros stay zero, so pruning
    survives. Returns a small report (count, saturated count, max rounding error)."""
    named = prunable_weights(model, modules)
    if include_bias:
        for m in (list(modules) if modules is not None else [model]):
            for n, p in m.named_parameters():
                if "bias" in n.split(".")[-1] and all(p is not q for _, q in named):
                    named.append((n, p))
    n_total = n_sat = 0
    max_err = 0.0
    bound = (2 ** (bits - 1)) / 2**frac_bits
    for _, p in named:
        q = quantize_tensor(p.data, bits, frac_bits)
        n_sat += int(((p.data < -bound) | (p.data > bound - 2.0**-frac_bits)).sum())
        inside = (p.data >= -bound) & (p.data <= bound - 2.0**-frac_bits)
        if inside.any():
            max_err = max(max_err, float((q - p.data)[inside].abs().max()))
        p.data.copy_(q)
        n_total += p.numel()
    return {"bits": bits, "frac_bits": frac_bits, "n_quantized": n_total, "n_saturated": n_sat, "max_round_error": max_err, "tensors": [n for n, _ in named]}


def quantize_q17(model: nn.Module, modules: Iterable[nn.Module] | None = None) -> dict:
    """Q1.7 (8-bit) weights, as the AEGRU paper quantizes its GRU, output and encoder weights."""
    return quantize_fixed(model, 8, 7, modules)


def quantized_variant(
    bits: int = 8,
    frac_bits: int = 7,
    after: Variant | None = None,
    name: str | None = None,
    modules: Callable[[nn.Module], Iterable[nn.Module]] | None = None,
    include_bias: bool = False,
) -> Variant:
    """A Variant quantizing weights to ``bits`` bits (``frac_bits`` fractional), optionally
    after another variant (e.g. ``quantized_variant(after=pruned_variant())`` -> 'pruned-q8')."""

    def step(model: nn.Module, data: Any, cfg: Any) -> nn.Module:
        model.quantization_summary = quantize_fixed(model, bits, frac_bits, modules(model) if modules else None, include_bias)
        return model

    def apply(model: nn.Module, data: Any, cfg: Any) -> nn.Module:
        if after is not None:
            model = after.apply(model, data, cfg)
        return step(model, data, cfg)

    vname = name or (f"{after.name}-q{bits}" if after else f"q{bits}")
    desc = f"Q{bits - frac_bits}.{frac_bits} fixed-point weights ({bits} bits)"
    return Variant(vname, apply, (f"{after.description}; then " if after else "") + desc,
                   base=after.name if after is not None else None, step=step if after is not None else None)


def float16_variant(after: Variant | None = None, name: str | None = None) -> Variant:
    """A Variant casting the model to float16 (weights, time constants, every floating
    parameter and buffer), optionally after another variant ('pruned' -> 'pruned-fp16').
    NeuroBench's Footprint then counts 2 bytes per parameter; the model's forward must accept
    float32 inputs (cast them to its weights' dtype)."""

    def step(model: nn.Module, data: Any, cfg: Any) -> nn.Module:
        model = model.half()
        model.quantization_summary = {"format": "fp16", "dtype": "float16", "n_params": sum(p.numel() for p in model.parameters())}
        return model

    def apply(model: nn.Module, data: Any, cfg: Any) -> nn.Module:
        if after is not None:
            model = after.apply(model, data, cfg)
        return step(model, data, cfg)

    vname = name or (f"{after.name}-fp16" if after else "fp16")
    return Variant(vname, apply, (f"{after.description}; then " if after else "") + "float16 weights (IEEE half precision)",
                   base=after.name if after is not None else None, step=step if after is not None else None)


__all__ = ["quantize_tensor", "quantize_fixed", "quantize_q17", "quantized_variant", "float16_variant"]
