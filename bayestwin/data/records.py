"""Validate the timed tables: measurements, treatments, events, microbiome and diet.

Every row of these tables belongs to a patient and carries a time, read as
numeric years since entry or as a date converted with the patient's entry
date. Rows after the patient's end of follow-up are valid but unusable: they
go to the exclusion manifest, never silently away. Events after a first
endpoint event stay, because the model file decides which event ends
follow-up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayestwin.data.parsing import (
    Codes,
    factorize,
    lower_code,
    normalise_codes,
    numbers_from_strings,
    parse_numbers,
)
from bayestwin.data.problems import Findings
from bayestwin.data.tables import RawTable, pick_column, require_columns
from bayestwin.data.times import TimeColumn, read_times
from bayestwin.data.units import (
    LPA_FIX,
    close_names,
    normalise_unit,
    plausible_units,
    range_text,
    to_canonical,
    unit_family_text,
    unit_rule,
)
from bayestwin.data.validate import PatientLookup, report_missing
from bayestwin.data.vocabulary import EVENTS, MarkerInfo

logger = logging.getLogger(__name__)

TIME_COLUMNS = ("date", "time")
HISTORY_FIX = (
    "record history before entry in the patients table (prior_ascvd for a past MI, stroke or "
    "revascularisation; diabetes, hypertension), not as an event"
)


@dataclass(frozen=True)
class Timed:
    """The patient and time of each row of a timed table."""

    positions: np.ndarray
    ids: np.ndarray
    time: TimeColumn
    time_column: str
    end: np.ndarray


def locate_and_time(
    table: RawTable,
    lookup: PatientLookup | None,
    time_column: str,
    *,
    dayfirst: bool | None,
    findings: Findings,
    row_kind: str,
) -> Timed:
    """Find each row's patient and read its time; `row_kind` names the row in messages."""
    if lookup is not None:
        positions, ids = lookup.locate(table, findings)
        entry, end = lookup.entry_for(positions), lookup.end_for(positions)
    else:
        codes = factorize(table.frame["patient_id"])
        positions, ids = np.full(len(table.frame), -1), codes.expand(codes.strings(), None)
        entry, end = None, np.full(len(table.frame), np.nan)
    time = read_times(table, time_column, entry=entry, dayfirst=dayfirst, findings=findings,
                      check_entry=needs_entry_check(lookup, positions))
    report_missing(findings, table, time_column, time.missing, f"the time of the {row_kind}")
    return Timed(positions, ids, time, time_column, end)


def needs_entry_check(lookup: PatientLookup | None, positions: np.ndarray) -> np.ndarray:
    """Return the rows where a date without an entry date is a new problem.

    Unknown patients, and patients whose entry_date is missing or invalid,
    already have a problem of their own.
    """
    if lookup is None or lookup.entry is not None:
        return np.zeros(len(positions), dtype=bool)
    return positions >= 0


def exclude_after_end(
    table: RawTable, timed: Timed, years: np.ndarray, column: str, reason: str,
    findings: Findings,
) -> np.ndarray:
    """Send rows after the end of follow-up to the manifest; return their mask."""
    after = years > timed.end
    findings.exclude_rows(table.file, column, table.rows[after], timed.ids[after],
                          table.values_at(column, after), reason)
    return after


def log_unused(table: RawTable, used: tuple[str, ...]) -> None:
    """Log the columns of `table` that the cohort does not keep."""
    unused = [column for column in table.frame.columns if column not in used]
    if unused:
        logger.info("%s: columns %s are not used", table.file, ", ".join(unused))


def unknown_name_message(kind: str, names: list[str]) -> Callable[[object], str]:
    """Return a message function for an unknown name that lists close known names."""
    def message(value: object) -> str:
        close = close_names(lower_code(str(value)), names) if value is not None else []
        hint = f"; close names: {', '.join(close)}" if close else ""
        return f"is not a known {kind}{hint}"

    return message


