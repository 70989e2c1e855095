"""Quoted numbers: a README's numbers are answered from a sweep, exactly as an independent computation says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from sim.report import quotes, studies
from sim.report.quotes import QUOTE, Answer, Between, Query, answer, fill, formatted, parse
from sim.report.studies import STUDIES_DIR, study_names
from sim.schema import ConfigError
from sim.sweep import load, load_experiment, start_sweep
from sim.sweep.analysis import Sweep, paired_runs
from sim.sweep.experiment import Range, parse_experiment
from sim.sweep.sensitivity import sweep_convergence, sweep_indices


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Sweep:
    """Two scenarios x two temperatures x 3 replications of 8 months."""
    experiment = parse_experiment(
        {
            "name": "quotes",
            "overrides": ["months=8"],
            "design": {"kind": "factorial"},
            "levers": {"scenario": ["baseline", "crackdown_singapore"]},
            "uncertainties": {"behaviour.temperature": [0.05, 0.3]},
            "replications": 3,
            "seed": 11,
            "executor": {"kind": "serial"},
        }
    )
    return load(start_sweep(experiment, tmp_path_factory.mktemp("quotes"), progress=False).path)


def t_interval(values: pd.Series) -> tuple[float, float, float]:
    half = stats.t.ppf(0.975, len(values) - 1) * values.std() / len(values) ** 0.5
    return values.mean(), values.mean() - half, values.mean() + half


def test_a_query_reads_its_words_in_any_order() -> None:
    query = parse("smuggled_h100e over=2025-02..2025-03 scenario=baseline show=ci minus scenario=no_controls sig=2")
    assert query == Query(
        "smuggled_h100e",
        {"scenario": "baseline"},
        {"scenario": "no_controls"},
        ("2025-02", "2025-03"),
        show="ci",
        sig=2,
    )
    assert parse("access_ratio behaviour.temperature=0.05").point == {"behaviour.temperature": 0.05}
    assert parse("price_smuggling_usd_per_h100e_month over=2025-01 agg=mean").months == ("2025-01", "2025-01")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty query"),
        ("access_ratio show=table", "show=table: allowed mean, pm, ci, interval"),
        ("access_ratio unit=percnt", "unit=percnt: allowed percent, thousand, million, billion"),
        ("access_ratio over=2025-13..2025", "over=2025-13..2025: allowed YYYY-MM or YYYY-MM..YYYY-MM"),
        ("access_ratio over=2026-01..2025-01", "first month first"),
        ("access_ratio sig=0", "sig=0: allowed a whole number from 1 to 6"),
        ("access_ratio baseline", "'baseline' is not key=value (or minus)"),
        ("access_ratio scenario=baseline minus", "minus names no factor=value"),
        ("access_ratio scenario=baseline claim=lowest", "claim=lowest|highest goes with among="),
        ("access_ratio scenario=baseline among=scenario", "goes with among="),
        ("access_ratio claim=lowest among=scenario", "the point names scenario=<its value>"),
        ("access_ratio scenario=baseline claim=lowest among=scenario:0..1x", "a range is low..high, two numbers"),
    ],
)
def test_a_wrong_query_says_what_is_allowed(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse(text)


def test_a_metric_at_a_point_is_its_mean_over_replications_of_the_points_it_averages(sweep: Sweep) -> None:
    got = answer(sweep, parse("access_ratio scenario=crackdown_singapore"))
    runs = sweep.runs[sweep.runs["scenario"] == "crackdown_singapore"]
    by_replication = runs.groupby("replication")["access_ratio"].mean()  # over the two temperatures
    assert (got.n, got.mean, got.low, got.high) == pytest.approx((3, *t_interval(by_replication)))
    held = answer(sweep, parse("access_ratio scenario=crackdown_singapore behaviour.temperature=0.3"))
    chosen = runs[runs["behaviour.temperature"] == 0.3].groupby("replication")["access_ratio"].mean()
    assert held.mean == pytest.approx(chosen.mean())


def test_a_difference_is_the_paired_contrast(sweep: Sweep) -> None:
    metric, a, b = "smuggled_h100e_total", {"scenario": "crackdown_singapore"}, {"scenario": "baseline"}
    contrast = sweep.contrast(a, b, [metric]).set_index("behaviour.temperature")
    held = answer(
        sweep, parse(f"{metric} scenario=crackdown_singapore behaviour.temperature=0.3 minus scenario=baseline")
    )
    expected = contrast.loc[0.3, ["n", "difference", "ci_low", "ci_high"]].tolist()
    assert held.difference and [held.n, held.mean, held.low, held.high] == pytest.approx(expected)
    pooled = answer(sweep, parse(f"{metric} scenario=crackdown_singapore minus scenario=baseline"))
    assert pooled.n == 3 and pooled.mean == pytest.approx(contrast["difference"].mean())  # both temperatures


def test_a_pair_without_a_value_is_left_out_of_a_difference(sweep: Sweep, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = {"scenario": "crackdown_singapore"}, {"scenario": "baseline"}
    pairs, _ = paired_runs(sweep, a, b)
    first = int(pairs["run_id_a"].iloc[0])
    original = quotes.per_run

    def one_missing(sweep: Sweep, query: Query, run_ids: list[int]) -> pd.Series:
        values = original(sweep, query, run_ids)
        return values.where(values.index != first)

    monkeypatch.setattr(quotes, "per_run", one_missing)
    got = answer(sweep, parse("access_ratio scenario=crackdown_singapore minus scenario=baseline"))
    value = sweep.runs.set_index("run_id")["access_ratio"]
    differences = value.loc[pairs["run_id_a"]].to_numpy() - value.loc[pairs["run_id_b"]].to_numpy()
    kept = (pairs["run_id_a"] != first).to_numpy()
    expected = pd.Series(differences[kept]).groupby(pairs["replication"].to_numpy()[kept]).mean()
    every = pd.Series(differences).groupby(pairs["replication"].to_numpy()).mean()
    assert got.mean == pytest.approx(expected.mean()) and got.mean != pytest.approx(every.mean())


def test_shares_and_volumes_keep_their_intervals_in_range(sweep: Sweep, monkeypatch: pytest.MonkeyPatch) -> None:
    by_replication = {0: 1.0, 1: 0.9, 2: 1.0}  # a t interval over these reaches above 1
    replication = sweep.runs.set_index("run_id")["replication"]

    def values(sweep: Sweep, query: Query, run_ids: list[int]) -> pd.Series:
        return pd.Series([by_replication[replication[i]] for i in run_ids], index=run_ids)

    monkeypatch.setattr(quotes, "per_run", values)
    assert answer(sweep, parse("access_ratio")).high == 1.0
    assert answer(sweep, parse("access_ratio over=2025-01..2025-04")).high > 1  # a sum of monthly ratios is no share
    assert answer(sweep, parse("access_ratio over=2025-01..2025-04 agg=mean")).high == 1.0
    by_replication.update({0: 0.0, 1: 30.0, 2: 0.0})  # a t interval over these reaches below 0
    assert answer(sweep, parse("smuggled_h100e_total")).low == 0.0
    by_replication[1] = -30.0  # a quantity that is ever negative keeps its interval
    assert answer(sweep, parse("smuggled_h100e_total")).low < -30


def test_a_ratio_without_a_denominator_has_no_value(sweep: Sweep) -> None:
    with pytest.raises(ValueError, match="no run has a value of it"):
        answer(sweep, parse("smuggled_h100e/smuggled_h100e over=2025-01"))  # nothing smuggled in the first month


def test_months_and_patterns_sum_the_time_series(sweep: Sweep) -> None:
    ts = sweep.timeseries(factors=True)
    base = ts[(ts["scenario"] == "baseline") & ts["month"].between("2025-02", "2025-03")]
    hubs = [c for c in sweep.timeseries_columns if c.startswith("orders_hub_") and c.endswith("_h100e")]
    assert len(hubs) >= 2
    per_run = base[hubs].sum(axis=1).groupby(base["run_id"]).sum()
    replication = base.groupby("run_id")["replication"].first()
    expected = per_run.groupby(replication).mean()
    got = answer(sweep, parse("orders_hub_*_h100e scenario=baseline over=2025-02..2025-03"))
    assert got.mean == pytest.approx(expected.mean())
    ratio = answer(sweep, parse("access_h100e_months/demand_h100e_months scenario=baseline over=2025-01..2025-08"))
    runs = ts[ts["scenario"] == "baseline"].groupby("run_id")
    whole = (runs["access_h100e_months"].sum() / runs["demand_h100e_months"].sum()).groupby(replication).mean()
    assert ratio.mean == pytest.approx(whole.mean())


@pytest.mark.parametrize(
    ("got", "query", "text"),
    [
        (Answer(20, 155754.6, 140000.4, 171509.1, False), "x show=ci", "156,000 (140,000 to 172,000)"),
        (Answer(20, 0.96022, 0.95981, 0.96063, False), "x", "0.960"),
        (Answer(20, -24200.4, -39520.0, -8880.0, True), "x show=pm", "-24,200 ± 15,300"),
        (Answer(20, 0.00082, 0.00014, 0.00149, True), "x show=interval sig=3", "+0.00014 to +0.00149"),
        (Answer(20, 0.4152, 0.4071, 0.4233, False), "x unit=percent show=pm", "41.5% ± 0.8 points"),
        (Answer(20, 1.63e10, 1.5e10, 1.7e10, False), "x unit=billion", "16.3"),
        (Answer(20, 0.0, 0.0, 0.0, True), "x show=ci sig=2", "0.0 (0.0 to 0.0)"),
        (Answer(1, 5.0, float("nan"), float("nan"), False), "x show=ci", "5.00 (n/a to n/a)"),
        (Answer(20, -90.4, -2133.0, 1952.2, True), "x show=pm sig=2", "-100 ± 2,000"),  # rounded as the interval
        (Answer(20, 6840.0, 2110.0, 11570.0, True), "x show=pm sig=2", "+6,800 ± 4,700"),
        (Answer(20, -90.4, -2133.0, 1952.2, True), "x sig=2", "-90"),
        (Answer(20, 0.009997, 0.0019, 0.0181, True), "x sig=2", "+0.010"),  # rounds up to the next power of ten
        (Answer(20, 99_960.0, 90_000.0, 109_000.0, False), "x", "100,000"),
    ],
)
def test_numbers_are_rounded_to_their_significant_digits_and_the_interval_to_the_same_place(
    got: Answer, query: str, text: str
) -> None:
    assert formatted(got, parse(query)) == text


def test_fill_answers_every_quote_and_fills_again_the_same(sweep: Sweep) -> None:
    text = "Access <!-- n access_ratio scenario=baseline -->0.5<!-- /n --> and\n<!-- n access_ratio -->?<!-- /n -->.\n"
    filled, count = fill(text, sweep)
    assert count == 2
    expected = formatted(answer(sweep, parse("access_ratio scenario=baseline")), parse("access_ratio"))
    assert filled.startswith(f"Access <!-- n access_ratio scenario=baseline -->{expected}<!-- /n --> and\n")
    assert fill(filled, sweep) == (filled, 2)
    assert [m["query"] for m in QUOTE.finditer(filled)] == ["access_ratio scenario=baseline", "access_ratio"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a\n<!-- n access_ratio -->0.9", "README:2: a quote without its closing <!-- /n -->"),
        (
            "<!-- n acess_ratio -->?<!-- /n -->",
            "README:1: <!-- n acess_ratio -->: 'acess_ratio' is no run metric nor time-series column of this sweep. "
            "Did you mean 'access_ratio'?",
        ),
        ("\n<!-- n access_ratio scenario=nowhere -->?<!-- /n -->", "README:2: <!-- n access_ratio scenario=nowhere"),
        ("<!-- n access_ratio minus scenario=baseline -->?<!-- /n -->", "minus scenario: the point names it too"),
        ("<!-- n access_ratio seed=1 minus seed=2 -->?<!-- /n -->", "the point: seed is not a factor of this sweep"),
        ("<!-- n smuggled_h100e_total over=2025-01 -->?<!-- /n -->", "is a run metric; over= needs a time-series"),
        ("<!-- n smuggled_h100e over=2030-01 -->?<!-- /n -->", "no month of the runs in it; they run 2025-01..2025-08"),
        ("<!-- n a -->1 <!-- n access_ratio -->2<!-- /n -->", "README:1: a quote without its closing <!-- /n -->"),
        ("<!-- n access_ratio -->0.9\n<!-- /n -->", "README:1: a quote without its closing <!-- /n --> on the same"),
        (
            "<!-- n access_ratio behaviour.temperature=0.05..0.3 minus behaviour.temperature=0.05 -->?<!-- /n -->",
            "factor=low..high holds several, which do not pair",
        ),
        ("<!-- n access_ratio scenario=0..1 -->?<!-- /n -->", "scenario=0..1: a range needs a numeric factor"),
    ],
)
def test_a_wrong_quote_names_its_line(sweep: Sweep, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        fill(text, sweep)


@pytest.mark.parametrize("study", study_names())
def test_every_study_quote_asks_for_what_its_sweep_has(sweep: Sweep, study: str) -> None:
    """Each quote parses, measures what every sweep has, and names its experiment's factors and values.

    Values are checked against the design: a listed value of a factorial factor, a range within a
    sampled factor's bounds; ``n=`` is a share of N, so a quick run (a smaller N) answers it too.
    """
    factors = load_experiment(study).factors
    measures = {*sweep.metrics, *sweep.timeseries_columns}
    for match in QUOTE.finditer((STUDIES_DIR / study / "README.md").read_text()):
        query = parse(match["query"])
        for term in query.what.split("/"):
            assert any(re.fullmatch(term.replace("*", ".*"), m) for m in measures), match["query"]
        assert not query.samples or query.samples.startswith("N"), match["query"]
        assert not query.index or query.of in factors, match["query"]
        for factor, value in [*query.point.items(), *query.reference.items()]:
            spec = factors[factor]  # a KeyError names a factor the experiment does not have
            if isinstance(value, Between):
                assert isinstance(spec, Range) and spec.low <= value.low <= value.high <= spec.high, match["query"]
            else:
                assert value in spec, match["query"]


def test_the_command_fills_a_copy_and_refuses_a_folder_that_is_no_sweep(sweep: Sweep, tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("<!-- n access_ratio -->?<!-- /n -->\n")
    out = tmp_path / "filled.md"
    command = [sys.executable, "-m", "sim.report.quotes", str(readme)]
    done = subprocess.run([*command, str(sweep.path), "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "?" not in out.read_text() and readme.read_text().count("?") == 1
    refused = subprocess.run([*command, str(tmp_path)], capture_output=True, text=True)
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: ") and "Traceback" not in refused.stderr


@pytest.fixture()
def study_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The prices study's README (one quote) and docs/figures/, both in tmp_path."""
    readme = tmp_path / "experiments" / "prices" / "README.md"
    readme.parent.mkdir(parents=True)
    readme.write_text("Access was <!-- n access_ratio scenario=baseline -->?<!-- /n -->.\n")
    figures = tmp_path / "docs" / "figures"
    figures.mkdir(parents=True)
    monkeypatch.setattr(studies, "STUDIES_DIR", tmp_path / "experiments")
    monkeypatch.setattr(studies, "DOCS_FIGURES_DIR", figures)
    monkeypatch.setattr(studies, "DOC_FIGURES", {"prices": ("prices.png",)})
    return readme, figures


