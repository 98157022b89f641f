"""Adapter for the Mayo Clinic primary biliary cirrhosis (PBC) trial data.

The source is the 312-patient randomised trial as packaged for joint-model
examples (R package JM, data sets ``pbc2`` and ``pbc2.id``): one row per visit
in ``pbc2`` and one row per patient in ``pbc2_id``. Follow-up is in years since
registration (``years`` is the end of follow-up and ``year`` the visit time),
and ``status`` is ``alive``, ``dead`` or ``transplanted`` at the end of
follow-up. Units follow the JM documentation: bilirubin and cholesterol in
mg/dL, albumin in g/dL, alkaline phosphatase in U/L, SGOT (AST) in U/mL,
platelets in thousands per cubic millimetre (10^9/L), prothrombin time in
seconds.

The module is also the worked example of importing a long-format clinical
table. Four steps turn any such table into a `Cohort`:

1. Read the per-patient table into ``patients`` (sex, age at entry, end of
   follow-up) and check that the per-visit table agrees with it.
2. Describe each measured column once with a `MarkerColumn` (marker code,
   canonical unit, conversion factor, text codes) and let
   `melt_marker_columns` write the long ``measurements`` table. A value that
   is not a number, carries an unknown code or lies outside the plausible
   range of a built-in marker goes to the manifest with the reason.
3. Write treatments and events from the per-patient columns, and declare
   every drug and marker outside the built-in vocabulary.
4. Put every source row or value that was left out in ``manifest``, so that
   nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from bayestwin.data.cohort import MANIFEST_COLUMNS, Cohort, empty_manifest
from bayestwin.data.vocabulary import CHOLESTEROL_MG_DL_PER_MMOL_L, MARKERS
from bayestwin.exceptions import CohortError

TableSource = str | Path | pd.DataFrame
"""A CSV file path or an already loaded table."""


@dataclass(frozen=True)
class MarkerColumn:
    """A source column that becomes one marker of the ``measurements`` table.

    Attributes
    ----------
    column
        Column name in the source table.
    marker
        Marker code written to the cohort, for example ``"total_c"``.
    unit
        Unit written to the cohort. For a built-in marker it must be the
        marker's canonical unit, because the cohort contains only canonical units.
    factor
        Multiplier from the source unit to ``unit``: cohort value = source
        value x factor.
    source_unit
        Unit of the source column, for documentation and manifest reasons.
    codes
        Text code -> number for a categorical column (for example
        ``{"No": 0.0, "Yes": 1.0}``); None for a numeric column.

    """

    column: str
    marker: str
    unit: str
    factor: float = 1.0
    source_unit: str | None = None
    codes: Mapping[str, float] | None = None


_YES_NO = MappingProxyType({"No": 0.0, "Yes": 1.0})

PBC2_MARKER_COLUMNS: Mapping[str, MarkerColumn] = MappingProxyType({
    "bilirubin": MarkerColumn("serBilir", "bilirubin", "mg/dL"),
    "albumin": MarkerColumn("albumin", "albumin", "g/dL"),
    "prothrombin": MarkerColumn("prothrombin", "prothrombin", "s"),
    "total_c": MarkerColumn(
        "serChol", "total_c", "mmol/L",
        factor=1.0 / CHOLESTEROL_MG_DL_PER_MMOL_L, source_unit="mg/dL",
    ),
    "alkaline_phosphatase": MarkerColumn("alkaline", "alkaline_phosphatase", "U/L"),
    "ast": MarkerColumn("SGOT", "ast", "U/mL"),
    "platelets": MarkerColumn("platelets", "platelets", "10^9/L"),
    "ascites": MarkerColumn("ascites", "ascites", "1", codes=_YES_NO),
    "hepatomegaly": MarkerColumn("hepatomegaly", "hepatomegaly", "1", codes=_YES_NO),
    "spiders": MarkerColumn("spiders", "spiders", "1", codes=_YES_NO),
    # Coded as in R survival::pbc: 0 no oedema, 0.5 oedema without diuretics
    # or resolved by them, 1 oedema despite diuretics.
    "edema": MarkerColumn(
        "edema", "edema", "1",
        codes=MappingProxyType({
            "No edema": 0.0, "edema no diuretics": 0.5, "edema despite diuretics": 1.0,
        }),
    ),
})
"""Every marker the pbc2 table can provide, by marker code."""

DEFAULT_PBC2_MARKERS: tuple[str, ...] = ("bilirubin", "albumin", "prothrombin", "total_c")
"""Markers imported unless the caller asks for others."""

PBC2_DRUGS: Mapping[str, str] = MappingProxyType({
    "D-penicil": "d_penicillamine",
    "placebo": "placebo",
})
"""Trial arm label in the source -> drug name in the cohort."""

PBC2_EVENTS: Mapping[str, str | None] = MappingProxyType({
    "alive": None,
    "dead": "death",
    "transplanted": "transplant",
})
"""Status at the end of follow-up -> event code (None: censored)."""

_SEXES = MappingProxyType({"female": "F", "male": "M"})
_DRUG_CLASSES = MappingProxyType({"d_penicillamine": "trial_arm", "placebo": "placebo"})
_PATIENT_SOURCE_COLUMNS = ("id", "years", "status", "drug", "age", "sex", "histologic")
_VISIT_SOURCE_COLUMNS = ("id", "years", "status", "drug", "age", "sex", "year")


def pbc_cohort(
    pbc2: TableSource,
    pbc2_id: TableSource | None = None,
    *,
    markers: Sequence[str] = DEFAULT_PBC2_MARKERS,
) -> Cohort:
    r"""Build a cohort from the Mayo PBC trial tables ``pbc2`` and ``pbc2_id``.

    Parameters
    ----------
    pbc2
        Per-visit table (1,945 rows in the JM release): a CSV path or a
        DataFrame with the JM column names (``id``, ``years``, ``status``,
        ``drug``, ``age``, ``sex``, ``year`` and the marker columns).
    pbc2_id
        Per-patient table (312 rows). When None, the per-patient columns are
        taken from the first visit of each patient in ``pbc2``.
    markers
        Marker codes to import, keys of `PBC2_MARKER_COLUMNS`. The default
        imports serum bilirubin (mg/dL), albumin (g/dL), prothrombin time (s)
        and total cholesterol (converted from mg/dL to mmol/L with 38.67).

    Returns
    -------
    Cohort
        Canonical tables on the trial time scale (years since registration):

        - ``patients``: ``sex``, ``age_at_entry`` (years), ``entry_date``
          (NaT), ``end_time`` = ``years``; ``prior_ascvd``, ``diabetes``,
          ``hypertension`` and ``smoking`` are missing because the trial did
          not record them. Extra columns: ``trial_arm``,
          ``histologic_stage`` (1-4) and ``status`` (the source label).
        - ``measurements``: one row per visit and imported marker with a value.
        - ``treatments``: one row per patient for the trial arm
          (``d_penicillamine`` or ``placebo``), start 0, stop NaN (assigned
          for the whole follow-up), dose NaN.
        - ``events``: ``death`` or ``transplant`` at ``end_time``; no row for
          patients alive at the end of follow-up.
        - ``drugs`` and ``markers``: the arms and the markers outside the
          built-in vocabulary.
        - ``manifest``: visits and values left out, with the reason.

    Raises
    ------
    CohortError
        If a required column is missing, a sex, arm or status label is unknown,
        a patient has no positive follow-up, or the two tables disagree about
        a patient.
    ValueError
        If ``markers`` names a marker that pbc2 does not provide.

    Notes
    -----
    ``status2`` (death versus alive or transplanted) is ignored: transplant is
    kept as its own event so that a model file can treat it as competing or
    as part of the endpoint. A missing value (for example serum cholesterol,
    not measured at most follow-up visits) gives no measurement row and no
    manifest entry, because nothing was measured.

    """
    specs = _marker_specs(markers)

    # Read both tables and keep the source line of every row for the manifest.
    visits, visit_file = read_table(pbc2, name="pbc2")
    _require_columns(visits, _VISIT_SOURCE_COLUMNS + tuple(s.column for s in specs), visit_file)
    if pbc2_id is None:
        per_patient, patient_file = visits.drop_duplicates("id", keep="first"), visit_file
    else:
        per_patient, patient_file = read_table(pbc2_id, name="pbc2_id")
    _require_columns(per_patient, _PATIENT_SOURCE_COLUMNS, patient_file)

    # Patients, checked against the per-visit copy of the same columns.
    patients = _patients(per_patient, patient_file)
    _check_visits_agree(visits, patients, visit_file)

    # Visits of unknown patients or outside follow-up go to the manifest whole.
    visits = visits.assign(patient_id=visits["id"].astype(str))
    visits["time"] = pd.to_numeric(visits["year"], errors="coerce")
    visits_in_follow_up, dropped = _split_visits(visits, patients, visit_file)

    # Measurements: one row per visit and marker, invalid values to the manifest.
    measurements, dropped_values = melt_marker_columns(
        visits_in_follow_up, columns=specs, file=visit_file
    )

    # Treatments, events and the declared drugs and markers.
    treatments = pd.DataFrame({
        "patient_id": patients.index.to_numpy(),
        "drug": patients["trial_arm"].to_numpy(),
        "dose_mg": np.nan,
        "start": 0.0,
        "stop": np.nan,
    })
    event_codes = patients["status"].map(PBC2_EVENTS)
    with_event = patients[event_codes.notna()]
    events = pd.DataFrame({
        "patient_id": with_event.index.to_numpy(dtype=object),
        "time": with_event["end_time"].to_numpy(dtype=float),
        "event": event_codes[with_event.index].to_numpy(dtype=object),
    })
    used_arms = sorted(set(treatments["drug"]))
    drugs = pd.DataFrame({"drug": used_arms, "class": [_DRUG_CLASSES[d] for d in used_arms]})
    declared = [s for s in specs if s.marker not in MARKERS]
    marker_table = pd.DataFrame({
        "marker": [s.marker for s in declared], "unit": [s.unit for s in declared],
    })

    return Cohort(
        patients=patients,
        measurements=measurements,
        treatments=treatments,
        events=events,
        drugs=drugs,
        markers=marker_table,
        manifest=concat_manifests([dropped, dropped_values]),
        source=f"Mayo Clinic PBC trial ({visit_file})",
    )


def melt_marker_columns(
    table: pd.DataFrame, *, columns: Sequence[MarkerColumn], file: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn marker columns of a per-visit table into long ``measurements`` rows.

    Parameters
    ----------
    table
        One row per visit with the columns ``patient_id`` (str), ``time``
        (years since entry), ``line`` (1-based line in the source file, header
        = line 1) and every ``MarkerColumn.column`` named in ``columns``.
    columns
        The source columns to read, in the order the markers should appear.
    file
        Source file label written to the manifest.

    Returns
    -------
    measurements : DataFrame
        ``patient_id``, ``time``, ``marker``, ``value``, ``unit``, in source
        row order and then in the order of ``columns``. Missing values give no
        row.
    manifest : DataFrame
        One row per value left out: not a number or not finite, an unknown
        text code, or (for a built-in marker) a converted value outside the
        marker's plausible range in `bayestwin.data.vocabulary.MARKERS`.

    Raises
    ------
    ValueError
        If a built-in marker is given in a unit other than its canonical unit.

    """
    measurement_parts: list[pd.DataFrame] = []
    manifest_parts: list[pd.DataFrame] = []
    for order, spec in enumerate(columns):
        raw = table[spec.column]
        present = raw.notna()

        # Convert to numbers and mark what cannot be converted.
        if spec.codes is not None:
            numbers = raw.map(spec.codes).astype(float)
            invalid = present & numbers.isna()
            invalid_reason = (
                f"unknown code for marker {spec.marker}; expected one of "
                + ", ".join(repr(code) for code in spec.codes)
            )
        else:
            numbers = pd.to_numeric(raw, errors="coerce").astype(float)
            invalid = present & ~np.isfinite(numbers)
            invalid_reason = f"value of marker {spec.marker} is not a finite number"
        values = numbers * spec.factor

        # Values outside the plausible range of a built-in marker.
        implausible = pd.Series(False, index=table.index)
        plausible_reason = ""
        if spec.marker in MARKERS:
            low, high = _plausible_range(spec)
            implausible = present & ~invalid & ((values < low) | (values > high))
            source_unit = spec.source_unit or spec.unit
            plausible_reason = (
                f"{spec.marker} outside the plausible range {low:g}-{high:g} {spec.unit}"
                f" after conversion from {source_unit}; kept out of the cohort"
            )

        keep = present & ~invalid & ~implausible
        measurement_parts.append(pd.DataFrame({
            "patient_id": table.loc[keep, "patient_id"].to_numpy(dtype=object),
            "time": table.loc[keep, "time"].to_numpy(dtype=float),
            "marker": spec.marker,
            "value": values[keep].to_numpy(dtype=float),
            "unit": spec.unit,
            "_line": table.loc[keep, "line"].to_numpy(),
            "_order": order,
        }))
        for mask, reason in ((invalid, invalid_reason), (implausible, plausible_reason)):
            if mask.any():
                manifest_parts.append(manifest_rows(
                    table.loc[mask], file=file, column=spec.column,
                    values=raw[mask], reason=reason,
                ))

    measurements = (
        pd.concat(measurement_parts, ignore_index=True)
        .sort_values(["_line", "_order"], kind="stable")
        .drop(columns=["_line", "_order"])
        .reset_index(drop=True)
    )
    return measurements, concat_manifests(manifest_parts)


