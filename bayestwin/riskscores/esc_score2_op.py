"""SCORE2-OP: 10-year risk of fatal and non-fatal cardiovascular disease from age 70.

Source: SCORE2-OP working group and ESC Cardiovascular Risk Collaboration.
SCORE2-OP risk prediction algorithms: estimating incident cardiovascular event
risk in older persons in four geographical risk regions. Eur Heart J
2021;42(25):2455-2467, doi:10.1093/eurheartj/ehab312.

Endpoint ``"fatal_nonfatal_cvd"``: CVD death, myocardial infarction or stroke
within 10 years, with non-CVD death as a competing risk, in people aged 70 or
older without atherosclerotic CVD. The models were derived in the Cohort of
Norway and recalibrated to the same four European risk regions as SCORE2.

The coefficients, mean linear predictors, baseline survivals and 2-decimal
region scales are the rounded values "as published". They were read from the
Stata program ``score2oprisk`` by S. Kaptoge, L. Pennells and S. Hageman
(Cambridge, 2020-2022), authors of the model, whose ``rounded(1)`` option
switches to them. The same values appear in the R package RiskScorescvd
(dvicencio/RiskScorescvd). The program's default full-precision coefficients
give risks within 1 percentage point of these over the validated ages, and
within 0.13 points on the published example. The tests check that bound.
"""

from __future__ import annotations

import math

from bayestwin.riskscores.common import (
    SEXES,
    CholesterolUnit,
    RiskResult,
    Sex,
    ValidRange,
    lipids_in_unit,
    require_flag,
    require_number,
    require_option,
    require_within_ranges,
)
from bayestwin.riskscores.esc_score2 import RISK_REGIONS, RiskRegion, recalibrate

EQUATION = "SCORE2-OP"
ENDPOINT = "fatal_nonfatal_cvd"
HORIZON_YEARS = 10

#: Validated population. NOTE: the upper age of 89 is the top of the ESC SCORE2-OP
#: charts as quoted by calculators. The authors' Stata program sets no upper age.
VALID_RANGES: dict[str, ValidRange] = {"age": ValidRange(70, 89, "years")}

# Log subdistribution hazard ratios per unit of the centred inputs (see `score2_op`).
_COEFFICIENTS: dict[str, dict[str, float]] = {
    "male": {
        "age": 0.0634,
        "diabetes": 0.4245,
        "smoking": 0.3524,
        "sbp": 0.0094,
        "total_cholesterol": 0.0850,
        "hdl_cholesterol": -0.3564,
        "diabetes_x_age": -0.0174,
        "smoking_x_age": -0.0247,
        "sbp_x_age": -0.0005,
        "total_cholesterol_x_age": 0.0073,
        "hdl_cholesterol_x_age": 0.0091,
    },
    "female": {
        "age": 0.0789,
        "diabetes": 0.6010,
        "smoking": 0.4921,
        "sbp": 0.0102,
        "total_cholesterol": 0.0605,
        "hdl_cholesterol": -0.3040,
        "diabetes_x_age": -0.0107,
        "smoking_x_age": -0.0255,
        "sbp_x_age": -0.0004,
        "total_cholesterol_x_age": -0.0009,
        "hdl_cholesterol_x_age": 0.0154,
    },
}

# Mean linear predictor in the derivation cohort, subtracted before applying S0.
_MEAN_LINEAR_PREDICTOR: dict[str, float] = {"male": 0.0929, "female": 0.2288}

# 10-year baseline survival: 1 - 0.2424 (men) and 1 - 0.1918 (women).
_BASELINE_SURVIVAL: dict[str, float] = {"male": 0.7576, "female": 0.8082}

# (scale1, scale2) of the recalibration by region and sex.
_REGION_SCALES: dict[str, dict[str, tuple[float, float]]] = {
    "low": {"male": (-0.34, 1.19), "female": (-0.52, 1.01)},
    "moderate": {"male": (0.01, 1.25), "female": (-0.10, 1.10)},
    "high": {"male": (0.08, 1.15), "female": (0.38, 1.09)},
    "very_high": {"male": (0.05, 0.70), "female": (0.38, 0.69)},
}


