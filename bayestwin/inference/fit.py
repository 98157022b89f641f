"""Fit a model to a cohort with NumPyro's NUTS and wrap the result as a `Fit`.

Chains run in parallel when JAX has at least as many devices as chains. On
CPU the device count is fixed when JAX starts: the command line sets it from
the number of cores before importing JAX, and a Python user can call
`numpyro.set_host_device_count` before the first JAX operation. Otherwise
chains run one after another, with identical results.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import arviz as az
import jax
import numpy as np
import numpyro
from numpyro import handlers
from numpyro.infer import MCMC, NUTS

from bayestwin.data.cohort import Cohort
from bayestwin.exceptions import ConvergenceWarning
from bayestwin.inference.gate import GateResult, GateThresholds, check_convergence
from bayestwin.inference.init import data_start_values, init_to_median_jittered
from bayestwin.inference.provenance import cohort_hash, provenance_attrs
from bayestwin.inference.seeds import check_seed, root_key
from bayestwin.model import lipids
from bayestwin.model.assemble import PATIENT_SITES, ModelBundle, build_model
from bayestwin.model.design import build_design, design_reference
from bayestwin.spec import ModelSpec, load_spec

logger = logging.getLogger(__name__)

EXTRA_FIELDS = ("diverging", "energy", "num_steps", "accept_prob", "potential_energy",
                "adapt_state.step_size")

# Sites that are reparameterisation helpers or patient arrays, not population parameters.
_NOT_POPULATION = set(PATIENT_SITES) | {
    "centre_raw", "family_raw", "centre_effect", "family_effect", "z", "z_raw", "loading_free",
    "loading_anchor",
    "baseline_steps", "corr_chol", "prs_missing", "diet_missing", "lpa_missing",
    "sbp_missing",
}


# Intermediate deterministic sites, recomputed where needed (predictive checks, family
# effects), not stored.
_NOT_STORED = ("cumulative_hazard", "level_centre")

# Population sites left out of the dense block: the microbiome factor model's many
# taxon-level parameters, which are nearly independent of the rest.
_DIAGONAL_POPULATION = {"mu_taxa", "psi", "loading_free", "loading_anchor", "loading_scale"}


@dataclass
class Fit:
    """A fitted model: the InferenceData, its spec and its convergence gate.

    Attributes
    ----------
    idata
        ArviZ InferenceData with posterior, sample_stats, log_likelihood and,
        when requested, observed_data; provenance in ``idata.attrs``.
    spec
        The model specification the fit used.
    gate
        Result of the convergence gate.
    cohort
        The cohort the fit used, when it is in memory (not stored in the file
        unless requested).
    bundle
        The compiled model and its design, when in memory.

    """

    idata: az.InferenceData
    spec: ModelSpec
    gate: GateResult
    cohort: Cohort | None = None
    bundle: ModelBundle | None = field(default=None, repr=False)

    @property
    def converged(self) -> bool:
        """Whether the fit passed the convergence gate."""
        return self.gate.passed

    def save(self, path: str | Path) -> Path:
        """Write the fit to a NetCDF file; see `bayestwin.inference.io.save_fit`."""
        from bayestwin.inference.io import save_fit

        return save_fit(self, path)


FAMILY_EFFECTS_STREAM = 1
"""Stream of the fit's root key from which integrated-out family effects are drawn."""


def _add_family_effects(idata: az.InferenceData, spec: ModelSpec, bundle: ModelBundle,
                        key) -> None:
    """Add draws of the integrated-out family effects to the posterior.

    They come from their exact conditional posterior given each draw
    (`bayestwin.model.lipids.draw_family_effects`), so the pairs are draws of
    the joint posterior of the model with family effects sampled. Twins of
    new relatives of patients in the fit use them.
    """
    posterior = idata.posterior
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    names = ["sigma_u", "sigma_family", "w", "level_centre"]
    names += ["beta_variant"] if "beta_variant" in posterior else []
    flat = {name: posterior[name].values.reshape((chains * draws,) + posterior[name].shape[2:])
            for name in names}
    effects = lipids.draw_family_effects(spec, bundle.design, bundle.data, flat, key)
    effects = effects.reshape(chains, draws, -1)
    coords = {"chain": posterior["chain"], "draw": posterior["draw"],
              "family": bundle.coords["family"]}
    dims = ("chain", "draw", "family")
    posterior["family_effect"] = (dims, effects)
    posterior["family_raw"] = (dims, effects / posterior["sigma_family"].values[..., None])
    posterior.coords.update({"family": coords["family"]})


# NumPyro's names of the sampler statistics and ArviZ's (as `az.from_numpyro` renames them).
_STAT_NAMES = {"potential_energy": "lp", "adapt_state.step_size": "step_size",
               "num_steps": "n_steps", "accept_prob": "acceptance_rate"}


