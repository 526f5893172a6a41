"""NIR export of streaming spiking entries, and an independent NIR reader for the proof.

Why not snnTorch's ``export_to_nir`` as it is: it traces ``forward`` with nirtorch's module
tracer, which loses the graph at a Dropout in eval mode (it returns its input, the tracer sees a
self-loop and drops the rest), and it maps every ``snn.Leaky`` to a spiking ``nir.LIF`` with a
fixed dt of 0.1 ms, so a reset-free membrane readout (SNN_streaming's output layer) would be
written as spikes: a file that silently differs. This module traces ONE STEP of the step
protocol (``bench.deploy.steppers``) with forward hooks instead, follows tensors by identity, and
maps each layer by what the network actually uses:

- ``nn.Linear`` -> ``nir.Linear`` (no bias) or ``nir.Affine``;
- ``snn.Leaky`` whose spikes are used, reset to zero -> ``nir.LIF`` (v_reset 0). snnTorch's
  delayed zero reset (the membrane is zeroed at the step after the spike) yields exactly the
  spikes of NIR's immediate reset-to-v_reset, since the zeroed membrane is what decays next;
- ``snn.Leaky`` whose membrane is the output, with no reset -> ``nir.LI`` (leaky integrator);
- Dropout / Identity in eval mode (they return their input) -> nothing.

Time constants are written for the real step, dt = 4 ms (graph metadata ``dt``): snnTorch's
v <- beta v + I is NIR's tau dv/dt = (v_leak - v) + r I under forward Euler with
tau = dt / (1 - beta), r = tau / dt, v_leak = 0.

A model may also say itself what NIR lacks for it (``model.nir_missing() -> list[str]``, e.g. a
custom neuron whose update order no NIR node follows). Anything else is reported, precisely, as
missing: other layer types, reset by subtraction (NIR's
LIF resets to v_reset), spikes of a neuron without reset, a membrane readout of a resetting
neuron, graded spikes, computations between layers done by torch functions, parameters outside
the exported layers, and entries without the step protocol (windowed, per-prediction networks).

The reader (``read_nir``) maps the file back with ``nirtorch.nir_to_torch`` and bench's own
node modules, written from NIR's definitions, not from the exporter's code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

DT = 0.004  # seconds per step: one 4 ms sample


class NIRUnsupported(Exception):
    def __init__(self, missing: list[str]):
        self.missing = missing
        super().__init__("; ".join(missing))


def _leaky_problems(name: str, mod, used: set[str]) -> list[str]:
    problems = []
    reset = getattr(mod, "_reset_mechanism", None)
    beta = mod.beta.detach().float()
    if not bool(((beta > 0) & (beta < 1)).all()):
        problems.append(f"{name}: beta {beta.tolist()} outside (0, 1) (NIR LIF/LI need a finite positive tau)")
    gsf = getattr(mod, "graded_spikes_factor", torch.tensor(1.0))
    if "spk" in used and float(torch.as_tensor(gsf)) != 1.0:
        problems.append(f"{name}: graded spikes (graded_spikes_factor {float(gsf)}) have no NIR equivalent")
    if getattr(mod, "inhibition", False) or getattr(mod, "state_quant", False):
        problems.append(f"{name}: inhibition / state quantization have no NIR equivalent")
    if not getattr(mod, "reset_delay", True):
        problems.append(f"{name}: reset_delay=False is not mapped (only snnTorch's default delayed reset is proved equal)")
    if used == {"spk", "mem"}:
        problems.append(f"{name}: both spikes and membrane are used (NIR's LIF outputs spikes, LI a membrane)")
    elif used == {"spk"}:
        if reset == "subtract":
            problems.append(f"{name}: reset by subtraction (snnTorch's default) has no NIR primitive (NIR's LIF resets to v_reset)")
        elif reset == "none":
            problems.append(f"{name}: spikes of a neuron without reset (NIR's LIF always resets)")
    elif used == {"mem"} and reset != "none":
        problems.append(f"{name}: membrane readout of a neuron that resets ({reset!r}); NIR's LI has no threshold")
    return problems


def scan_modules(model: nn.Module) -> list[str]:
    """What NIR lacks for a model without the step protocol (found without running it)."""
    import snntorch as snn

    missing = ["a per-prediction network (run once per prediction on windows of the stream, no init_state/step): "
               "NIR graphs take one input per time step with their state carried"]
    kinds: dict[str, list[str]] = {}
    for name, mod in model.named_modules():
        if list(mod.children()) or isinstance(mod, (nn.Linear, nn.Dropout, nn.Identity)):
            continue
        if type(mod) is snn.Leaky:
            if getattr(mod, "_reset_mechanism", None) == "subtract":
                kinds.setdefault("snn.Leaky with reset by subtraction (NIR's LIF resets to v_reset)", []).append(name)
            continue
        kinds.setdefault(f"{type(mod).__name__} (no NIR primitive)", []).append(name)
    missing += [f"{kind}: {', '.join(names)}" for kind, names in kinds.items()]
    leaves = {id(p) for m in model.modules() if not list(m.children()) for p in m.parameters(recurse=False)}
    loose = [n for n, p in model.named_parameters() if id(p) not in leaves]
    if loose:
        missing.append(f"parameters used outside any layer: {', '.join(loose)}")
    return missing


def _lif_params(mod, n: int, dt: float) -> dict:
    beta = np.broadcast_to(mod.beta.detach().double().cpu().numpy(), (n,)).astype(np.float64)
    tau = dt / (1.0 - beta)
    return {"tau": tau, "r": tau / dt, "v_leak": np.zeros(n)}


def trace_step(model: nn.Module, n_inputs: int) -> tuple[dict, list[tuple[str, str]], list[str]]:
    """NIR nodes and edges of one step of ``model``, or the list of what NIR cannot express."""
    import nir
    import snntorch as snn

    from bench.deploy.steppers import has_step_protocol

    if not has_step_protocol(model):
        return {}, [], scan_modules(model)
    declared = getattr(model, "nir_missing", None)  # a model may state what NIR lacks for it
    if callable(declared) and declared():
        return {}, [], [str(m) for m in declared()]
    names = {m: n for n, m in model.named_modules()}
    calls: list[tuple[str, nn.Module, tuple, object]] = []
    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(lambda mod, args, out: calls.append((names[mod], mod, args, out))) for m in leaves]
    x = torch.zeros(1, n_inputs)
    state = model.init_state(1)
    try:
        with torch.no_grad():
            y, new_state = model.step(x, state)
    finally:
        for h in handles:
            h.remove()
    state_in = list(state) if isinstance(state, (tuple, list)) else [state]
    state_out = list(new_state) if isinstance(new_state, (tuple, list)) else [new_state]
    producer: dict[int, tuple[str, str]] = {id(x): ("input", "out")}
    missing: list[str] = []
    edges: list[tuple[str, str]] = []
    used: dict[str, set[str]] = {}
    called: dict[str, nn.Module] = {}
    recurrent: list[tuple[int, str]] = []  # (state position, consumer)

    def source(t, consumer: str) -> str | None:
        if id(t) in producer:
            node, kind = producer[id(t)]
            used.setdefault(node, set()).add(kind)
            return node
        for pos, s in enumerate(state_in):
            if t is s:
                recurrent.append((pos, consumer))
                return None
        missing.append(f"{consumer}: its input is computed outside the network's layers (a torch function between layers has no NIR node)")
        return None

    for name, mod, args, out in calls:
        key = name.replace(".", "_")
        if name in called:
            missing.append(f"{name}: called more than once per step")
            continue
        if isinstance(mod, (nn.Dropout, nn.Identity)):
            if out is args[0]:
                producer[id(out)] = producer.get(id(args[0]), ("?", "out"))
                continue
        called[name] = mod
        if isinstance(mod, nn.Linear):
            src = source(args[0], key)
            if src:
                edges.append((src, key))
            producer[id(out)] = (key, "out")
        elif isinstance(mod, snn.Leaky) and type(mod) is snn.Leaky:
            src = source(args[0], key)
            if src:
                edges.append((src, key))
            producer[id(out[0])] = (key, "spk")
            producer[id(out[1])] = (key, "mem")
        else:
            missing.append(f"{name} ({type(mod).__name__}): no NIR primitive is mapped for this layer")
    out_src = source(y, "output")
    if out_src:
        edges.append((out_src, "output"))
    for pos, consumer in recurrent:  # a layer fed by carried state: a recurrent edge (one step late)
        t = state_out[pos] if pos < len(state_out) else None
        if t is None or id(t) not in producer:
            missing.append(f"{consumer}: fed by carried state that no exported layer produces")
            continue
        node, kind = producer[id(t)]
        used.setdefault(node, set()).add(kind)
        edges.append((node, consumer))
    owned = {id(p) for m in called.values() for p in m.parameters()}
    outside = [n for n, p in model.named_parameters() if id(p) not in owned]
    if outside:
        missing.append(f"parameters outside the exported layers: {outside}")
    nodes: dict = {"input": nir.Input(input_type={"input": np.array([n_inputs])})}
    for name, mod in called.items():
        key = name.replace(".", "_")
        if isinstance(mod, nn.Linear):
            w = mod.weight.detach().cpu().numpy().astype(np.float32)
            nodes[key] = nir.Linear(weight=w) if mod.bias is None else nir.Affine(weight=w, bias=mod.bias.detach().cpu().numpy().astype(np.float32))
        else:
            kinds = used.get(key, set())
            missing.extend(_leaky_problems(name, mod, kinds))
            size = _size_of(key, nodes, edges)
            if size is None:
                missing.append(f"{name}: cannot tell the layer's size from the graph")
                continue
            p = _lif_params(mod, size, DT)
            if kinds == {"mem"}:
                nodes[key] = nir.LI(**p)
            else:
                thr = float(torch.as_tensor(mod.threshold).float())
                nodes[key] = nir.LIF(**p, v_threshold=np.full(size, thr), v_reset=np.zeros(size))
    k = int(y.shape[-1])
    nodes["output"] = nir.Output(output_type={"output": np.array([k])})
    return nodes, edges, missing


def _size_of(key: str, nodes: dict, edges: list[tuple[str, str]]) -> int | None:
    for src, dst in edges:
        if dst == key and src in nodes and hasattr(nodes[src], "weight"):
            return int(nodes[src].weight.shape[0])
    return None


def write_nir(model: nn.Module, n_inputs: int, path: Path, provenance: dict) -> Path:
    """Write the NIR graph of ``model``'s step; raises NIRUnsupported listing what is missing."""
    import nir

    nodes, edges, missing = trace_step(model, n_inputs)
    if missing:
        raise NIRUnsupported(missing)
    graph = nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": DT, **{k: str(v) for k, v in provenance.items()}})
    nir.write(str(path), graph)
    return path


