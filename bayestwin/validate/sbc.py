r"""Simulation-based calibration (SBC) of a model file on small simulated cohorts.

SBC (Talts et al. 2018, arXiv:1804.06788) checks the whole chain from the
prior to the sampler. Each replicate draws parameters :math:`\tilde\theta`
from the prior of the model file, simulates data :math:`\tilde y` from them,
fits the model to :math:`\tilde y` and records, for each checked quantity
:math:`f`, the rank of :math:`f(\tilde\theta)` among :math:`L` posterior
draws. When the sampler returns the exact posterior, each rank is uniform on
:math:`\{0, \dots, L\}`.

Uniformity is judged with the ECDF of the ranks and a simultaneous band
(Säilynoja, Bürkner and Vehtari 2022, Statistics and Computing 32:32). The
pointwise binomial intervals are narrowed or widened until the probability
that a uniform ECDF stays inside all of them at once equals the requested
level. That probability is computed exactly by propagating the distribution
of the ECDF count from one evaluation point to the next.

Two model files are supported: ``lipid_response`` (lipids and treatment
blocks) and ``joint_classic`` (longitudinal and events blocks). Each has its
own generator of covariates, visits and treatments. Observations come from
the model itself (`numpyro.infer.Predictive` with the observed arrays set to
None). Event times of the joint model come from inverting its cumulative
hazard, because the survival term is a ``numpyro.factor`` that Predictive
cannot sample.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import pandas as pd
from numpyro.diagnostics import effective_sample_size
from numpyro.infer import MCMC, NUTS, Predictive, init_to_uniform
from numpyro.infer.util import log_likelihood
from scipy.stats import binom

from bayestwin.data.cohort import Cohort
from bayestwin.data.vocabulary import MARKERS
from bayestwin.inference.fit import nuts_kernel
from bayestwin.inference.seeds import check_seed
from bayestwin.model import longitudinal
from bayestwin.model.assemble import PATIENT_SITES, ModelBundle, build_model
from bayestwin.model.design import MODEL_VARIANT_CLASSES, build_design
from bayestwin.model.quadrature import bspline_basis, gauss_legendre
from bayestwin.spec import ModelSpec, load_spec

logger = logging.getLogger(__name__)

LOG_LIKELIHOOD = "log_lik"
"""Name of the quantity for the log likelihood of the simulated data."""

RANK_COLUMNS = ("replicate", "seed", "max_rank")
"""Columns of a ranks table that are not quantities."""

OBSERVED_SITES = ("log_ldl", "y_long")
"""Observation sites that the prior draw samples and the fit conditions on."""

# Reparameterisation helpers: their information is in the sites derived from them.
_HELPER_SITES = frozenset({
    "baseline_steps", "corr_chol", "v_raw", "eta_statin", "eta_nonstatin", "b_raw", "xi",
    "centre_raw", "family_raw", "loading_free", "loading_anchor", "z_raw", "sigma_u_family",
})
# Dims that index patients, groups or observations, not population parameters.
_UNIT_DIMS = frozenset({"patient", "family", "centre", "obs", "long_obs", "sample",
                        "cac_obs", "plaque_obs", "cimt_obs"})

MASS_CHOICES = ("fit", "diagonal")
"""Sampler set-ups of `SBCSettings.mass`."""

STATIN_CHOICES = (("atorvastatin", (10.0, 20.0, 40.0, 80.0)),
                  ("rosuvastatin", (5.0, 10.0, 20.0, 40.0)),
                  ("simvastatin", (20.0, 40.0)),
                  ("pravastatin", (40.0,)))
"""Statins and doses (mg) of the lipid_response generator: 5 to 80 mg atorvastatin-equivalent."""


@dataclass(frozen=True)
class SBCSettings:
    """Settings of one SBC run.

    Attributes
    ----------
    patients
        Patients per simulated cohort.
    warmup
        NUTS warmup iterations per chain.
    rank_draws
        Posterior draws kept for the ranks, ``L``: ranks run from 0 to ``L``.
    thin
        Keep every ``thin``-th posterior draw, so that the kept draws are close
        to independent; each chain runs ``thin * rank_draws / chains`` draws.
    chains
        Chains per replicate, run one after another.
    target_accept, max_tree_depth
        NUTS settings; the model file's ``[inference]`` values when None.
    horizon
        ``joint_classic``: end of the study in years. Patients are censored
        administratively at a time drawn uniformly between half the horizon
        and the horizon, and the spline knots of the baseline hazard are
        fixed on ``[0, horizon]``.
    mass
        ``"fit"``: the kernel of `bayestwin.inference.fit` (a dense mass-matrix
        block over the population parameters, starts from the data);
        ``"diagonal"``: a diagonal mass matrix and uniform starts in
        [-0.5, 0.5] on the unconstrained scale, the sampler of the runs before
        2026-12-05.
    min_ess
        When set, each chain keeps sampling, ``thin * rank_draws / chains``
        draws at a time, until the smallest bulk ESS of the quantities reaches
        ``min_ess`` or the chain has ``max_extensions`` more such batches. The
        kept draws are then spread evenly over the whole chain, so that the
        ranks come from draws close to independent (Talts et al. 2018 thin
        autocorrelated draws for this reason). None: one batch, thinned by
        ``thin``.
    max_extensions
        Most extra batches per chain with ``min_ess``.

    """

    patients: int = 30
    warmup: int = 500
    rank_draws: int = 99
    thin: int = 10
    chains: int = 1
    target_accept: float | None = None
    max_tree_depth: int | None = None
    horizon: float = 10.0
    mass: str = "fit"
    min_ess: int | None = None
    max_extensions: int = 15

    def __post_init__(self) -> None:
        for name in ("patients", "warmup", "rank_draws", "thin", "chains", "max_tree_depth",
                     "min_ess", "max_extensions"):
            value = getattr(self, name)
            if name in ("max_tree_depth", "min_ess") and value is None:
                continue
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"SBCSettings.{name} must be a positive integer, got {value!r}.")
        if self.patients < 4:
            raise ValueError(f"SBCSettings.patients must be at least 4 (the generators fix the "
                             f"roles of the first patients), got {self.patients}.")
        if self.target_accept is not None and not 0.5 <= self.target_accept < 1.0:
            raise ValueError(f"SBCSettings.target_accept must be in [0.5, 1), "
                             f"got {self.target_accept}.")
        if not self.horizon > 0:
            raise ValueError(f"SBCSettings.horizon must be positive, got {self.horizon}.")
        if self.mass not in MASS_CHOICES:
            raise ValueError(f"SBCSettings.mass must be one of {', '.join(MASS_CHOICES)}, "
                             f"got {self.mass!r}.")

    @property
    def draws_per_chain(self) -> int:
        """Post-warmup draws per chain, before thinning."""
        return self.thin * -(-self.rank_draws // self.chains)


@dataclass
class Replicate:
    """One simulated data set: the model bundle that observes it and the prior draw behind it.

    Attributes
    ----------
    seed
        The replicate's seed; `simulate_replicate` with it rebuilds the replicate.
    cohort
        The simulated design (patients, visits, treatments, events). Its
        measurement values are placeholders: the simulated observations are
        in ``bundle.data``.
    bundle
        The model of the spec on this cohort, with the simulated observations.
    truth
        Every latent and deterministic site of the prior draw, without the
        leading sample axis.
    info
        Counts of the simulated data: ``observations`` and, for the joint
        model, ``events``.

    """

    seed: int
    cohort: Cohort
    bundle: ModelBundle
    truth: dict[str, np.ndarray]
    info: dict[str, float] = field(default_factory=dict)


# --- Seeds -----------------------------------------------------------------------------------


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """Derive one integer seed per replicate from a root seed with `numpy.random.SeedSequence`.

    The seeds do not depend on how the replicates are later spread over
    processes, so a run split over workers gives the same ranks.
    """
    seed = check_seed(seed)
    if not isinstance(replicates, int) or replicates < 1:
        raise ValueError(f"replicates must be a positive integer, got {replicates!r}.")
    children = np.random.SeedSequence(seed).spawn(replicates)
    return [int(child.generate_state(1, dtype=np.uint32)[0]) for child in children]


# --- Design generators -----------------------------------------------------------------------


def model_kind(spec: ModelSpec) -> str:
    """Return which generator fits `spec`: ``"lipid_response"`` or ``"joint_classic"``.

    Raises
    ------
    ValueError
        The spec switches on blocks other than lipids and treatment, or
        longitudinal and events, for which no generator exists.

    """
    blocks = set(spec.blocks)
    if blocks == {"lipids", "treatment"}:
        return "lipid_response"
    if blocks == {"longitudinal", "events"}:
        return "joint_classic"
    raise ValueError(f"SBC has generators for the blocks of lipid_response (lipids, treatment) "
                     f"and of joint_classic (longitudinal, events); model '{spec.name}' "
                     f"switches on {', '.join(spec.blocks)}.")


def _patient_ids(n: int) -> list[str]:
    return [f"P{i:02d}" for i in range(n)]


def _families(n: int, rng: np.random.Generator) -> list[str]:
    """Place patients at random into families of three, two and one members, in turn.

    The number of families depends on `n` only, so that every replicate has
    the same array shapes (see `lipid_design`).
    """
    labels = []
    family = 0
    while len(labels) < n:
        size = (3, 2, 1)[family % 3]
        labels.extend([f"F{family:02d}"] * size)
        family += 1
    return list(rng.permutation(np.array(labels[:n], dtype=object)))


def _spread_visits(end: float, count: int, rng: np.random.Generator) -> list[float]:
    """Return `count` visit times: one at entry, the others jittered evenly over (0, end)."""
    gaps = (np.arange(count - 1) + rng.uniform(0.0, 1.0, count - 1)) / (count - 1)
    return [0.0, *(float(end) * gaps)]


def _statin_row(patient: str, start: float, stop: float, rng: np.random.Generator) -> dict:
    drug, doses = STATIN_CHOICES[int(rng.integers(len(STATIN_CHOICES)))]
    return {"patient_id": patient, "drug": drug, "dose_mg": float(rng.choice(doses)),
            "start": start, "stop": stop, "adherence": _adherence(rng)}


def _adherence(rng: np.random.Generator) -> float:
    """Return a recorded adherence for about a third of the periods, NaN (unknown) otherwise."""
    return float(rng.uniform(0.5, 1.0)) if rng.random() < 0.3 else np.nan


ADD_ON_DRUGS = (("ezetimibe", 10.0, 0.35), ("evolocumab", 140.0, 0.10),
                ("alirocumab", 150.0, 0.05), ("inclisiran", 284.0, 0.05),
                ("bempedoic_acid", 180.0, 0.05))
"""Non-statin drugs of the lipid_response generator: name, dose (mg), share of treated patients."""

LIPID_VISITS = 6
"""LDL-C visits per patient during follow-up in the lipid_response generator."""

JOINT_VISITS = 5
"""Marker visits per patient before the event or censoring in the joint_classic generator."""


def _count(share: float, total: int) -> int:
    return int(round(share * total))


def lipid_design(spec: ModelSpec, *, patients: int, rng: np.random.Generator) -> Cohort:
    """Generate the design of a ``lipid_response`` replicate: patients, treatments, visits.

    Every patient is followed 2 to 5 years, with an LDL-C visit at entry and
    `LIPID_VISITS` - 1 more spread over follow-up. 90% take a statin (four
    statins, 5 to 80 mg atorvastatin-equivalent) from a time between 2 years
    before and half a year after entry. Half of them switch statin or dose
    once. Each treated patient may add up to two of ezetimibe (35%), a PCSK9
    antibody (15%), inclisiran (5%) and bempedoic acid (5%). 85% of the
    treated have an LDL-C measurement before their first statin. A third of the treatment
    periods have a recorded adherence between 0.5 and 1. 80% have a tested
    variant class drawn from the model file's ``variant_prior``, the rest
    ``not_tested``. The PRS is standard normal. Families have one to three
    members.

    A process reuses the compiled sampler only when every replicate has the
    same array shapes and constants. The counts above are therefore exact,
    not random. The PRS is missing for the last 15% of patients, because the
    model stores the positions of missing values as constants. The first
    patients have fixed roles. ``P00`` is tested, has a pre-treatment
    measurement, switches statin, and adds ezetimibe and evolocumab, which
    fixes the number of treatment pieces per patient at five. ``P01`` is not
    tested. The patient-level quantities refer to these two patients.

    Measurement values are placeholders (1 mmol/L) that the prior draw replaces.
    """
    n = patients
    ids = _patient_ids(n)
    sex = np.where(rng.random(n) < 0.5, "M", "F")
    age = rng.uniform(18.0, 65.0, n)
    end_time = rng.uniform(2.0, 5.0, n)

    # Genomics: variant class from the model file's prior, PRS missing for the last patients.
    weights = np.array([float(spec.section("lipids").variant_prior.get(c, 0.0))
                        for c in MODEL_VARIANT_CLASSES])
    if weights.sum() <= 0:
        weights = np.ones(len(MODEL_VARIANT_CLASSES))
    variant = rng.choice(MODEL_VARIANT_CLASSES, size=n, p=weights / weights.sum()).astype(object)
    not_tested = 2 + rng.permutation(n - 2)[: max(_count(0.2, n) - 1, 0)]
    variant[np.concatenate([[1], not_tested]).astype(int)] = "not_tested"
    prs = rng.standard_normal(n)
    prs[n - min(_count(0.15, n), n - 2):] = np.nan

    # Who is treated and who has a pre-treatment measurement.
    untreated = set((2 + rng.permutation(n - 2)[: max(_count(0.1, n), 1)]).tolist())
    treated = [i for i in range(n) if i not in untreated]
    others = [i for i in treated if i != 0]
    before = {0, *rng.permutation(others)[: _count(0.85, len(treated)) - 1].tolist()}

    treatments, times, visit_patients = [], [], []
    for i, patient in enumerate(ids):
        follow_up = float(end_time[i])
        visits = _spread_visits(follow_up, LIPID_VISITS, rng)
        if i in treated:
            first = float(rng.uniform(-2.0, 0.5))
            if i == 0 or rng.random() < 0.5:
                change = float(rng.uniform(first + 0.2, follow_up - 0.5))
                treatments.append(_statin_row(patient, first, change, rng))
                treatments.append(_statin_row(patient, change, np.nan, rng))
            else:
                treatments.append(_statin_row(patient, first, np.nan, rng))
            if i in before:
                visits.insert(0, first - float(rng.uniform(0.1, 1.0)))
            chosen = ([0, 1] if i == 0 else
                      [k for k, (_, _, share) in enumerate(ADD_ON_DRUGS) if rng.random() < share])
            for k in chosen[:2]:
                drug, dose, _ = ADD_ON_DRUGS[k]
                start = float(rng.uniform(max(first, 0.0) + 0.1, follow_up - 0.1))
                treatments.append({"patient_id": patient, "drug": drug, "dose_mg": dose,
                                   "start": start, "stop": np.nan, "adherence": _adherence(rng)})
        times.extend(visits)
        visit_patients.extend([patient] * len(visits))

    marker = spec.section("lipids").marker
    unit = next(iter(MARKERS[marker].units)) if marker in MARKERS else ""
    measurements = pd.DataFrame({"patient_id": visit_patients, "time": times, "marker": marker,
                                 "value": 1.0, "unit": unit})
    patients_table = pd.DataFrame({
        "patient_id": ids, "sex": sex, "age_at_entry": age, "end_time": end_time,
        "prior_ascvd": False, "smoking": "never", "diabetes": False, "hypertension": False,
        "family_id": _families(n, rng),
    }).set_index("patient_id")
    treatment_table = pd.DataFrame(
        treatments, columns=["patient_id", "drug", "dose_mg", "start", "stop", "adherence"])
    genomics = pd.DataFrame({"patient_id": ids, "variant_class": variant,
                             "prs": prs}).set_index("patient_id")
    return Cohort(patients=patients_table, measurements=measurements,
                  treatments=treatment_table, events=_no_events(), genomics=genomics,
                  source="bayestwin.validate.sbc")


def _no_events() -> pd.DataFrame:
    return pd.DataFrame({"patient_id": pd.Series(dtype=str), "time": pd.Series(dtype=float),
                         "event": pd.Series(dtype=str)})


def _joint_measurements(spec: ModelSpec, ids: Sequence[str], end: np.ndarray,
                        rng: np.random.Generator) -> pd.DataFrame:
    """Return `JOINT_VISITS` placeholder marker visits per patient before ``end[i]``."""
    times, visit_patients = [], []
    for i, patient in enumerate(ids):
        times.extend(_spread_visits(float(end[i]), JOINT_VISITS, rng))
        visit_patients.extend([patient] * JOINT_VISITS)
    marker = spec.section("longitudinal").marker
    unit = next(iter(MARKERS[marker].units)) if marker in MARKERS else ""
    return pd.DataFrame({"patient_id": visit_patients, "time": times, "marker": marker,
                         "value": 1.0, "unit": unit})


def joint_design(spec: ModelSpec, *, patients: int, rng: np.random.Generator,
                 horizon: float) -> Cohort:
    """Generate the draft design of a ``joint_classic`` replicate: patients, sex, censoring.

    Each patient is censored administratively at a time uniform on
    ``[horizon / 2, horizon]``. Sex is female with probability 0.5, except
    ``P00`` (female) and ``P01`` (male). The visits of the draft are
    placeholders over the follow-up until censoring: `simulate_replicate`
    replaces them, after drawing the event times, by `JOINT_VISITS` visits
    spread over each patient's follow-up until the event or censoring, so no
    visit falls after the event.
    """
    n = patients
    ids = _patient_ids(n)
    female = rng.random(n) < 0.5
    female[0], female[1] = True, False
    censoring = rng.uniform(horizon / 2.0, horizon, n)
    patients_table = pd.DataFrame({
        "patient_id": ids, "sex": np.where(female, "F", "M"),
        "age_at_entry": rng.uniform(30.0, 70.0, n), "end_time": censoring,
        "prior_ascvd": False, "smoking": "never", "diabetes": False, "hypertension": False,
    }).set_index("patient_id")
    treatments = pd.DataFrame({"patient_id": pd.Series(dtype=str), "drug": pd.Series(dtype=str),
                               "dose_mg": pd.Series(dtype=float),
                               "start": pd.Series(dtype=float), "stop": pd.Series(dtype=float)})
    return Cohort(patients=patients_table,
                  measurements=_joint_measurements(spec, ids, censoring, rng),
                  treatments=treatments, events=_no_events(), source="bayestwin.validate.sbc")


def fixed_knots(spec: ModelSpec, horizon: float) -> np.ndarray:
    """Return spline knots equally spaced on ``[0, horizon]`` (boundary and interior).

    SBC needs a prior that does not depend on the simulated data, so the
    knots cannot sit at quantiles of the simulated event times.
    """
    return np.linspace(0.0, horizon, spec.section("events").n_knots + 2)


# --- Prior draw and event times --------------------------------------------------------------


def draw_prior(bundle: ModelBundle, key: jax.Array) -> dict[str, np.ndarray]:
    """Draw every site of the model from its prior, observations included.

    The observed arrays (``obs_log_value``, ``long_value``) are set to None,
    so NumPyro samples ``log_ldl`` and ``y_long`` instead of conditioning on
    them. Returns host arrays without the leading sample axis.
    """
    data = dict(bundle.data)
    for name in ("obs_log_value", "long_value"):
        if name in data:
            data[name] = None
    draw = Predictive(bundle.model, num_samples=1)(key, data)
    return {name: np.asarray(value)[0] for name, value in draw.items()}


def draw_observations(bundle: ModelBundle, truth: dict[str, np.ndarray], site: str,
                      key: jax.Array) -> np.ndarray:
    """Draw the observation `site` of `bundle` given the parameter values in `truth`."""
    data = dict(bundle.data)
    for name in ("obs_log_value", "long_value"):
        if name in data:
            data[name] = None
    parameters = {name: jnp.asarray(value)[None] for name, value in truth.items()
                  if name not in OBSERVED_SITES}
    draw = Predictive(bundle.model, posterior_samples=parameters, return_sites=[site])(key, data)
    return np.asarray(draw[site])[0]


def _current_value_coefficients(bundle: ModelBundle, truth: dict) -> np.ndarray:
    """Return each patient's intercept and slope of the current value m_i(t), shape (N, 2)."""
    spec, design = bundle.spec, bundle.design
    settings = spec.section("longitudinal")
    means = np.asarray(longitudinal.patient_means(
        {"beta_long": jnp.asarray(truth["beta_long"])}, settings.fixed_effects,
        jnp.asarray(design.covariates["male"]), jnp.asarray(design.covariates["age_at_entry"])))
    n_random = len(design.coords["random_effect"])
    if "coef" in truth:
        random_part = truth["coef"]
    else:
        random_part = means[:, :n_random] + truth["b"]
    return np.concatenate([random_part, means[:, n_random:]], axis=-1)