# Reading and checking -------------------------------------------------------


def read_table(source: TableSource, *, name: str) -> tuple[pd.DataFrame, str]:
    """Load a source table and number its rows as lines of the source file.

    Returns the table with an added ``line`` column (1-based line in the CSV
    file, header = line 1; for a DataFrame, the line it would have as CSV) and
    the label used in messages and the manifest: the file name, or
    ``"<name> (DataFrame)"``.
    """
    if isinstance(source, pd.DataFrame):
        table, label = source.copy(), f"{name} (DataFrame)"
    elif isinstance(source, str | Path):
        path = Path(source)
        table, label = pd.read_csv(path), path.name
    else:
        raise TypeError(
            f"{name} must be a CSV path or a pandas DataFrame; got {type(source).__name__}."
        )
    table = table.reset_index(drop=True)
    table["line"] = np.arange(2, len(table) + 2)
    return table, label


def _require_columns(table: pd.DataFrame, required: Sequence[str], file: str) -> None:
    missing = [column for column in dict.fromkeys(required) if column not in table.columns]
    if missing:
        raise CohortError([
            f"{file}: missing column {column!r}; expected the JM pbc2 column names"
            for column in missing
        ])


def _marker_specs(markers: Sequence[str]) -> list[MarkerColumn]:
    if isinstance(markers, str):
        raise TypeError(f"markers must be a sequence of marker codes; got the string {markers!r}.")
    unknown = [code for code in markers if code not in PBC2_MARKER_COLUMNS]
    if unknown:
        raise ValueError(
            f"markers contains {unknown!r}, which pbc2 does not provide; expected codes from "
            + ", ".join(sorted(PBC2_MARKER_COLUMNS))
        )
    return [PBC2_MARKER_COLUMNS[code] for code in dict.fromkeys(markers)]