def validate_measurements(
    table: RawTable,
    lookup: PatientLookup | None,
    catalogue: Mapping[str, MarkerInfo],
    *,
    dayfirst: bool | None,
    findings: Findings,
) -> pd.DataFrame | None:
    """Validate measurements and convert their values to canonical units."""
    required = ("patient_id", TIME_COLUMNS, "marker", "value", "unit")
    if not require_columns(table, required, findings, exclusive=(TIME_COLUMNS,)):
        return None
    frame = table.frame
    time_column = pick_column(table, *TIME_COLUMNS)
    timed = locate_and_time(table, lookup, time_column, dayfirst=dayfirst, findings=findings,
                             row_kind="measurement")

    # Marker names and units.
    markers, marker_codes = normalise_codes(frame["marker"], lower_code)
    _, unit_codes = normalise_codes(frame["unit"], normalise_unit)
    report_missing(findings, table, "marker", marker_codes.missing, "a marker name")
    report_missing(findings, table, "unit", unit_codes.missing, "the unit of the value")
    known = marker_codes.expand(np.isin(marker_codes.uniques, list(catalogue)), False)
    unknown = ~marker_codes.missing & ~known
    findings.error_rows(
        "unknown marker", table.file, "marker", table.rows[unknown],
        table.values_at("marker", unknown),
        unknown_name_message("marker", list(catalogue)),
        "use a built-in marker name, or declare the marker with its unit in a markers table "
        "(columns marker, unit) or with read_cohort(markers={'name': 'unit'})",
    )

    # Values: numbers; an empty value is a valid row that cannot be used.
    values = parse_numbers(frame["value"], decimal_comma=table.decimal_comma)
    findings.error_rows(
        "invalid value", table.file, "value", table.rows[values.invalid],
        table.values_at("value", values.invalid), "is not a number",
        "write the value as a number (1.35 or 1,35)",
    )
    findings.exclude_rows(table.file, "value", table.rows[values.missing],
                          timed.ids[values.missing], np.full(int(values.missing.sum()), None),
                          "missing value")

    # Units and plausibility, checked once per distinct (marker, unit) pair.
    converted, canonical_units, converted_pairs = _convert(
        table, marker_codes, unit_codes, values.values, known, catalogue, findings
    )
    _check_one_unit_family(table, converted_pairs, findings)

    # Duplicates and rows after the end of follow-up.
    usable = ~values.missing
    after = exclude_after_end(table, timed, timed.time.years, time_column,
                               "measured after the end of follow-up", findings) & usable
    marker_key = marker_codes.expand(pd.factorize(marker_codes.uniques)[0], -1)
    duplicated = pd.DataFrame({"p": timed.positions, "t": timed.time.years, "m": marker_key}
                              ).duplicated().to_numpy() & usable
    findings.warn_rows(
        "measurements repeating the patient, time and marker of an earlier row "
        "(to_dataset averages them)",
        table.file, "value", table.rows[duplicated], table.values_at("value", duplicated),
    )
    log_unused(table, ("patient_id", time_column, "marker", "value", "unit"))

    keep = usable & ~after
    return pd.DataFrame({
        "patient_id": timed.ids[keep],
        "time": timed.time.years[keep],
        "marker": markers[keep],
        "value": converted[keep],
        "unit": canonical_units[keep],
    })


