"""Adapter for the Framingham Heart Study teaching dataset (``frmgham2``).

The source has one row per participant and exam (exams 1-3, ``PERIOD``), with
``TIME`` in days since exam 1. Cholesterol and glucose are in mg/dL and blood
pressure in mmHg. Each outcome has an indicator (``CVD``, ``DEATH``, ...) and a
time in days (``TIMECVD``, ``TIMEDTH``, ...), repeated on every exam row of the
participant. HDL-C and LDL-C were measured
at exam 3 only. The data are NHLBI teaching data: fit for demonstrations and
method checks, not for publication.

The cohort built here is a primary-prevention cohort for the Framingham CVD
endpoint, on the time scale of years since exam 1 (365.25 days per year):

- Participants with coronary heart disease or stroke at exam 1 are excluded
  (``PREVCHD``, ``PREVAP``, ``PREVMI`` or ``PREVSTRK`` equal to 1). Angina
  (``PREVAP``) and myocardial infarction (``PREVMI``) are components of
  ``PREVCHD``, so they add no participant in this release, but they are tested
  so that an inconsistent copy cannot let a prevalent case through.
  ``PREVHYP`` is a risk factor, not CVD, and excludes nobody.
- The endpoint is the first CVD event (``event = "cvd"`` at ``TIMECVD`` when
  ``CVD == 1``). Death without a CVD event before or at death is the competing
  event ``death_other`` at ``TIMEDTH``. Follow-up ends at the first of these,
  at ``TIMECVD`` when CVD follow-up was censored early, and at 24 years.
- Exams after the end of follow-up (exams after a participant's first CVD
  event, for instance) are left out and listed in the manifest.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
import pandas as pd

from bayestwin.adapters.pbc import (
    MarkerColumn,
    TableSource,
    concat_manifests,
    manifest_rows,
    melt_marker_columns,
    read_table,
)
from bayestwin.data.cohort import Cohort
from bayestwin.data.vocabulary import CHOLESTEROL_MG_DL_PER_MMOL_L, MARKERS
from bayestwin.exceptions import CohortError

DAYS_PER_YEAR = 365.25
"""Days in a year, to convert the source times from days to years."""

GLUCOSE_MG_DL_PER_MMOL_L = 18.016
"""Glucose: 1 mmol/L = 18.016 mg/dL (molar mass of glucose 180.16 g/mol)."""

PREVALENT_CVD_FLAGS: tuple[str, ...] = ("PREVCHD", "PREVAP", "PREVMI", "PREVSTRK")
"""Exam-1 flags that exclude a participant from the primary-prevention cohort."""

_CHOLESTEROL_FACTOR = 1.0 / CHOLESTEROL_MG_DL_PER_MMOL_L

FRAMINGHAM_MARKER_COLUMNS: tuple[MarkerColumn, ...] = (
    MarkerColumn("TOTCHOL", "total_c", "mmol/L", _CHOLESTEROL_FACTOR, "mg/dL"),
    MarkerColumn("HDLC", "hdl_c", "mmol/L", _CHOLESTEROL_FACTOR, "mg/dL"),
    MarkerColumn("LDLC", "ldl_c", "mmol/L", _CHOLESTEROL_FACTOR, "mg/dL"),
    MarkerColumn("SYSBP", "sbp", "mmHg"),
    MarkerColumn("DIABP", "dbp", "mmHg"),
    MarkerColumn("BMI", "bmi", "kg/m2"),
    MarkerColumn("GLUCOSE", "glucose", "mmol/L", 1.0 / GLUCOSE_MG_DL_PER_MMOL_L, "mg/dL"),
    MarkerColumn("HEARTRTE", "heart_rate", "beats/min"),
    MarkerColumn("CURSMOKE", "smoking_current", "1"),
    MarkerColumn("CIGPDAY", "cigarettes_per_day", "cigarettes/day"),
    MarkerColumn("DIABETES", "diabetes", "1"),
)
"""Exam columns written to ``measurements``, with marker codes and units.