def _plausible_range(spec: MarkerColumn) -> tuple[float, float]:
    info = MARKERS[spec.marker]
    canonical_unit = info.units.get(spec.unit, (None, None))[0]
    if canonical_unit != spec.unit or spec.unit not in info.plausible:
        raise ValueError(
            f"MarkerColumn for {spec.column!r} gives built-in marker {spec.marker} in "
            f"{spec.unit!r}; expected its canonical unit {next(iter(info.plausible))!r} "
            "with a conversion factor."
        )
    return info.plausible[spec.unit]


def _unknown_label_problems(
    table: pd.DataFrame, column: str, allowed: Mapping[str, object], file: str
) -> list[str]:
    unknown = ~table[column].isin(list(allowed))
    return [
        f"{file}, row {row.line}, column {column!r}: value {row.value!r} is not recognised; "
        f"expected one of {', '.join(repr(label) for label in allowed)}"
        for row in pd.DataFrame({"line": table["line"], "value": table[column]})[unknown]
        .itertuples()
    ]


def _patients(per_patient: pd.DataFrame, file: str) -> pd.DataFrame:
    """Build the canonical ``patients`` table from the per-patient rows."""
    problems = []
    problems += _unknown_label_problems(per_patient, "sex", _SEXES, file)
    problems += _unknown_label_problems(per_patient, "drug", PBC2_DRUGS, file)
    problems += _unknown_label_problems(per_patient, "status", PBC2_EVENTS, file)
    duplicated = per_patient["id"].duplicated(keep=False)
    problems += [
        f"{file}, row {line}, column 'id': patient {patient} appears more than once; "
        "expected one row per patient"
        for line, patient in zip(per_patient.loc[duplicated, "line"],
                                 per_patient.loc[duplicated, "id"], strict=True)
    ]
    end_time = pd.to_numeric(per_patient["years"], errors="coerce")
    bad_end = ~(end_time > 0)
    problems += [
        f"{file}, row {line}, column 'years': value {value!r} is invalid; expected the "
        "positive follow-up time in years"
        for line, value in zip(per_patient.loc[bad_end, "line"],
                               per_patient.loc[bad_end, "years"], strict=True)
    ]
    if problems:
        raise CohortError(problems)

    patient_ids = pd.Index(per_patient["id"].astype(str), name="patient_id")
    missing_flag = pd.array([pd.NA] * len(per_patient), dtype="boolean")
    return pd.DataFrame(
        {
            "sex": per_patient["sex"].map(_SEXES).to_numpy(dtype=object),
            "age_at_entry": pd.to_numeric(per_patient["age"], errors="coerce").to_numpy(),
            "entry_date": np.full(len(per_patient), np.datetime64("NaT"), dtype="datetime64[ns]"),
            "end_time": end_time.to_numpy(dtype=float),
            "prior_ascvd": missing_flag,
            "smoking": np.full(len(per_patient), None, dtype=object),
            "diabetes": missing_flag.copy(),
            "hypertension": missing_flag.copy(),
            "trial_arm": per_patient["drug"].map(PBC2_DRUGS).to_numpy(dtype=object),
            "histologic_stage": pd.array(per_patient["histologic"], dtype="Int64"),
            "status": per_patient["status"].to_numpy(dtype=object),
        },
        index=patient_ids,
    )


