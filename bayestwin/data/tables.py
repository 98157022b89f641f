"""Locate and load the tables of a cohort folder, as CSV or Parquet.

CSV files may come from French hospital exports. The separator (``,``, ``;``,
tab or ``|``) is the one that occurs most in the header line. The encoding is
UTF-8 with or without a byte-order mark, else Windows-1252 (the superset of
latin-1 that French Windows software writes), else latin-1. Every CSV column is loaded as a
pandas categorical of the raw strings, so that each distinct value is parsed
once, however many rows repeat it.

The index of a loaded table is the source line number of each row (header =
line 1), which every problem and manifest entry quotes.
"""

from __future__ import annotations

import codecs
import csv
import logging
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bayestwin.data.problems import Findings

logger = logging.getLogger(__name__)

REQUIRED_TABLES: tuple[str, ...] = ("patients", "measurements", "treatments", "events")
OPTIONAL_TABLES: tuple[str, ...] = ("drugs", "markers", "genomics", "microbiome", "diet")
TABLE_NAMES: tuple[str, ...] = REQUIRED_TABLES + OPTIONAL_TABLES
SUFFIXES: tuple[str, ...] = (".csv", ".parquet")

MISSING_STRINGS: tuple[str, ...] = (
    "", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "None", "#N/A",
)
"""Cell contents read as a missing value."""

_SEPARATORS = (";", ",", "\t", "|")
_CHUNK_BYTES = 1 << 20
_LINE_IN_PARSER_ERROR = re.compile(r"line (\d+)")


@dataclass
class RawTable:
    """One table as loaded from its file, before any parsing of values.

    Attributes
    ----------
    name
        Table name (``patients``, ``measurements``, ...).
    file
        File name quoted in messages (``patients.csv``).
    frame
        The rows. The index contains source line numbers (header = line 1);
        CSV columns are categoricals of stripped strings, Parquet columns
        keep their stored types. Column names are stripped and lower-cased,
        with spaces and hyphens as underscores (``Patient ID`` -> ``patient_id``).
    decimal_comma
        True when the file uses ``;`` as separator, the French convention in
        which a comma is the decimal mark.

    """

    name: str
    file: str
    frame: pd.DataFrame
    decimal_comma: bool = False

    @property
    def rows(self) -> np.ndarray:
        """Source line numbers of the rows."""
        return self.frame.index.to_numpy()

    def values_at(self, column: str, mask: np.ndarray) -> np.ndarray:
        """Return the raw values of `column` in the rows selected by `mask` (object array)."""
        return self.frame[column].iloc[np.flatnonzero(mask)].to_numpy(dtype=object)


def find_table_files(folder: Path, findings: Findings) -> dict[str, Path]:
    """Return the file of each cohort table present in `folder`.

    File names match case-insensitively. A table with both a CSV and a
    Parquet file, or a required table with neither, is a problem.
    """
    by_name: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        stem, suffix = path.stem.lower(), path.suffix.lower()
        if path.is_file() and stem in TABLE_NAMES and suffix in SUFFIXES:
            by_name.setdefault(stem, []).append(path)
        else:
            logger.debug("ignoring %s: not a cohort table", path.name)

    files: dict[str, Path] = {}
    for name in TABLE_NAMES:
        paths = by_name.get(name, [])
        if len(paths) > 1:
            names = " and ".join(path.name for path in paths)
            findings.error(
                paths[0].name, None, None, None,
                f"the {name} table has {len(paths)} files ({names})",
                f"keep one file for {name}: either {name}.csv or {name}.parquet",
            )
        elif paths:
            files[name] = paths[0]
        elif name in REQUIRED_TABLES:
            may_be_empty = " (it may contain only the header line)" if name in (
                "treatments", "events") else ""
            findings.error(
                f"{name}.csv", None, None, None,
                f"required table {name} is missing from the cohort folder {folder}",
                f"add {name}.csv or {name}.parquet{may_be_empty}",
            )
    return files


