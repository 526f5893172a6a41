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


def test_names_must_be_plain_words(clean_registry):
    for bad in ("tiny reach", "a/b", ".hidden", "", "x\n"):
        with pytest.raises(RegistryError, match="must be a word"):
            registry.register(entry(bad))
    with pytest.raises(RegistryError, match="variant name 'half rate' must be a word"):
        registry.register(entry(variants=(Variant("half rate", lambda m, d, c: m),)))
    with pytest.raises(RegistryError, match="published_transform is not callable"):
        registry.register(entry(published_transform="float16"))


def test_one_module_loader_with_deterministic_names(clean_registry, tmp_path):
    """User modules are named from the md5 of their path (the same in every process; never
    hash(), which Python randomises), and load_entry re-imports a file after a reset."""
    import subprocess
    import sys

    (tmp_path / "mine.py").write_text(textwrap.dedent("""
        import dataclasses
        from bench.registry import Entry, register
        from bench.windows import Windows
        @dataclasses.dataclass
        class C:
            e: int = 1
        register(Entry(name="mine", task="reaching", kind="submission", version="1", build=print, train=print, config=C(), windows=Windows()))
    """))
    name = registry.user_module_name(tmp_path / "mine.py")
    code = f"from bench.registry import user_module_name; print(user_module_name({str(tmp_path / 'mine.py')!r}))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env={"PYTHONHASHSEED": "123", "PATH": ""})
    assert other.stdout.strip() == name and name.endswith("_mine")
    assert registry.load_entry("mine", tmp_path / "mine.py").name == "mine"
    assert name in sys.modules
    registry._reset_for_tests()
    assert registry.load_entry("mine", tmp_path / "mine.py").name == "mine"  # runs the file again
    (tmp_path / "exits.py").write_text("import sys\nsys.exit(1)\n")
    with pytest.raises(RegistryError, match=r"exits\.py: failed to import: SystemExit"):
        registry.discover(packages=(), extra_dirs=[tmp_path])
