"""Batched risks of many patients agree with the twin of each patient."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayestwin.twin.api import make_twin
from bayestwin.twin.conditioning import condition_new_patients
from bayestwin.twin.landmark import subset_cohort
from bayestwin.twin.stream import cohort_incidence, stream_risk_summaries

SCENARIOS = ["current", "atorvastatin:80"]

# The structural fit contains prior draws, some extreme, for which the conditioning's Newton
# search may stop short. These tests check batching, not the quality of the draws.
pytestmark = pytest.mark.filterwarnings("ignore::bayestwin.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def few(twin_simulated):
    return subset_cohort(twin_simulated.cohort, list(twin_simulated.cohort.patients.index[:3]))


@pytest.fixture(scope="module")
def conditioned(fh_structural_fit, few):
    return condition_new_patients(fh_structural_fit, few, seed=2, max_draws=40, steps=5)


def test_batch_equals_one_patient_at_a_time(fh_structural_fit, few, conditioned):
    offsets = np.arange(0.0, 10.0 + 1e-9, 1.0)
    start = np.full(3, 1.0) + few.patients["end_time"].to_numpy(float)
    batch = cohort_incidence(fh_structural_fit, conditioned, SCENARIOS, start=start,
                             offsets=offsets)
    for p, patient in enumerate(conditioned.patients):
        draws = {name: np.asarray(conditioned.draws[name])[:, p:p + 1]
                 for name in ("u", "v", "r_statin", "r_nonstatin", "log_s")}
        twin = make_twin(fh_structural_fit, few, patient, SCENARIOS, seed=1, start=start[p],
                         step=1.0, draws=draws, select=conditioned.draw_index)
        for label in SCENARIOS:
            single = twin.trajectories["cumulative_incidence"].sel(scenario=label).values.T
            np.testing.assert_allclose(batch[label][:, p, :], single, rtol=1e-6, atol=1e-12)


@pytest.mark.slow
def test_stream_rows_per_patient(fh_structural_fit, few):
    tables = list(stream_risk_summaries(fh_structural_fit, few, SCENARIOS, batch_size=2,
                                        max_draws=40, seed=3))
    assert [table["patient_id"].nunique() for table in tables] == [2, 1]
    rows = pd.concat(tables, ignore_index=True)
    assert sorted(rows["patient_id"].unique()) == sorted(map(str, few.patients.index))
    assert len(rows) == 3 * len(SCENARIOS) * 2  # patients x scenarios x horizons (5, 10)
    assert rows["risk"].between(0, 1).all()
    assert (rows["risk_low"] <= rows["risk"]).all()
    assert (rows["risk"] <= rows["risk_high"]).all()
