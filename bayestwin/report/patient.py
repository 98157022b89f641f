"""The patient table of the report: the cohort's data at the scenario start.

Values are read from the cohort's canonical tables (`bayestwin.data.cohort`):
times in years since entry, LDL-C in mmol/L, Lp(a) in its own unit, CAC in
Agatston units.
"""

from __future__ import annotations

import math

import pandas as pd

from bayestwin.data.cohort import Cohort
from bayestwin.exceptions import ScenarioError
from bayestwin.report.catalogue import Catalogue
from bayestwin.report.formatting import format_ldl, format_number, format_percent, format_signed
from bayestwin.twin.scenario import parse_plan

# The twin's default start is the day after the last observation. A treatment
# that stopped within this margin of the end of follow-up counts as current.
_ONE_DAY = 1.0 / 365.25


def describe_ago(years: float, messages: Catalogue) -> str:
    """Say how long before the scenario start a value was measured."""
    if years < 1.0 / 12.0:
        return messages("ago.less_than_month")
    if years < 1.0:
        months = round(years * 12.0)
        return messages.plural("ago.months", months, count=months)
    rounded = round(years, 1)
    text = format_number(rounded, 0 if rounded == int(rounded) else 1, messages.language)
    return messages.plural("ago.years", rounded, count=text)


def describe_drug(drug: str, dose_mg: float | None, messages: Catalogue) -> str:
    """Name a drug in the reader's language, with its dose in mg when it has one."""
    key = f"drug.{drug}"
    name = messages(key) if key in messages else drug
    if dose_mg is None or (isinstance(dose_mg, float) and math.isnan(dose_mg)):
        return name
    return f"{name} {format_number(float(dose_mg), 0, messages.language)}\u00a0mg"


def describe_plan(label: str, messages: Catalogue) -> str:
    """Turn a scenario label such as ``atorvastatin:80+ezetimibe:10`` into words.

    A strategy name such as ``esc-goal`` gets its catalogue wording, and any
    other label that is not a plan is shown as it is.
    """
    if f"strategy.{label}" in messages:
        return messages(f"strategy.{label}")
    try:
        plan = parse_plan(label)
    except ScenarioError:
        return label
    if plan.keep_current:
        text = messages("options.current")
    elif not plan.drugs:
        text = messages("options.none")
    else:
        text = " + ".join(describe_drug(drug, dose, messages) for drug, dose in plan.drugs)
    extras = []
    if plan.adherence != 1.0:
        extras.append(messages("options.adherence",
                               value=format_percent(plan.adherence, 0, messages.language)))
    if plan.diet_change != 0.0:
        extras.append(messages("options.diet",
                               value=format_signed(plan.diet_change, 1, messages.language)))
    return f"{text} ({', '.join(extras)})" if extras else text


def _latest(cohort: Cohort, patient_id: str, marker: str, at: float) -> pd.Series | None:
    table = cohort.measurements
    rows = table[(table["patient_id"] == patient_id) & (table["marker"] == marker)
                 & (table["time"] <= at)]
    if rows.empty:
        return None
    return rows.sort_values("time", kind="stable").iloc[-1]


def current_treatment(cohort: Cohort, patient_id: str, at: float) -> pd.DataFrame:
    """Return the treatment periods running at `at` (years since entry).

    A period that ends at the end of follow-up runs on to a later start, as in
    the twin's history (`bayestwin.twin.api.history_from_design`).
    """
    end = float(cohort.patients.loc[patient_id, "end_time"])
    reference = min(at, end) - _ONE_DAY
    table = cohort.treatments
    rows = table[(table["patient_id"] == patient_id) & (table["start"] <= at)]
    running = rows["stop"].isna() | (rows["stop"] >= reference)
    return rows[running]


def patient_rows(cohort: Cohort, patient_id: str, *, start: float, messages: Catalogue,
                 ldl_unit: str) -> list[tuple[str, str]]:
    """Return the report's patient table as (label, value) rows.

    Parameters
    ----------
    cohort, patient_id
        The cohort and the patient in it.
    start
        Scenario start in years since entry; measurements after it are ignored.
    messages
        Catalogue of the reader's language.
    ldl_unit
        Unit in which LDL-C is shown.

    """
    if patient_id not in cohort.patients.index:
        raise ScenarioError(f"patient {patient_id!r} not found in the cohort "
                            f"({cohort.n_patients} patients).")
    language = messages.language
    row = cohort.patients.loc[patient_id]
    age = int(math.floor(float(row["age_at_entry"]) + start))
    sex = messages(f"patient.sex_{row['sex']}") if f"patient.sex_{row['sex']}" in messages \
        else str(row["sex"])
    rows = [(messages("patient.age_sex"),
             f"{messages.plural('patient.age', age, age=age)}, {sex}")]

    variant = "not_tested"
    if cohort.genomics is not None and patient_id in cohort.genomics.index:
        value = cohort.genomics.loc[patient_id, "variant_class"]
        variant = str(value) if isinstance(value, str) else "not_tested"
    key = f"variant.{variant}"
    rows.append((messages("patient.variant"), messages(key) if key in messages else variant))

    def measured(marker: str, text_of) -> str:
        latest = _latest(cohort, patient_id, marker, start)
        if latest is None:
            return messages("patient.not_measured")
        return messages("patient.measured", value=text_of(latest),
                        ago=describe_ago(start - float(latest["time"]), messages))

    rows.append((messages("patient.ldl"), measured(
        "ldl_c", lambda m: format_ldl(float(m["value"]), ldl_unit, language))))
    rows.append((messages("patient.lpa"), measured(
        "lpa", lambda m: f"{format_number(float(m['value']), 0, language)}\u00a0{m['unit']}")))
    rows.append((messages("patient.cac"), measured(
        "cac", lambda m: f"{format_number(float(m['value']), 0, language)}\u00a0"
                         f"{messages('patient.cac_unit')}")))

    treatment = current_treatment(cohort, patient_id, start)
    drugs = [describe_drug(str(item.drug), item.dose_mg, messages)
             for item in treatment.itertuples(index=False)]
    rows.append((messages("patient.treatment"),
                 " + ".join(drugs) if drugs else messages("patient.no_treatment")))

    def flag(name: str) -> str:
        value = row.get(name)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return messages("patient.unknown")
        return messages("patient.yes") if bool(value) else messages("patient.no")

    smoking_key = f"patient.smoking_{row.get('smoking')}"
    smoking = messages(smoking_key if smoking_key in messages else "patient.unknown")
    colon = messages("punct.colon")
    history = [f"{messages('patient.prior_ascvd')}{colon} {flag('prior_ascvd')}",
               f"{messages('patient.diabetes')}{colon} {flag('diabetes')}",
               f"{messages('patient.hypertension')}{colon} {flag('hypertension')}",
               f"{messages('patient.smoking')}{colon} {smoking}"]
    rows.append((messages("patient.history"), " · ".join(history)))
    return rows
