"""Prior and posterior predictive checks: replicated data, statistics, plots and the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from bayestwin.inference.checks import plot_predictive_check, predictive_check


@pytest.fixture(scope="module")
def checks(lipid_fit, small_simulated):
    cohort = small_simulated.cohort
    return {kind: predictive_check(lipid_fit, cohort, kind=kind, draws=100, seed=1)
            for kind in ("prior", "posterior")}


def test_observed_values_are_the_cohorts(checks, small_simulated):
    measurements = small_simulated.cohort.measurements
    ldl = measurements.loc[measurements["marker"] == "ldl_c", "value"].to_numpy(float)
    observed = checks["posterior"].observed["log_ldl"]
    assert observed.shape == ldl.shape
    np.testing.assert_allclose(np.sort(observed), np.sort(np.log(ldl)))


def test_replicated_shapes(checks):
    replicated = checks["posterior"].replicated["log_ldl"]
    assert replicated.shape == (100, checks["posterior"].observed["log_ldl"].size)


def test_posterior_is_narrower_than_prior(checks):
    """The posterior's replicated mean LDL-C is near the observed one, the prior's is wide."""
    prior = checks["prior"].statistic_draws["log_ldl mean"]
    posterior = checks["posterior"].statistic_draws["log_ldl mean"]
    observed = checks["posterior"].statistics.loc["log_ldl mean", "observed"]
    assert np.std(posterior) < 0.5 * np.std(prior)
    assert abs(np.median(posterior) - observed) < 0.1


def test_tail_probability_in_range(checks):
    p_values = checks["posterior"].statistics["p_value"]
    assert p_values.between(0.0, 1.0).all()


def test_events_and_cac_from_fh_twin(fh_structural_fit, twin_simulated):
    check = predictive_check(fh_structural_fit, twin_simulated.cohort, kind="posterior",
                             draws=50, seed=2)
    statistics = check.statistics
    assert "endpoint events" in statistics.index
    events = twin_simulated.cohort.events
    assert statistics.loc["endpoint events", "observed"] <= len(events)
    assert "share of CAC > 0" in statistics.index
    share = statistics.loc["share of CAC > 0", "observed"]
    assert 0.0 < share < 1.0


def test_plots_written(checks, tmp_path):
    paths = plot_predictive_check(checks["posterior"], tmp_path)
    names = {path.name for path in paths}
    assert "posterior_predictive_log_ldl.png" in names
    assert "posterior_predictive_log_ldl mean.png" in names
    assert all(path.stat().st_size > 1000 for path in paths)


def test_invalid_kind(lipid_fit, small_simulated):
    with pytest.raises(ValueError, match="kind"):
        predictive_check(lipid_fit, small_simulated.cohort, kind="both")
    with pytest.raises(ValueError, match="draws"):
        predictive_check(lipid_fit, small_simulated.cohort, draws=0)