def read_table(name: str, path: Path, findings: Findings) -> RawTable | None:
    """Load one table file, or record why it cannot be loaded and return None."""
    if path.stat().st_size == 0:
        findings.error(
            path.name, 1, None, None,
            "the file is empty (0 bytes), so it has no header line",
            "write at least the header line with the column names",
        )
        return None
    if path.suffix.lower() == ".parquet":
        return _read_parquet(name, path, findings)
    return _read_csv(name, path, findings)


def detect_encoding(path: Path) -> str:
    """Return the text encoding of a CSV file.

    A UTF-8 or UTF-16 byte-order mark decides. Otherwise the whole file is
    decoded as UTF-8 in 1 MiB chunks; on failure Windows-1252 is tried, then
    latin-1, which decodes any byte.
    """
    with path.open("rb") as stream:
        head = stream.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "cp1252"):
        if _decodes_as(path, encoding):
            return encoding
    return "latin-1"


def _decodes_as(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(_CHUNK_BYTES):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _read_csv(name: str, path: Path, findings: Findings) -> RawTable | None:
    encoding = detect_encoding(path)
    if encoding not in ("utf-8", "utf-8-sig"):
        logger.info("%s is not UTF-8; reading it as %s", path.name, encoding)
    with path.open(encoding=encoding, newline="") as stream:
        header_line = stream.readline()
    separator = max(_SEPARATORS, key=header_line.count)
    if header_line.count(separator) == 0:
        separator = ","
    header = next(csv.reader([header_line], delimiter=separator), [])
    names = _column_names(path.name, header, findings)
    if names is None:
        return None

    fields_fix = (
        f"give every line the same number of {_separator_name(separator)}-separated fields "
        "as the header, and close every quoted field"
    )
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            # index_col=False: a first data line longer than the header must not
            # silently become an index column.
            frame = pd.read_csv(
                path, sep=separator, encoding=encoding, header=0, names=names,
                dtype="category", index_col=False, skip_blank_lines=False,
                na_values=list(MISSING_STRINGS), keep_default_na=False, engine="c",
            )
    except pd.errors.ParserError as error:
        match = _LINE_IN_PARSER_ERROR.search(str(error))
        findings.error(
            path.name, int(match.group(1)) if match else None, None, None,
            f"the line could not be parsed ({str(error).strip()})", fields_fix,
        )
        return None
    if any(issubclass(warning.category, pd.errors.ParserWarning) for warning in caught):
        findings.error(
            path.name, 2, None, None,
            f"the first data line has more fields than the header ({len(names)})", fields_fix,
        )
        return None

    # NOTE: a quoted field that spans several lines shifts the line numbers of
    # the rows after it, because the numbering counts records, not lines.
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
    frame = frame.loc[~frame.isna().all(axis=1)]
    frame = _strip_categories(frame)
    return _finish(name, path.name, frame, decimal_comma=separator == ";", findings=findings)


def _read_parquet(name: str, path: Path, findings: Findings) -> RawTable | None:
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as error:
        findings.error(
            path.name, None, None, None,
            f"the file could not be read as Parquet ({error})",
            "write the table again with pandas.DataFrame.to_parquet or pyarrow",
        )
        return None
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        frame = frame.reset_index()
    names = _column_names(path.name, [str(column) for column in frame.columns], findings)
    if names is None:
        return None
    frame.columns = names
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
    return _finish(name, path.name, frame, decimal_comma=False, findings=findings)


def _column_names(file: str, header: list[str], findings: Findings) -> list[str] | None:
    names = [re.sub(r"[\s-]+", "_", column.strip().lower()) for column in header]
    seen: set[str] = set()
    duplicated = False
    for position, column in enumerate(names):
        if column and column in seen:
            findings.error(
                file, 1, column, None,
                "the column name appears more than once in the header",
                "rename or remove the repeated column",
            )
            duplicated = True
        seen.add(column)
        if not column:
            names[position] = f"unnamed_{position + 1}"
    return None if duplicated else names


def _finish(
    name: str, file: str, frame: pd.DataFrame, *, decimal_comma: bool, findings: Findings
) -> RawTable | None:
    for column in [c for c in frame.columns if c.startswith("unnamed_")]:
        if frame[column].isna().all():
            # An empty trailing field, as spreadsheet exports write after a final separator.
            frame = frame.drop(columns=column)
        else:
            findings.error(
                file, 1, column, None,
                "the column has values but no name in the header",
                "give the column a name in the header (line 1) or remove it",
            )
            return None
    return RawTable(name, file, frame, decimal_comma)


def _strip_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """Strip spaces around every value and treat an all-space value as missing."""
    columns = {}
    for column in frame.columns:
        series = frame[column]
        categories = series.cat.categories
        if not categories.empty and not pd.api.types.is_string_dtype(categories.dtype):
            categories = categories.astype(str)
        stripped = pd.Index(categories.str.strip(), dtype=object)
        if stripped.equals(categories) and "" not in stripped:
            columns[column] = series
            continue
        uniques, inverse = np.unique(stripped.to_numpy(dtype=str), return_inverse=True)
        codes = series.cat.codes.to_numpy()
        new_codes = np.append(inverse, -1)[codes]
        keep = uniques != ""
        if not keep.all():
            remap = np.where(keep, np.cumsum(keep) - 1, -1)
            new_codes = np.append(remap, -1)[new_codes]
            uniques = uniques[keep]
        columns[column] = pd.Series(
            pd.Categorical.from_codes(new_codes, categories=pd.Index(uniques, dtype=object)),
            index=frame.index,
        )
    return pd.DataFrame(columns, index=frame.index)


def _separator_name(separator: str) -> str:
    return {"\t": "tab", ";": "semicolon", ",": "comma", "|": "pipe"}[separator]


def require_columns(
    table: RawTable,
    required: tuple[str | tuple[str, ...], ...],
    findings: Findings,
    *,
    exclusive: tuple[tuple[str, str], ...] = (),
    need_rows: bool = False,
) -> bool:
    """Check that `table` has its required columns; return False when it cannot be read on.

    Parameters
    ----------
    table
        The loaded table.
    required
        Column names; a tuple lists alternatives of which at least one must
        be present (``("age_at_entry", "birth_date")``).
    findings
        Collector for the problems.
    exclusive
        Pairs of columns that give the same thing (``("date", "time")``), of
        which at most one may be present.
    need_rows
        Whether a table with a header but no rows is a problem.

    """
    columns = set(table.frame.columns)
    listing = ", ".join(" or ".join(item) if isinstance(item, tuple) else item for item in required)
    complete = True
    for item in required:
        options = item if isinstance(item, tuple) else (item,)
        if not any(column in columns for column in options):
            findings.error(
                table.file, 1, " or ".join(options), None,
                f"required column is missing; the {table.name} table needs columns {listing}",
                f"add the column {' or '.join(options)} to the header (line 1)",
            )
            complete = False
    for pair in exclusive:
        if all(column in columns for column in pair):
            findings.error(
                table.file, 1, " and ".join(pair), None,
                f"the table has both columns {' and '.join(pair)}, which give the same thing",
                f"keep one of {' and '.join(pair)}",
            )
            complete = False
    if complete and need_rows and table.frame.empty:
        findings.error(
            table.file, 2, None, None,
            f"the file has a header but no rows; the {table.name} table needs at least one row",
            "add one row per patient below the header",
        )
        complete = False
    return complete


def pick_column(table: RawTable, *options: str) -> str | None:
    """Return the first of `options` that is a column of `table`, or None."""
    for column in options:
        if column in table.frame.columns:
            return column
    return None