def _check_visits_agree(visits: pd.DataFrame, patients: pd.DataFrame, file: str) -> None:
    """Raise CohortError where a visit row contradicts its patient's per-patient row."""
    known = visits["id"].astype(str).isin(patients.index)
    rows = visits[known]
    expected = patients.loc[rows["id"].astype(str)]
    comparisons = {
        "years": np.isclose(pd.to_numeric(rows["years"], errors="coerce"),
                            expected["end_time"], rtol=0, atol=1e-9),
        "age": np.isclose(pd.to_numeric(rows["age"], errors="coerce"),
                          expected["age_at_entry"], rtol=0, atol=1e-9),
        "sex": rows["sex"].map(_SEXES).to_numpy() == expected["sex"].to_numpy(),
        "drug": rows["drug"].map(PBC2_DRUGS).to_numpy() == expected["trial_arm"].to_numpy(),
        "status": rows["status"].to_numpy() == expected["status"].to_numpy(),
    }
    problems = []
    for column, agrees in comparisons.items():
        for line, patient, value in zip(rows.loc[~agrees, "line"], rows.loc[~agrees, "id"],
                                        rows.loc[~agrees, column], strict=True):
            problems.append(
                f"{file}, row {line}, column {column!r}: value {value!r} differs from the "
                f"per-patient table for patient {patient}; fix whichever table is wrong"
            )
    if problems:
        raise CohortError(problems)