class JointHazard:
    """The hazard of the joint model under one parameter draw, evaluated on the host.

    log h_i(t) = B(t) spline_coef + x_i beta_event + alpha_value (c_i0 + c_i1 t),
    with B the cubic B-spline basis on `knots`, x_i the event covariates and
    c_i the intercept and slope of patient i's current value.
    """

    def __init__(self, bundle: ModelBundle, truth: dict, knots: np.ndarray) -> None:
        settings = bundle.spec.section("events")
        design = bundle.design
        self.knots = np.asarray(knots, dtype=float)
        self.spline_coef = np.asarray(truth["spline_coef"])
        self.alpha = float(truth["alpha_value"])
        self.covariate_term = np.zeros(design.n_patients)
        if settings.covariates:
            x = np.stack([design.covariates[name] for name in settings.covariates], axis=-1)
            self.covariate_term = x @ np.asarray(truth["beta_event"])
        self.coefficients = _current_value_coefficients(bundle, truth)

    def log_hazard(self, times: np.ndarray) -> np.ndarray:
        """Return log h_i(t) at `times` of shape (N, T), one row per patient."""
        value = self.coefficients[:, :1] + self.coefficients[:, 1:2] * times
        return (bspline_basis(times, self.knots) @ self.spline_coef
                + self.covariate_term[:, None] + self.alpha * value)

    def cumulative(self, until: np.ndarray, *, nodes: int = 32) -> np.ndarray:
        """Integrate each patient's hazard from 0 to ``until[i]``.

        Gauss-Legendre with `nodes` points on each knot interval: the log
        baseline is a cubic between knots, so the rule is accurate to near
        machine precision unless the hazard changes by many orders of
        magnitude within one interval.
        """
        unit_nodes, unit_weights = gauss_legendre(nodes)
        total = np.zeros(len(until))
        for lower, upper in zip(self.knots[:-1], self.knots[1:], strict=True):
            width = np.clip(until, lower, upper) - lower
            at = lower + width[:, None] * unit_nodes[None, :]
            with np.errstate(over="ignore", invalid="ignore"):
                piece = width * (np.exp(self.log_hazard(at)) @ unit_weights)
            total += np.where(width > 0, piece, 0.0)
        return total


