"""Validate the per-patient tables: patients, genomics, and the drug and marker declarations.

Each function turns a `RawTable` into its canonical DataFrame (columns as in
`bayestwin.data.cohort`) and records every problem in a `Findings` collector
instead of raising, so that one read reports all the problems of a table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayestwin.data.parsing import (
    BOOLEAN_HELP,
    factorize,
    is_text,
    lower_code,
    normalise_codes,
    parse_booleans,
    parse_numbers,
)
from bayestwin.data.problems import Findings
from bayestwin.data.tables import RawTable, require_columns
from bayestwin.data.times import read_dates, read_times, years_between
from bayestwin.data.units import close_names, normalise_unit
from bayestwin.data.vocabulary import (
    DECLARABLE_DRUG_CLASSES,
    DRUGS,
    MARKERS,
    SEXES,
    SMOKING,
    VARIANT_CLASSES,
)

PATIENT_REQUIRED = (
    "patient_id", "sex", ("age_at_entry", "birth_date"), ("end_time", "end_date"),
    "prior_ascvd", "smoking", "diabetes", "hypertension",
)
OPTIONAL_TEXT_COLUMNS = ("centre", "family_id", "race", "risk_region")
MAX_AGE = 120.0
MAX_ABS_PRS = 10.0
"""Largest absolute polygenic score accepted as a standardised z-score."""

_CONSUMED_PATIENT_COLUMNS = (
    "patient_id", "sex", "age_at_entry", "birth_date", "entry_date", "entry_time", "end_time",
    "end_date", "prior_ascvd", "smoking", "diabetes", "hypertension", *OPTIONAL_TEXT_COLUMNS,
)


@dataclass(frozen=True)
class PatientLookup:
    """Patient ids with their entry dates and ends of follow-up, to check other tables.

    Attributes
    ----------
    ids
        Unique patient ids in cohort order.
    entry
        Entry dates (``datetime64[ns]``) aligned with `ids`, or None when the
        cohort gives numeric times only.
    end_time
        End of follow-up in years since entry, aligned with `ids`.
    file
        File name of the patients table, quoted in messages.

    """

    ids: pd.Index
    entry: np.ndarray | None
    end_time: np.ndarray
    file: str

    def locate(self, table: RawTable, findings: Findings) -> tuple[np.ndarray, np.ndarray]:
        """Return each row's patient position (-1 when unknown) and patient id.

        Missing and unknown ids are recorded as problems.
        """
        codes = factorize(table.frame["patient_id"])
        strings = codes.strings()
        positions = codes.expand(self.ids.get_indexer(strings), -1)
        ids = codes.expand(strings, None)
        report_missing(findings, table, "patient_id", codes.missing, "a patient id")
        unknown = (positions < 0) & ~codes.missing
        findings.error_rows(
            "unknown patient", table.file, "patient_id", table.rows[unknown],
            table.values_at("patient_id", unknown),
            f"is not a patient of {self.file}",
            f"add the patient to {self.file}, or correct the id",
        )
        return positions, ids

    def entry_for(self, positions: np.ndarray) -> np.ndarray | None:
        """Return the entry date of each row's patient (NaT where unknown)."""
        if self.entry is None:
            return None
        return np.append(self.entry, np.datetime64("NaT", "ns"))[positions]

    def end_for(self, positions: np.ndarray) -> np.ndarray:
        """Return the end of follow-up of each row's patient (NaN where unknown)."""
        return np.append(self.end_time, np.nan)[positions]


def report_missing(
    findings: Findings, table: RawTable, column: str, missing: np.ndarray, expected: str
) -> None:
    """Record a problem for each empty cell of a column that needs a value."""
    findings.error_rows(
        "missing value", table.file, column, table.rows[missing],
        np.full(int(missing.sum()), None, dtype=object),
        f"the value is missing; expected {expected}",
        f"fill in {column}",
    )


def report_choice(
    findings: Findings,
    table: RawTable,
    column: str,
    invalid: np.ndarray,
    valid: tuple[str, ...],
    fix: str,
) -> None:
    """Record a problem for each value outside the allowed choices `valid`."""
    options = ", ".join(valid)
    findings.error_rows(
        f"invalid {column}", table.file, column, table.rows[invalid],
        table.values_at(column, invalid),
        f"is invalid; expected one of {options}", fix,
    )


