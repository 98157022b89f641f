"""Seeding: same seed, same draws; another seed, other draws; chains differ."""

import warnings

import numpy as np
import pytest

from bayestwin.exceptions import ConvergenceWarning
from bayestwin.inference import fit
from bayestwin.spec import load_spec
from bayestwin.twin.landmark import subset_cohort


def _short_fit(cohort, seed):
    # Short, shallow chains on the lipid model and a few patients, because these tests are
    # about randomness, not convergence. Depth 5 (at most 31 leapfrog steps) halves a fit's time.
    spec = load_spec("lipid_response").with_setting("inference", "max_tree_depth", 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(cohort, spec, seed=seed, chains=2, warmup=60, draws=40, progress_bar=False)


@pytest.fixture(scope="module")
def three_fits(small_simulated):
    cohort = subset_cohort(small_simulated.cohort, list(small_simulated.cohort.patients.index[:12]))
    return _short_fit(cohort, 3), _short_fit(cohort, 3), _short_fit(cohort, 4)


def test_same_seed_gives_identical_draws(three_fits):
    first, second, _ = three_fits
    np.testing.assert_array_equal(first.idata.posterior["mu_u"].values,
                                  second.idata.posterior["mu_u"].values)
    np.testing.assert_array_equal(first.idata.posterior["u"].values,
                                  second.idata.posterior["u"].values)


def test_other_seed_gives_other_draws(three_fits):
    first, _, other = three_fits
    assert not np.array_equal(first.idata.posterior["mu_u"].values,
                              other.idata.posterior["mu_u"].values)


def test_chains_differ(three_fits):
    draws = three_fits[0].idata.posterior["mu_u"].values
    assert not np.array_equal(draws[0], draws[1])


def test_seed_must_be_an_integer(small_simulated):
    with pytest.raises(TypeError, match="seed must be an integer"):
        fit(small_simulated.cohort, "lipid_response", seed=1.5)


def test_negative_seed_is_rejected(small_simulated):
    with pytest.raises(ValueError, match="non-negative"):
        fit(small_simulated.cohort, "lipid_response", seed=-1)
