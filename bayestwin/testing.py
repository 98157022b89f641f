"""Helpers for tests that read the public reference datasets.

The datasets (Mayo PBC, Framingham teaching data, ...) are never copied into
the package or the repository. Tests read them from a folder named by the
``BAYESTWIN_SHARED_DATA`` environment variable or, when that is unset, from
``shared/data`` beside the repository checkout, and skip when neither exists.
"""

from __future__ import annotations

import os
from pathlib import Path

SHARED_DATA_ENV = "BAYESTWIN_SHARED_DATA"
"""Environment variable that names the folder of reference datasets."""


def shared_data_dir() -> Path | None:
    """Locate the folder of reference datasets, or return None when it is absent.

    The ``BAYESTWIN_SHARED_DATA`` environment variable wins when it is set, even
    when it names a folder that does not exist (the result is then None, so a
    wrong setting skips tests instead of silently reading another copy).
    Otherwise the folder is ``shared/data`` next to the repository root, which
    exists only in a source checkout.
    """
    configured = os.environ.get(SHARED_DATA_ENV)
    if configured:
        folder = Path(configured).expanduser()
    else:
        repository_root = Path(__file__).resolve().parents[1]
        folder = repository_root.parent / "shared" / "data"
    return folder if folder.is_dir() else None


def require_shared_file(name: str) -> Path:
    """Return the path of a reference dataset, or skip the calling test.

    Parameters
    ----------
    name
        File name inside the reference data folder, for example ``"pbc2.csv"``.

    Returns
    -------
    Path
        Path of the file.

    Notes
    -----
    Call this only from a test or fixture: it imports pytest and calls
    `pytest.skip` with the reason when the folder or the file is missing.

    """
    import pytest

    folder = shared_data_dir()
    if folder is None:
        pytest.skip(
            f"reference data folder not found: set {SHARED_DATA_ENV} or place the "
            "datasets in shared/data beside the repository checkout"
        )
    path = folder / name
    if not path.is_file():
        pytest.skip(f"reference dataset {name} not found in {folder}")
    return path
