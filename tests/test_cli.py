"""The command line: a run writes its files from any folder; bad input exits 2 with a message.

One subprocess per command checks its exit code, output and files; the rest runs in this process.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import math
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.font_manager import FontProperties
from numpy.testing import assert_allclose
from scipy import stats

import sim.__main__ as cli
from sim import Config, load_config
from sim.commands import counted
from sim.loading import GROUPS, group_options, lever_groups, timeline_warnings
from sim.report import one_run
from sim.report.figures import EVENT_GID
from sim.report.names import SOURCE_ORDER, event_marks, label
from sim.results import changes_slug, read_run, write_run
from sim.run import run
from sim.settings_file import save_settings, settings_overrides
from sim.timeline import month_labels
from tests.conftest import signal_once_ready

UNITS = ("%", "H100e", "H100e-months", "entities")


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def table_rows(stdout: str) -> dict[str, str]:
    """The printed table's rows: label to the text after it (value(s) and unit)."""
    rows = {}
    for row in cli.SUMMARY_ROWS:
        (line,) = [line for line in stdout.splitlines() if line.startswith(f"  {row.text}  ")]
        rows[row.text] = line[len(row.text) + 2 :].strip()
    return rows


def test_run_writes_results_where_it_is_called(tmp_path: Path) -> None:
    done = run_cli("scenario=crackdown_singapore", "policy.end_user_audits.audit_rate=0.2", "seed=7", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip().splitlines()[-1])
    assert folder.parent.parent == (tmp_path / "results" / "runs").resolve()
    assert folder.parent.name == "crackdown_singapore"
    assert folder.name.endswith("_policy.end_user_audits.audit_rate=0.2,seed=7")
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert config["seed"] == 7 and config["policy"]["end_user_audits"]["audit_rate"] == 0.2
    ts = pd.read_parquet(folder / "timeseries.parquet")
    assert list(ts["month"]) == month_labels("2025-01", 36)
    summary = json.loads((folder / "summary.json").read_text())
    manifest = json.loads((folder / "manifest.json").read_text())
    assert summary["seed"] == manifest["seed"] == 7
    assert summary["config_hash"] == manifest["config_hash"]
    assert manifest["overrides"] == ["scenario=crackdown_singapore", "policy.end_user_audits.audit_rate=0.2", "seed=7"]
    assert {"mesa", "numpy", "pydantic"} <= set(manifest["packages"])
    assert (folder / "access_by_source.png").stat().st_size > 10_000
    read_ts, read_summary = read_run(folder)
    pd.testing.assert_frame_equal(read_ts, ts)
    assert read_summary.keys() == summary.keys()
    for key, value in read_summary.items():  # the file's nulls read back as NaN
        assert math.isnan(value) if summary[key] is None else value == summary[key], key
    assert done.stdout.startswith(
        "scenario crackdown_singapore; changed: policy.end_user_audits.audit_rate=0.2 seed=7\n"
        "2025-01 to 2027-12 (36 months), one seed (7): numbers vary from seed to seed; "
        "use replications=10 for an interval\n"
    )
    assert (folder / "table.txt").read_text() == "\n".join(done.stdout.splitlines()[:-1]) + "\n"


def test_the_header_folder_and_warning_name_the_overrides(tmp_path: Path) -> None:
    args = ("policy=strict", "behaviour.temperature=0.5", "start=2025-06", "world.as_of=2025-06", "months=3")
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"scenario baseline; changed: {' '.join(args)}"
    assert "one seed (0): numbers vary from seed to seed; use replications=10 for an interval" in done.stdout
    folder = Path(done.stdout.strip().splitlines()[-1])
    assert folder.parent.name == "baseline" and folder.name.endswith("_" + ",".join(args))
    assert json.loads((folder / "manifest.json").read_text())["overrides"] == list(args)
    # strict bans compliant chips; the baseline's timeline allows them again from 2025-08
    assert done.stderr.splitlines() == [
        "warning: the timeline event 'h20_resumed' sets policy.compliant_chips.allowed to true from 2025-08, "
        "overriding your value (false, set by policy=strict); to keep yours, drop the event with "
        "~timeline.h20_resumed"
    ]
    # one unit per kind, and each value as summary.json has it
    summary = json.loads((folder / "summary.json").read_text())
    rows = table_rows(done.stdout)
    for row in cli.SUMMARY_ROWS:
        value = summary[row.key]
        shown = f"{100 * value:.1f}" if row.unit == "%" else f"{value:,.0f}"
        assert rows[row.text] == f"{shown} {row.unit}"
    shares = [float(rows[f"share of compute used: {label(s).lower()}"].split()[0]) for s in SOURCE_ORDER]
    assert sum(shares) == pytest.approx(100.0, abs=0.05 * len(shares))
    assert "legitimate demand denied: compute that lawful customers of data centres abroad" in done.stdout


