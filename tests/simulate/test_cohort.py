"""Structure, determinism and file format of simulated cohorts."""

import hashlib
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from bayestwin.data.cohort import Cohort
from bayestwin.data.vocabulary import DRUGS, EVENTS, MACE, MARKERS, VARIANT_CLASSES
from bayestwin.simulate import SimulatorConfig, simulate_cohort


def _digests(folder):
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_same_seed_writes_identical_bytes(tmp_path):
    first = simulate_cohort(400, seed=123).write(tmp_path / "a")
    second = simulate_cohort(400, seed=123).write(tmp_path / "b")
    digests_a, digests_b = _digests(first), _digests(second)
    assert sorted(digests_a) == [
        "diet.csv",
        "events.csv",
        "genomics.csv",
        "measurements.csv",
        "microbiome.csv",
        "patients.csv",
        "treatments.csv",
        "truth/patients.csv",
        "truth/population.json",
    ]
    assert digests_a == digests_b


def test_different_seed_changes_every_table(tmp_path):
    first = _digests(simulate_cohort(400, seed=123).write(tmp_path / "a"))
    second = _digests(simulate_cohort(400, seed=124).write(tmp_path / "b"))
    for name in first:
        if name == "truth/population.json":
            # Only the realised centre effects differ; the parameters are the same.
            continue
        assert first[name] != second[name], name


def test_global_numpy_state_is_not_used():
    np.random.seed(1)  # noqa: NPY002 - the legacy global state must not leak in
    first = simulate_cohort(200, seed=5)
    np.random.seed(2)  # noqa: NPY002
    second = simulate_cohort(200, seed=5)
    pd.testing.assert_frame_equal(first.cohort.measurements, second.cohort.measurements)


