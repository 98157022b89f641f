"""Number, boolean, unit and date parsing on single columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayestwin.data.parsing import numbers_from_strings, parse_booleans, parse_numbers
from bayestwin.data.problems import Findings
from bayestwin.data.tables import RawTable
from bayestwin.data.times import read_dates
from bayestwin.data.units import normalise_unit


def strings(*values: str) -> np.ndarray:
    return np.array(values, dtype=object)


def test_numbers_are_parsed_exactly():
    # pandas.to_numeric can be off by one unit in the last place; float() never is.
    rng = np.random.default_rng(7)
    values = rng.standard_normal(5000) * 10.0 ** rng.uniform(-3, 5, 5000)
    parsed, invalid = numbers_from_strings(strings(*map(repr, values.tolist())),
                                           decimal_comma=False)
    assert not invalid.any()
    assert np.array_equal(parsed, values)


@pytest.mark.parametrize("text, decimal_comma, expected", [
    ("1,35", True, 1.35),
    ("1,35", False, 1.35),
    ("1 234,5", True, 1234.5),
    ("1.234,5", True, 1234.5),
    ("1,234.5", False, 1234.5),
    ("1,234", True, 1.234),
    ("-0,5", True, -0.5),
])
def test_decimal_commas(text, decimal_comma, expected):
    parsed, invalid = numbers_from_strings(strings(text), decimal_comma=decimal_comma)
    assert not invalid[0]
    assert parsed[0] == expected


@pytest.mark.parametrize("text", ["1,234", "abc", "1,2,3", "inf", "12 mg"])
def test_invalid_numbers(text):
    # In a comma-separated file, "1,234" may be a thousands separator: rejected, not guessed.
    parsed, invalid = numbers_from_strings(strings(text), decimal_comma=False)
    assert invalid[0]
    assert np.isnan(parsed[0])


def test_parse_numbers_on_categorical_with_missing():
    series = pd.Series(["1,5", None, "2", "1,5"], dtype="category")
    parsed = parse_numbers(series, decimal_comma=True)
    assert parsed.values[[0, 2, 3]].tolist() == [1.5, 2.0, 1.5]
    assert parsed.missing.tolist() == [False, True, False, False]
    assert not parsed.invalid.any()


def test_booleans():
    series = pd.Series(["oui", "Non", "TRUE", "0", "yes", "vrai", "peut-être", None])
    parsed = parse_booleans(series)
    assert parsed.values[:6].tolist() == [True, False, True, False, True, True]
    assert parsed.invalid.tolist() == [False] * 6 + [True, False]
    assert parsed.missing.tolist() == [False] * 7 + [True]


@pytest.mark.parametrize("text, unit", [
    ("mmol/l", "mmol/L"), ("MG/DL", "mg/dL"), ("g/l", "g/L"), (" kg/m² ", "kg/m2"),
    ("ml/min/1,73m2", "mL/min/1.73m2"), ("µmol/L", "µmol/L"),
])
def test_unit_spellings(text, unit):
    assert normalise_unit(text) == unit


def dates_of(*values: str, dayfirst: bool | None = None) -> tuple[np.ndarray, Findings]:
    rows = pd.RangeIndex(2, len(values) + 2, name="row")
    frame = pd.DataFrame({"date": pd.Series(values, dtype="category", index=rows)})
    findings = Findings()
    dates, _, _ = read_dates(RawTable("events", "events.csv", frame), "date",
                             dayfirst=dayfirst, findings=findings)
    return dates, findings


def test_iso_dates_with_time_of_day():
    dates, findings = dates_of("2021-04-03", "2021-04-03T10:30:00", "2021/4/3")
    assert not findings.problems
    assert (dates == np.datetime64("2021-04-03")).all()


def test_same_reading_both_ways_is_not_ambiguous():
    dates, findings = dates_of("01/01/2020", "07/07/2021")
    assert not findings.problems
    assert dates[0] == np.datetime64("2020-01-01")


def test_month_first_proved_by_second_field():
    dates, findings = dates_of("04/03/2021", "12/25/2021")
    assert not findings.problems
    assert dates[0] == np.datetime64("2021-04-03")


def test_dayfirst_true_rejects_month_thirteen():
    dates, findings = dates_of("03/04/2021", "12/25/2021", dayfirst=True)
    assert dates[0] == np.datetime64("2021-04-03")
    assert [str(problem) for problem in findings.problems] == [
        "events.csv, row 3, column date: value '12/25/2021' is not a valid date. Fix: write a "
        "calendar date as YYYY-MM-DD (2021-04-03), or as DD/MM/YYYY with dayfirst=True "
        "(bayestwin check --dayfirst) or MM/DD/YYYY with dayfirst=False"
    ]


def test_two_digit_years_are_invalid():
    _, findings = dates_of("03/04/21")
    assert findings.problems[0].message == "is not a valid date"
