"""The report: figures that fit a sweep, written as PDF, PNG, CSV and a caption, with honest samples.

Nothing is pooled unless asked: factors a figure does not show are held (and said so), pooled
ones are marginal means over replications (and said so). One subprocess checks the report
command's exit code and output; the rest runs in this process.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.report import tables
from sim.report.__main__ import main
from sim.report.specs import QUICK_NOTE, SPECS, draw, is_reduced, report
from sim.report.studies import STUDIES_DIR, quick_overrides, study_names
from sim.sweep import load, load_experiment, start_sweep
from sim.sweep.analysis import contrast_timeseries
from sim.sweep.experiment import parse_experiment

SCENARIOS = ["baseline", "crackdown_singapore"]


@pytest.fixture(scope="module")
def scenario_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two scenarios x 3 replications of 6 months."""
    experiment = parse_experiment(
        {
            "name": "two_scenarios",
            "overrides": ["months=6"],
            "design": {"kind": "factorial"},
            "levers": {"scenario": SCENARIOS},
            "replications": 3,
            "seed": 5,
            "executor": {"kind": "serial"},
        }
    )
    return start_sweep(experiment, tmp_path_factory.mktemp("report"), progress=False).path


@pytest.fixture(scope="module")
def smoke_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("smoke")
    return start_sweep(load_experiment("smoke", ["executor.kind=serial"]), root, progress=False).path


def test_report_writes_pdf_png_and_csv_for_the_smoke_sweep(smoke_sweep: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sim.report", str(smoke_sweep)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    listed = [Path(line) for line in done.stdout.splitlines() if not line.startswith("  ")]
    names = {p.stem for p in listed}
    assert names == {"heatmaps", "detection_curves"}  # two numeric factors, no scenario factor
    captions = [line for line in done.stdout.splitlines() if line.startswith("  ")]
    assert len(captions) == 2 and all("Intervals: 95% t-interval" in c for c in captions)
    for name in names:
        for suffix in (".pdf", ".png", ".csv", ".json"):
            path = smoke_sweep / "figures" / f"{name}{suffix}"
            assert path in listed and path.stat().st_size > 200
    assert (smoke_sweep / "figures" / "heatmaps.pdf").read_bytes().startswith(b"%PDF")


@pytest.fixture(scope="module")
def scenario_report(scenario_sweep: Path) -> list[Path]:
    """The files of the scenario sweep's report, in the slides theme."""
    return report(scenario_sweep, "slides")


def test_scenario_sweep_gets_access_prices_hub_flows_and_differences(scenario_report: list[Path]) -> None:
    assert {p.stem for p in scenario_report} == {"access_by_source", "prices", "hub_flows", "hub_differences"}
    assert all(p.is_file() for p in scenario_report)


def test_slides_go_to_their_own_folder(scenario_sweep: Path, scenario_report: list[Path]) -> None:
    assert {p.parent for p in scenario_report} == {scenario_sweep / "figures" / "slides"}


def test_saved_figures_are_no_wider_than_their_page(smoke_sweep: Path, scenario_report: list[Path]) -> None:
    subprocess.run([sys.executable, "-m", "sim.report", str(smoke_sweep)], capture_output=True, timeout=300, check=True)
    from matplotlib.image import imread

    from sim.report.specs import PNG_DPI
    from sim.report.style import WIDTHS_IN

    pages = [(smoke_sweep / "figures", "paper"), (scenario_report[0].parent, "slides")]
    for folder, theme in pages:
        widest_in = max(WIDTHS_IN[theme].values())
        pngs = list(folder.glob("*.png"))
        assert pngs, folder
        for png in pngs:
            assert imread(png).shape[1] <= widest_in * PNG_DPI + 1, png  # nothing spills past the column


def test_bands_equal_an_independent_computation(scenario_sweep: Path) -> None:
    sweep = load(scenario_sweep)
    table = tables.access_table(sweep, tables.select(sweep, ["scenario"])).set_index(["scenario", "source", "month"])
    ts = pd.read_parquet(scenario_sweep / "timeseries")
    runs = pd.read_parquet(scenario_sweep / "runs")
    design = pd.read_parquet(scenario_sweep / "design.parquet")
    scenario_of = runs.merge(design, on="point_id").set_index("run_id")["scenario"]
    for scenario in SCENARIOS:
        for month in ("2025-01", "2025-06"):
            chosen = ts[(ts["run_id"].map(scenario_of) == scenario) & (ts["month"] == month)]
            values = chosen["access_smuggling"].to_numpy()
            n = len(values)
            half = stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n)
            row = table.loc[(scenario, "smuggling", month)]
            assert row["n"] == n == 3
            np.testing.assert_allclose(
                [row["mean"], row["ci_low"], row["ci_high"]],
                [values.mean(), max(0.0, values.mean() - half), values.mean() + half],  # volumes: no band below 0
            )
    flows = tables.hub_flows_table(sweep, tables.select(sweep, ["scenario"]))
    assert (table["ci_low"].dropna() >= 0).all() and (flows["ci_low"].dropna() >= 0).all()


