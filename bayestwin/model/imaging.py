"""Imaging: coronary calcium as a hurdle on the burden, plaque volume and CIMT.

    P(CAC > 0) = logistic(kappa0 + kappa1 log(B / B_ref))
    log CAC | CAC > 0 ~ Normal(lambda0 + lambda1 log(B / B_ref), sigma_cac)

Plaque volume (mm3) and carotid IMT (mm) are log-normal in the same way.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist

from bayestwin.model import priors
from bayestwin.spec import ModelSpec


def sample_population(spec: ModelSpec) -> dict:
    """Sample the intercepts, slopes and noise of each imaging measure switched on."""
    settings = spec.section("imaging")
    params = {}
    names = []
    if settings.cac:
        names += ["kappa0", "kappa1", "lambda0", "lambda1", "sigma_cac"]
    if settings.plaque_volume:
        names += ["plaque0", "plaque1", "sigma_plaque"]
    if settings.cimt:
        names += ["cimt0", "cimt1", "sigma_cimt"]
    for name in names:
        params[name] = priors.sample(spec, name)
    return params


def cac_positive_logit(params: dict, log_burden):
    """Return the log-odds that CAC is above zero."""
    return params["kappa0"] + params["kappa1"] * log_burden


def observe_cac(params: dict, log_burden, values) -> None:
    """Add the hurdle likelihood of observed CAC scores (Agatston units)."""
    if values.shape[0] == 0:  # a patient outside the fit without a scan
        return
    positive = values > 0
    with numpyro.plate("cac_obs", values.shape[0]):
        logits = cac_positive_logit(params, log_burden)
        numpyro.sample("cac_positive", dist.Bernoulli(logits=logits),
                       obs=positive.astype(jnp.float32 if values.dtype == jnp.float32 else float))
        log_values = jnp.log(jnp.where(positive, values, 1.0))
        mean = params["lambda0"] + params["lambda1"] * log_burden
        with numpyro.handlers.mask(mask=positive):
            numpyro.sample("log_cac", dist.Normal(mean, params["sigma_cac"]), obs=log_values)


def observe_lognormal(name: str, params: dict, prefix: str, log_burden, values) -> None:
    """Add the log-normal likelihood of a positive imaging measure of the burden."""
    if values.shape[0] == 0:
        return
    mean = params[f"{prefix}0"] + params[f"{prefix}1"] * log_burden
    with numpyro.plate(f"{name}_obs", values.shape[0]):
        numpyro.sample(f"log_{name}", dist.Normal(mean, params[f"sigma_{prefix}"]),
                       obs=jnp.log(values))