def validate_patients(
    table: RawTable, *, dayfirst: bool | None, findings: Findings
) -> tuple[pd.DataFrame, PatientLookup] | None:
    """Validate the patients table and return it in canonical form with its lookup."""
    if not require_columns(table, PATIENT_REQUIRED, findings,
                           exclusive=(("end_time", "end_date"),), need_rows=True):
        return None
    frame = table.frame
    columns: dict[str, object] = {}

    # Patient ids: present and unique.
    ids_codes = factorize(frame["patient_id"])
    ids = ids_codes.expand(ids_codes.strings(), None)
    report_missing(findings, table, "patient_id", ids_codes.missing, "a pseudonymous id")
    _report_duplicate_ids(findings, table, ids, ids_codes.missing)

    # Sex.
    sex_values, sex_codes = normalise_codes(frame["sex"], lambda text: text.strip().upper())
    report_missing(findings, table, "sex", sex_codes.missing, "F or M")
    bad_sex = ~sex_codes.missing & ~np.isin(sex_values, SEXES)
    findings.error_rows(
        "invalid sex", table.file, "sex", table.rows[bad_sex],
        table.values_at("sex", bad_sex),
        "is invalid; expected F or M",
        "write F for female or M for male (a French export's H, homme, is M)",
    )
    columns["sex"] = sex_values

    # Entry: dates, or numeric entry at time 0.
    entry = _entry_dates(table, dayfirst=dayfirst, findings=findings)
    columns["age_at_entry"] = _age_at_entry(table, entry, dayfirst=dayfirst, findings=findings)
    columns["entry_date"] = (
        entry if entry is not None else np.full(len(frame), np.datetime64("NaT", "ns"))
    )

    # End of follow-up, in years since entry.
    end_column = "end_time" if "end_time" in frame.columns else "end_date"
    # A missing or invalid entry_date has its own problem, so only numeric entry needs the check.
    end = read_times(table, end_column, entry=entry, dayfirst=dayfirst, findings=findings,
                     check_entry=entry is None)
    report_missing(findings, table, end_column, end.missing, "the end of follow-up")
    before_entry = end.years < 0
    findings.error_rows(
        "entry after end of follow-up", table.file, end_column, table.rows[before_entry],
        table.values_at(end_column, before_entry),
        "is before the patient's entry; the entry is after the end of follow-up",
        f"correct {end_column} or the entry (entry_date)",
    )
    zero = end.years == 0
    findings.warn_rows("patients with zero follow-up (end of follow-up = entry)", table.file,
                       end_column, table.rows[zero], table.values_at(end_column, zero))
    columns["end_time"] = end.years

    # Baseline history: yes/no flags and smoking status.
    flags = {}
    for column in ("prior_ascvd", "diabetes", "hypertension"):
        parsed = parse_booleans(frame[column])
        report_missing(findings, table, column, parsed.missing, BOOLEAN_HELP)
        findings.error_rows(
            f"invalid {column}", table.file, column, table.rows[parsed.invalid],
            table.values_at(column, parsed.invalid),
            f"is invalid; expected {BOOLEAN_HELP}", f"write {column} as 0 or 1",
        )
        flags[column] = parsed.values
    smoking, smoking_codes = normalise_codes(frame["smoking"], lower_code)
    report_missing(findings, table, "smoking", smoking_codes.missing, ", ".join(SMOKING))
    bad_smoking = ~smoking_codes.missing & ~np.isin(smoking, SMOKING)
    report_choice(findings, table, "smoking", bad_smoking, SMOKING,
                  "write current, former, never or not_current (smoking status at entry)")
    columns["prior_ascvd"] = flags["prior_ascvd"]
    columns["smoking"] = smoking
    columns["diabetes"] = flags["diabetes"]
    columns["hypertension"] = flags["hypertension"]

    # Optional descriptive columns, then any extra columns as read.
    for column in OPTIONAL_TEXT_COLUMNS:
        if column in frame.columns:
            codes = factorize(frame[column])
            columns[column] = codes.expand(codes.strings(), None)
    for column in frame.columns:
        if column not in _CONSUMED_PATIENT_COLUMNS:
            columns[column] = extra_column(frame[column], decimal_comma=table.decimal_comma)

    patients = pd.DataFrame(columns, index=pd.Index(ids, name="patient_id", dtype=object))
    patients["entry_date"] = patients["entry_date"].astype("datetime64[ns]")
    unique = ~patients.index.duplicated()
    lookup = PatientLookup(
        patients.index[unique],
        None if entry is None else entry[unique],
        patients["end_time"].to_numpy()[unique],
        table.file,
    )
    return patients, lookup