def inference_data(mcmc: MCMC, bundle: ModelBundle) -> az.InferenceData:
    """Return the InferenceData of a finished run, as `az.from_numpyro` builds it.

    The groups, names, dims and attributes are those of
    ``az.from_numpyro(mcmc, coords=..., dims=..., log_likelihood=True)``.
    ArviZ finds the observed sites by running the model once outside
    `jax.jit`, where JAX compiles every operation on its own. Here that
    trace and the log likelihood run compiled, about four times faster for
    the full FH twin (docs/benchmarks.md).
    """
    from arviz.data.base import dict_to_dataset
    from numpyro.infer import init_to_sample, log_likelihood

    model, data = bundle.model, bundle.data

    def observed_values():
        seeded = handlers.substitute(handlers.seed(model, jax.random.PRNGKey(0)),
                                     substitute_fn=init_to_sample)
        trace = handlers.trace(seeded).get_trace(data)
        return {name: site["value"] for name, site in trace.items()
                if site["type"] == "sample" and site["is_observed"]}

    samples = jax.device_get(mcmc.get_samples(group_by_chain=True))
    chains, draws = next(iter(samples.values())).shape[:2]
    groups = {"posterior": dict_to_dataset(samples, library=numpyro, coords=bundle.coords,
                                           dims=bundle.dims)}

    stats = {}
    for stat, value in mcmc.get_extra_fields(group_by_chain=True).items():
        if isinstance(value, (dict, tuple)):
            continue
        value = np.array(value)
        stats[_STAT_NAMES.get(stat, stat)] = -value if stat == "potential_energy" else value
        if stat == "num_steps":
            stats["tree_depth"] = np.log2(value).astype(int) + 1
    groups["sample_stats"] = dict_to_dataset(stats, library=numpyro, coords=bundle.coords)

    observed = jax.device_get(jax.jit(observed_values)())
    if observed:
        flat = {name: value.reshape((chains * draws,) + value.shape[2:])
                for name, value in samples.items()}
        per_site = jax.device_get(jax.jit(lambda values: log_likelihood(model, values, data))(flat))
        groups["log_likelihood"] = dict_to_dataset(
            {name: np.reshape(np.asarray(value), (chains, draws) + value.shape[1:])
             for name, value in per_site.items()},
            library=numpyro, coords=bundle.coords, dims=bundle.dims, skip_event_dims=True)
        groups["observed_data"] = dict_to_dataset(
            observed, library=numpyro, coords=bundle.coords, dims=bundle.dims, default_dims=[])
    return az.InferenceData(**groups)


def population_variables(idata: az.InferenceData) -> list[str]:
    """Return the posterior variables that are population parameters."""
    return [name for name in idata.posterior.data_vars if name not in _NOT_POPULATION]


def patient_variables(idata: az.InferenceData) -> list[str]:
    """Return the per-patient posterior variables that twins and reports use."""
    return [name for name in ("u", "v", "r_statin", "r_nonstatin", "log_s", "b")
            if name in idata.posterior]


def _dense_blocks(bundle: ModelBundle) -> list[tuple[str, ...]] | bool:
    """Return one dense mass-matrix block over the population parameters.

    Population parameters are few (tens) and correlated (drug effects, imaging
    and hazard intercepts and slopes on the burden), so a dense block adapts
    to their correlations at little cost; per-patient sites keep a diagonal
    mass matrix. Measured on simulated FH cohorts: the step size grows by
    about 1.8 times and the tree depth drops by one.
    """
    trace = handlers.trace(handlers.seed(bundle.model, 0)).get_trace(bundle.data)
    names = tuple(name for name, site in trace.items()
                  if site["type"] == "sample" and not site["is_observed"]
                  and name not in _NOT_POPULATION and name not in _DIAGONAL_POPULATION)
    return [names] if len(names) > 1 else False


def nuts_kernel(bundle: ModelBundle, *, target_accept: float, max_tree_depth: int) -> NUTS:
    """Return the NUTS kernel that `fit` runs: a dense population block, data start values.

    Simulation-based calibration (`bayestwin.validate.sbc`) builds its kernel
    here too, so that it checks the sampler users get.
    """
    return NUTS(bundle.model, target_accept_prob=target_accept, max_tree_depth=max_tree_depth,
                dense_mass=_dense_blocks(bundle),
                init_strategy=init_to_median_jittered(values=data_start_values(bundle.design)))


