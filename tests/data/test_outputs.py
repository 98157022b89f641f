"""Round trips, the exclusion manifest, warnings, summaries and arrays."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayestwin.data import (
    cohort_summary,
    format_summary,
    read_cohort,
    to_dataset,
    to_long_dataset,
    write_cohort,
    write_manifest,
)
from bayestwin.data.cohort import MANIFEST_COLUMNS
from bayestwin.exceptions import DataWarning

TABLES = ("patients", "measurements", "treatments", "events", "drugs", "markers")


@pytest.fixture
def rich_cohort(make_cohort, tables):
    """A cohort with every optional table, an excluded row of each kind and float noise."""
    measurements = pd.concat([tables["measurements"], pd.DataFrame({
        "patient_id": ["P1", "P2", "P2", "P3"],
        "date": ["2016-01-10", "2016-09-01", "2022-02-01", "2018-01-01"],
        "marker": ["tg", "ldl_c", "ldl_c", "bilirubin"],
        "value": [1.234567891234, 160.0, 3.0, 0.7],
        "unit": ["mmol/L", "mg/dL", "mmol/L", "mg/dL"],
    })], ignore_index=True)
    treatments = pd.concat([tables["treatments"], pd.DataFrame({
        "patient_id": ["P3", "P3"], "drug": ["ramipril", "ezetimibe"], "dose_mg": [5.0, 10.0],
        "start": ["2017-07-01", "2024-01-01"], "stop": ["", ""],
    })], ignore_index=True).assign(adherence=[0.9, np.nan, 0.75, 1.0])
    events = pd.DataFrame({
        "patient_id": ["P2", "P2", "P3"], "date": ["2019-05-02", "2020-01-01", "2023-05-01"],
        "event": ["mi", "stroke", "mi"],
    })
    return make_cohort(
        measurements=measurements,
        treatments=treatments,
        events=events,
        drugs=pd.DataFrame({"drug": ["ramipril"], "class": ["antihypertensive"]}),
        markers=pd.DataFrame({"marker": ["bilirubin"], "unit": ["mg/dL"]}),
        genomics=pd.DataFrame({"patient_id": ["P1", "P3"], "variant_class": ["ldlr_null", ""],
                               "prs": [0.25, np.nan]}),
        microbiome=pd.DataFrame({
            "patient_id": ["P1", "P1", "P1", "P3"],
            "date": ["2015-01-10", "2015-01-10", "2016-01-10", "2017-06-15"],
            "taxon": ["Bacteroides", "Prevotella", "Bacteroides", "Prevotella"],
            "count": [120, 30, 80, 5],
        }),
        diet=pd.DataFrame({"patient_id": ["P1", "P2"], "date": ["2015-01-10", "2016-03-01"],
                           "fibre_g": [21.5, 14.0], "energy_kcal": [2100, 2500]}),
    )


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_round_trip(rich_cohort, tmp_path, file_format):
    first = read_cohort(rich_cohort)
    written = write_cohort(first, tmp_path / "written", format=file_format)
    assert written["patients"].name == f"patients.{file_format}"
    second = read_cohort(tmp_path / "written")

    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name),
                                      check_exact=True, obj=name)
    for name in ("genomics", "microbiome", "diet"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name),
                                      check_exact=True, obj=name)
    xr.testing.assert_identical(to_dataset(first), to_dataset(second))
    assert second.manifest.empty


def test_write_refuses_existing_tables(rich_cohort, tmp_path):
    cohort = read_cohort(rich_cohort)
    write_cohort(cohort, tmp_path / "out")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_cohort(cohort, tmp_path / "out", format="parquet")
    write_cohort(cohort, tmp_path / "out", format="parquet", overwrite=True)
    assert not (tmp_path / "out" / "patients.csv").exists()
    with pytest.raises(ValueError, match="'csv' or 'parquet'"):
        write_cohort(cohort, tmp_path / "other", format="xlsx")


def test_manifest_lists_excluded_rows(rich_cohort, tmp_path):
    cohort = read_cohort(rich_cohort)
    manifest = cohort.manifest
    assert tuple(manifest.columns) == MANIFEST_COLUMNS
    # P2's follow-up ends 2021-01-01, P3's on 2023-01-01.
    assert manifest.to_dict("records") == [
        {"file": "events.csv", "row": 4, "patient_id": "P3", "column": "date",
         "value": "2023-05-01", "reason": "event after the end of follow-up"},
        {"file": "measurements.csv", "row": 8, "patient_id": "P2", "column": "date",
         "value": "2022-02-01", "reason": "measured after the end of follow-up"},
        {"file": "treatments.csv", "row": 5, "patient_id": "P3", "column": "start",
         "value": "2024-01-01", "reason": "treatment starts after the end of follow-up"},
    ]
    # The stroke after P2's first MI stays: the model decides what ends follow-up.
    assert cohort.events["event"].tolist() == ["mi", "stroke"]

    path = write_manifest(cohort, tmp_path / "report")
    assert path == tmp_path / "report" / "exclusions.csv"
    pd.testing.assert_frame_equal(pd.read_csv(path, dtype={"value": str}), manifest,
                                  check_dtype=False)


def test_manifest_keeps_empty_values(make_cohort, tables):
    measurements = tables["measurements"].assign(value=[5.2, np.nan, 4.4, 1.3])
    cohort = read_cohort(make_cohort(measurements=measurements))
    assert cohort.manifest[["row", "column", "reason"]].values.tolist() == [
        [3, "value", "missing value"]]
    assert len(cohort.measurements) == 3


def test_write_manifest_returns_none_when_empty(make_cohort, tmp_path):
    cohort = read_cohort(make_cohort())
    assert write_manifest(cohort, tmp_path / "report") is None
    assert not (tmp_path / "report").exists()


def test_summary_counts(rich_cohort):
    cohort = read_cohort(rich_cohort)
    summary = cohort_summary(cohort)
    assert summary["patients"] == 3
    assert summary["person_years"] == pytest.approx(cohort.patients["end_time"].sum())
    assert summary["measurements"]["ldl_c"] == {"count": 4, "patients": 2, "unit": "mmol/L"}
    assert summary["treatments"]["ramipril"] == {"periods": 1, "patients": 1}
    assert summary["events"] == {"mi": {"count": 1, "patients": 1},
                                 "stroke": {"count": 1, "patients": 1}}
    assert summary["excluded"] == {"event after the end of follow-up": 1,
                                   "measured after the end of follow-up": 1,
                                   "treatment starts after the end of follow-up": 1}
    assert summary["microbiome"] == {"samples": 3, "taxa": 2, "patients": 2}

    text = format_summary(cohort)
    assert "3 patients" in text
    assert "Excluded rows: 3" in text
    assert "1  measured after the end of follow-up" in text


def test_one_warning_counts_each_kind(make_cohort, tables):
    measurements = tables["measurements"].assign(value=[5.2, 17.0, 18.0, 1.3])
    treatments = tables["treatments"].assign(dose_mg=[30.0, 15.0])
    folder = make_cohort(measurements=measurements, treatments=treatments)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read_cohort(folder)
    assert len(caught) == 1
    warning = caught[0]
    assert warning.category is DataWarning
    assert warning.filename == __file__
    text = str(warning.message)
    assert "2 x measurements outside the typical range" in text
    assert "2 x doses between the licensed doses" in text
    assert "measurements.csv, row 3, column value, value '17.0'" in text


def test_dataset_dims_and_coords(rich_cohort):
    cohort = read_cohort(rich_cohort)
    dataset = to_dataset(cohort)
    assert dataset["value"].dims == ("patient", "visit", "marker")
    assert dataset["time"].dims == ("patient", "visit")
    assert dataset["patient"].values.tolist() == ["P1", "P2", "P3"]
    assert dataset["marker"].values.tolist() == ["ldl_c", "hdl_c", "tg", "bilirubin"]
    assert dataset["unit"].values.tolist() == ["mmol/L", "mmol/L", "mmol/L", "mg/dL"]
    assert dataset["n_visits"].values.tolist() == [2, 2, 2]
    # P1 at its second visit (2016-01-10): LDL-C 3.1 and TG measured together.
    p1 = dataset.sel(patient="P1", visit=1)
    assert p1["value"].sel(marker="ldl_c").item() == 3.1
    assert p1["value"].sel(marker="tg").item() == 1.234567891234
    assert np.isnan(p1["value"].sel(marker="hdl_c").item())
    assert dataset["value"].sel(patient="P2", visit=1, marker="ldl_c").item() == (
        pytest.approx(160 / 38.67))

    assert dataset["sex"].values.tolist() == [0, 1, 0]
    assert dataset["sex"].attrs["categories"] == ["F", "M"]
    assert dataset["smoking"].attrs["categories"] == ["current", "former", "never", "not_current"]
    assert dataset["prior_ascvd"].dtype == bool
    variant = dataset["variant_class"]
    assert [variant.attrs["categories"][code] for code in variant.values] == [
        "ldlr_null", "not_tested", "not_tested"]
    assert dataset["count"].dims == ("patient", "sample", "taxon")
    assert dataset["taxon"].values.tolist() == ["Bacteroides", "Prevotella"]
    assert dataset["count"].sel(patient="P1").values.tolist() == [[120, 30], [80, 0]]
    assert dataset["n_samples"].values.tolist() == [2, 0, 1]


def test_long_dataset(rich_cohort):
    cohort = read_cohort(rich_cohort)
    long = to_long_dataset(cohort)
    assert long["value"].dims == ("obs",)
    assert long.sizes["obs"] == len(cohort.measurements)
    patients = long["patient"].values[long["patient_index"].values]
    assert patients.tolist() == sorted(patients.tolist())
