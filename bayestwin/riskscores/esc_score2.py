"""SCORE2: 10-year risk of fatal and non-fatal cardiovascular disease in Europe.

Source: SCORE2 working group and ESC Cardiovascular Risk Collaboration. SCORE2
risk prediction algorithms: new models to estimate 10-year risk of
cardiovascular disease in Europe. Eur Heart J 2021;42(25):2439-2454,
doi:10.1093/eurheartj/ehab309.

Endpoint ``"fatal_nonfatal_cvd"``: first cardiovascular death, non-fatal
myocardial infarction or non-fatal stroke within 10 years, with non-CVD death as
a competing risk. SCORE2 is for people aged 40-69 without previous CVD or
diabetes. The sex-specific models are recalibrated to four European risk
regions (low, moderate, high, very high) chosen by country of residence.

The coefficients and centring constants are the published ones. The region
scales have 4 decimals, as in the R package RiskScorescvd. The Stata program
``score2risk`` by S. Kaptoge, L. Pennells and S. Hageman (Cambridge, 2020-2023),
authors of the model, carries them to 6 decimals. Rounding to 4 decimals moves
the risk by less than 0.01 percentage points.
"""

from __future__ import annotations

import math
from typing import Literal

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

RiskRegion = Literal["low", "moderate", "high", "very_high"]
RISK_REGIONS: tuple[str, ...] = ("low", "moderate", "high", "very_high")

EQUATION = "SCORE2"
ENDPOINT = "fatal_nonfatal_cvd"
HORIZON_YEARS = 10

#: Validated population. The paper gives no range for SBP or cholesterol, so those
#: inputs are only checked for being finite and positive.
VALID_RANGES: dict[str, ValidRange] = {"age": ValidRange(40, 69, "years")}

# Log subdistribution hazard ratios per centred unit (see `score2` for the centring).
# The published model also has diabetes terms (men 0.6457 and -0.0983 x age, women
# 0.8096 and -0.1272 x age). They are left out because SCORE2 rejects diabetes.
_COEFFICIENTS: dict[str, dict[str, float]] = {
    "male": {
        "age": 0.3742,
        "smoking": 0.6012,
        "sbp": 0.2777,
        "total_cholesterol": 0.1458,
        "hdl_cholesterol": -0.2698,
        "smoking_x_age": -0.0755,
        "sbp_x_age": -0.0255,
        "total_cholesterol_x_age": -0.0281,
        "hdl_cholesterol_x_age": 0.0426,
    },
    "female": {
        "age": 0.4648,
        "smoking": 0.7744,
        "sbp": 0.3131,
        "total_cholesterol": 0.1002,
        "hdl_cholesterol": -0.2606,
        "smoking_x_age": -0.1088,
        "sbp_x_age": -0.0277,
        "total_cholesterol_x_age": -0.0226,
        "hdl_cholesterol_x_age": 0.0613,
    },
}

_BASELINE_SURVIVAL: dict[str, float] = {"male": 0.9605, "female": 0.9776}

# (scale1, scale2) of the recalibration by region and sex.
_REGION_SCALES: dict[str, dict[str, tuple[float, float]]] = {
    "low": {"male": (-0.5699, 0.7476), "female": (-0.7380, 0.7019)},
    "moderate": {"male": (-0.1565, 0.8009), "female": (-0.3143, 0.7701)},
    "high": {"male": (0.3207, 0.9360), "female": (0.5710, 0.9369)},
    "very_high": {"male": (0.5836, 0.8294), "female": (0.9412, 0.8329)},
}


def recalibrate(risk: float, *, scale1: float, scale2: float) -> float:
    r"""Recalibrate a derivation-cohort risk to a risk region.

    .. math:: r' = 1 - \exp\{-\exp[s_1 + s_2 \ln(-\ln(1 - r))]\}

    SCORE2 and SCORE2-OP share this complementary log-log recalibration.
    """
    return 1.0 - math.exp(-math.exp(scale1 + scale2 * math.log(-math.log(1.0 - risk))))