def test_a_quick_study_fills_only_its_copy_and_a_full_one_its_readme_and_docs_figure(
    study_folders: tuple[Path, Path], tmp_path: Path
) -> None:
    readme, figures = study_folders
    quick, count = studies.run_study("prices", tmp_path / "results", workers=1, quick=True)
    assert count == 1
    assert "-->?<!--" in readme.read_text() and not list(figures.iterdir())
    copy = (quick / "README.md").read_text()
    assert copy.startswith("> Quick run: the numbers below are from ") and re.search(r"-->0\.\d{3}<!-- /n -->", copy)
    full, _ = studies.run_study("prices", tmp_path / "results", workers=1)
    assert readme.read_text() == (full / "README.md").read_text()
    assert "-->?<!--" not in readme.read_text()
    assert (figures / "prices.png").read_bytes() == (full / "prices.png").read_bytes()


def test_every_docs_figure_a_study_replaces_is_in_docs() -> None:
    for study, names in studies.DOC_FIGURES.items():
        assert study in study_names()
        assert all((studies.DOCS_FIGURES_DIR / name).is_file() for name in names)


def test_a_month_without_a_price_is_left_out_not_counted_as_zero(sweep: Sweep) -> None:
    column = next(c for c in sweep.timeseries_columns if c.startswith("price_") and c.endswith("_usd_per_h100e_month"))
    ts = sweep.timeseries([column], factors=True)
    ts.loc[ts.index % 3 == 0, column] = float("nan")  # as if closed now and then
    per_run = ts.groupby("run_id")[column].mean()
    expected = per_run.groupby(ts.groupby("run_id")["replication"].first()).mean().mean()
    original = sweep.timeseries
    sweep.timeseries = lambda columns, run_ids: ts[ts["run_id"].isin(run_ids)][["run_id", "month", *columns]]
    try:
        got = answer(sweep, parse(f"{column} agg=mean"))
    finally:
        sweep.timeseries = original
    assert got.mean == pytest.approx(expected)


