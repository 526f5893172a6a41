"""Presentation shared by every report: the synthetic-data notice, one table type with one
markdown writer, number formatting, and the one way a report file is written.

A report is built as :class:`Table` values (title, notes, header, rows, the command that
regenerates it); the markdown files and the site render the same values, so a number cannot
differ between them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.data.io import atomic_write

# The one synthetic-data notice (markdown quote; the site shows the same text in a banner).
SYNTHETIC_TEXT = "Synthetic recordings (bench's generator), not real data: these figures are not comparable with published numbers."
SYNTHETIC_NOTE = "> " + SYNTHETIC_TEXT
MIXED_TEXT = "Mixed: synthetic sessions (names starting with sim_) and real recordings."
LEADERBOARD_TAG = "leaderboard"


@dataclass
class Table:
    """One report table. ``notes`` are printed above it (as markdown quotes), ``footer`` below."""

    title: str
    headers: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)
    footer: str = ""
    command: str = ""  # the command that regenerates it
    published: bool = False  # rows are published figures, not bench's measurements

    def markdown(self) -> str:
        parts = ["> " + n for n in self.notes] + [self.title, "", markdown(self.headers, self.rows)]
        if self.notes:
            parts.insert(len(self.notes), "")
        if self.footer:
            parts += ["", self.footer]
        return "\n".join(parts)


def synthetic_notes(flags: Iterable[bool]) -> list[str]:
    """The notice a table of results with these ``synthetic`` flags must carry."""
    kinds = set(flags)
    if kinds == {True}:
        return [SYNTHETIC_TEXT]
    if kinds == {True, False}:
        return [MIXED_TEXT]
    return []


def _cell(text: object) -> str:
    return str(text).replace("|", "/").replace("\n", " ")


def markdown(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub markdown table; '|' and line breaks inside cells are neutralised."""
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return "\n".join(lines + ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows])


# --- numbers -----------------------------------------------------------------------------------


def mean_std(values: Iterable[float]) -> tuple[float, float]:
    """Mean and population std (ddof 0), the convention of every table here."""
    v = np.asarray(list(values), dtype=float)
    return float(v.mean()), float(v.std(ddof=0))


def pm(values: Sequence[float | None], digits: int, scale: float = 1.0) -> str:
    """'mean ± std' of ``values / scale``; 'n/a' for none, 'error' when one is missing."""
    if not values:
        return "n/a"
    if any(v is None for v in values):
        return "error"
    m, s = mean_std(v / scale for v in values)
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def ops_pm(macs: Sequence[float | None], acs: Sequence[float | None]) -> str:
    """MACs + ACs (k) as the AEGRU paper prints it: mean(MACs) + mean(ACs) ± (std(MACs) + std(ACs)).

    The paper adds the two standard deviations rather than taking the std of the per-session
    sums; only this reproduces its SNN3D row (38.1 ± 11.6; the std of the sums is 10.4). For
    entries with only MACs or only ACs the two conventions agree.
    """
    if not macs:
        return "n/a"
    if any(v is None for v in list(macs) + list(acs)):
        return "error"
    m1, s1 = mean_std(macs)
    m2, s2 = mean_std(acs)
    return f"{(m1 + m2) / 1000:.1f} ± {(s1 + s2) / 1000:.1f}"


def num(v: float | None, digits: int = 3) -> str:
    """A plain figure: thousands separated from 1000 up, '—' for a missing one."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


# --- files -------------------------------------------------------------------------------------


def tag_suffix(tag: str) -> str:
    """File-name suffix of a result namespace: '' for the leaderboard, '_<tag>' otherwise (a
    quick run never overwrites the leaderboard's reports)."""
    return "" if tag == LEADERBOARD_TAG else f"_{tag}"


def write_text(path: Path, text: str) -> Path:
    """Write a report atomically (a reader never sees half a file); text ends with one newline."""
    path = atomic_write(Path(path), text.rstrip("\n") + "\n", fsync=False)
    path.chmod(0o644)  # reports are for reading by anyone (the temp file was private)
    return path


def write_report(path: Path, title: str, tables: Sequence[Table | str], intro: str = "") -> Path:
    """A markdown file: '# title', an optional intro line, then the tables in order."""
    parts = [f"# {title}"] + ([intro] if intro else [])
    parts += [t.markdown() if isinstance(t, Table) else t for t in tables]
    return write_text(path, "\n\n".join(parts))