Smoking and diabetes are kept as time-varying 0/1 markers (unit ``1``) at each
exam, besides their exam-1 values in ``patients``, because both change between
exams and the model may use either form.
"""

BP_MEDICATION = "bp_medication"
"""Drug name of the antihypertensive treatment periods (the ``BPMEDS`` flag)."""

_REQUIRED_COLUMNS = (
    "RANDID", "SEX", "AGE", "TIME", "PERIOD", "BPMEDS", "PREVHYP", "CVD", "TIMECVD",
    "DEATH", "TIMEDTH", *PREVALENT_CVD_FLAGS, *(spec.column for spec in FRAMINGHAM_MARKER_COLUMNS),
)
_PER_PARTICIPANT_COLUMNS = ("SEX", "CVD", "TIMECVD", "DEATH", "TIMEDTH")
_SEXES = MappingProxyType({1: "M", 2: "F"})


def framingham_cohort(source: TableSource, *, max_follow_up_years: float = 24.0) -> Cohort:
    r"""Build the primary-prevention CVD cohort from the Framingham teaching data.

    Parameters
    ----------
    source
        ``frmgham2.csv`` (11,627 exam rows of 4,434 participants) or the same
        table as a DataFrame.
    max_follow_up_years
        Administrative end of follow-up in years since exam 1. The teaching
        data follow everyone for at most 24 years (8,766 days).

    Returns
    -------
    Cohort
        Canonical tables, times in years since exam 1:

        - ``patients``: ``sex``, ``age_at_entry`` (exam-1 age), ``entry_date``
          (NaT), ``end_time`` = min(``TIMECVD``, ``TIMEDTH``,
          ``max_follow_up_years``); ``prior_ascvd`` False (the prevalent cases
          are excluded); ``diabetes`` and ``hypertension`` (``PREVHYP``) at
          exam 1; ``smoking`` ``"current"`` for current smokers at exam 1 and
          ``"not_current"`` otherwise, because the data do not separate
          former from never smokers. Extra columns: ``current_smoker`` (bool),
          ``cigarettes_per_day`` and ``bp_medication`` (exam 1, nullable),
          ``education`` (source code 1-4, nullable, when the column exists).
        - ``measurements``: one row per exam and marker with a value, for the
          markers of `FRAMINGHAM_MARKER_COLUMNS`. Cholesterol is converted to
          mmol/L (mg/dL / 38.67), and so is glucose (mg/dL / 18.016).
        - ``treatments``: ``bp_medication`` periods (see Notes), dose NaN.
        - ``events``: ``cvd`` and ``death_other``, at most one per participant.
        - ``drugs``: ``bp_medication`` with class ``antihypertensive``.
        - ``markers``: the declared markers outside the built-in vocabulary.
        - ``manifest``: every exam row of an excluded participant, every exam
          after the end of follow-up and every implausible value, with the
          reason.

    Raises
    ------
    CohortError
        If a required column is missing, a participant lacks exactly one
        exam-1 row at ``TIME`` 0, an exam repeats, a per-participant outcome
        column changes between exam rows, or ``SEX`` is not 1 or 2.
    ValueError
        If ``max_follow_up_years`` is not positive.

    Notes
    -----
    Blood-pressure medication is recorded only as a flag at each exam, so each
    treatment period starts at an exam with ``BPMEDS == 1`` and stops at the
    next exam without the flag (``BPMEDS`` 0 or missing: an unknown status is
    not taken as continued treatment). A period still flagged at the last exam
    inside follow-up is ongoing, so its ``stop`` is NaN. The true start and
    stop dates lie somewhere between exams and are unknown.

    """
    if not max_follow_up_years > 0:
        raise ValueError(
            f"max_follow_up_years={max_follow_up_years!r} is invalid; expected a positive "
            "number of years."
        )

    # Read and check the exam table.
    exams, file = read_table(source, name="frmgham2")
    _check_exams(exams, file)
    exams["patient_id"] = exams["RANDID"].astype(str)
    exams["time"] = exams["TIME"] / DAYS_PER_YEAR
    baseline = exams[exams["PERIOD"] == 1].set_index("patient_id")

    # Exclude participants with prevalent CVD at exam 1, with all their exams.
    flags = baseline[list(PREVALENT_CVD_FLAGS)].eq(1)
    prevalent = flags.any(axis=1)
    flags_set = flags.apply(lambda row: "+".join(row.index[row]) + "=1", axis=1)
    excluded_rows = exams["patient_id"].map(prevalent)
    excluded_manifest = manifest_rows(
        exams[excluded_rows], file=file, column="+".join(PREVALENT_CVD_FLAGS),
        values=exams.loc[excluded_rows, "patient_id"].map(flags_set),
        reason="prevalent CHD or stroke at exam 1; excluded from the primary-prevention cohort",
    )
    baseline = baseline[~prevalent]
    exams = exams[~excluded_rows]

    # End of follow-up and the first event.
    end_time, events = _follow_up(baseline, max_follow_up_years)

    # Exams after the end of follow-up are left out.
    late = exams["time"] > exams["patient_id"].map(end_time)
    late_manifest = manifest_rows(
        exams[late], file=file, column="TIME", values=exams.loc[late, "TIME"],
        reason="exam after the end of follow-up (first CVD event, death, censoring or "
               f"{max_follow_up_years:g} years)",
    )
    exams = exams[~late]

    # Measurements, treatment periods and patients.
    measurements, value_manifest = melt_marker_columns(
        exams, columns=FRAMINGHAM_MARKER_COLUMNS, file=file
    )
    treatments = bp_medication_periods(exams)
    patients = _patients(baseline, end_time)
    declared = [spec for spec in FRAMINGHAM_MARKER_COLUMNS if spec.marker not in MARKERS]
    return Cohort(
        patients=patients,
        measurements=measurements,
        treatments=treatments,
        events=events,
        drugs=pd.DataFrame({"drug": [BP_MEDICATION], "class": ["antihypertensive"]}),
        markers=pd.DataFrame({
            "marker": [spec.marker for spec in declared],
            "unit": [spec.unit for spec in declared],
        }),
        manifest=concat_manifests([excluded_manifest, late_manifest, value_manifest]),
        source=f"Framingham Heart Study teaching data ({file})",
    )


def bp_medication_periods(exams: pd.DataFrame) -> pd.DataFrame:
    """Build ``bp_medication`` treatment periods from the per-exam ``BPMEDS`` flag.

    Parameters
    ----------
    exams
        Exam rows with ``patient_id``, ``time`` (years) and ``BPMEDS`` (1 on
        medication, 0 not, missing unknown), restricted to follow-up.

    Returns
    -------
    DataFrame
        Canonical ``treatments`` rows: a period starts at an exam flagged 1
        and stops at the next exam of the same participant that is not flagged
        1; ``stop`` is NaN when the last exam is still flagged.

    """
    # Participants keep their order of first appearance; exams go by time.
    first_seen = pd.factorize(exams["patient_id"])[0]
    ordered = exams.assign(_first_seen=first_seen).sort_values(
        ["_first_seen", "time"], kind="stable"
    )
    flagged = ordered["BPMEDS"].eq(1).to_numpy()
    patient_ids = ordered["patient_id"].to_numpy()
    times = ordered["time"].to_numpy(dtype=float)

    # A period starts where the flag switches on within a participant and
    # stops at the first later exam of that participant without the flag.
    new_patient = np.r_[True, patient_ids[1:] != patient_ids[:-1]]
    previous_flagged = np.r_[False, flagged[:-1]] & ~new_patient
    starts = np.flatnonzero(flagged & ~previous_flagged)
    rows = []
    for start in starts:
        stop = np.nan
        index = start + 1
        while index < len(times) and patient_ids[index] == patient_ids[start]:
            if not flagged[index]:
                stop = times[index]
                break
            index += 1
        rows.append((patient_ids[start], times[start], stop))

    periods = pd.DataFrame(rows, columns=["patient_id", "start", "stop"])
    return pd.DataFrame({
        "patient_id": periods["patient_id"].astype(object),
        "drug": BP_MEDICATION,
        "dose_mg": np.nan,
        "start": periods["start"].astype(float),
        "stop": periods["stop"].astype(float),
    })


def split_by_participant(
    cohort: Cohort, *, fraction: float = 0.7, seed: int | np.random.Generator
) -> tuple[Cohort, Cohort]:
    """Split a cohort at random into two cohorts with disjoint participants.

    Parameters
    ----------
    cohort
        Any cohort; all of a participant's rows go to the same part.
    fraction
        Share of participants in the first (training) part, strictly between
        0 and 1; the first part gets ``round(fraction * n_patients)`` of them.
    seed
        Seed or NumPy generator for the random permutation. There is no
        default, so that a split is reproducible only when the caller means it.

    Returns
    -------
    train, test : Cohort
        Cohorts in the original patient order. Patient-level tables are
        subset, ``drugs`` and ``markers`` are copied whole, and each part keeps
        the manifest rows of its own participants (the rows of participants
        excluded at import stay on the original cohort only).

    Raises
    ------
    ValueError
        If ``fraction`` is not strictly between 0 and 1 or leaves a part empty.

    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction={fraction!r} is invalid; expected a number in (0, 1).")
    n_train = round(fraction * cohort.n_patients)
    if not 0 < n_train < cohort.n_patients:
        raise ValueError(
            f"fraction={fraction!r} puts {n_train} of {cohort.n_patients} patients in the "
            "training part; expected both parts to be non-empty."
        )

    generator = np.random.default_rng(seed)
    chosen = generator.permutation(cohort.n_patients)[:n_train]
    in_train = np.zeros(cohort.n_patients, dtype=bool)
    in_train[chosen] = True
    train_ids = cohort.patient_ids[in_train]
    test_ids = cohort.patient_ids[~in_train]
    return (
        _subset(cohort, train_ids, label="training part"),
        _subset(cohort, test_ids, label="test part"),
    )


