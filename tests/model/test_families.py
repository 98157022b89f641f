"""Family levels with the family effect integrated out: closed forms against brute force."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from bayestwin.model import families

# Two families: patients 0-2 (patient 1 genotyped as class 1, the others not) and 3-4.
FAMILY = np.array([0, 0, 0, 1, 1])
VARIANT = np.array([-1, 1, -1, -1, -1])
CLASS_EFFECTS = np.array([0.0, 0.5, -0.3])
PRIOR = np.array([0.5, 0.3, 0.2])
CENTRE = np.array([1.0, 1.2, 0.9, 1.1, 1.3])
SPREAD, FAMILY_SPREAD = 0.2, 0.15


def structure():
    return families.FamilyStructure(jnp.asarray(FAMILY), 2)


def brute_force_log_density(value, spread, family_spread):
    """Sum over the class of each family of the multivariate normal, built explicitly."""
    total = 0.0
    for family in range(2):
        members = np.flatnonzero(FAMILY == family)
        tested = VARIANT[members] >= 0
        if tested.any():
            weights = np.bincount(VARIANT[members][tested], minlength=3) / tested.sum()
        else:
            weights = PRIOR / PRIOR.sum()
        cov = spread ** 2 * np.eye(len(members)) + family_spread ** 2
        density = 0.0
        for c in range(3):
            classes = np.where(tested, VARIANT[members], c)
            mean = CENTRE[members] + CLASS_EFFECTS[classes]
            density += weights[c] * stats.multivariate_normal(mean, cov).pdf(value[members])
        total += np.log(density)
    return total


def distribution(spread=SPREAD, family_spread=FAMILY_SPREAD):
    s = structure()
    weights = families.family_class_weights(jnp.asarray(VARIANT), s, PRIOR)
    locations = families.class_locations(jnp.asarray(CENTRE), jnp.asarray(VARIANT),
                                         jnp.asarray(CLASS_EFFECTS))
    return families.FamilyLevels(locations, jnp.log(weights), s, spread, family_spread)


def test_class_weights_follow_genotyped_relatives():
    weights = np.asarray(families.family_class_weights(jnp.asarray(VARIANT), structure(), PRIOR))
    np.testing.assert_allclose(weights[0], [0.0, 1.0, 0.0])
    np.testing.assert_allclose(weights[1], PRIOR / PRIOR.sum())


@pytest.mark.parametrize("family_spread", [0.0, FAMILY_SPREAD])
def test_log_density_matches_explicit_mixture(family_spread):
    rng = np.random.default_rng(0)
    for _ in range(5):
        value = CENTRE + rng.normal(0.0, 0.3, len(CENTRE))
        terms = distribution(family_spread=family_spread).log_prob(jnp.asarray(value))
        assert float(jnp.sum(terms)) == pytest.approx(
            brute_force_log_density(value, SPREAD, family_spread), rel=1e-5)
        if family_spread > 0:
            # A family's density sits on its first member, the others get zero.
            assert np.asarray(terms)[[1, 2, 4]].tolist() == [0.0, 0.0, 0.0]


def test_known_class_family_splits_by_patient():
    """Without a family effect, a family whose class is known gives each member its own
    term: a member's term does not depend on a relative's level."""
    d = distribution(family_spread=0.0)
    value = jnp.asarray(CENTRE + 0.1)
    jacobian = np.asarray(jax.jacfwd(d.log_prob)(value))
    family_zero = [0, 1, 2]  # one genotyped member of class 1 passes it on
    block = jacobian[np.ix_(family_zero, family_zero)]
    assert np.all(block - np.diag(np.diag(block)) == 0.0)
    expected = stats.norm(CENTRE[family_zero] + 0.5, SPREAD).logpdf(np.asarray(value)[family_zero])
    np.testing.assert_allclose(np.asarray(d.log_prob(value))[family_zero], expected, rtol=1e-5)


@pytest.mark.parametrize("far", [1e3, 1e10])
def test_split_survives_far_relative(far):
    """A relative's level far from its mean, as after an overshooting Newton step, leaves
    the first member's term exactly its own."""
    d = distribution(family_spread=0.0)
    value = jnp.asarray(CENTRE + np.array([0.1, 0.1, far, 0.1, 0.1]))
    first = float(d.log_prob(value)[0])
    assert first == pytest.approx(stats.norm(CENTRE[0] + 0.5, SPREAD).logpdf(CENTRE[0] + 0.1),
                                  rel=1e-6)
    assert np.all(np.asarray(jax.jacfwd(d.log_prob)(value))[0, 1:3] == 0.0)


