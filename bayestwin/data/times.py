"""Dates, day-first detection and conversion of times to years since entry.

A date is ISO (``2021-04-03``, or year first with ``/``), or a day-month-year
string such as ``03/04/2021`` (``/``, ``.`` or ``-`` between the fields, a
four-digit year). A time of day after the date is accepted and ignored.

Whether ``03/04/2021`` is 3 April (day-first, the French convention) or
4 March (month-first) is decided per column. The `dayfirst` argument decides
when given. Otherwise the column itself decides when one of its values has a
first field above 12 (day-first) or a second field above 12 (month-first). A
column without such a value, where some value reads differently both ways,
is ambiguous. That is an error, never a guess.

Times are float years since the patient's entry, with 365.25-day years.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayestwin.data.parsing import Codes, factorize, is_text, numbers_from_strings
from bayestwin.data.problems import Findings
from bayestwin.data.tables import RawTable

DAYS_PER_YEAR = 365.25
MAX_ABS_YEARS = 150.0
"""Largest plausible numeric time in years; larger values are dates or days written as numbers."""

_TIME_OF_DAY = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_YEAR_FIRST = re.compile(rf"^(\d{{4}})[-/.](\d{{1,2}})[-/.](\d{{1,2}}){_TIME_OF_DAY}$")
_YEAR_LAST = re.compile(rf"^(\d{{1,2}})[-/.](\d{{1,2}})[-/.](\d{{4}}){_TIME_OF_DAY}$")

DATE_FIX = (
    "write a calendar date as YYYY-MM-DD (2021-04-03), or as DD/MM/YYYY with dayfirst=True "
    "(bayestwin check --dayfirst) or MM/DD/YYYY with dayfirst=False"
)


@dataclass(frozen=True)
class TimeColumn:
    """A time column converted to years since entry.

    Attributes
    ----------
    years
        Years since the patient's entry; NaN where missing or invalid.
    missing
        Mask of empty cells.
    invalid
        Mask of cells already reported as problems.
    from_dates
        Whether the column contained dates (True) or numeric years (False).

    """

    years: np.ndarray
    missing: np.ndarray
    invalid: np.ndarray
    from_dates: bool


def read_dates(
    table: RawTable,
    column: str,
    *,
    dayfirst: bool | None,
    findings: Findings,
    report_invalid: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse a date column; report ambiguous day orders and, if `report_invalid`, invalid dates.

    Returns
    -------
    dates
        ``datetime64[ns]`` array, NaT where missing or invalid.
    missing
        Mask of empty cells.
    unreported
        Mask of invalid cells not reported yet: empty when `report_invalid`
        is True or when the column's day order was reported as ambiguous.

    """
    series = table.frame[column]
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        dates = _naive_ns(series)
        return dates, np.isnat(dates), np.zeros(len(dates), dtype=bool)
    if not is_text(series):
        series = series.astype(object).where(series.notna(), None).astype("category")

    codes = factorize(series)
    strings = codes.strings()
    per_unique, bad = _dates_from_strings(strings, table, column, codes, dayfirst, findings)
    dates = codes.expand(per_unique, np.datetime64("NaT", "ns"))
    bad_rows = codes.expand(bad, False)
    if report_invalid:
        findings.error_rows(
            "invalid date", table.file, column, table.rows[bad_rows],
            table.values_at(column, bad_rows), "is not a valid date", DATE_FIX,
        )
        bad_rows = np.zeros(len(dates), dtype=bool)
    return dates, codes.missing, bad_rows


def _naive_ns(series: pd.Series) -> np.ndarray:
    values = pd.DatetimeIndex(series)
    if values.tz is not None:
        values = values.tz_convert("UTC").tz_localize(None)
    return values.normalize().to_numpy(dtype="datetime64[ns]")


