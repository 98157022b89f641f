"""Result type, unit conversion and input checks shared by the risk equations.

Every equation module returns a `RiskResult` and raises `ValueError` when an
input lies outside the population or the value ranges the equation was
validated for. The selection layer (`bayestwin.riskscores.select`) turns those
errors into not-applicable results instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Literal

import numpy as np

Sex = Literal["female", "male"]
CholesterolUnit = Literal["mmol/L", "mg/dL"]

#: Cholesterol conversion factor (molar mass 386.65 g/mol): 1 mmol/L = 38.67 mg/dL.
MG_DL_PER_MMOL_L = 38.67

SEXES: tuple[str, ...] = ("female", "male")
CHOLESTEROL_UNITS: tuple[str, ...] = ("mmol/L", "mg/dL")


@dataclass(frozen=True)
class RiskResult:
    """Absolute risk from one published equation, or the reason it does not apply.

    Attributes
    ----------
    equation
        Short name of the equation, for example ``"SCORE2"`` or ``"PCE"``.
    endpoint
        Identifier of the predicted event, for example ``"hard_ascvd"``; each
        module docstring defines its endpoint.
    horizon_years
        Prediction horizon in years.
    risk
        Predicted probability of the endpoint within the horizon, as a fraction
        in [0, 1] (0.059 means 5.9 %). ``None`` when the equation does not apply.
    applicable
        Whether the equation applies to the person and ``risk`` is set.
    reason
        Why the equation does not apply; ``None`` when it applies.

    """

    equation: str
    endpoint: str
    horizon_years: int
    risk: float | None
    applicable: bool = True
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.applicable and (self.risk is None or self.reason is not None):
            raise ValueError(
                f"an applicable RiskResult needs a risk and no reason; got risk={self.risk!r}, "
                f"reason={self.reason!r}"
            )
        if not self.applicable and (self.risk is not None or not self.reason):
            raise ValueError(
                f"a not-applicable RiskResult needs a reason and no risk; got risk={self.risk!r}, "
                f"reason={self.reason!r}"
            )

    @classmethod
    def not_applicable(
        cls, *, equation: str, endpoint: str, horizon_years: int, reason: str
    ) -> RiskResult:
        """Build the result for an equation that does not apply, with the reason."""
        return cls(
            equation=equation,
            endpoint=endpoint,
            horizon_years=horizon_years,
            risk=None,
            applicable=False,
            reason=reason,
        )


@dataclass(frozen=True)
class ValidRange:
    """Closed interval of input values an equation was validated for.

    Attributes
    ----------
    low, high
        Inclusive bounds.
    unit
        Unit of the bounds, used in error messages.

    """

    low: float
    high: float
    unit: str

    def contains(self, value: float) -> bool:
        """Return whether ``low <= value <= high``."""
        return self.low <= value <= self.high

    def describe(self) -> str:
        """Return the interval as text, for example ``"40-69 years"``."""
        return f"{self.low:g}-{self.high:g} {self.unit}"


def cholesterol_mmol_to_mg_dl(value: float) -> float:
    """Convert a cholesterol concentration from mmol/L to mg/dL (x 38.67)."""
    return value * MG_DL_PER_MMOL_L


def cholesterol_mg_dl_to_mmol(value: float) -> float:
    """Convert a cholesterol concentration from mg/dL to mmol/L (/ 38.67)."""
    return value / MG_DL_PER_MMOL_L


def _convert_cholesterol(value: float, *, given_unit: str, target_unit: str) -> float:
    if given_unit == target_unit:
        return value
    if target_unit == "mg/dL":
        return cholesterol_mmol_to_mg_dl(value)
    return cholesterol_mg_dl_to_mmol(value)


def lipids_in_unit(
    *,
    total_cholesterol: object,
    hdl_cholesterol: object,
    given_unit: str,
    target_unit: CholesterolUnit,
) -> tuple[float, float]:
    """Check total and HDL cholesterol and return both converted to ``target_unit``.

    Raises
    ------
    ValueError
        If a value is not a finite positive number, the unit is unknown, or HDL
        cholesterol is not below total cholesterol.
    TypeError
        If a value is not a number.

    """
    require_option(name="cholesterol_unit", value=given_unit, options=CHOLESTEROL_UNITS)
    given_total = require_number("total_cholesterol", total_cholesterol)
    given_hdl = require_number("hdl_cholesterol", hdl_cholesterol)
    if given_hdl >= given_total:
        raise ValueError(
            f"hdl_cholesterol={given_hdl:g} must be below total_cholesterol={given_total:g} "
            f"(both in {given_unit})."
        )
    total = _convert_cholesterol(given_total, given_unit=given_unit, target_unit=target_unit)
    hdl = _convert_cholesterol(given_hdl, given_unit=given_unit, target_unit=target_unit)
    return total, hdl


def require_option(*, name: str, value: object, options: Sequence[object]) -> None:
    """Raise ValueError unless ``value`` is one of ``options``."""
    if value not in options:
        listed = ", ".join(repr(option) for option in options)
        raise ValueError(f"{name}={value!r} is invalid; expected one of {listed}.")


def require_flag(name: str, value: object) -> bool:
    """Return ``value`` as a bool, or raise TypeError unless it is a bool."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise TypeError(f"{name} must be True or False; got {value!r} of type {type(value).__name__}.")


