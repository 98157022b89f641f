"""True counterfactual futures under alternative plans."""

import numpy as np
import pytest

from bayestwin.exceptions import ScenarioError
from bayestwin.simulate import OBSERVED_PLAN, simulate_counterfactual

PLANS = {
    "observed": OBSERVED_PLAN,
    "none": [],
    "atorvastatin_80": [("atorvastatin", 80.0)],
    "maximal": [("rosuvastatin", 40.0), ("ezetimibe", 10.0), ("evolocumab", 140.0)],
}


@pytest.fixture(scope="module")
def futures(cohort_300):
    return simulate_counterfactual(cohort_300, PLANS, seed=3)


def test_observed_plan_reproduces_truth(cohort_300):
    result = simulate_counterfactual(cohort_300, {"observed": OBSERVED_PLAN}, start=0.0, seed=1)
    truth = cohort_300.truth_patients
    # Same hazards, different cell bounds: agreement to integration accuracy.
    np.testing.assert_allclose(
        result["risk_5y"].sel(scenario="observed"), truth["risk_5y"], rtol=1e-7, atol=1e-12
    )
    np.testing.assert_allclose(
        result["risk_10y"].sel(scenario="observed"), truth["risk_10y"], rtol=1e-7, atol=1e-12
    )
    np.testing.assert_allclose(
        result["ldl_c"].sel(scenario="observed", time=0.0), truth["ldl_entry"], rtol=1e-12
    )


def test_constant_plan_reproduces_truth(cohort_300):
    # Patients whose only prescription runs unchanged from before entry: the
    # same drug as a plan from entry, at their own adherence, is their truth.
    rows = cohort_300.history.rows
    single = rows.groupby("patient").filter(
        lambda group: (
            len(group) == 1
            and group["start"].iloc[0] < 0
            and not np.isfinite(group["stop"].iloc[0])
        )
    )
    assert len(single) >= 5
    truth = cohort_300.truth_patients
    for row in single.head(5).itertuples():
        patient_id = cohort_300.design.patient_id[row.patient]
        result = simulate_counterfactual(
            cohort_300,
            {"same": [(row.drug, row.dose_mg)]},
            start=0.0,
            seed=1,
            adherence=None,
            patients=[patient_id],
        )
        np.testing.assert_allclose(
            result["risk_10y"].values[0, 0], truth.loc[patient_id, "risk_10y"], rtol=1e-7
        )


def test_dims_and_coordinates(futures, cohort_300):
    assert futures["ldl_c"].dims == ("scenario", "patient", "time")
    assert list(futures["scenario"].values) == list(PLANS)
    assert list(futures["patient"].values) == list(cohort_300.cohort.patients.index)
    assert futures["time"].values[0] == 0.0
    assert futures["time"].values[-1] == pytest.approx(10.0)
    assert futures["plan"].sel(scenario="maximal") == "rosuvastatin:40+ezetimibe:10+evolocumab:140"


def test_default_start_follows_last_measurement(futures, cohort_300):
    last = cohort_300.cohort.measurements.groupby("patient_id")["time"].max()
    start = futures["start"].to_series()
    assert (start > last.loc[start.index]).all()
    assert (start - last.loc[start.index] < 0.003).all()


def test_incidence_is_monotone_probability(futures):
    incidence = futures["cumulative_incidence"].values
    assert (incidence >= 0).all() and (incidence <= 1).all()
    assert (np.diff(incidence, axis=2) >= -1e-15).all()
    np.testing.assert_allclose(
        futures["cumulative_incidence"].sel(time=5.0, method="nearest"),
        futures["risk_5y"],
        rtol=1e-9,
        atol=1e-15,
    )


def test_stronger_plan_lowers_ldl_and_risk(futures):
    maximal = futures.sel(scenario="maximal")
    none = futures.sel(scenario="none")
    assert (maximal["ldl_c"] < none["ldl_c"]).all()
    assert (maximal["burden"].isel(time=-1) < none["burden"].isel(time=-1)).all()
    assert (maximal["risk_10y"] <= none["risk_10y"]).all()


def test_no_drug_plan_gives_untreated_ldl(futures, cohort_300):
    start = futures["start"].values
    patients = np.arange(len(start))
    untreated = np.exp(cohort_300.trajectories.untreated_log_ldl(patients, start + 2.0))
    np.testing.assert_allclose(
        futures["ldl_c"].sel(scenario="none").sel(time=2.0, method="nearest"), untreated, rtol=1e-12
    )


def test_sampled_times_follow_seed(cohort_300):
    plans = {"none": []}
    first = simulate_counterfactual(cohort_300, plans, seed=5, horizon=2.0)
    again = simulate_counterfactual(cohort_300, plans, seed=5, horizon=2.0)
    other = simulate_counterfactual(cohort_300, plans, seed=6, horizon=2.0)
    np.testing.assert_array_equal(first["sampled_death_time"], again["sampled_death_time"])
    assert not np.array_equal(first["sampled_death_time"], other["sampled_death_time"])


@pytest.mark.parametrize(
    ("plans", "message"),
    [
        ({"bad": [("aspirin", 100.0)]}, "unknown drug"),
        ({"bad": [("atorvastatin", 160.0)]}, "outside the licensed range"),
        ({"bad": [("atorvastatin", 40.0), ("rosuvastatin", 20.0)]}, "two drugs of class"),
        ({"bad": "usual care"}, "only string plan"),
        ({}, "plans is empty"),
    ],
)
def test_invalid_plans_raise(cohort_300, plans, message):
    with pytest.raises(ScenarioError, match=message):
        simulate_counterfactual(cohort_300, plans, seed=1)


def test_invalid_options_raise(cohort_300):
    plans = {"none": []}
    with pytest.raises(ScenarioError, match="unknown patient ids"):
        simulate_counterfactual(cohort_300, plans, seed=1, patients=["P99999"])
    with pytest.raises(ScenarioError, match="horizon"):
        simulate_counterfactual(cohort_300, plans, seed=1, horizon=0.0)
    with pytest.raises(ScenarioError, match="adherence"):
        simulate_counterfactual(cohort_300, plans, seed=1, adherence=1.5)
    with pytest.raises(ScenarioError, match="start"):
        simulate_counterfactual(cohort_300, plans, seed=1, start=-1.0)


def test_start_per_patient(cohort_300):
    ids = list(cohort_300.cohort.patients.index[:3])
    plans = {"none": []}
    starts = [0.5, 1.0, 2.0]
    together = simulate_counterfactual(cohort_300, plans, seed=1, start=starts, patients=ids)
    np.testing.assert_array_equal(together["start"].values, starts)
    for patient_id, start in zip(ids, starts, strict=True):
        alone = simulate_counterfactual(
            cohort_300, plans, seed=1, start=start, patients=[patient_id]
        )
        np.testing.assert_allclose(
            together["ldl_c"].sel(patient=patient_id), alone["ldl_c"].sel(patient=patient_id)
        )
        np.testing.assert_allclose(
            together["risk_10y"].sel(patient=patient_id),
            alone["risk_10y"].sel(patient=patient_id),
            rtol=1e-9,
        )


def test_start_per_patient_is_checked(cohort_300):
    ids = list(cohort_300.cohort.patients.index[:2])
    with pytest.raises(ScenarioError, match="2 values for 1 patients"):
        simulate_counterfactual(
            cohort_300, {"none": []}, seed=1, start=[1.0, 2.0], patients=ids[:1]
        )
    with pytest.raises(ScenarioError, match=f"for patient {ids[1]}"):
        simulate_counterfactual(cohort_300, {"none": []}, seed=1, start=[1.0, -2.0], patients=ids)
