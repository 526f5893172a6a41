"""Checkpoints: saved beside a result, loaded with weights_only, rebuilt exactly, refused when
they belong to another run or are not bench checkpoints."""

from __future__ import annotations

import pickle

import pytest
import torch

from bench import registry
from bench.deploy import checkpoints as ck

IDENT = {"entry": "aegru", "recording": "sim_indy_1", "seed": 0, "config_hash": "abc123"}


def _model(name="aegru"):
    entry = registry.get(name)
    cfg = entry.make_config(quick=True, hidden=16)
    torch.manual_seed(3)
    return entry, cfg, entry.build(12, 2, cfg).eval()


def test_checkpoint_path_is_beside_the_result(tmp_path):
    assert ck.checkpoint_path(tmp_path / "seed0.json") == tmp_path / "seed0.ckpt.pt"


def test_save_load_round_trip_is_exact(tmp_path):
    entry, cfg, model = _model()
    with torch.no_grad():
        model.bn.running_mean.add_(0.5)  # buffers travel too
    model.quantization_summary = {"bits": 8, "frac_bits": 7, "tensors": ["encoder.weight"]}
    path = ck.save(tmp_path / "seed0.ckpt.pt", model, entry=entry, variant="pruned-q8", cfg=cfg, n_inputs=12, n_outputs=2, identity=IDENT)
    payload = torch.load(path, weights_only=True)  # no code is unpickled
    assert payload["format"] == "bench-checkpoint"
    loaded, meta = ck.load(path, entry, identity=IDENT)
    assert meta["variant"] == "pruned-q8" and meta["config"]["hidden"] == 16 and meta["row"] == "aegru-pruned-q8"
    assert loaded.quantization_summary == model.quantization_summary
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    x = torch.randn(5, 5, 12)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))


def test_another_runs_checkpoint_is_refused(tmp_path):
    entry, cfg, model = _model()
    path = ck.save(tmp_path / "c.ckpt.pt", model, entry=entry, variant="base", cfg=cfg, n_inputs=12, n_outputs=2, identity=IDENT)
    with pytest.raises(ck.CheckpointError, match="seed: checkpoint 0 != result 1"):
        ck.load(path, entry, identity=IDENT | {"seed": 1})
    with pytest.raises(ck.CheckpointError, match="not 'gru'"):
        ck.load(path, registry.get("gru"))


def test_foreign_and_missing_files_are_clear_errors(tmp_path):
    entry, _, _ = _model()
    with pytest.raises(ck.CheckpointError, match="no checkpoint"):
        ck.read(tmp_path / "none.ckpt.pt")
    evil = tmp_path / "evil.ckpt.pt"

    class Boom:
        def __reduce__(self):
            return (print, ("code ran",))

    evil.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ck.CheckpointError, match="not a loadable checkpoint"):
        ck.read(evil)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(ck.CheckpointError, match="not a bench checkpoint"):
        ck.read(other)


def test_state_that_does_not_fit_is_refused(tmp_path):
    entry, cfg, model = _model()
    path = ck.save(tmp_path / "c.ckpt.pt", model, entry=entry, variant="base", cfg=cfg, n_inputs=12, n_outputs=2, identity=IDENT)
    state, meta = ck.read(path)
    state.pop("readout.weight")
    torch.save({"format": "bench-checkpoint", "version": 1, "state_dict": state, "meta_json": __import__("json").dumps(meta)}, path)
    with pytest.raises(ck.CheckpointError, match="does not fit"):
        ck.load(path, entry)


def test_runs_store_deployment_and_checkpoint_and_evaluate_reproduces_them(tmp_path, capsys):
    """The runner's one deployment call and checkpoint, end to end, then `evaluate --from-results`."""
    import argparse
    import json

    from bench.data.matfile import write_reaching_mat
    from bench.data.recording import RecordingRef
    from bench.data.synth_reaching import SynthConfig, generate
    from bench.deploy.commands import cmd_evaluate
    from bench.execution import RunSpec, execute

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    mat = data_dir / "sim_ckpt.mat"
    write_reaching_mat(mat, generate(SynthConfig(name="sim_ckpt", n_channels=32, duration_s=60.0, seed=5)))
    ref = RecordingRef("sim_ckpt", mat, True)
    for name in ("ann2d", "snn-streaming"):
        out = execute(RunSpec(registry.get(name), ["base"], ref, seed=0, quick=True, tag="quick"), tmp_path / "store")
        assert out.status == "ok", out.message
        record = json.loads(out.paths[0].read_text())
        dep = record["deployment"]
        assert dep["errors"] == {}, dep["errors"]
        assert dep["latency"]["proof"]["max_abs_diff"] <= 1e-5 and dep["latency"]["n_timed"] >= 1
        assert dep["energy"]["estimate"] and dep["energy"]["table"]["name"] == "45nm-fp32"
        assert dep["storage"]["bytes"] > 0
        assert dep["export"]["onnx"]["verified"] and dep["export"]["onnx"]["max_abs_diff"] <= 1e-5
        nir = dep["export"]["nir"]  # snn-streaming goes to NIR; ann2d names what NIR lacks
        assert nir["verified"] if name == "snn-streaming" else ("ReLU" in " ".join(nir["missing"]))
        assert ck.checkpoint_path(out.paths[0]).is_file()
        args = argparse.Namespace(name=name, recording="sim_ckpt", seed=0, tag="quick", results=tmp_path / "store", data_dir=data_dir, from_results=True)
        assert cmd_evaluate(args) == 0, capsys.readouterr()
        assert "reproduced exactly" in capsys.readouterr().out
