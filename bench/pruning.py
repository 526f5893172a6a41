"""Global magnitude (L1, unstructured) pruning as a reusable post-training variant.

Any entry can add ``pruned_variant(...)`` to its ``variants``. Pruning zeroes the ``k = round(rate
* n)`` smallest-magnitude weights over all selected weight tensors together (one global ranking),
keeps the zeros fixed through fine-tuning (gradients masked, masks re-applied after every optimiser
step) and leaves plain parameters holding exact zeros: the pruning is permanent, with no
reparametrisation left in the evaluated model, so NeuroBench's ConnectionSparsity and effective
MACs see it while the footprint (dense storage) stays the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from bench.registry import Variant

# weight tensors of the layers NeuroBench counts operations for
_RECURRENT_WEIGHTS = ("weight_ih", "weight_hh")


def prunable_weights(model: nn.Module, modules: Iterable[nn.Module] | None = None) -> list[tuple[str, nn.Parameter]]:
    """(name, weight) of every Linear / Conv weight and every recurrent cell or layer weight
    matrix (biases and normalisation parameters are never pruned). ``modules`` restricts the
    search to those modules (and their children)."""
    roots = list(modules) if modules is not None else [model]
    names = {id(m): n for n, m in model.named_modules()}
    out: list[tuple[str, nn.Parameter]] = []
    seen: set[int] = set()
    for root in roots:
        for sub_name, m in root.named_modules():
            prefix = names.get(id(m), sub_name)
            if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
                params = [("weight", m.weight)]
            elif isinstance(m, (nn.RNNCellBase, nn.RNNBase)):
                params = [(n, p) for n, p in m.named_parameters(recurse=False) if n.startswith(_RECURRENT_WEIGHTS)]
            else:
                continue
            for n, p in params:
                if id(p) not in seen:
                    seen.add(id(p))
                    out.append((f"{prefix}.{n}" if prefix else n, p))
    return out


@dataclass
class Masks:
    """Binary masks of pruned parameters (1 = kept, 0 = pruned) and what keeps them applied."""

    params: list[tuple[str, nn.Parameter, torch.Tensor]]
    _handles: list = field(default_factory=list, repr=False)

    @torch.no_grad()
    def apply(self) -> None:
        """Zero every pruned weight (again)."""
        for _, p, m in self.params:
            p.mul_(m.to(p.device, p.dtype))

    def hold(self, optimizer: torch.optim.Optimizer | None = None) -> Masks:
        """Keep pruned weights at zero while training: their gradients are masked (so the
        optimiser's moments stay zero) and, with ``optimizer``, masks are re-applied after each
        step (weight decay and momentum cannot revive them)."""
        for _, p, m in self.params:
            self._handles.append(p.register_hook(lambda g, m=m: g * m.to(g.device, g.dtype)))
        if optimizer is not None:
            self._handles.append(optimizer.register_step_post_hook(lambda *_: self.apply()))
        return self

    def release(self) -> None:
        """Remove the training hooks and make the pruning final (plain zero weights)."""
        for h in self._handles:
            h.remove()
        self._handles.clear()
        self.apply()

    def summary(self) -> dict:
        total = sum(m.numel() for _, _, m in self.params)
        pruned = sum(int((m == 0).sum()) for _, _, m in self.params)
        per = {n: round(float((m == 0).float().mean()), 4) for n, _, m in self.params}
        return {"n_weights": total, "n_pruned": pruned, "rate": pruned / max(total, 1), "per_tensor": per}


@torch.no_grad()
def prune_global_l1(model: nn.Module, rate: float, modules: Iterable[nn.Module] | None = None) -> Masks:
    """Zero the ``round(rate * n)`` smallest |w| over all prunable weights of ``model`` at once
    (ties broken by position, so the count is exact). Returns the masks."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"pruning rate must lie in [0, 1], got {rate}")
    named = prunable_weights(model, modules)
    if not named:
        raise ValueError(f"{type(model).__name__} has no Linear / Conv / recurrent weights to prune")
    flat = torch.cat([p.detach().abs().flatten().cpu() for _, p in named])
    k = int(round(rate * flat.numel()))
    keep = torch.ones(flat.numel(), dtype=torch.bool)
    if k > 0:
        order = torch.sort(flat, stable=True).indices
        keep[order[:k]] = False
    masks, start = [], 0
    for name, p in named:
        m = keep[start:start + p.numel()].reshape(p.shape).to(p.dtype)
        start += p.numel()
        masks.append((name, p, m.to(p.device)))
    out = Masks(masks)
    out.apply()
    return out


@torch.no_grad()
def prune_l1_per_tensor(model: nn.Module, rate: float, modules: Iterable[nn.Module] | None = None) -> Masks:
    """Zero the ``floor(rate * n)`` smallest |w| of EACH prunable weight tensor separately
    (layer-wise magnitude pruning; ties broken by position). Returns the masks."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"pruning rate must lie in [0, 1], got {rate}")
    named = prunable_weights(model, modules)
    if not named:
        raise ValueError(f"{type(model).__name__} has no Linear / Conv / recurrent weights to prune")
    masks = []
    for name, p in named:
        flat = p.detach().abs().flatten().float().cpu()
        k = int(math.floor(rate * flat.numel() + 1e-9))
        keep = torch.ones(flat.numel(), dtype=torch.bool)
        if k > 0:
            keep[torch.sort(flat, stable=True).indices[:k]] = False
        masks.append((name, p, keep.reshape(p.shape).to(p.device, p.dtype)))
    out = Masks(masks)
    out.apply()
    return out


FineTune = Callable[[nn.Module, Any, Any, Masks], Any]


def pruned_variant(
    rate: float = 0.5,
    finetune: FineTune | None = None,
    modules: Callable[[nn.Module], Iterable[nn.Module]] | None = None,
    name: str = "pruned",
    rate_field: str | None = "prune_rate",
) -> Variant:
    """A Variant: global L1 pruning, then ``finetune(model, data, cfg, masks)`` (which must call
    ``masks.hold(optimizer)`` while it trains), then the masks are made final.

    The rate is ``cfg.<rate_field>`` when the entry's config has that field (so sweeps can vary
    it through config overrides), else ``rate``. ``modules(model)`` selects the layers to prune
    (default: every Linear / Conv / recurrent weight of the evaluated model).
    """

    def apply(model: nn.Module, data: Any, cfg: Any) -> nn.Module:
        r = getattr(cfg, rate_field, rate) if rate_field else rate
        masks = prune_global_l1(model, float(r), modules(model) if modules else None)
        try:
            if finetune is not None:
                finetune(model, data, cfg, masks)
        finally:
            masks.release()
        model.pruning_summary = masks.summary()  # plain attribute: not a parameter or buffer
        return model

    desc = f"global L1 unstructured pruning (rate from cfg.{rate_field}, default {rate})" if rate_field else f"global L1 unstructured pruning at rate {rate}"
    return Variant(name, apply, desc + (", then fine-tuning with the masks held" if finetune else ""))


__all__ = ["Masks", "prunable_weights", "prune_global_l1", "prune_l1_per_tensor", "pruned_variant"]
