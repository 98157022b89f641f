"""Each bad input raises a CohortError whose problem names file, row, column and fix."""

from __future__ import annotations

import pandas as pd
import pytest

from bayestwin.data import read_cohort
from bayestwin.data.problems import MAX_ROWS_PER_CHECK, Problem
from bayestwin.exceptions import CohortError, DataWarning


@pytest.fixture
def base(tables):
    """Return a fresh copy of one base table by name."""
    return lambda name: tables[name].copy()


def replace_cell(frame: pd.DataFrame, index: int, column: str, value: object) -> pd.DataFrame:
    """Return a copy of `frame` with one cell replaced (file row = index + 2)."""
    frame = frame.copy()
    frame[column] = frame[column].astype(object)
    frame.loc[index, column] = value
    return frame


def read_problems(folder, **kwargs) -> list[Problem]:
    with pytest.raises(CohortError) as caught:
        read_cohort(folder, **kwargs)
    return caught.value.problems


def only_problem(folder, **kwargs) -> tuple[Problem, str]:
    problems = read_problems(folder, **kwargs)
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0], str(problems[0])


def test_problem_str_format():
    problem = Problem("patients.csv", 12, "sex", "X", "is invalid; expected F or M", "write F")
    assert str(problem) == (
        "patients.csv, row 12, column sex: value 'X' is invalid; expected F or M. Fix: write F"
    )


def test_duplicate_patient_id(make_cohort, base):
    patients = base("patients")
    patients = pd.concat([patients, patients.iloc[[0]]], ignore_index=True)
    problem, text = only_problem(make_cohort(patients=patients))
    assert text.startswith("patients.csv, row 5, column patient_id: value 'P1'")
    assert "row 2" in problem.message


@pytest.mark.parametrize("table, row", [("measurements", 3), ("treatments", 2), ("events", 2)])
def test_unknown_patient(make_cohort, base, table, row):
    frame = replace_cell(base(table), row - 2, "patient_id", "P9")
    problem, text = only_problem(make_cohort(**{table: frame}))
    assert text.startswith(f"{table}.csv, row {row}, column patient_id: value 'P9'")
    assert "patients.csv" in problem.message


def test_event_before_entry(make_cohort, base):
    events = replace_cell(base("events"), 0, "date", "2015-05-02")
    problem, text = only_problem(make_cohort(events=events))
    assert text.startswith("events.csv, row 2, column date: value '2015-05-02'")
    assert "before the patient's entry" in problem.message
    assert "prior_ascvd" in problem.fix


def test_stop_before_start(make_cohort, base):
    treatments = replace_cell(base("treatments"), 1, "stop", "2013-01-01")
    problem, text = only_problem(make_cohort(treatments=treatments))
    assert text.startswith("treatments.csv, row 3, column stop: value '2013-01-01'")


def test_negative_dose(make_cohort, base):
    treatments = replace_cell(base("treatments"), 0, "dose_mg", -40.0)
    problem, text = only_problem(make_cohort(treatments=treatments))
    assert text.startswith("treatments.csv, row 2, column dose_mg: value '-40.0' is negative")


def test_unknown_drug_lists_close_names(make_cohort, base):
    treatments = replace_cell(base("treatments"), 0, "drug", "atorvastatine")
    problem, text = only_problem(make_cohort(treatments=treatments))
    assert text.startswith("treatments.csv, row 2, column drug: value 'atorvastatine'")
    assert "close names: atorvastatin" in problem.message
    assert "drugs table" in problem.fix


def test_declared_drug_is_accepted(make_cohort, base):
    treatments = replace_cell(base("treatments"), 0, "drug", "ramipril")
    treatments = replace_cell(treatments, 0, "dose_mg", 10.0)
    drugs = pd.DataFrame({"drug": ["ramipril"], "class": ["antihypertensive"]})
    cohort = read_cohort(make_cohort(treatments=treatments, drugs=drugs))
    assert cohort.treatments["drug"].tolist() == ["ramipril", "rosuvastatin"]
    assert cohort.drugs.to_dict("list") == {"drug": ["ramipril"], "class": ["antihypertensive"]}


