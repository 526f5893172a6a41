"""Export: every registered entry either round-trips through NIR / ONNX within 1e-5 on a short
stream, or is refused with what is missing and nothing written. Parametrised over the registry,
so a new entry is covered the day it is added."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench import registry
from bench.deploy import export as ex
from bench.windows import window_sums

pytest.importorskip("onnxruntime")
pytest.importorskip("nirtorch")

registry.discover()
ENTRIES = [e.name for e in registry.entries()]
C = 12


def _model_and_inputs(name: str):
    entry = registry.get(name)
    cfg = entry.make_config(quick=True)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    if entry.task == "reaching":
        model = entry.build(C, 2, cfg).eval()
        stream = (rng.random((300, C)) < 0.25).astype(np.float32)
        inputs = stream if entry.streaming else window_sums(stream, entry.windows_for(cfg))
    else:
        model = entry.build(C, 3, cfg).eval()
        inputs = rng.poisson(1.0, (120, 12, C)).astype(np.float32)
    return entry, model, torch.from_numpy(np.ascontiguousarray(inputs))


@pytest.mark.parametrize("fmt", ex.FORMATS)
@pytest.mark.parametrize("name", ENTRIES)
def test_every_entry_round_trips_or_says_what_is_missing(name, fmt, tmp_path):
    entry, model, inputs = _model_and_inputs(name)
    try:
        report = ex.export_verified(model, entry, fmt, inputs, tmp_path / name)
    except ex.ExportUnsupported as exc:
        assert exc.missing and all(isinstance(m, str) and m for m in exc.missing)
        assert list(tmp_path.iterdir()) == []  # nothing written, not even a temp file
        return
    assert report["max_abs_diff"] <= 1e-5 and report["n_samples"] == len(inputs)
    assert (tmp_path / f"{name}.{fmt}").is_file() and (tmp_path / f"{name}.{fmt}.json").is_file()


# every float32 model of the project exports to ONNX (a refusal there is a regression, as when a
# numpy fast path hid SNN3D's forward from the tracer); NIR for the streaming spiking baseline
PROMISED = [("snn-streaming", "nir")] + [(n, "onnx") for n in ENTRIES]


@pytest.mark.parametrize("name,fmt", PROMISED)
def test_the_promised_exports_work(name, fmt, tmp_path):
    entry, model, inputs = _model_and_inputs(name)
    assert ex.export_verified(model, entry, fmt, inputs, tmp_path / name)["max_abs_diff"] <= 1e-5


def test_nir_file_of_snn_streaming_has_lif_then_membrane_readout(tmp_path):
    import nir

    entry, model, inputs = _model_and_inputs("snn-streaming")
    ex.export_verified(model, entry, "nir", inputs, tmp_path / "snn")
    g = nir.read(str(tmp_path / "snn.nir"))
    kinds = {k: type(v).__name__ for k, v in g.nodes.items()}
    assert kinds == {"input": "Input", "fc1": "Linear", "lif1": "LIF", "fc_out": "Linear", "lif_out": "LI", "output": "Output"}
    assert g.metadata["dt"] == pytest.approx(0.004)
    assert np.allclose(g.nodes["lif1"].tau, 0.004 / (1 - 0.96))


def test_snn3d_and_gru_name_what_nir_lacks(tmp_path):
    for name, needles in [("snn3d", ["LayerNorm", "subtraction", "v_x"]), ("gru", ["GRUCell"])]:
        entry, model, inputs = _model_and_inputs(name)
        with pytest.raises(ex.ExportUnsupported) as info:
            ex.export_verified(model, entry, "nir", inputs, tmp_path / name)
        text = " ".join(info.value.missing)
        assert all(n in text for n in needles), text


def test_a_file_that_differs_is_not_kept(tmp_path, monkeypatch):
    entry, model, inputs = _model_and_inputs("ann2d")
    real = ex.run_onnx
    monkeypatch.setattr(ex, "run_onnx", lambda *a, **k: real(*a, **k) + 1e-3)
    with pytest.raises(ex.RoundTripError, match="round trip failed"):
        ex.export_verified(model, entry, "onnx", inputs, tmp_path / "ann2d")
    assert list(tmp_path.iterdir()) == []
