"""Validate treatment periods: drug names, doses, start and stop, adherence.

A period may start before entry (negative start): that history lets the model
reconstruct exposure before entry. A period that starts after the end of
follow-up goes to the exclusion manifest. Doses of catalogue drugs are checked
against their licensed doses: a dose between or slightly beyond them is kept
with a warning, a dose above twice the maximum is an error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayestwin.data.parsing import lower_code, normalise_codes, parse_numbers
from bayestwin.data.problems import Findings
from bayestwin.data.records import (
    exclude_after_end,
    locate_and_time,
    log_unused,
    needs_entry_check,
    unknown_name_message,
)
from bayestwin.data.tables import RawTable, require_columns
from bayestwin.data.times import read_times
from bayestwin.data.validate import PatientLookup, report_missing
from bayestwin.data.vocabulary import DECLARABLE_DRUG_CLASSES, DRUGS

DOSE_FIX = (
    "check the dose and its unit: dose_mg is the daily dose in mg for oral drugs and the dose "
    "per injection for injectables (leave it empty where a dose does not apply)"
)
MAX_DOSE_MULTIPLE = 2.0
"""A catalogue dose above this multiple of the maximum licensed dose is an error."""


def validate_treatments(
    table: RawTable,
    lookup: PatientLookup | None,
    declared_drugs: pd.DataFrame,
    *,
    dayfirst: bool | None,
    findings: Findings,
) -> pd.DataFrame | None:
    """Validate treatment periods: drugs, doses, start and stop, adherence."""
    required = ("patient_id", "drug", "dose_mg", "start", "stop")
    if not require_columns(table, required, findings):
        return None
    frame = table.frame
    timed = locate_and_time(table, lookup, "start", dayfirst=dayfirst, findings=findings,
                             row_kind="start of the treatment period")
    entry = lookup.entry_for(timed.positions) if lookup is not None else None
    stop = read_times(table, "stop", entry=entry, dayfirst=dayfirst, findings=findings,
                      check_entry=needs_entry_check(lookup, timed.positions))

    # Drug names: catalogue or declared.
    drugs, drug_codes = normalise_codes(frame["drug"], lower_code)
    report_missing(findings, table, "drug", drug_codes.missing, "a drug name")
    names = list(DRUGS) + declared_drugs["drug"].tolist()
    unknown = ~drug_codes.missing & ~drug_codes.expand(np.isin(drug_codes.uniques, names), True)
    findings.error_rows(
        "unknown drug", table.file, "drug", table.rows[unknown], table.values_at("drug", unknown),
        unknown_name_message("drug", names),
        "correct the name (international non-proprietary name, lower case), or declare the "
        "drug in a drugs table (columns drug, class; class one of "
        f"{', '.join(DECLARABLE_DRUG_CLASSES)})",
    )

    dose = _doses(table, drugs, findings)

    # Period bounds.
    reversed_period = stop.years < timed.time.years
    findings.error_rows(
        "stop before start", table.file, "stop", table.rows[reversed_period],
        table.values_at("stop", reversed_period),
        "is before start in the same row; a treatment period cannot end before it starts",
        "correct start or stop (leave stop empty while the treatment is ongoing)",
    )
    after = exclude_after_end(table, timed, timed.time.years, "start",
                               "treatment starts after the end of follow-up", findings)

    columns = {
        "patient_id": timed.ids, "drug": drugs, "dose_mg": dose,
        "start": timed.time.years, "stop": stop.years,
    }
    if "adherence" in frame.columns:
        columns["adherence"] = _adherence(table, findings)
    log_unused(table, (*required, "adherence"))
    return pd.DataFrame(columns).loc[~after].reset_index(drop=True)


def _adherence(table: RawTable, findings: Findings) -> np.ndarray:
    parsed = parse_numbers(table.frame["adherence"], decimal_comma=table.decimal_comma)
    findings.error_rows(
        "invalid adherence", table.file, "adherence", table.rows[parsed.invalid],
        table.values_at("adherence", parsed.invalid), "is not a number",
        "write the fraction of doses taken, from 0 to 1",
    )
    outside = (parsed.values < 0) | (parsed.values > 1)
    findings.error_rows(
        "adherence outside 0 to 1", table.file, "adherence", table.rows[outside],
        table.values_at("adherence", outside),
        "is outside 0 to 1; adherence is the fraction of doses taken",
        lambda value: "divide percentages by 100 (85 -> 0.85)"
        if value is not None else "write a fraction from 0 to 1",
    )
    return np.where(outside, np.nan, parsed.values)


def _doses(table: RawTable, drugs: np.ndarray, findings: Findings) -> np.ndarray:
    """Parse dose_mg and check catalogue drugs against their licensed doses."""
    parsed = parse_numbers(table.frame["dose_mg"], decimal_comma=table.decimal_comma)
    dose = parsed.values
    invalid = parsed.invalid | (dose <= 0)
    findings.error_rows(
        "invalid dose", table.file, "dose_mg", table.rows[parsed.invalid],
        table.values_at("dose_mg", parsed.invalid), "is not a number", DOSE_FIX,
    )
    for check, bad, message in (
        ("negative dose", dose < 0, "is negative; a dose is a positive amount in mg"),
        ("zero dose", dose == 0,
         "is zero; a treatment period needs a positive dose, or no dose where none applies"),
    ):
        findings.error_rows(check, table.file, "dose_mg", table.rows[bad],
                            table.values_at("dose_mg", bad), message, DOSE_FIX)

    for name, info in DRUGS.items():
        of_drug = drugs == name
        if not of_drug.any():
            continue
        licensed = np.asarray(info.doses_mg, dtype=float)
        low, high = licensed.min(), licensed.max()
        listing = ", ".join(f"{value:g}" for value in licensed)
        too_high = of_drug & (dose > MAX_DOSE_MULTIPLE * high)
        findings.error_rows(
            "dose far above the licensed range", table.file, "dose_mg", table.rows[too_high],
            table.values_at("dose_mg", too_high),
            f"is more than {MAX_DOSE_MULTIPLE:g} times the maximum licensed dose of {name} "
            f"({high:g} mg; licensed doses {listing} mg)",
            DOSE_FIX,
        )
        invalid |= too_high
        dose_at = of_drug & (dose > 0)
        for kind, mask in (
            ("doses above the maximum licensed dose of their drug",
             dose_at & (dose > high) & ~too_high),
            ("doses below the smallest licensed dose of their drug", dose_at & (dose < low)),
            ("doses between the licensed doses of their drug",
             dose_at & (dose > low) & (dose < high) & ~np.isin(dose, licensed)),
            ("catalogue drugs without dose_mg", of_drug & parsed.missing),
        ):
            findings.warn_rows(kind, table.file, "dose_mg", table.rows[mask],
                               table.values_at("dose_mg", mask))
    return np.where(invalid, np.nan, dose)
