"""Seeding: same seed, same draws; another seed, other draws; chains differ."""

import warnings

import numpy as np
import pytest

from bayestwin.exceptions import ConvergenceWarning
from bayestwin.inference import fit


def _short_fit(cohort, seed):
    # Short chains on the lipid model: these tests are about randomness, not convergence.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(cohort, "lipid_response", seed=seed, chains=2, warmup=60, draws=40,
                   progress_bar=False)


@pytest.fixture(scope="module")
def three_fits(small_simulated):
    cohort = small_simulated.cohort
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
