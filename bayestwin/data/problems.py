"""Problems, warnings and exclusions found while reading a cohort.

The reader never stops at the first bad value. Each check hands its findings to
a `Findings` collector: errors become `Problem` objects that end the read with
one `CohortError`, suspicious values are counted into one `DataWarning`, and
valid rows that cannot be used go to the exclusion manifest. Checks pass whole
arrays of rows, so only the first few problems of each check are formatted
with a Python loop.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayestwin.data.cohort import MANIFEST_COLUMNS, empty_manifest
from bayestwin.exceptions import CohortError, DataWarning

MAX_ROWS_PER_CHECK = 20
"""Rows listed one by one for each check before the rest are counted in one problem."""


def plain_value(value: object) -> object:
    """Return `value` as a built-in Python scalar so that its repr reads like the file."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return value


@dataclass(frozen=True)
class Problem:
    """One invalid finding in a cohort source.

    Attributes
    ----------
    file
        File name as the user sees it (``patients.csv``), or the argument that
        carried the value (``markers argument``).
    row
        1-based line number in the file, header = line 1. For a Parquet file,
        the line the row would have in the same table written as CSV. ``None``
        when the problem concerns the whole file or column.
    column
        Column name, or ``None`` when the problem concerns the whole file.
    value
        The value as read, or ``None`` when the cell is missing or the problem
        is not about one value.
    message
        What is wrong. It follows the value in ``str(problem)``, so it reads
        like ``is invalid; expected F or M``.
    fix
        What to change in the source.

    """

    file: str
    row: int | None
    column: str | None
    value: object
    message: str
    fix: str

    def __str__(self) -> str:
        place = [self.file]
        if self.row is not None:
            place.append(f"row {self.row}")
        if self.column is not None:
            place.append(f"column {self.column}")
        if self.value is None:
            text = self.message
        else:
            text = f"value {plain_value(self.value)!r} {self.message}"
        return f"{', '.join(place)}: {text}. Fix: {self.fix}"


MessageFor = str | Callable[[object], str]


@dataclass
class _WarningCount:
    count: int
    example: str


