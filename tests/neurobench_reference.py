"""NeuroBench's primate-reaching example models, rebuilt for side-by-side tests.

NeuroBench 2.3.0 scores its four primate-reaching baselines (examples/primate_reaching: ANN.py,
SNN_3.py, SNN2.py and the benchmark_*.py scripts) with per-sample models: each receives the test
stream in time-ordered DataLoader batches (N, 1, C), walks it one 4 ms sample at a time and keeps
its input buffer or membranes on ``self`` between calls. The classes below are written for bench's
tests; they behave as those models do in everything NeuroBench's hooks can see: the same module
names and types (so the same layers and activations are hooked), the same call per sample with
the same input shapes ((1, C) or (1, 7C) into the ANNs' fc1, a (C,) vector per time step into
SNN3D's fc1, a (C,) vector per sample into SNN2's fc1), the same registered buffers (Footprint),
and the same outputs:

- ANN2D: the buffer starts as one zero row; while it holds <= 50 rows the model outputs zeros
  WITHOUT running its layers (the first 49 samples of a stream), then it sums the last 50 samples.
- ANN3D / SNN3D: the buffer grows the same way but a prediction is made at every sample; the 7
  windows are rows [7k, 7k+7) of the buffer, i.e. cut from the buffer's START while it has fewer
  than 50 rows. From sample 48 on (buffer full) they are the 49 samples before the current one.
  SNN3D's neurons keep their membranes themselves (``init_hidden``) and are reset per prediction.
- SNN_streaming: membranes start at zero (``reset``) and are carried across calls.

``neurobench_pipeline`` runs one of them through NeuroBench's own Benchmark with the DataLoader
batch size of its benchmark script (ANN2D/ANN3D 256, SNN3D 1024, SNN2 the whole stream).
"""

from __future__ import annotations

import contextlib
import io

import snntorch as snn
import torch
from snntorch import surrogate
from torch import nn

WINDOW = 50  # 0.2 s of 4 ms samples
STEPS = 7
STEP = WINDOW // STEPS  # 7 samples per window; the newest sample of a full buffer is left out

# DataLoader batch size of each example's benchmark script (None: the whole test stream)
EXAMPLE_BATCH = {"ann2d": 256, "ann3d": 256, "snn3d": 1024, "snn-streaming": None}


class _Buffered(nn.Module):
    """The growing (then sliding) input buffer of NeuroBench's windowed examples."""

    def __init__(self, input_dim: int):
        super().__init__()
        self.register_buffer("data_buffer", torch.zeros(1, input_dim, dtype=torch.float32), persistent=False)

    def push(self, sample: torch.Tensor) -> int:
        """Append one (1, C) sample; returns the buffer length BEFORE dropping the oldest row."""
        self.data_buffer = torch.cat((self.data_buffer, sample), dim=0)
        n = self.data_buffer.shape[0]
        if n > WINDOW:
            self.data_buffer = self.data_buffer[1:]
        return n

    def seven_windows(self) -> torch.Tensor:
        """(7, C): sums of rows [7k, 7k+7) of the buffer (short or empty near its start)."""
        acc = torch.zeros(STEPS, self.data_buffer.shape[1])
        for k in range(STEPS):
            acc[k] = self.data_buffer[STEP * k:STEP * (k + 1)].sum(0)
        return acc


class ExampleANN2D(_Buffered):
    def __init__(self, input_dim: int):
        super().__init__(input_dim)
        self.fc1 = nn.Linear(input_dim, 32)
        self.fc2 = nn.Linear(32, 48)
        self.fc3 = nn.Linear(48, 2)
        self.dropout = nn.Dropout(0.5)
        self.batchnorm1 = nn.BatchNorm1d(32)
        self.batchnorm2 = nn.BatchNorm1d(48)
        self.activation = nn.ReLU()  # one module, called twice per sample (both are hooked)

    def head(self, features: torch.Tensor) -> torch.Tensor:  # (1, F) -> (1, 2)
        h = self.batchnorm1(self.activation(self.fc1(features)))
        h = self.batchnorm2(self.activation(self.dropout(self.fc2(h))))
        return self.fc3(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 1, C) -> (N, 2)
        preds = []
        for n in range(x.shape[0]):
            if self.push(x[n]) <= WINDOW:
                preds.append(torch.zeros(1, 2))  # buffer not full: no layer runs
            else:
                preds.append(self.head(self.data_buffer.sum(0).view(1, -1)))
        return torch.cat(preds)


class ExampleANN3D(ExampleANN2D):
    def __init__(self, input_dim: int):
        super().__init__(input_dim)
        self.fc1 = nn.Linear(input_dim * STEPS, 32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 1, C) -> (N, 2)
        preds = []
        for n in range(x.shape[0]):
            self.push(x[n])
            acc = self.seven_windows()  # (7, C)
            preds.append(self.head(acc.t().contiguous().view(1, -1)))  # channel-major (1, 7C)
        return torch.cat(preds)


