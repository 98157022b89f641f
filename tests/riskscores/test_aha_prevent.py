"""PREVENT base model against the worked examples of preventr and Khan Table S12."""

import pytest

from bayestwin.riskscores import cholesterol_mg_dl_to_mmol, prevent

# Khan 2024 example: 50 years, TC 200 and HDL 45 mg/dL, SBP 160 mmHg on treatment,
# diabetes, non-smoker, eGFR 90, BMI 35, no statin.
EXAMPLE = {
    "age": 50,
    "total_cholesterol": 200,
    "hdl_cholesterol": 45,
    "systolic_bp": 160,
    "on_bp_treatment": True,
    "on_statin": False,
    "diabetes": True,
    "current_smoker": False,
    "egfr": 90,
    "bmi": 35,
}

# preventr prints risks to three decimals of a fraction (0.1 percentage point),
# so a computed risk may differ from it by up to 0.0005.
PREVENTR_ROUNDING = 0.0005
# Khan Table S12, as asserted in PooledCohort, gives four decimals of a fraction.
TABLE_S12_ROUNDING = 0.00005


@pytest.mark.parametrize(
    ("endpoint", "horizon", "published"),
    [
        ("total_cvd", 10, 0.147),
        ("total_cvd", 30, 0.530),
        ("ascvd", 10, 0.092),
        ("ascvd", 30, 0.354),
    ],
)
def test_prevent_female_example_preventr(endpoint, horizon, published):
    # preventr README (martingmayer/preventr), base model.
    result = prevent(sex="female", horizon_years=horizon, endpoint=endpoint, **EXAMPLE)
    assert result.risk == pytest.approx(published, abs=PREVENTR_ROUNDING)
    assert (result.equation, result.endpoint, result.horizon_years) == (
        "PREVENT",
        endpoint,
        horizon,
    )


@pytest.mark.parametrize(("sex", "published"), [("female", 0.1468), ("male", 0.1632)])
def test_prevent_ten_year_cvd_table_s12(sex, published):
    # Khan 2024 Table S12 base model, as tested in bcjaeger/PooledCohort
    # (tests/testthat/test-predict_cvd_risk.R).
    result = prevent(sex=sex, **EXAMPLE)
    assert result.risk == pytest.approx(published, abs=TABLE_S12_ROUNDING)


def test_prevent_mmol_input_matches_mg_dl():
    in_mg_dl = prevent(sex="male", **EXAMPLE).risk
    in_mmol = prevent(
        sex="male",
        cholesterol_unit="mmol/L",
        **{
            **EXAMPLE,
            "total_cholesterol": cholesterol_mg_dl_to_mmol(200),
            "hdl_cholesterol": cholesterol_mg_dl_to_mmol(45),
        },
    ).risk
    assert in_mmol == pytest.approx(in_mg_dl, rel=1e-12)


def test_prevent_bmi_does_not_change_cvd_risk():
    # BMI enters only the heart-failure equations, which are not implemented.
    assert prevent(sex="female", **{**EXAMPLE, "bmi": 22}).risk == pytest.approx(
        prevent(sex="female", **EXAMPLE).risk, rel=1e-12
    )


def test_prevent_statin_changes_risk():
    on_statin = prevent(sex="female", **{**EXAMPLE, "on_statin": True}).risk
    assert on_statin != pytest.approx(prevent(sex="female", **EXAMPLE).risk, rel=1e-6)


@pytest.mark.parametrize("age", [29, 80])
def test_prevent_ten_year_age_outside_range_raises(age):
    with pytest.raises(ValueError, match=r"PREVENT 10-year .* age=.* 30-79 years"):
        prevent(sex="female", **{**EXAMPLE, "age": age})


def test_prevent_thirty_year_age_60_raises():
    with pytest.raises(ValueError, match=r"PREVENT 30-year .* age=60 years .* 30-59 years"):
        prevent(sex="female", horizon_years=30, **{**EXAMPLE, "age": 60})


def test_prevent_ten_year_accepts_age_60():
    assert prevent(sex="female", **{**EXAMPLE, "age": 60}).applicable


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"egfr": 10}, r"egfr=10 mL/min/1.73m2 is outside the validated range 15-140"),
        ({"egfr": 150}, r"egfr=150 mL/min/1.73m2"),
        ({"bmi": 41}, r"bmi=41 kg/m2 is outside the validated range 18.5-39.9"),
        ({"bmi": 17}, r"bmi=17 kg/m2"),
        ({"systolic_bp": 85}, r"systolic_bp=85 mmHg is outside the validated range 90-200"),
        ({"total_cholesterol": 120}, r"total_cholesterol=120 mg/dL"),
        ({"hdl_cholesterol": 15}, r"hdl_cholesterol=15 mg/dL"),
    ],
)
def test_prevent_out_of_range_raises(override, message):
    with pytest.raises(ValueError, match=message):
        prevent(sex="male", **{**EXAMPLE, **override})


def test_prevent_unknown_horizon_raises():
    with pytest.raises(ValueError, match=r"horizon_years=20 is invalid; expected one of 10, 30"):
        prevent(sex="male", horizon_years=20, **EXAMPLE)


def test_prevent_unknown_endpoint_raises():
    with pytest.raises(ValueError, match=r"endpoint='heart_failure' is invalid"):
        prevent(sex="male", endpoint="heart_failure", **EXAMPLE)