def _split_visits(
    visits: pd.DataFrame, patients: pd.DataFrame, file: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep visits of known patients inside follow-up; list the others in a manifest."""
    unknown = ~visits["patient_id"].isin(patients.index)
    end_time = visits["patient_id"].map(patients["end_time"])
    outside = ~unknown & ~((visits["time"] >= 0) & (visits["time"] <= end_time))
    manifest = concat_manifests([
        manifest_rows(visits[unknown], file=file, column="id", values=visits.loc[unknown, "id"],
                       reason="patient id not found in the per-patient table"),
        manifest_rows(visits[outside], file=file, column="year",
                       values=visits.loc[outside, "year"],
                       reason="visit time missing, negative or after the end of follow-up"),
    ])
    return visits[~unknown & ~outside], manifest


def manifest_rows(
    rows: pd.DataFrame, *, file: str, column: str, values: pd.Series, reason: str
) -> pd.DataFrame:
    """Build manifest rows for source rows or values left out of a cohort.

    ``rows`` must have the ``line`` and ``patient_id`` columns; ``values`` are
    the offending source values, aligned with ``rows`` and written as text.
    """
    return pd.DataFrame({
        "file": file,
        "row": rows["line"].to_numpy(dtype=object),
        "patient_id": rows["patient_id"].to_numpy(dtype=object),
        "column": column,
        "value": values.astype(str).to_numpy(dtype=object),
        "reason": reason,
    }, columns=list(MANIFEST_COLUMNS))


def concat_manifests(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Stack manifest tables, skipping empty ones; return an empty manifest if all are."""
    filled = [part for part in parts if len(part)]
    if not filled:
        return empty_manifest()
    return pd.concat(filled, ignore_index=True)