# --- reading back ----------------------------------------------------------------------------


class _LeakyNode(nn.Module):
    """NIR LIF / LI under forward Euler with step dt: v <- (1 - dt/tau) v + (dt/tau) (v_leak + r I)."""

    def __init__(self, node, dt: float, spiking: bool):
        super().__init__()
        tau = np.asarray(node.tau, dtype=np.float64)
        self.register_buffer("decay", torch.from_numpy((1.0 - dt / tau).astype(np.float32)))
        self.register_buffer("gain", torch.from_numpy((dt / tau * np.asarray(node.r, dtype=np.float64)).astype(np.float32)))
        leak = dt / tau * np.asarray(node.v_leak, dtype=np.float64)
        self.register_buffer("leak", torch.from_numpy(leak.astype(np.float32)))
        self.has_leak = bool(np.any(leak != 0))
        self.spiking = spiking
        if spiking:
            self.register_buffer("threshold", torch.from_numpy(np.asarray(node.v_threshold, dtype=np.float32)))
            self.register_buffer("v_reset", torch.from_numpy(np.asarray(node.v_reset, dtype=np.float32)))

    def forward(self, x: torch.Tensor, state=None):
        v = torch.zeros_like(x) if state is None else state
        v = self.decay * v + self.gain * x
        if self.has_leak:
            v = v + self.leak
        if not self.spiking:
            return v, v
        spk = (v > self.threshold).to(x.dtype)
        v = torch.where(spk > 0, self.v_reset, v)
        return spk, v