def test_samples_have_the_compound_symmetric_covariance():
    d = distribution()
    draws = np.asarray(d.sample(jax.random.PRNGKey(1), (40000,)))
    # Family 0 has one class (from the genotyped relative): no mixture.
    cov = np.cov(draws[:, :3].T)
    expected = SPREAD ** 2 * np.eye(3) + FAMILY_SPREAD ** 2
    np.testing.assert_allclose(cov, expected, atol=0.0015)
    np.testing.assert_allclose(draws[:, :3].mean(axis=0), CENTRE[:3] + 0.5, atol=0.005)


def test_standardise_inverts_covariance_root():
    s = structure()
    identity = jnp.eye(len(FAMILY))
    root = np.asarray(families.unstandardise(identity, s, SPREAD, FAMILY_SPREAD))
    inverse_root = np.asarray(families.standardise(identity, s, SPREAD, FAMILY_SPREAD))
    same = (FAMILY[:, None] == FAMILY[None, :]).astype(float)
    cov = SPREAD ** 2 * np.eye(len(FAMILY)) + FAMILY_SPREAD ** 2 * same
    np.testing.assert_allclose(root @ root.T, cov, atol=1e-6)
    np.testing.assert_allclose(inverse_root @ root, np.eye(len(FAMILY)), atol=1e-6)


def test_family_effect_draws_follow_their_conditional_posterior():
    s = structure()
    # Family 1 gets one known class, so the conditional is a plain normal.
    variant = np.array([-1, 1, -1, 0, -1])
    weights = families.family_class_weights(jnp.asarray(variant), s, PRIOR)
    locations = families.class_locations(jnp.asarray(CENTRE), jnp.asarray(variant),
                                         jnp.asarray(CLASS_EFFECTS))
    level = jnp.asarray(CENTRE + np.array([0.3, 0.8, 0.1, 0.2, 0.4]))
    keys = jax.random.split(jax.random.PRNGKey(2), 20000)
    draws = np.asarray(jax.vmap(lambda k: families.draw_family_effects(
        k, level, locations, jnp.log(weights), s, SPREAD, FAMILY_SPREAD))(keys))
    # Every relative takes the genotyped member's class: 1 (effect 0.5) in family 0,
    # 0 (effect 0) in family 1.
    for family, residual in ((0, np.array([-0.2, 0.3, -0.4])), (1, np.array([0.2, 0.4]))):
        precision = 1 / FAMILY_SPREAD ** 2 + len(residual) / SPREAD ** 2
        mean = residual.sum() / SPREAD ** 2 / precision
        assert draws[:, family].mean() == pytest.approx(mean, abs=0.003)
        assert draws[:, family].std() == pytest.approx(precision ** -0.5, rel=0.03)


def test_integrating_the_family_effect_matches_quadrature():
    """The closed form equals the family effect integrated out numerically."""
    value = CENTRE + np.array([0.2, 0.6, -0.1, 0.3, -0.2])
    members = np.flatnonzero(FAMILY == 1)
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    effect = FAMILY_SPREAD * nodes
    density = 0.0
    for c, prior in enumerate(PRIOR / PRIOR.sum()):
        mean = CENTRE[members] + CLASS_EFFECTS[c]
        given = np.prod([stats.norm(mean[k] + effect, SPREAD).pdf(value[members][k])
                         for k in range(len(members))], axis=0)
        density += prior * np.sum(weights * given) / np.sqrt(2 * np.pi)
    terms = np.asarray(distribution().log_prob(jnp.asarray(value)))
    assert terms[3] == pytest.approx(np.log(density), rel=1e-6)
