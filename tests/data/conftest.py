"""Shared fixtures: a tiny valid cohort, written into tmp_path table by table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest


def base_tables() -> dict[str, pd.DataFrame]:
    """Return a valid three-patient cohort; line numbers in files are index + 2."""
    return {
        "patients": pd.DataFrame({
            "patient_id": ["P1", "P2", "P3"],
            "sex": ["F", "M", "F"],
            "age_at_entry": [45.5, 52.0, 38.0],
            "entry_date": ["2015-01-10", "2016-03-01", "2017-06-15"],
            "end_date": ["2022-06-30", "2021-01-01", "2023-01-01"],
            "prior_ascvd": [0, 1, 0],
            "smoking": ["never", "current", "former"],
            "diabetes": ["no", "yes", "no"],
            "hypertension": [0, 1, 0],
        }),
        "measurements": pd.DataFrame({
            "patient_id": ["P1", "P1", "P2", "P3"],
            "date": ["2015-01-10", "2016-01-10", "2016-03-01", "2017-06-15"],
            "marker": ["ldl_c", "ldl_c", "ldl_c", "hdl_c"],
            "value": [5.2, 3.1, 4.4, 1.3],
            "unit": ["mmol/L", "mmol/L", "mmol/L", "mmol/L"],
        }),
        "treatments": pd.DataFrame({
            "patient_id": ["P1", "P2"],
            "drug": ["atorvastatin", "rosuvastatin"],
            "dose_mg": [40.0, 20.0],
            "start": ["2015-02-01", "2014-03-01"],
            "stop": ["", "2019-03-01"],
        }),
        "events": pd.DataFrame({
            "patient_id": ["P2"],
            "date": ["2019-05-02"],
            "event": ["mi"],
        }),
    }


TableSource = pd.DataFrame | str | bytes | None


def write_tables(folder: Path, tables: dict[str, TableSource]) -> Path:
    """Write each table as NAME.csv: a DataFrame with pandas, text or bytes as given."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        path = folder / f"{name}.csv"
        if table is None:
            continue
        if isinstance(table, pd.DataFrame):
            table.to_csv(path, index=False)
        elif isinstance(table, bytes):
            path.write_bytes(table)
        else:
            path.write_text(table, encoding="utf-8")
    return folder


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    """Fresh copies of the base tables, to edit in a test."""
    return base_tables()


@pytest.fixture
def make_cohort(tmp_path: Path) -> Callable[..., Path]:
    """Write the base cohort with some tables replaced; return the folder.

    ``make_cohort(events=None)`` leaves events out; ``make_cohort(events="...")``
    writes that text as events.csv.
    """
    def make(folder: str = "cohort", **overrides: TableSource) -> Path:
        tables: dict[str, TableSource] = dict(base_tables())
        tables.update(overrides)
        return write_tables(tmp_path / folder, tables)

    return make
