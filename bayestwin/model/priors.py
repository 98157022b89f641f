"""Build NumPyro distributions and sample sites from the model file's priors."""

from __future__ import annotations

import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist

from bayestwin.spec import ModelSpec, PriorSpec


def distribution(prior: PriorSpec) -> dist.Distribution:
    """Return the NumPyro distribution of `prior` (not for ``fixed`` priors)."""
    p = prior.params
    match prior.dist:
        case "normal":
            return dist.Normal(p["loc"], p["scale"])
        case "half_normal":
            return dist.HalfNormal(p["scale"])
        case "lognormal":
            return dist.LogNormal(p["loc"], p["scale"])
        case "student_t":
            return dist.StudentT(p["df"], p["loc"], p["scale"])
        case "half_student_t":
            return dist.FoldedDistribution(dist.StudentT(p["df"], 0.0, p["scale"]))
        case "beta":
            return dist.Beta(p["alpha"], p["beta"])
        case "gamma":
            return dist.Gamma(p["concentration"], p["rate"])
        case "exponential":
            return dist.Exponential(p["rate"])
        case _:
            raise ValueError(f"prior '{prior.name}': distribution {prior.dist!r} cannot be "
                             f"used for a scalar or vector site")


def sample(spec: ModelSpec, name: str, shape: tuple[int, ...] = (), *,
           site: str | None = None) -> jnp.ndarray:
    """Sample a site with prior `name` from `spec`, or return its fixed value.

    A vector site (non-empty `shape`) draws independent copies of the prior.
    `site` names the sample site when it differs from the prior's name.
    """
    prior = spec.prior(name)
    site = site or name
    if prior.is_fixed:
        value = jnp.asarray(prior["value"], dtype=float)
        value = jnp.broadcast_to(value, shape) if shape else value
        return numpyro.deterministic(site, value)
    base = distribution(prior)
    if shape:
        base = base.expand(shape).to_event(len(shape))
    return numpyro.sample(site, base)


def centred_or_not(name: str, scale, n: int, parameterisation: str, informed=None,
                   shift=None):
    """Sample n zero-mean normal effects of spread `scale` under a parameterisation.

    Returns the effects. The site `name` contains them (``centred``), their
    standardised values (``non_centred``), or, with ``by_data``, the effects
    where `informed` is true and the standardised values elsewhere. A
    `shift` (N,) moves the centred entries of the site: it then contains the
    effect plus the shift, a translation by population quantities with unit
    Jacobian, so the model is unchanged.
    """
    if parameterisation == "centred":
        centred = jnp.ones(n, dtype=bool)
    elif parameterisation == "non_centred" or informed is None:
        centred = jnp.zeros(n, dtype=bool)
    else:
        centred = informed
    shift = jnp.zeros(n) if shift is None else jnp.where(centred, shift, 0.0)
    with numpyro.plate("patient", n, dim=-1):
        raw = numpyro.sample(name, dist.Normal(shift, jnp.where(centred, scale, 1.0)))
    return jnp.where(centred, raw - shift, scale * raw)
