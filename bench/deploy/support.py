"""The export support table: which registered entry goes to which format, and what is missing.

Each registered entry (base variant; variants share its graph) is built untrained in its quick
configuration on 12 input channels, exported to NIR and to ONNX into a temporary folder and
proved on a short synthetic stream (300 samples of 4 ms, 25 % spikes; grasp: 120 windows of
Poisson counts), exactly as ``python -m bench export`` proves a trained model. A row is
"yes" with the round trip's max |difference|, or "no" with what the format lacks.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from bench.deploy import export as ex
from bench.windows import window_sums

N_CHANNELS = 12


def probe_inputs(entry, cfg, rng: np.random.Generator) -> torch.Tensor:
    if entry.task == "reaching":
        stream = (rng.random((300, N_CHANNELS)) < 0.25).astype(np.float32)
        x = stream if entry.streaming else window_sums(stream, entry.windows_for(cfg))
    else:
        x = rng.poisson(1.0, (120, 12, N_CHANNELS)).astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(x))


def probe(entry, fmt: str, folder: Path) -> dict:
    """Export an untrained ``entry`` to ``fmt`` and prove it; the row of the support table."""
    cfg = entry.make_config(quick=True)
    torch.manual_seed(0)
    model = entry.build(N_CHANNELS, 2 if entry.task == "reaching" else 3, cfg).eval()
    inputs = probe_inputs(entry, cfg, np.random.default_rng(0))
    try:
        report = ex.export_verified(model, entry, fmt, inputs, folder / f"{entry.name}")
    except ex.ExportUnsupported as exc:
        return {"entry": entry.name, "format": fmt, "supported": False, "missing": exc.missing}
    except ex.RoundTripError as exc:
        return {"entry": entry.name, "format": fmt, "supported": False, "missing": [f"round trip failed: {exc}"]}
    return {"entry": entry.name, "format": fmt, "supported": True, "max_abs_diff": report["max_abs_diff"], "n_samples": report["n_samples"]}


def support_table(entries) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for entry in entries:
            for fmt in ex.FORMATS:
                rows.append(probe(entry, fmt, Path(tmp)))
    return rows


def markdown(rows: list[dict]) -> str:
    out = ["| entry | format | exports | round trip max abs diff / what is missing |", "|---|---|---|---|"]
    for r in rows:
        if r["supported"]:
            out.append(f"| {r['entry']} | {r['format'].upper()} | yes | {r['max_abs_diff']:.2g} on {r['n_samples']} samples |")
        else:
            out.append(f"| {r['entry']} | {r['format'].upper()} | no | {'; '.join(r['missing'])} |")
    return "\n".join(out)