def test_unknown_unit_lists_accepted_units(make_cohort, base):
    measurements = replace_cell(base("measurements"), 1, "unit", "mmol")
    problem, text = only_problem(make_cohort(measurements=measurements))
    assert text.startswith("measurements.csv, row 3, column unit: value 'mmol'")
    assert "mmol/L, mg/dL, g/L" in problem.message


def test_implausible_value_suggests_unit(make_cohort, base):
    measurements = replace_cell(base("measurements"), 0, "value", 160.0)
    problem, text = only_problem(make_cohort(measurements=measurements))
    assert text.startswith("measurements.csv, row 2, column value: value '160.0' is implausible")
    assert "mg/dL" in problem.fix


def test_missing_required_column_lists_columns(make_cohort, base):
    patients = base("patients").drop(columns="smoking")
    problem, text = only_problem(make_cohort(patients=patients))
    assert text.startswith("patients.csv, row 1, column smoking: required column is missing")
    assert "patient_id, sex, age_at_entry or birth_date" in problem.message


def test_empty_file(make_cohort):
    problem, text = only_problem(make_cohort(patients=""))
    assert text.startswith("patients.csv, row 1: the file is empty")


def test_header_only_patients(make_cohort, base):
    header = ",".join(base("patients").columns) + "\n"
    problem, text = only_problem(make_cohort(patients=header))
    assert text.startswith("patients.csv, row 2: the file has a header but no rows")


def test_header_only_events_is_valid(make_cohort):
    cohort = read_cohort(make_cohort(events="patient_id,time,event\n"))
    assert cohort.events.empty
    assert list(cohort.events.columns) == ["patient_id", "time", "event"]


def test_missing_required_table(make_cohort):
    problem, text = only_problem(make_cohort(events=None))
    assert text.startswith("events.csv: required table events is missing")


def test_csv_and_parquet_of_one_table(make_cohort, base):
    folder = make_cohort()
    base("events").to_parquet(folder / "events.parquet")
    problem, text = only_problem(folder)
    assert "events.csv and events.parquet" in text


def test_unknown_marker_suggests_and_says_how_to_declare(make_cohort, base):
    measurements = replace_cell(base("measurements"), 2, "marker", "ldl")
    problem, text = only_problem(make_cohort(measurements=measurements))
    assert text.startswith("measurements.csv, row 4, column marker: value 'ldl'")
    assert "close names: ldl_c" in problem.message
    assert "markers table" in problem.fix


def test_unknown_event_code(make_cohort, base):
    events = replace_cell(base("events"), 0, "event", "infarctus")
    problem, text = only_problem(make_cohort(events=events))
    assert text.startswith("events.csv, row 2, column event: value 'infarctus'")
    assert "mi" in problem.fix


def test_unknown_variant_class(make_cohort):
    genomics = pd.DataFrame({"patient_id": ["P1", "P2"], "variant_class": ["ldlr_nul", "apob"],
                             "prs": [0.3, -1.2]})
    problem, text = only_problem(make_cohort(genomics=genomics))
    assert text.startswith("genomics.csv, row 2, column variant_class: value 'ldlr_nul'")
    assert "ldlr_null" in problem.message


def test_sex_not_f_or_m(make_cohort, base):
    patients = replace_cell(base("patients"), 1, "sex", "X")
    problem, text = only_problem(make_cohort(patients=patients))
    assert text.startswith(
        "patients.csv, row 3, column sex: value 'X' is invalid; expected F or M. Fix:"
    )


def test_smoking_not_in_vocabulary(make_cohort, base):
    patients = replace_cell(base("patients"), 0, "smoking", "sometimes")
    problem, text = only_problem(make_cohort(patients=patients))
    assert text.startswith("patients.csv, row 2, column smoking: value 'sometimes'")
    assert "current, former, never" in problem.message


def test_dose_far_above_licensed_range(make_cohort, base):
    treatments = replace_cell(base("treatments"), 0, "dose_mg", 400.0)
    problem, text = only_problem(make_cohort(treatments=treatments))
    assert text.startswith("treatments.csv, row 2, column dose_mg: value '400.0'")
    assert "maximum licensed dose of atorvastatin (80 mg" in problem.message


