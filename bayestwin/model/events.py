"""Events: proportional hazards with a flexible baseline and a competing cause.

    h_i(t) = h0(t) exp(x_i beta + alpha_B log(B_i(t) / B_ref)
                       + alpha_L (L_i(t) - L_ref) + alpha_value m_i(t))

log h0 is a cubic B-spline with a random-walk prior on its coefficients,
anchored at the middle coefficient (``baseline_log_hazard``), or a Weibull.
The competing cause (non-cardiovascular death) has a Gompertz hazard in
age, exp(delta0 + delta1 (age - 60) / 10 + delta_male male). Each patient
contributes d log h(T) - integral of h from entry to T for each
cause; entry is the age at entry on the age scale (delayed entry).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist

from bayestwin.model import priors
from bayestwin.model.quadrature import exp_segment_integral
from bayestwin.spec import ModelSpec


def sample_population(spec: ModelSpec, design) -> dict:
    """Sample the baseline hazard, covariate effects, associations and competing hazard."""
    settings = spec.section("events")
    params = {}
    if settings.baseline == "bspline":
        n_basis = len(design.coords["spline_basis"])
        first = priors.sample(spec, "baseline_log_hazard")
        smoothness = priors.sample(spec, "baseline_smoothness")
        steps = numpyro.sample("baseline_steps",
                               dist.Normal(0.0, 1.0).expand([n_basis - 1]).to_event(1))
        # The walk is anchored at the middle coefficient, where follow-up is, because
        # the first coefficient's age has few events and all others moved with it.
        walk = jnp.concatenate([jnp.zeros(1), jnp.cumsum(smoothness * steps)])
        params["spline_coef"] = numpyro.deterministic(
            "spline_coef", first + walk - walk[n_basis // 2])
    else:
        params["baseline_log_hazard"] = priors.sample(spec, "baseline_log_hazard")
        params["weibull_shape"] = priors.sample(spec, "weibull_shape")
    if settings.covariates:
        params["beta_event"] = priors.sample(spec, "beta_event", (len(settings.covariates),))
    names = {"burden": "alpha_B", "ldl": "alpha_L", "value": "alpha_value"}
    for association in settings.association:
        params[names[association]] = priors.sample(spec, names[association])
    if spec.competing_events:
        for name in ("delta0", "delta1", "delta_male"):
            params[name] = priors.sample(spec, name)
    return params


def log_baseline(spec: ModelSpec, params: dict, basis, time):
    """Return log h0 at `time` from its spline basis (or the Weibull form)."""
    if spec.section("events").baseline == "bspline":
        return basis @ params["spline_coef"]
    shape = params["weibull_shape"]
    return (params["baseline_log_hazard"] + jnp.log(shape)
            + (shape - 1.0) * jnp.log(jnp.maximum(time, 1e-6)))


def covariate_term(params: dict, covariates):
    """Return x_i beta, shape (N,), or zero when the model has no event covariates."""
    if "beta_event" not in params:
        return 0.0
    return covariates @ params["beta_event"]


def competing_cumulative(params: dict, male, entry, exit_):
    """Return the Gompertz cumulative hazard of the competing cause from entry to exit."""
    log_level = params["delta0"] + params["delta_male"] * male - 6.0 * params["delta1"]
    return exp_segment_integral(log_level, params["delta1"] / 10.0, entry, exit_)


def competing_log_hazard(params: dict, male, age):
    """Return the log hazard of the competing cause at `age`."""
    return params["delta0"] + params["delta1"] * (age - 60.0) / 10.0 + params["delta_male"] * male


def observe(n_patients: int, log_hazard_exit, log_hazard_nodes, node_weight, event_flag,
            competing=None) -> None:
    """Add each patient's survival log likelihood as one factor per patient.

    Parameters
    ----------
    n_patients
        Number of patients, N.
    log_hazard_exit
        Log hazard of the endpoint at the exit time, shape (N,).
    log_hazard_nodes, node_weight
        Log hazard and quadrature weights on the risk window, shape (N, ...).
    event_flag
        1 where the exit is an endpoint event, 0 where it is censoring.
    competing
        Optional (flag, log hazard at exit, cumulative hazard) of the competing cause.

    """
    axes = tuple(range(1, log_hazard_nodes.ndim))
    cumulative = jnp.sum(node_weight * jnp.exp(log_hazard_nodes), axis=axes)
    # Expected endpoint events over each patient's follow-up: the predictive checks
    # compare their sum with the observed count (fits do not store it).
    numpyro.deterministic("cumulative_hazard", cumulative)
    loglik = event_flag * log_hazard_exit - cumulative
    if competing is not None:
        flag, log_hazard, cumulative_competing = competing
        loglik = loglik + flag * log_hazard - cumulative_competing
    with numpyro.plate("patient", n_patients, dim=-1):
        numpyro.factor("survival", loglik)
