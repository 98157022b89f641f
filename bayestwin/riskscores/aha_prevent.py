"""AHA PREVENT base model: 10- and 30-year risk of total CVD and of ASCVD.

Source: Khan SS, Matsushita K, Sang Y, et al. Development and validation of
the American Heart Association's PREVENT equations. Circulation
2024;149(6):430-449 (coefficients in the supplement).

Endpoints: ``"total_cvd"`` is a first ASCVD event or heart failure.
``"ascvd"`` is a first coronary heart disease event (non-fatal myocardial
infarction or CHD death) or stroke. The base model applies to adults aged
30-79 without CVD; the 30-year equations to ages 30-59. The equations are
sex-specific logistic models without race.

The coefficients were read from the Stata programs ``prevent10i`` and
``prevent30i`` by A. Linden (SSC archive, June 2024) and reproduce the worked
examples of the preventr README (martingmayer/preventr) and of Khan Table S12
as tested in bcjaeger/PooledCohort. The heart-failure, CHD and stroke
equations and the HbA1c, UACR and SDI model variants are not implemented.
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
    cholesterol_mg_dl_to_mmol,
    lipids_in_unit,
    require_flag,
    require_number,
    require_option,
    require_within_ranges,
)

PreventEndpoint = Literal["total_cvd", "ascvd"]
PreventHorizon = Literal[10, 30]
PREVENT_ENDPOINTS: tuple[str, ...] = ("total_cvd", "ascvd")
PREVENT_HORIZONS: tuple[int, ...] = (10, 30)

EQUATION = "PREVENT"

#: Validated ranges of the base model. NOTE: implementations disagree on two
#: limits: eGFR 15-140 (preventr, PooledCohort) or 15-150 (Stata prevent), and
#: SBP 90-200 (PooledCohort, Stata) or 90-180 (preventr, by its author's choice).
#: The stricter eGFR and the wider SBP limits are used here.
VALID_RANGES: dict[str, ValidRange] = {
    "age": ValidRange(30, 79, "years"),
    "total_cholesterol": ValidRange(130, 320, "mg/dL"),
    "hdl_cholesterol": ValidRange(20, 100, "mg/dL"),
    "systolic_bp": ValidRange(90, 200, "mmHg"),
    "bmi": ValidRange(18.5, 39.9, "kg/m2"),
    "egfr": ValidRange(15, 140, "mL/min/1.73m2"),
}

#: The 30-year equations are for ages 30-59 only.
THIRTY_YEAR_AGE_RANGE = ValidRange(30, 59, "years")

# Order of the terms in the coefficient tuples below (see `prevent` for their definitions).
_TERMS: tuple[str, ...] = (
    "age", "age_squared", "non_hdl", "hdl", "sbp_below_110", "sbp_110_up",
    "diabetes", "smoking", "egfr_below_60", "egfr_60_up", "bp_treatment", "statin",
    "bp_treatment_x_sbp_110_up", "statin_x_non_hdl",
    "age_x_non_hdl", "age_x_hdl", "age_x_sbp_110_up", "age_x_diabetes", "age_x_smoking",
    "age_x_egfr_below_60", "constant",
)  # fmt: skip

# Log-odds coefficients by (endpoint, horizon, sex), in the order of _TERMS. The
# 10-year equations have no age-squared term.
_COEFFICIENT_ROWS: dict[tuple[str, int, str], tuple[float, ...]] = {
    ("total_cvd", 10, "female"): (
        0.7939329, 0.0, 0.0305239, -0.1606857, -0.2394003, 0.3600781,
        0.8667604, 0.5360739, 0.6045917, 0.0433769, 0.3151672, -0.1477655,
        -0.0663612, 0.1197879,
        -0.0819715, 0.0306769, -0.0946348, -0.27057, -0.078715, -0.1637806, -3.307728,
    ),
    ("total_cvd", 10, "male"): (
        0.7688528, 0.0, 0.0736174, -0.0954431, -0.4347345, 0.3362658,
        0.7692857, 0.4386871, 0.5378979, 0.0164827, 0.288879, -0.1337349,
        -0.0475924, 0.150273,
        -0.0517874, 0.0191169, -0.1049477, -0.2251948, -0.0895067, -0.1543702, -3.031168,
    ),
    ("ascvd", 10, "female"): (
        0.719883, 0.0, 0.1176967, -0.151185, -0.0835358, 0.3592852,
        0.8348585, 0.4831078, 0.4864619, 0.0397779, 0.2265309, -0.0592374,
        -0.0395762, 0.0844423,
        -0.0567839, 0.0325692, -0.1035985, -0.2417542, -0.0791142, -0.1671492, -3.819975,
    ),
    ("ascvd", 10, "male"): (
        0.7099847, 0.0, 0.1658663, -0.1144285, -0.2837212, 0.3239977,
        0.7189597, 0.3956973, 0.3690075, 0.0203619, 0.2036522, -0.0865581,
        -0.0322916, 0.114563,
        -0.0300005, 0.0232747, -0.0927024, -0.2018525, -0.0970527, -0.1217081, -3.500655,
    ),
    ("total_cvd", 30, "female"): (
        0.5503079, -0.0928369, 0.0409794, -0.1663306, -0.1628654, 0.3299505,
        0.6793894, 0.3196112, 0.1857101, 0.0553528, 0.2894, -0.075688,
        -0.056367, 0.1071019,
        -0.0751438, 0.0301786, -0.0998776, -0.3206166, -0.1607862, -0.1450788, -1.318827,
    ),
    ("total_cvd", 30, "male"): (
        0.4627309, -0.0984281, 0.0836088, -0.1029824, -0.2140352, 0.2904325,
        0.5331276, 0.2141914, 0.1155556, 0.0603775, 0.232714, -0.0272112,
        -0.0384488, 0.134192,
        -0.0511759, 0.0165865, -0.1101437, -0.2585943, -0.1566406, -0.1166776, -1.148204,
    ),
    ("ascvd", 30, "female"): (
        0.4669202, -0.0893118, 0.1256901, -0.1542255, -0.0018093, 0.322949,
        0.6296707, 0.268292, 0.100106, 0.0499663, 0.1875292, 0.0152476,
        -0.0276123, 0.0736147,
        -0.0521962, 0.0316918, -0.1046101, -0.2727793, -0.1530907, -0.1299149, -1.974074,
    ),
    ("ascvd", 30, "male"): (
        0.3994099, -0.0937484, 0.1744643, -0.120203, -0.0665117, 0.2753037,
        0.4790257, 0.1782635, -0.0218789, 0.0602553, 0.1421182, 0.0135996,
        -0.0218265, 0.1013148,
        -0.0312619, 0.020673, -0.0920935, -0.2159947, -0.1548811, -0.0712547, -1.736444,
    ),
}  # fmt: skip


def prevent(
    *,
    age: float,
    sex: Sex,
    total_cholesterol: float,
    hdl_cholesterol: float,
    systolic_bp: float,
    on_bp_treatment: bool,
    on_statin: bool,
    diabetes: bool,
    current_smoker: bool,
    egfr: float,
    bmi: float,
    horizon_years: PreventHorizon = 10,
    endpoint: PreventEndpoint = "total_cvd",
    cholesterol_unit: CholesterolUnit = "mg/dL",
) -> RiskResult:
    r"""Compute the PREVENT base-model risk of total CVD or ASCVD.

    Cholesterol enters in mmol/L (mg/dL x 0.02586). With
    :math:`a = (\text{age} - 55)/10`, :math:`n = \text{TC} - \text{HDL} - 3.5`,
    :math:`h = (\text{HDL} - 1.3)/0.3`, SBP splines
    :math:`s_1 = (\min(\text{SBP}, 110) - 110)/20` and
    :math:`s_2 = (\max(\text{SBP}, 110) - 130)/20`, eGFR splines
    :math:`e_1 = (\min(\text{eGFR}, 60) - 60)/(-15)` and
    :math:`e_2 = (\max(\text{eGFR}, 60) - 90)/(-15)`, diabetes :math:`d`,
    smoking :math:`k`, BP treatment :math:`t` and statin :math:`u`:

    .. math::

        x = \beta_0 + \beta_a a + \beta_{aa} a^2 + \beta_n n + \beta_h h
            + \beta_{s_1} s_1 + \beta_{s_2} s_2 + \beta_d d + \beta_k k
            + \beta_{e_1} e_1 + \beta_{e_2} e_2 + \beta_t t + \beta_u u
            + \gamma_t t s_2 + \gamma_u u n
            + a(\delta_n n + \delta_h h + \delta_s s_2 + \delta_d d
                + \delta_k k + \delta_e e_1)

    and the risk is :math:`1 / (1 + e^{-x})`. The age-squared term
    :math:`\beta_{aa}` is zero in the 10-year equations.

    Parameters
    ----------
    age
        Age in years: 30-79 for 10 years, 30-59 for 30 years.
    sex
        ``"female"`` or ``"male"``.
    total_cholesterol, hdl_cholesterol
        Total and HDL cholesterol in ``cholesterol_unit``; 130-320 and 20-100 mg/dL.
    systolic_bp
        Systolic blood pressure in mmHg, 90-200.
    on_bp_treatment
        Antihypertensive treatment.
    on_statin
        Statin treatment.
    diabetes
        Diagnosed diabetes.
    current_smoker
        Current smoking (cigarettes in the last 30 days in the derivation data).
    egfr
        Estimated glomerular filtration rate in mL/min/1.73 m2, 15-140.
    bmi
        Body mass index in kg/m2, 18.5-39.9. It does not enter the total-CVD or
        ASCVD equations; it is checked because the base model was derived and
        validated in that range.
    horizon_years
        10 or 30.
    endpoint
        ``"total_cvd"`` (default) or ``"ascvd"``.
    cholesterol_unit
        ``"mg/dL"`` (default, as published) or ``"mmol/L"``.

    Returns
    -------
    RiskResult
        The requested endpoint and horizon, risk as a fraction.

    Raises
    ------
    ValueError
        If an input is outside its validated range, HDL is not below total
        cholesterol, or an option is invalid.
    TypeError
        If a flag is not a bool or a measurement is not a number.

    """
    require_option(name="sex", value=sex, options=SEXES)
    require_option(name="horizon_years", value=horizon_years, options=PREVENT_HORIZONS)
    require_option(name="endpoint", value=endpoint, options=PREVENT_ENDPOINTS)
    treated = float(require_flag("on_bp_treatment", on_bp_treatment))
    statin = float(require_flag("on_statin", on_statin))
    has_diabetes = float(require_flag("diabetes", diabetes))
    smoking = float(require_flag("current_smoker", current_smoker))
    age = require_number("age", age)
    systolic_bp = require_number("systolic_bp", systolic_bp)
    egfr = require_number("egfr", egfr)
    bmi = require_number("bmi", bmi)
    total_mg_dl, hdl_mg_dl = lipids_in_unit(
        total_cholesterol=total_cholesterol,
        hdl_cholesterol=hdl_cholesterol,
        given_unit=cholesterol_unit,
        target_unit="mg/dL",
    )
    ranges = dict(VALID_RANGES)
    if horizon_years == 30:
        ranges["age"] = THIRTY_YEAR_AGE_RANGE
    require_within_ranges(
        f"{EQUATION} {horizon_years}-year",
        {
            "age": age,
            "total_cholesterol": total_mg_dl,
            "hdl_cholesterol": hdl_mg_dl,
            "systolic_bp": systolic_bp,
            "bmi": bmi,
            "egfr": egfr,
        },
        ranges,
        notes=cholesterol_conversion_notes(
            total_cholesterol=total_cholesterol,
            hdl_cholesterol=hdl_cholesterol,
            given_unit=cholesterol_unit,
            native_unit="mg/dL",
        ),
    )

    # Transformed predictors, cholesterol in mmol/L as in the published model.
    centred_age = (age - 55.0) / 10.0
    non_hdl = cholesterol_mg_dl_to_mmol(total_mg_dl - hdl_mg_dl) - 3.5
    hdl = (cholesterol_mg_dl_to_mmol(hdl_mg_dl) - 1.3) / 0.3
    sbp_110_up = (max(systolic_bp, 110.0) - 130.0) / 20.0
    egfr_below_60 = (min(egfr, 60.0) - 60.0) / -15.0
    predictors = {
        "age": centred_age,
        "age_squared": centred_age**2,
        "non_hdl": non_hdl,
        "hdl": hdl,
        "sbp_below_110": (min(systolic_bp, 110.0) - 110.0) / 20.0,
        "sbp_110_up": sbp_110_up,
        "diabetes": has_diabetes,
        "smoking": smoking,
        "egfr_below_60": egfr_below_60,
        "egfr_60_up": (max(egfr, 60.0) - 90.0) / -15.0,
        "bp_treatment": treated,
        "statin": statin,
        "bp_treatment_x_sbp_110_up": treated * sbp_110_up,
        "statin_x_non_hdl": statin * non_hdl,
        "age_x_non_hdl": centred_age * non_hdl,
        "age_x_hdl": centred_age * hdl,
        "age_x_sbp_110_up": centred_age * sbp_110_up,
        "age_x_diabetes": centred_age * has_diabetes,
        "age_x_smoking": centred_age * smoking,
        "age_x_egfr_below_60": centred_age * egfr_below_60,
        "constant": 1.0,
    }

    # Log-odds and logistic risk.
    coefficients = _COEFFICIENT_ROWS[(endpoint, horizon_years, sex)]
    log_odds = sum(beta * predictors[term] for term, beta in zip(_TERMS, coefficients, strict=True))
    risk = 1.0 / (1.0 + math.exp(-log_odds))
    return RiskResult(equation=EQUATION, endpoint=endpoint, horizon_years=horizon_years, risk=risk)
