"""Time integrals against fine-grid references (relative error below 1e-4)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad

from bayestwin.model.quadrature import (
    bspline_basis,
    exp_segment_integral,
    expm1_ratio,
    map_nodes,
    spline_knots,
)

jax.config.update("jax_enable_x64", True)


@pytest.mark.parametrize("slope", [0.0, 1e-9, 0.004, -0.03, 0.2])
def test_exp_segment_integral_matches_quad(slope):
    log_level, start, stop = 1.7, 12.5, 47.25
    exact = float(exp_segment_integral(log_level, slope, start, stop))
    reference, _ = quad(lambda t: np.exp(log_level + slope * t), start, stop, epsabs=0,
                        epsrel=1e-12)
    assert exact == pytest.approx(reference, rel=1e-10)


def test_expm1_ratio_is_smooth_at_zero():
    x = jnp.array([-1e-7, 0.0, 1e-7])
    np.testing.assert_allclose(expm1_ratio(x), [1.0, 1.0, 1.0], rtol=1e-6)


def test_gauss_legendre_hazard_integral_matches_fine_grid():
    # A hazard of the model's shape: spline-like baseline in age times an
    # exponential LDL-C term, on a window cut at a treatment change.
    def log_hazard(age, level):
        trend = -6.0 + 0.08 * (age - 40.0) + 0.01 * np.sin(age / 3.0)
        return trend + 0.25 * np.exp(level + 0.01 * age)

    pieces = [(45.0, 52.3, 1.8), (52.3, 60.0, 0.9)]
    total = 0.0
    reference = 0.0
    for start, stop, level in pieces:
        nodes, weights = map_nodes(np.array([start]), np.array([stop]), 7)
        total += float(np.sum(weights * np.exp(log_hazard(nodes, level))))
        grid = np.linspace(start, stop, 200_001)
        reference += np.trapezoid(np.exp(log_hazard(grid, level)), grid)
    # The trapezoid grid error is about 1e-10 here, far below the 1e-4 requirement.
    assert abs(total - reference) / reference < 1e-4


def test_empty_interval_has_zero_weight():
    _, weights = map_nodes(np.array([3.0]), np.array([3.0]), 5)
    assert np.all(weights == 0.0)


def test_bspline_basis_is_partition_of_unity():
    knots = spline_knots(np.linspace(40, 80, 50), 3, lower=30.0, upper=90.0)
    basis = bspline_basis(np.linspace(20.0, 100.0, 101), knots)
    np.testing.assert_allclose(basis.sum(axis=-1), 1.0, atol=1e-12)
    assert basis.shape == (101, len(knots) + 2)
