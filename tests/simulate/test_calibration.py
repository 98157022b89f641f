"""Calibration targets: each published figure against the simulated cohort.

The table in docs/simulator.md comes from the same cohort (20,000 patients,
seed 2026), so this test also fails when the documentation goes stale.
"""

import re
from pathlib import Path

import numpy as np
import pytest

from bayestwin.simulate import TARGETS, calibration_table, markdown_table, simulate_cohort
from bayestwin.simulate.config import SAMS_EXCESS_PER_1000_PY_FIRST_YEAR

DOCS = Path(__file__).resolve().parents[2] / "docs" / "simulator.md"
CALIBRATION_PATIENTS = 20_000
CALIBRATION_SEED = 2026


@pytest.fixture(scope="module")
def table():
    # At 20,000 patients every statistic sat at least 4 Monte Carlo SD inside
    # its accepted range over 8 seeds; the cohort takes a few seconds.
    return calibration_table(simulate_cohort(CALIBRATION_PATIENTS, seed=CALIBRATION_SEED))


@pytest.mark.parametrize("key", [target.key for target in TARGETS])
def test_target_within_range(table, key):
    row = table.set_index("key").loc[key]
    assert row["low"] <= row["simulated"] <= row["high"], (
        f"{row['target']} ({row['subpopulation']}): simulated {row['simulated']:.4g}, "
        f"accepted {row['low']:.4g} to {row['high']:.4g} ({row['reason']})"
    )


def test_targets_are_unique_and_cover_published():
    keys = [target.key for target in TARGETS]
    assert len(keys) == len(set(keys))
    for target in TARGETS:
        assert target.low <= target.high, target.key
        assert target.reason, target.key


def test_documentation_table_is_current(table):
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"<!-- calibration-table -->\n(.*?)<!-- /calibration-table -->", text, re.S)
    assert match, "docs/simulator.md lost its calibration-table markers"
    assert match.group(1) == markdown_table(table), (
        "docs/simulator.md is out of date; regenerate the table with the command it shows"
    )


def test_statin_muscle_symptom_constant():
    # CTT 2022: excess of 11 (6-16) per 1000 person-years in year 1.
    assert SAMS_EXCESS_PER_1000_PY_FIRST_YEAR == 11.0


def test_small_cohort_stays_near_targets():
    # At 2,000 patients only the low-noise targets are checked: shares and
    # drug effects, whose binomial SE is at most 1.1 points there.
    small = calibration_table(simulate_cohort(2000, seed=77)).set_index("key")
    for key in ("variant_found", "lpa_above_50", "jupiter_50", "jupiter_none", "ctt"):
        assert small.loc[key, "within"], key
    assert np.isfinite(small["simulated"]).all()
