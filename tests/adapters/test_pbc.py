import numpy as np
import pandas as pd
import pytest

from bayestwin.adapters import PBC2_MARKER_COLUMNS, MarkerColumn, melt_marker_columns, pbc_cohort
from bayestwin.data.cohort import (
    EVENT_COLUMNS,
    MANIFEST_COLUMNS,
    MEASUREMENT_COLUMNS,
    PATIENT_COLUMNS,
    TREATMENT_COLUMNS,
)
from bayestwin.exceptions import CohortError

# Sizes of the JM pbc2 release: 312 patients and 1,945 visits, as in its
# documentation. The event and sex counts were read from the raw tables, and
# the tests below recompute them where they can.
N_PATIENTS = 312
N_VISITS = 1945
N_DEATHS = 140
N_TRANSPLANTS = 29
N_WOMEN = 276


@pytest.fixture(scope="module")
def raw_visits(pbc2_path):
    return pd.read_csv(pbc2_path)


@pytest.fixture(scope="module")
def cohort(pbc2_path, pbc2_id_path):
    return pbc_cohort(pbc2_path, pbc2_id_path)


# Real data ------------------------------------------------------------------


def test_pbc_patient_counts(cohort, raw_visits):
    assert cohort.n_patients == N_PATIENTS
    assert cohort.patients.index.is_unique
    assert set(cohort.patients.index) == set(raw_visits["id"].astype(str))
    assert (cohort.patients["sex"] == "F").sum() == N_WOMEN
    assert (cohort.patients["sex"] == "M").sum() == N_PATIENTS - N_WOMEN


def test_pbc_canonical_columns(cohort):
    assert cohort.patients.index.name == "patient_id"
    assert set(PATIENT_COLUMNS) <= set(cohort.patients.columns)
    assert list(cohort.measurements.columns) == list(MEASUREMENT_COLUMNS)
    assert list(cohort.treatments.columns) == list(TREATMENT_COLUMNS)
    assert list(cohort.events.columns) == list(EVENT_COLUMNS)
    assert list(cohort.manifest.columns) == list(MANIFEST_COLUMNS)
    assert cohort.patients["entry_date"].isna().all()
    # The trial recorded no cardiovascular history, so these are missing.
    assert cohort.patients["prior_ascvd"].isna().all()
    assert cohort.patients["smoking"].isna().all()


def test_pbc_end_time_is_years(cohort, raw_visits):
    years = raw_visits.groupby(raw_visits["id"].astype(str))["years"].first()
    np.testing.assert_array_equal(cohort.patients["end_time"], years[cohort.patients.index])
    assert cohort.person_years() == pytest.approx(years.sum())


def test_pbc_bilirubin_every_visit(cohort, raw_visits):
    bilirubin = cohort.measurements[cohort.measurements["marker"] == "bilirubin"]
    assert len(bilirubin) == N_VISITS
    assert (bilirubin["unit"] == "mg/dL").all()
    np.testing.assert_array_equal(bilirubin["value"], raw_visits["serBilir"])
    np.testing.assert_array_equal(bilirubin["time"], raw_visits["year"])
    np.testing.assert_array_equal(bilirubin["patient_id"], raw_visits["id"].astype(str))


def test_pbc_cholesterol_converted(cohort, raw_visits):
    total_c = cohort.measurements[cohort.measurements["marker"] == "total_c"]
    assert (total_c["unit"] == "mmol/L").all()
    measured = raw_visits["serChol"].notna()
    # Four values above 35 mmol/L (1,353 mg/dL) are outside the plausible range
    # of total cholesterol and go to the manifest instead.
    too_high = raw_visits["serChol"] > 35 * 38.67
    assert too_high.sum() == 4
    assert len(total_c) == measured.sum() - too_high.sum()
    expected = raw_visits.loc[measured & ~too_high, "serChol"].to_numpy() / 38.67
    np.testing.assert_allclose(total_c["value"], expected, rtol=1e-12)


def test_pbc_events(cohort):
    events = cohort.events
    assert len(events) == N_DEATHS + N_TRANSPLANTS
    assert (events["event"] == "death").sum() == N_DEATHS
    assert (events["event"] == "transplant").sum() == N_TRANSPLANTS
    assert events["patient_id"].is_unique
    end_time = cohort.patients.loc[events["patient_id"], "end_time"].to_numpy()
    np.testing.assert_array_equal(events["time"], end_time)


def test_pbc_events_match_status(cohort, pbc2_id_path):
    per_patient = pd.read_csv(pbc2_id_path)
    assert (per_patient["status"] == "dead").sum() == N_DEATHS
    assert (per_patient["status"] == "transplanted").sum() == N_TRANSPLANTS


def test_pbc_trial_arms(cohort):
    treatments = cohort.treatments
    assert len(treatments) == N_PATIENTS
    assert (treatments["drug"] == "d_penicillamine").sum() == 158
    assert (treatments["drug"] == "placebo").sum() == 154
    assert (treatments["start"] == 0).all()
    assert treatments["stop"].isna().all()
    assert treatments["dose_mg"].isna().all()
    declared = dict(zip(cohort.drugs["drug"], cohort.drugs["class"], strict=True))
    assert declared == {"d_penicillamine": "trial_arm", "placebo": "placebo"}


def test_pbc_declared_markers(cohort):
    declared = dict(zip(cohort.markers["marker"], cohort.markers["unit"], strict=True))
    assert declared == {"bilirubin": "mg/dL", "albumin": "g/dL", "prothrombin": "s"}


