"""Untreated LDL-C: the hierarchical level and age slope of each patient.

    log L0_i(t) = u_i + v_i (t - t_ref) / 10

with u_i centred on intercept + variant class + PRS + sex + diet + microbiome
factors + centre and family effects. A patient whose variant class was not
tested gets the mixture of the class-specific normals, weighted by the model
file's class probabilities, so the class is marginalised, not guessed.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from bayestwin.model import families, priors
from bayestwin.model.polar import SpreadPair
from bayestwin.spec import ModelSpec


def _latent_covariate(name: str, values, mask, loc=0.0, scale=1.0):
    """Fill missing entries of a covariate with latent draws from its prior."""
    missing = ~mask
    n_missing = int(missing.sum())
    if n_missing == 0:
        return jnp.asarray(values)
    index = jnp.nonzero(jnp.asarray(missing), size=n_missing)[0]
    latent = numpyro.sample(f"{name}_missing", dist.Normal(loc, scale).expand([n_missing]))
    return jnp.asarray(values).at[index].set(latent)


def fill_covariates(design, data: dict) -> dict:
    """Return the patient covariates with missing PRS, diet, Lp(a) and SBP drawn as latents."""
    filled = {}
    for name in ("prs", "diet", "lpa", "sbp"):
        if name in design.masks:
            loc, scale = design.info.get(f"{name}_missing_prior", (0.0, 1.0))
            filled[name] = _latent_covariate(name, data[name], design.masks[name], loc, scale)
    return filled


def sample_population(spec: ModelSpec, design) -> dict:
    """Sample the population parameters of untreated LDL-C."""
    settings = spec.section("lipids")
    params = {"mu_u": priors.sample(spec, "mu_u")}
    if _polar_spreads(spec):
        # Patient and family spreads: their squares add up in families of one to three
        # patients, so they are sampled as one pair in polar coordinates (model.polar).
        pair = numpyro.sample("sigma_u_family", SpreadPair(
            priors.distribution(spec.prior("sigma_u")),
            priors.distribution(spec.prior("sigma_family"))))
        params["sigma_u"] = numpyro.deterministic("sigma_u", pair[0])
        params["sigma_family"] = numpyro.deterministic("sigma_family", pair[1])
    else:
        params["sigma_u"] = priors.sample(spec, "sigma_u")
    covariates = settings.covariates
    if "variant_class" in covariates:
        raw = priors.sample(spec, "beta_variant", (len(design.coords["variant_effect"]),))
        params["beta_variant_all"] = all_class_effects(design, raw)
    if "prs" in covariates:
        params["beta_prs"] = priors.sample(spec, "beta_prs")
    if "sex" in covariates:
        params["beta_male"] = priors.sample(spec, "beta_male")
    if "diet" in covariates:
        params["beta_diet"] = priors.sample(spec, "beta_diet")
    if "microbiome" in covariates and "factor" in design.coords:
        params["beta_z"] = priors.sample(spec, "beta_z", (len(design.coords["factor"]),))
    for effect in settings.random_effects:
        if f"sigma_{effect}" not in params:
            params[f"sigma_{effect}"] = priors.sample(spec, f"sigma_{effect}")
    if settings.slope == "random":
        params["mu_v"] = priors.sample(spec, "mu_v")
        params["sigma_v"] = priors.sample(spec, "sigma_v")
    params["sigma_lab"] = priors.sample(spec, "sigma_lab")
    if settings.likelihood == "student_t":
        params["nu"] = priors.sample(spec, "nu")
    return params


def all_class_effects(design, free_effects):
    """Return the effect of every variant class: the free ones, and 0 for the reference class."""
    classes = design.coords["variant_class"]
    index = jnp.array([classes.index(c) for c in design.coords["variant_effect"]], dtype=int)
    return jnp.zeros(len(classes)).at[index].set(free_effects)


def _polar_spreads(spec: ModelSpec) -> bool:
    """Return whether sigma_u and sigma_family are sampled as one polar pair."""
    return ("family" in spec.section("lipids").random_effects
            and not spec.prior("sigma_u").is_fixed and not spec.prior("sigma_family").is_fixed)


def fixed_part(spec: ModelSpec, params: dict, design, data: dict, filled: dict, z=None):
    """Return the mean of u_i without the variant class and the patient effect."""
    settings = spec.section("lipids")
    mean = params["mu_u"] + jnp.zeros(design.n_patients)
    if "beta_prs" in params:
        mean = mean + params["beta_prs"] * filled["prs"]
    if "beta_male" in params:
        mean = mean + params["beta_male"] * data["male"]
    if "beta_diet" in params:
        mean = mean + params["beta_diet"] * filled["diet"]
    if "beta_z" in params and z is not None:
        mean = mean + z @ params["beta_z"]
    for effect in settings.random_effects:
        if f"{effect}_effect" in params:
            mean = mean + params[f"{effect}_effect"][data[f"{effect}_index"]]
    return mean


def integrates_families(spec: ModelSpec) -> bool:
    """Return whether the family effects are integrated out of the model."""
    settings = spec.section("lipids")
    return "family" in settings.random_effects and settings.family_effects == "integrated"


def _shares_class(spec: ModelSpec) -> bool:
    """Return whether the levels are drawn family by family (`bayestwin.model.families`)."""
    settings = spec.section("lipids")
    return integrates_families(spec) or (
        "family" in settings.random_effects and settings.untested_class == "family")


def sample_group_effects(spec: ModelSpec, params: dict, design) -> None:
    """Sample centre and family effects into `params`.

    Effects listed in ``[lipids] centred_effects`` are sampled directly
    (``{effect}_raw`` contains the effect), which suits groups with many
    patients such as centres. The others are non-centred (``{effect}_raw``
    contains the effect divided by its spread), which suits small groups
    such as families.
    """
    settings = spec.section("lipids")
    for effect in settings.random_effects:
        if effect == "family" and integrates_families(spec):
            continue
        size = len(design.coords[effect])
        scale = params[f"sigma_{effect}"]
        centred = effect in settings.centred_effects
        with numpyro.plate(effect, size):
            raw = numpyro.sample(f"{effect}_raw", dist.Normal(0.0, scale if centred else 1.0))
        params[f"{effect}_effect"] = numpyro.deterministic(
            f"{effect}_effect", raw if centred else scale * raw)


def sample_patients(spec: ModelSpec, params: dict, design, data: dict, mean, *,
                    reference: float, response: dict | None = None) -> dict:
    """Sample each patient's level u_i (at the reference time) and slope v_i.

    The slope and responsiveness are drawn first, then the level where the
    patient's data are: w_i = u_i + v_i (c_i - reference) / 10 + r_i l_i,
    with c_i the mean time and l_i the mean log reduction of the patient's
    measurements under the current drug-effect draws (`response` carries it).
    Given v_i, r_i and the drug effects, the prior of w_i is the prior of u_i
    shifted by those terms (a shear with unit Jacobian), so the model is
    unchanged, but NUTS no longer walks the narrow ridges between the level
    and the slope, the responsiveness or the drug effects of patients
    measured far from the reference age or only on treatment. u_i is
    recorded as a deterministic site.
    ``[lipids] parameterisation = "non_centred"`` samples the standardised
    level (w_i - centre_i) / sigma_u instead of w_i.
    """
    settings = spec.section("lipids")
    n = design.n_patients
    if settings.slope == "random":
        with numpyro.plate("patient", n, dim=-1):
            v_raw = numpyro.sample("v_raw", dist.Normal(0.0, 1.0))
        v = numpyro.deterministic("v", params["mu_v"] + params["sigma_v"] * v_raw)
    else:
        v = jnp.zeros(n)
    shift = v * (data["lipid_centre_time"] - reference) / 10.0
    if response is not None:
        shift = (shift + response["r_statin"] * response["centre_statin"]
                 + response["r_nonstatin"] * response["centre_nonstatin"])
    centre = mean + shift
    scale = params["sigma_u"]
    if _shares_class(spec):
        w = _sample_family_levels(spec, params, design, data, centre)
    elif settings.parameterisation == "centred":
        w = _sample_level("w", params, design, data, centre, scale)
    else:
        # Non-centred: the standardised level (w - centre) / sigma_u is sampled, so that
        # small sigma_u does not pinch the patients' levels into a funnel.
        standard = _sample_level("w_std", params, design, data, jnp.zeros(n), scale, unit=True)
        w = numpyro.deterministic("w", centre + scale * standard)
    u = numpyro.deterministic("u", w - shift)
    return {"u": u, "v": v}


def family_setup(spec: ModelSpec, params: dict, design, data: dict, centre):
    """Return the family structure, locations (n, K), log class weights (F, K) and spreads.

    The locations are the patients' mean levels under each family class,
    without the family effect when it is integrated out.
    """
    structure = families.FamilyStructure(jnp.asarray(data["family_index"]),
                                         len(design.coords["family"]))
    if "beta_variant_all" in params:
        variant = jnp.asarray(data["variant_index"])
        effects = params["beta_variant_all"]
        weights = families.family_class_weights(variant, structure, design.info["variant_prior"])
    else:
        variant = jnp.zeros(design.n_patients, dtype=int)
        effects = jnp.zeros(1)
        weights = jnp.ones((structure.n_families, 1))
    locations = families.class_locations(centre, variant, effects)
    family_spread = params["sigma_family"] if integrates_families(spec) else 0.0
    return structure, locations, jnp.log(weights), params["sigma_u"], family_spread


def _sample_family_levels(spec: ModelSpec, params: dict, design, data: dict, centre):
    """Sample the levels family by family, with one class per family.

    With ``family_effects = "integrated"`` the family effect is integrated
    out (`bayestwin.model.families`).
    """
    structure, locations, log_weights, spread, family_spread = family_setup(
        spec, params, design, data, centre)
    if integrates_families(spec):
        numpyro.deterministic("level_centre", centre)
    with numpyro.plate("patient", design.n_patients, dim=-1):
        if spec.section("lipids").parameterisation == "centred":
            return numpyro.sample("w", families.FamilyLevels(
                locations, log_weights, structure, spread, family_spread))
        # Non-centred: the site is Sigma_F^(-1/2) (w - centre), family by family.
        offsets = families.standardise(locations - centre[:, None], structure, spread,
                                       family_spread)
        standard = numpyro.sample("w_std", families.FamilyLevels(
            offsets, log_weights, structure, 1.0, 0.0))
    return numpyro.deterministic(
        "w", centre + families.unstandardise(standard, structure, spread, family_spread))


def _sample_level(name, params, design, data, centre, scale, *, unit=False):
    """Sample the level site; a patient never genotyped gets the mixture over classes.

    With ``unit=True`` the site is standardised: its normals have unit scale
    and their locations are divided by `scale`.
    """
    n = design.n_patients
    spread = 1.0 if unit else scale
    if "beta_variant_all" not in params:
        with numpyro.plate("patient", n, dim=-1):
            return numpyro.sample(name, dist.Normal(centre, spread))
    variant = data["variant_index"]
    prior = jnp.asarray(design.info["variant_prior"])
    tested = variant >= 0
    one_hot = jnp.eye(len(prior))[jnp.clip(variant, 0, None)]
    weights = jnp.where(tested[:, None], one_hot, prior[None, :])
    offsets = params["beta_variant_all"] / scale if unit else params["beta_variant_all"]
    locations = centre[:, None] + offsets[None, :]
    with numpyro.plate("patient", n, dim=-1):
        return numpyro.sample(name, dist.MixtureSameFamily(
            dist.Categorical(probs=weights), dist.Normal(locations, spread)))


def observe(spec: ModelSpec, params: dict, mean_log, observed, obs_dim: int) -> None:
    """Add the likelihood of observed log LDL-C (Student-t or normal)."""
    settings = spec.section("lipids")
    with numpyro.plate("obs", obs_dim):
        if settings.likelihood == "student_t":
            numpyro.sample("log_ldl", dist.StudentT(params["nu"], mean_log, params["sigma_lab"]),
                           obs=observed)
        else:
            numpyro.sample("log_ldl", dist.Normal(mean_log, params["sigma_lab"]), obs=observed)


def draw_family_effects(spec: ModelSpec, design, data: dict, draws: dict, key,
                        batch: int = 256) -> np.ndarray:
    """Draw the integrated-out family effects from their conditional posterior.

    `draws` maps ``sigma_u``, ``sigma_family``, ``w``, ``level_centre`` and,
    when the variant class is a covariate, ``beta_variant`` to arrays with
    the draws first. Returns one effect per draw and family, (D, F).
    """
    def one(key, draw):
        params = {"sigma_u": draw["sigma_u"], "sigma_family": draw["sigma_family"]}
        if "beta_variant" in draw:
            params["beta_variant_all"] = all_class_effects(design, draw["beta_variant"])
        structure, locations, log_weights, spread, family_spread = family_setup(
            spec, params, design, data, draw["level_centre"])
        return families.draw_family_effects(key, draw["w"], locations, log_weights,
                                            structure, spread, family_spread)

    sampler = jax.jit(jax.vmap(one))
    total = len(draws["w"])
    keys = jax.random.split(key, total)
    pieces = []
    for start in range(0, total, batch):
        stop = min(start + batch, total)
        pieces.append(np.asarray(sampler(keys[start:stop], {
            name: jnp.asarray(value[start:stop]) for name, value in draws.items()})))
    return np.concatenate(pieces)
