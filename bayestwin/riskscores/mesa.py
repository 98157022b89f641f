"""MESA 10-year coronary heart disease risk, with or without coronary calcium.

Source: McClelland RL, Jorgensen NW, Budoff M, et al. 10-year coronary heart
disease risk prediction using coronary artery calcium and traditional risk
factors: derivation in the MESA (Multi-Ethnic Study of Atherosclerosis) with
validation in the HNR (Heinz Nixdorf Recall) study and the DHS (Dallas Heart
Study). J Am Coll Cardiol 2015;66(15):1643-1653, doi:10.1016/j.jacc.2015.08.035.

Endpoint ``"hard_chd"``: first myocardial infarction, resuscitated cardiac
arrest, CHD death, or revascularization with prior or concurrent angina,
within 10 years, in people aged 45-85 free of clinical CVD. The paper fits two
Cox models with their own coefficients and baseline survivals: one with the
coronary artery calcium (CAC) score as ln(CAC + 1), one without.

The coefficients are those of the paper's Table 2 as transcribed in the R
package CVrisk (vcastro/CVrisk, ``data-raw/score_coef.R``). The calculator
page ebmcalc.com/MESA.htm lists the same values. Neither model is centred: the
linear predictor uses the raw inputs (age in years, cholesterol in mg/dL, SBP
in mmHg) and the baseline survival refers to all inputs at zero.
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

MesaRace = Literal["white", "african_american", "chinese", "hispanic"]
MESA_RACES: tuple[str, ...] = ("white", "african_american", "chinese", "hispanic")

EQUATION_WITHOUT_CAC = "MESA"
EQUATION_WITH_CAC = "MESA-CAC"
ENDPOINT = "hard_chd"
HORIZON_YEARS = 10

#: Validated age range, as documented by CVrisk (MESA enrolled ages 45-84). NOTE:
#: the paper gives no validated range for cholesterol or SBP, so those inputs are
#: only checked for being finite and positive.
VALID_RANGES: dict[str, ValidRange] = {"age": ValidRange(45, 85, "years")}

# Cox coefficients per raw unit; the race terms are relative to white.
_COEFFICIENTS: dict[str, dict[str, float]] = {
    EQUATION_WITHOUT_CAC: {
        "age": 0.0455,
        "male": 0.7496,
        "chinese": -0.5055,
        "african_american": -0.2111,
        "hispanic": -0.1900,
        "diabetes": 0.5168,
        "smoking": 0.4732,
        "total_cholesterol": 0.0053,
        "hdl_cholesterol": -0.0140,
        "lipid_lowering": 0.2473,
        "systolic_bp": 0.0085,
        "bp_treatment": 0.3381,
        "family_history": 0.4522,
        "baseline_survival": 0.99963,
    },
    EQUATION_WITH_CAC: {
        "age": 0.0172,
        "male": 0.4079,
        "chinese": -0.3475,
        "african_american": 0.0353,
        "hispanic": -0.0222,
        "diabetes": 0.3892,
        "smoking": 0.3717,
        "total_cholesterol": 0.0043,
        "hdl_cholesterol": -0.0114,
        "lipid_lowering": 0.1206,
        "systolic_bp": 0.0066,
        "bp_treatment": 0.2278,
        "family_history": 0.3239,
        "ln_cac_plus_1": 0.2743,
        "baseline_survival": 0.99833,
    },
}


def mesa_chd(
    *,
    age: float,
    sex: Sex,
    race: MesaRace,
    diabetes: bool,
    current_smoker: bool,
    total_cholesterol: float,
    hdl_cholesterol: float,
    on_lipid_lowering: bool,
    systolic_bp: float,
    on_bp_treatment: bool,
    family_history_mi: bool,
    cac: float | None,
    cholesterol_unit: CholesterolUnit = "mg/dL",
) -> RiskResult:
    r"""Compute the MESA 10-year risk of hard CHD, with CAC when it is given.

    The risk is :math:`1 - S_0^{\exp(x)}` with the uncentred linear predictor

    .. math::

        x = \beta_1 \text{age} + \beta_2 \text{male} + \beta_r
            + \beta_3 d + \beta_4 k + \beta_5 \text{TC} + \beta_6 \text{HDL}
            + \beta_7 l + \beta_8 \text{SBP} + \beta_9 t + \beta_{10} f
            [+ \beta_{11} \ln(\text{CAC} + 1)]

    where :math:`\beta_r` is the race term (zero for white), :math:`d, k, l, t, f`
    flag diabetes, smoking, lipid-lowering treatment, BP treatment and family
    history, and cholesterol is in mg/dL. Without CAC, :math:`S_0` = 0.99963;
    with CAC, the model has its own coefficients and :math:`S_0` = 0.99833.

    Parameters
    ----------
    age
        Age in years, 45-85.
    sex
        ``"female"`` or ``"male"``.
    race
        ``"white"``, ``"african_american"``, ``"chinese"`` or ``"hispanic"``, the
        four groups of MESA.
    diabetes
        Diagnosed diabetes.
    current_smoker
        Current smoking.
    total_cholesterol, hdl_cholesterol
        Total and HDL cholesterol in ``cholesterol_unit``.
    on_lipid_lowering
        Lipid-lowering treatment.
    systolic_bp
        Systolic blood pressure in mmHg.
    on_bp_treatment
        Antihypertensive treatment.
    family_history_mi
        Heart attack in a parent, sibling or child.
    cac
        Agatston coronary artery calcium score (0 or more), or ``None`` when not
        measured, which selects the model without CAC.
    cholesterol_unit
        ``"mg/dL"`` (default, as published) or ``"mmol/L"``.

    Returns
    -------
    RiskResult
        Equation ``"MESA-CAC"`` or ``"MESA"``, endpoint ``"hard_chd"`` over 10
        years, risk as a fraction.

    Raises
    ------
    ValueError
        If age is outside 45-85, CAC is negative, a measurement is not positive,
        HDL is not below total cholesterol, or an option is invalid.
    TypeError
        If a flag is not a bool or a measurement is not a number.

    """
    require_option(name="sex", value=sex, options=SEXES)
    require_option(name="race", value=race, options=MESA_RACES)
    flags = {
        "diabetes": require_flag("diabetes", diabetes),
        "smoking": require_flag("current_smoker", current_smoker),
        "lipid_lowering": require_flag("on_lipid_lowering", on_lipid_lowering),
        "bp_treatment": require_flag("on_bp_treatment", on_bp_treatment),
        "family_history": require_flag("family_history_mi", family_history_mi),
    }
    age = require_number("age", age)
    systolic_bp = require_number("systolic_bp", systolic_bp)
    total_mg_dl, hdl_mg_dl = lipids_in_unit(
        total_cholesterol=total_cholesterol,
        hdl_cholesterol=hdl_cholesterol,
        given_unit=cholesterol_unit,
        target_unit="mg/dL",
    )
    calcium = None if cac is None else require_number("cac", cac, allow_zero=True)
    equation = EQUATION_WITHOUT_CAC if calcium is None else EQUATION_WITH_CAC
    require_within_ranges(equation, {"age": age}, VALID_RANGES)

    # Uncentred linear predictor of the chosen model.
    beta = _COEFFICIENTS[equation]
    linear_predictor = (
        beta["age"] * age
        + beta["male"] * (sex == "male")
        + beta.get(race, 0.0)
        + beta["total_cholesterol"] * total_mg_dl
        + beta["hdl_cholesterol"] * hdl_mg_dl
        + beta["systolic_bp"] * systolic_bp
        + sum(beta[name] * flag for name, flag in flags.items())
    )
    if calcium is not None:
        linear_predictor += beta["ln_cac_plus_1"] * math.log(calcium + 1.0)

    risk = 1.0 - beta["baseline_survival"] ** math.exp(linear_predictor)
    return RiskResult(equation=equation, endpoint=ENDPOINT, horizon_years=HORIZON_YEARS, risk=risk)
