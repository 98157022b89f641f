"""Convert a `Cohort` to xarray arrays with named coordinates for the model.

`to_dataset` pads each patient's measurement occasions into a ``visit``
dimension, which suits per-patient likelihoods and sharding by patient.
`to_long_dataset` keeps one entry per measurement along ``obs``, which uses
no padding when patients have very different numbers of visits.

Both build their arrays with NumPy indexing and sorting, never a loop over
patients.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from bayestwin.data.cohort import Cohort
from bayestwin.data.vocabulary import MARKERS, SEXES, SMOKING, VARIANT_CLASSES

TIME_UNITS = "years since entry"


def to_dataset(cohort: Cohort) -> xr.Dataset:
    """Return the cohort as arrays with dims ``patient``, ``visit`` and ``marker``.

    A visit is one measurement occasion of a patient (one distinct time),
    numbered from 0 in time order and padded to the largest count.

    Parameters
    ----------
    cohort
        A validated cohort.

    Returns
    -------
    xarray.Dataset
        ``value`` (patient, visit, marker)
            Canonical value, NaN where not measured. Several rows with the
            same patient, time and marker are averaged (the reader warns).
        ``time`` (patient, visit)
            Years since entry, NaN for padding.
        ``n_visits`` (patient)
            Number of occasions of each patient.
        ``sex``, ``smoking`` (patient)
            Integer codes; the ``categories`` attribute lists the category of
            each code.
        ``age_at_entry``, ``end_time`` (patient)
            Years.
        ``prior_ascvd``, ``diabetes``, ``hypertension`` (patient)
            Booleans.
        ``centre``, ``family_id`` (patient)
            Codes (-1 where missing), when the patients table has them.
        ``variant_class``, ``prs`` (patient)
            When the cohort has genomics: codes into the variant classes
            (``not_tested`` for patients without a row) and z-scores (NaN).
        ``count`` (patient, sample, taxon), ``sample_time`` (patient, sample),
        ``n_samples`` (patient)
            When the cohort has microbiome data; counts of taxa absent from a
            sample and of padding samples are 0.

        Coordinates: ``patient`` (ids), ``visit``, ``marker`` with its
        canonical ``unit``, and ``sample`` and ``taxon`` with microbiome data.

    Notes
    -----
    The ``value`` array has patients x max visits x markers floats. A
    cohort where a few patients have hundreds of occasions makes it large;
    `to_long_dataset` avoids the padding.

    """
    patients = cohort.patients
    ids = patients.index
    measurements = cohort.measurements
    markers, units = _marker_order(cohort)
    position = ids.get_indexer(measurements["patient_id"])
    marker_code = pd.Index(markers).get_indexer(measurements["marker"])
    visit, occasion_time, n_visits = _occasions(
        position, measurements["time"].to_numpy(dtype=float), len(ids)
    )
    n_visit_slots = int(n_visits.max()) if n_visits.size and measurements.size else 0

    # Average repeated measurements of one occasion and marker.
    shape = (len(ids), n_visit_slots, len(markers))
    cell = np.ravel_multi_index((position, visit, marker_code), shape)
    size = int(np.prod(shape))
    sums = np.bincount(cell, weights=measurements["value"].to_numpy(dtype=float), minlength=size)
    counts = np.bincount(cell, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan).reshape(shape)

    dataset = xr.Dataset(
        {
            "value": (("patient", "visit", "marker"), value,
                      {"long_name": "measured value in the marker's canonical unit"}),
            "time": (("patient", "visit"), occasion_time, {"units": TIME_UNITS}),
            "n_visits": ("patient", n_visits),
        },
        coords={
            "patient": ("patient", ids.to_numpy(dtype=object)),
            "visit": ("visit", np.arange(n_visit_slots)),
            "marker": ("marker", np.asarray(markers, dtype=object)),
            "unit": ("marker", np.asarray(units, dtype=object)),
        },
        attrs={"time_units": TIME_UNITS},
    )
    dataset = dataset.assign(_patient_covariates(cohort))
    if cohort.microbiome is not None:
        dataset = dataset.merge(_microbiome(cohort))
    return dataset


def to_long_dataset(cohort: Cohort) -> xr.Dataset:
    """Return the measurements in long format, one entry per row along ``obs``.

    Returns
    -------
    xarray.Dataset
        ``patient_index`` and ``marker_index`` (obs) index the ``patient``
        and ``marker`` coordinates; ``time`` (obs) is in years since entry and
        ``value`` (obs) in the marker's canonical unit. Entries are sorted by
        patient, then time.

    """
    ids = cohort.patients.index
    measurements = cohort.measurements
    markers, units = _marker_order(cohort)
    position = ids.get_indexer(measurements["patient_id"])
    times = measurements["time"].to_numpy(dtype=float)
    order = np.lexsort((times, position))
    marker_code = pd.Index(markers).get_indexer(measurements["marker"])
    return xr.Dataset(
        {
            "patient_index": ("obs", position[order].astype(np.int64)),
            "marker_index": ("obs", marker_code[order].astype(np.int64)),
            "time": ("obs", times[order], {"units": TIME_UNITS}),
            "value": ("obs", measurements["value"].to_numpy(dtype=float)[order]),
        },
        coords={
            "patient": ("patient", ids.to_numpy(dtype=object)),
            "marker": ("marker", np.asarray(markers, dtype=object)),
            "unit": ("marker", np.asarray(units, dtype=object)),
        },
        attrs={"time_units": TIME_UNITS},
    )


def _marker_order(cohort: Cohort) -> tuple[list[str], list[str]]:
    """Return the markers present (built-in order, then declared order) and their units."""
    measurements = cohort.measurements
    unit_of = (
        measurements.drop_duplicates("marker").set_index("marker")["unit"].to_dict()
        if len(measurements) else {}
    )
    declared = cohort.markers["marker"].tolist() if len(cohort.markers) else []
    ordered = [name for name in (*MARKERS, *declared) if name in unit_of]
    ordered += sorted(name for name in unit_of if name not in ordered)
    return ordered, [unit_of[name] for name in ordered]


def _occasions(
    position: np.ndarray, times: np.ndarray, n_patients: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Assign occasion numbers, from 0 in time order, to the distinct times of each patient.

    Returns the occasion number of each row, the time of each (patient,
    occasion) padded with NaN, and the occasion count of each patient.
    """
    order = np.lexsort((times, position))
    sorted_position, sorted_time = position[order], times[order]
    new_occasion = np.ones(len(order), dtype=bool)
    new_occasion[1:] = (sorted_position[1:] != sorted_position[:-1]) | (
        sorted_time[1:] != sorted_time[:-1]
    )
    occasion = np.cumsum(new_occasion) - 1
    new_patient = np.ones(len(order), dtype=bool)
    new_patient[1:] = sorted_position[1:] != sorted_position[:-1]
    # occasion never decreases, so the running maximum is the patient's first occasion.
    first_occasion = np.maximum.accumulate(np.where(new_patient, occasion, 0))
    sorted_visit = occasion - first_occasion

    visit = np.empty(len(order), dtype=np.int64)
    visit[order] = sorted_visit
    n_visits = np.bincount(sorted_position[new_occasion], minlength=n_patients).astype(np.int64)
    slots = int(n_visits.max()) if n_visits.size and len(order) else 0
    occasion_time = np.full((n_patients, slots), np.nan)
    occasion_time[sorted_position[new_occasion], sorted_visit[new_occasion]] = (
        sorted_time[new_occasion]
    )
    return visit, occasion_time, n_visits


