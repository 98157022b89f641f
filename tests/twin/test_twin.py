"""Twins from the structural FH fit (prior draws): shapes, summaries, bad requests."""

import numpy as np
import pytest

from bayestwin.compare.cohort import compare_plans, ldl_effects
from bayestwin.exceptions import ScenarioError
from bayestwin.twin.api import choose_statin_dose, make_twin
from bayestwin.twin.trajectory import predict, refine_offsets

SCENARIOS = ["current", "atorvastatin:80", "atorvastatin:80+ezetimibe:10+evolocumab:140"]


@pytest.fixture(scope="module")
def patient(twin_simulated):
    # A patient with no endpoint event, so the first-event risk applies.
    events = twin_simulated.cohort.events
    with_event = set(events["patient_id"])
    return next(p for p in twin_simulated.cohort.patients.index if p not in with_event)


@pytest.fixture(scope="module")
def twin(fh_structural_fit, twin_simulated, patient):
    return make_twin(fh_structural_fit, twin_simulated.cohort, patient, SCENARIOS, seed=1,
                     max_draws=500)


def test_twin_dims(twin):
    for name in ("ldl", "burden", "cac", "cumulative_incidence"):
        assert twin.trajectories[name].dims == ("scenario", "time", "draw")
    assert list(twin.trajectories["scenario"].values) == SCENARIOS
    assert twin.trajectories.sizes["draw"] == 200  # all the structural fit's draws
    assert twin.trajectories["time"].values[-1] == pytest.approx(10.0)


def test_incidence_is_a_probability_that_grows(twin):
    incidence = twin.trajectories["cumulative_incidence"].values
    assert np.all(incidence >= 0)
    assert np.all(incidence <= 1)
    assert np.all(np.diff(incidence, axis=1) >= -1e-12)


def test_intensive_plan_lowers_ldl_in_every_draw(twin):
    # Each drug removes a positive fraction in every draw, so adding drugs lowers LDL-C.
    ldl = twin.trajectories["ldl"].isel(time=12)
    assert bool((ldl.sel(scenario=SCENARIOS[2]) < ldl.sel(scenario=SCENARIOS[1])).all())


def test_risk_table_columns(twin):
    expected = {"scenario", "horizon", "risk", "risk_low", "risk_high", "arr", "arr_low",
                "arr_high", "p_benefit", "p_relevant", "nnt", "nnt_text"}
    assert expected <= set(twin.risks.columns)
    assert set(twin.risks["horizon"]) == {5.0, 10.0}
    assert (twin.risks["risk_low"] <= twin.risks["risk"]).all()


def test_goals_per_scenario(twin):
    assert list(twin.goals["scenario"]) == SCENARIOS
    assert twin.goals["p_goal"].between(0, 1).all()


def test_unknown_patient(fh_structural_fit, twin_simulated):
    with pytest.raises(ScenarioError, match="not found"):
        make_twin(fh_structural_fit, twin_simulated.cohort, "NOPE", ["current"], seed=1)


def test_unknown_drug(fh_structural_fit, twin_simulated, patient):
    with pytest.raises(ScenarioError, match="unknown lipid-lowering drug"):
        make_twin(fh_structural_fit, twin_simulated.cohort, patient, ["current", "statinol:10"],
                  seed=1)


def test_start_before_last_observation(fh_structural_fit, twin_simulated, patient):
    with pytest.raises(ScenarioError, match="before the patient's last observation"):
        make_twin(fh_structural_fit, twin_simulated.cohort, patient, ["current"], seed=1, start=0.0)


def test_horizon_beyond_support(fh_structural_fit, twin_simulated, patient):
    with pytest.raises(ScenarioError, match="beyond the model's support"):
        make_twin(fh_structural_fit, twin_simulated.cohort, patient, ["current"], seed=1,
                  horizon=50.0)


def test_dose_choice(fh_structural_fit, twin_simulated, patient):
    choice = choose_statin_dose(fh_structural_fit, twin_simulated.cohort, patient, seed=2,
                                max_draws=200)
    assert choice.best_dose in choice.doses
    assert 0.0 < choice.p_best <= 1.0
    # Muscle-symptom risk grows with dose, by construction of its prior.
    assert np.all(np.diff(choice.sams) > 0)


def test_compare_plans_by_subgroup(fh_structural_fit, twin_simulated):
    result = compare_plans(fh_structural_fit, twin_simulated.cohort, ["current", "esc-goal"],
                           by="variant_class", max_draws=100)
    assert result.incidence.dims == ("plan", "patient", "draw")
    assert set(result.summary["plan"]) == {"current", "esc-goal"}
    escalated = result.summary[result.summary["plan"] == "esc-goal"]
    assert escalated["p_beats_reference"].between(0, 1).all()


def test_ldl_effects_table(fh_structural_fit):
    table = ldl_effects(fh_structural_fit).set_index(["drug", "dose_mg"])
    assert table.loc[("atorvastatin", 80.0), "reduction"] > table.loc[
        ("atorvastatin", 10.0), "reduction"]
    assert table.loc[("evolocumab", 140.0), "reduction"] == pytest.approx(0.6, abs=0.15)


def test_refine_offsets_keeps_requested_times():
    fine, positions = refine_offsets(np.array([0.0, 1.0, 10.0]), step=0.25)
    np.testing.assert_allclose(fine[positions], [0.0, 1.0, 10.0])
    assert np.diff(fine).max() <= 0.25 + 1e-12
    assert len(fine) == 1 + 4 + 36


def test_coarse_grid_risks_match_fine_grid(fh_structural_fit, twin_simulated, patient):
    # The cohort comparison and the streamed summaries request risks at 5 and 10 years only.
    # They must match a grid of 1/360 year within 0.01 percentage points, and within 0.1% of
    # the risk above 0.1%. The structural fit's prior draws include extreme hazards.
    plans = SCENARIOS[:2]
    coarse = make_twin(fh_structural_fit, twin_simulated.cohort, patient, plans, seed=1,
                       max_draws=200, horizon=10.0, step=5.0)
    fine = make_twin(fh_structural_fit, twin_simulated.cohort, patient, plans, seed=1,
                     max_draws=200, horizon=10.0, step=1.0 / 360.0)
    for years in (5.0, 10.0):
        low = coarse.trajectories["cumulative_incidence"].sel(time=years).values
        high = fine.trajectories["cumulative_incidence"].sel(time=years, method="nearest").values
        assert np.max(np.abs(low - high)) < 1e-4
        above = high > 1e-3
        assert np.max(np.abs(low[above] / high[above] - 1.0)) < 1e-3


def test_offsets_must_start_at_zero():
    with pytest.raises(ValueError, match="must start at 0"):
        predict({}, None, None, np.array([1.0, 10.0]), spec_constants={})


def test_offsets_must_increase():
    with pytest.raises(ValueError, match="strictly increase"):
        predict({}, None, None, np.array([0.0, 5.0, 5.0]), spec_constants={})


def test_incidence_compiles_once_per_shape(fh_structural_fit, twin_simulated, patient):
    # A second twin with as many draws, the same scenarios and grid reuses the compiled scan.
    from bayestwin.twin import trajectory

    make_twin(fh_structural_fit, twin_simulated.cohort, patient, SCENARIOS, seed=1, max_draws=50)
    compiled = trajectory._incidence_scan._cache_size()
    make_twin(fh_structural_fit, twin_simulated.cohort, patient, SCENARIOS, seed=2, max_draws=50)
    assert trajectory._incidence_scan._cache_size() == compiled
