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

from bayestwin.model import microbiome


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
    values.update(factor_start_values(design))
    return values


def factor_start_values(design) -> dict:
    """Return starting loadings, column scales, taxon means and spreads from the samples.

    The principal axes of the centred log-ratios, scaled to unit-variance
    factors, are rotated so that the anchor taxa load in the model's
    lower-triangular pattern with positive anchor loadings. The anchors'
    positivity splits the loadings' posterior into reflected regions, and a
    chain started near zero can settle in a minor one. So every chain starts
    in the region that the data's principal axes point to.
    """
    if "clr" not in design.arrays or "anchor_index" not in design.arrays:
        return {}
    clr = np.asarray(design.arrays["clr"], dtype=float)
    anchors = np.asarray(design.arrays["anchor_index"], dtype=int)
    n_factors = len(anchors)
    if clr.shape[0] <= n_factors:
        return {}
    mean = clr.mean(axis=0)
    _, singular, axes = np.linalg.svd(clr - mean, full_matrices=False)
    loading = axes[:n_factors].T * singular[:n_factors] / np.sqrt(clr.shape[0])
    # Rotate: loading[anchors] Q is lower triangular (QR of its transpose), then
    # flip columns so that each anchor loads positively on its own factor.
    rotation, _ = np.linalg.qr(loading[anchors].T)
    loading = loading @ rotation
    loading = loading * np.sign(np.diag(loading[anchors]))[None, :]
    scale = np.sqrt(np.mean(loading ** 2, axis=0))
    raw = loading / scale[None, :]
    free, _ = microbiome.loading_pattern(clr.shape[1], anchors)
    residual = np.var(clr, axis=0) - np.sum(loading ** 2, axis=1)
    return {"mu_taxa": mean, "psi": np.sqrt(np.maximum(residual, 0.05 ** 2)),
            "loading_scale": scale, "loading_free": raw[free],
            "loading_anchor": raw[anchors, np.arange(n_factors)]}


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
    """Return an init strategy: `values` where given, else prior medians, each jittered.

    Each start moves by a random offset in [-radius, radius] in unconstrained
    space (0.1 x radius for `values`).
    """
    return partial(_jittered, values=dict(values or {}), radius=radius)