def score2_op(
    *,
    age: float,
    sex: Sex,
    current_smoker: bool,
    diabetes: bool,
    systolic_bp: float,
    total_cholesterol: float,
    hdl_cholesterol: float,
    risk_region: RiskRegion,
    cholesterol_unit: CholesterolUnit = "mmol/L",
) -> RiskResult:
    r"""Compute the SCORE2-OP 10-year risk of fatal and non-fatal CVD.

    With centred inputs :math:`a = \text{age} - 73`, :math:`s = \text{SBP} - 150`,
    :math:`c = \text{TC} - 6` and :math:`h = \text{HDL} - 1.4` (cholesterol in
    mmol/L), smoking :math:`k` and diabetes :math:`d`, the sex-specific linear
    predictor is

    .. math::

        x = \beta_a a + \beta_d d + \beta_k k + \beta_s s + \beta_c c + \beta_h h
            + a(\gamma_d d + \gamma_k k + \gamma_s s + \gamma_c c + \gamma_h h)

    The derivation-cohort risk is :math:`r_0 = 1 - S_0^{\exp(x - \bar{x})}`,
    with :math:`\bar{x}` = 0.0929 and :math:`S_0` = 0.7576 for men, 0.2288 and
    0.8082 for women. The returned risk is :math:`r_0` recalibrated to the
    region by `bayestwin.riskscores.esc_score2.recalibrate`.

    Parameters
    ----------
    age
        Age in years, 70-89.
    sex
        ``"female"`` or ``"male"``; each has its own coefficients.
    current_smoker
        Current smoking. Former smokers count as non-smokers.
    diabetes
        Diagnosed diabetes, a predictor in this model.
    systolic_bp
        Systolic blood pressure in mmHg, treated or not.
    total_cholesterol, hdl_cholesterol
        Total and HDL cholesterol, in ``cholesterol_unit``.
    risk_region
        ESC risk region: ``"low"``, ``"moderate"``, ``"high"`` or ``"very_high"``.
    cholesterol_unit
        ``"mmol/L"`` (default, as published) or ``"mg/dL"`` (divided by 38.67).

    Returns
    -------
    RiskResult
        Endpoint ``"fatal_nonfatal_cvd"`` over 10 years, risk as a fraction.

    Raises
    ------
    ValueError
        If age is outside 70-89, a value is not positive, HDL is not below total
        cholesterol, or an option string is invalid.
    TypeError
        If a flag is not a bool or a measurement is not a number.

    """
    require_option(name="sex", value=sex, options=SEXES)
    require_option(name="risk_region", value=risk_region, options=RISK_REGIONS)
    smoking = float(require_flag("current_smoker", current_smoker))
    has_diabetes = float(require_flag("diabetes", diabetes))
    age = require_number("age", age)
    systolic_bp = require_number("systolic_bp", systolic_bp)
    total_mmol, hdl_mmol = lipids_in_unit(
        total_cholesterol=total_cholesterol,
        hdl_cholesterol=hdl_cholesterol,
        given_unit=cholesterol_unit,
        target_unit="mmol/L",
    )
    require_within_ranges(EQUATION, {"age": age}, VALID_RANGES, hint="Use score2 for ages 40-69.")

    # Centre the inputs as in the published model (no scaling).
    centred_age = age - 73.0
    centred_sbp = systolic_bp - 150.0
    centred_total = total_mmol - 6.0
    centred_hdl = hdl_mmol - 1.4

    # Linear predictor with the age interactions, relative to the cohort mean.
    beta = _COEFFICIENTS[sex]
    linear_predictor = (
        beta["age"] * centred_age
        + beta["diabetes"] * has_diabetes
        + beta["smoking"] * smoking
        + beta["sbp"] * centred_sbp
        + beta["total_cholesterol"] * centred_total
        + beta["hdl_cholesterol"] * centred_hdl
        + beta["diabetes_x_age"] * has_diabetes * centred_age
        + beta["smoking_x_age"] * smoking * centred_age
        + beta["sbp_x_age"] * centred_sbp * centred_age
        + beta["total_cholesterol_x_age"] * centred_total * centred_age
        + beta["hdl_cholesterol_x_age"] * centred_hdl * centred_age
    )
    relative_predictor = linear_predictor - _MEAN_LINEAR_PREDICTOR[sex]

    # Derivation-cohort risk, then recalibration to the region.
    uncalibrated = 1.0 - _BASELINE_SURVIVAL[sex] ** math.exp(relative_predictor)
    scale1, scale2 = _REGION_SCALES[risk_region][sex]
    risk = recalibrate(uncalibrated, scale1=scale1, scale2=scale2)
    return RiskResult(equation=EQUATION, endpoint=ENDPOINT, horizon_years=HORIZON_YEARS, risk=risk)