def test_summary_json_is_standard_json_with_null_for_nan(tmp_path: Path) -> None:
    result = run(load_config(["policy=none", "months=2"]))  # no controls: nothing is detected
    assert math.isnan(result.summary["first_detection_month"])

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    folder = write_run(result, tmp_path)
    written = json.loads((folder / "summary.json").read_text(), parse_constant=refuse)
    assert written["first_detection_month"] is None
    read = read_run(folder)[1]
    assert math.isnan(read["first_detection_month"])
    assert {k: v for k, v in read.items() if k != "config_hash"} == pytest.approx(result.summary, nan_ok=True)


def test_replications_give_the_mean_and_t_interval_of_the_single_runs(tmp_path: Path) -> None:
    done = run_cli("replications=3", "months=3", "seed=2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip().splitlines()[-1])
    assert folder.name.endswith("_months=3,seed=2,replications=3")
    assert "3 seeds (2-4): mean over seeds [95% t interval of the mean]" in done.stdout.splitlines()[1]
    singles = [run(load_config(["months=3", f"seed={seed}"])) for seed in (2, 3, 4)]
    for single in singles:  # each seed's folder holds the run it would be alone
        written = json.loads((folder / f"seed_{single.config.seed}" / "summary.json").read_text())
        assert written["access_ratio"] == single.summary["access_ratio"]
        assert (folder / f"seed_{single.config.seed}" / "timeseries.parquet").is_file()
    seeds = pd.read_csv(folder / "seeds.csv")
    assert list(seeds["seed"]) == [2, 3, 4]
    summary = pd.read_csv(folder / "summary.csv").set_index("metric")
    rows = table_rows(done.stdout)
    for key, unit in (("access_ratio", "%"), ("smuggled_h100e_total", "H100e")):
        values = pd.Series([s.summary[key] for s in singles])
        mean = values.mean()
        half = stats.t.ppf(0.975, 2) * values.std() / 3**0.5
        assert summary.loc[key, "mean"] == pytest.approx(mean, rel=1e-12)
        assert summary.loc[key, "ci_low"] == pytest.approx(max(0.0, mean - half), rel=1e-9)
        assert summary.loc[key, "ci_high"] == pytest.approx(mean + half, rel=1e-9)
        scale, fmt = (100, "{:.1f}") if unit == "%" else (1, "{:,.0f}")
        low, high = max(0.0, mean - half) * scale, (mean + half) * scale
        expected = f"{fmt.format(mean * scale)} [{fmt.format(low)}, {fmt.format(high)}]"
        assert re.sub(r"\s+", " ", rows[cli.SUMMARY_ROWS[[r.key for r in cli.SUMMARY_ROWS].index(key)].text]) == (
            f"{expected} {unit}"
        )
    assert (folder / "access_by_source.png").is_file() and (folder / "table.txt").is_file()


def test_a_settings_file_runs_with_overrides_on_top(tmp_path: Path) -> None:
    save_settings(
        tmp_path / "my.yaml",
        "crackdown_singapore",
        {"policy.enforcement.audit_budget_per_month": 8, "world.hubs.singapore.cargo_inspection_rate": 0.25},
    )
    done = run_cli("settings=my.yaml", "months=3", "policy.enforcement.audit_budget_per_month=9", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip().splitlines()[-1])
    assert folder.parent.name == "crackdown_singapore"
    assert folder.name.endswith("_settings=my.yaml,months=3,policy.enforcement.audit_budget_per_month=9")
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert config["policy"]["enforcement"]["audit_budget_per_month"] == 9  # the later override wins
    assert config["world"]["hubs"]["singapore"]["cargo_inspection_rate"] == 0.25
    assert done.stdout.splitlines()[:2] == [
        "scenario crackdown_singapore; changed: settings=my.yaml months=3 policy.enforcement.audit_budget_per_month=9",
        "  settings=my.yaml sets: policy.enforcement.audit_budget_per_month=8 "
        "world.hubs.singapore.cargo_inspection_rate=0.25",
    ]
    assert done.stderr.splitlines() == [
        "warning: the timeline event 'singapore_crackdown' sets world.hubs.singapore.cargo_inspection_rate to 0.3 "
        "from 2025-03, overriding your value (0.25, set by world.hubs.singapore.cargo_inspection_rate=0.25); "
        "to keep yours, drop the event with ~timeline.singapore_crackdown"
    ]


@pytest.mark.parametrize(
    "flags", [["--info"], ["-i", "months=2"], ["--info", "defaults"], ["--hydra-help", "months=2"]]
)
def test_hydras_information_flags_print_and_exit_0(tmp_path: Path, flags: list[str]) -> None:
    done = run_cli(*flags, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "results").exists()  # nothing ran


def test_multirun_writes_one_run_per_job(tmp_path: Path) -> None:
    done = run_cli("-m", "months=2", "seed=0,1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (multirun,) = (tmp_path / "results" / "multirun").iterdir()
    seeds = [json.loads((multirun / job / "summary.json").read_text())["seed"] for job in ("0", "1")]
    assert seeds == [0, 1]
    assert sorted(p.name for p in multirun.iterdir()) == ["0", "1", "multirun.yaml"]
    assert "scenario baseline; changed: months=2 seed=1" in done.stdout
    done = run_cli("-m", "months=2", "policy.enforcement.escalation.customs_multiplier=3,4", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr.startswith(  # a grid warns as a single run does
        "warning: in the grid's first job, policy.enforcement.escalation.customs_multiplier=3 changes nothing"
    ), done.stderr


def test_grids_started_in_the_same_second_get_folders_of_their_own(tmp_path: Path) -> None:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parent = tmp_path / "it's a folder" / "multirun"  # a space and a quote survive Hydra's parsing
    made = [OverridesParser.create().parse_override(cli._sweep_dir(parent)).value() for _ in range(3)]
    assert len(set(made)) == 3 and all(Path(folder).parent == parent and Path(folder).is_dir() for folder in made)


def test_paths_results_moves_the_output(tmp_path: Path) -> None:
    result, folder = cli.run_and_write(
        load_config(["months=3", f"paths.results={tmp_path / 'elsewhere'}"]), changes=["months=3"]
    )
    assert folder.parent == tmp_path / "elsewhere" / "runs" / "baseline"
    assert folder.name.endswith("_months=3")
    assert (folder / "access_by_source.png").is_file()
    table = cli.summary_table(result, ["months=3"])
    assert table.startswith("scenario baseline; changed: months=3\n")
    for source in SOURCE_ORDER:
        assert f"share of compute used: {label(source).lower()}" in table
    assert cli.summary_table(result).startswith("scenario baseline, as configured (no overrides)\n")
    for line in table.splitlines()[3 : 3 + len(cli.SUMMARY_ROWS)]:
        assert line.split()[-1] in UNITS and re.search(r"\d", line), line
    assert re.search(r"^  chips smuggled +\d{1,3}(,\d{3})* H100e$", table, re.MULTILINE)


def test_counts_read_as_words() -> None:
    assert [counted(1, "month"), counted(6, "point"), counted(1000, "run")] == ["1 month", "6 points", "1,000 runs"]


def test_the_chart_title_and_folder_say_what_was_changed() -> None:
    assert one_run.chart_title("baseline", [0], []) == "Baseline, seed 0"
    changes = ["policy=strict", "behaviour.temperature=0.5", "months=24"]
    title = one_run.chart_title("baseline", [0], changes)
    assert title == "Baseline, seed 0\nchanged: policy=strict behaviour.temperature=0.5 months=24"
    assert one_run.chart_title("no_controls", [0, 1, 2], ["months=2"]).startswith("No controls, mean of 3 seeds (0-2)")
    many = [f"world.hubs.singapore.cargo_inspection_rate=0.{i}" for i in range(1, 9)]
    assert "8 changes, hash " in one_run.chart_title("baseline", [0], many)
    assert changes_slug(changes) == "policy=strict,behaviour.temperature=0.5,months=24"
    assert changes_slug(["seeds=1,5,9", "description='a b/c'"]) == "seeds=1+5+9,description=-a-b-c-"
    assert re.fullmatch(r"changes-[0-9a-f]{8}", changes_slug(many))
    assert changes_slug([]) == ""
    result = run(load_config(["months=2"]))
    fig = one_run.figure(one_run.access_by_source_table(result.timeseries), title)
    assert fig.axes[0].get_title() == title


def test_the_chart_of_replications_bands_total_access_and_each_offshore_channel() -> None:
    results = [run(load_config(["months=4", f"seed={seed}"])) for seed in (0, 1, 2)]
    table = one_run.mean_access_table(results).set_index(["source", "month"])
    half = stats.t.ppf(0.975, 2) / 3**0.5
    for source, column in (("total", "access_h100e_months"), ("smuggling", "access_smuggling")):
        values = np.array([r.timeseries[column].to_numpy() for r in results])  # (seeds x months)
        mean, std = values.mean(axis=0), values.std(axis=0, ddof=1)
        rows = table.loc[source]
        assert_allclose(rows["mean"], mean, rtol=1e-12)
        assert_allclose(rows["ci_low"], np.maximum(0.0, mean - half * std), rtol=1e-9, atol=1e-9)
        assert_allclose(rows["ci_high"], mean + half * std, rtol=1e-9)
    assert table.loc["stockpile", "ci_low"].isna().all()  # the stack's layers carry no band of their own


def test_the_chart_of_one_run_marks_the_rule_changes_within_it() -> None:
    result = run(load_config(["months=6"]))  # 2025-01 to 2025-06
    marks = event_marks(result.config)
    assert marks[:2] == (("2025-04", "H20 licence"), ("2025-05", "Diffusion Rule rescinded"))
    fig = one_run.figure(one_run.access_by_source_table(result.timeseries), "title", marks)
    top = fig.axes[0]
    assert len([line for line in top.lines if line.get_gid() == EVENT_GID]) == 2  # the later events are after the run
    legend = [t.get_text() for t in fig.legends[0].get_texts()] if fig.legends else []
    legend += [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert "1: H20 licence (2025-04)" in legend and not any(t.startswith("3:") for t in legend)
    fig.draw_without_rendering()
    numbers = [text.get_window_extent().y1 for text in top.texts if text.get_gid() == EVENT_GID]
    assert top.title.get_window_extent().y0 >= max(numbers)  # the run's title stands above the event numbers
    assert top.title.get_fontsize() == FontProperties(size="small").get_size_in_points()  # kept small
    bottom = fig.axes[1]
    labels = [tick.get_text() for tick in bottom.get_xticklabels() if tick.get_text()]
    assert labels == ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]  # a short run: by month


def test_replications_in_worker_processes_equal_those_in_this_one() -> None:
    configs = [load_config(["months=2", f"seed={seed}"]) for seed in (0, 1)]
    pooled, serial = cli.run_seeds(configs, workers=2), cli.run_seeds(configs, workers=1)
    for a, b in zip(pooled, serial, strict=True):
        pd.testing.assert_frame_equal(a.timeseries, b.timeseries)


@pytest.mark.parametrize(
    ("overrides", "messages"),
    [
        (["months=3"], []),
        (["policy=strict", "months=6"], []),  # h20_resumed (2025-08) is after the run
        (
            ["policy.compliant_chips.allowed=true", "months=6"],
            [
                "the timeline event 'h20_licence' sets policy.compliant_chips.allowed to false from 2025-04, "
                "overriding your value (true, set by policy.compliant_chips.allowed=true); to keep yours, drop "
                "the event with ~timeline.h20_licence"
            ],
        ),
        (["policy=strict", "~timeline.h20_resumed"], []),
        (["policy.compliant_chips.surcharge_share=0.15", "months=8"], []),  # h20_resumed sets the same value
        (
            ["months=6", "timeline.h200_approved.month=2025-09"],
            [
                "your timeline event 'h200_approved' takes effect in 2025-09, after the run's last month (2025-06): "
                "it changes nothing; months=9 would reach it"
            ],
        ),
        (["months=6", "timeline.h200_approved.month=2025-06"], []),  # the run's last month: it acts
        (["months=6", "timeline.h20_licence.month=2025-09"], []),  # announced in 2025-01: firms buy ahead
    ],
)
def test_a_timeline_event_overriding_a_value_you_set_is_named(overrides: list[str], messages: list[str]) -> None:
    assert timeline_warnings(load_config(overrides), overrides) == messages


@pytest.mark.parametrize(
    ("overrides", "messages"),
    [
        (
            ["policy.country_caps.tier2_cap_h100e_per_year=1000", "months=6"],
            [
                "policy.country_caps.tier2_cap_h100e_per_year=1000 changes nothing: the run (seed 0) is the same "
                "without it; policy.country_caps.enabled is false"
            ],
        ),
        (
            ["policy.remote_access.kyc_min_strictness=0.9", "months=6"],
            [
                "policy.remote_access.kyc_min_strictness=0.9 changes nothing: the run (seed 0) is the same without "
                "it; policy.remote_access.kyc_required is false; policy.remote_access.operator_audits is false"
            ],
        ),
        (["policy=strict", "policy.enforcement.escalation.customs_multiplier=3", "months=6"], []),  # switched on
        (["policy.entity_list.firm_listing_months=12", "months=6"], []),  # include_affiliates is no switch
        (["policy.end_user_audits.audit_rate=0.2", "months=6"], []),  # no switch above it
    ],
)
def test_a_value_a_switch_turns_off_is_named_when_it_changes_nothing(overrides: list[str], messages: list[str]) -> None:
    assert cli.no_effect_warnings(load_config(overrides), overrides) == messages


def test_the_command_prints_a_no_effect_warning_and_still_runs(tmp_path: Path) -> None:
    done = run_cli("policy.enforcement.escalation.customs_multiplier=3", "months=3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "warning: policy.enforcement.escalation.customs_multiplier=3 changes nothing: the run (seed 0) is the "
        "same without it; policy.enforcement.escalation.enabled is false"
    ]
    assert (Path(done.stdout.strip().splitlines()[-1]) / "summary.json").exists()


def test_help_lists_groups_options_and_keys_without_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["sim", "--help"])
    cli.main()
    out = capsys.readouterr().out
    groups_part = out.split("config groups")[1].split("\n\n")[0]
    for group in (*GROUPS, *lever_groups()):
        (line,) = [line for line in groups_part.splitlines() if line.split()[:1] == [group]]
        assert all(option in line for option in group_options(group))
    assert "jan2025*" in out and "experiment" not in out
    for key, info in Config.model_fields.items():
        assert re.search(rf"^  {key} +{re.escape(info.description[:20])}", out, re.MULTILINE), key
    assert "docs/config.md" in out and "replications=N" in out and "settings=FILE" in out
    assert len(out.splitlines()) < 80 and not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    "module",
    [
        "sim.docs",
        "sim.bench",
        "sim.validate",
        "sim.calibrate",
        "sim.sweep.__main__",
        "sim.sweep.summarize",
        "sim.sweep.sensitivity",
        "sim.sweep.contrast",
        "sim.report.__main__",
        "sim.report.studies",
    ],
)
def test_every_command_has_a_help(module: str, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    command = importlib.import_module(module)
    if module == "sim.docs":
        monkeypatch.setattr(command, "render", lambda: pytest.fail("--help regenerated the docs"))
    try:
        code = command.main(["--help"])
    except SystemExit as exited:
        code = exited.code
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith(f"usage: python -m {module.removesuffix('.__main__')}")
    assert len(out.splitlines()) > 5


def test_the_table_says_smuggling_breaks_no_rule_where_the_h100_is_sold_legally() -> None:
    legal = "is sold to China legally (policy.compliant_chips.chip=H100)"
    assert any(legal in note for note in cli.row_notes(load_config(["scenario=no_controls"])))
    assert not any(legal in note for note in cli.row_notes(load_config([])))
    assert cli.row_notes(load_config([])) == list(cli.ROW_NOTES)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["policy.end_user_audit.rate=0.1"], "Did you mean 'end_user_audits'?"),
        (["seed=-1"], "seed = -1"),
        (["policy.end_user_audits=0.3"], "is a section, not a value; set one of its keys"),
        (["world.hubs.malaysia.cargo_inspection_rate=1.5"], "value <= 1"),
        (["scenario=atlantis"], "allowed: baseline"),
        (["replications=1"], "replications=1: expected a whole number from 2"),
        (["seeds=5-2"], "seeds=5-2: expected a range of seeds A-B with A < B"),
        (["seeds=0-3", "seed=4"], "seed=4 and seeds=0-3: name seeds once"),
        (["-m", "replications=2", "months=2"], "do not combine with -m"),
        (["replications=3", "seeds=0-2"], "give one of replications=N or seeds=A-B"),
        (["settings=missing.yaml"], "settings=missing.yaml: cannot read it"),
        (["months"], "months: expected key=value"),
        (["-m", "seed"], "seed: expected key=value"),
        (["~timeline.h20_resumd"], "Did you mean 'h20_resumed'?"),
        (["~behaviour.temprature"], "unknown key 'behaviour.temprature'"),
        (["--cfg"], "--cfg needs a value"),
        (["--verison"], "--verison: unknown flag; this command's are -m, --help and --version"),
        (["--cfg", "months=2"], "--cfg needs a value"),
        (["-m", "policy.enforcement.audit_budget_per_month=2,-8", "months=2"], "audit_budget_per_month = -8"),
        (["-m", "scenario=baseline,atlantis", "months=2"], "scenario=atlantis: unknown scenario"),
        (["-m", "behaviour.news_weight=0.5,5", "behaviour.news_trials=1,20"], "news_weight=5 behaviour.news_trials=1"),
        (["-m", "seed=interval(0,1)"], "not interval(...)"),
        (["seed=1", "seed=2"], "seed=1 and seed=2: seed is given twice; give it once"),
        (["replications=2", "replications=3"], "replications=2 and replications=3: replications is given twice"),
        (["months=3", "+months=4"], "months=3 and +months=4: months is given twice"),
        (["hydra.run.dir=out"], "hydra.run.dir=out: this command does not use hydra.run.dir;"),
        (["--config-name", "foo"], "--config-name: Hydra's flag is not available here"),
        (["--shell-completion"], "--shell-completion: Hydra's flag is not available here"),
        (["-m", "months=2,3", "--cfg", "job"], "--cfg and -m: Hydra does one of them at a time; give one"),
        (["--info", "--cfg", "job"], "--cfg and --info: Hydra does one of them at a time"),
        (["hydra.sweep.dir=out"], "set paths.results=<folder> instead"),
        (["start=2030-01"], "start '2030-01' is not the month the world describes (world.as_of '2025-01'"),
    ],
)
def test_bad_input_exits_2_with_one_message(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    fragment: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["sim", *args])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == cli.EXIT_BAD_CONFIG == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("error: ") and stderr.count("error: ") == 1 and fragment in stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("module", "args", "fragment"),
    [
        ("sim.bench", ["--rounds", "0"], "argument --rounds: expected a whole number of at least 1, got 0"),
        ("sim.bench", ["--runs", "many"], "argument --runs: expected a whole number of at least 1, got 'many'"),
        ("sim.report.studies", ["--workers", "0"], "argument --workers: expected a whole number of at least 1"),
        ("sim.validate", ["--seeds", "1"], "argument --seeds: expected a whole number of at least 2, got 1"),
        ("sim.calibrate", ["--generations", "-3"], "argument --generations: expected a whole number of at least 1"),
    ],
)
def test_a_count_option_out_of_range_exits_2_naming_it(
    module: str, args: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        importlib.import_module(module).main(args)
    assert exited.value.code == 2
    assert fragment in capsys.readouterr().err


def test_a_command_whose_reader_goes_away_stops_quietly_with_141() -> None:
    code = (
        "from sim.commands import quiet_when_output_closes\n"
        "with quiet_when_output_closes():\n"
        "    for _ in range(100_000):\n"
        "        print('a line of a long table')\n"
    )
    reader = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout is not None and reader.stderr is not None
    assert reader.stdout.readline() == b"a line of a long table\n"
    reader.stdout.close()  # as ``| head -1`` does
    assert reader.wait(timeout=60) == 141
    assert reader.stderr.read() == b""


def test_the_studies_name_their_own_option_for_a_results_folder_they_cannot_make(
    capsys: pytest.CaptureFixture[str],
) -> None:
    studies = importlib.import_module("sim.report.studies")
    assert studies.main(["--quick", "--results", "/proc/exportsim"]) == 2
    assert capsys.readouterr().err.startswith("error: --results /proc/exportsim: cannot make it")


def test_a_grid_whose_every_combination_keeps_a_rule_across_keys_is_accepted() -> None:
    from sim.loading import check_multirun

    check_multirun(["behaviour.news_weight=0.5,5", "behaviour.news_trials=10,20", "months=1"])  # raises nothing


def test_a_deletion_and_hydras_flags_reach_the_config_and_hydra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    request = cli.parse_args(["~timeline.h20_resumed", "--cfg", "job", "months=2"])
    assert request.overrides == ["~timeline.h20_resumed", "months=2"]
    assert request.flags == ["--cfg", "job"]
    assert cli.parse_args(["--info", "config", "months=2"]).flags == ["--info", "config"]
    alone = cli.parse_args(["--info", "~timeline.h20_resumed"])  # its value named, so Hydra takes no override for it
    assert alone.overrides == ["~timeline.h20_resumed"] and alone.flags == ["--info", "all"]
    assert "h20_resumed" not in load_config(request.overrides).timeline
    monkeypatch.setattr(sys, "argv", ["sim", "--version"])
    cli.main()
    assert capsys.readouterr().out.strip() == f"exportsim {importlib.metadata.version('exportsim')}"


def test_a_bad_settings_file_names_itself_and_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    save_settings(tmp_path / "bad.yaml", "baseline", {"policy.enforcement.audit_budget": 8})
    (tmp_path / "not_settings.yaml").write_text("policy: strict\n")
    save_settings(tmp_path / "negative.yaml", "baseline", {"policy.enforcement.audit_budget_per_month": -8})
    (tmp_path / "typo.yaml").write_text("scenario: baseline\nsetting:\n  months: 3\n")
    (tmp_path / "no_scenario.yaml").write_text("settings:\n  behaviour.temperature: 0.2\n")
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe")
    (tmp_path / "nested.yaml").write_text(
        "scenario: baseline\nsettings: {policy: {end_user_audits: {audit_rate: 0.3}}}\n"
    )
    (tmp_path / "empty_section.yaml").write_text("scenario: baseline\nsettings: {policy: {}}\n")
    (tmp_path / "twice.yaml").write_text("scenario: baseline\nsettings:\n  months: 2\n  seed: 1\n  months: 3\n")
    monkeypatch.chdir(tmp_path)
    for name, start, end in (
        ("bad.yaml", "settings=bad.yaml: policy.enforcement.audit_budget=8: unknown key", "'audit_budget_per_month'?"),
        ("not_settings.yaml", "settings=not_settings.yaml: expected 'scenario: <name>'", "(unknown: policy.)"),
        ("negative.yaml", "settings=negative.yaml: invalid config: policy.enforcement.audit_budget_per_month = -8", ""),
        ("typo.yaml", "settings=typo.yaml: expected", "(unknown: setting. Did you mean 'settings'?)"),
        ("no_scenario.yaml", "settings=no_scenario.yaml: expected 'scenario: <name>'", "paths to values"),
        ("empty.yaml", "settings=empty.yaml: expected 'scenario: <name>'", "paths to values"),
        ("", "settings=: expected the path of a settings file", ""),
        ("binary.yaml", "settings=binary.yaml: not a text file", "(expected YAML in UTF-8)"),
        ("nested.yaml", "settings=nested.yaml: settings.policy is nested", "'policy.end_user_audits.audit_rate: 0.3'"),
        ("empty_section.yaml", "settings=empty_section.yaml: settings.policy is empty", "sets nothing; remove it"),
        ("twice.yaml", "settings=twice.yaml: 'months' is given twice (the second on line 5)", "give it once"),
    ):
        monkeypatch.setattr(sys, "argv", ["sim", f"settings={name}"])
        with pytest.raises(SystemExit) as exited:
            cli.main()
        assert exited.value.code == 2
        stderr = capsys.readouterr().err
        assert stderr.startswith(f"error: {start}") and stderr.rstrip().endswith(end), stderr


def test_settings_files_that_agree_stack_and_those_at_odds_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.yaml").write_text("scenario: baseline\nsettings:\n  months: 2\n")
    (tmp_path / "b.yaml").write_text("scenario: baseline\nsettings:\n  seed: 3\n")
    (tmp_path / "c.yaml").write_text("scenario: no_controls\nsettings:\n  months: 2\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["sim", "settings=a.yaml", "settings=c.yaml"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 2
    assert capsys.readouterr().err.startswith(
        "error: settings=a.yaml sets scenario=baseline and settings=c.yaml sets scenario=no_controls: give one file"
    )
    monkeypatch.setattr(sys, "argv", ["sim", "settings=a.yaml", "settings=b.yaml"])
    cli.main()
    out = capsys.readouterr().out
    assert "2025-01 to 2025-02 (2 months), one seed (3)" in out


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("months=3", "months=3 comes before settings=a.yaml, which sets months=2 and would replace it: put months=3 "),
        ("scenario=no_controls", "scenario=no_controls comes before settings=a.yaml, which sets scenario=baseline"),
    ],
)
def test_a_value_typed_before_a_settings_file_that_sets_it_otherwise_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], typed: str, message: str
) -> None:
    (tmp_path / "a.yaml").write_text("scenario: baseline\nsettings:\n  months: 2\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["sim", typed, "settings=a.yaml"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 2 and capsys.readouterr().err.startswith(f"error: {message}")
    monkeypatch.setattr(sys, "argv", ["sim", "months=2", "settings=a.yaml", "seed=3"])  # agreeing: no conflict
    cli.main()
    assert "2025-01 to 2025-02 (2 months), one seed (3)" in capsys.readouterr().out


def test_a_settings_file_keeps_text_as_written(tmp_path: Path) -> None:
    """Beyond ASCII, and ${...}, which is text here, not an interpolation."""
    for text in ("Café (draft)", "price in ${USD}", "${oc.env:HOME}"):
        save_settings(tmp_path / "text.yaml", "baseline", {"description": text})
        assert load_config(settings_overrides(tmp_path / "text.yaml")).description == text


def test_a_settings_file_sets_a_mapping_under_a_dotted_key(tmp_path: Path) -> None:
    """As on the command line: the event's other values stay (Hydra merges mappings)."""
    event = {"month": "2025-10", "set": {"policy.compliant_chips.surcharge_share": 0.2}}
    save_settings(tmp_path / "event.yaml", "baseline", {"timeline.h20_resumed": event})
    resumed = load_config(settings_overrides(tmp_path / "event.yaml")).timeline["h20_resumed"]
    assert resumed.month == "2025-10"
    assert dict(resumed.set) == {"policy.compliant_chips.allowed": True, "policy.compliant_chips.surcharge_share": 0.2}


def test_ctrl_c_during_replications_leaves_no_half_written_folder_and_no_traceback(tmp_path: Path) -> None:
    """A Ctrl-C reaches the whole process group: the workers and the forkserver leave it to the command."""
    args = ["-m", "sim", "replications=400", "months=24"]  # signalled while its workers start or run
    process = signal_once_ready(args, tmp_path, "results/runs/baseline/*", signal.SIGINT, settle_s=1.0)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted: nothing written" in stderr and "Traceback" not in stderr
    assert list(tmp_path.glob("results/runs/baseline/*")) == []


def test_the_flags_let_through_are_exactly_hydras() -> None:
    from hydra._internal.utils import get_args_parser

    assert set(get_args_parser()._option_string_actions) == cli.HYDRA_FLAGS
    assert "--version" in cli.help_text()


def test_the_run_command_imports_no_sweep_code() -> None:
    code = "import sys, sim.__main__; print(sorted(m for m in sys.modules if m.startswith('sim.sweep')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("multirun", [[], ["-m", "seed=0,1"]], ids=["run", "multirun"])
def test_an_unwritable_results_folder_exits_2_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], multirun: list[str]
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["sim", *multirun, f"paths.results={blocker}"])
    monkeypatch.setattr(cli, "run", lambda config: pytest.fail("the run started"))
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 2
    assert "cannot write results under" in capsys.readouterr().err


