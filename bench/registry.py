"""The one registry behind which baselines and submissions live.

A module in ``baselines/`` or ``submissions/`` calls :func:`register` with an :class:`Entry`.
:func:`discover` imports every module of both packages (sorted, skipping names starting with
``_``); a module that fails to import, a duplicate name or a malformed entry is an error that
names the file. Unknown names get near-match suggestions.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import importlib
import importlib.util
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.windows import Windows

KINDS = ("baseline", "submission")
TASKS = ("reaching", "grasp-object", "grasp-phase")
BASE = "base"


class RegistryError(RuntimeError):
    """A problem with an entry or a module declaring entries (the message names the file)."""


@dataclass(frozen=True)
class Variant:
    """A post-training transform evaluated as its own leaderboard row (e.g. pruned, quantized).

    ``apply(model, data, cfg)`` receives a deep copy of the trained base model and returns the
    variant's model (it may fine-tune it on ``data``).
    """

    name: str
    apply: Callable[..., Any]
    description: str = ""
    # Optional shortcut for chains: ``step`` turns the model of variant ``base`` into this one,
    # so the runner computes a shared stage (e.g. pruning + fine-tuning) once per run.
    base: str | None = None
    step: Callable[..., Any] | None = None


@dataclass(frozen=True)
class Entry:
    """A model family on the leaderboard.

    build(n_inputs, n_outputs, cfg) -> nn.Module   forward: (B, T, n_inputs) -> (B, T, K) or (B, K)
    train(model, data, cfg) -> dict               trains in place; returns a small report
    """

    name: str
    task: str  # one of TASKS
    kind: str  # "baseline" or "submission"
    version: str  # bump when results are no longer comparable
    build: Callable[..., Any]
    train: Callable[..., Any]
    config: Any  # a dataclass instance: the recipe's defaults
    windows: Windows | Callable[[Any], Windows] | None = None  # reaching: Windows, or cfg -> Windows
    streaming: bool = False  # True: one (1, T, C) pass over the whole stream, state carried
    spiking: bool = False  # True: snnTorch neurons count as activations; MembraneUpdates measured
    warmup_zeros: bool = False  # predict 0 until the windows are full (NeuroBench's ANN2D)
    buffer_start: bool = False  # NeuroBench's ANN3D/SNN3D start-of-stream windows (bench.windows)
    quick: dict = field(default_factory=dict)  # config overrides for --quick, CI and tests
    variants: tuple[Variant, ...] = ()
    published_weights: Callable[[str, int], dict] | None = None  # (session name, seed) -> state dict
    # applied to the model after the published state dict is loaded strictly (e.g. cast to float16)
    published_transform: Callable[[Any], Any] | None = None
    display: str = ""  # pretty name for tables, e.g. "ANN2D"
    paper: str = ""
    description: str = ""
    source: str = ""  # file that registered it (filled in by register)

    def variant_names(self) -> list[str]:
        return [BASE] + [v.name for v in self.variants]

    def variant(self, name: str) -> Variant | None:
        for v in self.variants:
            if v.name == name:
                return v
        if name == BASE:
            return None
        raise RegistryError(f"entry {self.name!r} has no variant {name!r}; has {self.variant_names()}")

    def windows_for(self, cfg: Any) -> Windows | None:
        """The entry's input windows under ``cfg`` (a callable lets sweeps vary WS and N)."""
        return self.windows(cfg) if callable(self.windows) else self.windows

    def make_config(self, quick: bool = False, **overrides: Any) -> Any:
        values = dict(self.quick) if quick else {}
        values.update(overrides)
        return dataclasses.replace(self.config, **values) if values else self.config

    def row_id(self, variant: str = BASE) -> str:
        return self.name if variant == BASE else f"{self.name}-{variant}"

    def row_label(self, variant: str = BASE) -> str:
        base = self.display or self.name
        return base if variant == BASE else f"{base} ({variant})"


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_REGISTRY: dict[str, Entry] = {}
_DISCOVERED: set[tuple[str, ...]] = set()
PACKAGES = ("baselines", "submissions")