def read_nir(path: Path):
    """(graph, step) where step(x_t (1, C), state) -> (y_t, state): the file run by nirtorch."""
    import nir
    import nirtorch

    graph = nir.read(str(path))
    dt = float(graph.metadata.get("dt", DT))

    def linear(node) -> nn.Linear:
        w = torch.from_numpy(np.asarray(node.weight, dtype=np.float32))
        lin = nn.Linear(w.shape[1], w.shape[0], bias=isinstance(node, nir.Affine))
        lin.weight.data.copy_(w)
        if isinstance(node, nir.Affine):
            lin.bias.data.copy_(torch.from_numpy(np.asarray(node.bias, dtype=np.float32)))
        return lin

    node_map = {
        nir.Linear: linear,
        nir.Affine: linear,
        nir.LIF: lambda n: _LeakyNode(n, dt, spiking=True),
        nir.LI: lambda n: _LeakyNode(n, dt, spiking=False),
    }
    unknown = sorted({type(n).__name__ for n in graph.nodes.values()} - {"Input", "Output", "Linear", "Affine", "LIF", "LI"})
    if unknown:
        raise NIRUnsupported([f"the reader has no mapping for NIR nodes {unknown}"])
    module = nirtorch.nir_to_torch(graph, node_map).eval()
    return graph, module
