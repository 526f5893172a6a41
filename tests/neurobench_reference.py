"""Per-sample re-implementations of NeuroBench's primate-reaching example models (for tests).

These follow the behaviour of NeuroBench's examples/primate_reaching models (ANN.py, SNN_3.py,
SNN2.py) as closely as possible, in their style: the model receives the test stream in
time-ordered batches (N, 1, C), walks it one 4 ms sample at a time, and keeps its input buffer
or membranes on ``self`` between calls. The tests load the same published weights into these and
into the batched baselines and compare the outputs sample by sample.

What each one does at the start of a stream (this is what the harness must reproduce):
- ANN2D: the buffer starts as one zero row; while it holds <= 50 rows the output is zero, so the
  first 49 predictions are zeros; then it holds the last 50 samples.
- ANN3D / SNN3D: the buffer grows the same way but a prediction is made at every sample; its 7
  windows are rows [7k, 7k+7) of the buffer, i.e. cut from the buffer's START while it has
  fewer than 50 rows. From sample 48 on (buffer full), the windows are the 49 samples before
  the current one.
- SNN_streaming: membranes start at zero (``reset``) and are carried across calls.
"""

from __future__ import annotations

import snntorch as snn
import torch
from snntorch import surrogate
from torch import nn

WINDOW = 50  # 0.2 s of 4 ms samples
STEPS = 7
STEP = WINDOW // STEPS  # 7


class _BufferedMixin:
    """The growing input buffer NeuroBench's windowed examples keep on self."""

    def _push(self, sample: torch.Tensor) -> None:  # sample (1, C)
        self.data_buffer = torch.cat((self.data_buffer, sample), dim=0)

    def _seven_windows(self) -> torch.Tensor:  # (7, C): rows [7k, 7k+7) of the buffer
        buf = self.data_buffer
        acc = torch.zeros(STEPS, buf.shape[1])
        for k in range(STEPS):
            acc[k] = buf[STEP * k:STEP * k + STEP].sum(0)
        return acc


class NBStyleANN2D(_BufferedMixin, nn.Module):
    def __init__(self, input_dim: int):
        super().__init__()
        self.fc1 = nn.Linear(input_dim, 32)
        self.fc2 = nn.Linear(32, 48)
        self.fc3 = nn.Linear(48, 2)
        self.dropout = nn.Dropout(0.5)
        self.batchnorm1 = nn.BatchNorm1d(32)
        self.batchnorm2 = nn.BatchNorm1d(48)
        self.register_buffer("data_buffer", torch.zeros(1, input_dim), persistent=False)

    def one_sample(self, x: torch.Tensor) -> torch.Tensor:  # x (C,) -> (1, 2)
        h = self.batchnorm1(torch.relu(self.fc1(x.view(1, -1))))
        h = self.batchnorm2(torch.relu(self.dropout(self.fc2(h))))
        return self.fc3(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 1, C) -> (N, 2)
        preds = []
        for n in range(x.shape[0]):
            self._push(x[n])
            if self.data_buffer.shape[0] <= WINDOW:
                preds.append(torch.zeros(1, 2))
                continue
            self.data_buffer = self.data_buffer[1:]
            preds.append(self.one_sample(self.data_buffer.sum(0)))
        return torch.cat(preds)


class NBStyleANN3D(_BufferedMixin, nn.Module):
    def __init__(self, input_dim: int):
        super().__init__()
        self.fc1 = nn.Linear(input_dim * STEPS, 32)
        self.fc2 = nn.Linear(32, 48)
        self.fc3 = nn.Linear(48, 2)
        self.dropout = nn.Dropout(0.5)
        self.batchnorm1 = nn.BatchNorm1d(32)
        self.batchnorm2 = nn.BatchNorm1d(48)
        self.register_buffer("data_buffer", torch.zeros(1, input_dim), persistent=False)

    def one_sample(self, acc: torch.Tensor) -> torch.Tensor:  # acc (7, C) -> (1, 2)
        flat = acc.permute(1, 0).contiguous().view(1, -1)  # channel-major
        h = self.batchnorm1(torch.relu(self.fc1(flat)))
        h = self.batchnorm2(torch.relu(self.dropout(self.fc2(h))))
        return self.fc3(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 1, C) -> (N, 2)
        preds = []
        for n in range(x.shape[0]):
            self._push(x[n])
            if self.data_buffer.shape[0] > WINDOW:
                self.data_buffer = self.data_buffer[1:]
            preds.append(self.one_sample(self._seven_windows()))
        return torch.cat(preds)