def test_csv_holds_exactly_the_plotted_table(scenario_sweep: Path, scenario_report: list[Path]) -> None:
    assert scenario_sweep / "figures" / "slides" / "hub_flows.csv" in scenario_report
    written = pd.read_csv(scenario_sweep / "figures" / "slides" / "hub_flows.csv")
    sweep = load(scenario_sweep)
    expected = tables.hub_flows_table(sweep, tables.select(sweep, ["scenario"])).reset_index(drop=True)
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)


def test_report_of_a_folder_that_is_no_sweep_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path)]) == 2
    assert "not a sweep folder" in capsys.readouterr().err


def test_every_study_has_a_readme_with_its_command_and_an_experiment() -> None:
    expected = {"compute_access_2025", "audits_vs_caps", "crackdown_displacement", "sensitivity", "prices"}
    assert expected <= set(study_names())
    for name in study_names():
        readme = (STUDIES_DIR / name / "README.md").read_text()
        assert f"python -m sim.report.studies {name}" in readme
        assert "## Question" in readme and "## What the figures show" in readme
        load_experiment(name)


def test_hub_differences_are_the_paired_contrast(scenario_sweep: Path) -> None:
    sweep = load(scenario_sweep)
    table = tables.hub_differences_table(sweep, tables.select(sweep, ["scenario"]))
    table = table.set_index(["hub", "month"])
    a, b = {"scenario": SCENARIOS[1]}, {"scenario": SCENARIOS[0]}
    direct = contrast_timeseries(sweep, a, b, ["orders_hub_singapore_h100e"]).set_index("month")
    mine = table.loc["singapore"]
    np.testing.assert_allclose(mine["mean"], direct["difference"])
    np.testing.assert_allclose(mine["ci_low"].fillna(0), direct["ci_low"].fillna(0))
    assert set(table["scenario"]) == {SCENARIOS[1]} and set(table["reference"]) == {SCENARIOS[0]}


