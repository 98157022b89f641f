"""Marker units: spelling, conversion to canonical units and plausibility.

The built-in markers and their conversion factors live in
`bayestwin.data.vocabulary`. A cohort may declare other markers with one unit
each (a PBC cohort declares ``bilirubin`` in ``mg/dL``). Their values are kept
in that unit and have no plausible range.

Checks work on each distinct (marker, unit) pair of a table, then expand to
the rows, so two million measurements with twenty pairs cost twenty lookups.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bayestwin.data.vocabulary import MARKERS, UNITS, MarkerInfo, hba1c_mmol_mol_to_percent

_EXTRA_UNIT_SPELLINGS: dict[str, str] = {
    "kg/m²": "kg/m2",
    "mm³": "mm3",
    "ml/min/1,73m2": "mL/min/1.73m2",
    "ml/min/1.73m²": "mL/min/1.73m2",
    "ml/min/1,73m²": "mL/min/1.73m2",
    "agatston": "AU",
    "mmol/mmol": "mmol/mol",
}
UNIT_SPELLINGS: dict[str, str] = {unit.lower(): unit for unit in UNITS} | _EXTRA_UNIT_SPELLINGS
"""Lower-case spelling without spaces -> unit as written in the vocabulary."""

LPA_FIX = (
    "convert one family with the assay-specific factor your laboratory gives (the kit's "
    "calibrator defines it), or keep both as separate markers: declare for example "
    "lpa_molar in nmol/L in the markers table (columns marker, unit) and rename those rows"
)


def normalise_unit(text: str) -> str:
    """Return the vocabulary spelling of a unit (``mmol/l`` -> ``mmol/L``), else `text` stripped."""
    key = "".join(text.split()).lower()
    return UNIT_SPELLINGS.get(key, text.strip())


def hba1c_percent_to_mmol_mol(value: float) -> float:
    """Convert HbA1c from NGSP percent to IFCC mmol/mol (inverse of the master equation)."""
    return (value - 2.15) * 10.929


def declared_marker(name: str, unit: str) -> MarkerInfo:
    """Return the description of a marker that a cohort declares with its unit."""
    return MarkerInfo(name, name, {unit: (unit, 1.0)}, {}, {})


def marker_catalogue(declared: Mapping[str, str]) -> dict[str, MarkerInfo]:
    """Return built-in and declared markers by code."""
    catalogue = dict(MARKERS)
    for name, unit in declared.items():
        catalogue[name] = declared_marker(name, unit)
    return catalogue


def close_names(name: str, names: list[str] | tuple[str, ...]) -> list[str]:
    """Return up to three names close to `name` (difflib ratio at least 0.6)."""
    return difflib.get_close_matches(name, list(names), n=3, cutoff=0.6)


@dataclass(frozen=True)
class UnitRule:
    """Conversion and plausible range of one (marker, unit) pair.

    Attributes
    ----------
    accepted
        Whether the unit is accepted for the marker.
    canonical
        Canonical unit of the values after conversion.
    factor
        Multiplier to the canonical unit; NaN for the affine HbA1c mmol/mol
        conversion.
    plausible, typical
        (low, high) in the canonical unit; infinite bounds where none is known.

    """

    accepted: bool
    canonical: str
    factor: float
    plausible: tuple[float, float]
    typical: tuple[float, float]


_NO_RANGE = (-np.inf, np.inf)


def unit_rule(info: MarkerInfo, unit: str) -> UnitRule:
    """Return how `unit` of marker `info` converts; ``accepted`` is False for other units."""
    if unit not in info.units:
        return UnitRule(False, unit, np.nan, _NO_RANGE, _NO_RANGE)
    canonical, factor = info.canonical(unit)
    return UnitRule(
        True,
        canonical,
        np.nan if factor is None else float(factor),
        info.plausible.get(canonical, _NO_RANGE),
        info.typical.get(canonical, _NO_RANGE),
    )


def to_canonical(values: np.ndarray, info: MarkerInfo, unit: str) -> np.ndarray:
    """Convert `values` measured in `unit` to the canonical unit of the marker."""
    canonical, factor = info.canonical(unit)
    if factor is None:
        if info.name == "hba1c" and unit == "mmol/mol":
            return hba1c_mmol_mol_to_percent(values)
        raise ValueError(f"no conversion is defined from {unit} to {canonical} for {info.name}")
    if factor == 1.0:
        return values
    return values * factor


def from_canonical(value: float, info: MarkerInfo, unit: str) -> float:
    """Convert one canonical value back to `unit` (used to quote ranges in the source unit)."""
    _, factor = info.canonical(unit)
    if factor is None:
        return hba1c_percent_to_mmol_mol(value)
    return value / factor


def plausible_units(value: float, info: MarkerInfo, stated: str) -> list[str]:
    """Return the accepted units, other than `stated`, in which `value` would be plausible."""
    found = []
    for unit in info.units:
        if unit == stated:
            continue
        canonical, _ = info.canonical(unit)
        low, high = info.plausible.get(canonical, _NO_RANGE)
        converted = float(to_canonical(np.asarray([value], dtype=float), info, unit)[0])
        if low <= converted <= high:
            found.append(unit)
    return found


def range_text(info: MarkerInfo, unit: str, bounds: tuple[float, float]) -> str:
    """Format a canonical (low, high) range in `unit`, as ``0.05 to 30 mmol/L``."""
    low, high = (from_canonical(bound, info, unit) for bound in bounds)
    if bounds[0] >= 0:
        # An affine conversion (HbA1c) can map a lower bound of 0 below 0.
        low = max(low, 0.0)
    return f"{low:.4g} to {high:.4g} {unit}"


def unit_family_text(unit: str) -> str:
    """Name the Lp(a) unit family of a canonical unit: mass or molar."""
    return "molar (nmol/L)" if unit == "nmol/L" else "mass (mg/dL, g/L)"