def test_dose_between_licensed_doses_warns(make_cohort, base):
    treatments = replace_cell(base("treatments"), 0, "dose_mg", 30.0)
    with pytest.warns(DataWarning, match="between the licensed doses") as caught:
        read_cohort(make_cohort(treatments=treatments))
    assert "treatments.csv, row 2, column dose_mg" in str(caught[0].message)


def test_invalid_date(make_cohort, base):
    measurements = replace_cell(base("measurements"), 1, "date", "2016-02-30")
    problem, text = only_problem(make_cohort(measurements=measurements))
    assert text.startswith("measurements.csv, row 3, column date: value '2016-02-30' is not")


def test_number_among_dates(make_cohort, base):
    measurements = replace_cell(base("measurements"), 1, "date", "1.5")
    problem, text = only_problem(make_cohort(measurements=measurements))
    assert text.startswith("measurements.csv, row 3, column date: value '1.5' is a number")


def test_entry_after_end_of_follow_up(make_cohort, base):
    patients = replace_cell(base("patients"), 2, "end_date", "2016-01-01")
    problems = read_problems(make_cohort(patients=patients))
    text = str(problems[0])
    assert text.startswith("patients.csv, row 4, column end_date: value '2016-01-01'")
    assert "entry is after the end of follow-up" in text


def test_time_in_days_is_rejected(make_cohort):
    events = pd.DataFrame({"patient_id": ["P2"], "time": [1200.0], "event": ["mi"]})
    problem, text = only_problem(make_cohort(events=events))
    assert text.startswith("events.csv, row 2, column time: value '1200.0'")
    assert "365.25" in problem.fix


def test_mixed_lpa_units(make_cohort, base):
    measurements = pd.concat([base("measurements"), pd.DataFrame({
        "patient_id": ["P1", "P2", "P3"], "date": ["2016-01-10", "2016-03-01", "2017-06-15"],
        "marker": ["lpa"] * 3, "value": [40.0, 90.0, 120.0],
        "unit": ["mg/dL", "mg/dL", "nmol/L"],
    })], ignore_index=True)
    problem, text = only_problem(make_cohort(measurements=measurements))
    assert text.startswith("measurements.csv, row 8, column unit: value 'nmol/L'")
    assert "no fixed factor" in problem.message
    assert "assay-specific factor" in problem.fix
    assert "lpa_molar" in problem.fix


def test_adherence_in_percent(make_cohort, base):
    treatments = base("treatments").assign(adherence=[0.9, 85.0])
    problem, text = only_problem(make_cohort(treatments=treatments))
    assert text.startswith("treatments.csv, row 3, column adherence: value '85.0'")
    assert "divide percentages by 100" in problem.fix


def test_all_problems_of_a_table_reported_together(make_cohort, base):
    patients = replace_cell(base("patients"), 0, "sex", "X")
    patients = replace_cell(patients, 1, "smoking", "often")
    patients = replace_cell(patients, 2, "diabetes", "maybe")
    measurements = replace_cell(base("measurements"), 0, "unit", "mmol")
    problems = read_problems(make_cohort(patients=patients, measurements=measurements))
    places = {(problem.file, problem.row, problem.column) for problem in problems}
    assert places == {
        ("patients.csv", 2, "sex"), ("patients.csv", 3, "smoking"),
        ("patients.csv", 4, "diabetes"), ("measurements.csv", 2, "unit"),
    }


def test_many_bad_rows_are_counted_not_listed(make_cohort):
    count = MAX_ROWS_PER_CHECK + 15
    measurements = pd.DataFrame({
        "patient_id": ["P1"] * count, "date": ["2016-01-10"] * count,
        "marker": ["ldl"] * count, "value": [3.0] * count, "unit": ["mmol/L"] * count,
    })
    problems = read_problems(make_cohort(measurements=measurements))
    assert len(problems) == MAX_ROWS_PER_CHECK + 1
    summary = problems[-1]
    assert summary.row is None
    assert summary.message.startswith("15 more rows have the same problem (unknown marker)")


def test_markers_argument_must_be_mapping(make_cohort):
    with pytest.raises(TypeError, match="mapping of marker name to unit"):
        read_cohort(make_cohort(), markers=["bilirubin"])


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_cohort(tmp_path / "absent")
