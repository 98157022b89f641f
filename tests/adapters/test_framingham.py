import numpy as np
import pandas as pd
import pytest

from bayestwin.adapters import (
    PREVALENT_CVD_FLAGS,
    bp_medication_periods,
    framingham_cohort,
    split_by_participant,
)
from bayestwin.data.cohort import (
    EVENT_COLUMNS,
    MANIFEST_COLUMNS,
    MEASUREMENT_COLUMNS,
    PATIENT_COLUMNS,
    TREATMENT_COLUMNS,
)
from bayestwin.exceptions import CohortError

# Sizes of the NHLBI teaching release, recomputed from the raw table in the
# tests below: 4,434 participants in 11,627 exam rows.
N_PARTICIPANTS = 4434
N_EXAM_ROWS = 11627
DAYS_PER_YEAR = 365.25


@pytest.fixture(scope="module")
def raw(frmgham2_path):
    return pd.read_csv(frmgham2_path)


@pytest.fixture(scope="module")
def baseline(raw):
    return raw[raw["PERIOD"] == 1].set_index(raw.loc[raw["PERIOD"] == 1, "RANDID"].astype(str))


@pytest.fixture(scope="module")
def prevalent(baseline):
    return baseline[list(PREVALENT_CVD_FLAGS)].eq(1).any(axis=1)


@pytest.fixture(scope="module")
def cohort(frmgham2_path):
    return framingham_cohort(frmgham2_path)


# Real data ------------------------------------------------------------------


def test_framingham_participants_read(raw, cohort, prevalent):
    assert len(raw) == N_EXAM_ROWS
    assert raw["RANDID"].nunique() == N_PARTICIPANTS
    excluded = cohort.manifest.loc[
        cohort.manifest["reason"].str.startswith("prevalent"), "patient_id"
    ].unique()
    assert len(excluded) == prevalent.sum() == 219
    assert cohort.n_patients == N_PARTICIPANTS - 219 == 4215
    assert set(excluded).isdisjoint(cohort.patient_ids)
    assert set(excluded) == set(prevalent.index[prevalent])


def test_angina_and_mi_within_chd(baseline):
    # PREVAP and PREVMI are components of PREVCHD, so excluding on all four
    # flags excludes the same participants as PREVCHD or PREVSTRK.
    assert not ((baseline["PREVAP"] == 1) & (baseline["PREVCHD"] == 0)).any()
    assert not ((baseline["PREVMI"] == 1) & (baseline["PREVCHD"] == 0)).any()


def test_framingham_canonical_columns(cohort):
    assert cohort.patients.index.name == "patient_id"
    assert set(PATIENT_COLUMNS) <= set(cohort.patients.columns)
    assert list(cohort.measurements.columns) == list(MEASUREMENT_COLUMNS)
    assert list(cohort.treatments.columns) == list(TREATMENT_COLUMNS)
    assert list(cohort.events.columns) == list(EVENT_COLUMNS)
    assert list(cohort.manifest.columns) == list(MANIFEST_COLUMNS)
    assert not cohort.patients["prior_ascvd"].any()
    assert set(cohort.patients["sex"]) == {"F", "M"}


def test_framingham_events(cohort, baseline, prevalent):
    retained = baseline[~prevalent]
    expected_cvd = (retained["CVD"] == 1).sum()
    expected_death = ((retained["DEATH"] == 1) & (retained["CVD"] == 0)).sum()
    counts = cohort.events["event"].value_counts()
    assert counts["cvd"] == expected_cvd == 996
    assert counts["death_other"] == expected_death == 753
    assert cohort.events["patient_id"].is_unique


def test_framingham_end_time(cohort, baseline):
    retained = baseline.loc[cohort.patient_ids]
    expected = (
        np.minimum(np.minimum(retained["TIMECVD"], retained["TIMEDTH"]), 8766) / DAYS_PER_YEAR
    )
    np.testing.assert_allclose(cohort.patients["end_time"], expected, rtol=1e-12)
    assert cohort.patients["end_time"].max() == pytest.approx(24.0)
    event_times = cohort.events.set_index("patient_id")["time"]
    np.testing.assert_allclose(
        event_times, cohort.patients.loc[event_times.index, "end_time"], rtol=1e-12
    )


def test_framingham_units_converted(cohort, raw):
    measurements = cohort.measurements
    retained = raw[raw["RANDID"].astype(str).isin(cohort.patient_ids)]
    total_c = measurements[measurements["marker"] == "total_c"].set_index(["patient_id", "time"])
    source = retained.assign(
        patient_id=retained["RANDID"].astype(str), time=retained["TIME"] / DAYS_PER_YEAR
    ).set_index(["patient_id", "time"])
    np.testing.assert_allclose(
        total_c["value"] * 38.67, source.loc[total_c.index, "TOTCHOL"], rtol=1e-12
    )
    units = measurements.groupby("marker")["unit"].unique().map(tuple).to_dict()
    assert units["total_c"] == ("mmol/L",)
    assert units["hdl_c"] == ("mmol/L",)
    assert units["ldl_c"] == ("mmol/L",)
    assert units["sbp"] == ("mmHg",)
    assert units["glucose"] == ("mmol/L",)
    glucose = measurements[measurements["marker"] == "glucose"].set_index(["patient_id", "time"])
    np.testing.assert_allclose(
        glucose["value"] * 18.016, source.loc[glucose.index, "GLUCOSE"], rtol=1e-12
    )