class NBStyleSNN3D(_BufferedMixin, nn.Module):
    """Neurons with ``init_hidden=True``: membranes live in the neurons, reset per prediction."""

    def __init__(self, input_dim: int):
        super().__init__()
        self.fc1 = nn.Linear(input_dim, 32)
        self.fc2 = nn.Linear(32, 48)
        self.fc3 = nn.Linear(48, 2)
        self.dropout = nn.Dropout(0.5)
        self.norm_layer = nn.LayerNorm([STEPS, input_dim])
        kw = dict(beta=0.5, threshold=0.5, spike_grad=surrogate.atan(alpha=2), init_hidden=True)
        self.lif1 = snn.Leaky(**kw)
        self.lif2 = snn.Leaky(**kw)
        self.lif3 = snn.Leaky(**kw, reset_mechanism="none")
        self.v_x = nn.Parameter(torch.zeros(1))
        self.v_y = nn.Parameter(torch.zeros(1))
        self.register_buffer("data_buffer", torch.zeros(1, input_dim), persistent=False)

    def one_sample(self, acc: torch.Tensor) -> torch.Tensor:  # acc (7, C) -> (1, 2)
        h = self.norm_layer(acc)
        for lif in (self.lif1, self.lif2, self.lif3):
            lif.reset_mem()  # what Leaky.reset_hidden does to each neuron layer
        for k in range(STEPS):
            spk1 = self.lif1(self.dropout(self.fc1(h[k])))
            spk2 = self.lif2(self.fc2(spk1))
            self.lif3(self.fc3(spk2))
        mem = self.lif3.mem.clone()
        return torch.stack((self.v_x * mem[0], self.v_y * mem[1]), 0).permute(1, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 1, C) -> (N, 2)
        preds = []
        for n in range(x.shape[0]):
            self._push(x[n])
            if self.data_buffer.shape[0] > WINDOW:
                self.data_buffer = self.data_buffer[1:]
            preds.append(self.one_sample(self._seven_windows()))
        return torch.cat(preds)


class NBStyleSNNStreaming(nn.Module):
    """Membranes kept on self across calls; ``reset()`` before a stream."""

    def __init__(self, input_dim: int):
        super().__init__()
        self.fc1 = nn.Linear(input_dim, 50, bias=False)
        self.fc_out = nn.Linear(50, 2, bias=False)
        kw = dict(beta=0.96, threshold=1, spike_grad=surrogate.fast_sigmoid(slope=20))
        self.lif1 = snn.Leaky(**kw, reset_mechanism="zero")
        self.lif_out = snn.Leaky(**kw, reset_mechanism="none")
        self.dropout = nn.Dropout(0.3)
        self.mem1 = self.mem2 = None

    def reset(self) -> None:
        self.mem1 = self.lif1.init_leaky()
        self.mem2 = self.lif_out.init_leaky()

    def one_sample(self, x: torch.Tensor) -> torch.Tensor:  # x (1, C) -> (2,)
        spk1, self.mem1 = self.lif1(self.dropout(self.fc1(x.squeeze())), self.mem1)
        _, self.mem2 = self.lif_out(self.fc_out(spk1), self.mem2)
        return self.mem2.clone()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 1, C) -> (N, 2)
        return torch.stack([self.one_sample(x[n]) for n in range(x.shape[0])])


REFERENCES = {
    "ann2d": NBStyleANN2D,
    "ann3d": NBStyleANN3D,
    "snn3d": NBStyleSNN3D,
    "snn-streaming": NBStyleSNNStreaming,
}


@torch.no_grad()
def reference_outputs(name: str, state: dict, stream: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Outputs (T, 2) of the NeuroBench-style model ``name`` with ``state`` on a (T, C) stream,
    fed in time-ordered batches of (batch_size, 1, C) as NeuroBench's DataLoader does."""
    model = REFERENCES[name](stream.shape[1])
    model.load_state_dict(state, strict=True)
    model.eval()
    if hasattr(model, "reset"):
        model.reset()
    x = stream.unsqueeze(1)  # (T, 1, C)
    return torch.cat([model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def start_aligned_windows(stream: torch.Tensor, index: int) -> torch.Tensor:
    """The (7, C) windows NeuroBench's ANN3D/SNN3D cut at sample ``index`` of a stream before
    their buffer is full: rows [7k, 7k+7) of [zero row, sample 0, ..., sample index]."""
    buf = torch.cat([torch.zeros(1, stream.shape[1]), stream[: index + 1]])[-WINDOW:]
    return torch.stack([buf[STEP * k:STEP * k + STEP].sum(0) for k in range(STEPS)])
