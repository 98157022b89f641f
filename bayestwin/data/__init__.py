"""The cohort: file formats, schema, units, validation and conversion to arrays.

`read_cohort` reads and validates a folder of CSV or Parquet tables into a
`Cohort`, and `write_cohort` writes one back. `to_dataset` turns a cohort into
xarray arrays with named coordinates for the model.
"""

from bayestwin.data.arrays import to_dataset, to_long_dataset
from bayestwin.data.cohort import Cohort
from bayestwin.data.problems import Problem
from bayestwin.data.reader import read_cohort
from bayestwin.data.summary import cohort_summary, format_summary, write_manifest
from bayestwin.data.writer import write_cohort

__all__ = [
    "Cohort",
    "Problem",
    "cohort_summary",
    "format_summary",
    "read_cohort",
    "to_dataset",
    "to_long_dataset",
    "write_cohort",
    "write_manifest",
]