def test_printed_numbers_keep_four_digits_and_separate_thousands() -> None:
    from sim.commands import readable

    assert [readable(v) for v in (0.04847, 0.9377, 12.345, 999.94, 65195.4, -69554.0, 1.5e15)] == [
        "0.04847",
        "0.9377",
        "12.35",
        "999.9",
        "65,195",
        "-69,554",
        "1,500,000,000,000,000",
    ]
    assert readable(float("nan")) == "nan"


def test_numbers_round_at_the_place_of_their_largest_and_keep_its_digits() -> None:
    from sim.commands import fixed, rounding_place

    assert rounding_place([0.00082, 0.00014, 0.00149], 2) == 4
    assert rounding_place([155754.6, float("nan")], 3) == -3
    assert rounding_place([0.009997], 2) == 3  # 0.010, not 0.0100
    assert rounding_place([99_960.0], 3) == -3  # 100,000
    assert rounding_place([0.0], 3) == rounding_place([], 3) == 2
    assert [fixed(v, -3) for v in (155754.6, -24200.4, 99_960.0)] == ["156,000", "-24,000", "100,000"]
    assert (fixed(0.00082, 4, signed=True), fixed(-0.00001, 4, signed=True)) == ("+0.0008", "0.0000")


def test_an_interval_is_printed_at_one_place_without_an_exponent() -> None:
    from sim.commands import readable_interval

    assert readable_interval(0.001639, 7.876e-06, 0.003271) == ("0.001639", "0.000008", "0.003271")
    assert readable_interval(59.8, 48.07, 71.53) == ("59.80", "48.07", "71.53")
    assert readable_interval(28636521.2, 28608569.0, 28664473.0) == ("28,636,521", "28,608,569", "28,664,473")
    assert readable_interval(-1572.3, -5938.1, 2793.9) == ("-1,572", "-5,938", "2,794")
    assert readable_interval(0.0, 0.0, 0.0) == ("0", "0", "0")
    assert readable_interval(0.5, float("nan"), float("nan"), missing="–") == ("0.5000", "–", "–")
