"""Equation selection: which scores apply to a profile, and why the others do not."""

import dataclasses
import datetime

import pytest

from bayestwin.riskscores import (
    RiskProfile,
    RiskResult,
    applicable_scores,
    cholesterol_mg_dl_to_mmol,
    esc_fh_risk_category,
    mesa_chd,
    pooled_cohort_equations,
    prevent,
    score2,
)
from bayestwin.riskscores.select import FH_REASON, SECONDARY_PREVENTION_REASON

EXPECTED_ORDER = [
    ("SCORE2", "fatal_nonfatal_cvd", 10),
    ("SCORE2-OP", "fatal_nonfatal_cvd", 10),
    ("PCE", "hard_ascvd", 10),
    ("PREVENT", "total_cvd", 10),
    ("PREVENT", "total_cvd", 30),
    ("MESA", "hard_chd", 10),
    ("MESA-CAC", "hard_chd", 10),
]


def make_profile(**overrides):
    # A 55-year-old white man in France (low-risk region) with complete inputs.
    values = {
        "age": 55,
        "sex": "male",
        "race": "white",
        "risk_region": "low",
        "smoking": "never",
        "diabetes": False,
        "on_bp_treatment": False,
        "systolic_bp": 130,
        "total_cholesterol": 5.5,
        "hdl_cholesterol": 1.3,
        "egfr": 90,
        "bmi": 26,
        "cac": 0,
        "on_statin": False,
        "on_lipid_lowering": False,
        "family_history_mi": False,
        "assessed_on": datetime.date(2024, 3, 1),
    }
    values.update(overrides)
    return RiskProfile(**values)


def by_name(results):
    return {(result.equation, result.horizon_years): result for result in results}


def test_applicable_scores_order_and_labels():
    results = applicable_scores(make_profile())
    assert [(r.equation, r.endpoint, r.horizon_years) for r in results] == EXPECTED_ORDER


def test_applicable_scores_complete_profile_aged_55():
    results = by_name(applicable_scores(make_profile()))
    applicable = {key for key, result in results.items() if result.applicable}
    assert applicable == {
        ("SCORE2", 10),
        ("PCE", 10),
        ("PREVENT", 10),
        ("PREVENT", 30),
        ("MESA", 10),
        ("MESA-CAC", 10),
    }
    assert "70-89 years" in results[("SCORE2-OP", 10)].reason


def test_applicable_scores_match_direct_calls():
    # The selection converts mmol/L to mg/dL for the US equations; the risks must
    # equal direct calls in mg/dL to float precision.
    results = by_name(applicable_scores(make_profile()))
    total_mg_dl, hdl_mg_dl = 5.5 * 38.67, 1.3 * 38.67
    assert results[("SCORE2", 10)].risk == pytest.approx(
        score2(
            age=55,
            sex="male",
            current_smoker=False,
            systolic_bp=130,
            total_cholesterol=5.5,
            hdl_cholesterol=1.3,
            diabetes=False,
            risk_region="low",
        ).risk,
        rel=1e-12,
    )
    assert results[("PCE", 10)].risk == pytest.approx(
        pooled_cohort_equations(
            age=55,
            sex="male",
            race="white",
            total_cholesterol=total_mg_dl,
            hdl_cholesterol=hdl_mg_dl,
            systolic_bp=130,
            on_bp_treatment=False,
            current_smoker=False,
            diabetes=False,
        ).risk,
        rel=1e-12,
    )
    assert results[("PREVENT", 30)].risk == pytest.approx(
        prevent(
            age=55,
            sex="male",
            total_cholesterol=total_mg_dl,
            hdl_cholesterol=hdl_mg_dl,
            systolic_bp=130,
            on_bp_treatment=False,
            on_statin=False,
            diabetes=False,
            current_smoker=False,
            egfr=90,
            bmi=26,
            horizon_years=30,
        ).risk,
        rel=1e-12,
    )
    assert results[("MESA-CAC", 10)].risk == pytest.approx(
        mesa_chd(
            age=55,
            sex="male",
            race="white",
            diabetes=False,
            current_smoker=False,
            total_cholesterol=total_mg_dl,
            hdl_cholesterol=hdl_mg_dl,
            on_lipid_lowering=False,
            systolic_bp=130,
            on_bp_treatment=False,
            family_history_mi=False,
            cac=0,
        ).risk,
        rel=1e-12,
    )


def test_former_smoker_counts_as_non_smoker():
    never = by_name(applicable_scores(make_profile(smoking="never")))
    former = by_name(applicable_scores(make_profile(smoking="former")))
    current = by_name(applicable_scores(make_profile(smoking="current")))
    assert former[("SCORE2", 10)].risk == never[("SCORE2", 10)].risk
    assert current[("SCORE2", 10)].risk > never[("SCORE2", 10)].risk


def test_prior_ascvd_makes_every_score_not_applicable():
    results = applicable_scores(make_profile(prior_ascvd=True))
    assert len(results) == len(EXPECTED_ORDER)
    for result in results:
        assert not result.applicable
        assert result.risk is None
        assert result.reason == SECONDARY_PREVENTION_REASON


def test_fh_makes_every_score_not_applicable():
    results = applicable_scores(make_profile(familial_hypercholesterolaemia=True))
    for result in results:
        assert not result.applicable
        assert result.reason == FH_REASON
    assert "SCORE2" in {result.equation for result in results}


def test_prior_ascvd_reported_before_fh():
    results = applicable_scores(make_profile(prior_ascvd=True, familial_hypercholesterolaemia=True))
    assert {result.reason for result in results} == {SECONDARY_PREVENTION_REASON}


