"""Export to NIR or ONNX, proved by a round trip: read the file back, run the same inputs, compare.

- ONNX (``torch.onnx``, TorchScript exporter, opset 17; read back with onnxruntime, CPU):
  per-prediction entries export ``forward`` with a dynamic batch axis; the graph takes the
  entry's input as the harness feeds it (reaching: the (B, N, C) windows of ``bench.windows``,
  transform applied; grasp: (B, 12, U) bin counts). Streaming entries export ONE STEP of the
  step protocol, (x_t, state...) -> (y_t, state...), and are proved step by step.
- NIR (``bench.deploy.nir_format``): streaming spiking entries, one step per 4 ms sample.

Every export is written to a temporary file in the output folder and compared with the PyTorch
model on the given inputs; only when max |difference| <= 1e-5 on every sample (float32) is it
renamed to its final name, with a ``.json`` report beside it. A format that cannot express an
entry raises ``ExportUnsupported`` naming what is missing, and nothing is written.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bench.data.io import atomic_write_json
from bench.deploy.steppers import StateStepper, has_step_protocol, stream_outputs

FORMATS = ("nir", "onnx")
TOL = 1e-5
OPSET = 17
# measured with onnxruntime 1.32 (tinyRSNN in float16): why a float16 model is not exported to ONNX
FLOAT16_ONNX = (
    "float16 arithmetic: ONNX Runtime's CPU provider has no float16 kernels for Mul/Add/MatMul; it casts "
    "them to float32 and drops the float16 rounding between consecutive operations, so a float16 graph does "
    "not compute the model's float16 steps (tinyRSNN: synaptic currents differ from step 3, predictions by "
    "0.019 within 300 samples), and a float32 graph of the float16 weights is a float32 model; export the "
    "float32 row instead"
)


class ExportUnsupported(Exception):
    """The format cannot express the entry; ``missing`` says exactly what."""

    def __init__(self, entry: str, fmt: str, missing: list[str]):
        self.entry, self.fmt, self.missing = entry, fmt, missing
        super().__init__(f"{entry} cannot be exported to {fmt.upper()}: " + "; ".join(missing))


class RoundTripError(AssertionError):
    """The file read back does not compute what the PyTorch model computes (file not kept)."""


def default_format(entry) -> str:
    return "nir" if entry.spiking else "onnx"


# --- ONNX ----------------------------------------------------------------------------------------


class _StepGraph(nn.Module):
    """(x_t, *state) -> (y_t, *state): the step protocol as a graph with explicit state."""

    def __init__(self, model: nn.Module, n_state: int):
        super().__init__()
        self.model, self.n_state = model, n_state

    def forward(self, x: torch.Tensor, *state: torch.Tensor):
        y, new = self.model.step(x, tuple(state) if self.n_state > 1 else state[0])
        new = list(new) if isinstance(new, (tuple, list)) else [new]
        return (y, *new)


def _state_list(state) -> list[torch.Tensor]:
    items = list(state) if isinstance(state, (tuple, list)) else [state]
    if not all(isinstance(s, torch.Tensor) for s in items):
        raise TypeError("the step protocol's state must be a tensor or a tuple of tensors for ONNX")
    return items


def write_onnx(model: nn.Module, entry, sample: torch.Tensor, path: Path) -> dict:
    """Export ``model`` (eval) to ``path``; returns the graph's input/output names."""
    model = model.eval()
    if entry.streaming:
        if not has_step_protocol(model):
            raise ExportUnsupported(entry.name, "onnx", ["streaming model without the step protocol (init_state/step): its carried state cannot be made explicit"])
        state = _state_list(model.init_state(1))
        module, args = _StepGraph(model, len(state)), (sample[:1], *state)
        inputs = ["x"] + [f"state{i}" for i in range(len(state))]
        outputs = ["y"] + [f"state{i}_out" for i in range(len(state))]
        dynamic = None
    else:
        module, args = model, (sample,)
        inputs, outputs = ["x"], ["y"]
        dynamic = {"x": {0: "batch"}, "y": {0: "batch"}}
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(module, args, str(path), input_names=inputs, output_names=outputs, dynamic_axes=dynamic, opset_version=OPSET, dynamo=False)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise ExportUnsupported(entry.name, "onnx", [f"torch.onnx could not export {type(model).__name__}: {type(exc).__name__}: {first}"]) from exc
    return {"inputs": inputs, "outputs": outputs}


