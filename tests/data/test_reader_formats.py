"""French exports, encodings, dates, declared markers and other accepted input forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayestwin.data import read_cohort
from bayestwin.data.vocabulary import CHOLESTEROL_MG_DL_PER_MMOL_L
from bayestwin.exceptions import CohortError

FRENCH_PATIENTS = (
    "patient_id;sex;age_at_entry;entry_date;end_date;prior_ascvd;smoking;diabetes;hypertension;"
    "centre\n"
    "P1;F;45,5;10/01/2015;30/06/2022;non;never;non;oui;Hôpital Édouard Herriot\n"
    "P2;M;52;21/03/2016;01/01/2021;oui;current;oui;non;Pitié-Salpêtrière\n"
)
FRENCH_MEASUREMENTS = (
    "patient_id;date;marker;value;unit\n"
    "P1;10/01/2015;ldl_c;1,60;g/l\n"
    "P1;10/01/2016;tg;1,35;g/L\n"
    "P2;21/03/2016;ldl_c;4,1;mmol/L\n"
)
FRENCH_TREATMENTS = "patient_id;drug;dose_mg;start;stop\nP1;Atorvastatin;40;15/02/2015;\n"
FRENCH_EVENTS = "patient_id;date;event\nP2;22/05/2019;mi\n"


def write_french(folder, encoding: str) -> None:
    # Each date column has a day above 12, which proves the day-first order.
    folder.mkdir()
    for name, text in (("patients", FRENCH_PATIENTS), ("measurements", FRENCH_MEASUREMENTS),
                       ("treatments", FRENCH_TREATMENTS), ("events", FRENCH_EVENTS)):
        (folder / f"{name}.csv").write_bytes(text.encode(encoding))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "latin-1"])
def test_french_export(tmp_path, encoding):
    write_french(tmp_path / "export", encoding)
    cohort = read_cohort(tmp_path / "export")

    values = cohort.measurements["value"].to_numpy()
    # 1 g/L = 100 mg/dL, and 38.67 mg/dL of cholesterol is 1 mmol/L; TG: 88.57 mg/dL.
    assert values[0] == pytest.approx(160 / CHOLESTEROL_MG_DL_PER_MMOL_L, rel=1e-12)
    assert round(values[0], 2) == 4.14
    assert values[1] == pytest.approx(135 / 88.57, rel=1e-12)
    assert values[2] == 4.1
    assert cohort.measurements["unit"].tolist() == ["mmol/L"] * 3

    patients = cohort.patients
    assert patients.loc["P1", "age_at_entry"] == 45.5
    assert patients.loc["P1", "centre"] == "Hôpital Édouard Herriot"
    assert patients["hypertension"].tolist() == [True, False]
    assert patients.loc["P1", "entry_date"] == pd.Timestamp("2015-01-10")
    # 10/01/2016 is 10 January: one year (365 days) after entry.
    assert cohort.measurements["time"].iloc[1] == pytest.approx(365 / 365.25)
    assert cohort.treatments["drug"].tolist() == ["atorvastatin"]


def test_ambiguous_dates_are_an_error(make_cohort, tables):
    measurements = tables["measurements"].assign(
        date=["10/01/2015", "10/01/2016", "01/03/2016", "06/07/2017"])
    with pytest.raises(CohortError) as caught:
        read_cohort(make_cohort(measurements=measurements))
    problem = caught.value.problems[0]
    assert str(problem).startswith("measurements.csv, row 2, column date: value '10/01/2015'")
    assert "ambiguous" in problem.message
    assert "dayfirst=True" in problem.fix


def test_dayfirst_argument_reads_ambiguous_dates(make_cohort, tables):
    measurements = tables["measurements"].assign(
        date=["10/01/2015", "10/01/2016", "01/03/2016", "06/07/2017"])
    folder = make_cohort(measurements=measurements)
    day_first = read_cohort(folder, dayfirst=True)
    assert day_first.measurements["time"].tolist()[:2] == [0.0, 365 / 365.25]
    month_first = read_cohort(folder, dayfirst=False)
    # 10/01/2015 read month-first is 1 October 2015, 264 days after entry.
    assert month_first.measurements["time"].iloc[0] == pytest.approx(264 / 365.25)


def test_column_proves_day_first(make_cohort, tables):
    measurements = tables["measurements"].assign(
        date=["10/01/2015", "25/12/2015", "01/03/2016", "06/07/2017"])
    cohort = read_cohort(make_cohort(measurements=measurements))
    assert cohort.measurements["time"].iloc[0] == 0.0
    assert cohort.measurements["time"].iloc[3] == pytest.approx(21 / 365.25)


def test_column_mixing_orders_is_an_error(make_cohort, tables):
    measurements = tables["measurements"].assign(
        date=["10/01/2015", "25/12/2015", "03/25/2016", "06/07/2017"])
    with pytest.raises(CohortError) as caught:
        read_cohort(make_cohort(measurements=measurements))
    text = str(caught.value.problems[0])
    assert text.startswith("measurements.csv, row 3, column date: value '25/12/2015'")
    assert "row 4" in text


def test_numeric_times_and_numeric_entry(make_cohort, tables):
    patients = tables["patients"].drop(columns=["entry_date", "end_date"]).assign(
        end_time=[7.5, 4.8, 5.5])
    measurements = tables["measurements"].drop(columns="date").assign(time=[0, 1.0, 0.5, 2.25])
    treatments = tables["treatments"].assign(start=[-3.5, 0.0], stop=[np.nan, 3.0])
    events = pd.DataFrame({"patient_id": ["P2"], "time": [3.2], "event": ["mi"]})
    cohort = read_cohort(make_cohort(patients=patients, measurements=measurements,
                                     treatments=treatments, events=events))
    assert cohort.patients["entry_date"].isna().all()
    assert cohort.patients["end_time"].tolist() == [7.5, 4.8, 5.5]
    assert cohort.treatments["start"].tolist() == [-3.5, 0.0]
    assert np.isnan(cohort.treatments["stop"].iloc[0])


def test_birth_date_gives_age_and_is_dropped(make_cohort, tables):
    patients = tables["patients"].drop(columns="age_at_entry").assign(
        birth_date=["1970-01-10", "1964-03-01", "1979-06-15"])
    cohort = read_cohort(make_cohort(patients=patients))
    assert "birth_date" not in cohort.patients.columns
    # 45 years from 1970-01-10 to 2015-01-10 span 16,436 days.
    assert cohort.patients.loc["P1", "age_at_entry"] == pytest.approx(16436 / 365.25)


def test_declared_marker_keeps_its_unit(make_cohort, tables):
    measurements = pd.concat([tables["measurements"], pd.DataFrame({
        "patient_id": ["P1"], "date": ["2016-01-10"], "marker": ["bilirubin"],
        "value": [1.4], "unit": ["mg/dl"],
    })], ignore_index=True)
    folder = make_cohort(measurements=measurements)
    cohort = read_cohort(folder, markers={"bilirubin": "mg/dL"})
    row = cohort.measurements.iloc[-1]
    assert (row["marker"], row["value"], row["unit"]) == ("bilirubin", 1.4, "mg/dL")
    assert cohort.markers.to_dict("list") == {"marker": ["bilirubin"], "unit": ["mg/dL"]}

    table = pd.DataFrame({"marker": ["bilirubin"], "unit": ["mg/dL"]})
    from_table = read_cohort(make_cohort("with_table", measurements=measurements, markers=table))
    pd.testing.assert_frame_equal(from_table.measurements, cohort.measurements)


def test_lpa_g_per_l_to_mg_per_dl(make_cohort, tables):
    measurements = pd.concat([tables["measurements"], pd.DataFrame({
        "patient_id": ["P1", "P2"], "date": ["2016-01-10", "2016-03-01"],
        "marker": ["lpa", "lpa"], "value": [0.45, 30.0], "unit": ["g/L", "mg/dL"],
    })], ignore_index=True)
    cohort = read_cohort(make_cohort(measurements=measurements))
    lpa = cohort.measurements[cohort.measurements["marker"] == "lpa"]
    assert lpa["value"].tolist() == [45.0, 30.0]
    assert lpa["unit"].tolist() == ["mg/dL", "mg/dL"]


def test_hba1c_mmol_per_mol_converts_to_percent(make_cohort, tables):
    measurements = pd.concat([tables["measurements"], pd.DataFrame({
        "patient_id": ["P2"], "date": ["2016-03-01"], "marker": ["hba1c"],
        "value": [53.0], "unit": ["mmol/mol"],
    })], ignore_index=True)
    cohort = read_cohort(make_cohort(measurements=measurements))
    # IFCC-NGSP master equation: 53 mmol/mol is 7.0 %.
    assert cohort.measurements["value"].iloc[-1] == pytest.approx(7.0, abs=0.01)
    assert cohort.measurements["unit"].iloc[-1] == "%"


def test_parquet_tables(tmp_path, tables):
    folder = tmp_path / "parquet"
    folder.mkdir()
    patients = tables["patients"].assign(
        entry_date=pd.to_datetime(tables["patients"]["entry_date"]),
        prior_ascvd=[False, True, False],
    )
    patients.to_parquet(folder / "patients.parquet", index=False)
    for name in ("measurements", "treatments", "events"):
        tables[name].to_parquet(folder / f"{name}.parquet", index=False)
    cohort = read_cohort(folder)
    assert cohort.patients["prior_ascvd"].tolist() == [False, True, False]
    assert cohort.measurements["value"].tolist() == [5.2, 3.1, 4.4, 1.3]


def test_blank_lines_keep_line_numbers(make_cohort):
    text = (
        "patient_id,date,marker,value,unit\n"
        "P1,2015-01-10,ldl_c,5.2,mmol/L\n"
        "\n"
        "P1,2016-01-10,ldl_c,abc,mmol/L\n"
    )
    with pytest.raises(CohortError) as caught:
        read_cohort(make_cohort(measurements=text))
    assert str(caught.value.problems[0]).startswith("measurements.csv, row 4, column value")


def test_header_spelling_and_trailing_separator(make_cohort):
    text = (
        "Patient ID;Date;Marker;Value;Unit;\n"
        "P1;2015-01-10;LDL_C;5,2;MMOL/L;\n"
    )
    cohort = read_cohort(make_cohort(measurements=text))
    assert cohort.measurements.iloc[0].tolist() == ["P1", 0.0, "ldl_c", 5.2, "mmol/L"]


def test_ragged_line_is_reported(make_cohort):
    text = "patient_id,date,event\nP2,2019-05-02,mi,extra\n"
    with pytest.raises(CohortError) as caught:
        read_cohort(make_cohort(events=text))
    assert str(caught.value.problems[0]).startswith("events.csv, row 2:")
