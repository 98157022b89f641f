"""SCORE2 against the published worked examples (Eur Heart J 2021;42:2439)."""

import pytest

from bayestwin.riskscores import cholesterol_mmol_to_mg_dl, score2
from bayestwin.riskscores.esc_score2 import _REGION_SCALES, recalibrate

# Published risks are printed in percent to one decimal place, so a computed
# risk may differ from the printed one by up to 0.05 percentage points.
PRINTED_ROUNDING = 0.0005

ABSTRACT_SMOKER = {
    "age": 50,
    "current_smoker": True,
    "systolic_bp": 140,
    "total_cholesterol": 5.5,
    "hdl_cholesterol": 1.3,
    "diabetes": False,
}


@pytest.mark.parametrize(
    ("sex", "region", "published"),
    [
        ("male", "low", 0.059),
        ("male", "very_high", 0.140),
        ("female", "low", 0.042),
        ("female", "very_high", 0.137),
    ],
)
def test_score2_abstract_example(sex, region, published):
    # Abstract: 50-year-old smoker, SBP 140 mmHg, TC 5.5 and HDL 1.3 mmol/L.
    result = score2(sex=sex, risk_region=region, **ABSTRACT_SMOKER)
    assert result.risk == pytest.approx(published, abs=PRINTED_ROUNDING)


@pytest.mark.parametrize(
    ("sex", "region", "published"),
    [
        ("male", "low", 0.063),
        ("female", "low", 0.043),
        ("male", "moderate", 0.081),
        ("female", "moderate", 0.052),
        ("male", "high", 0.088),
        ("female", "high", 0.071),
        ("male", "very_high", 0.151),
        ("female", "very_high", 0.141),
    ],
)
def test_score2_supplement_example_all_regions(sex, region, published):
    # Supplementary methods Table 4: 50-year-old smoker, SBP 140, TC 6.3, HDL 1.4
    # mmol/L. The printed values are quoted from the test file of the R package
    # RiskScorescvd (dvicencio/RiskScorescvd, tests/testthat/test-SCORE2_func.R).
    result = score2(
        age=50,
        sex=sex,
        current_smoker=True,
        systolic_bp=140,
        total_cholesterol=6.3,
        hdl_cholesterol=1.4,
        diabetes=False,
        risk_region=region,
    )
    assert result.risk == pytest.approx(published, abs=PRINTED_ROUNDING)


# Region scales to 6 decimals from the authors' Stata program score2risk
# (Kaptoge, Pennells, Hageman); the module uses the published 4-decimal values.
SIX_DECIMAL_SCALES = {
    ("low", "male"): (-0.569857, 0.747593),
    ("low", "female"): (-0.737966, 0.701868),
    ("moderate", "male"): (-0.156481, 0.800869),
    ("moderate", "female"): (-0.314269, 0.770149),
    ("high", "male"): (0.320717, 0.936004),
    ("high", "female"): (0.570963, 0.936893),
    ("very_high", "male"): (0.583578, 0.829368),
    ("very_high", "female"): (0.941177, 0.832923),
}


@pytest.mark.parametrize(("region", "sex"), sorted(SIX_DECIMAL_SCALES))
def test_score2_scales_match_authors_program(region, sex):
    # The published 4-decimal scales must be the 6-decimal ones rounded, so the
    # difference is at most half a unit in the 4th decimal.
    assert _REGION_SCALES[region][sex] == pytest.approx(SIX_DECIMAL_SCALES[(region, sex)], abs=5e-5)


def test_recalibrate_identity_scales_keep_risk():
    # scale1 = 0 and scale2 = 1 leave the complementary log-log transform unchanged.
    assert recalibrate(0.1234, scale1=0.0, scale2=1.0) == pytest.approx(0.1234, rel=1e-12)


def test_score2_result_fields():
    result = score2(sex="male", risk_region="low", **ABSTRACT_SMOKER)
    assert result.equation == "SCORE2"
    assert result.endpoint == "fatal_nonfatal_cvd"
    assert result.horizon_years == 10
    assert result.applicable
    assert result.reason is None


def test_score2_mg_dl_input_matches_mmol():
    # The same lipids given in mg/dL must give the same risk to float precision.
    in_mmol = score2(sex="female", risk_region="high", **ABSTRACT_SMOKER)
    in_mg_dl = score2(
        sex="female",
        risk_region="high",
        cholesterol_unit="mg/dL",
        **{
            **ABSTRACT_SMOKER,
            "total_cholesterol": cholesterol_mmol_to_mg_dl(5.5),
            "hdl_cholesterol": cholesterol_mmol_to_mg_dl(1.3),
        },
    )
    assert in_mg_dl.risk == pytest.approx(in_mmol.risk, rel=1e-12)


def test_score2_risk_rises_with_region():
    risks = [
        score2(sex="male", risk_region=region, **ABSTRACT_SMOKER).risk
        for region in ("low", "moderate", "high", "very_high")
    ]
    assert risks == sorted(risks)


@pytest.mark.parametrize("age", [39, 39.9, 70, 75])
def test_score2_age_outside_range_raises(age):
    with pytest.raises(ValueError, match=r"age=.* is outside the validated range 40-69 years"):
        score2(sex="male", risk_region="low", **{**ABSTRACT_SMOKER, "age": age})


def test_score2_age_70_points_to_score2_op():
    with pytest.raises(ValueError, match="score2_op"):
        score2(sex="male", risk_region="low", **{**ABSTRACT_SMOKER, "age": 70})


def test_score2_diabetes_raises():
    with pytest.raises(ValueError, match="not validated for people with diabetes"):
        score2(sex="male", risk_region="low", **{**ABSTRACT_SMOKER, "diabetes": True})


def test_score2_unknown_region_raises():
    with pytest.raises(ValueError, match=r"risk_region='france' is invalid"):
        score2(sex="male", risk_region="france", **ABSTRACT_SMOKER)


def test_score2_unknown_sex_raises():
    with pytest.raises(ValueError, match=r"sex='M' is invalid; expected one of"):
        score2(sex="M", risk_region="low", **ABSTRACT_SMOKER)


def test_score2_hdl_not_below_total_raises():
    with pytest.raises(ValueError, match="must be below total_cholesterol"):
        score2(sex="male", risk_region="low", **{**ABSTRACT_SMOKER, "hdl_cholesterol": 5.5})


def test_score2_non_positive_sbp_raises():
    with pytest.raises(ValueError, match=r"systolic_bp=0 is invalid"):
        score2(sex="male", risk_region="low", **{**ABSTRACT_SMOKER, "systolic_bp": 0})


def test_score2_nan_raises():
    with pytest.raises(ValueError, match="finite"):
        score2(sex="male", risk_region="low", **{**ABSTRACT_SMOKER, "systolic_bp": float("nan")})


def test_score2_integer_flag_raises_type_error():
    with pytest.raises(TypeError, match="current_smoker must be True or False"):
        score2(sex="male", risk_region="low", **{**ABSTRACT_SMOKER, "current_smoker": 1})


def test_score2_string_number_raises_type_error():
    with pytest.raises(TypeError, match="age must be a number"):
        score2(sex="male", risk_region="low", **{**ABSTRACT_SMOKER, "age": "50"})


def test_score2_positional_arguments_rejected():
    with pytest.raises(TypeError):
        score2(50, "male")  # type: ignore[misc]
