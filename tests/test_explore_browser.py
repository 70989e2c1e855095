"""The explorer in a real browser: start ``python -m sim.explore``, move a lever's slider, run, and read the
numbers the page shows back against ``run()`` for the same config and seeds; save the settings; step a month.

Drives Debian's Chromium headless with Playwright and saves the screenshot docs/figures/explorer.png.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim import load_config, run
from sim.commands import readable_interval
from sim.explore import compare, tables
from sim.schema import with_settings
from sim.settings_file import read_settings, settings_overrides

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "figures" / "explorer.png"
LEVER = "policy.end_user_audits.audit_rate"
START_S, RUN_S = 90, 90
#: Chromium without its own network traffic (this machine's network is closed).
QUIET = ["--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install -y chromium chromium-driver"
)
sync_api = pytest.importorskip("playwright.sync_api")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The explorer on a free localhost port, run in a folder of its own; stopped with its process group."""
    folder = tmp_path_factory.mktemp("explore")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "sim.explore", "--port", str(port), "--host", "127.0.0.1", "--workers", "2"],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_S
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the explorer did not start:\n{(folder / 'server.log').read_text()[-3000:]}")
                time.sleep(0.3)
        from sim.explore import assets

        if assets.missing():
            pytest.skip(f"Solara's page scripts are missing (no npm, no CDN): {assets.missing()}")
        yield url, folder
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def shown(page) -> dict[str, tuple[str, str]]:
    """Every number on the page with a test id: (exact value, text shown)."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('[data-testid][data-value]')]
             .map(e => [e.dataset.testid, [e.dataset.value, e.textContent]]))"""
    )


def same(exact: str, value: float) -> bool:
    return float(exact) == value or (math.isnan(float(exact)) and math.isnan(value))


def test_a_lever_moved_on_the_page_gives_the_numbers_of_run(server: tuple[str, Path]) -> None:
    url, folder = server
    baseline = load_config()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=QUIET)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(url)
            page.wait_for_selector("[data-testid=comparison][data-run='1']", timeout=RUN_S * 1000)

            page.click(".section-end-user-audits")  # open the lever's section, move its slider two pages up
            control = page.locator(".control-policy-end_user_audits-audit_rate")
            before = float(control.locator(".control-value").inner_text())
            assert before == baseline.policy.end_user_audits.audit_rate
            control.locator("[role=slider]").focus()
            page.keyboard.press("PageUp")
            page.keyboard.press("PageUp")
            value = round(before + 0.2, 3)  # PageUp: a tenth of the range
            page.wait_for_function(
                "t => document.querySelector('.control-policy-end_user_audits-audit_rate .control-value')"
                ".textContent === t",
                arg=repr(value),
                timeout=10_000,
            )
            page.click(".run-button")
            page.wait_for_selector("[data-testid=comparison][data-run='2']", timeout=RUN_S * 1000)
            compared = shown(page)
            page.locator(".results-column").evaluate("e => e.scrollIntoView()")
            page.screenshot(path=str(SCREENSHOT))
            page.click(".view-runs")
            page.wait_for_selector("[data-testid=runs][data-run='2']", timeout=10_000)
            numbers = shown(page)

            chosen = with_settings(baseline, {LEVER: value})
            seeds = compare.seeds(chosen, compare.DEFAULT_SEEDS)
            results = {
                side: [run(with_settings(c, {"seed": s})) for s in seeds]
                for side, c in (("chosen", chosen), ("reference", baseline))
            }
            for side, runs in results.items():
                for result in runs:
                    for metric in compare.KEY_METRICS:
                        exact, text = numbers[f"run-{side}-{result.config.seed}-{metric}"]
                        assert same(exact, result.summary[metric]), (side, result.config.seed, metric)
                        assert text == tables.fmt(result.summary[metric])
            a = compare.Batch(chosen, tuple(results["chosen"]))
            b = compare.Batch(baseline, tuple(results["reference"]))
            paired = compare.paired_table(a, b).set_index("metric")
            for metric in ("access_ratio", "smuggled_h100e_total", "detection_rate", "access_smuggling_total"):
                keys = {"": "difference", "-low": "ci_low", "-high": "ci_high"}
                for key, column in keys.items():
                    exact, _ = compared[f"difference-{metric}{key}"]
                    assert float(exact) == pytest.approx(paired.loc[metric, column], rel=1e-12, abs=1e-15)
                shown_texts = tuple(compared[f"difference-{metric}{key}"][1] for key in keys)
                exacts = (float(compared[f"difference-{metric}{k}"][0]) for k in keys)
                assert shown_texts == readable_interval(*exacts, missing="–")
            assert float(compared["difference-detection_rate_smuggling-low"][0]) > 0  # as docs/explore.md says

            path = folder / "explored.yaml"  # save the settings; python -m sim runs that file unchanged
            page.locator(".settings-path input").fill(str(path))
            page.locator(".settings-path input").press("Enter")
            page.click(".save-button")
            page.wait_for_selector(".file-message", timeout=10_000)
            assert read_settings(path) == ("baseline", {LEVER: value})
            assert load_config(settings_overrides(path)) == chosen

            page.click(".view-month-by-month")  # one run, month by month
            for months in (1, 2, 3):
                page.click(".step-one")
                page.wait_for_selector(f"[data-testid=month][data-value='{months}']", timeout=10_000)
            row = results["chosen"][0].timeseries.iloc[2]
            numbers = shown(page)
            for column in ("access_ratio", "access_smuggling", "smuggled_h100e", "active_intermediaries"):
                assert same(numbers[f"step-{column}"][0], float(row[column])), column
        finally:
            browser.close()
