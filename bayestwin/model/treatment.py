"""Treatment response: the fraction of LDL-C each drug removes, per patient.

Drug k at dose D removes a fraction E_k(D) of LDL-C. Statins follow an Emax
curve in atorvastatin-equivalent dose; the other classes have one fraction
each. A patient's responsiveness r > 0 and adherence h in [0, 1] scale the
log of the remaining fraction, so on-treatment LDL-C stays positive and
below the untreated level:

    log L = log L0 + sum_j h_j r_g(j) log(1 - E_j).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist

from bayestwin.model import priors
from bayestwin.model.design import NONSTATIN_CLASSES
from bayestwin.spec import ModelSpec

RESPONSIVENESS_GROUPS = ("statin", "nonstatin")


def sample_population(spec: ModelSpec) -> dict:
    """Sample the drug-effect parameters: Emax, ED50 and the non-statin fractions."""
    params = {
        "statin_emax": priors.sample(spec, "statin_emax"),
        "statin_ed50": priors.sample(spec, "statin_ed50"),
    }
    params["class_effect"] = jnp.stack(
        [priors.sample(spec, f"effect_{name}") for name in NONSTATIN_CLASSES])
    if spec.section("treatment").responsiveness:
        params["sigma_r"] = priors.sample(spec, "sigma_r", (len(RESPONSIVENESS_GROUPS),))
    return params


def sample_patients(spec: ModelSpec, params: dict, n_patients: int) -> dict:
    """Sample each patient's responsiveness to statins and to other classes.

    ``parameterisation = "centred"`` samples log r directly, which suits
    patients with LDL-C measured both before and on treatment;
    ``non_centred`` samples standard normals scaled by sigma_r.
    """
    if not spec.section("treatment").responsiveness:
        ones = jnp.ones(n_patients)
        return {"r_statin": ones, "r_nonstatin": ones}
    centred = spec.section("treatment").parameterisation == "centred"
    values = {}
    for group, name in enumerate(("statin", "nonstatin")):
        scale = params["sigma_r"][group]
        with numpyro.plate("patient", n_patients, dim=-1):
            if centred:
                log_r = numpyro.sample(f"log_r_{name}", dist.Normal(0.0, scale))
            else:
                log_r = scale * numpyro.sample(f"eta_{name}", dist.Normal(0.0, 1.0))
        values[f"r_{name}"] = numpyro.deterministic(f"r_{name}", jnp.exp(log_r))
    return values


def statin_fraction(emax, ed50, dose):
    """Return the fraction of LDL-C removed by an atorvastatin-equivalent `dose` in mg."""
    return emax * dose / (ed50 + dose)


def log_remaining(params: dict, r_statin, r_nonstatin, statin_dose, statin_adherence,
                  class_adherence):
    """Return log(L / L0) on each treatment piece.

    Parameters
    ----------
    params
        Population drug effects from `sample_population` (or posterior draws).
    r_statin, r_nonstatin
        Responsiveness per patient, shape (N,).
    statin_dose, statin_adherence
        Atorvastatin-equivalent dose (mg) and adherence per piece, shape (N, S).
    class_adherence
        Adherence to each non-statin class per piece, shape (N, S, C); 0 = not taken.

    """
    fraction = statin_fraction(params["statin_emax"], params["statin_ed50"], statin_dose)
    statin = statin_adherence * r_statin[:, None] * jnp.log1p(-fraction)
    others = jnp.sum(class_adherence * jnp.log1p(-params["class_effect"]), axis=-1)
    return statin + r_nonstatin[:, None] * others