@pytest.fixture(scope="module")
def two_factor_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two scenarios x two temperatures x 3 replications of 4 months."""
    experiment = parse_experiment(
        {
            "name": "two_factors",
            "overrides": ["months=4"],
            "design": {"kind": "factorial"},
            "levers": {"scenario": SCENARIOS},
            "uncertainties": {"behaviour.temperature": [0.05, 0.3]},
            "replications": 3,
            "seed": 9,
            "executor": {"kind": "serial"},
        }
    )
    return start_sweep(experiment, tmp_path_factory.mktemp("two"), progress=False).path


ACCESS = next(spec for spec in SPECS if spec.name == "access_by_source")


def footnote(drawn) -> str:
    return " ".join(t.get_text() for t in drawn.figure.texts).replace("\n", " ")


def test_a_factor_a_figure_does_not_show_is_held_and_the_figure_says_so(two_factor_sweep: Path) -> None:
    sweep = load(two_factor_sweep)
    drawn = draw(ACCESS, sweep)
    assert drawn.sample["held"] == {"behaviour.temperature": 0.05} and drawn.sample["pooled"] == {}
    assert (drawn.sample["n_min"], drawn.sample["n_max"]) == (3, 3)  # replications, not runs
    assert "Held: Temperature (ratio) = 0.05." in drawn.caption
    assert "Temperature (ratio) = 0.05" in footnote(drawn) and "n = 3 replications" in footnote(drawn)
    renderer = drawn.figure.canvas.get_renderer()
    (text,) = drawn.figure.texts
    assert text.get_window_extent(renderer).width <= drawn.figure.bbox.width  # wrapped to the figure
    below = text.get_window_extent(renderer).y1
    for legend in [*drawn.figure.legends, *(ax.get_legend() for ax in drawn.figure.axes if ax.get_legend())]:
        assert legend.get_window_extent(renderer).y0 >= below  # under every legend, not over one
    runs = sweep.runs
    chosen = runs[(runs["scenario"] == "baseline") & (runs["behaviour.temperature"] == 0.05)]["run_id"]
    ts = sweep.timeseries(["access_smuggling"], run_ids=chosen.tolist())
    expected = ts[ts["month"] == "2025-03"]["access_smuggling"].mean()
    row = drawn.table.set_index(["scenario", "source", "month"]).loc[("baseline", "smuggling", "2025-03")]
    assert row["mean"] == pytest.approx(expected)


def test_pooling_is_a_marginal_mean_over_replications_and_is_labelled(two_factor_sweep: Path) -> None:
    sweep = load(two_factor_sweep)
    drawn = draw(ACCESS, sweep, pool=["behaviour.temperature"])
    assert drawn.sample["pooled"] == {"behaviour.temperature": 2} and drawn.sample["held"] == {}
    assert drawn.sample["n_max"] == 3  # each replication averaged over the 2 temperatures: n stays 3
    assert "Marginal means over Temperature (ratio) (2 values)" in drawn.caption
    assert "Marginal means" in footnote(drawn)
    runs = sweep.runs[sweep.runs["scenario"] == "baseline"]
    ts = sweep.timeseries(["access_smuggling"], run_ids=runs["run_id"].tolist()).merge(runs, on="run_id")
    per_replication = ts[ts["month"] == "2025-02"].groupby("replication")["access_smuggling"].mean()
    row = drawn.table.set_index(["scenario", "source", "month"]).loc[("baseline", "smuggling", "2025-02")]
    half = stats.t.ppf(0.975, 2) * per_replication.std(ddof=1) / math.sqrt(3)
    np.testing.assert_allclose([row["mean"], row["ci_high"]], [per_replication.mean(), per_replication.mean() + half])


def test_a_held_value_can_be_chosen_and_a_wrong_one_is_refused(two_factor_sweep: Path, capsys) -> None:
    drawn = draw(ACCESS, load(two_factor_sweep), hold={"behaviour.temperature": 0.3})
    assert drawn.sample["held"] == {"behaviour.temperature": 0.3}
    assert main([str(two_factor_sweep), "--hold", "behaviour.temperature=0.7"]) == 2
    assert "behaviour.temperature=0.7 is not in the design; its values: 0.05, 0.3" in capsys.readouterr().err
    assert main([str(two_factor_sweep), "--pool", "nope"]) == 2
    assert "nope is not a factor" in capsys.readouterr().err


def test_a_factor_pooled_or_held_when_reporting_outranks_the_experiments_own_choice(
    two_factor_sweep: Path, tmp_path: Path, capsys
) -> None:
    copy = Path(shutil.copytree(two_factor_sweep, tmp_path / "held"))
    manifest = json.loads((copy / "manifest.json").read_text())
    for chosen in ({"hold": {"behaviour.temperature": 0.3}}, {"pool": ["behaviour.temperature"]}):
        manifest["experiment"]["report"] = chosen
        (copy / "manifest.json").write_text(json.dumps(manifest))
        assert main([str(copy), "--pool", "behaviour.temperature"]) == 0
        sample = json.loads((copy / "figures" / "access_by_source.json").read_text())["sample"]
        assert sample["pooled"] == {"behaviour.temperature": 2} and sample["held"] == {}
        assert main([str(copy), "--hold", "behaviour.temperature=0.05"]) == 0
        sample = json.loads((copy / "figures" / "access_by_source.json").read_text())["sample"]
        assert sample["held"] == {"behaviour.temperature": 0.05} and sample["pooled"] == {}
    assert main([str(copy), "--pool", "behaviour.temperature", "--hold", "behaviour.temperature=0.05"]) == 2
    assert "behaviour.temperature is both pooled and held; pick one" in capsys.readouterr().err


def test_every_sidecar_states_its_sample_and_a_quick_run_says_so(two_factor_sweep: Path) -> None:
    written = report(two_factor_sweep, quick=True)
    sidecars = [json.loads(p.read_text()) for p in written if p.suffix == ".json"]
    assert {s["figure"] for s in sidecars} == {"access_by_source", "prices", "hub_flows", "hub_differences"}
    for sidecar in sidecars:
        assert sidecar["quick"] and QUICK_NOTE in sidecar["caption"]
        assert sidecar["sample"]["interval"] and "n_min" in sidecar["sample"]
        assert "Runs of the scenarios shown, 2025-01 to 2025-04, with months=4." in sidecar["caption"]
    drawn = draw(ACCESS, load(two_factor_sweep), quick=True)
    assert QUICK_NOTE in footnote(drawn)


def test_a_sweep_with_fewer_replications_than_its_file_is_marked_quick_however_it_is_redrawn(tmp_path: Path) -> None:
    source = tmp_path / "small.yaml"
    text = (
        "name: small\noverrides: [months=2]\ndesign: {kind: factorial}\n"
        "levers: {behaviour.front_load_months: [1, 6]}\nreplications: 1\nseed: 3\nexecutor: {kind: serial}\n"
    )
    source.write_text(text)
    path = start_sweep(load_experiment(str(source)), tmp_path / "sweeps", progress=False).path
    assert not is_reduced(load(path))  # as its file asks
    source.write_text(text.replace("replications: 1", "replications: 10"))  # the study asks for more
    assert is_reduced(load(path))
    sidecars = [json.loads(p.read_text()) for p in report(path) if p.suffix == ".json"]
    assert sidecars and all(s["quick"] and QUICK_NOTE in s["caption"] for s in sidecars)
    source.unlink()  # a sweep whose file is gone is taken as it ran
    assert not is_reduced(load(path))
    manifest = path / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"runs": 2,', '"runs": 3,'))  # one run not finished
    assert is_reduced(load(path))


def test_quick_studies_run_about_a_tenth() -> None:
    assert quick_overrides(load_experiment("compute_access_2025")) == ["replications=2"]
    assert quick_overrides(load_experiment("sensitivity")) == ["design.samples=128"]  # of 1024


def test_an_experiment_chooses_its_heatmaps_metrics_in_order(tmp_path: Path) -> None:
    from sim.report.specs import heatmap_metrics

    experiment = load_experiment(
        "smoke", ["executor.kind=serial", "+report.metrics=[smuggled_h100e_total,access_ratio]"]
    )
    sweep = load(start_sweep(experiment, tmp_path, progress=False).path)
    assert heatmap_metrics(sweep) == ["smuggled_h100e_total", "access_ratio"]
    drawn = draw(next(s for s in SPECS if s.name == "heatmaps"), sweep)
    assert list(dict.fromkeys(drawn.table["metric"])) == ["smuggled_h100e_total", "access_ratio"]
    assert drawn.caption.startswith("Chips smuggled over the run (H100e) and Access ratio")


def test_the_sample_counts_replications_of_the_plotted_values_only() -> None:
    table = pd.DataFrame({"mean": [0.1, np.nan, 0.3], "n": [2, 0, 2]})  # a channel never attempted: not drawn
    sample = tables.Selection(shown=("channel",)).sample(table)
    assert (sample["n_min"], sample["n_max"]) == (2, 2)
    assert tables.Selection(shown=()).sample(pd.DataFrame({"mean": [np.nan], "n": [0]}))["n_min"] is None