def run_onnx(path: Path, entry, inputs: torch.Tensor, n_state: int = 0, batch: int = 4096) -> torch.Tensor:
    """Outputs of the ONNX file on ``inputs`` (per-prediction batches, or a (T, C) stream)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    x = inputs.numpy().astype(np.float32)
    if not entry.streaming:
        return torch.from_numpy(np.concatenate([sess.run(["y"], {"x": x[i:i + batch]})[0] for i in range(0, len(x), batch)]))
    feeds = {i.name: np.zeros([d if isinstance(d, int) else 1 for d in i.shape], np.float32) for i in sess.get_inputs() if i.name != "x"}
    outs = []
    names = ["y"] + [f"state{i}_out" for i in range(n_state)]
    for t in range(len(x)):
        res = sess.run(names, {"x": x[t:t + 1], **feeds})
        outs.append(res[0][0])
        feeds = {f"state{i}": res[1 + i] for i in range(n_state)}
    return torch.from_numpy(np.stack(outs))


# --- the proof -----------------------------------------------------------------------------------


@torch.no_grad()
def torch_reference(model: nn.Module, entry, inputs: torch.Tensor, batch: int = 4096) -> torch.Tensor:
    """What the PyTorch model computes on the same inputs: batched forward (per-prediction
    entries) or its own step protocol over the stream (streaming entries, batch 1)."""
    model = model.eval()
    if entry.streaming:
        return stream_outputs(StateStepper(copy.deepcopy(model)), inputs.numpy())
    outs = []
    for i in range(0, len(inputs), batch):
        out = model(inputs[i:i + batch])
        outs.append(out[:, -1] if out.dim() == 3 else out)
    return torch.cat(outs)


def compare(got: torch.Tensor, want: torch.Tensor, tol: float = TOL) -> dict:
    got, want = got.float().reshape(len(got), -1), want.float().reshape(len(want), -1)
    if got.shape != want.shape:
        raise RoundTripError(f"the file's outputs have shape {tuple(got.shape)}, the model's {tuple(want.shape)}")
    diff = (got - want).abs().amax(1)
    worst = int(diff.argmax()) if len(diff) else 0
    report = {"n_samples": int(len(diff)), "max_abs_diff": float(diff.max()) if len(diff) else 0.0, "worst_sample": worst, "tolerance": tol}
    n_bad = int((diff > tol).sum())
    if n_bad:
        raise RoundTripError(f"round trip failed: |file - model| > {tol:g} at {n_bad} of {len(diff)} samples (max {report['max_abs_diff']:.3g} at sample {worst})")
    return report


def test_inputs(entry, data, limit: int | None = None) -> torch.Tensor:
    """The test split as an export is proved on: the (T, C) stream of a streaming entry, else
    the per-prediction inputs, the first ``limit`` of them."""
    if entry.task == "reaching" and entry.streaming:
        x = data.stream("test")[0]
    else:
        x = data.x("test")
    return x[:limit] if limit else x


def verify_all(model: nn.Module, data, entry, limit: int = 300) -> dict:
    """Every format's verified export of ``model`` on the first ``limit`` test inputs, written to a
    temporary folder and dropped: {format: {"verified": True, max_abs_diff, n_samples} |
    {"verified": False, "missing": [...]} | {"verified": False, "error": ...}}."""
    out: dict = {}
    inputs = test_inputs(entry, data, limit)
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        for fmt in FORMATS:
            try:
                rep = export_verified(model, entry, fmt, inputs, Path(tmp) / fmt / entry.name)
                out[fmt] = {"verified": True, "max_abs_diff": rep["max_abs_diff"], "n_samples": rep["n_samples"]}
            except ExportUnsupported as exc:
                out[fmt] = {"verified": False, "missing": list(exc.missing)}
            except Exception as exc:  # a round trip that differs, an exporter that fails: never a file
                out[fmt] = {"verified": False, "error": f"{type(exc).__name__}: {exc}"}
    return out


def export_verified(model: nn.Module, entry, fmt: str, inputs: torch.Tensor, out: Path, provenance: dict | None = None) -> dict:
    """Export ``model`` to ``out`` (a file path, suffix added) in ``fmt`` and prove it on ``inputs``.

    ``inputs``: (n, ...) per-prediction inputs, or a (T, C) stream for streaming entries.
    Returns the report (also written as ``<file>.json``). Raises ExportUnsupported (nothing
    written) or RoundTripError (nothing kept)."""
    from bench.deploy import nir_format

    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; known: {FORMATS}")
    provenance = dict(provenance or {})
    model = copy.deepcopy(model).cpu().eval()
    if entry.streaming and not has_step_protocol(model):
        raise ExportUnsupported(entry.name, fmt, [
            f"{type(model).__name__} is a streaming model without the step protocol (init_state(batch), "
            "step(x_t, state) -> (y_t, state); see bench.deploy.steppers): its state cannot be carried by an exported graph"])
    if fmt == "onnx" and any(p.dtype == torch.float16 for p in model.parameters()):
        raise ExportUnsupported(entry.name, "onnx", [FLOAT16_ONNX])
    if fmt == "nir" and not has_step_protocol(model):
        raise ExportUnsupported(entry.name, "nir", nir_format.scan_modules(model))
    out = Path(out)
    final = out.with_suffix("." + fmt)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        reference = torch_reference(model, entry, inputs)
        if fmt == "onnx":
            sample = inputs[:2] if not entry.streaming else inputs[:1]
            info = write_onnx(model, entry, sample, tmp)
            got = run_onnx(tmp, entry, inputs, n_state=len(info["inputs"]) - 1)
            reader = "onnxruntime " + _version("onnxruntime")
        else:
            try:
                nir_format.write_nir(model, int(inputs.shape[-1]), tmp, provenance)
            except nir_format.NIRUnsupported as exc:
                raise ExportUnsupported(entry.name, "nir", exc.missing) from exc
            _, module = nir_format.read_nir(tmp)
            got = _run_nir(module, inputs)
            reader = "nirtorch " + _version("nirtorch") + " with bench's NIR node modules"
        report = compare(got, reference)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
    report.update({
        "entry": entry.name,
        "format": fmt,
        "file": str(final),
        "bytes": final.stat().st_size,
        "read_back_with": reader,
        "compared_with": "the PyTorch model's step protocol, batch 1" if entry.streaming else "the PyTorch model's batched forward",
        "input": _input_text(entry, fmt),
        "provenance": provenance,
    })
    atomic_write_json(final.with_suffix(final.suffix + ".json"), report)
    return report


@torch.no_grad()
def _run_nir(module: nn.Module, stream: torch.Tensor) -> torch.Tensor:
    state = None
    outs = []
    for t in range(len(stream)):
        y, state = module(stream[t:t + 1], state)
        outs.append(y[0])
    return torch.stack(outs)


def _input_text(entry, fmt: str) -> str:
    if entry.streaming:
        return "one step: x_t (1, C) one 4 ms sample" + (" and the carried state tensors" if fmt == "onnx" else "; state inside the graph, dt = 4 ms")
    if entry.task == "reaching":
        return "(B, N, C) window sums of bench.windows (transform applied), one row per prediction"
    return "(B, T, U) spike counts per bin, one window per prediction"


def _version(pkg: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(pkg)
    except PackageNotFoundError:
        return "?"

