"""A generic longitudinal marker: linear mixed model with random intercept and slope.

    y_ij = X_ij beta + b_i0 + b_i1 t_ij + e_ij,   b_i ~ Normal(0, Sigma)

The fixed effects may be the intercept, sex and age (on the intercept) and
time and time:sex (on the slope).

Sigma = diag(sigma_b) R diag(sigma_b) with an LKJ prior on the correlation R;
b_i is non-centred through the Cholesky factor. The linear predictor
m_i(t) = X_i(t) beta + b_i0 + b_i1 t is the "current value" that the event
block links to (the classic joint model).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist

from bayestwin.model import priors
from bayestwin.spec import ModelSpec


def sample_population(spec: ModelSpec, design) -> dict:
    """Sample fixed effects, random-effect scales and correlation, and residual scale."""
    settings = spec.section("longitudinal")
    n_fixed = len(design.coords["fixed_effect"])
    n_random = len(design.coords["random_effect"])
    params = {
        "beta_long": priors.sample(spec, "beta_long", (n_fixed,)),
        "sigma_b": priors.sample(spec, "sigma_b", (n_random,)),
        "sigma_y": priors.sample(spec, "sigma_y"),
    }
    if n_random > 1:
        concentration = spec.prior("corr_b")["concentration"]
        params["corr_chol"] = numpyro.sample(
            "corr_chol", dist.LKJCholesky(n_random, concentration=concentration))
        params["corr_b"] = numpyro.deterministic(
            "corr_b", params["corr_chol"] @ params["corr_chol"].T)
    if settings.likelihood == "student_t":
        params["nu_y"] = priors.sample(spec, "nu_y")
    return params


INTERCEPT_TERMS = ("intercept", "sex", "age")
SLOPE_TERMS = ("time", "time:sex")


def patient_means(params: dict, terms: list[str], male, age):
    """Return each patient's fixed-effect intercept and slope, shape (N, 2).

    Intercept = beta_intercept + beta_sex male + beta_age (age - 50) / 10;
    slope = beta_time + beta_time:sex male.
    """
    names = ["intercept", *terms]
    beta = params["beta_long"]
    intercept = beta[0] * jnp.ones_like(male)
    slope = jnp.zeros_like(male)
    for position, name in enumerate(names[1:], start=1):
        if name == "sex":
            intercept = intercept + beta[position] * male
        elif name == "age":
            intercept = intercept + beta[position] * (age - 50.0) / 10.0
        elif name == "time":
            slope = slope + beta[position]
        elif name == "time:sex":
            slope = slope + beta[position] * male
    return jnp.stack([intercept, slope], axis=-1)


def sample_patients(params: dict, means, *, centred: bool):
    """Sample each patient's intercept and slope (the first R columns of `means`).

    Centred (hierarchical centring: the patient coefficients are sampled
    around their fixed-effect means) suits markers measured often with little
    noise, where each patient's data pin the coefficients down; non-centred
    suits sparse or noisy data. Returns the coefficients, shape (N, R); the
    random effects b_i = coefficients - means are recorded as ``b``.
    """
    n_patients = means.shape[0]
    n_random = params["sigma_b"].shape[0]
    means = means[:, :n_random]
    scale_tril = (params["sigma_b"][:, None] * params["corr_chol"] if n_random > 1
                  else jnp.diag(params["sigma_b"]))
    if centred:
        with numpyro.plate("patient", n_patients, dim=-1):
            coefficients = numpyro.sample(
                "coef", dist.MultivariateNormal(means, scale_tril=scale_tril))
        numpyro.deterministic("b", coefficients - means)
        return coefficients
    with numpyro.plate("patient", n_patients, dim=-1):
        raw = numpyro.sample("b_raw", dist.Normal(0.0, 1.0).expand([n_random]).to_event(1))
    b = numpyro.deterministic("b", raw @ scale_tril.T)
    return means + b


def linear_predictor(coefficients, time):
    """Return m(t) = intercept_i + slope_i t for coefficient rows and times."""
    value = coefficients[..., 0]
    if coefficients.shape[-1] > 1:
        value = value + coefficients[..., 1] * time
    return value


def observe(spec: ModelSpec, params: dict, mean, observed) -> None:
    """Add the likelihood of the (transformed) marker; `observed` None samples it instead."""
    with numpyro.plate("long_obs", mean.shape[0]):
        if spec.section("longitudinal").likelihood == "student_t":
            numpyro.sample("y_long", dist.StudentT(params["nu_y"], mean, params["sigma_y"]),
                           obs=observed)
        else:
            numpyro.sample("y_long", dist.Normal(mean, params["sigma_y"]), obs=observed)
