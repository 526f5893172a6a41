"""The copy-me template in submissions/README.md must work as printed."""

import re
from pathlib import Path

from bench import registry
from bench.tasks.reaching import ReachingData, evaluate_reaching
from bench.training import set_seed

README = Path(__file__).resolve().parent.parent / "submissions" / "README.md"


def test_template_registers_trains_and_scores(tmp_path, tiny_recording):
    code = re.search(r"## Template.*?```python\n(.*?)```", README.read_text(), re.S).group(1)
    (tmp_path / "my_decoder.py").write_text(code)
    registry.discover(packages=(), extra_dirs=[tmp_path])
    entry = registry.get("my-decoder")
    cfg = entry.make_config(quick=True)
    set_seed(0)
    data = ReachingData(tiny_recording, entry.windows_for(cfg))
    model = entry.build(data.n_inputs, data.n_outputs, cfg)
    report = entry.train(model, data, cfg)
    assert report["epochs_run"] == 2
    out = evaluate_reaching(model, data, entry)
    assert not out.metric_errors and out.metrics["R2"] > 0.1
