"""Latent atherosclerotic burden: LDL-C exposure above a threshold, from birth.

    B_i(t) = s_i * integral_0^t (L_i(tau) - L_thr) dtau

With time-varying covariates (``[burden] time_varying``), s_i is constant
on each piece and changes where they were measured:
s_i(tau) = s_i exp(sum_q gamma_q Delta x_iq(tau)), Delta x the change of
covariate q since its first value.

LDL-C is exp(c_k + b tau) on treatment piece k, so each piece integrates
exactly. The susceptibility s_i has no free intercept, which fixes the
burden's scale (mmol/L-years of excess exposure for a reference patient);
the imaging and event blocks carry their own intercepts.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpyro

from bayestwin.model import priors
from bayestwin.model.quadrature import exp_segment_integral, smooth_floor
from bayestwin.spec import ModelSpec


def sample_population(spec: ModelSpec, design) -> dict:
    """Sample the susceptibility coefficients and the patient-level spread."""
    names = design.coords["susceptibility_covariate"]
    params = {}
    if spec.section("burden").patient_effect:
        params["sigma_s"] = priors.sample(spec, "sigma_s")
    if names:
        params["gamma"] = priors.sample(spec, "gamma", (len(names),))
    if "microbiome" in spec.section("burden").susceptibility and "factor" in design.coords:
        params["gamma_z"] = priors.sample(
            spec, "gamma", (len(design.coords["factor"]),), site="gamma_z")
    return params


def susceptibility_matrix(design, data: dict, filled: dict):
    """Stack the standardised susceptibility covariates into an (N, P) matrix."""
    columns = []
    for name in design.coords["susceptibility_covariate"]:
        columns.append(filled[name] if name in filled else data[name])
    if not columns:
        return jnp.zeros((design.n_patients, 0))
    return jnp.stack(columns, axis=-1)


def sample_patients(params: dict, design, covariates, z=None, *, parameterisation="non_centred",
                    informed=None) -> jnp.ndarray:
    """Sample log susceptibility per patient; returns log s_i.

    The patient effect e_i ~ Normal(0, sigma_s) is sampled as ``xi``.
    ``centred`` samples e_i itself and ``non_centred`` samples e_i / sigma_s.
    ``by_data`` samples e_i for the patients whose `informed` flag is set
    (imaging measures their burden closely) and e_i / sigma_s for the others,
    so that neither group sits in a funnel with sigma_s. Without a patient
    effect (``[burden] patient_effect = false``), log s_i is the covariate
    part alone.
    """
    n = design.n_patients
    log_s = jnp.zeros(n)
    if "sigma_s" in params:
        log_s = priors.centred_or_not("xi", params["sigma_s"], n, parameterisation, informed)
    if "gamma" in params:
        log_s = log_s + covariates @ params["gamma"]
    if "gamma_z" in params and z is not None:
        log_s = log_s + z @ params["gamma_z"]
    return numpyro.deterministic("log_s", log_s)


def imaged(data: dict, n: int):
    """Return which patients have a measure that locates their burden, shape (N,) bool.

    Plaque volume, carotid IMT and a positive CAC score measure the burden.
    A CAC of zero does not count, because it only bounds the burden from
    above and leaves log s close to its prior.
    """
    count = jnp.zeros(n)
    for key in ("plaque_patient", "cimt_patient"):
        if key in data:
            count = count.at[data[key]].add(1.0)
    if "cac_patient" in data:
        count = count.at[data["cac_patient"]].add((data["cac_value"] > 0).astype(count.dtype))
    return count > 0


def piece_excess(log_level, slope, piece_start, piece_stop, threshold):
    """Return the integral of (L - threshold) over each piece, shape (N, S)."""
    return (exp_segment_integral(log_level, slope[:, None], piece_start, piece_stop)
            - threshold * (piece_stop - piece_start))


def piece_weight(params: dict, change, index):
    """Return exp(change_ik . gamma_q), the factor of s_i on each piece, shape (N, S).

    `change` contains each piece's change of the time-varying covariates since
    their first value, shape (N, S, Q); `index` gives their columns in gamma.
    """
    return jnp.exp(change @ params["gamma"][index])


def excess_at(log_level, slope, piece_start, cumulative_before, patient, piece, at, threshold,
              weight=None):
    """Return the excess exposure integral from birth to time `at` (exact).

    With `weight` (N, S), the exposure on each piece is multiplied by it, and
    `cumulative_before` must hold the weighted sums.

    Parameters
    ----------
    log_level, piece_start
        Per-piece log level c and start, shape (N, S).
    slope
        Per-patient slope b of log LDL-C per year, shape (N,).
    cumulative_before
        Excess exposure accumulated before each piece starts, shape (N, S).
    patient, piece, at
        Index arrays and times of the points, same shape.
    threshold
        LDL-C threshold of the excess, mmol/L.
    weight
        Optional factor of the susceptibility on each piece, shape (N, S).

    """
    start = piece_start[patient, piece]
    partial = (exp_segment_integral(log_level[patient, piece], slope[patient], start, at)
               - threshold * (at - start))
    if weight is not None:
        partial = weight[patient, piece] * partial
    return cumulative_before[patient, piece] + partial


def log_burden(log_s, excess, floor: float, reference: float):
    """Return log(B / reference) with B = s * smooth_floor(excess)."""
    return log_s + jnp.log(smooth_floor(excess, floor)) - jnp.log(reference)
