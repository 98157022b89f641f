"""Shared simulated cohorts for the simulator tests (seeded, built once per session)."""

import pytest

from bayestwin.simulate import simulate_cohort


@pytest.fixture(scope="session")
def cohort_2000():
    """A 2,000-patient cohort, the size the performance target names."""
    return simulate_cohort(2000, seed=20240601)


@pytest.fixture(scope="session")
def cohort_300():
    """A small cohort for structural and file-format checks."""
    return simulate_cohort(300, seed=7)