def score2(
    *,
    age: float,
    sex: Sex,
    current_smoker: bool,
    systolic_bp: float,
    total_cholesterol: float,
    hdl_cholesterol: float,
    diabetes: bool,
    risk_region: RiskRegion,
    cholesterol_unit: CholesterolUnit = "mmol/L",
) -> RiskResult:
    r"""Compute the SCORE2 10-year risk of fatal and non-fatal CVD.

    With centred inputs :math:`a = (\text{age} - 60)/5`,
    :math:`s = (\text{SBP} - 120)/20`, :math:`c = \text{TC} - 6` and
    :math:`h = (\text{HDL} - 1.3)/0.5` (cholesterol in mmol/L), and smoking
    :math:`k \in \{0, 1\}`, the sex-specific linear predictor is

    .. math::

        x = \beta_a a + \beta_k k + \beta_s s + \beta_c c + \beta_h h
            + a(\gamma_k k + \gamma_s s + \gamma_c c + \gamma_h h)

    The derivation-cohort risk is :math:`r_0 = 1 - S_0^{\exp(x)}`, with
    :math:`S_0` = 0.9605 (men) or 0.9776 (women), and the returned risk is
    :math:`r_0` recalibrated to the region by `recalibrate`.

    Parameters
    ----------
    age
        Age in years; SCORE2 is validated for 40-69 (use `score2_op` from 70).
    sex
        ``"female"`` or ``"male"``; each has its own coefficients.
    current_smoker
        Current smoking. Former smokers count as non-smokers.
    systolic_bp
        Systolic blood pressure in mmHg, treated or not.
    total_cholesterol, hdl_cholesterol
        Total and HDL cholesterol, in ``cholesterol_unit``.
    diabetes
        Diagnosed diabetes. SCORE2 is not validated in diabetes, so True raises.
    risk_region
        ESC risk region of the country of residence: ``"low"``, ``"moderate"``,
        ``"high"`` or ``"very_high"``. France is in the low-risk region.
    cholesterol_unit
        ``"mmol/L"`` (default, as published) or ``"mg/dL"`` (divided by 38.67).

    Returns
    -------
    RiskResult
        Endpoint ``"fatal_nonfatal_cvd"`` over 10 years, risk as a fraction.

    Raises
    ------
    ValueError
        If age is outside 40-69, diabetes is True, a value is not positive, HDL
        is not below total cholesterol, or an option string is invalid.
    TypeError
        If a flag is not a bool or a measurement is not a number.

    """
    require_option(name="sex", value=sex, options=SEXES)
    require_option(name="risk_region", value=risk_region, options=RISK_REGIONS)
    smoking = float(require_flag("current_smoker", current_smoker))
    if require_flag("diabetes", diabetes):
        raise ValueError(
            "SCORE2 is not validated for people with diabetes (diabetes=True); the ESC "
            "publishes SCORE2-Diabetes for them, which bayestwin does not implement."
        )
    age = require_number("age", age)
    systolic_bp = require_number("systolic_bp", systolic_bp)
    total_mmol, hdl_mmol = lipids_in_unit(
        total_cholesterol=total_cholesterol,
        hdl_cholesterol=hdl_cholesterol,
        given_unit=cholesterol_unit,
        target_unit="mmol/L",
    )
    require_within_ranges(
        EQUATION,
        {"age": age},
        VALID_RANGES,
        hint="Use score2_op for ages 70 and over.",
    )

    # Centre and scale the inputs as in the published model.
    centred_age = (age - 60.0) / 5.0
    centred_sbp = (systolic_bp - 120.0) / 20.0
    centred_total = total_mmol - 6.0
    centred_hdl = (hdl_mmol - 1.3) / 0.5

    # Linear predictor with the age interactions.
    beta = _COEFFICIENTS[sex]
    linear_predictor = (
        beta["age"] * centred_age
        + beta["smoking"] * smoking
        + beta["sbp"] * centred_sbp
        + beta["total_cholesterol"] * centred_total
        + beta["hdl_cholesterol"] * centred_hdl
        + beta["smoking_x_age"] * smoking * centred_age
        + beta["sbp_x_age"] * centred_sbp * centred_age
        + beta["total_cholesterol_x_age"] * centred_total * centred_age
        + beta["hdl_cholesterol_x_age"] * centred_hdl * centred_age
    )

    # Derivation-cohort risk, then recalibration to the region.
    uncalibrated = 1.0 - _BASELINE_SURVIVAL[sex] ** math.exp(linear_predictor)
    scale1, scale2 = _REGION_SCALES[risk_region][sex]
    risk = recalibrate(uncalibrated, scale1=scale1, scale2=scale2)
    return RiskResult(equation=EQUATION, endpoint=ENDPOINT, horizon_years=HORIZON_YEARS, risk=risk)
