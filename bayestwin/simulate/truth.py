"""Ground truth of a simulated cohort: population parameters by site name, and their JSON form."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from bayestwin.simulate.config import (
    DRUG_GROUPS,
    EVENT_COVARIATES,
    FACTORS,
    SUSCEPTIBILITY_COVARIATES,
    TRUE_VARIANT_CLASSES,
    SimulatorConfig,
)

_SCALARS = (
    "mu_u",
    "beta_prs",
    "beta_male",
    "beta_diet",
    "sigma_centre",
    "sigma_family",
    "sigma_u",
    "mu_v",
    "sigma_v",
    "statin_emax",
    "statin_ed50",
    "effect_ezetimibe",
    "effect_pcsk9_antibody",
    "effect_pcsk9_sirna",
    "effect_bempedoic_acid",
    "sigma_lab",
    "nu",
    "ldl_threshold",
    "burden_floor",
    "sigma_s",
    "kappa0",
    "kappa1",
    "lambda0",
    "lambda1",
    "sigma_cac",
    "plaque_intercept",
    "plaque_slope",
    "sigma_plaque",
    "weibull_shape",
    "weibull_log_rate",
    "alpha_B",
    "alpha_L",
    "ldl_ref",
    "delta0",
    "delta1",
    "delta_male",
    "ldl_reference_age",
)


def _labelled(values: Mapping[str, float], dim: str, labels: tuple[str, ...]) -> xr.DataArray:
    return xr.DataArray(
        np.array([float(values[label]) for label in labels]),
        dims=(dim,),
        coords={dim: list(labels)},
    )


def variant_class_probabilities(config: SimulatorConfig) -> dict[str, float]:
    """Return the expected share of each true variant class among simulated patients.

    Index cases are monogenic with probability `index_monogenic`, and only
    monogenic families bring relatives (Poisson mean `relatives_mean`), so a
    patient's class probability weighs each index class by its family size.
    """
    design = config.design
    monogenic = design.index_monogenic * (1.0 + design.relatives_mean)
    negative = 1.0 - design.index_monogenic
    total = monogenic + negative
    gene = design.carrier_gene
    shares = {
        "ldlr_null": gene["ldlr"] * design.ldlr_null_share,
        "ldlr_defective": gene["ldlr"] * (1.0 - design.ldlr_null_share),
        "apob": gene["apob"],
        "pcsk9": gene["pcsk9"],
    }
    result = {name: monogenic * share / total for name, share in shares.items()}
    result["polygenic"] = negative * design.variant_negative_polygenic / total
    result["none_found"] = negative * (1.0 - design.variant_negative_polygenic) / total
    return result


def population_truth(config: SimulatorConfig, centre_effect: np.ndarray) -> dict[str, Any]:
    """Return the true population parameters keyed by NumPyro site name.

    Scalars are floats; labelled parameters are `xarray.DataArray` objects
    with named dims (`variant_class`, `factor`, `drug_group`,
    `susceptibility_covariate`, `event_covariate`, `taxon`, `centre`).
    """
    params = config.population
    truth: dict[str, Any] = {name: float(getattr(params, name)) for name in _SCALARS}
    truth["beta_variant"] = _labelled(params.beta_variant, "variant_class", TRUE_VARIANT_CLASSES)
    truth["beta_z"] = _labelled(params.beta_z, "factor", FACTORS)
    truth["sigma_r"] = _labelled(params.sigma_r, "drug_group", DRUG_GROUPS)
    truth["gamma"] = _labelled(params.gamma, "susceptibility_covariate", SUSCEPTIBILITY_COVARIATES)
    truth["susceptibility_centre"] = _labelled(
        params.susceptibility_centre, "susceptibility_covariate", SUSCEPTIBILITY_COVARIATES
    )
    truth["susceptibility_scale"] = _labelled(
        params.susceptibility_scale, "susceptibility_covariate", SUSCEPTIBILITY_COVARIATES
    )
    truth["beta_event"] = _labelled(params.beta_event, "event_covariate", EVENT_COVARIATES)
    taxa = list(params.taxa)
    truth["microbiome_mean"] = xr.DataArray(
        np.array(params.microbiome_mean), dims=("taxon",), coords={"taxon": taxa}
    )
    truth["microbiome_loadings"] = xr.DataArray(
        np.array(params.microbiome_loadings),
        dims=("taxon", "factor"),
        coords={"taxon": taxa, "factor": list(FACTORS)},
    )
    truth["psi"] = xr.DataArray(np.array(params.psi), dims=("taxon",), coords={"taxon": taxa})
    truth["centre_effect"] = xr.DataArray(
        np.asarray(centre_effect, dtype=float),
        dims=("centre",),
        coords={"centre": list(config.design.centres)},
    )
    truth["variant_class_probabilities"] = _labelled(
        variant_class_probabilities(config), "variant_class", TRUE_VARIANT_CLASSES
    )
    return truth


def truth_to_json(truth: Mapping[str, Any]) -> str:
    """Serialise a population truth to JSON with sorted keys.

    A labelled value becomes ``{"dims": [...], "coords": {dim: [...]},
    "values": nested list}``; floats keep their shortest round-trip form, so
    the text is the same on every run.
    """
    document: dict[str, Any] = {}
    for name, value in truth.items():
        if isinstance(value, xr.DataArray):
            document[name] = {
                "dims": list(value.dims),
                "coords": {dim: [str(label) for label in value[dim].values] for dim in value.dims},
                "values": np.asarray(value.values, dtype=float).tolist(),
            }
        else:
            document[name] = float(value)
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def truth_from_json(text: str) -> dict[str, Any]:
    """Parse `truth_to_json` output back into floats and labelled DataArrays."""
    document = json.loads(text)
    truth: dict[str, Any] = {}
    for name, value in document.items():
        if isinstance(value, dict):
            truth[name] = xr.DataArray(
                np.array(value["values"], dtype=float), dims=value["dims"], coords=value["coords"]
            )
        else:
            truth[name] = float(value)
    return truth