# Helpers --------------------------------------------------------------------

def _check_exams(exams: pd.DataFrame, file: str) -> None:
    """Raise CohortError for missing columns or an exam table that is not one row per exam."""
    missing = [column for column in _REQUIRED_COLUMNS if column not in exams.columns]
    if missing:
        raise CohortError([
            f"{file}: missing column {column!r}; expected the frmgham2 column names"
            for column in missing
        ])

    problems = []
    repeated = exams.duplicated(["RANDID", "PERIOD"], keep=False)
    problems += [
        f"{file}, row {line}, column 'PERIOD': exam {period} of participant {randid} "
        "appears more than once"
        for line, randid, period in zip(exams.loc[repeated, "line"],
                                        exams.loc[repeated, "RANDID"],
                                        exams.loc[repeated, "PERIOD"], strict=True)
    ]
    first = exams[exams["PERIOD"] == 1]
    without_first = sorted(set(exams["RANDID"]) - set(first["RANDID"]))
    problems += [
        f"{file}, column 'PERIOD': participant {randid} has no exam 1; expected every "
        "participant to enter at exam 1"
        for randid in without_first
    ]
    bad_time = ~(exams["TIME"] >= 0)
    problems += [
        f"{file}, row {line}, column 'TIME': value {time!r} is invalid; expected days "
        "since exam 1 (0 or more)"
        for line, time in zip(exams.loc[bad_time, "line"], exams.loc[bad_time, "TIME"],
                              strict=True)
    ]
    late_entry = first["TIME"] != 0
    problems += [
        f"{file}, row {line}, column 'TIME': exam 1 at day {time!r}; expected 0"
        for line, time in zip(first.loc[late_entry, "line"], first.loc[late_entry, "TIME"],
                              strict=True)
    ]
    unknown_sex = ~exams["SEX"].isin(list(_SEXES))
    problems += [
        f"{file}, row {line}, column 'SEX': value {value!r} is invalid; expected 1 (men) "
        "or 2 (women)"
        for line, value in zip(exams.loc[unknown_sex, "line"], exams.loc[unknown_sex, "SEX"],
                               strict=True)
    ]
    changing = exams.groupby("RANDID")[list(_PER_PARTICIPANT_COLUMNS)].nunique(dropna=False) > 1
    for column in _PER_PARTICIPANT_COLUMNS:
        problems += [
            f"{file}, column {column!r}: participant {randid} has different values on "
            "different exams; expected one value per participant"
            for randid in changing.index[changing[column]]
        ]
    if problems:
        raise CohortError(problems)


