"""Posterior draws of a fit, with chain and draw stacked into one ``draw`` axis."""

from __future__ import annotations

import arviz as az
import jax.numpy as jnp
import numpy as np

from bayestwin.model.design import NONSTATIN_CLASSES

PATIENT_DRAW_SITES = ("u", "v", "r_statin", "r_nonstatin", "log_s")
POPULATION_DRAW_SITES = (
    "statin_emax", "statin_ed50", "spline_coef", "beta_event", "alpha_B", "alpha_L",
    "delta0", "delta1", "delta_male", "kappa0", "kappa1", "lambda0", "lambda1", "sigma_cac",
    "beta_diet", "gamma",
)


def stacked(idata: az.InferenceData, name: str) -> np.ndarray:
    """Return a posterior variable with (chain, draw) stacked first, shape (D, ...)."""
    values = idata.posterior[name].values
    return values.reshape((-1,) + values.shape[2:])


def draw_count(idata: az.InferenceData) -> int:
    """Return the number of posterior draws over all chains."""
    return idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"]


def population_draws(idata: az.InferenceData, *, select: np.ndarray | None = None) -> dict:
    """Return the population draws the twin needs, as JAX arrays with the draw axis first.

    Parameters
    ----------
    idata
        The fit's InferenceData.
    select
        Indices of the stacked draws to keep (all when None).

    """
    posterior = idata.posterior
    draws = {}
    for name in POPULATION_DRAW_SITES:
        if name in posterior:
            draws[name] = stacked(idata, name)
    effects = [f"effect_{c}" for c in NONSTATIN_CLASSES]
    if all(name in posterior for name in effects):
        draws["class_effect"] = np.stack([stacked(idata, name) for name in effects], axis=-1)
    if select is not None:
        draws = {key: value[select] for key, value in draws.items()}
    return {key: jnp.asarray(value) for key, value in draws.items()}


def patient_draws(idata: az.InferenceData, patients: list[str], *,
                  select: np.ndarray | None = None) -> dict:
    """Return the per-patient draws of `patients` (D, P) from a fit's posterior."""
    posterior = idata.posterior
    labels = [str(p) for p in posterior["patient"].values]
    index = [labels.index(p) for p in patients]
    draws = {}
    for name in PATIENT_DRAW_SITES:
        if name in posterior:
            draws[name] = stacked(idata, name)[:, index]
    n = len(next(iter(draws.values())))
    draws.setdefault("r_statin", np.ones((n, len(index))))
    draws.setdefault("r_nonstatin", np.ones((n, len(index))))
    if select is not None:
        draws = {key: value[select] for key, value in draws.items()}
    return {key: jnp.asarray(value) for key, value in draws.items()}
