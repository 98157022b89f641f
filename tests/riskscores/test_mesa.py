"""MESA CHD risk with and without CAC against the CVrisk worked examples."""

import pytest

from bayestwin.riskscores import mesa_chd

# CVrisk example: 70-year-old Hispanic man, SBP 130 mmHg on treatment, HDL 50 and
# TC 190 mg/dL, no lipid-lowering drug, non-smoker, no diabetes or family history.
EXAMPLE = {
    "age": 70,
    "sex": "male",
    "race": "hispanic",
    "diabetes": False,
    "current_smoker": False,
    "total_cholesterol": 190,
    "hdl_cholesterol": 50,
    "on_lipid_lowering": False,
    "systolic_bp": 130,
    "on_bp_treatment": True,
    "family_history_mi": False,
}

# CVrisk returns percentages rounded to two decimals: up to 0.005 points of rounding.
CVRISK_ROUNDING = 0.00005


def test_mesa_with_cac_zero_example():
    # vcastro/CVrisk tests/testthat/test-chd_10y_mesa_cac.R: 3.06 %.
    result = mesa_chd(cac=0, **EXAMPLE)
    assert result.risk == pytest.approx(0.0306, abs=CVRISK_ROUNDING)
    assert (result.equation, result.endpoint, result.horizon_years) == ("MESA-CAC", "hard_chd", 10)


def test_mesa_without_cac_example():
    # vcastro/CVrisk tests/testthat/test-chd_10y_mesa.R: 8.61 %.
    result = mesa_chd(cac=None, **EXAMPLE)
    assert result.risk == pytest.approx(0.0861, abs=CVRISK_ROUNDING)
    assert result.equation == "MESA"


def test_mesa_risk_rises_with_cac():
    risks = [mesa_chd(cac=cac, **EXAMPLE).risk for cac in (0, 10, 100, 400, 1000)]
    assert risks == sorted(risks)
    assert risks[0] < risks[-1]


def test_mesa_white_is_reference_race():
    # The race terms are relative to white; African American has its own term.
    white = mesa_chd(cac=None, **{**EXAMPLE, "race": "white"}).risk
    black = mesa_chd(cac=None, **{**EXAMPLE, "race": "african_american"}).risk
    assert white != pytest.approx(black, rel=1e-6)


@pytest.mark.parametrize("age", [44, 86])
def test_mesa_age_outside_range_raises(age):
    with pytest.raises(ValueError, match=r"age=.* is outside the validated range 45-85 years"):
        mesa_chd(cac=0, **{**EXAMPLE, "age": age})


def test_mesa_negative_cac_raises():
    with pytest.raises(ValueError, match=r"cac=-1 is invalid; expected 0 or more"):
        mesa_chd(cac=-1, **EXAMPLE)


def test_mesa_unknown_race_raises():
    with pytest.raises(ValueError, match=r"race='other' is invalid"):
        mesa_chd(cac=0, **{**EXAMPLE, "race": "other"})


def test_mesa_cac_keyword_required():
    with pytest.raises(TypeError):
        mesa_chd(**EXAMPLE)  # type: ignore[call-arg]
