"""Summaries of a cohort and the exclusion manifest file.

The summary counts patients, follow-up, measurements, treatment periods,
events and excluded rows. It carries no patient ids, so it can be shared.
"""

from __future__ import annotations

import logging
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from bayestwin.data.cohort import Cohort

logger = logging.getLogger(__name__)

MANIFEST_FILE = "exclusions.csv"


def cohort_summary(cohort: Cohort) -> dict[str, Any]:
    """Count what a cohort contains.

    Returns
    -------
    dict
        ``patients`` (int), ``person_years`` (float), ``measurements``
        (marker -> ``count``, ``patients`` with at least one, canonical
        ``unit``), ``treatments`` (drug -> ``periods``, ``patients``),
        ``events`` (code -> ``count``, ``patients``), ``excluded`` (reason ->
        rows), and when present ``genomics`` (variant class -> patients) and
        ``microbiome`` (``samples``, ``taxa``, ``patients``).

    """
    summary: dict[str, Any] = {
        "patients": cohort.n_patients,
        "person_years": cohort.person_years(),
        "measurements": _counts(cohort.measurements, "marker", "count", unit=True),
        "treatments": _counts(cohort.treatments, "drug", "periods"),
        "events": _counts(cohort.events, "event", "count"),
        "excluded": {
            str(reason): int(count)
            for reason, count in cohort.manifest["reason"].value_counts(sort=True).items()
        },
    }
    if cohort.genomics is not None:
        summary["genomics"] = {
            str(name): int(count)
            for name, count in cohort.genomics["variant_class"].value_counts().items()
        }
    if cohort.microbiome is not None:
        microbiome = cohort.microbiome
        summary["microbiome"] = {
            "samples": int(len(microbiome[["patient_id", "time"]].drop_duplicates())),
            "taxa": int(microbiome["taxon"].nunique()),
            "patients": int(microbiome["patient_id"].nunique()),
        }
    return summary


def _counts(frame: pd.DataFrame, key: str, label: str, *, unit: bool = False) -> dict:
    if frame.empty:
        return {}
    grouped = frame.groupby(key, sort=True)
    table = pd.DataFrame({label: grouped.size(), "patients": grouped["patient_id"].nunique()})
    if unit:
        table["unit"] = grouped["unit"].first()
    return {
        str(name): {column: _plain(value) for column, value in row.items()}
        for name, row in table.iterrows()
    }


def _plain(value: object) -> object:
    return value.item() if hasattr(value, "item") else value


def format_summary(cohort: Cohort) -> str:
    """Return the cohort summary as plain text for a terminal or a log."""
    summary = cohort_summary(cohort)
    lines = [
        f"Cohort: {summary['patients']:,} patients, "
        f"{summary['person_years']:,.1f} person-years of follow-up",
        "",
        "Measurements (rows, patients with at least one):",
    ]
    lines += [
        f"  {name:<16} {entry['count']:>10,}  {entry['patients']:>8,} patients  ({entry['unit']})"
        for name, entry in summary["measurements"].items()
    ] or ["  none"]
    lines += ["", "Treatment periods (periods, patients):"]
    lines += [
        f"  {name:<16} {entry['periods']:>10,}  {entry['patients']:>8,} patients"
        for name, entry in summary["treatments"].items()
    ] or ["  none"]
    lines += ["", "Events (events, patients):"]
    lines += [
        f"  {name:<16} {entry['count']:>10,}  {entry['patients']:>8,} patients"
        for name, entry in summary["events"].items()
    ] or ["  none"]
    if "genomics" in summary:
        lines += ["", "Variant classes (patients):"]
        lines += [f"  {name:<16} {count:>10,}" for name, count in summary["genomics"].items()]
    if "microbiome" in summary:
        entry = summary["microbiome"]
        lines += ["", f"Microbiome: {entry['samples']:,} samples of {entry['patients']:,} "
                      f"patients, {entry['taxa']:,} taxa"]
    excluded = summary["excluded"]
    total = sum(excluded.values())
    lines += ["", f"Excluded rows: {total:,}"]
    lines += [f"  {count:>10,}  {reason}" for reason, count in excluded.items()]
    return "\n".join(lines)


def write_manifest(cohort: Cohort, folder: str | PathLike[str]) -> Path | None:
    """Write the exclusion manifest as ``exclusions.csv`` in `folder`.

    Parameters
    ----------
    cohort
        The cohort whose ``manifest`` to write.
    folder
        Destination folder, created when missing. The reader ignores this
        file, so the cohort folder itself is a valid destination.

    Returns
    -------
    pathlib.Path or None
        The written file, or None when no row was excluded. In that case
        nothing is written, and an ``exclusions.csv`` left by an earlier run
        stays as it was.

    """
    if cohort.manifest.empty:
        return None
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    path = target / MANIFEST_FILE
    cohort.manifest.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    logger.info("wrote %d excluded rows to %s", len(cohort.manifest), path)
    return path
