"""Assemble the blocks a model file switches on into one NumPyro model.

`build_model` returns the model function, the data it reads (JAX arrays) and
the named dims of every site, so that each posterior variable in a saved fit
carries the cohort's coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from bayestwin.model import burden, events, imaging, lipids, longitudinal, microbiome, treatment
from bayestwin.model.design import Design
from bayestwin.spec import ModelSpec

PATIENT_SITES = ("u", "w", "w_std", "v", "v_raw", "eta_statin", "eta_nonstatin",
                 "log_r_statin", "log_r_nonstatin", "r_statin", "r_nonstatin",
                 "xi", "log_s", "b_raw", "b", "coef")
"""Per-patient sites; the convergence gate reports their worst values."""


@dataclass
class ModelBundle:
    """A model ready to sample: the function, its data, and the dims of each site."""

    spec: ModelSpec
    design: Design
    model: object
    data: dict
    dims: dict[str, list[str]]
    coords: dict[str, list]


def _model_data(design: Design, dtype) -> dict:
    data = {}
    for source in (design.covariates, design.arrays):
        for key, value in source.items():
            array = np.asarray(value)
            if np.issubdtype(array.dtype, np.integer) or array.dtype == bool:
                data[key] = jnp.asarray(array)
            else:
                data[key] = jnp.asarray(array, dtype=dtype)
    data["entry"] = jnp.asarray(design.entry, dtype=dtype)
    data["exit"] = jnp.asarray(design.exit, dtype=dtype)
    return data


def site_dims(spec: ModelSpec, design: Design) -> dict[str, list[str]]:
    """Return the named dims of every site the model can record."""
    dims = {name: ["patient"] for name in PATIENT_SITES if name not in ("b_raw", "b", "coef")}
    dims.update({
        "beta_variant": ["variant_effect"], "sigma_r": ["responsiveness_group"],
        "sigma_u_family": ["spread"],
        "gamma": ["susceptibility_covariate"], "gamma_z": ["factor"], "beta_z": ["factor"],
        "centre_raw": ["centre"], "centre_effect": ["centre"],
        "family_raw": ["family"], "family_effect": ["family"], "level_centre": ["patient"],
        "z": ["patient", "factor"], "z_raw": ["patient", "factor"], "z_prior": ["patient"],
        "mu_taxa": ["taxon"], "psi": ["taxon"],
        "loading_scale": ["factor"], "loading_anchor": ["factor"],
        "loading": ["taxon", "factor"],
        "baseline_steps": ["spline_step"], "spline_coef": ["spline_basis"],
        "beta_event": ["event_covariate"], "beta_long": ["fixed_effect"],
        "sigma_b": ["random_effect"], "b_raw": ["patient", "random_effect"],
        "coef": ["patient", "random_effect"],
        "b": ["patient", "random_effect"],
        "corr_chol": ["random_effect", "random_effect_bis"],
        "corr_b": ["random_effect", "random_effect_bis"],
        "log_ldl": ["obs"], "y_long": ["long_obs"], "survival": ["patient"],
        "cumulative_hazard": ["patient"],
        "cac_positive": ["cac_obs"], "log_cac": ["cac_obs"],
        "log_plaque_volume": ["plaque_obs"], "log_cimt": ["cimt_obs"], "clr": ["sample", "taxon"],
    })
    for name in ("prs", "diet", "lpa", "sbp"):
        dims[f"{name}_missing"] = [f"{name}_missing"]
    return dims


def site_coords(design: Design) -> dict[str, list]:
    """Return the coordinate values of every dim used by `site_dims`."""
    coords = dict(design.coords)
    coords["responsiveness_group"] = list(treatment.RESPONSIVENESS_GROUPS)
    coords["spread"] = ["patient", "family"]
    if "spline_basis" in coords:
        coords["spline_step"] = list(range(len(coords["spline_basis"]) - 1))
    if "random_effect" in coords:
        coords["random_effect_bis"] = list(coords["random_effect"])
    for key, prefix in (("cac_patient", "cac"), ("plaque_patient", "plaque"),
                        ("cimt_patient", "cimt")):
        if key in design.arrays:
            coords[f"{prefix}_obs"] = list(range(len(design.arrays[key])))
    if "long_patient" in design.arrays:
        coords["long_obs"] = list(range(len(design.arrays["long_patient"])))
    for name, mask in design.masks.items():
        coords[f"{name}_missing"] = [design.coords["patient"][i] for i in np.flatnonzero(~mask)]
    return coords


def build_model(spec: ModelSpec, design: Design, *, dtype=None) -> ModelBundle:
    """Compose the blocks of `spec` into a NumPyro model for `design`.

    The returned model takes one argument, ``data`` (the bundle's `data`), and
    observes the cohort's values; sampling it with NUTS gives the posterior.
    """
    if dtype is None:
        dtype = jnp.float64 if spec.section("inference").dtype == "float64" else jnp.float32
    data = _model_data(design, dtype)

    def model(data: dict) -> None:
        n = design.n_patients
        filled = lipids.fill_covariates(design, data)

        # Microbiome factors come first, because LDL-C and susceptibility use them.
        z = None
        if spec.has("microbiome"):
            micro = microbiome.sample_population(spec, design)
            z = microbiome.sample_patients(design, micro, data["sample_patient"], data["clr"])
            microbiome.observe(micro, z, data["sample_patient"], data["clr"])

        state = {}
        if spec.has("lipids"):
            state = _lipid_block(spec, design, data, filled, z)
        if spec.has("burden"):
            state.update(_burden_block(spec, design, data, filled, z, state))
        if spec.has("imaging"):
            _imaging_block(spec, data, state)
        if spec.has("longitudinal"):
            state.update(_longitudinal_block(spec, design, data))
        if spec.has("events"):
            _event_block(spec, design, data, state, n)

    return ModelBundle(spec=spec, design=design, model=model, data=data,
                       dims=site_dims(spec, design), coords=site_coords(design))


def _lipid_block(spec, design, data, filled, z) -> dict:
    params = lipids.sample_population(spec, design)
    lipids.sample_group_effects(spec, params, design)
    mean = lipids.fixed_part(spec, params, design, data, filled, z)
    reference = spec.reference_age if spec.time_scale == "age" else 0.0
    response = None
    if spec.has("treatment"):
        drug_params = treatment.sample_population(spec)
        remaining = treatment.mean_log_remaining(drug_params, data)
        response = treatment.sample_patients(spec, drug_params, design.n_patients,
                                             informed=treatment.measured_on_treatment(data),
                                             remaining=remaining)
        response["centre_statin"], response["centre_nonstatin"] = remaining
    patient = lipids.sample_patients(spec, params, design, data, mean, reference=reference,
                                     response=response)
    slope = patient["v"] / 10.0
    base = patient["u"] - slope * reference
    if response is not None:
        reduction = treatment.log_remaining(
            drug_params, response["r_statin"], response["r_nonstatin"], data["statin_dose"],
            data["statin_adherence"], data["class_adherence"])
    else:
        reduction = jnp.zeros_like(data["piece_start"])
    log_level = base[:, None] + reduction
    obs_patient, obs_piece = data["obs_patient"], data["obs_piece"]
    mean_log = log_level[obs_patient, obs_piece] + slope[obs_patient] * data["obs_time"]
    lipids.observe(spec, params, mean_log, data["obs_log_value"], obs_patient.shape[0])
    return {"log_level": log_level, "slope": slope}


def _burden_block(spec, design, data, filled, z, state) -> dict:
    settings = spec.section("burden")
    params = burden.sample_population(spec, design)
    covariates = burden.susceptibility_matrix(design, data, filled)
    log_s = burden.sample_patients(params, design, covariates, z,
                                   parameterisation=settings.parameterisation,
                                   informed=(burden.imaged(data, design.n_patients)
                                             if spec.has("imaging") else None))
    excess = burden.piece_excess(state["log_level"], state["slope"], data["piece_start"],
                                 data["piece_stop"], settings.threshold)
    weight = None
    if "susceptibility_change" in data:  # time-varying covariates: s_i changes by piece
        weight = burden.piece_weight(params, data["susceptibility_change"],
                                     data["time_varying_index"])
        excess = weight * excess
    cumulative_before = jnp.cumsum(excess, axis=1) - excess

    def log_burden_at(patient, piece, at):
        value = burden.excess_at(state["log_level"], state["slope"], data["piece_start"],
                                 cumulative_before, patient, piece, at, settings.threshold,
                                 weight=weight)
        return burden.log_burden(log_s[patient], value, settings.floor, settings.reference)

    return {"log_burden_at": log_burden_at}


def _imaging_block(spec, data, state) -> None:
    params = imaging.sample_population(spec)
    settings = spec.section("imaging")
    at = state["log_burden_at"]
    if settings.cac:
        log_b = at(data["cac_patient"], data["cac_piece"], data["cac_time"])
        imaging.observe_cac(params, log_b, data["cac_value"])
    if settings.plaque_volume:
        log_b = at(data["plaque_patient"], data["plaque_piece"], data["plaque_time"])
        imaging.observe_lognormal("plaque_volume", params, "plaque", log_b, data["plaque_value"])
    if settings.cimt:
        log_b = at(data["cimt_patient"], data["cimt_piece"], data["cimt_time"])
        imaging.observe_lognormal("cimt", params, "cimt", log_b, data["cimt_value"])


def _longitudinal_block(spec, design, data) -> dict:
    settings = spec.section("longitudinal")
    params = longitudinal.sample_population(spec, design)
    means = longitudinal.patient_means(params, settings.fixed_effects, data["male"],
                                       data["age_at_entry"])
    coefficients = longitudinal.sample_patients(
        params, means, centred=settings.parameterisation == "centred")
    if coefficients.shape[-1] == 1:  # random intercept only: the slope is the fixed one
        coefficients = jnp.concatenate([coefficients, means[:, 1:]], axis=-1)
    patient = data["long_patient"]
    mean = longitudinal.linear_predictor(coefficients[patient], data["long_time"])
    longitudinal.observe(spec, params, mean, data["long_value"])

    def value_at(patient_index, at):
        return longitudinal.linear_predictor(coefficients[patient_index], at)

    return {"value_at": value_at}


def _event_block(spec, design, data, state, n) -> None:
    settings = spec.section("events")
    params = events.sample_population(spec, design)
    covariates = (jnp.stack([data[name] for name in settings.covariates], axis=-1)
                  if settings.covariates else None)
    linear = events.covariate_term(params, covariates)

    nodes = data["node_time"]
    patient_nodes = jnp.broadcast_to(jnp.arange(n)[:, None, None], nodes.shape)
    patient_exit = jnp.arange(n)
    pieces = data["node_piece"]
    exit_piece = data.get("exit_piece", jnp.zeros(n, dtype=int))

    log_h_nodes = events.log_baseline(spec, params, data["node_basis"], nodes)
    log_h_exit = events.log_baseline(spec, params, data["exit_basis"], data["exit"])
    if covariates is not None:
        log_h_nodes = log_h_nodes + linear[:, None, None]
        log_h_exit = log_h_exit + linear
    if "alpha_B" in params:
        log_h_nodes = log_h_nodes + params["alpha_B"] * state["log_burden_at"](
            patient_nodes, pieces, nodes)
        log_h_exit = log_h_exit + params["alpha_B"] * state["log_burden_at"](
            patient_exit, exit_piece, data["exit"])
    if "alpha_L" in params:
        reference = settings.ldl_reference
        level, slope = state["log_level"], state["slope"]
        ldl_nodes = jnp.exp(level[patient_nodes, pieces] + slope[:, None, None] * nodes)
        ldl_exit = jnp.exp(level[patient_exit, exit_piece] + slope * data["exit"])
        log_h_nodes = log_h_nodes + params["alpha_L"] * (ldl_nodes - reference)
        log_h_exit = log_h_exit + params["alpha_L"] * (ldl_exit - reference)
    if "alpha_value" in params:
        log_h_nodes = log_h_nodes + params["alpha_value"] * state["value_at"](
            patient_nodes, nodes)
        log_h_exit = log_h_exit + params["alpha_value"] * state["value_at"](
            patient_exit, data["exit"])

    competing = None
    if spec.competing_events:
        age_entry = data["entry"] if spec.time_scale == "age" else data["age_at_entry"]
        age_exit = data["exit"] if spec.time_scale == "age" else data["age_at_entry"] + (
            data["exit"] - data["entry"])
        competing = (
            data["competing_flag"],
            events.competing_log_hazard(params, data["male"], age_exit),
            events.competing_cumulative(params, data["male"], age_entry, age_exit),
        )
    events.observe(n, log_h_exit, log_h_nodes, data["node_weight"], data["event_flag"],
                   competing)