def _dates_from_strings(
    strings: np.ndarray,
    table: RawTable,
    column: str,
    codes: Codes,
    dayfirst: bool | None,
    findings: Findings,
) -> tuple[np.ndarray, np.ndarray]:
    count = len(strings)
    year = np.zeros(count, dtype=np.int64)
    month = np.zeros(count, dtype=np.int64)
    day = np.zeros(count, dtype=np.int64)
    matched = np.zeros(count, dtype=bool)
    first = np.zeros(count, dtype=np.int64)
    second = np.zeros(count, dtype=np.int64)
    year_last = np.zeros(count, dtype=bool)

    # Split each distinct string into its numeric fields.
    for position, text in enumerate(strings.tolist()):
        match = _YEAR_FIRST.match(text)
        if match:
            year[position], month[position], day[position] = map(int, match.groups())
            matched[position] = True
            continue
        match = _YEAR_LAST.match(text)
        if match:
            first[position], second[position], year[position] = map(int, match.groups())
            matched[position] = year_last[position] = True

    # Decide day-first or month-first for the year-last values.
    if year_last.any():
        order = _day_order(first[year_last], second[year_last], dayfirst)
        if order in ("ambiguous", "mixed"):
            _report_day_order(order, table, column, codes, strings, first, second, year_last,
                              findings)
            return np.full(count, np.datetime64("NaT", "ns")), np.zeros(count, dtype=bool)
        if order == "day":
            day[year_last], month[year_last] = first[year_last], second[year_last]
        else:
            month[year_last], day[year_last] = first[year_last], second[year_last]

    # Build the dates; impossible ones (31/02) become NaT and are reported.
    parts = pd.DataFrame({"year": year, "month": month, "day": day}).astype(float)
    parts.loc[~matched] = np.nan
    dates = pd.to_datetime(parts, errors="coerce")
    result = dates.to_numpy(dtype="datetime64[ns]")
    invalid = np.isnat(result) & (strings != "")
    return result, invalid


def _day_order(first: np.ndarray, second: np.ndarray, dayfirst: bool | None) -> str:
    """Return ``day`` or ``month`` for the order of the first field, or why neither fits.

    ``ambiguous``: no value proves the order and some value reads differently
    both ways. ``mixed``: some values prove day-first and others month-first.
    """
    if dayfirst is not None:
        return "day" if dayfirst else "month"
    proves_day = bool((first > 12).any())
    proves_month = bool((second > 12).any())
    if proves_day and proves_month:
        return "mixed"
    if proves_day:
        return "day"
    if proves_month:
        return "month"
    if (first != second).any():
        return "ambiguous"
    # Every value reads the same both ways (01/01/2020).
    return "day"


def _report_day_order(
    order: str,
    table: RawTable,
    column: str,
    codes: Codes,
    strings: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    year_last: np.ndarray,
    findings: Findings,
) -> None:
    def first_row(unique_mask: np.ndarray) -> tuple[int, str]:
        position = int(np.flatnonzero(unique_mask[codes.codes] & (codes.codes >= 0))[0])
        return int(table.rows[position]), str(strings[codes.codes[position]])

    fix = (
        "pass dayfirst=True for DD/MM/YYYY dates (bayestwin check --dayfirst) or "
        "dayfirst=False for MM/DD/YYYY dates, or write ISO dates (YYYY-MM-DD)"
    )
    if order == "mixed":
        row, value = first_row(year_last & (first > 12))
        other_row, other = first_row(year_last & (second > 12))
        findings.error(
            table.file, row, column, value,
            f"is day-first, but row {other_row} ({other!r}) is month-first; a column must use "
            "one order",
            "correct the dates so that the column uses one order, " + fix,
        )
        return
    row, value = first_row(year_last & (first != second))
    a, b, year = _YEAR_LAST.match(value).groups()
    findings.error(
        table.file, row, column, value,
        f"is ambiguous: it may be day {int(a)} of month {int(b)} or day {int(b)} of month "
        f"{int(a)}, {year}, and no date in the column has a field above 12 that would prove "
        "the order",
        fix,
    )