def test_seed_is_required_and_typed():
    with pytest.raises(TypeError):
        simulate_cohort(10)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="seed must be an int"):
        simulate_cohort(10, seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 1"):
        simulate_cohort(0, seed=1)


def test_component_streams_are_independent():
    # Imaging shares change which patients are scanned, but no lipid value,
    # treatment or event, because each component draws from its own stream.
    base = simulate_cohort(300, seed=9)
    config = SimulatorConfig()
    changed = simulate_cohort(
        300,
        seed=9,
        config=replace(
            config, design=replace(config.design, cac_at_entry=0.9, plaque_at_entry=0.5)
        ),
    )
    lipids = base.cohort.measurements.query("marker == 'ldl_c'").reset_index(drop=True)
    lipids_changed = changed.cohort.measurements.query("marker == 'ldl_c'").reset_index(drop=True)
    pd.testing.assert_frame_equal(lipids, lipids_changed)
    pd.testing.assert_frame_equal(base.cohort.treatments, changed.cohort.treatments)
    pd.testing.assert_frame_equal(base.cohort.events, changed.cohort.events)


def test_two_thousand_patients_in_seconds():
    # Target: 2,000 patients in a few seconds. The limit of 10 s leaves room
    # for slow or shared CI machines (measured: 0.4 to 0.5 s on one core).
    started = time.perf_counter()
    simulate_cohort(2000, seed=3)
    assert time.perf_counter() - started < 10.0


def test_cohort_has_canonical_tables(cohort_300):
    cohort = cohort_300.cohort
    assert isinstance(cohort, Cohort)
    patients = cohort.patients
    assert patients.index.name == "patient_id"
    assert patients.index[0] == "P00001"
    assert list(patients.columns[:8]) == [
        "sex",
        "age_at_entry",
        "entry_date",
        "end_time",
        "prior_ascvd",
        "smoking",
        "diabetes",
        "hypertension",
    ]
    assert set(patients["sex"]) <= {"F", "M"}
    assert set(patients["smoking"]) <= {"current", "former", "never"}
    assert patients["prior_ascvd"].dtype == bool
    assert patients["age_at_entry"].between(20, 70).all()
    assert (patients["end_time"] > 0).all()
    assert patients["end_time"].max() <= 15.0
    assert patients["entry_date"].isna().all()


def test_measurements_use_canonical_units(cohort_300):
    measurements = cohort_300.cohort.measurements
    assert list(measurements.columns) == ["patient_id", "time", "marker", "value", "unit"]
    for marker, group in measurements.groupby("marker"):
        info = MARKERS[marker]
        units = set(group["unit"])
        assert len(units) == 1, marker
        unit = units.pop()
        assert info.units[unit][0] == unit, f"{marker} is not in its canonical unit"
        low, high = info.plausible[unit]
        assert group["value"].between(low, high).all(), marker


def test_measurements_lie_within_follow_up(cohort_300):
    cohort = cohort_300.cohort
    end = cohort.patients["end_time"]
    measurements = cohort.measurements
    assert (measurements["time"].to_numpy() < end.loc[measurements["patient_id"]].to_numpy()).all()
    after_entry = measurements[measurements["time"] >= 0]
    assert set(after_entry["marker"]) >= {"ldl_c", "hdl_c", "tg", "total_c", "lpa", "sbp", "cac"}
    before_entry = measurements[measurements["time"] < 0]
    assert set(before_entry["marker"]) == {"ldl_c"}


def test_treatments_follow_catalogue(cohort_300):
    cohort = cohort_300.cohort
    treatments = cohort.treatments
    assert list(treatments.columns) == [
        "patient_id",
        "drug",
        "dose_mg",
        "start",
        "stop",
        "adherence",
    ]
    assert set(treatments["drug"]) <= set(DRUGS)
    for drug, group in treatments.groupby("drug"):
        assert set(group["dose_mg"]) <= set(DRUGS[drug].doses_mg), drug
    end = cohort.patients["end_time"].loc[treatments["patient_id"]].to_numpy()
    assert (treatments["start"].to_numpy() < end).all()
    stopped = treatments["stop"].notna()
    assert (treatments.loc[stopped, "stop"].to_numpy() < end[stopped.to_numpy()]).all()
    assert (treatments["start"] < 0).any(), "some treatment should start before entry"
    assert treatments["adherence"].between(0, 1).all()


def test_events_end_follow_up(cohort_300):
    cohort = cohort_300.cohort
    events = cohort.events
    assert set(events["event"]) <= set(MACE) | {"death_other"}
    assert set(events["event"]) <= set(EVENTS)
    assert events["patient_id"].is_unique
    end = cohort.patients["end_time"].loc[events["patient_id"]].to_numpy()
    np.testing.assert_array_equal(events["time"].to_numpy(), end)


def test_genomics_and_optional_tables(cohort_2000):
    cohort = cohort_2000.cohort
    genomics = cohort.genomics
    assert set(genomics["variant_class"]) <= set(VARIANT_CLASSES)
    untested = genomics["variant_class"] == "not_tested"
    # Design share 25%; binomial SE at n = 2,000 is 1%, so 20-30% is 5 SE.
    assert 0.20 <= untested.mean() <= 0.30
    assert genomics.loc[untested, "prs"].isna().all()
    assert genomics.loc[~untested, "prs"].notna().all()
    sampled = cohort.microbiome["patient_id"].nunique() / cohort.n_patients
    assert 0.35 <= sampled <= 0.45  # design 40%, 5 binomial SE
    library = cohort.microbiome.groupby("patient_id")["count"].sum()
    assert 3_000 < library.median() < 30_000
    assert list(cohort.diet.columns) == ["patient_id", "time", "diet_score", "saturated_fat_pct"]


def test_written_files_follow_cohort_format(cohort_300, tmp_path):
    folder = cohort_300.write(tmp_path)
    patients = pd.read_csv(folder / "patients.csv")
    assert list(patients.columns) == [
        "patient_id",
        "sex",
        "age_at_entry",
        "end_time",
        "prior_ascvd",
        "smoking",
        "diabetes",
        "hypertension",
        "centre",
        "family_id",
    ]
    assert set(patients["prior_ascvd"]) <= {0, 1}
    measurements = pd.read_csv(folder / "measurements.csv")
    assert list(measurements.columns) == ["patient_id", "time", "marker", "value", "unit"]
    treatments = pd.read_csv(folder / "treatments.csv")
    assert list(treatments.columns) == [
        "patient_id",
        "drug",
        "dose_mg",
        "start",
        "stop",
        "adherence",
    ]
    assert treatments["stop"].isna().any(), "ongoing treatments have an empty stop"
    events = pd.read_csv(folder / "events.csv")
    assert list(events.columns) == ["patient_id", "time", "event"]
    text = (folder / "treatments.csv").read_text()
    assert "\r" not in text and "nan" not in text
    pd.testing.assert_series_equal(
        measurements["value"], cohort_300.cohort.measurements["value"], check_names=False
    )


def test_lipids_agree_with_friedewald(cohort_300):
    panel = cohort_300.cohort.measurements.pivot_table(
        index=["patient_id", "time"], columns="marker", values="value"
    ).dropna(subset=["total_c", "hdl_c", "tg"])
    # Each value is rounded to 0.001 mmol/L, so the identity is exact to 0.002.
    error = panel["total_c"] - panel["ldl_c"] - panel["hdl_c"] - panel["tg"] / 2.2
    assert error.abs().max() < 0.002