def _report_duplicate_ids(
    findings: Findings, table: RawTable, ids: np.ndarray, missing: np.ndarray
) -> None:
    series = pd.Series(ids, index=table.rows)[~missing]
    repeated = series.duplicated(keep="first")
    if not repeated.any():
        return
    first_row_of = series[~repeated].loc[lambda ids: ids.isin(series[repeated])]
    first_row_of = dict(zip(first_row_of.to_numpy().tolist(), first_row_of.index.tolist(),
                            strict=True))
    findings.error_rows(
        "duplicate patient_id", table.file, "patient_id", series.index[repeated].to_numpy(),
        series[repeated].to_numpy(dtype=object),
        lambda value: f"duplicates the patient_id of row {first_row_of.get(value, '?')}",
        "give each patient one row with a unique patient_id",
    )


def _entry_dates(
    table: RawTable, *, dayfirst: bool | None, findings: Findings
) -> np.ndarray | None:
    """Return entry dates, or None when the table uses numeric entry (time 0).

    Numeric entry is an ``entry_time`` column, or an ``entry_date`` column of
    numbers; either must contain 0 only, because numeric times count from entry.
    """
    frame = table.frame
    for column in ("entry_time", "entry_date"):
        if column not in frame.columns:
            continue
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            continue
        numbers = parse_numbers(series, decimal_comma=table.decimal_comma)
        if column == "entry_date" and numbers.invalid.any():
            continue
        nonzero = ~numbers.missing & ~numbers.invalid & (numbers.values != 0)
        if column == "entry_time":
            nonzero |= numbers.invalid
        findings.error_rows(
            "numeric entry not 0", table.file, column, table.rows[nonzero],
            table.values_at(column, nonzero),
            "is a numeric entry other than 0; numeric times are years since entry, so entry is 0",
            "write 0, or give the entry as a date in entry_date",
        )
        if column == "entry_date":
            return None
    if "entry_date" not in frame.columns:
        return None
    dates, missing, _ = read_dates(table, "entry_date", dayfirst=dayfirst, findings=findings)
    report_missing(findings, table, "entry_date", missing, "the date of entry into the cohort")
    return dates


def _age_at_entry(
    table: RawTable, entry: np.ndarray | None, *, dayfirst: bool | None, findings: Findings
) -> np.ndarray:
    frame = table.frame
    age = np.full(len(frame), np.nan)
    age_given = np.zeros(len(frame), dtype=bool)
    age_invalid = np.zeros(len(frame), dtype=bool)
    if "age_at_entry" in frame.columns:
        parsed = parse_numbers(frame["age_at_entry"], decimal_comma=table.decimal_comma)
        findings.error_rows(
            "invalid age_at_entry", table.file, "age_at_entry", table.rows[parsed.invalid],
            table.values_at("age_at_entry", parsed.invalid),
            "is not a number", "write the age at entry in years (47.5)",
        )
        age, age_invalid = parsed.values, parsed.invalid
        age_given = ~parsed.missing & ~parsed.invalid

    if "birth_date" in frame.columns:
        birth, birth_missing, _ = read_dates(table, "birth_date", dayfirst=dayfirst,
                                             findings=findings)
        if entry is None:
            needs_entry = ~age_given & ~np.isnat(birth)
            findings.error_rows(
                "birth_date without entry_date", table.file, "birth_date",
                table.rows[needs_entry], table.values_at("birth_date", needs_entry),
                "cannot give the age at entry, because the patient has no entry_date",
                "add entry_date, or give age_at_entry in years",
            )
        else:
            from_birth = years_between(birth, entry)
            if "age_at_entry" in frame.columns:
                both = age_given & ~np.isnan(from_birth)
                differs = both & (np.abs(from_birth - np.where(both, age, 0.0)) > 1.0)
                findings.warn_rows(
                    "age_at_entry differing by more than a year from birth_date "
                    "(age_at_entry kept)",
                    table.file, "age_at_entry", table.rows[differs],
                    table.values_at("age_at_entry", differs),
                )
            age = np.where(age_given, age, from_birth)
        missing = ~age_given & birth_missing & ~age_invalid
    else:
        missing = ~age_given & ~age_invalid
    column = "age_at_entry" if "age_at_entry" in frame.columns else "birth_date"
    report_missing(findings, table, column, missing, "the age at entry or the birth date")

    out_of_range = ~np.isnan(age) & ((age < 0) | (age > MAX_AGE))
    findings.error_rows(
        "age out of range", table.file, column, table.rows[out_of_range],
        table.values_at(column, out_of_range),
        f"gives an age at entry outside 0 to {MAX_AGE:g} years",
        "correct the age or the birth date (and check entry_date)",
    )
    return np.where(out_of_range, np.nan, age)


