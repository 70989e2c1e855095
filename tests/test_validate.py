"""The validation's pass rule on synthetic numbers, seed pairing, and the command line."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import yaml

from sim.loading import load_config
from sim.targets import Target
from sim.validate import (
    DEFAULT_SEEDS,
    QUICK_OUT,
    QUICK_SEEDS,
    Status,
    is_full_run,
    judge,
    main,
    parse_args,
    run_targets,
)
from tests.conftest import target_data


def target(public, **changes):
    data = target_data(public=public) | changes
    return Target.model_validate(data)


def test_a_range_target_passes_when_the_mean_is_inside_the_range():
    t = target({"value": 10, "low": 5, "high": 15})
    assert judge(t, [4.0, 16.0, 10.0]).status == Status.PASS  # mean 10, runs outside are fine
    assert judge(t, [15.0, 16.0, 17.0]).status == Status.FAIL  # mean 16
    assert judge(t, [5.0, 5.0]).status == Status.PASS  # bounds included


def test_an_open_bound_is_open():
    assert judge(target({"low": 16e9, "high": None}), [1e12, 2e12]).status == Status.PASS
    assert judge(target({"low": None, "high": 0.4}), [-5.0, -6.0]).status == Status.PASS


def test_a_sign_target_needs_its_whole_interval_on_that_side():
    positive = target({"sign": "positive"})
    assert judge(positive, [1.0, 2.0, 3.0, 2.0]).status == Status.PASS
    assert judge(positive, [-3.0, 5.0, -2.0, 6.0]).status == Status.FAIL  # mean > 0, interval spans 0
    assert judge(positive, [0.0, 0.0, 0.0]).status == Status.FAIL  # no effect at all
    assert judge(target({"sign": "negative"}), [-1.0, -1.1, -0.9, -1.05]).status == Status.PASS


def test_the_interval_is_the_t_interval_of_the_mean():
    a = judge(target({"sign": "positive"}), [1.0, 2.0, 3.0])
    assert a.mean == 2.0
    assert a.ci_high - a.mean == pytest.approx(4.302653 * 1.0 / math.sqrt(3), rel=1e-5)
    assert (a.spread_low, a.spread_high) == pytest.approx(tuple(np.percentile([1, 2, 3], [2.5, 97.5])))


def test_no_value_is_not_computable_with_its_reason():
    a = judge(target({"sign": "positive"}), [math.nan, math.nan], "no column x")
    assert (a.status, a.reason, a.n) == (Status.NOT_COMPUTABLE, "no column x", 0)


def test_contrasts_are_paired_by_seed_and_missing_columns_do_not_crash():
    cfg = load_config(["months=3"])
    configs = {"baseline": cfg, "same": cfg}
    targets = {
        "paired": target({"sign": "positive"}, scenario="same", versus="baseline"),
        "level": target({"low": 0, "high": None}),
        "missing": target({"sign": "positive"}, expression="total(orders_nowhere_h100e)"),
    }
    values, reasons = run_targets(configs, targets, [0, 1, 2], workers=1, progress=False)
    assert (values["paired"] == 0.0).all()  # the same seed in both: exactly no difference
    assert values["level"].nunique() > 1  # while seeds differ from one another
    assert values["missing"].isna().all()
    assert "no column orders_nowhere_h100e" in reasons["missing"]


#: A description longer than a row of the figure is wide.
LONG_DESCRIPTION = " ".join(["Chips smuggled in the first quarter, as a source counts them"] * 4) + " (the end)"


def tiny_targets(tmp_path):
    data = {
        "scenarios": {
            "baseline": {"overrides": ["months=3"]},
            "crackdown": {"overrides": ["months=3", "scenario=crackdown_singapore"]},
            "broken": {"overrides": ["no_such_key=1"]},
        },
        "targets": {
            "volume": target_data(
                role="calibration",
                description=LONG_DESCRIPTION,
                expression='total(smuggled_h100e, "2025-01", "2025-03")',
                public={"value": 10, "low": 0, "high": 1e9},
            ),
            "contrast": target_data(
                expression="total(orders_hub_singapore_h100e)",
                scenario="crackdown",
                versus="baseline",
                public={"sign": "negative"},
            ),
            "on_broken": target_data(scenario="broken"),
        },
    }
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_command_reports_every_target_and_writes_the_docs(tmp_path, capsys, monkeypatch):
    drawn = []
    monkeypatch.setattr(plt, "close", drawn.append)  # the figure, kept to read its titles
    out = tmp_path / "docs"
    code = main(["--targets", str(tiny_targets(tmp_path)), "--seeds", "2", "--workers", "1", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "calibration: 1 of 1 pass" in printed
    assert "on_broken: scenario broken cannot be composed" in printed
    report = (out / "validation.md").read_text()
    assert "| volume | calibration | baseline |" in report and "Pass rule" in report
    assert (out / "figures" / "validation.png").stat().st_size > 0
    assert (out / "figures" / "validation.pdf").read_bytes().startswith(b"%PDF")
    assert "(vector: [figures/validation.pdf](figures/validation.pdf))" in report
    (figure,) = drawn
    (title,) = [ax.get_title(loc="left") for ax in figure.axes if "volume" in ax.get_title(loc="left")]
    assert title.replace("\n", " ").endswith(LONG_DESCRIPTION.rstrip(".")) and title.count("\n") >= 2  # whole, wrapped


def test_the_role_option_selects_targets(tmp_path, capsys):
    args = ["--targets", str(tiny_targets(tmp_path)), "--seeds", "2", "--workers", "1", "--out", str(tmp_path)]
    assert main([*args, "--role", "calibration"]) == 0
    printed = capsys.readouterr().out
    assert "volume" in printed and "contrast" not in printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--targets", "absent.yaml"], "cannot read the target file"),
        (["--target", "nope"], "unknown target 'nope'"),
        (["--override", "no_such_key=1"], "no_such_key"),
    ],
)
def test_bad_input_exits_2_with_a_message(tmp_path, capsys, args, message):
    assert main([*args, "--seeds", "2", "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_bad_options_exit_2():
    with pytest.raises(SystemExit) as exc:
        main(["--seeds", "1"])
    assert exc.value.code == 2


@pytest.mark.parametrize(
    ("args", "full"),
    [
        ([], True),
        (["--seeds", "400"], True),
        (["--quick"], False),
        (["--seeds", "50"], False),
        (["--role", "validation"], False),
        (["--target", "cnas_smuggled_volume"], False),
        (["--override", "~calibrated"], False),
    ],
)
def test_only_the_full_run_of_every_default_target_is_the_one_the_docs_quote(args, full):
    parsed = parse_args(args)
    n_seeds = parsed.seeds or (QUICK_SEEDS if parsed.quick else DEFAULT_SEEDS)
    assert is_full_run(parsed, n_seeds) is full


def test_a_partial_run_writes_under_results_and_leaves_the_docs_alone(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    targets = tiny_targets(tmp_path)
    assert main(["--targets", str(targets), "--seeds", "2", "--workers", "1"]) == 0
    assert (tmp_path / QUICK_OUT / "validation.md").exists()
    assert f"wrote {QUICK_OUT / 'validation.md'}" in capsys.readouterr().out


def test_a_model_interval_is_printed_at_one_place() -> None:
    from sim.validate import interval

    assert interval(0.0061, 0.00567, 0.00654) == "0.00610 [0.00567, 0.00654]"
    assert interval(5740.2, 3920.0, 7570.9) == "5,740 [3,920, 7,570]"
    assert interval(1.63e10, 1.5e10, 1.7e10) == "16.3B [15.0B, 17.0B]"
    assert interval(float("nan"), float("nan"), float("nan")) == "- [-, -]"


def test_an_out_folder_that_cannot_be_written_is_refused_before_any_run(tmp_path, capsys):
    blocker = tmp_path / "a file"
    blocker.write_text("")
    args = ["--targets", str(tiny_targets(tmp_path)), "--seeds", "2", "--workers", "1", "--out", str(blocker)]
    assert main(args) == 2
    printed = capsys.readouterr()
    assert printed.err.startswith(f"error: cannot write results under {blocker / 'figures'}: ")
    assert "give --out a folder you can write" in printed.err and "seeds each" not in printed.out  # nothing ran
