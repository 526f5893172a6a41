"""Evaluation speed (issue 12, goal 4), both sides measured in one run, metrics compared.

1. ANN2D with NeuroBench's published weights (indy_20160622_01, 96 channels) on the test split
   of a full-length synthetic session (2,450 s; ``python -m bench data synth --scale full --out
   /tmp/synth-full --names sim_indy_1``):
   - NeuroBench's own example pipeline, as its benchmark_2d_ann.py runs it: PrimateReaching
     (num_steps=1, train_ratio=0.5, bin_width=0.004), DataLoader(Subset(test), batch_size=256),
     Benchmark(TorchModel(example ANN2D)) with Footprint, ConnectionSparsity, R2,
     ActivationSparsity, SynapticOperations (the example model: tests/neurobench_reference.py);
   - bench: the reaching reader and ``TASK.evaluate`` (vectorised windows, 256-sample batches).
   Every metric must agree to 1e-6 relative. Ratios: evaluation alone, and load + evaluation.
2. The BiLSTM grasp decoders (untrained, seed 0: speed does not depend on the weights) on a
   default synthetic grasp session: bench's evaluation (``window_pass``), the hooked pass
   through NeuroBench's Benchmark (``fast=False``), and the evaluation as it was before issue 12
   (NeuroBench's own SynapticOperations on the batched cells, the gate hook, a second
   prediction pass). Metrics must be identical.

Run: .venv/bin/python benchmarks/bench_eval_speed.py [--file PATH.mat] [--grasp sim_m_1]
     [--skip-reaching] [--skip-grasp]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.neurobench_reference: NeuroBench's example models

from bench import registry  # noqa: E402
from bench.tasks import get_task  # noqa: E402

SESSION = "indy_20160622_01"


def flat(metrics: dict) -> dict:
    out = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def compare(theirs: dict, ours: dict, rel: float) -> bool:
    ok = True
    for key in sorted(theirs):
        a, b = theirs[key], ours.get(key)
        diff = abs(a - b) / max(abs(a), 1e-12) if isinstance(b, (int, float)) else math.inf
        ok &= diff <= rel
        print(f"  {key:34s} theirs {a!r:24} bench {b!r:24} rel. diff {diff:.1e}")
    return ok


def reaching(path: Path) -> None:
    from neurobench.benchmarks import Benchmark
    from neurobench.datasets import PrimateReaching
    from neurobench.metrics.static import ConnectionSparsity, Footprint
    from neurobench.metrics.workload import R2, ActivationSparsity, SynapticOperations
    from neurobench.models import TorchModel

    from baselines._common import load_published
    from bench.data.reaching import load_reaching
    from tests.neurobench_reference import example_model

    entry = registry.get("ann2d")
    task = get_task("reaching")
    state = load_published("ann2d", SESSION)
    print(f"== ANN2D, published weights ({SESSION}), test split of {path}")

    t0 = time.perf_counter()
    rec = load_reaching(path, cache=False)
    t_load = time.perf_counter() - t0
    model = entry.build(rec.n_channels, 2, entry.config)
    model.load_state_dict(state, strict=True)
    data = task.make_data(rec, entry, entry.config, seed=0, quick=False)
    t0 = time.perf_counter()
    ours = task.evaluate(model, data, entry)
    t_eval = time.perf_counter() - t0
    n = ours.extra["n_test"]
    print(f"bench: load {t_load:.2f} s, evaluate {t_eval:.2f} s ({n} test samples, {n * 0.004:.0f} s of recording)")

    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        ds = PrimateReaching(file_path=str(path.parent), filename=path.name, num_steps=1, train_ratio=0.5,
                             bin_width=0.004, biological_delay=0, remove_segments_inactive=False, download=False)
    t_nb_load = time.perf_counter() - t0
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(ds, ds.ind_test), batch_size=256, shuffle=False)
    nb_model = TorchModel(example_model("ann2d", state, rec.n_channels))
    nb = Benchmark(nb_model, loader, [], [], [[Footprint, ConnectionSparsity], [R2, ActivationSparsity, SynapticOperations]])
    t0 = time.perf_counter()
    with torch.no_grad():
        theirs = nb.run(quiet=True)
    t_nb_eval = time.perf_counter() - t0
    nb_model.cleanup_hooks()
    print(f"NeuroBench example pipeline: PrimateReaching {t_nb_load:.2f} s, Benchmark.run {t_nb_eval:.2f} s ({len(ds.ind_test)} test samples)")
    same = compare(flat(theirs), flat(ours.metrics), 1e-6)
    print(f"all metrics equal (1e-6 relative): {same}; R2 NeuroBench {theirs['R2']!r} bench {ours.metrics['R2']!r}")
    print(f"speed-up, evaluation: {t_nb_eval / t_eval:.0f}x; load + evaluation: {(t_nb_load + t_nb_eval) / (t_load + t_eval):.0f}x")


def pre_issue_grasp_evaluation(net: torch.nn.Module, data) -> dict:
    """Grasp evaluation as it ran before issue 12: NeuroBench's SynapticOperations on the batched
    cells (batches of 1024), the gate hook, then a second prediction pass for the accuracy."""
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.static import ConnectionSparsity, Footprint, ParameterCount
    from neurobench.metrics.workload import ClassificationAccuracy, SynapticOperations
    from neurobench.models import TorchModel

    from bench.evaluation import CellGateSparsity
    from bench.tasks.grasp import _collate

    gates = CellGateSparsity(net)
    model = TorchModel(net)
    loader = torch.utils.data.DataLoader(data.dataset("test"), batch_size=1024, shuffle=False, collate_fn=_collate)
    nb = Benchmark(model, loader, [], [lambda out: out.argmax(-1)], [[Footprint, ConnectionSparsity, ParameterCount], [ClassificationAccuracy, SynapticOperations]])
    with torch.no_grad():
        results = nb.run(quiet=True)
    model.cleanup_hooks()
    gates.close()
    results["ActivationSparsity"] = gates.value()
    accuracy = float((data.predict(net, "test") == data.y("test")).float().mean())  # the second pass
    results["Accuracy"] = results.pop("ClassificationAccuracy")
    assert abs(accuracy - results["Accuracy"]) < 1e-6
    return results


def grasp(recording: str) -> None:
    from bench.tasks.grasp import evaluate_grasp
    from bench.training import set_seed

    for name in ("bilstm-grasp", "bilstm-grasp-phase"):
        entry = registry.get(name)
        task = get_task(entry.task)
        data = task.make_data(task.load(task.recordings([recording])[0]), entry, entry.config, seed=0, quick=False)
        set_seed(0)
        net = entry.build(data.n_inputs, data.n_outputs, entry.config).eval()
        print(f"== {name} on {recording}: {data.size('test')} test windows x {data.gset.window} bins x {data.n_inputs} units")
        times, outs = {}, {}
        for label in ("bench (window_pass)", "hooked NeuroBench pass", "before issue 12"):
            t0 = time.perf_counter()
            if label == "before issue 12":
                out = pre_issue_grasp_evaluation(net, data)
            else:
                out = evaluate_grasp(net, data, entry, fast=label.startswith("bench"))
            times[label] = time.perf_counter() - t0
            outs[label] = flat(out if isinstance(out, dict) else out.metrics)
            print(f"  {label:24s} {times[label]:7.2f} s")
        fast = outs["bench (window_pass)"]
        for label in ("hooked NeuroBench pass", "before issue 12"):
            same = all(fast.get(k) == v for k, v in outs[label].items() if k in fast)
            print(f"  metrics identical to {label}: {same}; speed-up {times[label] / times['bench (window_pass)']:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", type=Path, default=Path("/tmp/synth-full/sim_indy_1.mat"), help="full-length reaching .mat file")
    ap.add_argument("--grasp", default="sim_m_1", help="grasp recording (default synthetic session)")
    ap.add_argument("--skip-reaching", action="store_true")
    ap.add_argument("--skip-grasp", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    registry.discover()
    if not args.skip_reaching:
        if not args.file.is_file():
            sys.exit(f"{args.file} not found: python -m bench data synth --scale full --out {args.file.parent} --names {args.file.stem}")
        reaching(args.file)
    if not args.skip_grasp:
        grasp(args.grasp)


if __name__ == "__main__":
    main()
