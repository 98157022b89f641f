"""Write a `Cohort` back to a folder of canonical tables.

The written tables are what `read_cohort` reads back unchanged: times as
numeric years since entry, values in canonical units, ``entry_date`` kept in
the patients table when the source gave it. CSV floats are written with the
shortest text that parses back to the same double (Python's float repr), so
read -> write -> read gives identical DataFrames. The exclusion manifest is
not a table of the cohort; `write_manifest` writes it.
"""

from __future__ import annotations

import logging
from os import PathLike
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from bayestwin.data.cohort import Cohort
from bayestwin.data.tables import SUFFIXES, TABLE_NAMES

logger = logging.getLogger(__name__)

TableFormat = Literal["csv", "parquet"]


def write_cohort(
    cohort: Cohort,
    folder: str | PathLike[str],
    *,
    format: TableFormat = "csv",
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write the tables of `cohort` into `folder`.

    Parameters
    ----------
    cohort
        The cohort to write.
    folder
        Destination folder, created when missing.
    format
        ``"csv"`` (UTF-8, comma-separated, ISO dates) or ``"parquet"``.
    overwrite
        Whether to replace cohort tables already in `folder`. Replacing
        removes the tables of both formats, so that no folder ends with both
        ``patients.csv`` and ``patients.parquet``.

    Returns
    -------
    dict
        Table name -> written file. Optional tables that are empty or absent
        (``drugs``, ``markers``, ``genomics``, ``microbiome``, ``diet``) are
        not written.

    Raises
    ------
    ValueError
        When `format` is neither ``"csv"`` nor ``"parquet"``.
    FileExistsError
        When `folder` already contains cohort tables and `overwrite` is False.

    """
    if format not in ("csv", "parquet"):
        raise ValueError(f"format must be 'csv' or 'parquet', got {format!r}")
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    existing = [
        path for path in target.iterdir()
        if path.stem.lower() in TABLE_NAMES and path.suffix.lower() in SUFFIXES
    ]
    if existing and not overwrite:
        names = ", ".join(sorted(path.name for path in existing))
        raise FileExistsError(
            f"{target} already contains cohort tables ({names}); pass overwrite=True to "
            "replace them, or choose an empty folder"
        )
    for path in existing:
        path.unlink()

    written = {}
    for name, frame in _canonical_tables(cohort).items():
        path = target / f"{name}.{format}"
        if format == "csv":
            _to_csv(frame, path)
        else:
            frame.to_parquet(path, index=False)
        written[name] = path
    logger.info("wrote %d tables to %s", len(written), target)
    return written


def _canonical_tables(cohort: Cohort) -> dict[str, pd.DataFrame]:
    patients = cohort.patients.reset_index()
    if patients["entry_date"].isna().all():
        patients = patients.drop(columns="entry_date")
    tables = {
        "patients": patients,
        "measurements": cohort.measurements,
        "treatments": cohort.treatments,
        "events": cohort.events,
    }
    if not cohort.drugs.empty:
        tables["drugs"] = cohort.drugs
    if not cohort.markers.empty:
        tables["markers"] = cohort.markers
    if cohort.genomics is not None:
        tables["genomics"] = cohort.genomics.reset_index()
    if cohort.microbiome is not None:
        tables["microbiome"] = cohort.microbiome
    if cohort.diet is not None:
        tables["diet"] = cohort.diet
    return tables


def _to_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write CSV with ISO dates and round-trip float text."""
    text = {}
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            text[column] = series.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_float_dtype(series.dtype):
            text[column] = _float_text(series.to_numpy())
        else:
            text[column] = series
    pd.DataFrame(text).to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def _float_text(values: np.ndarray) -> np.ndarray:
    """Return repr of each float (shortest exact form), empty where NaN."""
    out = np.array([repr(value) for value in values.tolist()], dtype=object)
    out[np.isnan(values)] = ""
    return out