def test_hdl_only_at_exam_three(cohort, raw):
    hdl = cohort.measurements[cohort.measurements["marker"] == "hdl_c"]
    exam_three = raw.loc[raw["PERIOD"] == 3, ["RANDID", "TIME"]]
    keys = set(zip(exam_three["RANDID"].astype(str), exam_three["TIME"] / DAYS_PER_YEAR,
                   strict=True))
    assert set(zip(hdl["patient_id"], hdl["time"], strict=True)) <= keys


def test_measurements_inside_follow_up(cohort):
    end_time = cohort.measurements["patient_id"].map(cohort.patients["end_time"])
    assert (cohort.measurements["time"] >= 0).all()
    assert (cohort.measurements["time"] <= end_time).all()


def test_framingham_no_rows_lost(cohort, raw):
    sbp_rows = (cohort.measurements["marker"] == "sbp").sum()
    # Only whole exam rows are left out: no value is implausible in this release.
    assert set(cohort.manifest["column"]) == {"TIME", "+".join(PREVALENT_CVD_FLAGS)}
    whole_rows = len(cohort.manifest)
    # SYSBP is never missing, so each kept exam gives one sbp measurement.
    assert raw["SYSBP"].notna().all()
    assert sbp_rows + whole_rows == N_EXAM_ROWS
    late = cohort.manifest[cohort.manifest["column"] == "TIME"]
    assert late["reason"].str.contains("after the end of follow-up").all()
    assert len(late) == 371


def test_framingham_declared_markers(cohort):
    declared = dict(zip(cohort.markers["marker"], cohort.markers["unit"], strict=True))
    assert declared["smoking_current"] == "1"
    assert declared["diabetes"] == "1"
    assert declared["glucose"] == "mmol/L"
    assert "total_c" not in declared
    assert list(cohort.drugs["drug"]) == ["bp_medication"]
    assert list(cohort.drugs["class"]) == ["antihypertensive"]


def test_framingham_bp_periods(cohort, raw):
    treatments = cohort.treatments
    assert (treatments["drug"] == "bp_medication").all()
    assert treatments["dose_mg"].isna().all()
    closed = treatments.dropna(subset=["stop"])
    assert (closed["stop"] > closed["start"]).all()
    # Each period starts at an exam that flags BP medication.
    flagged = raw[raw["BPMEDS"] == 1]
    flagged_exams = set(zip(flagged["RANDID"].astype(str), flagged["TIME"] / DAYS_PER_YEAR,
                            strict=True))
    assert set(zip(treatments["patient_id"], treatments["start"], strict=True)) <= flagged_exams


def test_split_by_participant(cohort):
    train, test = split_by_participant(cohort, fraction=0.7, seed=20240501)
    assert train.n_patients == round(0.7 * cohort.n_patients)
    assert train.n_patients + test.n_patients == cohort.n_patients
    assert set(train.patient_ids).isdisjoint(test.patient_ids)
    for part in (train, test):
        ids = set(part.patient_ids)
        assert set(part.measurements["patient_id"]) <= ids
        assert set(part.events["patient_id"]) <= ids
        assert set(part.treatments["patient_id"]) <= ids
    assert len(train.measurements) + len(test.measurements) == len(cohort.measurements)
    assert len(train.events) + len(test.events) == len(cohort.events)


def test_split_seeded(cohort):
    first, _ = split_by_participant(cohort, seed=7)
    again, _ = split_by_participant(cohort, seed=7)
    other, _ = split_by_participant(cohort, seed=8)
    assert list(first.patient_ids) == list(again.patient_ids)
    assert list(first.patient_ids) != list(other.patient_ids)


# Synthetic tables -----------------------------------------------------------


def _participant(randid, times, *, bpmeds, cvd=0, timecvd=8766, death=0, timedth=8766,
                 prevchd=0, prevstrk=0) -> pd.DataFrame:
    """Exam rows of one participant with ordinary values."""
    n = len(times)
    return pd.DataFrame({
        "RANDID": randid, "SEX": 2, "TOTCHOL": 200.0, "AGE": 50, "SYSBP": 130.0,
        "DIABP": 80.0, "CURSMOKE": 0, "CIGPDAY": 0.0, "BMI": 25.0, "DIABETES": 0,
        "BPMEDS": bpmeds, "HEARTRTE": 70.0, "GLUCOSE": 90.0, "educ": 2.0,
        "PREVCHD": prevchd, "PREVAP": 0, "PREVMI": 0, "PREVSTRK": prevstrk, "PREVHYP": 0,
        "TIME": times, "PERIOD": range(1, n + 1), "HDLC": np.nan, "LDLC": np.nan,
        "DEATH": death, "CVD": cvd, "TIMECVD": timecvd, "TIMEDTH": timedth,
    })