def _follow_up(
    baseline: pd.DataFrame, max_follow_up_years: float
) -> tuple[pd.Series, pd.DataFrame]:
    """Return the end of follow-up per participant and the events table."""
    cvd_time = baseline["TIMECVD"] / DAYS_PER_YEAR
    death_time = baseline["TIMEDTH"] / DAYS_PER_YEAR
    end_time = np.minimum(np.minimum(cvd_time, death_time), max_follow_up_years)
    end_time = end_time.rename("end_time")

    # CVD ends follow-up; a death counts only when it is the first event.
    has_cvd = baseline["CVD"].eq(1) & (cvd_time <= end_time)
    has_death = baseline["DEATH"].eq(1) & ~has_cvd & (death_time <= end_time)
    events = pd.concat([
        pd.DataFrame({"patient_id": baseline.index[has_cvd], "time": cvd_time[has_cvd],
                      "event": "cvd"}),
        pd.DataFrame({"patient_id": baseline.index[has_death], "time": death_time[has_death],
                      "event": "death_other"}),
    ], ignore_index=True)
    order = pd.Index(baseline.index).get_indexer(events["patient_id"])
    events = events.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)
    events["patient_id"] = events["patient_id"].astype(object)
    events["event"] = events["event"].astype(object)
    return end_time, events


