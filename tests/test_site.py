"""The static site (bench.reports.site): self-contained and deterministic, and working in a real
browser: headless Chromium driven by Selenium (Debian's chromium + chromium-driver, installed by
scripts/install.sh). The browser tests skip, saying why, where no browser can be started."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from html import escape
from pathlib import Path

import pytest

from bench import registry
from bench import results as store
from bench.reports import collect, site
from bench.reports import published as pub
from bench.reports.format import SYNTHETIC_TEXT

RECS = ["sim_indy_1", "sim_indy_2", "sim_loco_1"]


def _put(root: Path, r: dict) -> None:
    store.atomic_write_json(store.result_path(root, "leaderboard", r["task"], r["row"], r["recording"], r["seed"]), r)


def _result(task, entry, variant, rec, seed, metrics, **extra) -> dict:
    row = entry if variant == "base" else f"{entry}-{variant}"
    return {"schema": store.SCHEMA, "task": task, "entry": entry, "row": row, "variant": variant, "display": entry.upper(),
            "recording": rec, "seed": seed, "synthetic": True, "status": "ok", "overrides": {}, "tag": "leaderboard", "kind": "submission",
            "metrics": metrics, "finished": "2026-01-02T03:04:05+00:00",
            "versions": {"git_commit": "0123456789abcdef", "git_dirty": False, "bench": "0.1.0", "torch": "2.13.0"}, **extra}


def _reaching(r2, fp, macs, acs=0.0):
    return {"R2": r2, "Footprint": fp, "SynapticOperations": {"Effective_MACs": macs, "Effective_ACs": acs, "Dense": macs * 2}}


@pytest.fixture(scope="module")
def store_root(tmp_path_factory) -> Path:
    """Reaching: aegru (+ pruned, with a deployment record) on three sessions with two seeds,
    ann2d and snn-streaming with one; a failed run; grasp object and phase with confusions."""
    root = tmp_path_factory.mktemp("site") / "results"
    for i, rec in enumerate(RECS):
        for seed in (0, 1):
            dep = {"latency": {"p50_us": 90.0 + i, "p99_us": 130.0 + i, "rtf_p99": 0.03}, "energy": {"per_prediction_nj": 120.0 + i, "label": "energy estimate (float32 45 nm, compute only)"}}
            _put(root, _result("reaching", "aegru", "base", rec, seed, _reaching(0.70 + 0.01 * i + 0.002 * seed, 39184, 43520), deployment=dep))
            _put(root, _result("reaching", "aegru", "pruned", rec, seed, _reaching(0.71 + 0.01 * i, 39184, 21760), deployment=dep))
        _put(root, _result("reaching", "ann2d", "base", rec, 0, _reaching(0.60 + 0.02 * i, 20824, 4000 + 100 * i)))
        _put(root, _result("reaching", "snn-streaming", "base", rec, 0, _reaching(0.50 + 0.02 * i, 19648, 0.0, 300.0)))
    bad = _result("reaching", "snn3d", "base", RECS[0], 0, {})
    bad.update(status="error", error={"stage": "evaluate", "message": "predictions are not finite (NaN in 12 samples)"})
    _put(root, bad)
    for rec in ("sim_m_1", "sim_z_1"):
        _put(root, _result("grasp-object", "bilstm-grasp", "base", rec, 0, {"Accuracy": 0.6, "RelaxedAccuracy": 0.9, "Footprint": 669719,
                                                                              "SynapticOperations": {"Effective_MACs": 6e5, "Effective_ACs": 0.0, "Dense": 2e6}},
                           eval={"confusion": [[3, 1, 0], [0, 4, 0], [1, 0, 2]], "classes": ["21", "22", "41"]}))
        _put(root, _result("grasp-phase", "bilstm-grasp-phase", "base", rec, 0, {"Accuracy": 0.97, "F1": 0.9, "Footprint": 812595,
                                                                                 "SynapticOperations": {"Effective_MACs": 7e5, "Effective_ACs": 0.0, "Dense": 2e6}},
                           eval={"confusion": [[90, 3], [1, 6]], "classes": ["rest", "grasp"]}))
    return root


@pytest.fixture(scope="module")
def site_dir(store_root) -> Path:
    out = store_root.parent / "site"
    site.write_site(store_root, out, "leaderboard")
    return out


# --- without a browser -------------------------------------------------------------------------


def test_site_is_deterministic_and_independent_of_the_store_location(store_root, tmp_path):
    first = site.build_site(store_root)
    assert first == site.build_site(store_root)
    moved = tmp_path / "elsewhere" / "results"
    shutil.copytree(store_root, moved)
    assert site.build_site(moved) == first


def test_site_is_self_contained(site_dir):
    pages = sorted(site_dir.glob("*.html"))
    assert {p.name for p in pages} >= {"index.html", "reaching.html", "grasp-object.html", "grasp-phase.html", "papers.html", "sweeps.html"}
    for p in pages:
        text = p.read_text()
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), p.name  # nothing fetched from a network
        assert "<script src" not in text and "<link" not in text, p.name  # script and style are inlined
        # every page that shows results of this (synthetic) store says so; the store has no sweeps
        assert (escape(SYNTHETIC_TEXT) in text) == (p.name != "sweeps.html"), p.name
    assert sum(p.stat().st_size for p in pages) < 600_000


def test_reaching_page_content(site_dir):
    text = (site_dir / "reaching.html").read_text()
    assert text.count('class="pub"') == len(pub.PUBLISHED_REACHING)  # published rows, marked
    assert "published · real data" in text
    assert "predictions are not finite (NaN in 12 samples)" in (site_dir / "reaching.html").read_text()  # failed run listed
    assert "energy per prediction, nJ (estimate: energy estimate (float32 45 nm, compute only))" in text
    assert "leaderboard/reaching/aegru/sim_indy_1/seed0.json" in text  # drill-down names the result files
    assert "python -m bench table --published" in (site_dir / "papers.html").read_text()


def test_real_only_store_has_no_banner(tmp_path):
    r = _result("reaching", "ann2d", "base", "indy_20160622_01", 0, _reaching(0.6, 20824, 4300))
    r["synthetic"] = False
    _put(tmp_path, r)
    pages = site.build_site(tmp_path)
    assert escape(SYNTHETIC_TEXT) not in pages["reaching.html"] and "Real recordings" in pages["reaching.html"]


# --- in a browser ----------------------------------------------------------------------------------

CHROMIUM = os.environ.get("BENCH_CHROMIUM") or next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or "") if p and Path(p).exists()), "")
CHROMEDRIVER = os.environ.get("BENCH_CHROMEDRIVER") or next((p for p in ("/usr/bin/chromedriver", shutil.which("chromedriver") or "") if p and Path(p).exists()), "")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-sync", "--window-size=1400,1000"]


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[test]')")
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("no headless browser: install Debian's chromium and chromium-driver (scripts/install.sh does as root) "
                    "or set BENCH_CHROMIUM and BENCH_CHROMEDRIVER")
    profile = tempfile.mkdtemp(prefix="bench-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for f in [*FLAGS, f"--user-data-dir={profile}"]:
        opts.add_argument(f)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    except WebDriverException as exc:
        shutil.rmtree(profile, ignore_errors=True)
        pytest.skip(f"chromium could not be started: {str(exc).splitlines()[0]}")
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _open(browser, site_dir: Path, page: str) -> list[dict]:
    browser.get((site_dir / page).resolve().as_uri())
    return [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def test_pages_load_without_console_errors(browser, site_dir):
    for page in sorted(p.name for p in site_dir.glob("*.html")):
        assert _open(browser, site_dir, page) == [], page
        assert browser.find_element("css selector", "header.top nav").is_displayed()


def test_every_registered_entry_is_in_its_tasks_table(browser, site_dir):
    registry.discover()
    for task in ("reaching", "grasp-object", "grasp-phase"):
        _open(browser, site_dir, f"{task}.html")
        shown = {tr.get_attribute("data-entry") for tr in browser.find_elements("css selector", "table.board tbody tr[data-entry]")}
        expected = {e.name for e in registry.entries(task)}
        assert expected and expected <= shown, (task, expected - shown)


def _rows(browser, section: str) -> list:
    return [tr for tr in browser.find_elements("css selector", f"#{section} table.board tbody tr[data-key]") if tr.is_displayed()]


def test_clicking_a_header_sorts_the_rows(browser, site_dir):
    _open(browser, site_dir, "reaching.html")
    sec = "reaching-synthetic"
    browser.find_element("css selector", f"#{sec} input.group").click()  # flat: every row sorted on its own
    before = [tr.get_attribute("data-key") for tr in _rows(browser, sec)]
    header = next(th for th in browser.find_elements("css selector", f"#{sec} table.board thead th") if th.text.startswith("Footprint"))
    col = browser.execute_script("return arguments[0].cellIndex", header)

    def footprints():
        vals = [tr.find_elements("css selector", "td")[col].get_attribute("data-v") for tr in _rows(browser, sec)]
        return [float(v) for v in vals if v]

    header.click()
    after = [tr.get_attribute("data-key") for tr in _rows(browser, sec)]
    assert after != before and sorted(after) == sorted(before)
    assert footprints() == sorted(footprints()) and header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert footprints() == sorted(footprints(), reverse=True) and header.get_attribute("aria-sort") == "descending"
    browser.find_element("css selector", f"#{sec} input.group").click()  # grouped again: the entry's own row heads its group
    keys = [tr.get_attribute("data-key") for tr in _rows(browser, sec)]
    assert keys.index("reaching/aegru-pruned/synthetic") == keys.index("reaching/aegru/synthetic") + 1


def test_plot_has_one_point_per_measured_row_and_the_published_ones(browser, site_dir, store_root, tmp_path):
    _open(browser, site_dir, "reaching.html")
    results, _ = collect.load_results(store_root)
    rows = collect.group_rows(results, task="reaching", synthetic=True)
    plot = "#plot-reaching-synthetic"
    circles = browser.find_elements("css selector", f"{plot} svg.scatter circle.pt")
    assert len(circles) == sum(1 for r in rows if r.stat("R2") and r.stat("ops")) == 4
    assert len(browser.find_elements("css selector", f"{plot} svg.scatter path.pub-pt")) == len(pub.PUBLISHED_REACHING) + 1  # + legend
    assert browser.find_elements("css selector", f"{plot} svg.scatter polyline.front")  # the Pareto front
    browser.find_element("css selector", f"{plot} button[data-axis='deployment.energy.per_prediction_nj']").click()
    assert len(browser.find_elements("css selector", f"{plot} svg.scatter circle.pt")) == 2  # only aegru rows have an energy estimate
    browser.find_element("css selector", f"{plot} button[data-axis='ops']").click()
    # hover shows entry, variant, recordings, seeds and provenance
    from selenium.webdriver.common.action_chains import ActionChains

    point = next(c for c in browser.find_elements("css selector", f"{plot} svg.scatter circle.pt") if c.get_attribute("data-key") == "reaching/aegru/synthetic")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", point)
    ActionChains(browser).move_to_element(point).perform()
    tip = browser.find_element("id", "tip").text
    assert "entry aegru, variant base" in tip and "3 recording(s): seeds 0, 1" in tip and "commit 0123456789" in tip and "2026-01-02" in tip
    # filtering the table hides the other rows and their points
    box = browser.find_element("css selector", "#reaching-synthetic input.filter")
    box.send_keys("ann2d")
    assert [tr.get_attribute("data-entry") for tr in _rows(browser, "reaching-synthetic")] == ["ann2d", "ann2d"]  # measured + published
    visible = [c for c in browser.find_elements("css selector", f"{plot} svg.scatter circle.pt") if c.is_displayed()]
    assert [c.get_attribute("data-key") for c in visible] == ["reaching/ann2d/synthetic"]
    box.clear()
    browser.execute_script("arguments[0].dispatchEvent(new Event('input'))", box)
    # the drill-down shows the recordings
    browser.find_element("css selector", "#reaching-synthetic tr[data-key='reaching/aegru/synthetic'] button.drill").click()
    detail = browser.find_element("css selector", "#reaching-synthetic tr[data-key='reaching/aegru/synthetic'] + tr.detail")
    assert detail.is_displayed() and all(rec in detail.text for rec in RECS)
    shot = tmp_path / "reaching.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")


def test_grasp_confusion_and_sweeps_render(browser, site_dir):
    _open(browser, site_dir, "grasp-object.html")
    cells = browser.find_elements("css selector", "#confusion-grasp-object svg.confusion rect")
    assert len(cells) == 9  # 3 x 3 objects
    _open(browser, site_dir, "grasp-phase.html")
    assert len(browser.find_elements("css selector", "#confusion-grasp-phase svg.confusion rect")) == 4
