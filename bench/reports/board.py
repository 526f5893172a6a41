"""A task's leaderboard as a site section: the sortable table (variants grouped under their entry,
published rows marked, registered entries without results listed, a per-recording drill-down
under every row) and the data of its trade-off plot (metric against effective operations,
footprint and, when stored, energy and latency; hover shows entry, variant, recordings, seeds
and provenance). bench.reports.site assembles the pages.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from bench.reports import collect
from bench.reports import published as pub
from bench.reports.format import mean_std, num
from bench.reports.leaderboard import (
    COST_COLUMNS,
    METRIC_HEADERS,
    Column,
    deployment_column,
    extra_columns,
)

AXES = (("ops", "Effective ops", "effective operations per prediction (MACs + ACs)"),
        ("Footprint", "Footprint", "footprint (bytes)"))


def _attr(v: object) -> str:
    return escape(str(v), quote=True)


def _num_attr(v: float | None) -> str:
    return "" if v is None else repr(round(float(v), 9))


def deployment_axes(rows: list[collect.Row]) -> list[tuple[str, str, str]]:
    """Energy (estimate, per prediction) and latency (p99) figures stored under ``deployment``
    that the plot offers as x axes; the energy axis names the estimate's table(s)."""
    names = set().union(*(r.names() for r in rows)) if rows else set()
    out = []
    energy = sorted(n for n in names if n.startswith("deployment.") and n.endswith("per_prediction_nj"))
    if energy:
        labels = sorted({t for r in rows for c in r.cells.values() for run in c.runs
                         for p, t in collect.texts_of(run).items() if p.startswith(energy[0].rsplit(".", 1)[0])})
        which = "; ".join(labels) if labels else "table not stored"
        out.append((energy[0], "Energy (estimate)", f"energy per prediction, nJ (estimate: {which})"))
    latency = sorted(n for n in names if n.startswith("deployment.") and n.endswith("p99_us"))
    if latency:
        out.append((latency[0], "Latency p99", "latency of one streaming step, p99, µs (measured, batch 1, one thread)"))
    return out


def row_info(row: collect.Row) -> list[str]:
    """Hover lines of a measured row: entry, variant, recordings, seeds, provenance."""
    provs = [collect.provenance(r) for c in row.cells.values() for r in c.runs]
    commits = sorted({p["commit"] for p in provs})
    versions = sorted({p["versions"] for p in provs if p["versions"]})
    dates = sorted({p["date"] for p in provs})
    return [
        row.label,
        f"entry {row.entry}, variant {row.variant}" + (f" ({row.kind})" if row.kind else ""),
        f"{len(row.cells)} recording(s): seeds {', '.join(map(str, row.seeds))}",
        "commit " + ", ".join(commits),
        "versions " + ("; ".join(versions) if versions else "?"),
        "date " + (dates[0] if len(dates) == 1 else f"{dates[0]} – {dates[-1]}"),
    ]


def plot_spec(task: str, rows: list[collect.Row], plot_id: str, with_published: bool) -> dict | None:
    """The trade-off scatter's data: one point per measured row with the task's metric, and the
    published (real-data) points of the reaching task."""
    metric = collect.MAIN_METRIC.get(task, "R2")
    names = set().union(*(r.names() for r in rows)) if rows else set()
    axes = [a for a in AXES if a[0] in names] + deployment_axes(rows)
    entries = sorted({r.entry for r in rows})
    points = []
    for row in rows:
        y = row.stat(metric)
        if y is None:
            continue
        x = {key: list(s) for key, _, _ in axes if (s := row.stat(key))}
        points.append({"key": key_of(row), "label": row.label, "y": list(y), "x": x, "pub": False,
                       "color": entries.index(row.entry), "info": row_info(row)})
    if with_published and task == "reaching":
        for name, f in pub.PUBLISHED_REACHING.items():
            ops = [m + a for m, a in zip(f["Effective_MACs"], f["Effective_ACs"])]
            points.append({"key": f"published/{name}", "label": f"{name} (published)", "y": list(mean_std(f["R2"])),
                           "x": {"ops": list(mean_std(ops)), "Footprint": list(mean_std(f["Footprint"]))}, "pub": True, "color": 0,
                           "info": [f"{name}: published figures (real recordings)", pub.PUBLISHED_SOURCE[name], f"{len(f['R2'])} sessions"]})
    if not points or not axes:
        return None
    return {"id": plot_id, "ylabel": METRIC_HEADERS.get(metric, metric),
            "axes": [{"key": k, "button": b, "label": lbl, "log": True, "floor": 1} for k, b, lbl in axes], "points": points}