def fit(cohort: Cohort, model: str | Path | ModelSpec, *, seed: int,
        chains: int | None = None, warmup: int | None = None, draws: int | None = None,
        target_accept: float | None = None, progress_bar: bool = True,
        store_data: bool = False, thresholds: GateThresholds | None = None,
        cohort_path: str | Path | None = None) -> Fit:
    """Fit `model` to `cohort` with NUTS and check convergence.

    Parameters
    ----------
    cohort
        A validated cohort (`bayestwin.data.read_cohort` or the simulator).
    model
        Path to a model file, a built-in name such as ``"fh_twin"``, or a `ModelSpec`.
    seed
        Integer seed. The same seed, data and machine give identical draws.
    chains, warmup, draws, target_accept
        Sampler settings; the model file's ``[inference]`` values when omitted.
    progress_bar
        Show a progress bar while sampling.
    store_data
        Keep the observed values (``observed_data`` group) in the fit. Off by
        default, so that a shared fit file carries no patient values.
    thresholds
        Convergence-gate thresholds; the model file's ``[gate]`` when omitted.
    cohort_path
        Where the cohort was read from, recorded in the provenance so that
        twins can re-read it.

    Returns
    -------
    Fit
        With the gate result; a failed gate emits a `ConvergenceWarning`.

    """
    seed = check_seed(seed)
    spec = model if isinstance(model, ModelSpec) else load_spec(model)
    settings = spec.section("inference")
    chains = chains or settings.chains
    warmup = warmup or settings.warmup
    draws = draws or settings.draws
    target_accept = target_accept or settings.target_accept
    if settings.dtype == "float64":
        # The survival integrals lose precision in float32 (see docs/benchmarks.md).
        numpyro.enable_x64()

    # Stage 1: arrays and the model.
    started = time.perf_counter()
    design = build_design(cohort, spec)
    bundle = build_model(spec, design)
    design_seconds = time.perf_counter() - started

    # Stage 2: NUTS, warmup then sampling, timed apart.
    chain_method = "parallel" if jax.local_device_count() >= chains else "sequential"
    kernel = nuts_kernel(bundle, target_accept=target_accept,
                         max_tree_depth=settings.max_tree_depth)
    mcmc = MCMC(kernel, num_warmup=warmup, num_samples=draws, num_chains=chains,
                chain_method=chain_method, progress_bar=progress_bar)
    logger.info("sampling %s: %d patients, %d chains (%s), %d warmup + %d draws",
                spec.name, design.n_patients, chains, chain_method, warmup, draws)
    key = root_key(seed)
    # JAX returns before the chains finish, so each phase waits for its results.
    started = time.perf_counter()
    mcmc.warmup(key, bundle.data, extra_fields=EXTRA_FIELDS, collect_warmup=False)
    jax.block_until_ready(mcmc.post_warmup_state)
    warmup_seconds = time.perf_counter() - started
    started = time.perf_counter()
    mcmc.run(mcmc.post_warmup_state.rng_key, bundle.data, extra_fields=EXTRA_FIELDS)
    jax.block_until_ready((mcmc.last_state, mcmc.get_samples()))
    sampling_seconds = time.perf_counter() - started

    # Stage 3: InferenceData with named dims, the gate, provenance.
    idata = inference_data(mcmc, bundle)
    if lipids.integrates_families(spec):
        _add_family_effects(idata, spec, bundle, jax.random.fold_in(key, FAMILY_EFFECTS_STREAM))
    idata.posterior = idata.posterior.drop_vars(
        [name for name in _NOT_STORED if name in idata.posterior])
    if not store_data and "observed_data" in idata.groups():
        del idata.observed_data
    gate = check_convergence(
        idata, population=population_variables(idata), patient=patient_variables(idata),
        thresholds=thresholds or GateThresholds.from_section(spec.section("gate")))
    # ArviZ renames NumPyro's num_steps to n_steps.
    steps_name = next((n for n in ("n_steps", "num_steps") if n in idata.sample_stats), None)
    steps = idata.sample_stats[steps_name].values if steps_name else None
    timings = {"design_seconds": design_seconds, "warmup_seconds": warmup_seconds,
               "sampling_seconds": sampling_seconds,
               "gradient_evaluations": int(np.sum(steps)) if steps is not None else -1}
    idata.attrs.update(provenance_attrs(
        spec=spec, data_hash=cohort_hash(cohort), seed=seed,
        sampler={"chains": chains, "warmup": warmup, "draws": draws,
                 "target_accept": target_accept, "max_tree_depth": settings.max_tree_depth,
                 "chain_method": chain_method, "dtype": settings.dtype},
        timings=timings, gate=gate, cohort_path=cohort_path))
    idata.attrs["design_reference"] = json.dumps(design_reference(design))
    if not gate.passed:

        warnings.warn(f"the fit of {spec.name} failed the convergence gate: "
                      f"{'; '.join(gate.failures)}. Run more warmup and draws, or check the "
                      f"model; reports refuse this fit unless allowed explicitly.",
                      ConvergenceWarning, stacklevel=2)
    return Fit(idata=idata, spec=spec, gate=gate, cohort=cohort, bundle=bundle)
