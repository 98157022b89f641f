"""The classic joint-model simulator: event times, visits and seeding."""

import numpy as np
import pytest
from scipy.integrate import quad

from bayestwin.simulate.joint_classic import (
    JointClassicTruth,
    _event_times,
    simulate_joint_classic,
)


@pytest.mark.parametrize("slope", [-0.4, -1e-12, 0.0, 0.3, 1.2])
def test_event_time_inverts_cumulative_hazard(slope):
    log_rate = np.full(5, -2.0)
    uniform = np.array([0.05, 0.3, 0.5, 0.8, 0.99])
    times = _event_times(log_rate, np.full(5, slope), uniform)
    for time, u in zip(times, uniform, strict=True):
        if np.isinf(time):
            # A falling hazard can keep the cumulative hazard below -log(U) forever.
            assert slope < 0
            assert np.exp(-2.0) / -slope < -np.log(u)
            continue
        cumulative, _ = quad(lambda t: np.exp(-2.0 + slope * t), 0.0, time)
        assert cumulative == pytest.approx(-np.log(u), rel=1e-8)


def test_cohort_layout_and_follow_up():
    cohort = simulate_joint_classic(200, seed=3)
    assert cohort.n_patients == 200
    merged = cohort.measurements.merge(cohort.patients[["end_time"]], left_on="patient_id",
                                       right_index=True)
    assert (merged["time"] < merged["end_time"]).all()
    assert (cohort.measurements.groupby("patient_id")["time"].min() == 0.0).all()
    assert set(cohort.events["event"]) == {"death"}
    events = cohort.events.set_index("patient_id")["time"]
    assert np.allclose(events, cohort.patients.loc[events.index, "end_time"])
    low, high = JointClassicTruth().censoring
    censored = cohort.patients.drop(events.index)["end_time"]
    assert censored.between(low, high).all()


def test_event_share_plausible():
    # PBC-like defaults: about half the patients reach the endpoint (PBC: 169 of 312).
    cohort = simulate_joint_classic(2000, seed=1)
    share = len(cohort.events) / cohort.n_patients
    assert 0.3 < share < 0.7


def test_marker_follows_true_trajectory():
    truth = JointClassicTruth()
    cohort = simulate_joint_classic(300, seed=9)
    rows = cohort.measurements.merge(cohort.patients[["true_intercept", "true_slope"]],
                                     left_on="patient_id", right_index=True)
    residual = np.log(rows["value"]) - rows["true_intercept"] - rows["true_slope"] * rows["time"]
    # Thousands of residuals: their SD is within a few percent of sigma_y.
    assert residual.std() == pytest.approx(truth.sigma_y, rel=0.05)
    assert abs(residual.mean()) < 0.02


def test_same_seed_same_cohort():
    first = simulate_joint_classic(50, seed=4)
    second = simulate_joint_classic(50, seed=4)
    other = simulate_joint_classic(50, seed=5)
    assert first.measurements.equals(second.measurements)
    assert not first.measurements.equals(other.measurements)


def test_invalid_size():
    with pytest.raises(ValueError, match="n_patients"):
        simulate_joint_classic(0, seed=1)
