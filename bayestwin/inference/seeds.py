"""Random keys: one seed in, one key per chain out, never a hidden default."""

from __future__ import annotations

import jax
import numpy as np


def check_seed(seed: object) -> int:
    """Return `seed` as a non-negative int, or raise a `TypeError`/`ValueError` that says why."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    return int(seed)


def root_key(seed: int) -> jax.Array:
    """Return the JAX key of `seed` (after `check_seed`)."""
    return jax.random.PRNGKey(check_seed(seed))


def split_key(seed: int, count: int) -> jax.Array:
    """Return `count` independent keys derived from `seed`."""
    return jax.random.split(root_key(seed), count)