@dataclass
class Findings:
    """Collector of the problems, warnings and exclusions of one read.

    Attributes
    ----------
    problems
        Errors found so far, at most `MAX_ROWS_PER_CHECK` listed rows per check.

    """

    problems: list[Problem] = field(default_factory=list)
    _warnings: dict[str, _WarningCount] = field(default_factory=dict)
    _exclusions: list[pd.DataFrame] = field(default_factory=list)

    def error(
        self,
        file: str,
        row: int | None,
        column: str | None,
        value: object,
        message: str,
        fix: str,
    ) -> None:
        """Record one problem."""
        self.problems.append(Problem(file, row, column, plain_value(value), message, fix))

    def error_rows(
        self,
        check: str,
        file: str,
        column: str,
        rows: np.ndarray,
        values: Sequence[object] | np.ndarray | pd.Series,
        message: MessageFor,
        fix: MessageFor,
    ) -> None:
        """Record one problem per row, listing at most `MAX_ROWS_PER_CHECK` rows.

        Parameters
        ----------
        check
            Short name of the check (``unknown marker``), used when the rows
            beyond the limit are counted in one summary problem.
        file, column
            Where the values come from.
        rows
            Source line numbers of the bad rows.
        values
            The bad values, aligned with `rows`. A missing value (NaN or None)
            is reported as a missing cell.
        message, fix
            Text, or a function of the value that returns the text.

        """
        rows = np.asarray(rows)
        if rows.size == 0:
            return
        values = np.asarray(values, dtype=object)
        listed_count = min(rows.size, MAX_ROWS_PER_CHECK)
        pairs = zip(rows[:listed_count].tolist(), values[:listed_count].tolist(), strict=True)
        for row, value in pairs:
            if _is_missing(value):
                value = None
            text = message(value) if callable(message) else message
            remedy = fix(value) if callable(fix) else fix
            self.error(file, int(row), column, value, text, remedy)
        if rows.size > listed_count:
            rest = rows[listed_count:]
            next_rows = ", ".join(str(row) for row in rest[:10].tolist())
            more = ", ..." if rest.size > 10 else ""
            remedy = fix(None) if callable(fix) else fix
            self.error(
                file, None, column, None,
                f"{rest.size} more rows have the same problem ({check}): rows {next_rows}{more}",
                remedy,
            )

    def warn_rows(
        self, kind: str, file: str, column: str, rows: np.ndarray, values: np.ndarray | pd.Series
    ) -> None:
        """Count suspicious values of one kind; the first one is quoted as an example."""
        rows = np.asarray(rows)
        if rows.size == 0:
            return
        first_value = plain_value(np.asarray(values, dtype=object)[0])
        example = f"{file}, row {int(rows[0])}, column {column}, value {first_value!r}"
        if kind in self._warnings:
            self._warnings[kind].count += int(rows.size)
        else:
            self._warnings[kind] = _WarningCount(int(rows.size), example)

    def exclude_rows(
        self,
        file: str,
        column: str,
        rows: np.ndarray,
        patient_ids: np.ndarray | pd.Series,
        values: np.ndarray | pd.Series,
        reason: str,
    ) -> None:
        """Add valid but unusable rows to the exclusion manifest."""
        rows = np.asarray(rows)
        if rows.size == 0:
            return
        values = pd.Series(np.asarray(values, dtype=object))
        text_values = values.map(plain_value).astype(str).where(values.notna(), "")
        chunk = pd.DataFrame({
            "file": file,
            "row": rows.astype("int64"),
            "patient_id": np.asarray(patient_ids, dtype=object),
            "column": column,
            "value": text_values.to_numpy(dtype=object),
            "reason": reason,
        })
        self._exclusions.append(chunk)

    def raise_if_errors(self) -> None:
        """Raise `CohortError` with every problem recorded so far, if any.

        Problems are grouped by file, in the order the files were checked,
        and sorted by row within a file; whole-file problems come first.
        """
        if not self.problems:
            return
        file_rank: dict[str, int] = {}
        for problem in self.problems:
            file_rank.setdefault(problem.file, len(file_rank))
        ordered = sorted(
            self.problems,
            key=lambda problem: (
                file_rank[problem.file],
                _row_rank(problem),
            ),
        )
        raise CohortError(ordered)

    def manifest(self) -> pd.DataFrame:
        """Return the exclusion manifest, sorted by file and row."""
        if not self._exclusions:
            return empty_manifest()
        manifest = pd.concat(self._exclusions, ignore_index=True)
        manifest = manifest.sort_values(["file", "row"], kind="stable", ignore_index=True)
        manifest["row"] = manifest["row"].astype("int64")
        return manifest[list(MANIFEST_COLUMNS)]

    def emit_warnings(self, *, stacklevel: int) -> None:
        """Issue one `DataWarning` that counts the suspicious values of each kind.

        Parameters
        ----------
        stacklevel
            Passed to `warnings.warn`, counted from this method's caller, so
            that the warning points at the line that called the reader.

        """
        if not self._warnings:
            return
        total = sum(entry.count for entry in self._warnings.values())
        lines = [f"{total} suspicious value{'s' if total != 1 else ''} kept as read:"]
        for kind, entry in self._warnings.items():
            lines.append(f"  - {entry.count} x {kind} (first: {entry.example})")
        warnings.warn("\n".join(lines), DataWarning, stacklevel=stacklevel + 1)


def _row_rank(problem: Problem) -> float:
    """Sort key: whole-file problems first, rows in order, row summaries after their rows."""
    if problem.row is not None:
        return float(problem.row)
    return np.inf if problem.column is not None else -np.inf


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return value is pd.NaT or value is pd.NA

