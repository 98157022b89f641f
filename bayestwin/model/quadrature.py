"""Time integrals: Gauss-Legendre nodes, exact exponential pieces, B-spline bases.

LDL-C is an exponential in age between treatment changes, so the burden
integral of each piece has a closed form (`exp_segment_integral`). Hazards
are integrated by Gauss-Legendre quadrature on each piece, so the jumps of
LDL-C at treatment changes fall on piece boundaries, never inside one.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from scipy.interpolate import BSpline


def gauss_legendre(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Return nodes and weights of the `n_nodes`-point rule on [0, 1]."""
    nodes, weights = np.polynomial.legendre.leggauss(n_nodes)
    return (nodes + 1.0) / 2.0, weights / 2.0


def map_nodes(lower: np.ndarray, upper: np.ndarray, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Place Gauss-Legendre nodes on each interval [lower, upper].

    Returns nodes and weights with one more trailing axis of length `n_nodes`;
    an empty interval (upper <= lower) gets zero weights.
    """
    unit_nodes, unit_weights = gauss_legendre(n_nodes)
    width = np.clip(np.asarray(upper) - np.asarray(lower), 0.0, None)
    nodes = np.asarray(lower)[..., None] + width[..., None] * unit_nodes
    weights = width[..., None] * unit_weights
    return nodes, weights


def expm1_ratio(x):
    """Return expm1(x) / x, equal to 1 at x = 0, without cancellation near 0."""
    small = jnp.abs(x) < 1e-6
    safe = jnp.where(small, 1.0, x)
    return jnp.where(small, 1.0 + x / 2.0 + x * x / 6.0, jnp.expm1(safe) / safe)


def exp_segment_integral(log_level, slope, start, stop):
    """Integrate exp(log_level + slope * tau) over tau in [start, stop] exactly.

    Parameters are broadcastable arrays; ``stop < start`` integrates backwards.
    """
    width = stop - start
    return jnp.exp(log_level + slope * start) * width * expm1_ratio(slope * width)


def smooth_floor(x, floor: float):
    """Return a smooth positive floor of `x`: about `x` above `floor`, positive below it."""
    return floor * jnp.logaddexp(0.0, x / floor)


def bspline_basis(x: np.ndarray, knots: np.ndarray, degree: int = 3) -> np.ndarray:
    """Evaluate a clamped B-spline basis at `x` (host side, NumPy).

    Parameters
    ----------
    x
        Points; values outside the boundary knots are clamped to them, so the
        log baseline hazard is held constant beyond the data.
    knots
        Boundary and interior knots, increasing (the first and last are the
        boundary knots).
    degree
        Polynomial degree (3: cubic).

    Returns
    -------
    numpy.ndarray
        Shape ``x.shape + (len(knots) + degree - 1,)``.

    """
    knots = np.asarray(knots, dtype=float)
    full = np.concatenate([np.repeat(knots[0], degree), knots, np.repeat(knots[-1], degree)])
    n_basis = len(full) - degree - 1
    flat = np.clip(np.asarray(x, dtype=float).ravel(), knots[0], knots[-1])
    design = BSpline.design_matrix(flat, full, degree, extrapolate=False).toarray()
    return design.reshape(np.shape(x) + (n_basis,))


def spline_knots(values: np.ndarray, n_interior: int, *, lower: float, upper: float) -> np.ndarray:
    """Place interior knots at quantiles of `values` between boundary knots `lower`, `upper`."""
    inside = np.asarray(values, dtype=float)
    inside = inside[(inside > lower) & (inside < upper)]
    if inside.size < n_interior + 1:
        interior = np.linspace(lower, upper, n_interior + 2)[1:-1]
    else:
        interior = np.quantile(inside, np.linspace(0, 1, n_interior + 2)[1:-1])
    knots = np.unique(np.concatenate([[lower], interior, [upper]]))
    return knots
