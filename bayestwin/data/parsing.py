"""Parse raw table columns into numbers, booleans and normalised codes.

Every parser works on the distinct values of a column. It then expands the
result to the rows with the integer codes of `pandas.factorize`, or of the
categorical that the CSV loader built. A column of two million lab values with
a few thousand distinct strings therefore costs a few thousand parses.

Numbers are converted with Python's own float parser, which rounds correctly;
`pandas.to_numeric` is only used to find the strings that need cleaning,
because it can be off by one unit in the last place.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

TRUE_STRINGS: tuple[str, ...] = ("1", "1.0", "true", "yes", "oui", "vrai", "y", "o", "t")
FALSE_STRINGS: tuple[str, ...] = ("0", "0.0", "false", "no", "non", "faux", "n", "f")
BOOLEAN_HELP = "0/1, true/false, yes/no or oui/non"

_SPACES = re.compile(r"[\s\u00a0\u202f']")
_AMBIGUOUS_COMMA = re.compile(r"^[+-]?\d{1,3},\d{3}$")


@dataclass(frozen=True)
class Codes:
    """A column as integer codes into its distinct values.

    Attributes
    ----------
    codes
        One code per row; -1 where the cell is missing.
    uniques
        The distinct values, as read.

    """

    codes: np.ndarray
    uniques: pd.Index

    @property
    def missing(self) -> np.ndarray:
        """Boolean mask of the missing cells."""
        return self.codes < 0

    def expand(self, per_unique: np.ndarray, fill: object) -> np.ndarray:
        """Map one result per distinct value onto the rows; `fill` goes to missing cells."""
        per_unique = np.asarray(per_unique)
        extended = np.append(per_unique, np.array([fill], dtype=per_unique.dtype))
        return extended[self.codes]

    def strings(self) -> np.ndarray:
        """Return the distinct values as stripped strings (object array)."""
        return np.array([str(value).strip() for value in self.uniques.tolist()], dtype=object)


def factorize(series: pd.Series) -> Codes:
    """Split `series` into codes and distinct values; missing cells get code -1."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return Codes(series.cat.codes.to_numpy().astype(np.int64), series.cat.categories)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return Codes(codes.astype(np.int64), pd.Index(uniques))


def is_text(series: pd.Series) -> bool:
    """Return whether `series` contains strings (categorical or object), not typed values."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return True
    return pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)


@dataclass(frozen=True)
class Parsed:
    """A parsed column: values per row, with masks of missing and invalid cells."""

    values: np.ndarray
    missing: np.ndarray
    invalid: np.ndarray


def parse_numbers(series: pd.Series, *, decimal_comma: bool = False) -> Parsed:
    """Parse a column of numbers, accepting French decimal commas.

    Parameters
    ----------
    series
        Raw column: numeric, or text to parse.
    decimal_comma
        Whether the file uses the French convention (``;`` separator), in which
        ``1,35`` is 1.35. Elsewhere a comma is read as a decimal mark too,
        unless exactly three digits follow it (``1,234``): that value is
        invalid, because it may be a thousands separator.

    Returns
    -------
    Parsed
        Float values (NaN where missing or invalid). Spaces and non-breaking
        spaces inside a number are removed; infinite values are invalid.

    """
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(values)
        invalid = ~missing & ~np.isfinite(values)
        return Parsed(np.where(invalid, np.nan, values), missing, invalid)
    if not is_text(series):
        missing = series.isna().to_numpy()
        return Parsed(np.full(len(series), np.nan), missing, ~missing)

    column = factorize(series)
    numbers, bad = numbers_from_strings(column.strings(), decimal_comma=decimal_comma)
    return Parsed(
        column.expand(numbers, np.nan), column.missing, column.expand(bad, False)
    )


def numbers_from_strings(
    strings: np.ndarray, *, decimal_comma: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Parse an object array of strings; return the floats and the mask of invalid strings."""
    result = np.full(len(strings), np.nan)
    if len(strings) == 0:
        return result, np.zeros(0, dtype=bool)
    quick = pd.to_numeric(pd.Series(strings, dtype=object), errors="coerce").to_numpy(dtype=float)
    simple = ~np.isnan(quick)
    result[simple] = _exact_floats(strings[simple])

    rest = np.flatnonzero(~simple & (strings != ""))
    if rest.size:
        cleaned = [_clean_number(text, decimal_comma) for text in strings[rest].tolist()]
        result[rest] = _exact_floats(np.array(cleaned, dtype=object))
    invalid = ~np.isfinite(result) & (strings != "")
    result[invalid] = np.nan
    return result, invalid


def _clean_number(text: str, decimal_comma: bool) -> str:
    text = _SPACES.sub("", text)
    if "," not in text:
        return text
    if "." in text:
        # Both marks: the last one is the decimal mark, the other groups thousands.
        if text.rfind(",") > text.rfind("."):
            return text.replace(".", "").replace(",", ".")
        return text.replace(",", "")
    if text.count(",") > 1 or (not decimal_comma and _AMBIGUOUS_COMMA.match(text)):
        return "invalid"
    return text.replace(",", ".")


def _exact_floats(strings: np.ndarray) -> np.ndarray:
    try:
        return np.asarray(strings, dtype=float)
    except ValueError:
        return np.array([_float_or_nan(text) for text in strings.tolist()], dtype=float)


def _float_or_nan(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return np.nan


def parse_booleans(series: pd.Series) -> Parsed:
    """Parse a yes/no column (0/1, true/false, yes/no, oui/non, vrai/faux; any case)."""
    if pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype=bool, na_value=False)
        missing = series.isna().to_numpy()
        return Parsed(values, missing, np.zeros(len(series), dtype=bool))
    if pd.api.types.is_numeric_dtype(series.dtype):
        numbers = series.to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(numbers)
        invalid = ~missing & (numbers != 0) & (numbers != 1)
        return Parsed(numbers == 1, missing, invalid)

    column = factorize(series)
    lowered = np.array([text.lower() for text in column.strings().tolist()], dtype=object)
    truth = np.isin(lowered, TRUE_STRINGS)
    falsity = np.isin(lowered, FALSE_STRINGS)
    return Parsed(
        column.expand(truth, False), column.missing, column.expand(~truth & ~falsity, False)
    )


def normalise_codes(
    series: pd.Series, normalise: Callable[[str], str] = str.strip
) -> tuple[np.ndarray, Codes]:
    """Normalise a column of codes (marker, drug, event names).

    Returns
    -------
    values
        Object array of normalised strings, None where missing.
    codes
        Codes of the rows into the normalised distinct values; several raw
        spellings may share one normalised value.

    """
    column = factorize(series)
    normalised = np.array([normalise(text) for text in column.strings().tolist()], dtype=object)
    values = column.expand(normalised, None)
    return values, Codes(column.codes, pd.Index(normalised, dtype=object))


def lower_code(text: str) -> str:
    """Normalise a vocabulary code: stripped, lower case, spaces and hyphens as underscores."""
    return re.sub(r"[\s-]+", "_", text.strip().lower())