def test_age_75_gets_score2_op_not_score2():
    results = by_name(applicable_scores(make_profile(age=75)))
    assert results[("SCORE2-OP", 10)].applicable
    assert not results[("SCORE2", 10)].applicable
    assert "age=75 years is outside the validated range 40-69 years" in (
        results[("SCORE2", 10)].reason
    )
    assert "30-59 years" in results[("PREVENT", 30)].reason
    assert results[("PREVENT", 10)].applicable


def test_age_35_only_prevent_applies():
    results = applicable_scores(make_profile(age=35))
    applicable = {(r.equation, r.horizon_years) for r in results if r.applicable}
    assert applicable == {("PREVENT", 10), ("PREVENT", 30)}


def test_diabetes_excludes_score2_only():
    results = by_name(applicable_scores(make_profile(diabetes=True)))
    assert not results[("SCORE2", 10)].applicable
    assert "diabetes" in results[("SCORE2", 10)].reason
    assert results[("PCE", 10)].applicable
    assert results[("PREVENT", 10)].applicable


def test_missing_prevent_inputs_reported():
    results = by_name(applicable_scores(make_profile(egfr=None, on_statin=None)))
    assert results[("PREVENT", 10)].reason == "missing input: egfr, on_statin"
    assert results[("SCORE2", 10)].applicable


def test_cac_not_measured_excludes_mesa_cac_only():
    results = by_name(applicable_scores(make_profile(cac=None)))
    assert results[("MESA-CAC", 10)].reason == "missing input: cac"
    assert results[("MESA", 10)].applicable


def test_other_race_excludes_pce_and_mesa():
    results = by_name(applicable_scores(make_profile(race="other")))
    assert "derived for white and African-American adults" in results[("PCE", 10)].reason
    assert "race='other'" in results[("MESA", 10)].reason
    assert results[("SCORE2", 10)].applicable
    assert results[("PREVENT", 10)].applicable


def test_chinese_gets_mesa_but_not_pce():
    results = by_name(applicable_scores(make_profile(race="chinese")))
    assert results[("MESA", 10)].applicable
    assert not results[("PCE", 10)].applicable


def test_out_of_range_lipid_reported_for_us_equations():
    # 9.5 mmol/L is 367 mg/dL, above the PCE and PREVENT limit of 320 mg/dL.
    results = by_name(applicable_scores(make_profile(total_cholesterol=9.5)))
    assert "total_cholesterol=367.365 mg/dL (given as 9.5 mmol/L)" in results[("PCE", 10)].reason
    assert not results[("PREVENT", 10)].applicable
    assert results[("SCORE2", 10)].applicable


def test_profile_in_mg_dl_gives_same_results():
    in_mmol = applicable_scores(make_profile())
    in_mg_dl = applicable_scores(
        make_profile(
            total_cholesterol=5.5 * 38.67, hdl_cholesterol=1.3 * 38.67, cholesterol_unit="mg/dL"
        )
    )
    for left, right in zip(in_mmol, in_mg_dl, strict=True):
        assert left.applicable == right.applicable
        if left.applicable:
            assert left.risk == pytest.approx(right.risk, rel=1e-9)
    assert cholesterol_mg_dl_to_mmol(5.5 * 38.67) == pytest.approx(5.5, rel=1e-12)


@pytest.mark.parametrize(
    ("override", "error", "message"),
    [
        ({"sex": "F"}, ValueError, r"sex='F' is invalid"),
        ({"race": "black"}, ValueError, r"race='black' is invalid"),
        ({"risk_region": "France"}, ValueError, r"risk_region='France' is invalid"),
        ({"smoking": "yes"}, ValueError, r"smoking='yes' is invalid"),
        ({"cholesterol_unit": "mg/L"}, ValueError, r"cholesterol_unit='mg/L' is invalid"),
        ({"diabetes": "no"}, TypeError, r"diabetes must be True or False"),
        ({"age": None}, TypeError, r"age must be a number"),
        ({"cac": -5}, ValueError, r"cac=-5 is invalid"),
        ({"hdl_cholesterol": 6.0}, ValueError, r"must be below total_cholesterol"),
        ({"assessed_on": "2024-03-01"}, TypeError, r"assessed_on must be a datetime.date"),
    ],
)
def test_profile_rejects_invalid_values(override, error, message):
    with pytest.raises(error, match=message):
        make_profile(**override)


def test_profile_is_frozen():
    profile = make_profile()
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.age = 60  # type: ignore[misc]


@pytest.mark.parametrize(
    ("prior_ascvd", "other_major_risk_factor", "expected"),
    [
        (False, False, "high"),
        (True, False, "very_high"),
        (False, True, "very_high"),
        (True, True, "very_high"),
    ],
)
def test_esc_fh_risk_category(prior_ascvd, other_major_risk_factor, expected):
    category = esc_fh_risk_category(
        prior_ascvd=prior_ascvd, other_major_risk_factor=other_major_risk_factor
    )
    assert category == expected


def test_esc_fh_risk_category_rejects_non_bool():
    with pytest.raises(TypeError, match="prior_ascvd must be True or False"):
        esc_fh_risk_category(prior_ascvd="yes", other_major_risk_factor=False)


def test_risk_result_requires_consistent_fields():
    with pytest.raises(ValueError, match="needs a risk and no reason"):
        RiskResult(equation="X", endpoint="y", horizon_years=10, risk=None)
    with pytest.raises(ValueError, match="needs a reason and no risk"):
        RiskResult(equation="X", endpoint="y", horizon_years=10, risk=0.1, applicable=False)