def _caller_file() -> str:
    for frame in traceback.extract_stack()[::-1]:
        if frame.filename != __file__:
            return frame.filename
    return "?"


def _validate(entry: Entry, source: str) -> None:
    problems = []
    if not isinstance(entry.name, str) or not NAME.fullmatch(entry.name):
        problems.append(f"name {entry.name!r} must be a word of letters, digits, '.', '_' or '-' (it names result folders)")
    if entry.task not in TASKS:
        problems.append(f"task {entry.task!r} not in {TASKS}")
    if entry.kind not in KINDS:
        problems.append(f"kind {entry.kind!r} not in {KINDS}")
    if not entry.version:
        problems.append("version is empty")
    for f in ("build", "train"):
        if not callable(getattr(entry, f)):
            problems.append(f"{f} is not callable")
    if not dataclasses.is_dataclass(entry.config):
        problems.append("config must be a dataclass instance")
    elif entry.quick:
        names = {f.name for f in dataclasses.fields(entry.config)}
        unknown = sorted(set(entry.quick) - names)
        if unknown:
            problems.append(f"quick overrides unknown config fields {unknown}")
    if entry.task == "reaching" and entry.windows is None:
        problems.append("reaching entries need windows=Windows(...)")
    seen = set()
    for v in entry.variants:
        if v.name in seen or v.name == BASE:
            problems.append(f"variant name {v.name!r} repeated or reserved")
        elif not isinstance(v.name, str) or not NAME.fullmatch(v.name):
            problems.append(f"variant name {v.name!r} must be a word of letters, digits, '.', '_' or '-'")
        seen.add(v.name)
    for f in ("published_weights", "published_transform"):
        if getattr(entry, f) is not None and not callable(getattr(entry, f)):
            problems.append(f"{f} is not callable")
    if problems:
        raise RegistryError(f"{source}: invalid entry {entry.name!r}: " + "; ".join(problems))


def register(entry: Entry) -> Entry:
    """Add an entry; refuses duplicates (naming both files) and malformed entries."""
    source = entry.source or _caller_file()
    entry = dataclasses.replace(entry, source=source)
    _validate(entry, source)
    if entry.name in _REGISTRY:
        other = _REGISTRY[entry.name].source
        if Path(other).resolve() != Path(source).resolve():
            raise RegistryError(f"{source}: duplicate entry name {entry.name!r} (already registered by {other})")
    _REGISTRY[entry.name] = entry
    return entry


def discover(packages: Iterable[str] = PACKAGES, extra_dirs: Iterable[Path] = ()) -> dict[str, Entry]:
    """Import every entry module of ``packages`` (and of ``extra_dirs``); return the registry.

    ``$BENCH_SUBMISSIONS_DIRS`` (os.pathsep-separated folders) adds submission folders outside
    the repository, e.g. a user's own models.
    """
    env_dirs = [Path(p) for p in os.environ.get("BENCH_SUBMISSIONS_DIRS", "").split(os.pathsep) if p]
    extra_dirs = [*extra_dirs, *env_dirs]
    for pkg_name in packages:
        key = ("pkg", pkg_name)
        if key in _DISCOVERED:
            continue
        pkg = importlib.import_module(pkg_name)
        for path in sorted(Path(p) for p in pkg.__path__):
            _import_dir(path, pkg_name)
        _DISCOVERED.add(key)
    for d in extra_dirs:
        d = Path(d).resolve()
        key = ("dir", str(d))
        if key in _DISCOVERED:
            continue
        _import_dir(d, None)
        _DISCOVERED.add(key)
    return dict(_REGISTRY)


def _import_dir(path: Path, pkg_name: str | None) -> None:
    for file in sorted(path.glob("*.py")):
        if not file.name.startswith("_"):
            import_file(file, pkg_name)


def user_module_name(file: Path) -> str:
    """The module name of an entry file outside the packages: the same in every process
    (md5 of its resolved path), so workers and reloads agree on it."""
    file = Path(file).resolve()
    return f"bench_user_{hashlib.md5(str(file).encode()).hexdigest()[:12]}_{file.stem}"