def simulate_events(hazard: JointHazard, censoring: np.ndarray, rng: np.random.Generator, *,
                    tolerance: float = 1e-10, max_iterations: int = 2000
                    ) -> tuple[np.ndarray, np.ndarray]:
    r"""Draw event times of the joint model by inverting its cumulative hazard.

    With :math:`E_i \sim \text{Exp}(1)`, the event time solves
    :math:`H_i(T_i) = E_i`; a patient with :math:`H_i(C_i) < E_i` is censored
    at :math:`C_i`. The root is found by bisection on ``[0, C_i]`` to
    `tolerance` years.

    Returns
    -------
    exit_time, event
        Time of the event or of censoring, and 1 where it is an event.

    """
    threshold = rng.exponential(1.0, len(censoring))
    at_censoring = hazard.cumulative(censoring)
    event = at_censoring >= threshold
    lower, upper = np.zeros(len(censoring)), censoring.copy()
    for _ in range(max_iterations):
        if not np.any(upper - lower > tolerance * upper):
            break
        middle = (lower + upper) / 2.0
        above = hazard.cumulative(middle) >= threshold
        upper = np.where(above, middle, upper)
        lower = np.where(above, lower, middle)
    return np.where(event, upper, censoring), event.astype(float)


# --- Replicates ------------------------------------------------------------------------------


