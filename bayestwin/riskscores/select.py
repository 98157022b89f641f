"""Select the published risk equations that apply to a person, with reasons for the others.

All equations here are for primary prevention in the general population. A
person with ASCVD is in secondary prevention, and none applies. A person with
familial hypercholesterolaemia (FH) gets no population score either: the
2019 ESC/EAS dyslipidaemia guidelines (Mach F, Baigent C, Catapano AL, et al.
Eur Heart J 2020;41:111-188, doi:10.1093/eurheartj/ehz455) advise against
general-population risk scores in FH (class III) and class FH as high risk, or
very high risk with ASCVD or another major risk factor.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bayestwin.riskscores import aha_prevent, esc_score2, esc_score2_op, mesa, pooled_cohort
from bayestwin.riskscores.common import (
    CHOLESTEROL_UNITS,
    SEXES,
    CholesterolUnit,
    RiskResult,
    Sex,
    lipids_in_unit,
    require_flag,
    require_number,
    require_option,
)
from bayestwin.riskscores.esc_score2 import RISK_REGIONS, RiskRegion

Race = Literal["white", "african_american", "chinese", "hispanic", "other"]
RACES: tuple[str, ...] = ("white", "african_american", "chinese", "hispanic", "other")
Smoking = Literal["current", "former", "never"]
SMOKING_STATUSES: tuple[str, ...] = ("current", "former", "never")
EscFhRiskCategory = Literal["very_high", "high"]

SECONDARY_PREVENTION_REASON = (
    "prior ASCVD: the person is in secondary prevention, and this equation predicts "
    "first events in people without ASCVD"
)
FH_REASON = (
    "familial hypercholesterolaemia: the 2019 ESC/EAS guidelines advise against "
    "general-population risk scores in FH and class FH as high risk, or very high risk "
    "with ASCVD or another major risk factor (see esc_fh_risk_category)"
)


@dataclass(frozen=True)
class RiskProfile:
    """Risk factors of one person at one assessment date.

    Attributes
    ----------
    age
        Age in years at the assessment.
    sex
        ``"female"`` or ``"male"``.
    race
        ``"white"``, ``"african_american"``, ``"chinese"``, ``"hispanic"`` or
        ``"other"``; used by the PCE and MESA equations only.
    risk_region
        ESC risk region of the country of residence, for SCORE2 and SCORE2-OP.
    smoking
        ``"current"``, ``"former"`` or ``"never"``. Every equation here uses
        current smoking, so former smokers count as non-smokers.
    diabetes
        Diagnosed diabetes.
    on_bp_treatment
        Antihypertensive treatment.
    systolic_bp
        Systolic blood pressure in mmHg.
    total_cholesterol, hdl_cholesterol
        Total and HDL cholesterol in ``cholesterol_unit``.
    cholesterol_unit
        ``"mmol/L"`` (default) or ``"mg/dL"``.
    egfr
        eGFR in mL/min/1.73 m2, needed by PREVENT; ``None`` if unknown.
    bmi
        Body mass index in kg/m2, needed by PREVENT; ``None`` if unknown.
    cac
        Agatston coronary artery calcium score; ``None`` if not measured.
    on_statin
        Statin treatment, needed by PREVENT; ``None`` if unknown.
    on_lipid_lowering
        Any lipid-lowering treatment, needed by MESA; ``None`` if unknown.
    family_history_mi
        Heart attack in a parent, sibling or child, needed by MESA; ``None`` if unknown.
    prior_ascvd
        Established atherosclerotic cardiovascular disease.
    familial_hypercholesterolaemia
        Diagnosed familial hypercholesterolaemia (genetic or clinical).
    assessed_on
        Date of the assessment, kept for the caller; no equation uses it.

    """

    age: float
    sex: Sex
    race: Race
    risk_region: RiskRegion
    smoking: Smoking
    diabetes: bool
    on_bp_treatment: bool
    systolic_bp: float
    total_cholesterol: float
    hdl_cholesterol: float
    cholesterol_unit: CholesterolUnit = "mmol/L"
    egfr: float | None = None
    bmi: float | None = None
    cac: float | None = None
    on_statin: bool | None = None
    on_lipid_lowering: bool | None = None
    family_history_mi: bool | None = None
    prior_ascvd: bool = False
    familial_hypercholesterolaemia: bool = False
    assessed_on: datetime.date | None = None

    def __post_init__(self) -> None:
        require_option(name="sex", value=self.sex, options=SEXES)
        require_option(name="race", value=self.race, options=RACES)
        require_option(name="risk_region", value=self.risk_region, options=RISK_REGIONS)
        require_option(name="smoking", value=self.smoking, options=SMOKING_STATUSES)
        require_option(
            name="cholesterol_unit", value=self.cholesterol_unit, options=CHOLESTEROL_UNITS
        )
        required_flags = ("diabetes", "on_bp_treatment", "prior_ascvd")
        for name in (*required_flags, "familial_hypercholesterolaemia"):
            require_flag(name, getattr(self, name))
        for name in ("on_statin", "on_lipid_lowering", "family_history_mi"):
            if getattr(self, name) is not None:
                require_flag(name, getattr(self, name))
        require_number("age", self.age)
        require_number("systolic_bp", self.systolic_bp)
        for name in ("egfr", "bmi"):
            if getattr(self, name) is not None:
                require_number(name, getattr(self, name))
        if self.cac is not None:
            require_number("cac", self.cac, allow_zero=True)
        lipids_in_unit(
            total_cholesterol=self.total_cholesterol,
            hdl_cholesterol=self.hdl_cholesterol,
            given_unit=self.cholesterol_unit,
            target_unit=self.cholesterol_unit,
        )
        if self.assessed_on is not None and not isinstance(self.assessed_on, datetime.date):
            raise TypeError(f"assessed_on must be a datetime.date; got {self.assessed_on!r}.")

    @property
    def current_smoker(self) -> bool:
        """True when ``smoking`` is ``"current"``; the equations ignore former smoking."""
        return self.smoking == "current"


def esc_fh_risk_category(*, prior_ascvd: bool, other_major_risk_factor: bool) -> EscFhRiskCategory:
    """Return the 2019 ESC/EAS risk category of a person with FH.

    FH with ASCVD or with another major risk factor is very high risk; FH
    without either is high risk.

    Parameters
    ----------
    prior_ascvd
        Established atherosclerotic cardiovascular disease.
    other_major_risk_factor
        Another major risk factor besides FH. This function does not define the
        term; the caller decides which factors count (for example smoking,
        hypertension, diabetes or high lipoprotein(a)).

    """
    has_ascvd = require_flag("prior_ascvd", prior_ascvd)
    has_other_factor = require_flag("other_major_risk_factor", other_major_risk_factor)
    return "very_high" if has_ascvd or has_other_factor else "high"


@dataclass(frozen=True)
class _ScoreSpec:
    """One equation offered by `applicable_scores`, with the profile fields it needs."""

    equation: str
    endpoint: str
    horizon_years: int
    required: tuple[str, ...]
    compute: Callable[[RiskProfile], RiskResult]
    population_check: Callable[[RiskProfile], str | None] = lambda profile: None

    def not_applicable(self, reason: str) -> RiskResult:
        return RiskResult.not_applicable(
            equation=self.equation,
            endpoint=self.endpoint,
            horizon_years=self.horizon_years,
            reason=reason,
        )


def _lipids(profile: RiskProfile) -> dict[str, object]:
    return {
        "total_cholesterol": profile.total_cholesterol,
        "hdl_cholesterol": profile.hdl_cholesterol,
        "cholesterol_unit": profile.cholesterol_unit,
    }


def _score2(profile: RiskProfile) -> RiskResult:
    return esc_score2.score2(
        age=profile.age,
        sex=profile.sex,
        current_smoker=profile.current_smoker,
        systolic_bp=profile.systolic_bp,
        diabetes=profile.diabetes,
        risk_region=profile.risk_region,
        **_lipids(profile),
    )


def _score2_op(profile: RiskProfile) -> RiskResult:
    return esc_score2_op.score2_op(
        age=profile.age,
        sex=profile.sex,
        current_smoker=profile.current_smoker,
        diabetes=profile.diabetes,
        systolic_bp=profile.systolic_bp,
        risk_region=profile.risk_region,
        **_lipids(profile),
    )


def _pce(profile: RiskProfile) -> RiskResult:
    return pooled_cohort.pooled_cohort_equations(
        age=profile.age,
        sex=profile.sex,
        race=profile.race,
        systolic_bp=profile.systolic_bp,
        on_bp_treatment=profile.on_bp_treatment,
        current_smoker=profile.current_smoker,
        diabetes=profile.diabetes,
        **_lipids(profile),
    )


def _pce_population(profile: RiskProfile) -> str | None:
    if profile.race in pooled_cohort.PCE_RACES:
        return None
    return (
        f"race={profile.race!r}: the PCE were derived for white and African-American adults "
        "only; a caller who accepts the white equations for other groups (as the R package "
        "PooledCohort does) must call pooled_cohort_equations(race='white') explicitly"
    )


def _prevent(horizon_years: int) -> Callable[[RiskProfile], RiskResult]:
    def compute(profile: RiskProfile) -> RiskResult:
        return aha_prevent.prevent(
            age=profile.age,
            sex=profile.sex,
            systolic_bp=profile.systolic_bp,
            on_bp_treatment=profile.on_bp_treatment,
            on_statin=profile.on_statin,
            diabetes=profile.diabetes,
            current_smoker=profile.current_smoker,
            egfr=profile.egfr,
            bmi=profile.bmi,
            horizon_years=horizon_years,
            endpoint="total_cvd",
            **_lipids(profile),
        )

    return compute


def _mesa(profile: RiskProfile, *, cac: float | None) -> RiskResult:
    return mesa.mesa_chd(
        age=profile.age,
        sex=profile.sex,
        race=profile.race,
        diabetes=profile.diabetes,
        current_smoker=profile.current_smoker,
        on_lipid_lowering=profile.on_lipid_lowering,
        systolic_bp=profile.systolic_bp,
        on_bp_treatment=profile.on_bp_treatment,
        family_history_mi=profile.family_history_mi,
        cac=cac,
        **_lipids(profile),
    )


def _mesa_population(profile: RiskProfile) -> str | None:
    if profile.race in mesa.MESA_RACES:
        return None
    return (
        f"race={profile.race!r}: MESA has terms for white, African-American, Chinese and "
        "Hispanic participants only"
    )


_MESA_INPUTS = ("on_lipid_lowering", "family_history_mi")

SCORE_SPECS: tuple[_ScoreSpec, ...] = (
    _ScoreSpec(esc_score2.EQUATION, esc_score2.ENDPOINT, esc_score2.HORIZON_YEARS, (), _score2),
    _ScoreSpec(
        esc_score2_op.EQUATION,
        esc_score2_op.ENDPOINT,
        esc_score2_op.HORIZON_YEARS,
        (),
        _score2_op,
    ),
    _ScoreSpec(
        pooled_cohort.EQUATION,
        pooled_cohort.ENDPOINT,
        pooled_cohort.HORIZON_YEARS,
        (),
        _pce,
        _pce_population,
    ),
    _ScoreSpec(aha_prevent.EQUATION, "total_cvd", 10, ("egfr", "bmi", "on_statin"), _prevent(10)),
    _ScoreSpec(aha_prevent.EQUATION, "total_cvd", 30, ("egfr", "bmi", "on_statin"), _prevent(30)),
    _ScoreSpec(
        mesa.EQUATION_WITHOUT_CAC,
        mesa.ENDPOINT,
        mesa.HORIZON_YEARS,
        _MESA_INPUTS,
        lambda profile: _mesa(profile, cac=None),
        _mesa_population,
    ),
    _ScoreSpec(
        mesa.EQUATION_WITH_CAC,
        mesa.ENDPOINT,
        mesa.HORIZON_YEARS,
        (*_MESA_INPUTS, "cac"),
        lambda profile: _mesa(profile, cac=profile.cac),
        _mesa_population,
    ),
)


def applicable_scores(profile: RiskProfile) -> list[RiskResult]:
    """Compute every implemented equation that applies to ``profile``.

    The result has one `RiskResult` per entry of `SCORE_SPECS`, in that order:
    SCORE2, SCORE2-OP, PCE, PREVENT total CVD at 10 and 30 years, MESA and
    MESA-CAC. An equation that does not apply comes back with ``applicable=False``
    and the first reason found, checked in this order:

    1. prior ASCVD (secondary prevention; every equation is for first events);
    2. familial hypercholesterolaemia (ESC/EAS: no population score in FH);
    3. a missing input the equation needs (``None`` in the profile);
    4. a population the equation was not derived for (race for PCE and MESA);
    5. any input outside the equation's validated ranges, including age, and
       diabetes for SCORE2, with the message the equation function raises.

    Parameters
    ----------
    profile
        The person's risk factors at one assessment date.

    Returns
    -------
    list of RiskResult
        One result per implemented equation and horizon.

    """
    if profile.prior_ascvd:
        return [spec.not_applicable(SECONDARY_PREVENTION_REASON) for spec in SCORE_SPECS]
    if profile.familial_hypercholesterolaemia:
        return [spec.not_applicable(FH_REASON) for spec in SCORE_SPECS]

    results = []
    for spec in SCORE_SPECS:
        missing = [name for name in spec.required if getattr(profile, name) is None]
        if missing:
            results.append(spec.not_applicable(f"missing input: {', '.join(missing)}"))
            continue
        population_reason = spec.population_check(profile)
        if population_reason is not None:
            results.append(spec.not_applicable(population_reason))
            continue

        # The equation functions raise ValueError for anything outside their
        # validated population; the profile already rejected bad types and options.
        try:
            results.append(spec.compute(profile))
        except ValueError as error:
            results.append(spec.not_applicable(str(error)))
    return results
