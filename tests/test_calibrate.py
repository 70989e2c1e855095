"""ABC-SMC calibration: recovering a toy simulator's parameter, resuming, and a tiny fit of the model."""

import math
import re

import numpy as np
import pandas as pd
import pytest
import yaml

import sim.calibrate as calibrate
from sim.calibrate import Prior, ScaledDistance, estimate, fit, load_calibration, main, posterior
from sim.loading import load_config
from sim.schema import ConfigError, with_settings
from sim.targets import Target
from tests.conftest import target_data


def target(value, low, high):
    return Target.model_validate(
        target_data(
            role="calibration", expression="total(x)", unit="u", public={"value": value, "low": low, "high": high}
        )
    )


class Toy:
    """y = 2 * theta plus a little noise: the target y = 6 means theta = 3."""

    def __call__(self, parameters):
        return {"y": 2.0 * parameters["theta"] + np.random.normal(0.0, 0.05)}


PRIORS = {"theta": Prior(low=0.0, high=10.0, source="assumption")}
TARGETS = {"y": target(6.0, 5.0, 7.0)}


def test_the_distance_counts_misses_outside_the_ranges_first_and_nan_is_infinitely_far():
    d = ScaledDistance({"a": (0.0, 2.0), "b": (5.0, 15.0)})
    centre = {"a": 1.0, "b": 10.0}
    assert d(centre, centre) == 0.0
    # inside: a tenth of the distance to the centre, over the width
    assert d({"a": 2.0, "b": 10.0}, centre) == pytest.approx(0.1 * 1.0 / 2.0)
    # outside: the distance outside the range plus a tenth of that to the centre
    assert d({"a": 3.0, "b": 20.0}, centre) == pytest.approx(
        math.hypot((1.0 + 0.1 * 2.0) / 2.0, (5.0 + 0.1 * 10.0) / 10.0)
    )
    assert d({"a": float("nan"), "b": 10.0}, centre) == float("inf")


def test_abc_smc_recovers_a_known_parameter(tmp_path):
    np.random.seed(1)
    history = fit(PRIORS, Toy(), TARGETS, tmp_path / "abc.db", population=40, generations=4, workers=1, progress=False)
    particles = posterior(history, PRIORS)
    last = particles[particles["generation"] == 3]
    assert estimate(particles, PRIORS)["theta"] == pytest.approx(3.0, abs=0.25)
    assert last["theta"].std() < 0.3 * particles[particles["generation"] == 0]["theta"].std()
    assert particles.groupby("generation")["weight"].sum().to_numpy() == pytest.approx([1.0] * 4)
    assert (np.diff(particles.groupby("generation")["epsilon"].first().to_numpy()) <= 0).all()


def test_resume_continues_the_fit_without_redoing_generations(tmp_path):
    db = tmp_path / "abc.db"
    np.random.seed(2)
    first = posterior(fit(PRIORS, Toy(), TARGETS, db, population=20, generations=1, workers=1, progress=False), PRIORS)
    with pytest.raises(ConfigError, match="--resume"):
        fit(PRIORS, Toy(), TARGETS, db, population=20, generations=2, workers=1, progress=False)
    resumed = fit(PRIORS, Toy(), TARGETS, db, population=20, generations=2, resume=True, workers=1, progress=False)
    both = posterior(resumed, PRIORS)
    assert sorted(both["generation"].unique()) == [0, 1]
    pd.testing.assert_frame_equal(both[both["generation"] == 0].reset_index(drop=True), first)
    with pytest.raises(ConfigError, match="no fit to continue"):
        fit(PRIORS, Toy(), TARGETS, tmp_path / "none.db", population=20, generations=1, resume=True, workers=1)


def tiny_files(tmp_path):
    targets = {
        "scenarios": {"baseline": {"overrides": []}},
        "targets": {
            "volume": target_data(
                role="calibration",
                expression='total(smuggled_h100e, "2025-01", "2025-04")',
                public={"value": 30000, "low": 10000, "high": 50000},
            ),
            "needs_new_columns": target_data(
                role="calibration",
                expression="total(spend_nowhere_usd)",
                unit="USD",
                public={"value": 1, "low": 0, "high": 2},
            ),
        },
    }
    (tmp_path / "targets.yaml").write_text(yaml.safe_dump(targets))
    priors = {
        "name": "tiny",
        "targets": str(tmp_path / "targets.yaml"),
        "overrides": ["months=4"],
        "population": 6,
        "generations": 2,
        "parameters": {
            "world.market.gray_premium": {"low": 1.3, "high": 2.5, "source": "assumption"},
            "world.intermediaries.owner_groups": {"low": 1, "high": 6, "source": "assumption"},
        },
    }
    path = tmp_path / "priors.yaml"
    path.write_text(yaml.safe_dump(priors))
    return path


def test_a_tiny_fit_of_the_model_writes_the_posterior_and_a_usable_config(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(calibrate, "CALIBRATED_DIR", tmp_path / "calibrated")
    out = tmp_path / "out"
    assert main(["--priors", str(tiny_files(tmp_path)), "--out", str(out), "--workers", "1", "--write-config"]) == 0
    printed = capsys.readouterr().out
    assert "skipped (not computable): needs_new_columns" in printed
    particles = pd.read_parquet(out / "posterior.parquet")
    assert set(particles["generation"]) == {0, 1}
    assert {"world.market.gray_premium", "world.intermediaries.owner_groups", "weight"} <= set(particles.columns)
    assert (out / "marginals.png").stat().st_size > 0
    written = (tmp_path / "calibrated" / "tiny.yaml").read_text()
    assert written.startswith("# @package _global_")
    values = yaml.safe_load(written)
    assert isinstance(values["world"]["intermediaries"]["owner_groups"], int)
    settings = {
        "world.market.gray_premium": values["world"]["market"]["gray_premium"],
        "world.intermediaries.owner_groups": values["world"]["intermediaries"]["owner_groups"],
    }
    with_settings(load_config(), settings)  # a valid config


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"parameters": {"world.market.gray_premum": {"low": 1, "high": 2, "source": "a"}}}, "gray_premum"),
        ({"parameters": {"world.market.gray_premium": {"low": 3, "high": 2, "source": "a"}}}, "parameters.world"),
        ({"parameters": {"world.market.gray_premium": {"low": 1, "high": 2}}}, "source"),
        ({"population": 1}, "population"),
    ],
)
def test_a_bad_priors_file_exits_2_naming_the_key(tmp_path, capsys, change, message):
    path = tiny_files(tmp_path)
    data = yaml.safe_load(path.read_text()) | change
    path.write_text(yaml.safe_dump(data))
    assert main(["--priors", str(path), "--out", str(tmp_path / "out"), "--workers", "1"]) == 2
    assert re.search(re.escape(message), capsys.readouterr().err)


def test_the_shipped_priors_are_valid_and_sourced():
    cal = load_calibration()
    assert cal.parameters and all(p.source for p in cal.parameters.values())


def test_a_particles_seed_follows_from_its_parameters_alone() -> None:
    seed = calibrate.particle_seed({"behaviour.front_load_months": 3.5, "world.market.gray_premium": 1.4})
    assert seed == calibrate.particle_seed({"world.market.gray_premium": 1.4, "behaviour.front_load_months": 3.5})
    assert seed != calibrate.particle_seed({"world.market.gray_premium": 1.4, "behaviour.front_load_months": 3.6})
    assert 0 <= seed < 2**31
