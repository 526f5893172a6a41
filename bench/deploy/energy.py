"""Energy ESTIMATE per prediction and per second of decoding, from NeuroBench's operation counts.

    E = effective MACs * e_MAC + effective ACs * e_AC (+ membrane updates * e_neuron, spiking entries)

Per-operation energies come from a named table (REFERENCE.md section 9: Horowitz, ISSCC 2014,
45 nm, 0.9 V). A MAC is one multiply plus one add; an AC is one add; a membrane update of a
leaky neuron (v <- beta * v + I, then the threshold compare) is one multiply and two adds.

What the estimate ignores, and says so in every record: memory traffic (weight and state reads,
about 10 pJ per 64-bit read from an 8 KB SRAM at 45 nm), activation functions, normalisation,
window sums and data movement. Operation counts are NeuroBench's SynapticOperations (effective
MACs and ACs per prediction) and MembraneUpdates (per prediction); a failed or missing count is
an error, never an energy of 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.deploy.latency import STEP_S


@dataclass(frozen=True)
class OpTable:
    name: str
    description: str
    mult_pj: float
    add_pj: float

    @property
    def mac_pj(self) -> float:
        return self.mult_pj + self.add_pj

    @property
    def ac_pj(self) -> float:
        return self.add_pj

    @property
    def neuron_pj(self) -> float:
        return self.mult_pj + 2 * self.add_pj

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "mac_pj": self.mac_pj,
            "ac_pj": self.ac_pj,
            "neuron_update_pj": self.neuron_pj,
            "source": "Horowitz, ISSCC 2014 (45 nm, 0.9 V), as in REFERENCE.md section 9",
        }


TABLES = {
    t.name: t
    for t in (
        OpTable("45nm-fp32", "32-bit float: multiply 3.7 pJ, add 0.9 pJ", 3.7, 0.9),
        OpTable("45nm-fp16", "16-bit float: multiply 1.1 pJ, add 0.4 pJ", 1.1, 0.4),
        OpTable("45nm-int32", "32-bit integer: multiply 3.1 pJ, add 0.1 pJ", 3.1, 0.1),
        OpTable("45nm-int8", "8-bit integer: multiply 0.2 pJ, add 0.03 pJ", 0.2, 0.03),
    )
}
DEFAULT_TABLE = "45nm-fp32"
IGNORES = "memory traffic (about 10 pJ per 64-bit SRAM read at 45 nm), activation functions, normalisation and window sums are not counted"


class EnergyError(ValueError):
    """The operation counts needed for the estimate are missing or failed."""


def table_for(variant: str, model=None) -> str:
    """Default table of a variant: int8 for 8-bit weights (``model.quantization_summary`` or a
    name like ``q8`` / ``pruned-q8``), fp16 for half-precision variants, else fp32."""
    summary = getattr(model, "quantization_summary", None) if model is not None else None
    if isinstance(summary, dict):
        if summary.get("format") == "fp16":
            return "45nm-fp16"
        if summary.get("bits") == 8:
            return "45nm-int8"
    parts = variant.lower().split("-")
    if "q8" in parts or "int8" in parts:
        return "45nm-int8"
    if "fp16" in parts or "half" in parts:
        return "45nm-fp16"
    return DEFAULT_TABLE


def _count(metrics: dict, errors: dict, name: str, key: str | None = None) -> float:
    if name in errors:
        raise EnergyError(f"{name} failed, so there is no energy estimate: {str(errors[name]).strip().splitlines()[-1][:200]}")
    if name not in metrics:
        raise EnergyError(f"{name} was not measured, so there is no energy estimate")
    value = metrics[name]
    if key is not None:
        if not isinstance(value, dict) or key not in value:
            raise EnergyError(f"{name} has no {key!r} count (got {value!r}): no energy estimate")
        value = value[key]
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value or value < 0:
        raise EnergyError(f"{name}{'.' + key if key else ''} is not a count ({value!r}): no energy estimate")
    return float(value)


def estimate(metrics: dict, task: str, spiking: bool, table: str = DEFAULT_TABLE, errors: dict | None = None) -> dict:
    """The energy estimate of one result's operation counts (per prediction and per second).

    Raises ``EnergyError`` when a needed count failed or is missing (spiking entries need
    MembraneUpdates too)."""
    if table not in TABLES:
        raise EnergyError(f"unknown energy table {table!r}; known: {sorted(TABLES)}")
    if task not in STEP_S:
        raise EnergyError(f"no prediction rate for task {task!r}")
    errors = errors or {}
    t = TABLES[table]
    macs = _count(metrics, errors, "SynapticOperations", "Effective_MACs")
    acs = _count(metrics, errors, "SynapticOperations", "Effective_ACs")
    updates = _count(metrics, errors, "MembraneUpdates") if spiking else 0.0
    parts_pj = {"macs": macs * t.mac_pj, "acs": acs * t.ac_pj, "neuron_updates": updates * t.neuron_pj}
    per_pred_pj = sum(parts_pj.values())
    rate = 1.0 / STEP_S[task]
    return {
        "estimate": True,
        "table": t.as_dict(),
        "counts_per_prediction": {"effective_macs": macs, "effective_acs": acs, "membrane_updates": updates if spiking else None},
        "parts_nj": {k: v / 1e3 for k, v in parts_pj.items()},
        "per_prediction_nj": per_pred_pj / 1e3,
        "predictions_per_s": rate,
        "per_second_uj": per_pred_pj * rate / 1e6,
        "ignores": IGNORES,
        "label": f"energy estimate ({t.name}, compute only)",
    }
