"""Every report bench writes, from the result store only.

Layout:
    format.py       the synthetic-data notice, the Table type and its one markdown writer, numbers, file writing
    collect.py      loading the store, grouping runs into leaderboard rows, figure look-up, provenance
    published.py    published figures printed beside the measurements (NeuroBench, AEGRU, RSNNs, grasp)
    leaderboard.py  leaderboard.md (all tasks)
    reaching.py     Table II, the AEGRU paper's Table III, the BioCAS challenge field (--published)
    grasp.py        the grasp paper's Tables 3, 4, 5 and the confusion-matrix data
    sweeps.py       window-grid and pruning-rate reports (markdown + PNG) of stored sweeps
    figures.py      PNG figures (matplotlib): Pareto, confusion matrices, sweep heatmap and curve
    board.py        a task's leaderboard as a site section (sortable table, plot data)
    site.py         the static HTML site (python -m bench site)

Every writer has the signature ``writer(root, out, tag) -> list[Path]``: the store's root
folder, the output folder, the result namespace (tag); it returns the paths it wrote.
"""

from __future__ import annotations

from pathlib import Path

from bench.reports.figures import write_confusion_figures, write_pareto_figures
from bench.reports.format import LEADERBOARD_TAG, tag_suffix
from bench.reports.grasp import write_grasp_tables
from bench.reports.leaderboard import write_leaderboard
from bench.reports.reaching import write_aegru_table3, write_table2
from bench.reports.site import write_site
from bench.reports.sweeps import write_sweep_reports

TABLE_WRITERS = (write_leaderboard, write_table2, write_aegru_table3, write_grasp_tables)
FIGURE_WRITERS = (write_pareto_figures, write_confusion_figures)


def write_tables(root: Path, out: Path, tag: str = LEADERBOARD_TAG) -> list[Path]:
    """Every markdown table into ``out``."""
    return [p for w in TABLE_WRITERS for p in w(root, out, tag)]


def write_figures(root: Path, out: Path, tag: str = LEADERBOARD_TAG) -> list[Path]:
    """Every PNG figure of ``tag`` into ``out`` (``python -m bench figures``: ``results/figures``;
    the sweeps' reports go to ``results/sweeps`` through :func:`write_sweep_reports`)."""
    return [p for w in FIGURE_WRITERS for p in w(root, out, tag)]


def site_dir(out: Path, tag: str = LEADERBOARD_TAG) -> Path:
    """Where the site of ``tag`` goes under an output folder: ``site/`` (``site_<tag>/``)."""
    return Path(out) / f"site{tag_suffix(tag)}"


def write_all(root: Path, out: Path | None = None, tag: str = LEADERBOARD_TAG) -> list[Path]:
    """What ``python -m bench run`` and ``python -m bench table`` refresh: the markdown tables in
    ``out`` (default: the store's root) and the site in ``out/site`` (``site_<tag>`` for other
    tags). The PNG figures are ``python -m bench figures``."""
    out = Path(out or root)
    return write_tables(root, out, tag) + write_site(root, site_dir(out, tag), tag)


__all__ = ["FIGURE_WRITERS", "TABLE_WRITERS", "site_dir", "write_all", "write_figures", "write_site", "write_sweep_reports", "write_tables"]