def _patients(baseline: pd.DataFrame, end_time: pd.Series) -> pd.DataFrame:
    """Build the canonical ``patients`` table from the exam-1 rows."""
    current_smoker = baseline["CURSMOKE"].eq(1)
    patients = pd.DataFrame(
        {
            "sex": baseline["SEX"].map(_SEXES).astype(object),
            "age_at_entry": baseline["AGE"].astype(float),
            "entry_date": pd.Series(pd.NaT, index=baseline.index, dtype="datetime64[ns]"),
            "end_time": end_time.astype(float),
            "prior_ascvd": False,
            "smoking": current_smoker.map({True: "current", False: "not_current"}).astype(object),
            "diabetes": baseline["DIABETES"].eq(1),
            "hypertension": baseline["PREVHYP"].eq(1),
            "current_smoker": current_smoker,
            "cigarettes_per_day": baseline["CIGPDAY"].astype(float),
            "bp_medication": _nullable_flag(baseline["BPMEDS"]),
        },
        index=baseline.index,
    )
    if "educ" in baseline.columns:
        patients["education"] = pd.array(baseline["educ"], dtype="Int64")
    patients.index.name = "patient_id"
    return patients


def _nullable_flag(values: pd.Series) -> pd.Series:
    flag = pd.Series(pd.array(values.eq(1), dtype="boolean"), index=values.index)
    flag[values.isna()] = pd.NA
    return flag


def _subset(cohort: Cohort, patient_ids: pd.Index, *, label: str) -> Cohort:
    """Return the part of a cohort that belongs to ``patient_ids``."""
    keep = set(patient_ids)

    def rows_of(table: pd.DataFrame | None) -> pd.DataFrame | None:
        if table is None:
            return None
        return table[table["patient_id"].isin(keep)].reset_index(drop=True)

    genomics = None if cohort.genomics is None else cohort.genomics.loc[
        cohort.genomics.index.isin(keep)
    ]
    return Cohort(
        patients=cohort.patients.loc[patient_ids],
        measurements=rows_of(cohort.measurements),
        treatments=rows_of(cohort.treatments),
        events=rows_of(cohort.events),
        drugs=cohort.drugs.copy(),
        markers=cohort.markers.copy(),
        genomics=genomics,
        microbiome=rows_of(cohort.microbiome),
        diet=rows_of(cohort.diet),
        manifest=rows_of(cohort.manifest),
        source=f"{cohort.source or 'cohort'}, {label}",
    )
