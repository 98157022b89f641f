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

import jax
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


def sample_patients(design, params: dict, sample_patient, clr) -> jnp.ndarray:
    """Sample each patient's factor scores z_i, shape (N, K).

    Given the loadings and residual scales, the samples alone give z_i a
    Gaussian conditional posterior N(m_i, V_i) with precision
    P_i = I + n_i Lambda' Psi^-2 Lambda (n_i samples). The site ``z_raw``
    contains e_i with z_i = m_i + R_i'^-1 e_i (R_i R_i' = P_i), and the factor
    ``z_prior`` adds the prior of z_i and the Jacobian, so the model is
    unchanged. In e the samples' information is already whitened: NUTS no
    longer walks the ridge between the residual scale of an anchor taxon and
    the scores of every patient. A patient without a sample has m_i = 0 and
    P_i = I, so z_i = e_i.

    NOTE: `numpyro.infer.Predictive` skips the factor, so prior draws must
    use `without_samples(data)`. Otherwise z_i would lean towards the samples.
    """
    n, n_factors = design.n_patients, len(design.coords["factor"])
    weighted = params["loading"] / params["psi"][:, None] ** 2          # Psi^-2 Lambda
    count = jax.ops.segment_sum(jnp.ones(clr.shape[0]), sample_patient, num_segments=n)
    residual_sum = jax.ops.segment_sum(clr - params["mu_taxa"][None, :], sample_patient,
                                       num_segments=n)                  # (N, T)
    information = params["loading"].T @ weighted                       # Lambda' Psi^-2 Lambda
    precision = jnp.eye(n_factors) + count[:, None, None] * information[None]
    root = jnp.linalg.cholesky(precision)                               # R_i, lower
    mean = jax.scipy.linalg.cho_solve((root, True), (residual_sum @ weighted)[..., None])[..., 0]
    with numpyro.plate("patient", n, dim=-1):
        e = numpyro.sample("z_raw", dist.Normal(0.0, 1.0).expand([n_factors]).to_event(1))
        offset = jax.scipy.linalg.solve_triangular(
            jnp.swapaxes(root, -1, -2), e[..., None], lower=False)[..., 0]
        z = numpyro.deterministic("z", mean + offset)
        log_jacobian = -jnp.sum(jnp.log(jnp.diagonal(root, axis1=-2, axis2=-1)), axis=-1)
        standard = dist.Normal(0.0, 1.0)
        numpyro.factor("z_prior", jnp.sum(standard.log_prob(z) - standard.log_prob(e), axis=-1)
                       + log_jacobian)
    return z


def without_samples(data: dict) -> dict:
    """Return a copy of the model data without microbiome samples, for prior draws."""
    data = dict(data)
    if "clr" in data:
        data["clr"], data["sample_patient"] = data["clr"][:0], data["sample_patient"][:0]
    return data


def observe(params: dict, z, sample_patient, clr) -> None:
    """Add the likelihood of each sample's centred log-ratios."""
    if clr.shape[0] == 0:  # no sample: the factor scores keep their prior
        return
    mean = params["mu_taxa"][None, :] + z[sample_patient] @ params["loading"].T
    with numpyro.plate("sample", clr.shape[0]):
        numpyro.sample("clr", dist.Normal(mean, params["psi"][None, :]).to_event(1), obs=clr)
