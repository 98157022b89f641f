r"""Condition patients outside the fit on the population posterior (dynamic prediction).

For each population draw :math:`\phi^{(d)}` of a fit, the patients' own
parameters :math:`\theta_i` (random effects, responsiveness, susceptibility,
factor scores, missing covariates, the effect of a family or centre the fit
never saw) are drawn from their conditional posterior

.. math::

    p(\theta_i \mid \phi^{(d)}, y_i) \propto p(y_i \mid \theta_i, \phi^{(d)})\,
                                            p(\theta_i \mid \phi^{(d)}),

without refitting the cohort. The pairs :math:`(\phi^{(d)}, \theta_i^{(d)})`
are draws of :math:`p(\phi \mid \text{cohort})\, p(\theta_i \mid \phi, y_i)`,
the distribution that dynamic predictions integrate over (as in the
"Dynamic Predictions" vignette of JMbayes2). For a new patient it leaves out
the small update of :math:`\phi` by that patient's own data. A patient who
is in the fit and is conditioned on its own data gets back, up to Monte Carlo
error, its posterior from the fit.

The sampler works on any model that `bayestwin.model.assemble.build_model`
builds. The patients' parameters are mapped to an unconstrained space, and
the log density is split into one term per *block*. A block is one patient,
or the patients who share a family or centre that the fit did not see.
Given a population draw, blocks are independent. For every population draw:

1. a damped Newton method (Levenberg-Marquardt, one damping factor per block)
   finds the conditional mode, with the block-diagonal Hessian computed by
   Hessian-vector products. After the first batch of draws, it starts at
   the first draw's mode, which the modes under other draws lie close to;
2. each block gets a multivariate Student-t proposal (5 degrees of freedom)
   centred at the mode, scaled by the inverse Hessian (a Laplace
   approximation with heavier tails);
3. an independence Metropolis-Hastings chain starts from a proposal draw and
   runs ``steps`` steps, each block accepting or rejecting on its own, so the
   final state targets the exact conditional posterior, not its Gaussian
   approximation.

Because blocks are accepted separately, the acceptance rate does not fall
with the number of patients conditioned at once. Before sampling, the split
into blocks is checked numerically against the full log density. A model
whose density does not split as expected falls back to one joint block.

Every proposal of step 3 is also an importance draw for the block's marginal
likelihood :math:`p(y_b \mid \phi^{(d)})`, stored per draw. Weighting the
population draws by it (`population_update`) adds the patients' data to the
fit's posterior, the update that conditioning alone leaves out.

The compiled sampler takes the patients' arrays as arguments, so a later call
with the same model structure and array shapes (for example another patient
with as many measurements) reuses it instead of compiling again.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import xarray as xr
from numpyro import handlers
from numpyro.distributions.transforms import biject_to

from bayestwin.data.cohort import Cohort
from bayestwin.exceptions import BayestwinError, ConvergenceWarning
from bayestwin.inference.fit import Fit
from bayestwin.inference.seeds import check_seed, root_key
from bayestwin.model import families
from bayestwin.model.assemble import ModelBundle, build_model
from bayestwin.model.design import Design, build_design
from bayestwin.spec import ModelSpec
from bayestwin.twin.draws import stacked

logger = logging.getLogger(__name__)

GROUP_SITES = {"centre_raw": ("centre", "centre_index"), "family_raw": ("family", "family_index")}
"""Group-effect sites: name -> (dim, design array that gives each patient's group)."""

OBSERVATION_OWNERS = {
    "long_obs": "long_patient", "obs": "obs_patient", "cac_obs": "cac_patient",
    "plaque_obs": "plaque_patient", "cimt_obs": "cimt_patient", "sample": "sample_patient",
}
"""Observation dims -> design array that gives the patient of each observation."""

PROPOSAL_DF = 5.0
"""Degrees of freedom of the Student-t proposal: heavy enough tails for a skewed posterior."""

NEWTON_ITERATIONS = 50
"""Maximum damped Newton iterations to the conditional mode (a log-concave block needs 5-10)."""

DRAW_BATCH = 128
"""Population draws processed together (vectorised); bounds the memory of one batch."""

LOW_ACCEPTANCE = 0.05
"""Mean acceptance below which a patient's draws are flagged with a `ConvergenceWarning`."""

WARM_START = True
"""Start the Newton searches after the first batch at the first draw's mode (False: at zero)."""

COMPILED_CACHE_SIZE = 8
"""Compiled conditioning samplers kept per process, the least recently used dropped first."""


def conditioning_spec(spec: ModelSpec) -> ModelSpec:
    """Return the model conditioned on: family effects sampled, not integrated out.

    A fit with ``family_effects = "integrated"`` stores draws of the family
    effects from their conditional posterior, so a new relative of patients
    in the fit conditions on them like on any other population draw.

    NOTE: with ``untested_class = "family"``, a new patient never genotyped
    takes the class of genotyped relatives among the new patients only,
    because the classes of relatives in the fit are not carried over.
    """
    if spec.has("lipids") and spec.section("lipids").family_effects == "integrated":
        return spec.with_setting("lipids", "family_effects", "sampled")
    return spec


@dataclass
class ConditionedPatients:
    """Draws of the conditioned patients' own parameters, one per population draw.

    Attributes
    ----------
    patients
        Patient ids, in the order of the ``patient`` axis.
    draw_index
        Index of each population draw in the fit's draws with chain and draw
        stacked (``bayestwin.twin.draws.stacked``), shape (D,). Population
        quantities of draw ``d`` are ``stacked(fit.idata, name)[draw_index[d]]``.
    draws
        Site name -> array with the draw axis first, shape (D, ...): every
        free per-patient site (for the classic joint model ``coef``, the
        patient's intercept and slope) and every deterministic per-patient
        site (``b``, ``u``, ``r_statin``, ...).
    dims, coords
        Named dims of each site after ``draw``, and their coordinate values.
    acceptance
        Mean Metropolis-Hastings acceptance rate per patient, shape (P,).
    mode_converged
        Whether the Newton search reached the conditional mode for every
        population draw, per patient, shape (P,).
    mode_misses
        Number of population draws for which the Newton search did not
        reach the patient's conditional mode, shape (P,). Those draws are
        still exact (Metropolis-Hastings corrects the proposal) but may
        mix less.
    design
        The design arrays of the conditioned cohort, on the fit's scales.
    log_marginal
        Importance-sampling estimate of log p(y_b | population draw) for the
        data y_b of each patient's block, shape (D, P): the likelihood by
        which the block would update the population posterior
        (`population_update`).
    block
        Block of each patient, shape (P,): patients drawn jointly because
        they share a family or centre that the fit has not seen, or an
        unknown family class, share a block and its ``log_marginal``.

    """

    patients: list[str]
    draw_index: np.ndarray
    draws: dict[str, np.ndarray]
    dims: dict[str, list[str]]
    coords: dict[str, list]
    acceptance: np.ndarray
    mode_converged: np.ndarray
    design: Design = field(repr=False)
    log_marginal: np.ndarray | None = None
    block: np.ndarray | None = None
    mode_misses: np.ndarray | None = None

    def to_dataset(self) -> xr.Dataset:
        """Return the draws as an xarray Dataset with dims (``draw``, ``patient``, ...)."""
        variables = {}
        for name, values in self.draws.items():
            dims = ["draw", *self.dims[name]]
            coords = {dim: self.coords[dim] for dim in dims[1:] if dim in self.coords}
            variables[name] = xr.DataArray(values, dims=dims, coords=coords)
        dataset = xr.Dataset(variables)
        dataset["acceptance"] = xr.DataArray(self.acceptance, dims=["patient"],
                                             coords={"patient": self.patients})
        return dataset.assign_coords(draw=np.arange(len(self.draw_index)))


@dataclass
class _Plan:
    """Role of each latent site of the conditioning model: fixed per draw, partial or free."""

    population: dict[str, np.ndarray]  # site -> fit draws (D, ...), held fixed per draw
    partial: dict[str, tuple[np.ndarray, np.ndarray]]  # group site -> (known, unknown) positions
    free: list[str]  # sites drawn here (a partial group site: its unknown positions)
    transforms: dict[str, object]  # free site -> bijection from unconstrained space
    template: dict[str, jnp.ndarray]  # free site -> unconstrained value of the right shape
    free_owner: dict[str, np.ndarray]  # free site -> block of each leading-axis element
    site_owner: dict[str, np.ndarray]  # site -> block of each element of its log density
    n_blocks: int
    block_patients: list[np.ndarray]


def condition_new_patients(fit: Fit, cohort: Cohort, *, seed: int, max_draws: int | None = None,
                           steps: int = 30) -> ConditionedPatients:
    """Draw the own parameters of `cohort`'s patients given each population draw of `fit`.

    Parameters
    ----------
    fit
        The cohort fit; its population draws are held fixed.
    cohort
        The patients to condition, with the data available for them (for a
        landmark prediction: measurements up to the landmark and follow-up
        ending there, event-free). They may or may not be in the fit: their
        arrays are built on the fit's scales (spline knots, standardisation)
        from the provenance.
    seed
        Seed of the proposal and acceptance draws.
    max_draws
        Use at most this many population draws, evenly thinned over the
        stacked chains (all draws when None).
    steps
        Independence Metropolis-Hastings steps per population draw, after
        the first proposal draw.

    Returns
    -------
    ConditionedPatients
        Per-patient draws aligned with the population draws listed in
        ``draw_index``, the acceptance rate per patient and the design.

    Raises
    ------
    ValueError
        ``steps`` or ``max_draws`` is not a positive integer.
    BayestwinError
        A population site of the conditioning model is missing from the fit,
        or has another shape there (the fit used another model file).

    Warns
    -----
    ConvergenceWarning
        When a patient's mean acceptance is below 5% or the Newton search did
        not reach a patient's conditional mode: that patient's draws may
        stay too close to the Laplace approximation.

    """
    seed = check_seed(seed)
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if max_draws is not None and (not isinstance(max_draws, int) or max_draws < 1):
        raise ValueError(f"max_draws must be a positive integer or None, got {max_draws!r}")
    if fit.spec.section("inference").dtype == "float64":
        numpyro.enable_x64()

    # Stage 1: the model of the new patients on the fit's scales.
    reference = json.loads(fit.idata.attrs.get("design_reference", "{}"))
    design = build_design(cohort, fit.spec, reference=reference)
    bundle = build_model(conditioning_spec(fit.spec), design)
    total = fit.idata.posterior.sizes["chain"] * fit.idata.posterior.sizes["draw"]
    draw_index = (np.arange(total) if max_draws is None or max_draws >= total
                  else np.linspace(0, total - 1, max_draws).round().astype(int))
    plan = _plan_sites(bundle, fit, draw_index)
    population = plan.population

    # The sampler is compiled once per model structure and array shapes (see _structure_key).
    key = _structure_key(fit, bundle, plan, steps)
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _compile(bundle, plan, steps, population, seed)
        _COMPILED[key] = compiled
        while len(_COMPILED) > COMPILED_CACHE_SIZE:
            _COMPILED.pop(next(iter(_COMPILED)))
    else:
        _COMPILED[key] = _COMPILED.pop(key)  # most recently used last
    n_blocks = compiled.n_blocks
    block_patients = ([np.concatenate(plan.block_patients)] if compiled.single_block
                      else plan.block_patients)
    logger.info("conditioning %d patient(s) in %d block(s): %d free parameters, %d population "
                "draws", design.n_patients, n_blocks, compiled.dimension, len(draw_index))

    # Stage 3: mode, Laplace proposal and independence Metropolis-Hastings per draw. The
    # first batch of draws searches from zero. The later ones start at the first draw's
    # mode, a few Newton steps from theirs, with the same compiled function.
    keys = np.asarray(jax.random.split(root_key(seed), len(draw_index)))
    first = min(DRAW_BATCH, len(draw_index)) if WARM_START else len(draw_index)
    zero = jnp.zeros(compiled.dimension)

    def run(rows, start):
        arguments = jax.tree_util.tree_map(lambda value: np.asarray(value)[rows],
                                           (population, keys))
        return _map_batches(lambda pop, key, data: compiled.sample(pop, key, data, start),
                            arguments, len(rows), bundle.data)

    parts = [run(np.arange(first), zero)]
    if first < len(draw_index):
        mode = parts[0][3][0]
        start = jnp.where(jnp.isfinite(mode), mode, zero)
        parts.append(run(np.arange(first, len(draw_index)), start))
    flat_draws, acceptance, converged, _, block_log_marginal = (
        np.concatenate(column) for column in zip(*parts, strict=True))

    # Stage 4: per-patient sites (free and deterministic) from the drawn parameters.
    draws = {name: np.asarray(value) for name, value in _map_batches(
        compiled.patient_sites, (flat_draws, population), flat_draws.shape[0],
        bundle.data).items()}
    patient_acceptance = np.zeros(design.n_patients)
    patient_converged = np.zeros(design.n_patients, dtype=bool)
    patient_misses = np.zeros(design.n_patients, dtype=int)
    patient_block = np.zeros(design.n_patients, dtype=int)
    block_acceptance = np.asarray(acceptance).mean(axis=0)
    block_misses = np.sum(~np.asarray(converged), axis=0)
    for block, members in enumerate(block_patients):
        patient_acceptance[members] = block_acceptance[block]
        patient_converged[members] = block_misses[block] == 0
        patient_misses[members] = block_misses[block]
        patient_block[members] = block
    patients = [str(p) for p in design.patient_ids]
    logger.info("conditioning done: acceptance median %.2f, min %.2f",
                float(np.median(patient_acceptance)), float(patient_acceptance.min()))
    _warn_poor_patients(patients, patient_acceptance, patient_misses, len(draw_index))
    return ConditionedPatients(
        patients=patients, draw_index=draw_index, draws=draws,
        dims={name: list(bundle.dims.get(name, [])) for name in draws},
        coords=dict(bundle.coords), acceptance=patient_acceptance,
        mode_converged=patient_converged, design=design,
        log_marginal=np.asarray(block_log_marginal)[:, patient_block], block=patient_block,
        mode_misses=patient_misses)


def population_update(conditioned: ConditionedPatients,
                      patients: list[str] | None = None) -> tuple[np.ndarray, float]:
    """Return weights of the population draws that add `patients` to the fit.

    `patients` default to every conditioned patient; the blocks of those
    listed all count. The fit's posterior updated by their data y is
    p(phi | cohort, y) proportional to p(phi | cohort) p(y | phi), so each
    population draw gets the weight p(y | phi), estimated by importance
    sampling in `condition_new_patients` (``log_marginal``). The weights are
    Pareto-smoothed (`arviz.psislw`); together with the patients' draws they
    approximate a refit of the cohort that includes these patients, without
    refitting.

    Returns
    -------
    weights
        Normalised weights, shape (D,), in the order of ``draw_index``.
    pareto_k
        Shape estimate of the weights' Pareto tail. Above
        `pareto_k_limit` of the number of draws the weights are too uneven
        to trust and a refit is needed.

    Raises
    ------
    ValueError
        `conditioned` carries no marginal likelihood estimates, or a patient
        is not among the conditioned patients.

    """
    if conditioned.log_marginal is None or conditioned.block is None:
        raise ValueError("the conditioned patients carry no log_marginal; condition them "
                         "with condition_new_patients.")
    import arviz as az

    chosen = conditioned.patients if patients is None else [str(p) for p in patients]
    unknown = sorted(set(chosen) - set(conditioned.patients))
    if unknown:
        raise ValueError(f"patients {unknown[:5]} are not among the conditioned patients; "
                         "pass ids from `conditioned.patients` or condition them first.")
    columns = [conditioned.patients.index(p) for p in chosen]
    _, first = np.unique(conditioned.block[columns], return_index=True)
    log_weights = np.asarray(conditioned.log_marginal, dtype=float)[
        :, np.asarray(columns)[first]].sum(axis=1)
    log_weights = np.where(np.isfinite(log_weights), log_weights, -np.inf)
    smoothed, pareto_k = az.psislw(log_weights - log_weights.max())
    weights = np.exp(smoothed - np.logaddexp.reduce(smoothed))
    return weights, float(pareto_k)


def pareto_k_limit(draws: int) -> float:
    """Return the Pareto k above which importance weights over `draws` draws are unreliable.

    It is min(1 - 1/log10(draws), 0.7), the threshold that `arviz.loo`
    (ArviZ 0.23) warns at: 0.67 for 1,000 draws.
    """
    return min(1.0 - 1.0 / np.log10(draws), 0.7)


def _warn_poor_patients(patients: list[str], acceptance: np.ndarray, misses: np.ndarray,
                        draws: int) -> None:
    low = [p for p, a in zip(patients, acceptance, strict=True) if a < LOW_ACCEPTANCE]
    stuck = [p for p, m in zip(patients, misses, strict=True) if m > 0]
    if low:
        warnings.warn(f"conditioning accepted fewer than {LOW_ACCEPTANCE:.0%} of proposals for "
                      f"{len(low)} patient(s) ({', '.join(low[:5])}); their draws may stay near "
                      "the Laplace approximation. Increase steps.",
                      ConvergenceWarning, stacklevel=3)
    if stuck:
        warnings.warn(f"the Newton search did not reach the conditional mode of {len(stuck)} "
                      f"patient(s) ({', '.join(stuck[:5])}) for up to {int(misses.max())} of "
                      f"{draws} population draws; check their data for extreme values.",
                      ConvergenceWarning, stacklevel=3)


# Site plan ------------------------------------------------------------------


def _union_find_blocks(n_patients: int, groups: list[np.ndarray]) -> np.ndarray:
    """Return a block id per patient; patients sharing a group in `groups` share a block."""
    parent = np.arange(n_patients)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for members in groups:
        for other in members[1:]:
            parent[root(int(other))] = root(int(members[0]))
    roots = np.array([root(i) for i in range(n_patients)])
    _, block = np.unique(roots, return_inverse=True)
    return block


def _dim_owner(dim: str, design: Design, coords: dict, patient_block: np.ndarray,
               group_block: dict[str, np.ndarray]) -> np.ndarray | None:
    """Return the block of each element along `dim`, or None when `dim` is not per patient."""
    if dim == "patient":
        return patient_block
    if dim in OBSERVATION_OWNERS and OBSERVATION_OWNERS[dim] in design.arrays:
        return patient_block[np.asarray(design.arrays[OBSERVATION_OWNERS[dim]], dtype=int)]
    if dim.endswith("_missing"):
        position = {label: i for i, label in enumerate(coords["patient"])}
        return patient_block[[position[label] for label in coords[dim]]]
    return group_block.get(dim)


@dataclass(frozen=True)
class _SiteShape:
    """What the plan needs from one sample site, read from an abstract trace."""

    observed: bool
    shape: tuple[int, ...]
    log_prob_shape: tuple[int, ...]
    support: object


def _abstract_trace(bundle: ModelBundle) -> dict[str, _SiteShape]:
    """Return the shape, support and log-density shape of every sample site.

    The model is traced abstractly (`jax.eval_shape`), because running it
    eagerly compiles every operation on its own, which takes tens of seconds.
    """
    sites = {}

    def run():
        trace = handlers.trace(handlers.seed(bundle.model, 0)).get_trace(bundle.data)
        for name, site in trace.items():
            if site["type"] == "sample":
                sites[name] = _SiteShape(
                    observed=bool(site["is_observed"]), shape=tuple(jnp.shape(site["value"])),
                    log_prob_shape=tuple(jnp.shape(site["fn"].log_prob(site["value"]))),
                    support=site["fn"].support)
        return jnp.zeros(())

    jax.eval_shape(run)
    return sites


@dataclass
class _Compiled:
    """Compiled sampler and site function of one model structure, reused across calls."""

    sample: Callable  # (population batch, keys, data, start) -> (draws, acceptance, reached, mode)
    patient_sites: Callable  # (flat draws, population batch, data) -> per-patient sites
    dimension: int
    n_blocks: int
    single_block: bool  # the density did not split by patient: one joint block


_COMPILED: dict[tuple, _Compiled] = {}
"""Compiled conditioning functions by `_structure_key`, oldest first."""


def _structure_key(fit: Fit, bundle: ModelBundle, plan: _Plan, steps: int) -> tuple:
    """Return what the compiled functions depend on besides their array arguments.

    The model reads per-patient values from ``bundle.data`` (an argument of
    the compiled functions) but takes its structure from the spec and the
    design: array shapes, missing-covariate masks, anchors and other design
    constants. Two calls with equal keys trace the same program.
    """
    design = bundle.design

    def arrays(mapping):
        return tuple((name, np.shape(value), str(np.asarray(value).dtype),
                      np.asarray(value).tobytes() if name in ("anchor_index",) else b"")
                     for name, value in sorted(mapping.items()))

    def owners(mapping):
        return tuple((name, np.asarray(value).tobytes()) for name, value in sorted(mapping.items()))

    return (
        fit.spec.sha256 or fit.spec.text, steps, arrays(bundle.data),
        arrays({name: design.arrays[name] for name in ("anchor_index",) if name in design.arrays}),
        owners(design.masks), repr(sorted(design.info.items())), tuple(plan.free),
        tuple((name, known.tobytes(), unknown.tobytes())
              for name, (known, unknown) in sorted(plan.partial.items())),
        owners(plan.site_owner), owners(plan.free_owner), plan.n_blocks,
        tuple((name, value.shape) for name, value in sorted(plan.template.items())),
        tuple((name, np.shape(value)[1:]) for name, value in sorted(plan.population.items())),
    )


def _compile(bundle: ModelBundle, plan: _Plan, steps: int, population: dict,
             seed: int) -> _Compiled:
    """Build the block log density, check that it splits by block, and jit the sampler."""
    dimension, unravel, flat_block = _flat_layout(plan)
    n_blocks = plan.n_blocks
    log_terms = _block_log_density(bundle, plan, unravel)
    first = {name: values[0] for name, values in population.items()}
    single_block = not _splits_into_blocks(log_terms, first, bundle.data, flat_block, n_blocks,
                                           seed)
    if single_block:
        logger.warning("the log density of %s does not split into per-patient blocks as the "
                       "site dims suggest; conditioning all patients as one block, which "
                       "lowers the acceptance rate", bundle.spec.name)
        flat_block = np.zeros_like(flat_block)
        split = log_terms

        def log_terms(flat, params, data):  # noqa: F811 - one block that contains everything
            blocks, rest = split(flat, params, data)
            return jnp.atleast_1d(blocks.sum() + rest), jnp.zeros(())

        n_blocks = 1
    sampler = _make_sampler(log_terms, flat_block, n_blocks, dimension, steps)
    return _Compiled(
        sample=jax.jit(jax.vmap(sampler, in_axes=(0, 0, None, None))),
        patient_sites=jax.jit(jax.vmap(_patient_sites(bundle, plan, unravel),
                                       in_axes=(0, 0, None))),
        dimension=dimension, n_blocks=n_blocks, single_block=single_block)


def _plan_sites(bundle: ModelBundle, fit: Fit, draw_index: np.ndarray) -> _Plan:
    """Split the latent sites into population (fixed per draw), partial group and free sites."""
    trace = _abstract_trace(bundle)
    posterior = fit.idata.posterior
    design = bundle.design

    # Group sites: positions of the new cohort's groups that the fit knows.
    known_groups, unknown_groups = {}, {}
    for name, (dim, _) in GROUP_SITES.items():
        if name not in trace:
            continue
        fitted = ([str(label) for label in posterior[dim].values] if dim in posterior.coords
                  else [])
        labels = [str(label) for label in bundle.coords[dim]]
        known_groups[name] = [(i, fitted.index(label)) for i, label in enumerate(labels)
                              if label in fitted]
        unknown_groups[name] = np.array([i for i, label in enumerate(labels)
                                         if label not in fitted], dtype=int)

    # Blocks: patients who share a group that the fit has not seen are drawn together,
    # and so are relatives never genotyped who share an unknown family class.
    linked = []
    for name, (_, index_key) in GROUP_SITES.items():
        for group in unknown_groups.get(name, []):
            linked.append(np.flatnonzero(np.asarray(design.arrays[index_key]) == group))
    if (bundle.spec.has("lipids") and bundle.spec.section("lipids").untested_class == "family"
            and "variant_index" in design.arrays):
        linked += _relatives_sharing_a_class(design)
    patient_block = _union_find_blocks(design.n_patients, linked)
    n_blocks = int(patient_block.max()) + 1 if design.n_patients else 0
    group_block = {}
    for name, (dim, index_key) in GROUP_SITES.items():
        if name in trace:
            index = np.asarray(design.arrays[index_key])
            first_member = [np.flatnonzero(index == g)[0] for g in range(len(bundle.coords[dim]))]
            group_block[dim] = patient_block[first_member]

    population, partial, free = {}, {}, []
    transforms, template, free_owner, site_owner = {}, {}, {}, {}
    for name, site in trace.items():
        dims = bundle.dims.get(name, [])
        if dims:
            owner = _dim_owner(dims[0], design, bundle.coords, patient_block, group_block)
            shape = site.log_prob_shape
            if owner is not None and len(shape) >= 1 and shape[0] == len(owner):
                site_owner[name] = owner
        if site.observed:
            continue
        if name in known_groups:
            unknown = unknown_groups[name]
            full = np.zeros((len(draw_index),) + site.shape)
            if known_groups[name]:
                new_pos, fit_pos = (np.array(column) for column in zip(*known_groups[name],
                                                                       strict=True))
                full[:, new_pos] = stacked(fit.idata, name)[draw_index][:, fit_pos]
            population[name] = full
            if unknown.size:
                partial[name] = (np.setdiff1d(np.arange(site.shape[0]), unknown), unknown)
                free_owner[name] = site_owner[name][unknown]
        elif name in posterior and "patient" not in posterior[name].dims and not any(
                dim.endswith("_missing") for dim in posterior[name].dims):
            values = stacked(fit.idata, name)[draw_index]
            if values.shape[1:] != site.shape:
                raise BayestwinError(
                    f"site {name!r} has shape {values.shape[1:]} in the fit but "
                    f"{site.shape} in the model of the new patients; condition with the "
                    f"model file and design reference that the fit used.")
            population[name] = values
            continue
        elif name not in site_owner:
            raise BayestwinError(
                f"site {name!r} is neither in the fit's posterior nor per patient (its dims "
                f"are {dims}); the fit was made with another model file than "
                f"{bundle.spec.name!r}.")
        else:
            free_owner[name] = site_owner[name]
        if name in known_groups and name not in partial:
            continue
        free.append(name)
        transform = biject_to(site.support)
        transforms[name] = transform
        shape = (len(partial[name][1]),) + site.shape[1:] if name in partial else site.shape
        unconstrained = jax.eval_shape(transform.inv, jax.ShapeDtypeStruct(shape, float))
        template[name] = np.zeros(unconstrained.shape)

    block_patients = [np.flatnonzero(patient_block == block) for block in range(n_blocks)]
    return _Plan(population=population, partial=partial, free=free, transforms=transforms,
                 template=template, free_owner=free_owner, site_owner=site_owner,
                 n_blocks=n_blocks, block_patients=block_patients)


def _relatives_sharing_a_class(design: Design) -> list[np.ndarray]:
    """Return the members of each family whose members never genotyped share an unknown class.

    Their levels are a mixture over one class, so the family's density does
    not split by patient. A family whose genotyped members all have one class
    passes it on, and then the density splits.
    """
    variant = np.asarray(design.arrays["variant_index"])
    family = np.asarray(design.arrays["family_index"])
    structure = families.FamilyStructure(jnp.asarray(family), len(design.coords["family"]))
    weights = np.asarray(families.family_class_weights(variant, structure,
                                                       design.info["variant_prior"]))
    unknown = weights.max(axis=1) < 1.0
    has_untested = np.bincount(family[variant < 0], minlength=len(weights)) > 0
    return [np.flatnonzero(family == label)
            for label in np.flatnonzero(unknown & has_untested)]


def _flat_layout(plan: _Plan) -> tuple[int, Callable, np.ndarray]:
    """Return the length of the flat parameter vector, its unflattening and each element's block."""
    names = sorted(plan.template)
    shapes = [plan.template[name].shape for name in names]
    sizes = [int(np.prod(shape)) for shape in shapes]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    blocks = [np.broadcast_to(plan.free_owner[name].reshape((-1,) + (1,) * (len(shape) - 1)),
                              shape).ravel() for name, shape in zip(names, shapes, strict=True)]
    flat_block = np.concatenate(blocks).astype(int) if blocks else np.zeros(0, dtype=int)

    def unravel(flat):
        return {name: flat[offsets[i]:offsets[i + 1]].reshape(shapes[i])
                for i, name in enumerate(names)}

    return int(offsets[-1]), unravel, flat_block


def _reduce_to_leading(values: jnp.ndarray) -> jnp.ndarray:
    return values.reshape(values.shape[0], -1).sum(axis=1) if values.ndim > 1 else values


def _constrained_params(plan: _Plan, unravel: Callable, flat, population: dict):
    """Return the model's parameters and the log Jacobian per free site."""
    unconstrained = unravel(flat)
    params = dict(population)
    jacobians = {}
    for name in plan.free:
        value = plan.transforms[name](unconstrained[name])
        jacobians[name] = plan.transforms[name].log_abs_det_jacobian(unconstrained[name], value)
        if name in plan.partial:
            value = population[name].at[plan.partial[name][1]].set(value)
        params[name] = value
    return params, jacobians


def _block_log_density(bundle: ModelBundle, plan: _Plan, unravel: Callable) -> Callable:
    """Return f(flat, population, data) -> (log density per block, remaining terms)."""
    n_blocks = plan.n_blocks
    free_owner = {name: jnp.asarray(owner) for name, owner in plan.free_owner.items()}
    site_owner = {name: jnp.asarray(owner) for name, owner in plan.site_owner.items()}

    def log_terms(flat, population, data):
        params, jacobians = _constrained_params(plan, unravel, flat, population)
        model = handlers.substitute(handlers.seed(bundle.model, 0), data=params)
        trace = handlers.trace(model).get_trace(data)
        blocks = jnp.zeros(n_blocks, dtype=flat.dtype)
        rest = jnp.zeros((), dtype=flat.dtype)
        for name, site in trace.items():
            if site["type"] != "sample":
                continue
            log_prob = site["fn"].log_prob(site["value"])
            if site.get("scale") is not None:
                log_prob = site["scale"] * log_prob
            if name in site_owner and jnp.ndim(log_prob) >= 1:
                blocks = blocks + jax.ops.segment_sum(
                    _reduce_to_leading(log_prob), site_owner[name], num_segments=n_blocks)
            else:
                rest = rest + jnp.sum(log_prob)
        for name, log_jacobian in jacobians.items():
            if jnp.ndim(log_jacobian) >= 1:
                blocks = blocks + jax.ops.segment_sum(
                    _reduce_to_leading(log_jacobian), free_owner[name], num_segments=n_blocks)
            else:
                rest = rest + log_jacobian
        return blocks, rest

    return log_terms


def _splits_into_blocks(log_terms: Callable, population: dict, data: dict,
                        flat_block: np.ndarray, n_blocks: int, seed: int) -> bool:
    """Check that block k's log density depends only on block k's parameters.

    With random block weights w, the gradient of sum_k w_k f_k must equal
    w[block] times the gradient of sum_k f_k when each block's term depends
    only on its own parameters; the remaining terms must not depend on any.
    """
    if n_blocks <= 1:
        return True
    rng = np.random.default_rng(seed)
    point = 0.3 * rng.standard_normal(flat_block.shape[0])
    weights = rng.uniform(0.5, 2.0, n_blocks)

    @jax.jit
    def gradients(x, pop, values):
        weighted = jax.grad(lambda y: jnp.dot(weights, log_terms(y, pop, values)[0]))(x)
        plain = jax.grad(lambda y: log_terms(y, pop, values)[0].sum())(x)
        rest = jax.grad(lambda y: log_terms(y, pop, values)[1])(x)
        return weighted, plain, rest

    weighted, plain, rest = (np.asarray(g) for g in gradients(point, population, data))
    scale = 1.0 + np.abs(plain)
    separable = np.all(np.abs(weighted - weights[flat_block] * plain) <= 1e-6 * scale)
    no_rest = np.all(np.abs(rest) <= 1e-8 * scale)
    return bool(separable and no_rest)


# Sampler --------------------------------------------------------------------


def _block_layout(flat_block: np.ndarray, n_blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """Return each block's element indices padded with -1 (n_blocks, d_max) and each position."""
    position = np.zeros_like(flat_block)
    counts = np.zeros(n_blocks, dtype=int)
    for element, block in enumerate(flat_block):
        position[element] = counts[block]
        counts[block] += 1
    index = -np.ones((n_blocks, max(int(counts.max()), 1)), dtype=int)
    index[flat_block, position] = np.arange(flat_block.shape[0])
    return index, position


def _make_sampler(log_terms: Callable, flat_block: np.ndarray, n_blocks: int, dimension: int,
                  steps: int) -> Callable:
    """Return sample(population, key, data, start).

    It returns (flat draw, acceptance per block, mode reached, mode), with
    the Newton search started at `start`.
    """
    index, position = _block_layout(flat_block, n_blocks)
    width = index.shape[1]
    valid = jnp.asarray(index >= 0)
    gather = jnp.asarray(np.where(index >= 0, index, 0))
    block_size = valid.sum(axis=1)
    colours = jnp.asarray((position[None, :] == np.arange(width)[:, None]).astype(float))
    valid_pair = valid[:, :, None] & valid[:, None, :]
    identity = jnp.eye(width)

    def to_blocks(vector):
        return jnp.where(valid, vector[gather], 0.0)

    def to_flat(blocks):
        padded = jnp.where(valid, blocks, 0.0)
        return jnp.zeros(dimension, dtype=blocks.dtype).at[gather].add(padded)

    def search(population, data, start):
        """Return the conditional mode, the gradient and Hessian blocks there."""
        def negative(flat):
            return -log_terms(flat, population, data)[0]

        def negative_total(flat):
            return negative(flat).sum()

        gradient = jax.grad(negative_total)

        def derivatives(flat):
            # Block-diagonal Hessian from one Hessian-vector product per position in a block.
            columns = jax.vmap(lambda v: jax.jvp(gradient, (flat,), (v,))[1])(
                colours.astype(flat.dtype))
            hessian = jnp.moveaxis(columns[:, gather], 0, -1)
            hessian = jnp.where(valid_pair, hessian, identity)
            return to_blocks(gradient(flat)), 0.5 * (hessian + jnp.swapaxes(hessian, 1, 2))

        # Damped Newton to the conditional mode, one damping factor per block, stopped
        # when every block's gradient is below tolerance.
        def reached_mode(flat, grad_blocks):
            return jnp.all(jnp.abs(grad_blocks) < 1e-5 * (1.0 + jnp.abs(to_blocks(flat))), axis=1)

        def newton(state):
            iteration, flat, damping, values, grad_blocks, hessian = state
            step = -jnp.linalg.solve(hessian + damping[:, None, None] * identity,
                                     grad_blocks[..., None])[..., 0]
            candidate = flat + to_flat(step)
            new_values = negative(candidate)
            better = jnp.isfinite(new_values) & (new_values <= values)
            flat = jnp.where(better[flat_block], candidate, flat)
            values = jnp.where(better, new_values, values)
            damping = jnp.clip(jnp.where(better, damping * 0.2, damping * 10.0), 1e-9, 1e9)
            return (iteration + 1, flat, damping, values, *derivatives(flat))

        def searching(state):
            iteration, flat, _, _, grad_blocks, _ = state
            return (iteration < NEWTON_ITERATIONS) & ~jnp.all(reached_mode(flat, grad_blocks))

        _, mode, _, _, grad_blocks, hessian = jax.lax.while_loop(
            searching, newton,
            (0, start, jnp.full(n_blocks, 1e-3), negative(start), *derivatives(start)))
        return mode, grad_blocks, hessian, reached_mode(mode, grad_blocks)

    def sample(population, key, data, start):
        def negative(flat):
            return -log_terms(flat, population, data)[0]

        mode, grad_blocks, hessian, reached = search(population, data, start)

        # Laplace scale: the Hessian with non-positive curvature lifted, then Cholesky.
        eigenvalues, eigenvectors = jnp.linalg.eigh(hessian)
        floor = 1e-6 * jnp.maximum(jnp.max(jnp.abs(eigenvalues), axis=1, keepdims=True), 1.0)
        lifted = jnp.maximum(eigenvalues, floor)
        precision = jnp.einsum("kij,kj,klj->kil", eigenvectors, lifted, eigenvectors)
        cholesky = jnp.linalg.cholesky(precision)
        # A block whose curvature overflowed gets a unit-scale proposal around a finite mode.
        # Metropolis-Hastings keeps the draws exact, and `reached` flags the block.
        finite = jnp.all(jnp.isfinite(cholesky.reshape(n_blocks, -1)), axis=1)
        cholesky = jnp.where(finite[:, None, None], cholesky, identity)
        mode = jnp.where(jnp.isfinite(mode), mode, 0.0)
        reached = reached & finite
        # Log normalising constant of each block's Student-t proposal, whose scale matrix
        # is the inverse of cholesky @ cholesky.T.
        log_normaliser = (jax.scipy.special.gammaln((PROPOSAL_DF + block_size) / 2.0)
                          - jax.scipy.special.gammaln(PROPOSAL_DF / 2.0)
                          - block_size / 2.0 * jnp.log(PROPOSAL_DF * jnp.pi)
                          + jnp.sum(jnp.where(valid, jnp.log(jnp.diagonal(
                              cholesky, axis1=1, axis2=2)), 0.0), axis=1))

        def propose(key):
            key_normal, key_scale = jax.random.split(key)
            normal = jnp.where(valid, jax.random.normal(key_normal, (n_blocks, width)), 0.0)
            scale = jax.random.gamma(key_scale, PROPOSAL_DF / 2.0, (n_blocks,)) * 2.0 / PROPOSAL_DF
            whitened = normal / jnp.sqrt(scale)[:, None]
            offset = jax.vmap(
                lambda c, w: jax.scipy.linalg.solve_triangular(c.T, w, lower=False))(
                cholesky, whitened)
            log_q = -(PROPOSAL_DF + block_size) / 2.0 * jnp.log1p(
                jnp.sum(whitened**2, axis=1) / PROPOSAL_DF)
            return mode + to_flat(offset), log_q

        def log_weight(flat, log_q):
            weight = -negative(flat) - log_q
            return jnp.where(jnp.isfinite(weight), weight, -jnp.inf)

        def step(state, key):
            flat, weight, weight_sum = state
            key_propose, key_accept = jax.random.split(key)
            candidate, log_q = propose(key_propose)
            candidate_weight = log_weight(candidate, log_q)
            accept = jnp.log(jax.random.uniform(key_accept, (n_blocks,))) < (
                candidate_weight - weight)
            flat = jnp.where(accept[flat_block], candidate, flat)
            return (flat, jnp.where(accept, candidate_weight, weight),
                    jnp.logaddexp(weight_sum, candidate_weight)), accept

        key_start, key_chain = jax.random.split(key)
        start_flat, start_q = propose(key_start)
        start_weight = log_weight(start_flat, start_q)
        (final, _, weight_sum), accepted = jax.lax.scan(
            step, (start_flat, start_weight, start_weight), jax.random.split(key_chain, steps))
        # Every proposal is an importance draw for the block's marginal likelihood
        # p(y_block | population draw): the mean of their importance weights estimates it.
        log_marginal = weight_sum - jnp.log(steps + 1.0) - log_normaliser
        return final, accepted.mean(axis=0), reached, mode, log_marginal

    return sample


def _patient_sites(bundle: ModelBundle, plan: _Plan, unravel: Callable) -> Callable:
    """Return f(flat, population, data) -> the free and deterministic per-patient sites."""
    wanted = set(plan.free)
    for name, dims in bundle.dims.items():
        if dims and (dims[0] == "patient" or dims[0].endswith("_missing")):
            wanted.add(name)

    def one(flat, pop, data):
        params, _ = _constrained_params(plan, unravel, flat, pop)
        model = handlers.substitute(handlers.seed(bundle.model, 0), data=params)
        trace = handlers.trace(model).get_trace(data)
        return {name: site["value"] for name, site in trace.items()
                if name in wanted and site["type"] in ("sample", "deterministic")
                and not site.get("is_observed", False)}

    return one


def _map_batches(function: Callable, arguments, count: int, data: dict):
    """Apply a jitted, vectorised function to `count` draws in batches of `DRAW_BATCH`.

    Every batch has the same size (the last one is padded by repeating draws),
    so the function compiles once per batch size; compiling `jax.lax.map` over
    a long loop of Newton steps takes several times longer. `data` goes to
    every call unbatched.
    """
    size = min(DRAW_BATCH, count)
    results = []
    for start in range(0, count, size):
        index = np.minimum(np.arange(start, start + size), count - 1)
        kept = min(size, count - start)
        batch = jax.tree_util.tree_map(lambda value, rows=index: np.asarray(value)[rows],
                                       arguments)
        output = function(*batch, data)
        results.append(jax.tree_util.tree_map(lambda value, n=kept: np.asarray(value)[:n],
                                              output))
    return jax.tree_util.tree_map(lambda *parts: np.concatenate(parts, axis=0), *results)