def _convert(
    table: RawTable,
    marker_codes: Codes,
    unit_codes: Codes,
    values: np.ndarray,
    known: np.ndarray,
    catalogue: Mapping[str, MarkerInfo],
    findings: Findings,
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, str, np.ndarray]]]:
    """Convert values to canonical units; report unknown units and implausible values.

    Returns the converted values, their canonical units, and for each
    accepted (marker, unit) pair the marker, canonical unit and row positions.
    """
    converted = np.full(len(values), np.nan)
    canonical_units = np.full(len(values), None, dtype=object)
    converted_pairs: list[tuple[str, str, np.ndarray]] = []
    positions = np.flatnonzero(known & ~unit_codes.missing)
    if positions.size == 0:
        return converted, canonical_units, converted_pairs

    # Group the rows by (marker, unit) code pair with one sort.
    pair_keys = marker_codes.codes[positions] * len(unit_codes.uniques) + unit_codes.codes[
        positions]
    pairs, pair_of_row = np.unique(pair_keys, return_inverse=True)
    order = np.argsort(pair_of_row, kind="stable")
    bounds = np.searchsorted(pair_of_row[order], np.arange(len(pairs) + 1))

    for number, key in enumerate(pairs.tolist()):
        marker = marker_codes.uniques[key // len(unit_codes.uniques)]
        unit = unit_codes.uniques[key % len(unit_codes.uniques)]
        info = catalogue[marker]
        members = positions[order[bounds[number]:bounds[number + 1]]]
        rule = unit_rule(info, unit)
        if not rule.accepted:
            accepted = ", ".join(info.units)
            findings.error_rows(
                "unknown unit", table.file, "unit", table.rows[members],
                table.values_at("unit", _mask(len(values), members)),
                f"is not an accepted unit for {marker}; accepted units: {accepted}",
                f"write the value in one of {accepted}, or convert it",
            )
            continue
        pair_values = to_canonical(values[members], info, unit)
        converted[members] = pair_values
        canonical_units[members] = rule.canonical
        converted_pairs.append((marker, rule.canonical, members))

        low, high = rule.plausible
        implausible = (pair_values < low) | (pair_values > high)
        if implausible.any():
            _report_implausible(table, info, unit, rule.plausible, members[implausible],
                                findings)
            converted[members[implausible]] = np.nan
        low, high = rule.typical
        unusual = members[~implausible & ((pair_values < low) | (pair_values > high))]
        findings.warn_rows(
            "measurements outside the typical range of their marker", table.file, "value",
            table.rows[unusual], table.values_at("value", _mask(len(values), unusual)),
        )
    return converted, canonical_units, converted_pairs


def _report_implausible(
    table: RawTable,
    info: MarkerInfo,
    unit: str,
    plausible: tuple[float, float],
    members: np.ndarray,
    findings: Findings,
) -> None:
    plausible_text = range_text(info, unit, plausible)

    def fix(value: object) -> str:
        if value is None:
            return f"check the value and its unit (plausible range {plausible_text})"
        number, _ = numbers_from_strings(np.array([str(value)], dtype=object),
                                         decimal_comma=table.decimal_comma)
        others = plausible_units(float(number[0]), info, unit)
        if others:
            return (f"check the unit: the value is plausible in {' or '.join(others)}; "
                    "write that unit in column unit if the laboratory used it")
        return "check the value: it is implausible in every accepted unit"

    findings.error_rows(
        "implausible value", table.file, "value", table.rows[members],
        table.values_at("value", _mask(len(table.frame), members)),
        f"is implausible for {info.name} in {unit} (plausible range {plausible_text})", fix,
    )


def _mask(length: int, positions: np.ndarray) -> np.ndarray:
    mask = np.zeros(length, dtype=bool)
    mask[positions] = True
    return mask


def _check_one_unit_family(
    table: RawTable, converted_pairs: list[tuple[str, str, np.ndarray]], findings: Findings
) -> None:
    """Report a marker whose values end in two canonical units (mass and molar Lp(a))."""
    rows_by_unit: dict[str, dict[str, list[np.ndarray]]] = {}
    for marker, canonical, members in converted_pairs:
        rows_by_unit.setdefault(marker, {}).setdefault(canonical, []).append(members)
    for marker, by_unit in rows_by_unit.items():
        if len(by_unit) < 2:
            continue
        members_of = {unit: np.sort(np.concatenate(parts)) for unit, parts in by_unit.items()}
        counts = sorted(((len(members), unit) for unit, members in members_of.items()),
                        reverse=True)
        minority = members_of[counts[-1][1]]
        listing = ", ".join(f"{count} rows in {unit_family_text(unit)}" for count, unit in counts)
        findings.error(
            table.file, int(table.rows[minority[0]]), "unit",
            table.values_at("unit", _mask(len(table.frame), minority[:1]))[0],
            f"mixes units for {marker} ({listing}); no fixed factor converts Lp(a) between "
            "mass and molar units, because the ratio depends on the apolipoprotein(a) "
            "isoform size",
            LPA_FIX,
        )


def validate_events(
    table: RawTable, lookup: PatientLookup | None, *, dayfirst: bool | None, findings: Findings
) -> pd.DataFrame | None:
    """Validate events: known codes, during follow-up."""
    required = ("patient_id", TIME_COLUMNS, "event")
    if not require_columns(table, required, findings, exclusive=(TIME_COLUMNS,)):
        return None
    time_column = pick_column(table, *TIME_COLUMNS)
    timed = locate_and_time(table, lookup, time_column, dayfirst=dayfirst, findings=findings,
                             row_kind="event")
    events, codes = normalise_codes(table.frame["event"], lower_code)
    report_missing(findings, table, "event", codes.missing, "an event code")
    unknown = ~codes.missing & ~codes.expand(np.isin(codes.uniques, list(EVENTS)), True)
    findings.error_rows(
        "unknown event code", table.file, "event", table.rows[unknown],
        table.values_at("event", unknown), unknown_name_message("event code", list(EVENTS)),
        f"use one of {', '.join(EVENTS)}",
    )
    before = timed.time.years < 0
    findings.error_rows(
        "event before entry", table.file, time_column, table.rows[before],
        table.values_at(time_column, before),
        "is before the patient's entry; events are recorded during follow-up only",
        HISTORY_FIX,
    )
    after = exclude_after_end(table, timed, timed.time.years, time_column,
                               "event after the end of follow-up", findings)
    log_unused(table, ("patient_id", time_column, "event"))
    return pd.DataFrame({"patient_id": timed.ids, "time": timed.time.years, "event": events}
                        ).loc[~after].reset_index(drop=True)


def validate_microbiome(
    table: RawTable, lookup: PatientLookup | None, *, dayfirst: bool | None, findings: Findings
) -> pd.DataFrame | None:
    """Validate microbiome counts: one row per sample and taxon."""
    required = ("patient_id", TIME_COLUMNS, "taxon", "count")
    if not require_columns(table, required, findings, exclusive=(TIME_COLUMNS,)):
        return None
    time_column = pick_column(table, *TIME_COLUMNS)
    timed = locate_and_time(table, lookup, time_column, dayfirst=dayfirst, findings=findings,
                             row_kind="sample")
    taxa, taxon_codes = normalise_codes(table.frame["taxon"])
    report_missing(findings, table, "taxon", taxon_codes.missing, "a taxon name")
    counts = parse_numbers(table.frame["count"], decimal_comma=table.decimal_comma)
    report_missing(findings, table, "count", counts.missing, "a read count")
    bad = counts.invalid | (counts.values < 0) | (np.nan_to_num(counts.values) % 1 != 0)
    findings.error_rows(
        "invalid count", table.file, "count", table.rows[bad], table.values_at("count", bad),
        "is not a count; expected a whole number of reads, 0 or more",
        "write raw read counts, not relative abundances",
    )
    after = exclude_after_end(table, timed, timed.time.years, time_column,
                               "sample taken after the end of follow-up", findings)
    keep = ~after
    log_unused(table, ("patient_id", time_column, "taxon", "count"))
    return pd.DataFrame({
        "patient_id": timed.ids[keep],
        "time": timed.time.years[keep],
        "taxon": taxa[keep],
        "count": np.nan_to_num(counts.values[keep]).astype(np.int64),
    })


def validate_diet(
    table: RawTable, lookup: PatientLookup | None, *, dayfirst: bool | None, findings: Findings
) -> pd.DataFrame | None:
    """Validate diet records: numeric nutrient or score columns."""
    required = ("patient_id", TIME_COLUMNS)
    if not require_columns(table, required, findings, exclusive=(TIME_COLUMNS,)):
        return None
    time_column = pick_column(table, *TIME_COLUMNS)
    nutrients = [c for c in table.frame.columns if c not in ("patient_id", time_column)]
    if not nutrients:
        findings.error(
            table.file, 1, None, None,
            "the diet table has no nutrient or score columns",
            "add one column per nutrient or score, with its unit in the name (fibre_g)",
        )
        return None
    timed = locate_and_time(table, lookup, time_column, dayfirst=dayfirst, findings=findings,
                             row_kind="diet record")
    columns: dict[str, object] = {"patient_id": timed.ids, "time": timed.time.years}
    for column in nutrients:
        parsed = parse_numbers(table.frame[column], decimal_comma=table.decimal_comma)
        findings.error_rows(
            f"invalid {column}", table.file, column, table.rows[parsed.invalid],
            table.values_at(column, parsed.invalid), "is not a number",
            "write the amount as a number in the unit named by the column",
        )
        columns[column] = parsed.values
    after = exclude_after_end(table, timed, timed.time.years, time_column,
                               "diet record after the end of follow-up", findings)
    return pd.DataFrame(columns).loc[~after].reset_index(drop=True)

