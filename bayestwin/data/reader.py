"""Read a cohort folder into a validated `Cohort`.

The reader loads every table, validates all of them, and only then raises one
`CohortError` listing every problem, so that a user fixes a file in one pass.
Declarations come first (drugs, markers), then patients, whose ids, entry
dates and ends of follow-up the other tables are checked against.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from os import PathLike
from pathlib import Path

from bayestwin.data.cohort import Cohort
from bayestwin.data.problems import Findings
from bayestwin.data.records import (
    validate_diet,
    validate_events,
    validate_measurements,
    validate_microbiome,
)
from bayestwin.data.tables import RawTable, find_table_files, read_table
from bayestwin.data.treatments import validate_treatments
from bayestwin.data.units import marker_catalogue
from bayestwin.data.validate import (
    validate_drugs,
    validate_genomics,
    validate_markers,
    validate_patients,
)
from bayestwin.exceptions import CohortError

logger = logging.getLogger(__name__)


def read_cohort(
    path: str | PathLike[str],
    *,
    dayfirst: bool | None = None,
    markers: Mapping[str, str] | None = None,
) -> Cohort:
    """Read and validate a cohort folder.

    The folder contains one file per table, ``NAME.csv`` or ``NAME.parquet``:
    ``patients``, ``measurements``, ``treatments`` and ``events`` (required;
    treatments and events may contain only a header line) and optionally
    ``drugs``, ``markers``, ``genomics``, ``microbiome`` and ``diet``. The
    user guide (``docs/data-format.md``) lists the columns of each table.

    Parameters
    ----------
    path
        The cohort folder.
    dayfirst
        How to read dates such as ``03/04/2021``: True for day-first (3 April,
        the French convention), False for month-first. None (default) reads
        ISO dates and detects the order from each column: a first field above
        12 proves day-first, a second field above 12 proves month-first, and a
        column with neither proof is an error.
    markers
        Extra markers with their unit (``{"bilirubin": "mg/dL"}``), added to
        those of the cohort's ``markers`` table. Their values are kept in that
        unit.

    Returns
    -------
    Cohort
        Tables in canonical units, times in years since entry. Valid rows
        that cannot be used (measured after the end of follow-up, for
        example) are listed in ``cohort.manifest`` with their reason.

    Raises
    ------
    FileNotFoundError
        When `path` does not exist.
    CohortError
        When any table has problems; ``error.problems`` lists each with its
        file, row, column, value and fix.
    TypeError
        When `markers` is not a mapping of str to str.

    Warns
    -----
    DataWarning
        Once, counting the suspicious values that were kept (outside the
        typical range of a marker, doses between licensed doses, ...).

    """
    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"cohort folder {folder} does not exist")
    if not folder.is_dir():
        findings = Findings()
        findings.error(folder.name, None, None, None, "is a file, not a cohort folder",
                       "pass the folder that contains patients.csv and the other tables")
        raise CohortError(findings.problems)

    started = time.perf_counter()
    findings = Findings()
    files = find_table_files(folder, findings)
    tables: dict[str, RawTable | None] = {
        name: read_table(name, file, findings) for name, file in files.items()
    }

    # Declarations, then patients, then the tables that refer to patients.
    drugs = validate_drugs(tables.get("drugs"), findings)
    declared = validate_markers(tables.get("markers"), markers, findings)
    catalogue = marker_catalogue(dict(zip(declared["marker"], declared["unit"], strict=True)))

    patients = lookup = None
    if tables.get("patients") is not None:
        result = validate_patients(tables["patients"], dayfirst=dayfirst, findings=findings)
        if result is not None:
            patients, lookup = result

    options = {"dayfirst": dayfirst, "findings": findings}
    measurements = treatments = events = microbiome = diet = None
    if tables.get("measurements") is not None:
        measurements = validate_measurements(tables["measurements"], lookup, catalogue, **options)
    if tables.get("treatments") is not None:
        treatments = validate_treatments(tables["treatments"], lookup, drugs, **options)
    if tables.get("events") is not None:
        events = validate_events(tables["events"], lookup, **options)
    genomics = validate_genomics(tables.get("genomics"), lookup, findings)
    if tables.get("microbiome") is not None:
        microbiome = validate_microbiome(tables["microbiome"], lookup, **options)
    if tables.get("diet") is not None:
        diet = validate_diet(tables["diet"], lookup, **options)

    findings.raise_if_errors()
    # Without problems, every required table was read and validated.
    cohort = Cohort(
        patients=patients,
        measurements=measurements,
        treatments=treatments,
        events=events,
        drugs=drugs,
        markers=declared,
        genomics=genomics,
        microbiome=microbiome,
        diet=diet,
        manifest=findings.manifest(),
        source=str(folder),
    )
    logger.info(
        "read %d patients, %d measurements, %d treatment periods and %d events from %s "
        "in %.1f s; excluded rows: %d",
        cohort.n_patients, len(measurements), len(treatments), len(events), folder,
        time.perf_counter() - started, len(cohort.manifest),
    )
    findings.emit_warnings(stacklevel=2)
    return cohort