def package_of(file: Path) -> str | None:
    """The entry package (baselines / submissions) whose folder holds ``file``, if any."""
    file = Path(file).resolve()
    for pkg in PACKAGES:
        spec = importlib.util.find_spec(pkg)
        dirs = [Path(p).resolve() for p in (spec.submodule_search_locations or [])] if spec else []
        if file.parent in dirs:
            return pkg
    return None


def import_file(file: Path, pkg_name: str | None = None, *, again: bool = False) -> None:
    """Import one entry module (the project's one module loader). A package module keeps its
    package name (relative imports work); other files get :func:`user_module_name`. A module
    already imported is left alone unless ``again`` (then it runs again and re-registers). A
    module that fails to import is an error naming its file."""
    file = Path(file).resolve()
    if not file.is_file():
        raise RegistryError(f"{file}: entry source file not found on this machine ({os.uname().nodename})")
    pkg_name = pkg_name or package_of(file)
    mod_name = f"{pkg_name}.{file.stem}" if pkg_name else user_module_name(file)
    if mod_name in sys.modules and not again:
        return
    try:
        if pkg_name and mod_name in sys.modules:
            importlib.reload(sys.modules[mod_name])
        elif pkg_name:
            importlib.import_module(mod_name)
        else:
            spec = importlib.util.spec_from_file_location(mod_name, file)
            module = importlib.util.module_from_spec(spec)
            sys.modules[mod_name] = module
            spec.loader.exec_module(module)
    except RegistryError:
        sys.modules.pop(mod_name, None)
        raise
    except (Exception, SystemExit) as exc:  # a broken module names its file (sys.exit included)
        sys.modules.pop(mod_name, None)
        raise RegistryError(f"{file}: failed to import: {type(exc).__name__}: {exc}") from exc


def load_entry(name: str, source: str | Path) -> Entry:
    """The registered entry ``name``, importing (again) its ``source`` file when it is not
    registered from there (a fresh worker process, or a registry reset by a test)."""
    entry = _REGISTRY.get(name)
    if entry is not None and Path(entry.source).resolve() == Path(source).resolve():
        return entry
    import_file(Path(source), again=True)
    if name not in _REGISTRY:
        raise RegistryError(f"{source}: importing it did not register entry {name!r}: {unknown_message(name, list(_REGISTRY))}")
    return _REGISTRY[name]


def get(name: str) -> Entry:
    if name not in _REGISTRY:
        raise RegistryError(unknown_message(name, list(_REGISTRY)))
    return _REGISTRY[name]


def unknown_message(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"unknown entry {name!r}{hint} (see `python -m bench list`)"


def resolve(names: Iterable[str]) -> list[tuple[Entry, list[str]]]:
    """Map command-line names to (entry, variants). ``aegru`` = every variant of aegru,
    ``aegru-pruned`` = that variant only, ``aegru:base`` = the base model only."""
    rows: dict[str, tuple[Entry, list[str]]] = {}
    by_row = {e.row_id(v): (e, v) for e in _REGISTRY.values() for v in e.variant_names()}
    for name in names:
        if ":" in name:
            ename, vname = name.split(":", 1)
            entry = get(ename)
            entry.variant(vname)
            pairs = [(entry, vname)]
        elif name in _REGISTRY:
            entry = _REGISTRY[name]
            pairs = [(entry, v) for v in entry.variant_names()]
        elif name in by_row:
            pairs = [by_row[name]]
        else:
            raise RegistryError(unknown_message(name, sorted(by_row)))
        for entry, v in pairs:
            cur = rows.setdefault(entry.name, (entry, []))
            if v not in cur[1]:
                cur[1].append(v)
    return list(rows.values())


def entries(task: str | None = None) -> list[Entry]:
    return sorted((e for e in _REGISTRY.values() if task is None or e.task == task), key=lambda e: (e.task, e.kind, e.name))


def _reset_for_tests() -> None:
    _REGISTRY.clear()
    _DISCOVERED.clear()