def _bundle(spec: ModelSpec, cohort: Cohort, reference: dict | None) -> ModelBundle:
    design = build_design(cohort, spec, reference=reference)
    return build_model(spec, design)


def simulate_replicate(spec: ModelSpec, *, seed: int, settings: SBCSettings) -> Replicate:
    """Simulate one SBC data set from the prior of `spec`.

    The design comes from the generator of the spec's blocks (`lipid_design`
    or `joint_design`), and the parameters and observations from one prior
    draw (`draw_prior`). For the joint model the event times come from
    `simulate_events`, and each patient's visits are placed before the event.
    """
    seed = check_seed(seed)
    kind = model_kind(spec)
    if spec.section("inference").dtype == "float64":
        numpyro.enable_x64()
    rng = np.random.default_rng(seed)
    key = jax.random.fold_in(jax.random.PRNGKey(seed), 0)

    if kind == "lipid_response":
        cohort = lipid_design(spec, patients=settings.patients, rng=rng)
        bundle = _bundle(spec, cohort, None)
        truth = draw_prior(bundle, key)
        observed = truth.pop("log_ldl")
        bundle.data["obs_log_value"] = jnp.asarray(observed)
        # The fit's kernel starts each patient's level from the mean of its values.
        bundle.design.arrays["obs_log_value"] = np.asarray(observed, dtype=float)
        return Replicate(seed=seed, cohort=cohort, bundle=bundle, truth=truth,
                         info={"observations": float(len(cohort.measurements))})

    _check_joint_spec(spec)
    knots = fixed_knots(spec, settings.horizon)
    reference = {"knots": knots.tolist()}
    draft = joint_design(spec, patients=settings.patients, rng=rng, horizon=settings.horizon)
    draft_bundle = _bundle(spec, draft, reference)
    truth = draw_prior(draft_bundle, key)
    truth.pop("y_long")  # values at the draft's placeholder visits, drawn again below
    censoring = draft.patients["end_time"].to_numpy(float)
    exit_time, event = simulate_events(JointHazard(draft_bundle, truth, knots), censoring, rng)

    # Visits fall before each patient's exit, so none follows an event. Their times depend
    # on the exit only, not on unobserved marker values, so the visit process is ignorable.
    patients = draft.patients.assign(end_time=exit_time)
    events = pd.DataFrame({"patient_id": list(patients.index[event > 0]),
                           "time": exit_time[event > 0], "event": spec.endpoint_events[0]})
    measurements = _joint_measurements(spec, list(patients.index), exit_time, rng)
    cohort = Cohort(patients=patients, measurements=measurements, treatments=draft.treatments,
                    events=events, source=draft.source)
    bundle = _bundle(spec, cohort, reference)
    bundle.data["long_value"] = jnp.asarray(draw_observations(
        bundle, truth, "y_long", jax.random.fold_in(key, 1)))
    return Replicate(seed=seed, cohort=cohort, bundle=bundle, truth=truth,
                     info={"observations": float(len(measurements)),
                           "events": float(event.sum())})


