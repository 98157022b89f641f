"""Scenario strings and treatment-effect summaries."""

import math

import numpy as np
import pytest

from bayestwin.exceptions import ScenarioError
from bayestwin.twin.effects import NNT, risk_table, weighted_quantile
from bayestwin.twin.scenario import parse_plan


def test_plan_with_two_drugs():
    plan = parse_plan("atorvastatin:80+ezetimibe:10")
    assert plan.drugs == (("atorvastatin", 80.0), ("ezetimibe", 10.0))
    assert plan.adherence == 1.0


def test_plan_options():
    plan = parse_plan("rosuvastatin:20@adherence=0.8@diet=-1")
    assert plan.adherence == 0.8
    assert plan.diet_change == -1.0


def test_single_dose_drug_needs_no_dose():
    assert parse_plan("inclisiran").drugs == (("inclisiran", 284.0),)


def test_current_keeps_treatment():
    assert parse_plan("current").keep_current


@pytest.mark.parametrize("text, message", [
    ("atorvastatine:80", "Did you mean 'atorvastatin'"),
    ("atorvastatin:160", "outside the licensed range"),
    ("atorvastatin", "needs a dose"),
    ("atorvastatin:abc", "not a number"),
    ("atorvastatin:40+rosuvastatin:10", "more than one drug of class statin"),
    ("atorvastatin:40@adherence=1.5", "outside \\[0, 1\\]"),
    ("", "non-empty"),
])
def test_bad_plans_are_rejected(text, message):
    with pytest.raises(ScenarioError, match=message):
        parse_plan(text)


def test_nnt_benefit_with_clear_interval():
    assert NNT(0.05, 0.02, 0.10).text() == "NNTB 20 (10 to 50)"


def test_nnt_interval_through_infinity():
    # ARR interval -0.01 to 0.04: from NNTB 25 through infinity to NNTH 100 (Altman 1998).
    assert NNT(0.02, -0.01, 0.04).text() == "NNTB 50 (NNTB 25 to ∞ to NNTH 100)"


def test_nnt_harm():
    assert NNT(-0.05, -0.1, -0.02).kind == "harm"


def test_risk_table_values():
    rng = np.random.default_rng(0)
    draws = 4000
    reference = rng.uniform(0.10, 0.12, draws)
    better = reference - 0.05
    incidence = np.stack([np.stack([np.zeros(draws), reference]),
                          np.stack([np.zeros(draws), better])])
    table = risk_table(incidence, ["current", "intensive"], np.array([0.0, 5.0]), (5.0,))
    row = table.set_index("scenario").loc["intensive"]
    assert row["arr"] == pytest.approx(0.05)
    assert row["p_benefit"] == 1.0
    assert row["nnt"] == pytest.approx(20.0)
    assert math.isnan(table.set_index("scenario").loc["current", "p_benefit"])


def test_horizon_off_grid_is_rejected():
    with pytest.raises(ValueError, match="not on the time grid"):
        risk_table(np.zeros((1, 2, 5)), ["a"], np.array([0.0, 5.0]), (7.0,))


def test_weighted_quantile_equal_weights():
    values = np.random.default_rng(0).normal(size=101)
    probabilities = [0.05, 0.5, 0.95]
    np.testing.assert_array_equal(
        weighted_quantile(values, np.full(101, 1.0 / 101), probabilities),
        np.quantile(values, probabilities, method="inverted_cdf"))


def test_weighted_quantile_follows_weights():
    values = np.array([3.0, 1.0, 2.0, 4.0])
    weights = np.array([0.1, 0.1, 0.7, 0.1])
    np.testing.assert_array_equal(weighted_quantile(values, weights, [0.1, 0.5, 0.85, 0.95]),
                                  [1.0, 2.0, 3.0, 4.0])