def extra_column(series: pd.Series, *, decimal_comma: bool) -> np.ndarray:
    """Convert an extra column: numbers when every value is one, else strings."""
    if not is_text(series):
        return series.to_numpy()
    parsed = parse_numbers(series, decimal_comma=decimal_comma)
    if not parsed.invalid.any():
        return parsed.values
    codes = factorize(series)
    return codes.expand(codes.strings(), None)


def validate_drugs(table: RawTable | None, findings: Findings) -> pd.DataFrame:
    """Validate the drugs a cohort declares outside the catalogue; return ``drug``, ``class``."""
    empty = pd.DataFrame({"drug": pd.Series(dtype=object), "class": pd.Series(dtype=object)})
    if table is None or not require_columns(table, ("drug", "class"), findings):
        return empty
    drugs, drug_codes = normalise_codes(table.frame["drug"], lower_code)
    classes, class_codes = normalise_codes(table.frame["class"], lower_code)
    report_missing(findings, table, "drug", drug_codes.missing, "a drug name")
    report_missing(findings, table, "class", class_codes.missing,
                   ", ".join(DECLARABLE_DRUG_CLASSES))

    bad_class = ~class_codes.missing & ~np.isin(classes, DECLARABLE_DRUG_CLASSES)
    report_choice(findings, table, "class", bad_class, DECLARABLE_DRUG_CLASSES,
                  "use one of the classes listed; lipid-lowering drugs come from the catalogue")
    in_catalogue = ~drug_codes.missing & np.isin(drugs, list(DRUGS))
    findings.error_rows(
        "drug already in the catalogue", table.file, "drug", table.rows[in_catalogue],
        table.values_at("drug", in_catalogue),
        lambda value: "is already in the built-in catalogue "
        f"(class {DRUGS[lower_code(str(value))].drug_class})" if value is not None else "",
        "remove the row: catalogue drugs need no declaration",
    )
    repeated = ~drug_codes.missing & pd.Series(drugs).duplicated().to_numpy()
    findings.error_rows(
        "drug declared twice", table.file, "drug", table.rows[repeated],
        table.values_at("drug", repeated),
        "is declared more than once", "keep one row per drug",
    )
    return pd.DataFrame({"drug": drugs, "class": classes})


