"""Helpers of `bayestwin.workflow` that need no fitted model."""

import numpy as np

from bayestwin.workflow import systematic_resample


def test_systematic_resample_counts():
    weights = np.array([0.5, 0.25, 0.25, 0.0])
    rows = systematic_resample(weights, np.random.default_rng(3))
    # Systematic resampling keeps each count within one of count * weight.
    np.testing.assert_array_equal(np.bincount(rows, minlength=4), [2, 1, 1, 0])


def test_systematic_resample_is_sorted_and_in_range():
    weights = np.random.default_rng(0).dirichlet(np.ones(50))
    rows = systematic_resample(weights, np.random.default_rng(1))
    assert rows.shape == (50,)
    assert np.all(np.diff(rows) >= 0)
    assert rows.min() >= 0
    assert rows.max() < 50
    assert np.all(np.abs(np.bincount(rows, minlength=50) - 50 * weights) < 1.0)