def read_times(
    table: RawTable,
    column: str,
    *,
    entry: np.ndarray | None,
    dayfirst: bool | None,
    findings: Findings,
    check_entry: bool | np.ndarray = True,
) -> TimeColumn:
    """Read a time column as years since entry: numeric years, or dates.

    Parameters
    ----------
    table, column
        Where the times are.
    entry
        Entry date of each row's patient (``datetime64[ns]``, NaT where
        unknown), or None when the cohort gives no entry dates.
    dayfirst
        Day order of non-ISO dates; None detects it from the column.
    findings
        Collector for the problems.
    check_entry
        Whether a date without an entry date is a problem, for all rows or as
        a mask of rows. Rows of unknown patients, or all rows when the
        patients table could not be read, are left out so that one mistake
        is not reported twice.

    """
    series = table.frame[column]
    numeric = _numeric_years(series, decimal_comma=table.decimal_comma)
    if numeric is not None:
        years, missing = numeric
        too_far = np.abs(np.nan_to_num(years)) > MAX_ABS_YEARS
        findings.error_rows(
            "time too far from entry", table.file, column, table.rows[too_far],
            table.values_at(column, too_far),
            f"is more than {MAX_ABS_YEARS:g} years from entry; a numeric time is years since entry",
            "give years since entry (divide days by 365.25), or write a full date (YYYY-MM-DD)",
        )
        return TimeColumn(np.where(too_far, np.nan, years), missing, too_far, from_dates=False)

    dates, missing, unreported = read_dates(table, column, dayfirst=dayfirst,
                                            findings=findings, report_invalid=False)
    invalid = np.isnat(dates) & ~missing
    _report_invalid_times(table, column, unreported, findings)
    if entry is None:
        entry = np.full(len(dates), np.datetime64("NaT", "ns"))
    no_entry = ~np.isnat(dates) & np.isnat(entry) & check_entry
    findings.error_rows(
        "date without entry date", table.file, column, table.rows[no_entry],
        table.values_at(column, no_entry),
        "is a date, but the patient has no entry_date to measure time from",
        "add entry_date to the patients table, or give numeric years since entry",
    )
    return TimeColumn(years_between(entry, dates), missing, invalid | no_entry, from_dates=True)


def _report_invalid_times(
    table: RawTable, column: str, invalid: np.ndarray, findings: Findings
) -> None:
    """Report the invalid cells of a time column of dates, with numbers among dates apart."""
    if not invalid.any():
        return
    raw = table.values_at(column, invalid)
    strings = np.array([str(value).strip() for value in raw.tolist()], dtype=object)
    _, not_number = numbers_from_strings(strings, decimal_comma=table.decimal_comma)
    rows = table.rows[invalid]
    findings.error_rows(
        "number among dates", table.file, column, rows[~not_number], raw[~not_number],
        "is a number, but other values of the column are dates; a column holds either dates "
        "or numeric years since entry",
        "write every value of the column as a date, or every value as years since entry",
    )
    findings.error_rows(
        "invalid date", table.file, column, rows[not_number], raw[not_number],
        "is not a valid date", DATE_FIX,
    )


def _numeric_years(
    series: pd.Series, *, decimal_comma: bool
) -> tuple[np.ndarray, np.ndarray] | None:
    """Return years and the missing mask when every value of `series` is a number."""
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(
        series.dtype
    ):
        return None
    if pd.api.types.is_numeric_dtype(series.dtype):
        years = series.to_numpy(dtype=float, na_value=np.nan)
        return years, np.isnan(years)
    if not is_text(series):
        return None
    codes = factorize(series)
    numbers, invalid = numbers_from_strings(codes.strings(), decimal_comma=decimal_comma)
    if invalid.any() or (len(numbers) == 0 and len(series) and not codes.missing.all()):
        return None
    return codes.expand(numbers, np.nan), codes.missing


def years_between(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Return the years (365.25 days) from `start` to `end`; NaN where either is NaT."""
    days = (end - start) / np.timedelta64(1, "D")
    return np.asarray(days, dtype=float) / DAYS_PER_YEAR
