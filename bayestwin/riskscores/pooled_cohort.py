"""Pooled Cohort Equations (PCE): 10-year risk of a first hard ASCVD event.

Source: Goff DC Jr, Lloyd-Jones DM, Bennett G, et al. 2013 ACC/AHA guideline
on the assessment of cardiovascular risk. J Am Coll Cardiol
2014;63(25 Pt B):2935-2959 (Table A of the work group report gives the
coefficients).

Endpoint ``"hard_ascvd"``: first non-fatal myocardial infarction, coronary
heart disease death, or fatal or non-fatal stroke within 10 years, in adults
aged 40-79 without ASCVD. There are four equations, by sex and race (white,
African American).

The coefficients, group means and baseline survivals are the Table A values
as transcribed in the R package CVrisk (vcastro/CVrisk,
``data-raw/score_coef.R``). The R package PooledCohort (bcjaeger/PooledCohort)
carries more decimals for African-American women and for the means and
survivals. On the published worked examples the two sets differ by at most
0.06 percentage points.
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
    cholesterol_conversion_notes,
    lipids_in_unit,
    require_flag,
    require_number,
    require_option,
    require_within_ranges,
)

PceRace = Literal["white", "african_american"]
PCE_RACES: tuple[str, ...] = ("white", "african_american")

EQUATION = "PCE"
ENDPOINT = "hard_ascvd"
HORIZON_YEARS = 10

#: Validated ranges. Age 40-79 is from Goff 2013. The total cholesterol (130-320
#: mg/dL) and SBP (90-200 mmHg) limits are those PooledCohort enforces for the
#: ACC/AHA estimator. NOTE: HDL 20-100 mg/dL is taken from the same estimator
#: but was not confirmed in a source opened for this module.
VALID_RANGES: dict[str, ValidRange] = {
    "age": ValidRange(40, 79, "years"),
    "total_cholesterol": ValidRange(130, 320, "mg/dL"),
    "hdl_cholesterol": ValidRange(20, 100, "mg/dL"),
    "systolic_bp": ValidRange(90, 200, "mmHg"),
}

# Coefficients of ln-transformed inputs, the group mean of the sum and the
# 10-year baseline survival, by (sex, race). Missing terms are zero.
_COEFFICIENTS: dict[tuple[str, str], dict[str, float]] = {
    ("female", "white"): {
        "ln_age": -29.799,
        "ln_age_squared": 4.884,
        "ln_total_cholesterol": 13.540,
        "ln_age_x_ln_total_cholesterol": -3.114,
        "ln_hdl_cholesterol": -13.578,
        "ln_age_x_ln_hdl_cholesterol": 3.149,
        "ln_treated_sbp": 2.019,
        "ln_untreated_sbp": 1.957,
        "smoker": 7.574,
        "ln_age_x_smoker": -1.665,
        "diabetes": 0.661,
        "mean": -29.18,
        "baseline_survival": 0.9665,
    },
    ("female", "african_american"): {
        "ln_age": 17.114,
        "ln_total_cholesterol": 0.940,
        "ln_hdl_cholesterol": -18.920,
        "ln_age_x_ln_hdl_cholesterol": 4.475,
        "ln_treated_sbp": 29.291,
        "ln_age_x_ln_treated_sbp": -6.432,
        "ln_untreated_sbp": 27.820,
        "ln_age_x_ln_untreated_sbp": -6.087,
        "smoker": 0.691,
        "diabetes": 0.874,
        "mean": 86.61,
        "baseline_survival": 0.9533,
    },
    ("male", "white"): {
        "ln_age": 12.344,
        "ln_total_cholesterol": 11.853,
        "ln_age_x_ln_total_cholesterol": -2.664,
        "ln_hdl_cholesterol": -7.990,
        "ln_age_x_ln_hdl_cholesterol": 1.769,
        "ln_treated_sbp": 1.797,
        "ln_untreated_sbp": 1.764,
        "smoker": 7.837,
        "ln_age_x_smoker": -1.795,
        "diabetes": 0.658,
        "mean": 61.18,
        "baseline_survival": 0.9144,
    },
    ("male", "african_american"): {
        "ln_age": 2.469,
        "ln_total_cholesterol": 0.302,
        "ln_hdl_cholesterol": -0.307,
        "ln_treated_sbp": 1.916,
        "ln_untreated_sbp": 1.809,
        "smoker": 0.549,
        "diabetes": 0.645,
        "mean": 19.54,
        "baseline_survival": 0.8954,
    },
}


def pooled_cohort_equations(
    *,
    age: float,
    sex: Sex,
    race: PceRace,
    total_cholesterol: float,
    hdl_cholesterol: float,
    systolic_bp: float,
    on_bp_treatment: bool,
    current_smoker: bool,
    diabetes: bool,
    cholesterol_unit: CholesterolUnit = "mg/dL",
) -> RiskResult:
    r"""Compute the Pooled Cohort Equations 10-year risk of hard ASCVD.

    With :math:`L_a = \ln(\text{age})`, :math:`L_c = \ln(\text{TC})`,
    :math:`L_h = \ln(\text{HDL})` and :math:`L_s = \ln(\text{SBP})`
    (cholesterol in mg/dL), smoking :math:`k` and diabetes :math:`d`, the sum for
    the person's sex and race group is

    .. math::

        x = \beta_1 L_a + \beta_2 L_a^2 + \beta_3 L_c + \beta_4 L_a L_c
            + \beta_5 L_h + \beta_6 L_a L_h + \beta_{s} L_s + \beta_{as} L_a L_s
            + \beta_k k + \beta_{ak} L_a k + \beta_d d

    where the SBP coefficients :math:`\beta_s, \beta_{as}` are those for treated
    or untreated SBP. The risk is :math:`1 - S_0^{\exp(x - \bar{x})}` with the
    group mean :math:`\bar{x}` and baseline survival :math:`S_0`.

    Parameters
    ----------
    age
        Age in years, 40-79.
    sex
        ``"female"`` or ``"male"``.
    race
        ``"white"`` or ``"african_american"``. The equations were derived for these
        two groups only. Using the white equations for other groups, as the R
        package PooledCohort does, is an extrapolation the caller must choose.
    total_cholesterol, hdl_cholesterol
        Total and HDL cholesterol in ``cholesterol_unit``; 130-320 and 20-100 mg/dL.
    systolic_bp
        Systolic blood pressure in mmHg, 90-200.
    on_bp_treatment
        Whether the SBP is on antihypertensive treatment.
    current_smoker
        Current smoking. Former smokers count as non-smokers.
    diabetes
        Diagnosed diabetes.
    cholesterol_unit
        ``"mg/dL"`` (default, as published) or ``"mmol/L"`` (multiplied by 38.67).

    Returns
    -------
    RiskResult
        Endpoint ``"hard_ascvd"`` over 10 years, risk as a fraction.

    Raises
    ------
    ValueError
        If an input is outside its validated range, HDL is not below total
        cholesterol, or an option string is invalid.
    TypeError
        If a flag is not a bool or a measurement is not a number.

    """
    require_option(name="sex", value=sex, options=SEXES)
    require_option(name="race", value=race, options=PCE_RACES)
    treated = require_flag("on_bp_treatment", on_bp_treatment)
    smoking = float(require_flag("current_smoker", current_smoker))
    has_diabetes = float(require_flag("diabetes", diabetes))
    age = require_number("age", age)
    systolic_bp = require_number("systolic_bp", systolic_bp)
    total_mg_dl, hdl_mg_dl = lipids_in_unit(
        total_cholesterol=total_cholesterol,
        hdl_cholesterol=hdl_cholesterol,
        given_unit=cholesterol_unit,
        target_unit="mg/dL",
    )
    notes = cholesterol_conversion_notes(
        total_cholesterol=total_cholesterol,
        hdl_cholesterol=hdl_cholesterol,
        given_unit=cholesterol_unit,
        native_unit="mg/dL",
    )
    require_within_ranges(
        EQUATION,
        {
            "age": age,
            "total_cholesterol": total_mg_dl,
            "hdl_cholesterol": hdl_mg_dl,
            "systolic_bp": systolic_bp,
        },
        VALID_RANGES,
        notes=notes,
    )

    # Log-transformed inputs.
    ln_age = math.log(age)
    ln_total = math.log(total_mg_dl)
    ln_hdl = math.log(hdl_mg_dl)
    ln_sbp = math.log(systolic_bp)

    # Individual sum for the sex and race group; absent terms count as zero.
    beta = _COEFFICIENTS[(sex, race)]
    sbp_kind = "treated" if treated else "untreated"
    individual_sum = (
        beta.get("ln_age", 0.0) * ln_age
        + beta.get("ln_age_squared", 0.0) * ln_age**2
        + beta.get("ln_total_cholesterol", 0.0) * ln_total
        + beta.get("ln_age_x_ln_total_cholesterol", 0.0) * ln_age * ln_total
        + beta.get("ln_hdl_cholesterol", 0.0) * ln_hdl
        + beta.get("ln_age_x_ln_hdl_cholesterol", 0.0) * ln_age * ln_hdl
        + beta.get(f"ln_{sbp_kind}_sbp", 0.0) * ln_sbp
        + beta.get(f"ln_age_x_ln_{sbp_kind}_sbp", 0.0) * ln_age * ln_sbp
        + beta.get("smoker", 0.0) * smoking
        + beta.get("ln_age_x_smoker", 0.0) * ln_age * smoking
        + beta.get("diabetes", 0.0) * has_diabetes
    )

    # Absolute risk relative to the group mean.
    risk = 1.0 - beta["baseline_survival"] ** math.exp(individual_sum - beta["mean"])
    return RiskResult(equation=EQUATION, endpoint=ENDPOINT, horizon_years=HORIZON_YEARS, risk=risk)
