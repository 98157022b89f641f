"""Adapters that turn public reference datasets into `bayestwin.data.cohort.Cohort` objects.

`pbc_cohort` reads the Mayo Clinic PBC trial (a classic joint-model example)
and doubles as the worked example of importing a long-format clinical table.
`framingham_cohort` reads the Framingham teaching data as a primary-prevention
CVD cohort, and `split_by_participant` splits any cohort into training and
test parts.
"""

from bayestwin.adapters.framingham import (
    FRAMINGHAM_MARKER_COLUMNS,
    PREVALENT_CVD_FLAGS,
    bp_medication_periods,
    framingham_cohort,
    split_by_participant,
)
from bayestwin.adapters.pbc import (
    DEFAULT_PBC2_MARKERS,
    PBC2_MARKER_COLUMNS,
    MarkerColumn,
    melt_marker_columns,
    pbc_cohort,
)

__all__ = [
    "DEFAULT_PBC2_MARKERS",
    "FRAMINGHAM_MARKER_COLUMNS",
    "PBC2_MARKER_COLUMNS",
    "PREVALENT_CVD_FLAGS",
    "MarkerColumn",
    "bp_medication_periods",
    "framingham_cohort",
    "melt_marker_columns",
    "pbc_cohort",
    "split_by_participant",
]
