"""The in-memory cohort: validated tables in canonical units and times.

A `Cohort` is what the reader returns and what the simulator, model, twins and
reports consume. Its tables are pandas DataFrames whose columns are fixed here,
so that no later stage re-parses units, dates or names.

Canonical form
--------------
Times are float years since the patient's entry (entry = 0). Values are in
the canonical unit of their marker (see `bayestwin.data.vocabulary.MARKERS`).

``patients`` (index ``patient_id``, str)
    ``sex`` ("F"/"M"), ``age_at_entry`` (years), ``entry_date`` (datetime64,
    NaT when the source used numeric times), ``end_time`` (years since entry,
    end of follow-up), ``prior_ascvd``, ``diabetes``, ``hypertension`` (bool),
    ``smoking`` ("current"/"former"/"never"), and when present ``centre``,
    ``family_id``, ``race``, ``risk_region`` (str, may be missing), plus any
    extra columns the source had.
``measurements``
    ``patient_id``, ``time``, ``marker``, ``value``, ``unit`` (canonical).
``treatments``
    ``patient_id``, ``drug``, ``dose_mg`` (float, NaN where a dose does not
    apply), ``start``, ``stop`` (years; ``stop`` is NaN while ongoing), and
    ``adherence`` (fraction of doses taken, NaN when unknown) when present.
``events``
    ``patient_id``, ``time``, ``event``.
``drugs``
    ``drug``, ``class``: drugs declared by the cohort, outside the catalogue.
``markers``
    ``marker``, ``unit``: markers declared by the cohort, outside the vocabulary.
``genomics`` (optional, index ``patient_id``)
    ``variant_class``, ``prs`` (z-score, NaN when unknown), other columns kept.
``microbiome`` (optional)
    ``patient_id``, ``time``, ``taxon``, ``count`` (int).
``diet`` (optional)
    ``patient_id``, ``time``, then one float column per nutrient or score.
``manifest``
    One row per excluded source row: ``file``, ``row`` (1-based line number in
    the file, header = line 1), ``patient_id``, ``column``, ``value``,
    ``reason``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

PATIENT_COLUMNS = ("sex", "age_at_entry", "entry_date", "end_time", "prior_ascvd",
                   "smoking", "diabetes", "hypertension")
MEASUREMENT_COLUMNS = ("patient_id", "time", "marker", "value", "unit")
TREATMENT_COLUMNS = ("patient_id", "drug", "dose_mg", "start", "stop")
EVENT_COLUMNS = ("patient_id", "time", "event")
MICROBIOME_COLUMNS = ("patient_id", "time", "taxon", "count")
MANIFEST_COLUMNS = ("file", "row", "patient_id", "column", "value", "reason")


def empty_manifest() -> pd.DataFrame:
    """Return an empty exclusion manifest with its columns."""
    return pd.DataFrame({name: pd.Series(dtype="object") for name in MANIFEST_COLUMNS})


@dataclass
class Cohort:
    """A validated cohort in canonical units; see the module docstring for columns."""

    patients: pd.DataFrame
    measurements: pd.DataFrame
    treatments: pd.DataFrame
    events: pd.DataFrame
    drugs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["drug", "class"]))
    markers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["marker", "unit"]))
    genomics: pd.DataFrame | None = None
    microbiome: pd.DataFrame | None = None
    diet: pd.DataFrame | None = None
    manifest: pd.DataFrame = field(default_factory=empty_manifest)
    source: str | None = None

    @property
    def patient_ids(self) -> pd.Index:
        """Patient identifiers in cohort order."""
        return self.patients.index

    @property
    def n_patients(self) -> int:
        """Number of patients."""
        return len(self.patients)

    def person_years(self) -> float:
        """Total follow-up in years."""
        return float(self.patients["end_time"].sum())