def _codes(values: pd.Series, categories: list[str] | tuple[str, ...]) -> xr.Variable:
    codes = pd.Categorical(values, categories=list(categories)).codes.astype(np.int16)
    return xr.Variable("patient", codes, {"categories": list(categories)})


def _patient_covariates(cohort: Cohort) -> dict[str, xr.Variable]:
    patients = cohort.patients
    covariates = {
        "sex": _codes(patients["sex"], SEXES),
        "age_at_entry": xr.Variable("patient", patients["age_at_entry"].to_numpy(dtype=float),
                                    {"units": "years"}),
        "end_time": xr.Variable("patient", patients["end_time"].to_numpy(dtype=float),
                                {"units": TIME_UNITS}),
        "prior_ascvd": xr.Variable("patient", patients["prior_ascvd"].to_numpy(dtype=bool)),
        "smoking": _codes(patients["smoking"], SMOKING),
        "diabetes": xr.Variable("patient", patients["diabetes"].to_numpy(dtype=bool)),
        "hypertension": xr.Variable("patient", patients["hypertension"].to_numpy(dtype=bool)),
    }
    for column in ("centre", "family_id"):
        if column in patients.columns:
            present = patients[column].dropna().astype(str)
            covariates[column] = _codes(patients[column], sorted(present.unique()))
    if cohort.genomics is not None:
        genomics = cohort.genomics.reindex(patients.index)
        classes = genomics["variant_class"].fillna("not_tested")
        covariates["variant_class"] = _codes(classes, VARIANT_CLASSES)
        covariates["prs"] = xr.Variable("patient", genomics["prs"].to_numpy(dtype=float),
                                        {"units": "standard deviations"})
    return covariates


def _microbiome(cohort: Cohort) -> xr.Dataset:
    microbiome = cohort.microbiome
    ids = cohort.patients.index
    taxa = sorted(microbiome["taxon"].unique().tolist())
    position = ids.get_indexer(microbiome["patient_id"])
    sample, sample_time, n_samples = _occasions(
        position, microbiome["time"].to_numpy(dtype=float), len(ids)
    )
    shape = (len(ids), sample_time.shape[1], len(taxa))
    taxon_code = pd.Index(taxa).get_indexer(microbiome["taxon"])
    cell = np.ravel_multi_index((position, sample, taxon_code), shape)
    # Float sums of read counts are exact below 2**53 reads per cell.
    count = np.bincount(cell, weights=microbiome["count"].to_numpy(dtype=float),
                        minlength=int(np.prod(shape))).astype(np.int64).reshape(shape)
    return xr.Dataset(
        {
            "count": (("patient", "sample", "taxon"), count),
            "sample_time": (("patient", "sample"), sample_time, {"units": TIME_UNITS}),
            "n_samples": ("patient", n_samples),
        },
        coords={
            "patient": ("patient", ids.to_numpy(dtype=object)),
            "sample": ("sample", np.arange(sample_time.shape[1])),
            "taxon": ("taxon", np.asarray(taxa, dtype=object)),
        },
    )
