"""Number, percentage, interval, unit and date formats for the reports.

French follows the French typographic convention: decimal comma, a narrow
no-break space (U+202F) as thousands separator and before ``%``, and the
minus sign U+2212. English (British) uses a decimal point and a comma as
thousands separator. These are the CLDR conventions of fr_FR and en_GB.
"""

from __future__ import annotations

import datetime
import math
from typing import Literal

from bayestwin.riskscores.common import MG_DL_PER_MMOL_L

Language = Literal["fr", "en"]
LdlUnit = Literal["g/L", "mmol/L", "mg/dL"]

LANGUAGES: tuple[str, ...] = ("fr", "en")
LDL_UNITS: tuple[str, ...] = ("g/L", "mmol/L", "mg/dL")
DEFAULT_LDL_UNIT: dict[str, str] = {"fr": "g/L", "en": "mmol/L"}
"""LDL-C unit used when the caller gives none: French labs report g/L."""

NARROW_NBSP = "\u202f"
MINUS = "\u2212"

_LDL_FACTOR = {"mmol/L": 1.0, "mg/dL": MG_DL_PER_MMOL_L, "g/L": MG_DL_PER_MMOL_L / 100.0}
_LDL_DECIMALS = {"mmol/L": 2, "mg/dL": 0, "g/L": 2}

# ESC/EAS 2019 LDL-C goals as the guideline prints them in mg/dL (1.4 mmol/L is
# printed as 55 mg/dL, not the exact 54.1), so the report quotes the familiar numbers.
_ESC_GOAL_MG_DL = {1.4: 55.0, 1.8: 70.0, 2.6: 100.0, 3.0: 116.0}


def check_language(language: str) -> str:
    """Return `language`, or raise ValueError unless it is ``"fr"`` or ``"en"``."""
    if language not in LANGUAGES:
        raise ValueError(f"language={language!r} is invalid; expected one of "
                         f"{', '.join(repr(code) for code in LANGUAGES)}.")
    return language


def check_ldl_unit(unit: str) -> str:
    """Return `unit`, or raise ValueError unless it is a supported LDL-C unit."""
    if unit not in LDL_UNITS:
        raise ValueError(f"ldl_unit={unit!r} is invalid; expected one of "
                         f"{', '.join(repr(name) for name in LDL_UNITS)}.")
    return unit


def format_number(value: float, decimals: int, language: str) -> str:
    """Format `value` with `decimals` decimals and the language's separators.

    NaN becomes an em dash and infinity the ``∞`` sign.
    """
    if value is None:
        return "—"
    value = float(value)
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        return ("" if value > 0 else MINUS) + "∞"
    text = f"{abs(value):,.{decimals}f}"
    if language == "fr":
        text = text.replace(",", NARROW_NBSP).replace(".", ",")
    # Keep "-0.0" from appearing when a small negative value rounds to zero.
    negative = value < 0 and float(f"{abs(value):.{decimals}f}") != 0.0
    return (MINUS if negative else "") + text


def format_signed(value: float, decimals: int, language: str) -> str:
    """Format `value` with an explicit sign (``+`` or ``−``) unless it rounds to zero."""
    text = format_number(value, decimals, language)
    if value > 0 and float(f"{value:.{decimals}f}") != 0.0:
        return "+" + text
    return text


def percent_sign(language: str) -> str:
    """Return the percent sign with the spacing of `language`."""
    return f"{NARROW_NBSP}%" if language == "fr" else "%"


def format_percent(fraction: float, decimals: int, language: str) -> str:
    """Format a fraction (0.123) as a percentage (``12,3 %`` or ``12.3%``)."""
    if fraction is None or math.isnan(fraction):
        return "—"
    return format_number(100.0 * fraction, decimals, language) + percent_sign(language)


def format_probability(probability: float, language: str) -> str:
    """Format a posterior probability as a whole percentage, never 0 % or 100 %.

    A probability estimated from draws is never exactly 0 or 1, so values
    beyond 1 % and 99 % are shown as ``< 1 %`` and ``> 99 %``.
    """
    if probability is None or math.isnan(probability):
        return "—"
    if probability > 0.99:
        return "> 99" + percent_sign(language)
    if probability < 0.01:
        return "< 1" + percent_sign(language)
    return format_percent(probability, 0, language)


def format_range(low: str, high: str, language: str) -> str:
    """Join two formatted bounds: ``2,1 à 7,5`` or ``2.1 to 7.5``."""
    word = "à" if language == "fr" else "to"
    return f"{low} {word} {high}"


def format_percent_interval(low: float, high: float, language: str, decimals: int = 1) -> str:
    """Format the bounds of an interval of fractions as percentages without the sign."""
    return format_range(format_number(100.0 * low, decimals, language),
                        format_number(100.0 * high, decimals, language), language)


def ldl_from_mmol(value: float, unit: str) -> float:
    """Convert an LDL-C concentration from mmol/L to `unit` (1 mmol/L = 38.67 mg/dL)."""
    return value * _LDL_FACTOR[check_ldl_unit(unit)]


def format_ldl(value_mmol: float, unit: str, language: str, *, with_unit: bool = True) -> str:
    """Format an LDL-C concentration given in mmol/L in the reader's unit."""
    text = format_number(ldl_from_mmol(value_mmol, unit), _LDL_DECIMALS[unit], language)
    return f"{text}\u00a0{unit}" if with_unit else text


def format_esc_goal(goal_mmol: float, unit: str, language: str) -> str:
    """Format an ESC LDL-C goal with the value the guideline prints in `unit`."""
    published = _ESC_GOAL_MG_DL.get(round(goal_mmol, 2))
    if published is None:
        return format_ldl(goal_mmol, unit, language)
    if unit == "mmol/L":
        return f"{format_number(goal_mmol, 1, language)}\u00a0{unit}"
    value = published if unit == "mg/dL" else published / 100.0
    return f"{format_number(value, _LDL_DECIMALS[unit], language)}\u00a0{unit}"


def format_date(value: datetime.date | str | None, language: str) -> str:
    """Format a date as ``12/03/2025`` (French) or ``2025-03-12`` (English, ISO 8601).

    A string is shown as it is; None becomes an em dash.
    """
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, datetime.datetime):
        value = value.date()
    return value.strftime("%d/%m/%Y") if language == "fr" else value.isoformat()


def plural_form(language: str, count: float) -> str:
    """Return the CLDR plural category, ``one`` or ``other``, of `count` in `language`.

    French uses the singular below 2 (``1,5 an``), English only for exactly 1.
    """
    if language == "fr":
        return "one" if abs(count) < 2 else "other"
    return "one" if count == 1 else "other"
