"""Initial values for NUTS: prior medians with a small random spread, and data-based levels.

Starting every chain at values of the right order (the patient's LDL-C level
near the mean of their log LDL-C measurements, population parameters near
their prior medians) avoids the long, deep-tree start that uniform draws on
[-2, 2] in unconstrained space cause in this model. A small random offset in
unconstrained space keeps chains apart, so R-hat can still see a chain that
is stuck elsewhere.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.distributions import biject_to
from numpyro.infer import init_to_median


def data_start_values(design) -> dict:
    """Return starting values read from the data, keyed by site name."""
    values = {}
    if "obs_log_value" in design.arrays:
        patient = design.arrays["obs_patient"]
        sums = np.bincount(patient, weights=design.arrays["obs_log_value"],
                           minlength=design.n_patients)
        counts = np.bincount(patient, minlength=design.n_patients)
        overall = float(np.mean(design.arrays["obs_log_value"]))
        values["w"] = np.where(counts > 0, sums / np.maximum(counts, 1), overall)
    return values


def _jittered(site=None, *, values: dict, radius: float):
    if site is None:
        return partial(_jittered, values=values, radius=radius)
    if site["type"] != "sample" or site["is_observed"] or site["fn"].support.is_discrete:
        return None
    if site["name"] in values:
        start = jnp.asarray(values[site["name"]], dtype=jnp.result_type(float))
        scale = 0.1 * radius
    else:
        start = init_to_median(site, num_samples=15)
        scale = radius
    if start is None:
        return None
    key = site["kwargs"].get("rng_key")
    if key is None:
        return start
    transform = biject_to(site["fn"].support)
    unconstrained = transform.inv(start)
    noise = jax.random.uniform(key, jnp.shape(unconstrained), minval=-scale, maxval=scale)
    return transform(unconstrained + noise)


def init_to_median_jittered(*, values: dict | None = None, radius: float = 0.3) -> partial:
    """Return an init strategy: `values` where given, else prior medians, each moved by a
    random offset in [-radius, radius] in unconstrained space (0.1 x radius for `values`)."""
    return partial(_jittered, values=dict(values or {}), radius=radius)