class ExampleSNN3D(_Buffered):
    def __init__(self, input_dim: int):
        super().__init__(input_dim)
        self.fc1 = nn.Linear(input_dim, 32)
        self.fc2 = nn.Linear(32, 48)
        self.fc3 = nn.Linear(48, 2)
        self.dropout = nn.Dropout(0.5)
        self.norm_layer = nn.LayerNorm([STEPS, input_dim])
        kw = dict(beta=0.5, threshold=0.5, spike_grad=surrogate.atan(alpha=2), learn_beta=False, learn_threshold=False, init_hidden=True)
        self.lif1 = snn.Leaky(**kw)
        self.lif2 = snn.Leaky(**kw)
        self.lif3 = snn.Leaky(**kw, reset_mechanism="none")
        self.v_x = nn.Parameter(torch.zeros(1))
        self.v_y = nn.Parameter(torch.zeros(1))

    def predict(self, acc: torch.Tensor) -> torch.Tensor:  # (7, C) -> (1, 2)
        h = self.norm_layer(acc)
        for lif in (self.lif1, self.lif2, self.lif3):
            lif.reset_mem()  # membranes from zero for every prediction
        for k in range(STEPS):
            spk1 = self.lif1(self.dropout(self.fc1(h[k])))  # fc1 sees a (C,) vector per step
            spk2 = self.lif2(self.fc2(spk1))
            self.lif3(self.fc3(spk2))
        mem = self.lif3.mem.clone()  # (2,)
        return torch.stack((self.v_x * mem[0], self.v_y * mem[1]), 0).t()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 1, C) -> (N, 2)
        preds = []
        for n in range(x.shape[0]):
            self.push(x[n])
            preds.append(self.predict(self.seven_windows()))
        return torch.cat(preds)


class ExampleSNN2(nn.Module):
    """Membranes kept on self across calls; ``reset()`` before a stream."""

    def __init__(self, input_dim: int):
        super().__init__()
        self.fc1 = nn.Linear(input_dim, 50, bias=False)
        self.fc_out = nn.Linear(50, 2, bias=False)
        kw = dict(beta=0.96, threshold=1, spike_grad=surrogate.fast_sigmoid(slope=20), learn_beta=False, learn_threshold=False)
        self.lif1 = snn.Leaky(**kw, reset_mechanism="zero")
        self.lif_out = snn.Leaky(**kw, reset_mechanism="none")
        self.dropout = nn.Dropout(0.3)
        self.mem1 = self.mem2 = None

    def reset(self) -> None:
        self.mem1 = self.lif1.reset_mem()
        self.mem2 = self.lif_out.reset_mem()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 1, C) -> (N, 2)
        preds = []
        for n in range(x.shape[0]):
            spk1, self.mem1 = self.lif1(self.dropout(self.fc1(x[n].squeeze())), self.mem1)  # (C,) in
            _, self.mem2 = self.lif_out(self.fc_out(spk1), self.mem2)
            preds.append(self.mem2.clone())
        return torch.stack(preds)


REFERENCES = {
    "ann2d": ExampleANN2D,
    "ann3d": ExampleANN3D,
    "snn3d": ExampleSNN3D,
    "snn-streaming": ExampleSNN2,
}
SPIKING = {"snn3d", "snn-streaming"}


def example_model(name: str, state: dict, n_channels: int) -> nn.Module:
    """NeuroBench's example model ``name`` with ``state`` loaded, in eval mode, state reset."""
    model = REFERENCES[name](n_channels)
    model.load_state_dict(state, strict=True)
    model.eval()
    if hasattr(model, "reset"):
        model.reset()
    return model


@torch.no_grad()
def reference_outputs(name: str, state: dict, stream: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Outputs (T, 2) of the example model ``name`` with ``state`` on a (T, C) stream, fed in
    time-ordered batches of (batch_size, 1, C) as NeuroBench's DataLoader does."""
    model = example_model(name, state, stream.shape[1])
    x = stream.unsqueeze(1)  # (T, 1, C)
    return torch.cat([model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def neurobench_pipeline(name: str, state: dict, stream: torch.Tensor, labels: torch.Tensor) -> dict:
    """What NeuroBench's own benchmark script reports for example model ``name`` on a stream:
    its Benchmark, TorchModel, DataLoader batch size and metrics (static: Footprint,
    ConnectionSparsity, ParameterCount; workload: R2, ActivationSparsity, SynapticOperations,
    and MembraneUpdates for the spiking ones). A metric NeuroBench failed on is an error here."""
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.static import ConnectionSparsity, Footprint, ParameterCount
    from neurobench.metrics.workload import (
        R2,
        ActivationSparsity,
        MembraneUpdates,
        SynapticOperations,
    )
    from neurobench.models import TorchModel

    model = TorchModel(example_model(name, state, stream.shape[1]))
    if name in SPIKING:
        model.add_activation_module(snn.SpikingNeuron)
    dataset = torch.utils.data.TensorDataset(stream.unsqueeze(1), labels)
    loader = torch.utils.data.DataLoader(dataset, batch_size=EXAMPLE_BATCH[name] or len(dataset), shuffle=False)
    workload = [R2, ActivationSparsity, SynapticOperations] + ([MembraneUpdates] if name in SPIKING else [])
    bench = Benchmark(model, loader, [], [], [[Footprint, ConnectionSparsity, ParameterCount], workload])
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), torch.no_grad():
            results = bench.run(quiet=True)
    finally:
        model.cleanup_hooks()
    if "Error" in printed.getvalue():
        raise RuntimeError(f"NeuroBench reported a metric error for {name}: {printed.getvalue()}")
    return results


def start_aligned_windows(stream: torch.Tensor, index: int) -> torch.Tensor:
    """The (7, C) windows NeuroBench's ANN3D/SNN3D cut at sample ``index`` of a stream before
    their buffer is full: rows [7k, 7k+7) of [zero row, sample 0, ..., sample index]."""
    buf = torch.cat([torch.zeros(1, stream.shape[1]), stream[: index + 1]])[-WINDOW:]
    return torch.stack([buf[STEP * k:STEP * k + STEP].sum(0) for k in range(STEPS)])
