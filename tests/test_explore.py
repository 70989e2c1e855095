"""The browser explorer's logic, without a browser: controls from the schema, runs over seeds against
``run()``, paired intervals, the month-by-month stepper, settings files, tables and figures."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim import Config, load_config, run
from sim.channels import ILLICIT_CHANNELS
from sim.config import Hub
from sim.explore import charts, compare, controls, tables
from sim.explore.stepper import Stepper
from sim.schema import ConfigError, SettingsError, bounds, field_at, unit, with_settings
from sim.settings_file import read_settings, save_settings, settings_overrides
from sim.sweep.executors import open_executor
from sim.sweep.experiment import Executor, ExecutorKind

LEVER = "policy.end_user_audits.audit_rate"
SEEDS = 3


@pytest.fixture(scope="module")
def base() -> Config:
    return load_config(["months=12"])


@pytest.fixture(scope="module")
def chosen(base: Config) -> Config:
    return with_settings(base, {LEVER: 0.3, "seed": 11})


@pytest.fixture(scope="module")
def comparison(chosen: Config, base: Config) -> compare.Comparison:
    return compare.compare(chosen, base, SEEDS)


def same_summary(a: dict, b: dict) -> bool:
    """Equal, NaN equal to NaN."""
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k])) for k in a
    )


# ------------------------------------------------------------------------------------------ controls


@pytest.fixture(scope="module")
def all_controls(base: Config) -> dict[str, controls.Control]:
    return {c.path: c for c in controls.build_controls(base)}


def test_controls_carry_the_schema_fields_description_unit_and_limits(all_controls, base):
    for path, control in all_controls.items():
        info = field_at(Config, tuple(path.split(".")))
        assert control.description == info.description, path
        assert control.unit == unit(info), path
        assert dict(control.limits) == bounds(info), path
        assert control.description in control.tooltip() and path in control.tooltip()
        controls.value_at(base, path)  # every path exists


def test_controls_are_grouped_as_the_config(all_controls, base):
    groups = {c.group for c in all_controls.values()}
    assert groups == set(controls.GROUPS)
    by_group = {g: [p for p, c in all_controls.items() if c.group == g] for g in controls.GROUPS}
    assert by_group[controls.SCENARIO] == ["months", "seed"]
    assert all(p.startswith("policy.") for p in by_group[controls.POLICY])
    assert all(p.startswith(("world.hubs.", "world.market.")) for p in by_group[controls.WORLD])
    assert all(p.startswith("behaviour.") for p in by_group[controls.BEHAVIOUR])
    settable = [n for n, f in Hub.model_fields.items() if (f.json_schema_extra or {}).get("timeline")]
    for hub in base.world.hubs:
        assert [p.split(".")[-1] for p in by_group[controls.WORLD] if p.startswith(f"world.hubs.{hub}.")] == settable
    assert len([p for p in by_group[controls.WORLD] if p.startswith("world.market.")]) == len(
        type(base.world.market).model_fields
    )


def test_controls_cover_scalars_and_skip_lists_and_text(all_controls):
    assert LEVER in all_controls
    assert "policy.enforcement.escalation.customs_multiplier" in all_controls  # nested sections
    assert all_controls["policy.enforcement.escalation.enabled"].label == "Escalation: enabled"
    for skipped in ("policy.country_caps.hubs", "policy.compliant_chips.chip", "world.hubs.singapore.operators"):
        assert skipped not in all_controls
    assert all_controls["behaviour.beliefs"].kind == "choice"
    assert all_controls["behaviour.beliefs"].choices == ("prior", "true")
    assert all_controls["policy.penalties.seizure"].kind == "bool"
    assert all_controls["world.hubs.malaysia.import_cap_h100e_per_year"].optional


def test_controls_name_the_timeline_events_that_change_them(all_controls):
    allowed = all_controls["policy.compliant_chips.allowed"]
    assert allowed.events == ("h20_licence (2025-04)", "h20_resumed (2025-08)")
    assert "h20_licence (2025-04)" in allowed.tooltip()


def test_slider_ranges_are_the_limits_with_a_step_that_holds_the_value(all_controls, base):
    assert all_controls[LEVER].slider_range(0.05) == (0.0, 1.0, 0.001)
    assert all_controls["world.market.price_adjustment"].slider_range(0.3)[0] == 0.001  # gt 0: one step inside
    assert all_controls["months"].slider_range(12) == (1.0, 600.0, 1.0)
    assert not all_controls["seed"].is_slider  # billions of values: a number box
    assert not all_controls["policy.enforcement.audit_budget_per_month"].is_slider  # no upper limit
    for path, control in all_controls.items():
        if control.is_slider:
            value = controls.value_at(base, path)
            low, high, step = control.slider_range(value)
            assert low <= value <= high, path
            assert round(value / step) * step == pytest.approx(value, rel=1e-12, abs=1e-12), path


def test_typed_values_are_checked_against_the_limits(all_controls):
    budget = all_controls["policy.enforcement.audit_budget_per_month"]
    assert budget.parse(" 8 ") == 8.0
    with pytest.raises(ValueError, match="0 <= value checks/month"):
        budget.parse("-1")
    with pytest.raises(ValueError, match="not a number"):
        budget.parse("eight")
    cap = all_controls["world.hubs.malaysia.import_cap_h100e_per_year"]
    assert cap.parse("") is None and cap.parse("null") is None and cap.parse("1,000") == 1000.0
    threshold = all_controls["policy.enforcement.escalation.threshold_detections"]
    assert threshold.parse("3") == 3 and isinstance(threshold.parse("3"), int)
    with pytest.raises(ValueError, match="whole number"):
        threshold.parse("2.5")


def test_a_control_at_its_limits_is_a_valid_setting(all_controls, base):
    for path in (LEVER, "world.hubs.singapore.cargo_inspection_rate", "world.market.gray_premium", "months"):
        low, high, _ = all_controls[path].slider_range(controls.value_at(base, path))
        for value in (low, high):
            assert controls.value_at(with_settings(base, {path: value}), path) == value


def test_effective_settings_drop_values_equal_to_the_scenarios(base):
    settings = {LEVER: base.policy.end_user_audits.audit_rate, "policy.penalties.seizure": False, "months": 12}
    assert controls.effective_settings(base, settings) == {"policy.penalties.seizure": False}


def test_search_matches_path_label_and_description(all_controls):
    found = [p for p, c in all_controls.items() if controls.matches(c, "audit rate")]
    assert LEVER in found
    assert all(
        controls.matches(all_controls[p], "singapore cargo") for p in ["world.hubs.singapore.cargo_inspection_rate"]
    )
    assert not any(controls.matches(c, "no such words") for c in all_controls.values())


# --------------------------------------------------------------------------------- runs and intervals


def test_every_run_is_run_of_the_same_config_and_seed(comparison, chosen, base):
    assert comparison.chosen.seeds == comparison.reference.seeds == [11, 12, 13]
    for batch, config in ((comparison.chosen, chosen), (comparison.reference, base)):
        for result, seed in zip(batch.results, batch.seeds, strict=True):
            expected = run(with_settings(config, {"seed": seed}))
            assert same_summary(result.summary, expected.summary)
            pd.testing.assert_frame_equal(result.timeseries, expected.timeseries)


def test_a_worker_pool_gives_the_same_runs(chosen, base, comparison):
    progress = []
    with open_executor(Executor(kind=ExecutorKind.LOCAL, workers=2)) as (pool, _):
        pooled = compare.compare(chosen, base, SEEDS, pool, lambda done, total: progress.append((done, total)))
    for a, b in zip(
        pooled.chosen.results + pooled.reference.results,
        comparison.chosen.results + comparison.reference.results,
        strict=True,
    ):
        assert same_summary(a.summary, b.summary)
    assert progress[0] == (0, 6) and progress[-1] == (6, 6)
    pd.testing.assert_frame_equal(pooled.paired, comparison.paired)


def test_the_cache_reuses_finished_runs(chosen, base):
    cache = compare.ResultCache()
    first = compare.compare(chosen, base, 2, cache=cache)
    progress = []
    again = compare.compare(chosen, base, 2, on_progress=lambda d, t: progress.append((d, t)), cache=cache)
    assert progress == [(4, 4)]
    assert again.chosen.results == first.chosen.results


def test_means_and_intervals_are_t_intervals_of_the_runs(comparison):
    table = comparison.metrics["chosen"].set_index("metric")
    for metric in ("access_h100e_months_total", "smuggled_h100e_total"):
        values = np.array([r.summary[metric] for r in comparison.chosen.results])
        low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
        assert table.loc[metric, "mean"] == pytest.approx(values.mean(), rel=1e-12)
        assert (table.loc[metric, "ci_low"], table.loc[metric, "ci_high"]) == (pytest.approx(low), pytest.approx(high))


def test_share_intervals_are_clipped_to_zero_one(comparison):
    table = comparison.metrics["chosen"]
    shares = table[table["metric"].str.startswith(("access_ratio", "detection_rate"))]
    assert (shares["ci_low"].dropna() >= 0).all() and (shares["ci_high"].dropna() <= 1).all()


def test_paired_differences_are_paired_t_intervals_on_the_same_seeds(comparison):
    paired = comparison.paired.set_index("metric")
    for metric in ("smuggled_h100e_total", "detection_rate", "access_ratio"):
        a = np.array([r.summary[metric] for r in comparison.chosen.results])
        b = np.array([r.summary[metric] for r in comparison.reference.results])
        keep = ~(np.isnan(a) | np.isnan(b))
        interval = stats.ttest_rel(a[keep], b[keep]).confidence_interval(0.95)
        assert paired.loc[metric, "n"] == keep.sum()
        assert paired.loc[metric, "difference"] == pytest.approx((a[keep] - b[keep]).mean(), rel=1e-12, abs=1e-15)
        assert paired.loc[metric, "ci_low"] == pytest.approx(interval.low)
        assert paired.loc[metric, "ci_high"] == pytest.approx(interval.high)


def test_nan_values_are_left_out_and_one_value_has_no_interval():
    assert compare.t_interval([1.0, float("nan")])[:2] == (1, 1.0)
    assert math.isnan(compare.t_interval([1.0])[2])
    assert compare.t_interval([])[0] == 0


def test_pairs_need_the_same_seeds(comparison):
    other = compare.Batch(comparison.reference.config, comparison.reference.results[:2])
    with pytest.raises(ValueError, match="same seeds"):
        compare.paired_table(comparison.chosen, other)


def test_bands_are_monthly_means_of_the_runs(comparison):
    bands = comparison.bands["chosen"].set_index(["column", "month"])
    frames = [r.timeseries.set_index("month") for r in comparison.chosen.results]
    for column in ("access_smuggling", "orders_hub_malaysia_h100e", "price_smuggling_usd_per_h100e_month"):
        for month in ("2025-01", "2025-06"):
            values = np.array([f.loc[month, column] for f in frames])
            assert bands.loc[(column, month), "mean"] == pytest.approx(np.nanmean(values), rel=1e-12)
    difference = comparison.paired_access.set_index(["column", "month"])
    a = np.array(
        [r.timeseries.set_index("month").loc["2025-03", "access_smuggling"] for r in comparison.chosen.results]
    )
    b = np.array(
        [r.timeseries.set_index("month").loc["2025-03", "access_smuggling"] for r in comparison.reference.results]
    )
    assert difference.loc[("access_smuggling", "2025-03"), "difference"] == pytest.approx((a - b).mean())


def test_detection_bands_cover_every_illicit_channel(comparison):
    columns = set(comparison.bands["chosen"]["column"])
    assert {f"detection_rate_{c}" for c in ILLICIT_CHANNELS} <= columns


# ------------------------------------------------------------------------------------------ stepper


def test_the_stepper_gives_runs_rows_month_by_month(chosen):
    expected = run(chosen).timeseries
    stepper = Stepper(chosen)
    assert stepper.months_done == 0 and stepper.month == ""
    stepper.step(5)
    assert stepper.month == "2025-05"
    pd.testing.assert_frame_equal(stepper.timeseries(), expected.iloc[:5])
    stepper.step(100)
    assert stepper.finished and stepper.months_done == chosen.months
    pd.testing.assert_frame_equal(stepper.timeseries(), expected)


def test_firms_channel_mix_adds_up_to_the_months_access(chosen):
    stepper = Stepper(chosen)
    for _ in range(6):
        stepper.step()
        row = stepper.timeseries().iloc[-1]
        firms = stepper.firms()
        assert len(firms) == sum(c.count for c in chosen.world.firms.classes.values())
        for source in ("stockpile", "domestic", "compliant", "smuggling", "remote_rental", "cloud_rental"):
            assert firms[source].sum() == pytest.approx(row[f"access_{source}"], rel=1e-9, abs=1e-6)
        assert (firms["used"] <= firms["demand"] * (1 + 1e-12)).all()


def test_intermediaries_per_hub_match_the_months_counts(chosen):
    stepper = Stepper(chosen)
    for _ in range(8):
        stepper.step()
        row = stepper.timeseries().iloc[-1]
        hubs = stepper.hubs()
        kinds = [c for c in hubs.columns if c not in ("hub", "registering", "listed", "closed")]
        assert hubs[kinds].to_numpy().sum() == row["active_intermediaries"]
        assert hubs["listed"].sum() <= row["listed_entities"]
        assert list(hubs["hub"]) == list(chosen.world.hubs)


def test_stepping_reads_only(chosen):
    stepper = Stepper(chosen)
    stepper.step(3)
    stepper.firms(), stepper.hubs(), stepper.intermediaries()  # reading between months changes nothing
    stepper.step(chosen.months)
    pd.testing.assert_frame_equal(stepper.timeseries(), run(chosen).timeseries)


# ------------------------------------------------------------------------------------- settings files


def test_saved_settings_run_unchanged_with_python_m_sim(tmp_path: Path, base: Config):
    settings = {LEVER: 0.15, "world.hubs.malaysia.import_cap_h100e_per_year": None, "behaviour.beliefs": "true"}
    settings |= {"policy.penalties.seizure": False, "months": 12, "seed": 4}
    path = save_settings(tmp_path / "explorer_settings.yaml", "baseline", settings)
    assert read_settings(path) == ("baseline", settings)
    explored = with_settings(load_config(["scenario=baseline"]), settings)
    assert load_config(settings_overrides(path)) == explored
    assert same_summary(run(load_config(settings_overrides(path))).summary, run(explored).summary)


def test_the_app_applies_settings_and_refuses_bad_ones(base: Config):
    app = pytest.importorskip("sim.explore.app")
    assert app.config_of("baseline", {LEVER: 0.2, "months": 12}) == with_settings(base, {LEVER: 0.2})
    with pytest.raises(SettingsError, match="audit_rate"):
        app.config_of("baseline", {LEVER: 2.0})
    with pytest.raises(ConfigError, match="unknown key"):
        app.config_of("baseline", {"policy.no_such_lever.x": 1})
    reference = app.Reference("no_controls")
    assert reference.config(with_settings(base, {"months": 7})).months == 7  # the chosen config's months


def test_the_apps_comparison_is_compare_of_the_same_configs(monkeypatch, chosen, base):
    app = pytest.importorskip("sim.explore.app")
    monkeypatch.setenv(app.WORKERS_ENV, "0")
    settings = {LEVER: 0.3, "seed": 11, "months": 12}
    outcome = app.run_comparison(1, "baseline", settings, app.Reference(), 2)
    direct = compare.compare(chosen, base, 2)
    for a, b in zip(outcome.comparison.chosen.results, direct.chosen.results, strict=True):
        assert same_summary(a.summary, b.summary)
    assert set(outcome.figures) == {"chosen", "reference", "difference"}
    assert all(png.startswith(b"\x89PNG") for side in ("chosen", "reference") for png in outcome.figures[side].values())


# -------------------------------------------------------------------------------------- tables, charts


def test_tables_show_each_number_with_its_exact_value(comparison):
    page = tables.comparison_table(comparison) + tables.runs_table(comparison)
    values = dict(re.findall(r'data-testid="([^"]+)" data-value="([^"]+)"', page))
    paired = comparison.paired.set_index("metric")
    assert float(values["difference-smuggled_h100e_total"]) == paired.loc["smuggled_h100e_total", "difference"]
    assert (
        float(values["chosen-access_ratio-high"])
        == comparison.metrics["chosen"].set_index("metric").loc["access_ratio", "ci_high"]
    )
    for side, batch in (("chosen", comparison.chosen), ("reference", comparison.reference)):
        for result in batch.results:
            for metric in compare.KEY_METRICS:
                exact = float(values[f"run-{side}-{result.config.seed}-{metric}"])
                assert exact == result.summary[metric] or (math.isnan(exact) and math.isnan(result.summary[metric]))


def test_numbers_are_shown_readably():
    assert tables.fmt(1234567.8) == "1,234,568"
    assert tables.fmt(0.0021268) == "0.002127"
    assert tables.fmt(float("nan")) == "–"
    assert tables.fmt(np.int64(58)) == "58"
    assert tables.fmt(True) == "True"


def test_charts_draw_the_band_means_and_mark_the_rule_changes(comparison, chosen):
    columns = {"chosen": compare.chart_columns(chosen), "reference": compare.chart_columns(comparison.reference.config)}
    events = {
        "chosen": charts.timeline_events(chosen),
        "reference": charts.timeline_events(comparison.reference.config),
    }
    assert [e[1:3] for e in events["chosen"]][:2] == [("2025-04", "h20_licence"), ("2025-05", "diffusion_rule")]
    figures = charts.side_by_side(comparison.bands, columns, events)
    ax = figures["chosen"]["access"].axes[0]
    bands = comparison.bands["chosen"].set_index(["column", "month"])
    line = next(line for line in ax.lines if line.get_gid() == "access_smuggling")
    months = sorted(set(comparison.bands["chosen"]["month"]))
    np.testing.assert_array_equal(line.get_ydata(), [bands.loc[("access_smuggling", m), "mean"] for m in months])
    marked = sorted(line.get_xdata()[0] for line in ax.lines if line.get_gid() == "event")
    assert marked == [months.index(m) for _, m, _, _ in events["chosen"] if m in months]
    for name in ("access", "hubs", "detection", "prices"):  # the two sides on one scale
        assert figures["chosen"][name].axes[0].get_ylim() == figures["reference"][name].axes[0].get_ylim()
    assert charts.png(figures["chosen"]["hubs"]).startswith(b"\x89PNG")


def test_stepper_pictures(chosen):
    stepper = Stepper(chosen)
    stepper.step(4)
    for figure in (charts.firm_mix(stepper.firms()), charts.hub_agents(stepper.hubs())):
        assert charts.png(figure).startswith(b"\x89PNG")


# ------------------------------------------------------------------------------------------- command


def test_the_command_has_help():
    done = subprocess.run([sys.executable, "-m", "sim.explore", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "--port" in done.stdout and "--host" in done.stdout


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--port", "99999", "from 0 to 65535, got 99999"),
        ("--port", "-1", "from 0 to 65535, got -1"),
        ("--workers", "-2", "of at least 0, got -2"),
    ],
)
def test_a_port_or_worker_count_out_of_range_is_refused_with_exit_2(option, value, said, capsys):
    from sim.explore import __main__ as explore_command

    with pytest.raises(SystemExit) as stopped:
        explore_command.main([option, value])
    assert stopped.value.code == 2
    assert f"argument {option}: expected a whole number {said}" in capsys.readouterr().err


def test_without_solara_the_command_says_how_to_install_it_and_exits_2(monkeypatch, capsys):
    from sim.explore import __main__ as explore_command

    monkeypatch.setattr(explore_command.importlib.util, "find_spec", lambda name: None)
    assert explore_command.main([]) == 2
    assert "pip install -e '.[explore]'" in capsys.readouterr().err


def test_the_command_serves_the_app_with_solara():
    from sim.explore.__main__ import command

    line = command("127.0.0.1", 8899)
    assert line[1:5] == ["-m", "solara", "run", "sim.explore.app"]
    assert line[line.index("--port") + 1] == "8899" and line[line.index("--host") + 1] == "127.0.0.1"


def test_the_pages_npm_packages_are_read_from_solaras_template(tmp_path: Path):
    assets = pytest.importorskip("sim.explore.assets")
    specs = assets.packages()
    assert any("solara-vuetify" in s for s in specs) and any(s.startswith("requirejs@") for s in specs)
    assert assets.missing(tmp_path) == specs
