import datetime

import pytest

from bayestwin.report.formatting import (
    format_date,
    format_esc_goal,
    format_ldl,
    format_number,
    format_percent,
    format_probability,
    format_signed,
    plural_form,
)

NNBSP = "\u202f"


@pytest.mark.parametrize(("value", "decimals", "language", "expected"), [
    (1234.5, 1, "fr", f"1{NNBSP}234,5"),
    (1234.5, 1, "en", "1,234.5"),
    (-0.04, 1, "fr", "0,0"),
    (-2.5, 1, "en", "\u22122.5"),
    (float("nan"), 1, "en", "—"),
    (float("inf"), 0, "fr", "∞"),
])
def test_format_number(value, decimals, language, expected):
    assert format_number(value, decimals, language) == expected


def test_format_percent_spacing():
    assert format_percent(0.1234, 1, "fr") == f"12,3{NNBSP}%"
    assert format_percent(0.1234, 1, "en") == "12.3%"


def test_format_signed():
    assert format_signed(2.5, 1, "fr") == "+2,5"
    assert format_signed(-2.5, 1, "fr") == "\u22122,5"
    assert format_signed(0.01, 1, "en") == "0.0"


def test_format_probability_bounds():
    assert format_probability(0.995, "en") == "> 99%"
    assert format_probability(0.004, "fr") == f"< 1{NNBSP}%"
    assert format_probability(0.5, "en") == "50%"


def test_format_ldl_units():
    # 1 mmol/L = 38.67 mg/dL = 0.3867 g/L.
    assert format_ldl(3.0, "g/L", "fr") == "1,16\u00a0g/L"
    assert format_ldl(3.0, "mg/dL", "en") == "116\u00a0mg/dL"
    assert format_ldl(3.0, "mmol/L", "en") == "3.00\u00a0mmol/L"


def test_format_esc_goal_published():
    assert format_esc_goal(1.8, "g/L", "fr") == "0,70\u00a0g/L"
    assert format_esc_goal(1.4, "mg/dL", "en") == "55\u00a0mg/dL"
    assert format_esc_goal(1.5, "mmol/L", "en") == "1.50\u00a0mmol/L"


def test_format_date():
    day = datetime.date(2025, 3, 1)
    assert format_date(day, "fr") == "01/03/2025"
    assert format_date(day, "en") == "2025-03-01"
    assert format_date("mars 2025", "fr") == "mars 2025"


def test_plural_form():
    assert plural_form("fr", 1.5) == "one"
    assert plural_form("fr", 2) == "other"
    assert plural_form("en", 1) == "one"
    assert plural_form("en", 1.5) == "other"
