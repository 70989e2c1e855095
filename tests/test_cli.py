"""The command line: a run writes its files from any folder; bad input exits 2 with a message.

One subprocess per command checks its exit code and files; the rest runs in this process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

import sim.__main__ as cli
from sim import load_config
from sim.report.names import SOURCE_ORDER, label
from sim.results import read_run
from sim.run import month_labels


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_run_writes_results_where_it_is_called(tmp_path: Path) -> None:
    done = run_cli("scenario=crackdown_singapore", "policy.end_user_audits.audit_rate=0.2", "seed=7", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip().splitlines()[-1])
    assert folder.parent.parent == (tmp_path / "results" / "runs").resolve()
    assert folder.parent.name == "crackdown_singapore"
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert config["seed"] == 7 and config["policy"]["end_user_audits"]["audit_rate"] == 0.2
    ts = pd.read_parquet(folder / "timeseries.parquet")
    assert list(ts["month"]) == month_labels("2025-01", 36)
    summary = json.loads((folder / "summary.json").read_text())
    manifest = json.loads((folder / "manifest.json").read_text())
    assert summary["seed"] == manifest["seed"] == 7
    assert summary["config_hash"] == manifest["config_hash"]
    assert {"mesa", "numpy", "pydantic"} <= set(manifest["packages"])
    assert (folder / "access_by_source.png").stat().st_size > 10_000
    read_ts, read_summary = read_run(folder)
    pd.testing.assert_frame_equal(read_ts, ts)
    assert read_summary == summary
    assert "compute access / demand" in done.stdout


def test_multirun_writes_one_run_per_job(tmp_path: Path) -> None:
    done = run_cli("-m", "months=2", "seed=0,1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (multirun,) = (tmp_path / "results" / "multirun").iterdir()
    seeds = [json.loads((multirun / job / "summary.json").read_text())["seed"] for job in ("0", "1")]
    assert seeds == [0, 1]


def test_paths_results_moves_the_output(tmp_path: Path) -> None:
    result, folder = cli.run_and_write(load_config(["months=3", f"paths.results={tmp_path / 'elsewhere'}"]))
    assert folder.parent == tmp_path / "elsewhere" / "runs" / "baseline"
    assert (folder / "access_by_source.png").is_file()
    table = cli.summary_table(result)
    for source in SOURCE_ORDER:
        assert f"share of compute: {label(source).lower()}" in table


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("policy.end_user_audit.rate=0.1", "Did you mean 'end_user_audits'?"),
        ("seed=-1", "seed = -1"),
        ("world.hubs.malaysia.cargo_inspection_rate=1.5", "value <= 1"),
        ("scenario=atlantis", "allowed: baseline"),
    ],
)
def test_bad_input_exits_2_with_one_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], override: str, fragment: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["sim", override])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == cli.EXIT_BAD_CONFIG == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("error: ") and stderr.count("error: ") == 1 and fragment in stderr
    assert not (tmp_path / "results").exists()


def test_the_run_command_imports_no_sweep_code() -> None:
    code = "import sys, sim.__main__; print(sorted(m for m in sys.modules if m.startswith('sim.sweep')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def test_an_unwritable_results_folder_exits_2_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["sim", f"paths.results={blocker}"])
    monkeypatch.setattr(cli, "run", lambda config: pytest.fail("the run started"))
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 2
    assert "cannot write results under" in capsys.readouterr().err