@pytest.fixture(scope="module")
def sobol_sweep(model_sobol: Path) -> Sweep:
    return load(model_sobol)


def test_an_index_is_the_sensitivity_analysis_own(sobol_sweep: Sweep) -> None:
    factor = "behaviour.temperature"
    table = sweep_indices(sobol_sweep, ["access_ratio"]).set_index("factor")
    got = answer(sobol_sweep, parse(f"ST:access_ratio of={factor}"))
    st, half = table.loc[factor, "ST"], table.loc[factor, "ST_conf"]
    assert (got.n, got.mean, got.low, got.high, got.difference) == pytest.approx((4, st, st - half, st + half, False))
    smaller = sweep_convergence(sobol_sweep, ["access_ratio"])
    row = smaller[(smaller["factor"] == factor) & (smaller["n_base"] == 2)]
    assert answer(sobol_sweep, parse(f"S1:access_ratio of={factor} n=2")).mean == pytest.approx(row["S1"].iloc[0])


def test_a_range_of_a_sampled_factor_is_a_mean_over_its_points(sobol_sweep: Sweep) -> None:
    factor = "behaviour.temperature"
    got = answer(sobol_sweep, parse(f"access_ratio {factor}=0.02..0.26"))
    runs = sobol_sweep.runs[sobol_sweep.runs[factor].between(0.02, 0.26)]
    by_point = runs.groupby("point_id")["access_ratio"].mean()  # replications averaged per point
    assert by_point.size > 2
    assert (got.n, got.mean, got.low, got.high) == pytest.approx((by_point.size, *t_interval(by_point)))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("S1:access_ratio", "a Sobol index is S1:metric or ST:metric with of=factor"),
        ("S2:access_ratio of=behaviour.temperature", "a Sobol index is S1:metric or ST:metric"),
        ("access_ratio of=behaviour.temperature", "a Sobol index is S1:metric or ST:metric"),
        ("S1:access_ratio of=behaviour.temperature scenario=baseline", "no points nor months"),
        ("S1:access_ratio of=behaviour.temperature n=N/0", "n=N/0: allowed N, N/k (k a whole number) or a number"),
        ("access_ratio show=ci show=pm", "show given twice"),
        ("access_ratio over=2025-13", "over=2025-13: allowed YYYY-MM"),
        ("access_ratio scenario=[", "scenario=[: not a value (write it as YAML"),
        ("access_ratio <x--y>", "a query may not hold '--'"),
        ("access_ratio behaviour.temperature=low..0.3", "low..0.3: a range is low..high, two numbers"),
    ],
)
def test_a_wrong_index_or_range_says_what_is_allowed(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<!-- n S1:access_ratio of=behaviour.belief_decay -->?<!-- /n -->", "of=behaviour.belief_decay: not a factor"),
        ("<!-- n S1:access_ratio of=behaviour.temperature n=3 -->?<!-- /n -->", "n=3: the convergence table has base"),
        (
            "<!-- n access_ratio behaviour.temperature=0.9..1 -->?<!-- /n -->",
            "no point in that range; the design's points span",
        ),
    ],
)
def test_an_index_or_range_the_sweep_has_not_is_refused(sobol_sweep: Sweep, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        fill(text, sobol_sweep)


def test_an_index_of_a_sweep_that_is_not_sobol_is_refused(sweep: Sweep) -> None:
    with pytest.raises(ConfigError, match="S1 and ST are indices of a Sobol design; this sweep's is factorial"):
        fill("<!-- n S1:access_ratio of=scenario -->?<!-- /n -->", sweep)


def test_a_wrong_quote_after_a_study_says_what_is_written_and_how_to_fill_it(
    study_folders: tuple[Path, Path], tmp_path: Path
) -> None:
    readme, _ = study_folders
    readme.write_text("<!-- n access_ratoi -->?<!-- /n -->\n")
    with pytest.raises(ConfigError) as caught:
        studies.run_study("prices", tmp_path / "results", workers=1, quick=True)
    message = str(caught.value)
    assert "Did you mean 'access_ratio'?" in message
    target = tmp_path / "results" / "studies" / "quick" / "prices"
    assert f"The sweep and figures are written ({target})" in message and (target / "prices.png").is_file()
    assert message.endswith(f" --out {target / 'README.md'}")


@pytest.mark.parametrize("study", study_names())
def test_every_study_quote_renders_inline(study: str) -> None:
    """A quote that starts a line would start a block of HTML in Markdown and break its sentence."""
    from markdown_it import MarkdownIt

    text = (STUDIES_DIR / study / "README.md").read_text()
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    blocks = [t.content for t in tokens if t.type == "html_block" and "<!-- n " in t.content]
    assert not blocks, blocks[0]
    assert not re.search(r"(?m)^\s*<!-- n ", text)


def test_a_study_with_a_wrong_quote_stops_alone(
    study_folders: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = studies.STUDIES_DIR / "compute_access_2025" / "README.md"
    broken.parent.mkdir()
    broken.write_text("<!-- n access_ratoi -->?<!-- /n -->\n")
    results = tmp_path / "results"
    code = studies.main(["--quick", "--workers", "1", "--results", str(results), "compute_access_2025", "prices"])
    assert code == 2
    err = capsys.readouterr()
    assert "error: compute_access_2025 stopped with the errors above" in err.err
    assert "README quotes 1 numbers" in err.out and (results / "studies" / "quick" / "prices" / "README.md").is_file()


def test_a_claim_the_numbers_break_is_refused_with_its_line_or_listed(sweep: Sweep) -> None:
    increase = "smuggled_h100e_total scenario=crackdown_singapore minus scenario=baseline"
    found = answer(sweep, parse(increase))
    holds = "above0" if found.low > 0 else "below0" if found.high < 0 else "spans0"
    breaks = next(c for c in ("above0", "below0", "spans0") if c != holds)
    assert fill(f"<!-- n {increase} claim={holds} -->?<!-- /n -->", sweep)[1] == 1
    text = f"a\n<!-- n {increase} claim={breaks} -->?<!-- /n -->"
    with pytest.raises(ConfigError, match=rf"README:2: .*: its sentence claims {breaks}, but the interval is now "):
        fill(text, sweep)
    broken: list[str] = []
    filled, _ = fill(text, sweep, broken=broken)
    assert len(broken) == 1 and "rewrite the sentence and its claim" in broken[0] and "-->?<!--" not in filled


def test_a_rank_claim_is_checked_against_every_point_it_ranks_among(sweep: Sweep) -> None:
    """Four points (two scenarios x two temperatures): the claim holds only for the true lowest and highest."""
    means = sweep.runs.groupby(["scenario", "behaviour.temperature"])["access_ratio"].mean()  # 3 runs a point
    (low_scenario, low_temperature), (high_scenario, high_temperature) = means.idxmin(), means.idxmax()
    among = "among=scenario,behaviour.temperature:0..1"
    lowest = f"access_ratio scenario={low_scenario} behaviour.temperature={low_temperature} claim=lowest {among}"
    highest = f"access_ratio scenario={high_scenario} behaviour.temperature={high_temperature} claim=highest {among}"
    text = f"between <!-- n {lowest} -->?<!-- /n --> and <!-- n {highest} -->?<!-- /n -->"
    assert fill(text, sweep)[1] == 2
    swapped = text.replace("claim=lowest", "claim=LOW").replace("claim=highest", "claim=lowest")
    swapped = swapped.replace("claim=LOW", "claim=highest")
    broken: list[str] = []
    fill(swapped, sweep, broken=broken)
    assert len(broken) == 2 and all("but scenario=" in b and "rewrite the sentence" in b for b in broken)
    named = re.search(r"but scenario=(\S+) behaviour\.temperature=(\S+) has", broken[0])  # a point that beats it
    assert named is not None and means[(named[1], float(named[2]))] > means[(low_scenario, low_temperature)]


@pytest.mark.parametrize(
    ("claim", "low", "high", "holds"),
    [
        ("above0", 0.1, 2.0, True),
        ("above0", 0.0, 2.0, False),
        ("below0", -2.0, -0.1, True),
        ("spans0", -1.0, 1.0, True),
        ("spans0", 0.1, 1.0, False),
    ],
)
def test_claims_read_the_interval(claim: str, low: float, high: float, holds: bool) -> None:
    assert quotes.CLAIMS[claim](low, high) is holds


def test_a_quick_study_warns_once_of_the_claims_its_few_replications_break(
    study_folders: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme, _ = study_folders
    claims = "<!-- n access_ratio scenario=baseline claim=below0 -->?<!-- /n -->"  # an access ratio is never below 0
    readme.write_text(f"{claims} and {claims.replace('claim=below0', 'claim=spans0')}\n")
    _, count = studies.run_study("prices", tmp_path / "results", workers=1, quick=True)
    err = capsys.readouterr().err
    assert count == 2 and err.count("warning: ") == 1
    assert "warning: 2 claims of README.md do not hold on this quick run's few replications" in err
    with pytest.raises(ConfigError, match="its sentence claims below0"):
        studies.run_study("prices", tmp_path / "results", workers=1)
