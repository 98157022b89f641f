"""Fixtures that locate the public reference datasets, skipping when they are absent."""

from pathlib import Path

import pytest

from bayestwin.testing import require_shared_file, shared_data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    folder = shared_data_dir()
    if folder is None:
        pytest.skip("reference data folder not found: set BAYESTWIN_SHARED_DATA or place the "
                    "datasets in shared/data beside the repository checkout")
    return folder


@pytest.fixture(scope="session")
def frmgham2_path() -> Path:
    return require_shared_file("frmgham2.csv")