def _check_joint_spec(spec: ModelSpec) -> None:
    settings = spec.section("events")
    if settings.baseline != "bspline" or list(settings.association) != ["value"]:
        raise ValueError(
            f"SBC event simulation handles a B-spline baseline with the 'value' association "
            f"only; model '{spec.name}' has baseline = {settings.baseline!r} and association = "
            f"{list(settings.association)!r}.")
    if spec.competing_events:
        raise ValueError(f"SBC event simulation has no competing cause; model '{spec.name}' "
                         f"lists competing = {list(spec.competing_events)!r}.")


# --- Quantities --------------------------------------------------------------------------------

PATIENT_QUANTITIES = {
    "lipid_response": (("u", ("P00",)), ("v", ("P00",)), ("r_statin", ("P00",)),
                       ("r_nonstatin", ("P00",)), ("u", ("P01",))),
    "joint_classic": (("coef", ("P00", "intercept")), ("coef", ("P00", "slope")),
                      ("coef", ("P01", "slope"))),
}
"""Patient-level quantities per generator: site and coordinate labels (roles fixed by the
generator: P00 treated with a statin and ezetimibe, P01 not tested; in the joint model P00
female and P01 male)."""


def _element_label(name: str, labels: Sequence) -> str:
    return f"{name}[{','.join(str(label) for label in labels)}]" if labels else name