def _table(*participants) -> pd.DataFrame:
    return pd.concat(participants, ignore_index=True)


def _periods(table: pd.DataFrame) -> list[tuple]:
    treatments = framingham_cohort(table).treatments
    return [
        (row.patient_id, round(row.start * DAYS_PER_YEAR),
         None if np.isnan(row.stop) else round(row.stop * DAYS_PER_YEAR))
        for row in treatments.itertuples()
    ]


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([1, 1, 0], [(0, 4000)]),
        ([0, 1, 1], [(2000, None)]),
        ([1, 0, 1], [(0, 2000), (4000, None)]),
        ([1, np.nan, 1], [(0, 2000), (4000, None)]),
        ([0, 0, 0], []),
        ([1, 1, 1], [(0, None)]),
    ],
)
def test_bp_period_rules(flags, expected):
    table = _participant(11, [0, 2000, 4000], bpmeds=flags)
    assert _periods(table) == [("11", start, stop) for start, stop in expected]


def test_bp_period_ends_with_follow_up():
    # The exam after the CVD event is outside follow-up, so it neither closes
    # nor extends the period, and it is listed in the manifest.
    table = _participant(12, [0, 2000, 4000], bpmeds=[0, 1, 0], cvd=1, timecvd=3000)
    cohort = framingham_cohort(table)
    assert _periods(table) == [("12", 2000, None)]
    assert list(cohort.manifest["row"]) == [4]
    assert list(cohort.events["event"]) == ["cvd"]
    assert cohort.patients["end_time"].iloc[0] == pytest.approx(3000 / DAYS_PER_YEAR)


def test_bp_periods_order_and_columns():
    exams = pd.DataFrame({
        "patient_id": ["b", "b", "a", "a"],
        "time": [0.0, 6.0, 0.0, 6.0],
        "BPMEDS": [1, 0, 0, 1],
    })
    periods = bp_medication_periods(exams)
    assert list(periods.columns) == list(TREATMENT_COLUMNS)
    assert list(periods["patient_id"]) == ["b", "a"]
    assert list(periods["stop"].fillna(-1)) == [6.0, -1]


def test_prevalent_participant_excluded_whole():
    table = _table(
        _participant(1, [0, 2000], bpmeds=[0, 0], prevstrk=1),
        _participant(2, [0, 2000], bpmeds=[0, 0]),
    )
    cohort = framingham_cohort(table)
    assert list(cohort.patient_ids) == ["2"]
    assert list(cohort.manifest["row"]) == [2, 3]
    assert (cohort.manifest["value"] == "PREVSTRK=1").all()


def test_death_after_cvd_not_competing():
    table = _table(
        _participant(1, [0], bpmeds=[0], cvd=1, timecvd=1000, death=1, timedth=2000),
        _participant(2, [0], bpmeds=[0], death=1, timedth=1500),
    )
    events = framingham_cohort(table).events
    assert list(events["event"]) == ["cvd", "death_other"]
    np.testing.assert_allclose(events["time"] * DAYS_PER_YEAR, [1000, 1500])


def test_follow_up_capped():
    table = _participant(1, [0], bpmeds=[0], cvd=1, timecvd=8000)
    cohort = framingham_cohort(table, max_follow_up_years=10.0)
    assert cohort.events.empty
    assert cohort.patients["end_time"].iloc[0] == 10.0


def test_repeated_exam_rejected():
    table = _participant(1, [0, 2000], bpmeds=[0, 0])
    table["PERIOD"] = 1
    with pytest.raises(CohortError, match="appears more than once"):
        framingham_cohort(table)


def test_changing_outcome_rejected():
    table = _participant(1, [0, 2000], bpmeds=[0, 0])
    table["CVD"] = [0, 1]
    with pytest.raises(CohortError, match="column 'CVD'"):
        framingham_cohort(table)


def test_missing_column_rejected():
    table = _participant(1, [0], bpmeds=[0]).drop(columns=["TIMECVD"])
    with pytest.raises(CohortError, match="missing column 'TIMECVD'"):
        framingham_cohort(table)


def test_split_fraction_checked():
    table = _table(*(_participant(i, [0], bpmeds=[0]) for i in range(1, 4)))
    cohort = framingham_cohort(table)
    with pytest.raises(ValueError, match="fraction=1.5"):
        split_by_participant(cohort, fraction=1.5, seed=1)
    with pytest.raises(ValueError, match="both parts to be non-empty"):
        split_by_participant(cohort, fraction=0.1, seed=1)


def test_missing_exam_time_rejected():
    table = _participant(1, [0, 2000], bpmeds=[0, 0])
    table["TIME"] = [0, np.nan]
    with pytest.raises(CohortError, match="column 'TIME': value nan is invalid"):
        framingham_cohort(table)