def test_pbc_no_rows_lost(cohort, raw_visits):
    manifest = cohort.manifest
    assert len(manifest) == 4
    assert (manifest["column"] == "serChol").all()
    assert manifest["reason"].str.contains("plausible range").all()
    assert sorted(manifest["value"].astype(float)) == sorted(
        raw_visits.loc[raw_visits["serChol"] > 35 * 38.67, "serChol"]
    )
    # Every visit row is either kept whole (it then gives a bilirubin value,
    # never missing in pbc2) or listed whole in the manifest.
    n_bilirubin = (cohort.measurements["marker"] == "bilirubin").sum()
    whole_rows = manifest["column"].isin(["id", "year"]).sum()
    assert n_bilirubin + whole_rows == len(raw_visits) == N_VISITS


def test_pbc_without_id_table(cohort, pbc2_path):
    from_visits = pbc_cohort(pbc2_path)
    pd.testing.assert_frame_equal(from_visits.patients, cohort.patients)
    pd.testing.assert_frame_equal(from_visits.events, cohort.events)
    pd.testing.assert_frame_equal(from_visits.measurements, cohort.measurements)


def test_pbc_optional_markers(pbc2_path, raw_visits):
    cohort = pbc_cohort(pbc2_path, markers=["bilirubin", "ascites", "edema"])
    ascites = cohort.measurements[cohort.measurements["marker"] == "ascites"]
    assert len(ascites) == raw_visits["ascites"].notna().sum()
    assert set(ascites["value"]) == {0.0, 1.0}
    edema = cohort.measurements[cohort.measurements["marker"] == "edema"]
    assert len(edema) == N_VISITS
    assert set(edema["value"]) == {0.0, 0.5, 1.0}


# Synthetic tables -----------------------------------------------------------


def _visits(**overrides) -> pd.DataFrame:
    table = pd.DataFrame({
        "id": [1, 1, 2],
        "years": [2.0, 2.0, 5.0],
        "status": ["dead", "dead", "alive"],
        "drug": ["D-penicil", "D-penicil", "placebo"],
        "age": [50.0, 50.0, 60.0],
        "sex": ["female", "female", "male"],
        "year": [0.0, 1.0, 0.0],
        "serBilir": [1.0, 2.0, 0.5],
        "serChol": [300.0, np.nan, 250.0],
        "albumin": [3.5, 3.4, 3.9],
        "prothrombin": [10.5, 11.0, 10.0],
        "histologic": [3, 3, 2],
    })
    for column, values in overrides.items():
        table[column] = values
    return table


def test_small_table_cohort():
    cohort = pbc_cohort(_visits())
    assert list(cohort.patients.index) == ["1", "2"]
    assert list(cohort.events["event"]) == ["death"]
    assert cohort.manifest.empty
    assert len(cohort.measurements) == 3 + 2 + 3 + 3


def test_visit_after_follow_up_listed():
    cohort = pbc_cohort(_visits(year=[0.0, 2.5, 0.0]))
    assert len(cohort.manifest) == 1
    entry = cohort.manifest.iloc[0]
    assert entry["row"] == 3
    assert entry["column"] == "year"
    assert "after the end of follow-up" in entry["reason"]
    assert (cohort.measurements["time"] <= 2.0).all()


def test_unknown_patient_listed():
    per_patient = _visits().drop_duplicates("id").iloc[[0]]
    cohort = pbc_cohort(_visits(), per_patient)
    assert cohort.n_patients == 1
    assert list(cohort.manifest["patient_id"]) == ["2"]
    assert "not found" in cohort.manifest["reason"].iloc[0]


def test_unknown_status_rejected():
    with pytest.raises(CohortError, match="'censored' is not recognised"):
        pbc_cohort(_visits(status=["dead", "dead", "censored"]))


def test_conflicting_tables_rejected():
    per_patient = _visits().drop_duplicates("id")
    per_patient["years"] = [3.0, 5.0]
    with pytest.raises(CohortError, match="differs from the per-patient table"):
        pbc_cohort(_visits(), per_patient)


def test_missing_column_rejected():
    with pytest.raises(CohortError, match="missing column 'serBilir'"):
        pbc_cohort(_visits().drop(columns=["serBilir"]))


def test_nonpositive_follow_up_rejected():
    with pytest.raises(CohortError, match="positive follow-up"):
        pbc_cohort(_visits(years=[0.0, 0.0, 5.0], year=[0.0, 0.0, 0.0]))


def test_unknown_marker_rejected():
    with pytest.raises(ValueError, match="'copper'"):
        pbc_cohort(_visits(), markers=["bilirubin", "copper"])


def test_melt_reports_bad_values():
    table = pd.DataFrame({
        "patient_id": ["a", "a", "b"],
        "time": [0.0, 1.0, 0.0],
        "line": [2, 3, 4],
        "chol": ["200", "abc", "2000"],
    })
    spec = MarkerColumn("chol", "total_c", "mmol/L", factor=1 / 38.67, source_unit="mg/dL")
    measurements, manifest = melt_marker_columns(table, columns=[spec], file="x.csv")
    assert list(measurements["patient_id"]) == ["a"]
    assert measurements["value"].iloc[0] == pytest.approx(200 / 38.67)
    assert list(manifest["row"]) == [3, 4]
    assert "not a finite number" in manifest["reason"].iloc[0]
    assert "plausible range" in manifest["reason"].iloc[1]


def test_melt_rejects_noncanonical_unit():
    table = pd.DataFrame({"patient_id": ["a"], "time": [0.0], "line": [2], "chol": [200.0]})
    spec = MarkerColumn("chol", "total_c", "mg/dL")
    with pytest.raises(ValueError, match="canonical unit 'mmol/L'"):
        melt_marker_columns(table, columns=[spec], file="x.csv")


def test_marker_table_units():
    assert PBC2_MARKER_COLUMNS["total_c"].factor == pytest.approx(1 / 38.67)
    assert PBC2_MARKER_COLUMNS["bilirubin"].column == "serBilir"
