"""Build a `RiskProfile` for a cohort patient at a given time and apply the equations."""

from __future__ import annotations

import math

import pandas as pd

from bayestwin.data.cohort import Cohort
from bayestwin.data.vocabulary import DRUGS
from bayestwin.exceptions import ScenarioError
from bayestwin.riskscores.common import RiskResult
from bayestwin.riskscores.select import RACES, RiskProfile, applicable_scores


def _latest(cohort: Cohort, patient_id: str, marker: str, at: float) -> float | None:
    rows = cohort.measurements[(cohort.measurements["patient_id"] == patient_id)
                               & (cohort.measurements["marker"] == marker)
                               & (cohort.measurements["time"] <= at + 1e-9)]
    if rows.empty:
        return None
    return float(rows.sort_values("time")["value"].iloc[-1])


def _active_classes(cohort: Cohort, patient_id: str, at: float) -> set[str]:
    rows = cohort.treatments[cohort.treatments["patient_id"] == patient_id]
    active = rows[(rows["start"] <= at) & (rows["stop"].fillna(math.inf) > at)]
    declared = dict(zip(cohort.drugs.get("drug", []), cohort.drugs.get("class", []), strict=False))
    return {DRUGS[d].drug_class if d in DRUGS else declared.get(d, "other") for d in active["drug"]}


REQUIRED_MARKERS = ("total_c", "hdl_c", "sbp")
"""Measurements that every risk equation needs."""


def missing_inputs(cohort: Cohort, patient_id: str, *, at: float | None = None) -> list[str]:
    """Return the markers of `REQUIRED_MARKERS` that `patient_id` lacks by `at` years."""
    at = 0.0 if at is None else float(at)
    return [name for name in REQUIRED_MARKERS if _latest(cohort, patient_id, name, at) is None]


def risk_profile(cohort: Cohort, patient_id: str, *, at: float | None = None,
                 familial_hypercholesterolaemia: bool = True,
                 risk_region: str = "low") -> RiskProfile:
    """Return the risk factors of `patient_id` at `at` years since entry (default: entry).

    Lipids, SBP, eGFR, BMI and CAC are the latest values at or before `at`.
    Without a ``race`` column the PCE and MESA race is ``other`` (those
    equations then report that they do not apply). France is an ESC low-risk region,
    the default.

    Raises
    ------
    ScenarioError
        Unknown patient, or no total cholesterol, HDL-C or SBP by `at`.

    """
    if patient_id not in cohort.patients.index:
        raise ScenarioError(f"patient {patient_id!r} not found in the cohort.")
    at = 0.0 if at is None else float(at)
    row = cohort.patients.loc[patient_id]
    values = {name: _latest(cohort, patient_id, name, at)
              for name in ("total_c", "hdl_c", "sbp", "egfr", "bmi", "cac")}
    missing = [name for name in REQUIRED_MARKERS if values[name] is None]
    if missing:
        raise ScenarioError(f"patient {patient_id!r} has no {', '.join(missing)} measurement "
                            f"by {at:g} years since entry; the risk equations need them.")
    classes = _active_classes(cohort, patient_id, at)
    race = str(row.get("race", "other")) if pd.notna(row.get("race", None)) else "other"
    smoking = row.get("smoking")
    return RiskProfile(
        age=float(row["age_at_entry"]) + at,
        sex="female" if row["sex"] == "F" else "male",
        race=race if race in RACES else "other",
        risk_region=str(row.get("risk_region")) if pd.notna(row.get("risk_region", None))
        else risk_region,
        smoking=smoking if smoking in ("current", "former", "never") else "never",
        diabetes=bool(row.get("diabetes", False) is True),
        on_bp_treatment="antihypertensive" in classes,
        systolic_bp=values["sbp"], total_cholesterol=values["total_c"],
        hdl_cholesterol=values["hdl_c"], cholesterol_unit="mmol/L",
        egfr=values["egfr"], bmi=values["bmi"], cac=values["cac"],
        on_statin="statin" in classes,
        on_lipid_lowering=bool(classes & {"statin", "ezetimibe", "pcsk9_antibody",
                                          "pcsk9_sirna", "bempedoic_acid"}),
        prior_ascvd=bool(row.get("prior_ascvd", False) is True),
        familial_hypercholesterolaemia=familial_hypercholesterolaemia,
    )


def cohort_scores(cohort: Cohort, *, patients: list[str] | None = None, at: float | None = None,
                  familial_hypercholesterolaemia: bool = True) -> pd.DataFrame:
    """Apply every equation to each patient; one row per patient and equation."""
    rows = []
    for patient_id in patients or list(cohort.patients.index):
        try:
            profile = risk_profile(cohort, patient_id, at=at,
                                   familial_hypercholesterolaemia=familial_hypercholesterolaemia)
        except ScenarioError as error:
            rows.append({"patient_id": patient_id, "equation": "", "endpoint": "",
                         "horizon_years": math.nan, "risk": math.nan, "applicable": False,
                         "reason": str(error)})
            continue
        result: RiskResult
        for result in applicable_scores(profile):
            rows.append({"patient_id": patient_id, "equation": result.equation,
                         "endpoint": result.endpoint, "horizon_years": result.horizon_years,
                         "risk": result.risk, "applicable": result.applicable,
                         "reason": result.reason})
    return pd.DataFrame(rows)
