import dataclasses
import textwrap
from pathlib import Path

import pytest

from bench import registry
from bench.registry import Entry, RegistryError, Variant
from bench.windows import Windows


@dataclasses.dataclass
class Cfg:
    epochs: int = 3


def entry(name="x", **kw):
    base = dict(name=name, task="reaching", kind="submission", version="1", build=lambda *a: None, train=lambda *a: {}, config=Cfg(), windows=Windows())
    base.update(kw)
    return Entry(**base)


@pytest.fixture
def clean_registry():
    registry._reset_for_tests()  # conftest restores the discovered registry afterwards
    yield


def test_every_repo_module_registers():
    found = registry.discover()
    expected = {"ann2d", "ann3d", "snn3d", "snn-streaming", "aegru", "gru", "bilstm-grasp", "bilstm-grasp-phase"}
    assert expected <= set(found), sorted(expected - set(found))
    for e in found.values():
        assert Path(e.source).parent.name in ("baselines", "submissions"), e.source


def test_invalid_entries_are_refused(clean_registry):
    with pytest.raises(RegistryError, match="task"):
        registry.register(entry(task="nope"))
    with pytest.raises(RegistryError, match="quick overrides unknown"):
        registry.register(entry(quick={"epoch": 1}))
    with pytest.raises(RegistryError, match="windows"):
        registry.register(entry(windows=None))
    with pytest.raises(RegistryError, match="reserved"):
        registry.register(entry(variants=(Variant("base", lambda m, d, c: m),)))


def test_duplicates_and_broken_modules_name_the_file(clean_registry, tmp_path):
    (tmp_path / "a.py").write_text(textwrap.dedent("""
        import dataclasses
        from bench.registry import Entry, register
        from bench.windows import Windows
        @dataclasses.dataclass
        class C:
            e: int = 1
        register(Entry(name="dup", task="reaching", kind="submission", version="1", build=print, train=print, config=C(), windows=Windows()))
    """))
    (tmp_path / "b.py").write_text((tmp_path / "a.py").read_text())
    with pytest.raises(RegistryError, match=r"b\.py: duplicate entry name 'dup'.*a\.py"):
        registry.discover(packages=(), extra_dirs=[tmp_path])
    registry._reset_for_tests()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.py").write_text("import not_a_module_anywhere\n")
    with pytest.raises(RegistryError, match=r"broken\.py: failed to import"):
        registry.discover(packages=(), extra_dirs=[bad])
    (bad / "_private.py").write_text("raise SystemExit")  # skipped: leading underscore


def test_near_match_suggestions_and_resolve(clean_registry):
    registry.register(entry("aegru", variants=(Variant("pruned", lambda m, d, c: m),)))
    registry.register(entry("gru"))
    with pytest.raises(RegistryError, match="did you mean aegru"):
        registry.get("aegr")
    rows = registry.resolve(["aegru-pruned", "gru"])
    assert [(e.name, v) for e, v in rows] == [("aegru", ["pruned"]), ("gru", ["base"])]
    assert registry.resolve(["aegru"])[0][1] == ["base", "pruned"]
    assert registry.resolve(["aegru:base"])[0][1] == ["base"]
    with pytest.raises(RegistryError, match="did you mean"):
        registry.resolve(["aegru-prund"])
    e = registry.get("aegru")
    assert e.make_config(quick=False).epochs == 3 and e.row_id("pruned") == "aegru-pruned"
