"""Microbiome factors: centred log-ratios of counts from a few latent factors.

    clr(counts_s) ~ Normal(mu + Lambda z_i(s), diag psi),   z_i ~ Normal(0, I)

One anchor taxon per factor, chosen from the data's principal axes when the
cohort is fitted, loads positively on its factor and not on later ones
(a lower-triangular pattern up to the order of the taxa), which removes the
rotation and sign freedom of factor models; each factor's column has its own
half-normal scale (shrinkage). A patient without a sample keeps z_i from its
prior, so no patient is dropped.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from bayestwin.model import priors
from bayestwin.spec import ModelSpec


def loading_pattern(n_taxa: int, anchors) -> tuple[np.ndarray, np.ndarray]:
    """Return the (row, column) indices of the free loadings and of the positive ones.

    The anchor of factor k has a positive loading on factor k, free loadings
    on factors before k and zeros after k. Every other taxon loads freely.
    """
    anchors = [int(a) for a in anchors]
    n_factors = len(anchors)
    free = np.ones((n_taxa, n_factors), dtype=bool)
    for k, row in enumerate(anchors):
        free[row, k:] = False
    positive = (np.array(anchors, dtype=int), np.arange(n_factors))
    return np.nonzero(free), positive


def sample_population(spec: ModelSpec, design) -> dict:
    """Sample taxon means, anchored loadings with column shrinkage, and residual scales."""
    n_taxa = len(design.coords["taxon"])
    n_factors = len(design.coords["factor"])
    mu = priors.sample(spec, "mu_taxa", (n_taxa,))
    psi = priors.sample(spec, "psi", (n_taxa,))
    column_scale = priors.sample(spec, "loading_scale", (n_factors,))
    free, positive = loading_pattern(n_taxa, design.arrays["anchor_index"])
    free_raw = numpyro.sample("loading_free", dist.Normal(0.0, 1.0).expand([len(free[0])]))
    anchor_raw = numpyro.sample("loading_anchor", dist.HalfNormal(1.0).expand([n_factors]))
    raw = jnp.zeros((n_taxa, n_factors)).at[free].set(free_raw).at[positive].set(anchor_raw)
    loading = numpyro.deterministic("loading", raw * column_scale[None, :])
    return {"mu_taxa": mu, "psi": psi, "loading": loading}


def sample_patients(design) -> jnp.ndarray:
    """Sample each patient's factor scores z_i, shape (N, K)."""
    n_factors = len(design.coords["factor"])
    with numpyro.plate("patient", design.n_patients, dim=-1):
        z = numpyro.sample("z", dist.Normal(0.0, 1.0).expand([n_factors]).to_event(1))
    return z


def observe(params: dict, z, sample_patient, clr) -> None:
    """Add the likelihood of each sample's centred log-ratios."""
    if clr.shape[0] == 0:  # no sample: the factor scores keep their prior
        return
    mean = params["mu_taxa"][None, :] + z[sample_patient] @ params["loading"].T
    with numpyro.plate("sample", clr.shape[0]):
        numpyro.sample("clr", dist.Normal(mean, params["psi"][None, :]).to_event(1), obs=clr)