def quantity_names(bundle: ModelBundle, truth: dict[str, np.ndarray]) -> list[tuple]:
    """List the checked quantities as (label, site, index) tuples.

    The quantities are every element of every population parameter (sites
    whose dims index no patient, group or observation, without
    reparameterisation helpers), the patient-level elements of
    `PATIENT_QUANTITIES`, and the log likelihood. Elements that are fixed by
    construction or repeat another quantity are left out: the diagonal and
    upper triangle of a correlation matrix, and the middle spline coefficient
    (equal to ``baseline_log_hazard``).
    """
    quantities = []
    for site in sorted(truth):
        dims = bundle.dims.get(site, [])
        if (site in _HELPER_SITES or site in PATIENT_SITES or site.endswith("_missing")
                or _UNIT_DIMS & set(dims)):
            continue
        shape = np.shape(truth[site])
        for index in np.ndindex(*shape):
            if site == "corr_b" and index[0] <= index[1]:
                continue
            if site == "spline_coef" and index == (shape[0] // 2,):
                continue
            labels = [bundle.coords[d][i] for d, i in zip(dims, index, strict=True)] if dims \
                else list(index)
            quantities.append((_element_label(site, labels), site, index))
    kind = model_kind(bundle.spec)
    for site, labels in PATIENT_QUANTITIES[kind]:
        dims = bundle.dims[site]
        index = tuple(bundle.coords[d].index(label) for d, label in zip(dims, labels,
                                                                         strict=True))
        quantities.append((_element_label(site, labels), site, index))
    quantities.append((LOG_LIKELIHOOD, LOG_LIKELIHOOD, ()))
    return quantities


def total_log_likelihood(bundle: ModelBundle, values: dict[str, np.ndarray]) -> np.ndarray:
    """Return the log density of the observed data under each draw, summed over sites.

    `values` contains latent sites with a leading draw axis. For the joint model
    the sum includes the survival term (the ``numpyro.factor`` site).
    """
    latent = {name: jnp.asarray(value) for name, value in values.items()
              if name not in OBSERVED_SITES}
    per_site = log_likelihood(bundle.model, latent, bundle.data, parallel=True)
    total = sum(jnp.sum(value.reshape(value.shape[0], -1), axis=-1)
                for value in per_site.values())
    return np.asarray(total)


def rank_statistic(draws: np.ndarray, truth: float, rng: np.random.Generator) -> int:
    """Return the rank of `truth` among `draws`: the number of draws below it.

    Ties with `truth` are broken uniformly at random, so a discrete or
    constant quantity still has a uniform rank under a correct posterior.
    """
    draws = np.asarray(draws, dtype=float)
    below = int(np.sum(draws < truth))
    tied = int(np.sum(draws == truth))
    return below + (int(rng.integers(0, tied + 1)) if tied else 0)


# --- Fitting and ranks -----------------------------------------------------------------------


def fit_replicate(replicate: Replicate, *, settings: SBCSettings) -> tuple[dict, dict]:
    """Run NUTS on the replicate's data and return the posterior draws and diagnostics.

    Returns
    -------
    samples
        Site -> array with leading axes (chain, draw); draws are not thinned.
    diagnostics
        ``divergences``, ``mean_leapfrog_steps`` (per draw after warmup),
        ``draws_per_chain`` (after any extension) and ``sampler_seconds``
        (warmup and sampling, compilation included).

    """
    bundle = replicate.bundle
    inference = bundle.spec.section("inference")
    target_accept = settings.target_accept or inference.target_accept
    max_tree_depth = settings.max_tree_depth or inference.max_tree_depth
    if settings.mass == "fit":
        kernel = nuts_kernel(bundle, target_accept=target_accept, max_tree_depth=max_tree_depth)
    else:
        kernel = NUTS(bundle.model, target_accept_prob=target_accept,
                      max_tree_depth=max_tree_depth, init_strategy=init_to_uniform(radius=0.5))
    mcmc = MCMC(kernel, num_warmup=settings.warmup, num_samples=settings.draws_per_chain,
                num_chains=settings.chains, chain_method="sequential", progress_bar=False,
                jit_model_args=True)
    key = jax.random.fold_in(jax.random.PRNGKey(replicate.seed), 1)
    started = time.perf_counter()
    mcmc.run(key, bundle.data, extra_fields=("diverging", "num_steps"))
    batches = [_batch(mcmc)]
    quantities = quantity_names(bundle, replicate.truth) if settings.min_ess else []
    state, extend = mcmc.last_state, None
    while (settings.min_ess and len(batches) <= settings.max_extensions
           and smallest_ess(_joined(batches)[0], quantities)[1] < settings.min_ess):
        extend = extend or _extension(mcmc, bundle.data, settings.draws_per_chain,
                                      settings.chains)
        state, batch = extend(state, bundle.data)
        batches.append(jax.tree_util.tree_map(np.asarray, batch))
    samples, extra = _joined(batches)
    sampler_seconds = time.perf_counter() - started
    return samples, {"divergences": int(np.sum(extra["diverging"])),
                     "mean_leapfrog_steps": float(np.mean(extra["num_steps"])),
                     "draws_per_chain": int(extra["num_steps"].shape[1]),
                     "sampler_seconds": sampler_seconds}


def _extension(mcmc: MCMC, data: dict, draws: int, chains: int) -> Callable:
    """Return extend(state, data) -> (last state, batch): `draws` more NUTS draws per chain.

    It runs the kernel of `mcmc` with its adapted step size and mass matrix,
    as ``MCMC.run`` from ``post_warmup_state`` would, but compiles once per
    replicate: each ``MCMC.run`` compiles its sampling loop again, and the
    compiled code of many extensions exhausted a worker's memory maps.
    """
    kernel = mcmc.sampler

    def one_chain(state, data):
        postprocess = kernel.postprocess_fn((data,), {})

        def step(state, _):
            state = kernel.sample(state, (data,), {})
            return state, (postprocess(state.z), state.diverging, state.num_steps)

        state, (values, diverging, steps) = jax.lax.scan(step, state, None, length=draws)
        return state, (values, {"diverging": diverging, "num_steps": steps})

    if chains == 1:
        run = jax.jit(one_chain)

        def extend(state, data):
            state, batch = run(state, data)
            return state, jax.tree_util.tree_map(lambda value: value[None], batch)

        return extend
    return jax.jit(jax.vmap(one_chain, in_axes=(0, None)))


def _batch(mcmc: MCMC) -> tuple[dict, dict]:
    samples = {name: np.asarray(value) for name, value in
               mcmc.get_samples(group_by_chain=True).items()}  # waits for the device
    extra = {name: np.asarray(value) for name, value in
             mcmc.get_extra_fields(group_by_chain=True).items()}
    return samples, extra


def _joined(batches: list[tuple[dict, dict]]) -> tuple[dict, dict]:
    """Concatenate batches of draws along the draw axis (axis 1)."""
    return tuple({name: np.concatenate([batch[part][name] for batch in batches], axis=1)
                  for name in batches[0][part]} for part in (0, 1))


def smallest_ess(samples: dict, quantities: Sequence[tuple]) -> tuple[str | None, float]:
    """Return the quantity with the smallest bulk ESS in `samples` (chain, draw, ...) and its ESS.

    The log likelihood and quantities with fewer than four draws per chain are
    left out; ``(None, inf)`` when none is left.
    """
    worst, smallest = None, np.inf
    for label, site, index in quantities:
        if site == LOG_LIKELIHOOD:
            continue
        chains = samples[site][(slice(None), slice(None)) + index]
        if chains.shape[1] <= 3:
            continue
        ess = float(effective_sample_size(chains))
        if np.isfinite(ess) and ess < smallest:
            worst, smallest = label, ess
    return worst, smallest


def thin_evenly(samples: dict, rank_draws: int, chains: int) -> dict:
    """Keep `rank_draws` draws, spread evenly over each chain, pooled over chains.

    Each chain gives ``ceil(rank_draws / chains)`` draws at a fixed step,
    ending at its last draw; the pooled draws are cut to `rank_draws`.
    """
    per_chain = -(-rank_draws // chains)
    thinned = {}
    for name, value in samples.items():
        step = value.shape[1] // per_chain
        if step < 1:
            raise ValueError(f"{name}: {value.shape[1]} draws per chain, fewer than the "
                             f"{per_chain} needed for the ranks.")
        kept = value[:, value.shape[1] - step * per_chain + step - 1::step]
        thinned[name] = kept.reshape((-1,) + value.shape[2:])[:rank_draws]
    return thinned


def run_replicate(spec: ModelSpec, *, seed: int, settings: SBCSettings) -> dict:
    """Simulate, fit and rank one replicate.

    Returns
    -------
    dict
        ``ranks`` (quantity -> rank in 0..rank_draws) and ``diagnostics``
        (seed, divergences, smallest bulk ESS over the parameter quantities
        and its quantity, observations, events, seconds).

    """
    started = time.perf_counter()
    replicate = simulate_replicate(spec, seed=seed, settings=settings)
    samples, diagnostics = fit_replicate(replicate, settings=settings)
    quantities = quantity_names(replicate.bundle, replicate.truth)

    thinned = thin_evenly(samples, settings.rank_draws, settings.chains)
    thinned_loglik = total_log_likelihood(replicate.bundle, thinned)
    truth_loglik = total_log_likelihood(
        replicate.bundle, {name: value[None] for name, value in replicate.truth.items()})[0]

    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    ranks = {}
    for label, site, index in quantities:
        if site == LOG_LIKELIHOOD:
            ranks[label] = rank_statistic(thinned_loglik, truth_loglik, rng)
            continue
        ranks[label] = rank_statistic(thinned[site][(slice(None),) + index],
                                      replicate.truth[site][index], rng)
    worst, smallest = smallest_ess(samples, quantities)
    diagnostics.update({
        "replicate_seed": replicate.seed,
        "min_ess_bulk": smallest if worst else np.nan, "min_ess_quantity": worst,
        "observations": replicate.info.get("observations", np.nan),
        "events": replicate.info.get("events", np.nan),
        "seconds": time.perf_counter() - started,
    })
    return {"ranks": ranks, "diagnostics": diagnostics}


def run_sbc(model: str | ModelSpec, *, replicates: int, seed: int,
            settings: SBCSettings | None = None,
            map_function: Callable | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run SBC for a model file and return the ranks and the per-replicate diagnostics.

    Parameters
    ----------
    model
        Built-in name (``lipid_response``, ``joint_classic``), path or `ModelSpec`.
    replicates
        Number of simulated data sets.
    seed
        Root seed; each replicate's seed comes from `replicate_seeds`.
    settings
        Cohort size and sampler settings; `SBCSettings` defaults when omitted.
    map_function
        A ``map``-like callable used to run the replicates, for example the
        ``map`` of a process pool. It receives `run_replicate_task` and a list
        of ``(spec_text, spec_source, seed, settings)`` tasks; the built-in
        ``map`` (one process) when omitted.

    Returns
    -------
    ranks
        One row per replicate: ``replicate``, ``seed``, ``max_rank``, then one
        column per quantity.
    diagnostics
        One row per replicate: ``replicate``, ``seed``, divergences, smallest
        bulk ESS, observations, events and timings.

    """
    spec = model if isinstance(model, ModelSpec) else load_spec(model)
    settings = settings or SBCSettings()
    model_kind(spec)
    seeds = replicate_seeds(seed, replicates)
    tasks = [(spec.text, spec.source, s, settings) for s in seeds]
    results = list((map_function or map)(run_replicate_task, tasks))
    return results_to_frames(results, seeds, settings)


def run_replicate_task(task: tuple) -> dict:
    """Run one replicate from a picklable ``(spec_text, spec_source, seed, settings)`` task."""
    from bayestwin.spec import parse_spec

    text, source, seed, settings = task
    result = run_replicate(parse_spec(text, source=source), seed=seed, settings=settings)
    logger.info("replicate seed %d done in %.1f s (%d divergences)", seed,
                result["diagnostics"]["seconds"], result["diagnostics"]["divergences"])
    return result


def results_to_frames(results: Sequence[dict], seeds: Sequence[int], settings: SBCSettings,
                      *, replicates: Sequence[int] | None = None
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn `run_replicate` results into the ranks and diagnostics tables of `run_sbc`.

    `replicates` gives each result's replicate index, 0, 1, ... when omitted.
    """
    rank_rows, diagnostic_rows = [], []
    indices = range(len(results)) if replicates is None else replicates
    for replicate, result, seed in zip(indices, results, seeds, strict=True):
        rank_rows.append({"replicate": replicate, "seed": seed,
                          "max_rank": settings.rank_draws, **result["ranks"]})
        extra = {k: v for k, v in result["diagnostics"].items() if k != "replicate_seed"}
        diagnostic_rows.append({"replicate": replicate, "seed": seed, **extra})
    return pd.DataFrame(rank_rows), pd.DataFrame(diagnostic_rows)


def rank_quantities(ranks: pd.DataFrame) -> list[str]:
    """Return the quantity columns of a ranks table."""
    return [column for column in ranks.columns if column not in RANK_COLUMNS]


# --- ECDF bands ------------------------------------------------------------------------------


def evaluation_points(max_rank: int) -> np.ndarray:
    """Return the fractional ranks z_j = (j + 1) / (L + 1), j = 0..L-1, where the ECDF is checked.

    A rank uniform on {0..L} is at most j with probability exactly z_j, so the
    ECDF count there is Binomial(N, z_j), as for a continuous uniform. The
    last point (z = 1) carries no information and is left out.
    """
    return np.arange(1, max_rank + 1) / (max_rank + 1)


def ecdf_counts(ranks: np.ndarray, max_rank: int) -> np.ndarray:
    """Return #{ranks <= j} for j = 0..max_rank-1."""
    ranks = np.asarray(ranks, dtype=int)
    if np.any((ranks < 0) | (ranks > max_rank)):
        raise ValueError(f"ranks must lie in 0..{max_rank}, got values from {ranks.min()} "
                         f"to {ranks.max()}.")
    return np.cumsum(np.bincount(ranks, minlength=max_rank + 1))[:max_rank]


class _BandCoverage:
    """Exact probability that a uniform ECDF stays inside pointwise binomial intervals.

    The count at z_j given the count m at z_{j-1} is m plus a Binomial(N - m,
    (z_j - z_{j-1}) / (1 - z_{j-1})) draw, so the distribution of the count
    is propagated point by point and cut to the interval at each point.
    """

    def __init__(self, n_ranks: int, points: np.ndarray) -> None:
        self.n = n_ranks
        self.points = points
        counts = np.arange(n_ranks + 1)
        self.first = binom.pmf(counts, n_ranks, points[0])
        self.transitions = []
        for previous, current in zip(points[:-1], points[1:], strict=True):
            step = (current - previous) / (1.0 - previous)
            # transition[m, k] = P(count k at z_j | count m at z_{j-1})
            self.transitions.append(binom.pmf(counts[None, :] - counts[:, None],
                                              n_ranks - counts[:, None], step))

    def intervals(self, pointwise: float) -> tuple[np.ndarray, np.ndarray]:
        lower, upper = binom.interval(1.0 - pointwise, self.n, self.points)
        return lower, upper

    def probability(self, pointwise: float) -> float:
        lower, upper = self.intervals(pointwise)
        counts = np.arange(self.n + 1)
        mass = np.where((counts >= lower[0]) & (counts <= upper[0]), self.first, 0.0)
        for j, transition in enumerate(self.transitions, start=1):
            mass = mass @ transition
            mass = np.where((counts >= lower[j]) & (counts <= upper[j]), mass, 0.0)
        return float(mass.sum())


def simultaneous_band(n_ranks: int, max_rank: int, *, prob: float = 0.95
                      ) -> tuple[np.ndarray, np.ndarray, float]:
    """Compute the simultaneous `prob` band of the ECDF counts of `n_ranks` uniform ranks.

    Parameters
    ----------
    n_ranks
        Number of replicates N.
    max_rank
        Largest rank L (the number of posterior draws per rank).
    prob
        Probability that a uniform ECDF stays inside the whole band.

    Returns
    -------
    lower, upper
        Inclusive bounds of the count #{ranks <= j} at each `evaluation_points` value.
    coverage
        The exact probability that a uniform ECDF stays inside. Counts are
        discrete, so this is the smallest attainable value of at least `prob`.

    """
    if not 0.0 < prob < 1.0:
        raise ValueError(f"prob must be in (0, 1), got {prob}.")
    if n_ranks < 1 or max_rank < 1:
        raise ValueError(f"n_ranks and max_rank must be positive, got {n_ranks} and {max_rank}.")
    coverage = _BandCoverage(n_ranks, evaluation_points(max_rank))

    # The largest pointwise miss rate (narrowest intervals) whose joint coverage reaches prob:
    # bisection on its logarithm, since coverage falls as the rate grows.
    low, high = np.log(1e-12), np.log(1.0 - prob)
    if coverage.probability(np.exp(high)) >= prob:
        low = high
    for _ in range(60):
        middle = (low + high) / 2.0
        if coverage.probability(np.exp(middle)) >= prob:
            low = middle
        else:
            high = middle
    lower, upper = coverage.intervals(np.exp(low))
    return lower, upper, coverage.probability(np.exp(low))


def bonferroni_prob(n_quantities: int, alpha: float = 0.05) -> float:
    """Return the per-quantity band level 1 - alpha / n_quantities."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}.")
    return 1.0 - alpha / max(n_quantities, 1)


def band_check(ranks: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Check each quantity's rank ECDF against its simultaneous band.

    The band of each quantity has level 1 - alpha / Q for Q quantities
    (Bonferroni), so with correct computation the chance that any quantity
    leaves its band is at most `alpha`.

    Returns
    -------
    pandas.DataFrame
        One row per quantity: ``quantity``, ``outside`` (bool), ``points_outside``
        (evaluation points outside the band), ``max_deviation`` (largest
        |ECDF - z|) and ``band_prob``.

    """
    quantities = rank_quantities(ranks)
    max_rank = _max_rank(ranks)
    prob = bonferroni_prob(len(quantities), alpha)
    lower, upper, _ = simultaneous_band(len(ranks), max_rank, prob=prob)
    points = evaluation_points(max_rank)
    rows = []
    for quantity in quantities:
        counts = ecdf_counts(ranks[quantity].to_numpy(), max_rank)
        outside = (counts < lower) | (counts > upper)
        rows.append({"quantity": quantity, "outside": bool(outside.any()),
                     "points_outside": int(outside.sum()),
                     "max_deviation": float(np.max(np.abs(counts / len(ranks) - points))),
                     "band_prob": prob})
    return pd.DataFrame(rows)


def quantities_outside_band(ranks: pd.DataFrame, *, alpha: float = 0.05) -> list[str]:
    """Return the quantities whose rank ECDF leaves its Bonferroni-corrected band."""
    checked = band_check(ranks, alpha=alpha)
    return checked.loc[checked["outside"], "quantity"].tolist()


def _max_rank(ranks: pd.DataFrame) -> int:
    values = ranks["max_rank"].unique()
    if len(values) != 1:
        raise ValueError(f"a ranks table must have one max_rank, got {sorted(values)}.")
    return int(values[0])


# --- Plot ------------------------------------------------------------------------------------


def plot_sbc(ranks: pd.DataFrame, *, alpha: float = 0.05, columns: int = 5,
             title: str | None = None):
    """Draw the ECDF-difference plot of every quantity with its simultaneous band.

    Each panel shows ECDF(z) - z of the fractional ranks and the band of
    `band_check`, at level 1 - alpha / Q. Panels of quantities that leave the
    band are drawn in red. Returns a `matplotlib.figure.Figure` without
    touching pyplot state.
    """
    from matplotlib.figure import Figure

    quantities = rank_quantities(ranks)
    max_rank = _max_rank(ranks)
    n = len(ranks)
    prob = bonferroni_prob(len(quantities), alpha)
    lower, upper, _ = simultaneous_band(n, max_rank, prob=prob)
    points = evaluation_points(max_rank)
    x = np.concatenate([[0.0], points, [1.0]])
    band_low = np.concatenate([[0.0], lower / n - points, [0.0]])
    band_high = np.concatenate([[0.0], upper / n - points, [0.0]])

    rows = -(-len(quantities) // columns)
    figure = Figure(figsize=(2.6 * columns, 2.0 * rows + 0.6), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, columns, sharex=True, sharey=True)).ravel()
    for ax, quantity in zip(axes, quantities, strict=False):
        counts = ecdf_counts(ranks[quantity].to_numpy(), max_rank)
        difference = np.concatenate([[0.0], counts / n - points, [0.0]])
        outside = bool(np.any((counts < lower) | (counts > upper)))
        colour = "tab:red" if outside else "tab:blue"
        ax.fill_between(x, band_low, band_high, color="0.85", linewidth=0)
        ax.plot(x, difference, color=colour, linewidth=1.0)
        ax.axhline(0.0, color="0.5", linewidth=0.5)
        ax.set_title(quantity, fontsize=8, color=colour)
        ax.tick_params(labelsize=7)
    for ax in axes[len(quantities):]:
        ax.set_visible(False)
    figure.supxlabel("fractional rank z", fontsize=9)
    figure.supylabel("ECDF(z) - z", fontsize=9)
    heading = (f"{n} replicates, {max_rank} draws per rank; band: simultaneous "
               f"{prob:.4f} per quantity (Bonferroni, family-wise {1 - alpha:.2f})")
    figure.suptitle(f"{title}\n{heading}" if title else heading, fontsize=10)
    return figure
