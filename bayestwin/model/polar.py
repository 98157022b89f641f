"""Two spreads whose sum of squares the data fix: sampled in polar coordinates.

When a patient effect and a group effect (a family) add up, the data fix
the total variance sigma_a^2 + sigma_b^2 much better than its split, and the
posterior of (sigma_a, sigma_b) lies along an arc. NUTS walks an arc slowly:
its mass matrix can only stretch straight directions. `SpreadPair` is the
product of the two spreads' own priors, so the model does not change, but
its support maps from the unconstrained plane by

    (a, b) -> (r cos theta, r sin theta),  r = exp(a),  theta = pi/2 sigmoid(b),

so the arc becomes a line of constant a, and the split moves along b.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpyro.distributions as dist
from numpyro.distributions import constraints
from numpyro.distributions.transforms import Transform, biject_to


class _PositivePair(constraints.Constraint):
    """Pairs of positive numbers (last axis of length 2), mapped by `PolarTransform`."""

    event_dim = 1

    def __call__(self, x):
        """Return whether both numbers of each pair are positive."""
        return jnp.all(x > 0, axis=-1)

    def feasible_like(self, prototype):
        return jnp.ones_like(prototype)


positive_pair = _PositivePair()


class PolarTransform(Transform):
    """Map (log radius, logit of the angle's fraction of pi/2) to a positive pair."""

    domain = constraints.real_vector
    codomain = positive_pair

    def __call__(self, x):
        """Return (r cos theta, r sin theta) for unconstrained `x`."""
        radius = jnp.exp(x[..., 0])
        angle = 0.5 * math.pi * jax.nn.sigmoid(x[..., 1])
        return jnp.stack([radius * jnp.cos(angle), radius * jnp.sin(angle)], axis=-1)

    def _inverse(self, y):
        radius = jnp.hypot(y[..., 0], y[..., 1])
        fraction = jnp.arctan2(y[..., 1], y[..., 0]) / (0.5 * math.pi)
        return jnp.stack([jnp.log(radius), jnp.log(fraction) - jnp.log1p(-fraction)], axis=-1)

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        """Return the log absolute determinant of the map's Jacobian at `x`."""
        # d(y1, y2)/d(r, theta) = r;  dr/da = r;  dtheta/db = pi/2 s (1 - s).
        return (2.0 * x[..., 0] + math.log(0.5 * math.pi)
                + jax.nn.log_sigmoid(x[..., 1]) + jax.nn.log_sigmoid(-x[..., 1]))


@biject_to.register(_PositivePair)
def _polar_bijection(constraint):
    return PolarTransform()


class SpreadPair(dist.Distribution):
    """Two independent positive spreads, each with its own prior, as one pair site."""

    arg_constraints = {}
    support = positive_pair
    reparametrized_params = []

    def __init__(self, first: dist.Distribution, second: dist.Distribution, *,
                 validate_args=None):
        self.first, self.second = first, second
        super().__init__(batch_shape=(), event_shape=(2,), validate_args=validate_args)

    def sample(self, key, sample_shape=()):
        """Draw each spread from its own prior."""
        key_first, key_second = jax.random.split(key)
        return jnp.stack([self.first.sample(key_first, sample_shape),
                          self.second.sample(key_second, sample_shape)], axis=-1)

    def log_prob(self, value):
        """Return the sum of the two priors' log densities."""
        return self.first.log_prob(value[..., 0]) + self.second.log_prob(value[..., 1])