def validate_markers(
    table: RawTable | None, argument: Mapping[str, str] | None, findings: Findings
) -> pd.DataFrame:
    """Validate the markers a cohort declares, from its table and the `markers=` argument.

    Returns
    -------
    pandas.DataFrame
        ``marker``, ``unit``: table rows first, then markers given only in
        the argument.

    """
    names: list[str] = []
    units: list[str] = []
    sources: list[tuple[str, int | None]] = []
    if table is not None and require_columns(table, ("marker", "unit"), findings):
        markers, marker_codes = normalise_codes(table.frame["marker"], lower_code)
        declared_units, unit_codes = normalise_codes(table.frame["unit"], normalise_unit)
        report_missing(findings, table, "marker", marker_codes.missing, "a marker name")
        report_missing(findings, table, "unit", unit_codes.missing, "the unit of the values")
        usable = ~marker_codes.missing & ~unit_codes.missing
        names += markers[usable].tolist()
        units += declared_units[usable].tolist()
        sources += [(table.file, int(row)) for row in table.rows[usable].tolist()]

    if argument is not None:
        if not isinstance(argument, Mapping):
            raise TypeError(
                f"markers must be a mapping of marker name to unit, got {type(argument).__name__}"
            )
        for name, unit in argument.items():
            if not isinstance(name, str) or not isinstance(unit, str):
                raise TypeError(
                    f"markers must map str to str, got {name!r}: {unit!r}"
                )
            names.append(lower_code(name))
            units.append(normalise_unit(unit))
            sources.append(("markers argument", None))

    # Few declarations: a plain loop keeps the messages simple.
    declared: dict[str, str] = {}
    for name, unit, (file, row) in zip(names, units, sources, strict=True):
        if name in MARKERS:
            accepted = ", ".join(MARKERS[name].units)
            findings.error(
                file, row, "marker", name, f"is a built-in marker (units {accepted})",
                "remove the declaration, or declare the values under another marker name",
            )
        elif name in declared and declared[name] != unit:
            findings.error(
                file, row, "unit", unit,
                f"conflicts with the unit {declared[name]!r} declared earlier for {name}",
                "declare each marker once, with the unit its values are in",
            )
        elif name in declared and file != "markers argument":
            findings.error(file, row, "marker", name, "is declared more than once",
                           "keep one row per marker")
        declared.setdefault(name, unit)
    return pd.DataFrame({"marker": pd.Series(list(declared), dtype=object),
                         "unit": pd.Series(list(declared.values()), dtype=object)})


def validate_genomics(
    table: RawTable | None, lookup: PatientLookup | None, findings: Findings
) -> pd.DataFrame | None:
    """Validate the genomics table; an empty ``variant_class`` means ``not_tested``."""
    if table is None or not require_columns(table, ("patient_id", "variant_class", "prs"),
                                            findings):
        return None
    frame = table.frame
    codes = factorize(frame["patient_id"])
    ids = codes.expand(codes.strings(), None)
    if lookup is not None:
        lookup.locate(table, findings)
    else:
        report_missing(findings, table, "patient_id", codes.missing, "a patient id")
    repeated = ~codes.missing & pd.Series(ids).duplicated().to_numpy()
    findings.error_rows(
        "duplicate patient_id", table.file, "patient_id", table.rows[repeated],
        table.values_at("patient_id", repeated),
        "appears more than once", "give each patient at most one genomics row",
    )

    classes, class_codes = normalise_codes(frame["variant_class"], lower_code)
    classes = np.where(class_codes.missing, "not_tested", classes).astype(object)
    bad = ~class_codes.missing & ~np.isin(classes, VARIANT_CLASSES)
    findings.error_rows(
        "unknown variant class", table.file, "variant_class", table.rows[bad],
        table.values_at("variant_class", bad),
        lambda value: "is not a known variant class"
        + _suggestion(lower_code(str(value)), VARIANT_CLASSES),
        f"use one of {', '.join(VARIANT_CLASSES)} (leave it empty when not tested)",
    )

    prs = parse_numbers(frame["prs"], decimal_comma=table.decimal_comma)
    findings.error_rows(
        "invalid prs", table.file, "prs", table.rows[prs.invalid],
        table.values_at("prs", prs.invalid),
        "is not a number", "write the polygenic score as a standardised z-score (0.8)",
    )
    extreme = np.abs(np.nan_to_num(prs.values)) > MAX_ABS_PRS
    findings.error_rows(
        "prs not a z-score", table.file, "prs", table.rows[extreme],
        table.values_at("prs", extreme),
        f"is beyond +/-{MAX_ABS_PRS:g}, too far for a standardised z-score",
        "standardise the score: subtract the reference mean and divide by its SD",
    )

    columns: dict[str, object] = {"variant_class": classes, "prs": np.where(extreme, np.nan,
                                                                             prs.values)}
    for column in frame.columns:
        if column not in ("patient_id", "variant_class", "prs"):
            columns[column] = extra_column(frame[column], decimal_comma=table.decimal_comma)
    return pd.DataFrame(columns, index=pd.Index(ids, name="patient_id", dtype=object))


def _suggestion(value: str, names: tuple[str, ...] | list[str]) -> str:
    close = close_names(value, list(names))
    return f"; close names: {', '.join(close)}" if close else ""
