"""NeuroBench 2.3's NeuronOperations and ActivationSparsityByLayer, made safe to record.

Both exist in neurobench 2.3.0 (``neurobench.metrics.workload``) but cannot be handed to its
Benchmark as they are:

- ``ActivationSparsityByLayer`` never calls its base class's ``__init__``, so it has no
  ``requires_hooks`` flag (the workload manager raises AttributeError reading it) and, with no
  hooked layer, it returns an empty dict; per layer it is keyed by the module's attribute
  name (a module used twice, like NeuroBenchMLP's one ReLU, is one key);
- ``NeuronOperations`` looks up a cost per (neuron type, reset mechanism) in a table that has
  no entry for ``reset_mechanism="none"`` (SNN_streaming's output layer) or for neuron types
  other than Leaky / Synaptic / Lapicque / Alpha: a bare KeyError.

The subclasses here keep NeuroBench's arithmetic and names and raise a clear error instead of
returning an empty or zero value; ``bench.evaluation``'s guard then records it as a metric error.
``workload_additions(net, spiking)`` is the list the evaluation appends to its workload metrics.
"""

from __future__ import annotations

from neurobench.metrics.abstract.workload_metric import WorkloadMetric
from neurobench.metrics.workload import ActivationSparsityByLayer as _NBLayerSparsity
from neurobench.metrics.workload import NeuronOperations as _NBNeuronOps
from neurobench.metrics.workload.neuron_operations import neuron_ops_reset_operations
from torch import nn


class ActivationSparsityByLayer(_NBLayerSparsity):
    """NeuroBench's per-layer activation sparsity, with hooks requested and no empty result."""

    def __init__(self):
        super().__init__()
        WorkloadMetric.__init__(self, requires_hooks=True)

    def compute(self) -> dict:
        if not self.layer_neuro_num:
            raise ValueError("ActivationSparsityByLayer: no activation layer was hooked (no nn.ReLU / nn.Sigmoid / spiking neuron ran)")
        return super().compute()


class NeuronOperations(_NBNeuronOps):
    """NeuroBench's neuron operation count; an unknown neuron or reset is an error, not 0."""

    def __call__(self, model, preds, data):
        for hook in model.activation_hooks:
            kind = type(hook.layer).__name__
            reset = getattr(hook.layer, "_reset_mechanism", None)
            if kind not in neuron_ops_reset_operations or reset not in neuron_ops_reset_operations[kind]:
                known = {k: sorted(v) for k, v in neuron_ops_reset_operations.items()}
                raise ValueError(
                    f"NeuronOperations: NeuroBench 2.3 has no operation cost for {kind} layer {hook.name!r} "
                    f"with reset_mechanism {reset!r} (it knows {known})"
                )
        return super().__call__(model, preds, data)

    def compute(self):
        if self.total_samples == 0:
            raise ValueError("NeuronOperations: no sample was processed")
        return super().compute()


def has_hookable(net: nn.Module, spiking: bool) -> bool:
    from bench.evaluation import has_activation_hooks

    return has_activation_hooks(net, spiking)


def workload_additions(net: nn.Module, spiking: bool) -> tuple[list[type], dict[str, str]]:
    """NeuroBench 2.3 metrics to add to an entry's workload list, and notes on those left out.

    ActivationSparsityByLayer where the net has a hookable activation; NeuronOperations for
    spiking entries (snnTorch neurons)."""
    metrics: list[type] = []
    notes: dict[str, str] = {}
    if has_hookable(net, spiking):
        metrics.append(ActivationSparsityByLayer)
    else:
        notes["ActivationSparsityByLayer"] = "not measured: no nn.ReLU / nn.Sigmoid / spiking neuron to hook"
    if spiking:
        unknown = _uncosted_neurons(net)
        if unknown:  # NeuroBench has no cost for them: not measured, and the reason is stored
            notes["NeuronOperations"] = "not measured: NeuroBench 2.3 has no operation cost for " + ", ".join(unknown)
        else:
            metrics.append(NeuronOperations)
    return metrics, notes


def _uncosted_neurons(net: nn.Module) -> list[str]:
    """snnTorch neurons of ``net`` whose (type, reset mechanism) NeuroBench 2.3 cannot cost."""
    import snntorch

    out = []
    for name, mod in net.named_modules():
        if isinstance(mod, snntorch.SpikingNeuron):
            kind, reset = type(mod).__name__, getattr(mod, "_reset_mechanism", None)
            if kind not in neuron_ops_reset_operations or reset not in neuron_ops_reset_operations[kind]:
                out.append(f"{kind} {name!r} (reset {reset!r})")
    return out
