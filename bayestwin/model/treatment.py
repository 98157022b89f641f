"""Treatment response: the fraction of LDL-C each drug removes, per patient.

Drug k at dose D removes a fraction E_k(D) of LDL-C. Statins follow an Emax
curve in atorvastatin-equivalent dose; the other classes have one fraction
each. A patient's responsiveness r > 0 and adherence h in [0, 1] scale the
log of the remaining fraction, so on-treatment LDL-C stays positive and
below the untreated level:

    log L = log L0 + sum_j h_j r_g(j) log(1 - E_j).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpyro

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


def sample_patients(spec: ModelSpec, params: dict, n_patients: int, informed=None,
                    remaining=None) -> dict:
    """Sample each patient's responsiveness to statins and to other classes.

    ``parameterisation = "centred"`` samples log r directly, which suits
    patients with LDL-C measured both before and on treatment;
    ``non_centred`` samples standard normals scaled by sigma_r; ``by_data``
    samples log r for the patients measured on that treatment (`informed`,
    one (N,) flag per group) and the standard normal for the others, whose
    responsiveness only the prior informs.

    With ``by_data``, `remaining` ((N,) per group, from `mean_log_remaining`)
    anchors the sampled log r on the drug effects: the site contains
    log(r_i |l_i|), the log of the patient's mean log reduction, which the
    data fix whatever the population Emax. Without it, a change of Emax must
    be matched by moving every treated patient's log r together, a ridge
    that NUTS walks slowly.
    """
    if not spec.section("treatment").responsiveness:
        ones = jnp.ones(n_patients)
        return {"r_statin": ones, "r_nonstatin": ones}
    parameterisation = spec.section("treatment").parameterisation
    values = {}
    for group, name in enumerate(("statin", "nonstatin")):
        flags = None if informed is None else informed[group]
        site = f"log_r_{name}" if parameterisation == "centred" else f"eta_{name}"
        shift = None
        if remaining is not None and parameterisation == "by_data":
            magnitude = -remaining[group]
            shift = jnp.where(magnitude > 0, jnp.log(jnp.where(magnitude > 0, magnitude, 1.0)),
                              0.0)
        log_r = priors.centred_or_not(site, params["sigma_r"][group], n_patients,
                                      parameterisation, flags, shift)
        values[f"r_{name}"] = numpyro.deterministic(f"r_{name}", jnp.exp(log_r))
    return values


def measured_on_treatment(data: dict):
    """Return (statin, non-statin) flags of patients with LDL-C measured on that treatment."""
    patient, piece = data["obs_patient"], data["obs_piece"]
    n = data["statin_dose"].shape[0]
    on_statin = data["statin_dose"][patient, piece] * data["statin_adherence"][patient, piece] > 0
    on_other = jnp.sum(data["class_adherence"][patient, piece], axis=-1) > 0
    return tuple(jnp.zeros(n).at[patient].add(flag.astype(float)) > 0
                 for flag in (on_statin, on_other))


def mean_log_remaining(params: dict, data: dict):
    """Return each patient's mean log remaining fraction over their LDL-C measurements.

    One (N,) array per responsiveness group (statin, other classes), per unit
    of responsiveness and under the current drug-effect parameters. A patient
    measured only off treatment, or not at all, gets zero.
    """
    patient, piece = data["obs_patient"], data["obs_piece"]
    n = data["statin_dose"].shape[0]
    dose = data["statin_dose"][patient, piece]
    statin = data["statin_adherence"][patient, piece] * jnp.log1p(
        -statin_fraction(params["statin_emax"], params["statin_ed50"], dose))
    others = jnp.sum(data["class_adherence"][patient, piece]
                     * jnp.log1p(-params["class_effect"]), axis=-1)
    counts = jnp.maximum(jax.ops.segment_sum(jnp.ones_like(statin), patient, num_segments=n), 1.0)
    return tuple(jax.ops.segment_sum(values, patient, num_segments=n) / counts
                 for values in (statin, others))


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
