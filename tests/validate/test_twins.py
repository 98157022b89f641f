"""Checks of twins against the simulator's truth and against a refit."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from bayestwin.exceptions import BayestwinError
from bayestwin.validate.twins import (
    CHECK_SCENARIOS,
    counterfactual_check,
    held_out_ids,
    logistic_calibration,
    received_plan,
    refit_agreement,
)


def _with_treatments(cohort, rows):
    table = pd.DataFrame(rows, columns=["patient_id", "drug", "dose_mg", "start", "stop",
                                        "adherence"])
    return dataclasses.replace(cohort, treatments=table)


def test_received_plan_same_doses_at_once(twin_simulated):
    patient = str(twin_simulated.cohort.patients.index[0])
    cohort = _with_treatments(twin_simulated.cohort, [
        (patient, "rosuvastatin", 40.0, -2.0, 1.0, 1.0),
        (patient, "ezetimibe", 10.0, 0.5, np.nan, 1.0),
        (patient, "rosuvastatin", 20.0, 1.0, np.nan, 1.0),
    ])
    assert received_plan(cohort, patient, "rosuvastatin:40+ezetimibe:10")  # from 0.5 to 1
    assert received_plan(cohort, patient, "rosuvastatin:40")  # before 0.5
    assert received_plan(cohort, patient, "rosuvastatin:20+ezetimibe:10")  # from 1 on
    assert not received_plan(cohort, patient, "rosuvastatin:20")
    assert not received_plan(cohort, patient, "atorvastatin:10")
    assert not received_plan(cohort, patient, "rosuvastatin:40+ezetimibe:10+evolocumab:140")


def test_received_plan_ignores_other_drug_classes(twin_simulated):
    patient = str(twin_simulated.cohort.patients.index[0])
    cohort = _with_treatments(twin_simulated.cohort, [
        (patient, "atorvastatin", 10.0, 0.0, np.nan, 1.0),
        (patient, "antihypertensive", np.nan, 0.0, np.nan, 1.0),
    ])
    assert received_plan(cohort, patient, "atorvastatin:10")


def test_logistic_calibration_recovers_the_slope():
    rng = np.random.default_rng(0)
    true_logit = rng.normal(-2.0, 1.0, size=20_000)
    outcome = rng.random(true_logit.size) < 1 / (1 + np.exp(-true_logit))
    calibrated = logistic_calibration(outcome, 1 / (1 + np.exp(-true_logit)))
    assert calibrated["slope"] == pytest.approx(1.0, abs=0.05)
    assert calibrated["observed_expected"] == pytest.approx(1.0, abs=0.05)
    # Predictions twice as spread out on the logit scale: slope one half.
    extreme = logistic_calibration(outcome, 1 / (1 + np.exp(-(2 * true_logit + 2.0))))
    assert extreme["slope"] == pytest.approx(0.5, abs=0.03)


def test_held_out_ids_are_reproducible(twin_simulated):
    cohort = twin_simulated.cohort
    first = held_out_ids(cohort, 5, 1)
    assert first == held_out_ids(cohort, 5, 1)
    assert first == sorted(first)
    assert len(set(first)) == 5
    assert set(first) <= set(cohort.patients.index)
    assert first != held_out_ids(cohort, 5, 2)
    with pytest.raises(ValueError, match="count must lie between 1 and 59"):
        held_out_ids(cohort, 60, 1)


def test_counterfactual_check_layout(fh_structural_fit, twin_simulated):
    # Prior draws: the numbers mean nothing; the table layout does.
    check = counterfactual_check(fh_structural_fit, twin_simulated, max_draws=100,
                                 outcome_replicates=2)
    assert set(check.coverage["scenario"]) == {"current", *CHECK_SCENARIOS}
    assert set(check.coverage["quantity"]) == {"risk_10y", "ldl_1y"}
    assert check.coverage["coverage"].between(0, 1).all()
    excluded = set(check.excluded["patient_id"])
    assert excluded.isdisjoint(check.intervals["patient_id"])
    events = twin_simulated.cohort.events
    assert set(events.loc[events["event"] == "mi", "patient_id"]) <= excluded
    counted = len(set(check.intervals["patient_id"])) + len(excluded)
    assert counted == twin_simulated.cohort.n_patients
    assert (check.intervals["lower"] <= check.intervals["upper"]).all()
    assert list(check.calibration["replicate"]) == [0, 1]
    assert check.pooled["events"] == check.calibration["events"].sum()


def test_counterfactual_check_refuses_another_cohort(fh_structural_fit, small_simulated):
    with pytest.raises(BayestwinError, match="not the one the fit was made on"):
        counterfactual_check(fh_structural_fit, small_simulated, outcome_replicates=1)


def test_refit_agreement_checks_the_fits(fh_structural_fit, twin_simulated):
    patient = str(twin_simulated.cohort.patients.index[0])
    with pytest.raises(BayestwinError, match="are in the fit without the held-out"):
        refit_agreement(fh_structural_fit, fh_structural_fit, twin_simulated.cohort, [patient])


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::bayestwin.exceptions.ConvergenceWarning")
def test_counterfactual_coverage_of_the_gate_fit(fh_fit, fh_simulated):
    """Intervals of the 200-patient fit contain the true values at close to 90%."""
    check = counterfactual_check(fh_fit, fh_simulated, outcome_replicates=20)
    assert (check.coverage["patients"] >= 100).all(), check.coverage
    assert check.coverage["coverage"].between(0.80, 0.97).all(), check.coverage.to_string()
    # The fit gives 0.70 (docs/validation.md); predictions unrelated to the truth give 0.
    assert check.pooled["correlation_with_true_risk"] > 0.6, check.pooled


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::bayestwin.exceptions.ConvergenceWarning")
def test_refit_agreement_layout(fh_structural_fit, twin_simulated):
    # Prior draws in both fits: the layout is checked, not the agreement. Two
    # conditioning samplers are compiled, which takes over a minute.
    from bayestwin.testing import prior_fit
    from bayestwin.twin.landmark import subset_cohort

    cohort = twin_simulated.cohort
    held_out = held_out_ids(cohort, 2, 5)
    remaining = [p for p in cohort.patients.index if p not in held_out]
    without = prior_fit(subset_cohort(cohort, remaining), "fh_twin", draws=50, seed=4)
    table = refit_agreement(without, fh_structural_fit, cohort, held_out, max_draws=50)
    assert list(table["patient_id"]) == held_out * 2
    assert set(table["scenario"]) == {"current", "atorvastatin:80+ezetimibe:10"}
    for name in ("conditioned", "updated", "conditioned_on_refit", "refit"):
        assert (table[f"{name}_lower"] <= table[f"{name}_median"]).all()
        assert (table[f"{name}_median"] <= table[f"{name}_upper"]).all()
    np.testing.assert_allclose(
        table["total_median_difference_pp"],
        100 * (table["conditioned_median"] - table["refit_median"]))
    assert (table["method_width_ratio"] > 0).all()
    np.testing.assert_allclose(
        table["updated_median_difference_pp"],
        100 * (table["updated_median"] - table["refit_median"]))
    assert table["pareto_k"].notna().all()