def key_of(row: collect.Row) -> str:
    return f"{row.task}/{row.row}/{'synthetic' if row.synthetic else 'real'}"


# --- the table -----------------------------------------------------------------------------------


def _th(text: str, sort: str, cls: str = "", tip: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    t = f' title="{_attr(tip)}"' if tip else ""
    return f'<th data-sort="{sort}"{c}{t}>{escape(text)}</th>'


def _td(text: str, v: object = None, cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    dv = f' data-v="{_attr(v)}"' if v is not None and v != "" else ""
    return f"<td{c}{dv}>{escape(text)}</td>"


def _stat_cell(s: tuple[float, float] | None, digits: int = 3) -> str:
    return _td("error" if s is None else f"{s[0]:.{digits}f} ± {s[1]:.{digits}f}", None if s is None else _num_attr(s[0]))


def drill_down(row: collect.Row, metrics: tuple[str, ...], root: Path) -> str:
    """Per-recording detail of a row: seed means ± seed std, costs, training time, provenance,
    and the result files the figures come from."""
    heads = ["Recording", "seeds"] + [f"{METRIC_HEADERS.get(m, m)} (seed mean ± std)" for m in metrics] + ["Footprint (B)", "Eff. MACs", "Eff. ACs", "train (s)", "commit", "date", "result files"]
    body = []
    for rec in row.recordings:
        c = row.cells[rec]
        cells = [rec, ", ".join(map(str, c.seeds))]
        for m in metrics:
            vals = c.values(m)
            cells.append("error" if not vals or any(v is None for v in vals) else "{:.3f} ± {:.3f}".format(*mean_std(vals)))
        cells += [num(c.mean("Footprint"), 0), num(c.mean("Effective_MACs"), 1), num(c.mean("Effective_ACs"), 1), num(c.mean("train_s"), 1)]
        provs = [collect.provenance(r) for r in c.runs]
        cells += [", ".join(sorted({p["commit"] for p in provs})), ", ".join(sorted({p["date"] for p in provs})), " ".join(_relative(r.get("_path", ""), root) for r in c.runs)]
        body.append("<tr>" + "".join(f"<td>{escape(x)}</td>" for x in cells) + "</tr>")
    table = "<table><thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in heads) + "</tr></thead><tbody>" + "".join(body) + "</tbody></table>"
    others = sorted(n for n in row.names() if "." in n and not deployment_column(n))
    texts = sorted({f"{p}: {t}" for c in row.cells.values() for r in c.runs for p, t in collect.texts_of(r).items()})
    extra = ""
    if others or texts:
        items = "".join(f"<li>{escape(n)}: {escape(num(s[0], 3) if (s := row.stat(n)) else 'error')}</li>" for n in others)
        items += "".join(f"<li>{escape(t)}</li>" for t in texts)
        extra = f"<p class=\"note\">Further figures (mean across recordings):</p><ul>{items}</ul>"
    info = "<p class=\"note\">" + escape(" · ".join(row_info(row)[1:])) + "</p>"
    return info + table + extra


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except (ValueError, OSError):
        return Path(path).name


def board_table(task: str, rows: list[collect.Row], root: Path, published: bool, missing: list[tuple[str, str, str]]) -> str:
    """The sortable leaderboard table of one task and one kind of data."""
    metrics = collect.TASK_METRICS.get(task, ("R2",))
    cols: list[Column] = [c for c in list(COST_COLUMNS) + extra_columns(rows) if any(c.name in r.names() for r in rows)]
    if published and task == "reaching":
        have = {c.name for c in cols}
        cols += [c for c in COST_COLUMNS if c.name not in have and any(c.name in f for f in pub.PUBLISHED_REACHING.values())]
        cols.sort(key=lambda c: [x.name for x in COST_COLUMNS].index(c.name) if c.name in [x.name for x in COST_COLUMNS] else 99)
    heads = [_th("#", "asc"), _th("Model", "asc", "l")]
    heads += [_th(f"{METRIC_HEADERS.get(m, m)} (mean ± std)", "desc") for m in metrics]
    heads += [_th("recordings", "desc"), _th("seeds", "desc")]
    heads += [_th(c.header, "asc", tip=c.tip or c.name) for c in cols]
    ncol = len(heads)
    lines = []
    order = 0
    for rank, row in enumerate(collect.ranked(rows), start=1):
        search = " ".join([row.label, row.entry, row.variant, row.kind, row.row])
        base = ' data-base="1"' if row.variant == "base" else ""
        attrs = f'data-key="{_attr(key_of(row))}" data-entry="{_attr(row.entry)}" data-group="{_attr(row.entry)}" data-order="{order}" data-search="{_attr(search)}"{base}'
        badge = f'<span class="badge var">variant: {escape(row.variant)}</span>' if row.variant != "base" else ""
        cells = [_td(str(rank), rank), f'<td class="model l" data-v="{_attr(row.label)}"><button type="button" class="drill" aria-expanded="false" title="per-recording detail">▸</button>{escape(row.label)}{badge}</td>']
        cells += [_stat_cell(row.stat(m)) for m in metrics]
        cells += [_td(str(len(row.cells)), len(row.cells)), _td("/".join(str(k) for k in sorted(set(row.seed_counts()))), max(row.seed_counts()))]
        for c in cols:
            s = row.stat(c.name)
            cells.append(_td(num(s[0], c.digits) if s else "—", _num_attr(s[0]) if s else None))
        lines.append(f'<tr class="run" {attrs}>' + "".join(cells) + "</tr>")
        lines.append(f'<tr class="detail" hidden><td colspan="{ncol}">{drill_down(row, metrics, root)}</td></tr>')
        order += 1
    if published and task == "reaching":
        for name, f in pub.PUBLISHED_REACHING.items():
            entry = pub.PUBLISHED_ENTRY.get(name, name.lower())
            attrs = f'data-key="published/{_attr(name)}" data-entry="{_attr(entry)}" data-group="{_attr(entry)}" data-order="{order}" data-search="{_attr(name + " " + entry + " published")}"'
            cells = [_td("—"), f'<td class="model l" data-v="{_attr(name)}" title="{_attr(pub.PUBLISHED_SOURCE[name])}">{escape(name)}<span class="badge pub">published · real data</span></td>']
            cells += [_stat_cell(mean_std(f[m]) if m in f else None) for m in metrics]
            cells += [_td(str(len(f["R2"])), len(f["R2"])), _td("—")]
            for c in cols:
                v = mean_std(f[c.name])[0] if c.name in f else None
                cells.append(_td(num(v, c.digits), _num_attr(v)))
            lines.append(f'<tr class="pub" {attrs}>' + "".join(cells) + "</tr>")
            order += 1
    for name, display, kind in missing:
        attrs = f'data-key="norun/{_attr(name)}" data-entry="{_attr(name)}" data-group="{_attr(name)}" data-order="{order}" data-search="{_attr(" ".join([name, display, kind, "not run"]))}" data-base="1"'
        cells = [_td("—"), f'<td class="model l" data-v="{_attr(display)}">{escape(display)}<span class="badge err">no stored results</span> <code class="cmd">python -m bench run {escape(name)}</code></td>']
        cells += [_td("—") for _ in range(ncol - 2)]
        lines.append(f'<tr class="norun" {attrs}>' + "".join(cells) + "</tr>")
        order += 1
    return ('<div class="scroll"><table class="sortable board" data-grouped="1"><thead><tr>' + "".join(heads) + "</tr></thead><tbody>\n"
            + "\n".join(lines) + "\n</tbody></table></div>")