def require_number(name: str, value: object, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float, or raise unless it is a finite positive number.

    Raises
    ------
    TypeError
        If ``value`` is not a real number (a bool is rejected too).
    ValueError
        If ``value`` is NaN, infinite, negative, or zero when ``allow_zero`` is False.

    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real | np.integer | np.floating):
        raise TypeError(f"{name} must be a number; got {value!r} of type {type(value).__name__}.")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name}={number!r} is invalid; expected a finite number.")
    if number < 0 or (number == 0 and not allow_zero):
        bound = "0 or more" if allow_zero else "more than 0"
        raise ValueError(f"{name}={number:g} is invalid; expected {bound}.")
    return number


def range_violations(
    values: Mapping[str, float],
    ranges: Mapping[str, ValidRange],
    notes: Mapping[str, str] | None = None,
) -> list[str]:
    """List one message per value outside its validated range.

    Parameters
    ----------
    values
        Input values by name, in the units of ``ranges``.
    ranges
        Validated range by input name; names missing from ``values`` are skipped.
    notes
        Optional text shown after a value, for example the value as the caller gave it
        before unit conversion.

    """
    messages = []
    for name, valid in ranges.items():
        if name not in values or valid.contains(values[name]):
            continue
        note = f" ({notes[name]})" if notes and name in notes else ""
        messages.append(
            f"{name}={values[name]:g} {valid.unit}{note} is outside the validated range "
            f"{valid.describe()}"
        )
    return messages


def require_within_ranges(
    equation: str,
    values: Mapping[str, float],
    ranges: Mapping[str, ValidRange],
    *,
    notes: Mapping[str, str] | None = None,
    hint: str = "",
) -> None:
    """Raise ValueError naming every input outside its validated range.

    ``hint`` is appended to the message, to point to an equation that does apply.
    """
    messages = range_violations(values, ranges, notes)
    if messages:
        suffix = f" {hint}" if hint else ""
        listed = "; ".join(messages)
        raise ValueError(f"{equation} is not validated for this input: {listed}.{suffix}")


def cholesterol_conversion_notes(
    *, total_cholesterol: float, hdl_cholesterol: float, given_unit: str, native_unit: str
) -> dict[str, str]:
    """Return ``"given as <value> <unit>"`` per lipid when the caller's unit was converted.

    The notes go into range error messages, which then show the value in the
    caller's unit next to the converted one.
    """
    if given_unit == native_unit:
        return {}
    return {
        "total_cholesterol": f"given as {total_cholesterol:g} {given_unit}",
        "hdl_cholesterol": f"given as {hdl_cholesterol:g} {given_unit}",
    }
