"""Conditioning patients on a fit's population posterior, and landmark survival.

The fit is the classic joint model on a small simulated cohort, so these tests
need no reference data. Conditioning a patient who is already in the fit on
that patient's own data must give back the patient's posterior from the fit:
for each population draw the conditional posterior of the patient's
coefficients is exactly the one that NUTS sampled from.
"""

import json
import warnings

import arviz as az
import numpy as np
import pytest
from scipy.integrate import quad

from bayestwin.exceptions import ConvergenceWarning
from bayestwin.inference import fit as fit_model
from bayestwin.simulate.joint_classic import JointClassicTruth, simulate_joint_classic
from bayestwin.twin import conditioning
from bayestwin.twin.conditioning import condition_new_patients
from bayestwin.twin.draws import stacked
from bayestwin.twin.landmark import (
    event_probability,
    observed_outcome,
    subset_cohort,
    truncate_cohort,
)

CHAINS, DRAWS = 2, 300


@pytest.fixture(scope="module")
def simulated():
    cohort = simulate_joint_classic(120, seed=11)
    with warnings.catch_warnings():
        # Short chains: the tests below check conditioning, not convergence.
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = fit_model(cohort, "joint_classic", seed=3, chains=CHAINS, warmup=300,
                           draws=DRAWS, target_accept=0.9, progress_bar=False)
    return cohort, result


def chosen_patients(cohort):
    """Return patients with one, a few and many measurements, with and without an event."""
    counts = cohort.measurements.groupby("patient_id").size()
    events = set(cohort.events["patient_id"])
    picks = [counts.idxmin(), counts.idxmax()]
    picks += [p for p in counts.index if counts[p] == 4 and p in events][:1]
    picks += [p for p in counts.index if counts[p] == 6 and p not in events][:1]
    return list(dict.fromkeys(picks))


@pytest.fixture(scope="module")
def conditioned(simulated):
    cohort, result = simulated
    patients = chosen_patients(cohort)
    return patients, condition_new_patients(result, subset_cohort(cohort, patients), seed=21)


def test_in_fit_patient_recovers_posterior_mean(simulated, conditioned):
    _, result = simulated
    patients, draws = conditioned
    labels = [str(p) for p in result.idata.posterior["patient"].values]
    for j, patient in enumerate(patients):
        fitted = result.idata.posterior["coef"].sel(patient=patient).values  # (chain, draw, 2)
        ours = draws.draws["coef"][:, j].reshape(CHAINS, DRAWS, 2)
        for k in range(2):
            # Both means carry Monte Carlo error: the fit's from its ESS, ours from
            # the ESS of draws that follow the fit's (autocorrelated) population draws.
            error = fitted[..., k].std() * np.sqrt(1.0 / az.ess(fitted[..., k])
                                                   + 1.0 / az.ess(ours[..., k]))
            difference = ours[..., k].mean() - fitted[..., k].mean()
            assert abs(difference) < 4.0 * error, (patient, k, labels.index(patient))


def test_in_fit_patient_recovers_posterior_sd(simulated, conditioned):
    _, result = simulated
    patients, draws = conditioned
    for j, patient in enumerate(patients):
        fitted = result.idata.posterior["coef"].sel(patient=patient).values.reshape(-1, 2)
        ratio = draws.draws["coef"][:, j].std(axis=0) / fitted.std(axis=0)
        # 600 draws with ESS of a few hundred: the SD's relative error is about
        # 4%, so 20% is several standard errors.
        assert np.all(np.abs(ratio - 1.0) < 0.2), (patient, ratio)


def test_acceptance_and_mode(conditioned):
    _, draws = conditioned
    # The Student-t Laplace proposal fits this model closely: 0.85-0.9 on PBC.
    assert draws.acceptance.min() > 0.6
    assert draws.mode_converged.all()


def test_result_layout(conditioned):
    patients, draws = conditioned
    assert draws.patients == [str(p) for p in patients]
    assert draws.draws["coef"].shape == (CHAINS * DRAWS, len(patients), 2)
    assert draws.dims["coef"] == ["patient", "random_effect"]
    dataset = draws.to_dataset()
    assert dataset["coef"].dims == ("draw", "patient", "random_effect")
    assert list(dataset["patient"].values) == draws.patients


def test_same_seed_same_draws(simulated):
    cohort, result = simulated
    one = subset_cohort(cohort, [cohort.patients.index[0]])
    first = condition_new_patients(result, one, seed=4, max_draws=20, steps=5)
    second = condition_new_patients(result, one, seed=4, max_draws=20, steps=5)
    other = condition_new_patients(result, one, seed=5, max_draws=20, steps=5)
    np.testing.assert_array_equal(first.draws["coef"], second.draws["coef"])
    assert not np.array_equal(first.draws["coef"], other.draws["coef"])
    assert len(first.draw_index) == 20


def test_compiled_sampler_is_reused(simulated):
    """Two patients with arrays of the same shapes share one compiled sampler.

    The second patient's draws must be those of a fresh compilation: the
    cached functions take the patient's data as an argument, not as a
    constant of the first call.
    """
    cohort, result = simulated
    counts = cohort.measurements.groupby("patient_id").size()
    events = set(cohort.events["patient_id"])
    same = [p for p in counts.index if counts[p] == 4 and p not in events][:2]
    conditioning._COMPILED.clear()
    condition_new_patients(result, subset_cohort(cohort, [same[0]]), seed=4, max_draws=20,
                           steps=5)
    assert len(conditioning._COMPILED) == 1
    reused = condition_new_patients(result, subset_cohort(cohort, [same[1]]), seed=4,
                                    max_draws=20, steps=5)
    assert len(conditioning._COMPILED) == 1
    conditioning._COMPILED.clear()
    fresh = condition_new_patients(result, subset_cohort(cohort, [same[1]]), seed=4,
                                   max_draws=20, steps=5)
    np.testing.assert_allclose(reused.draws["coef"], fresh.draws["coef"], rtol=1e-10)


def test_invalid_arguments(simulated):
    cohort, result = simulated
    one = subset_cohort(cohort, [cohort.patients.index[0]])
    with pytest.raises(ValueError, match="steps"):
        condition_new_patients(result, one, seed=1, steps=0)
    with pytest.raises(ValueError, match="max_draws"):
        condition_new_patients(result, one, seed=1, max_draws=0)
    with pytest.raises(TypeError, match="seed"):
        condition_new_patients(result, one, seed=1.5)


def test_truncate_cohort_keeps_data_up_to_landmark(simulated):
    cohort, _ = simulated
    truncated = truncate_cohort(cohort, 3.0, endpoint=["death"])
    outcome = observed_outcome(cohort, ["death"])
    assert set(truncated.patients.index) == set(outcome.index[outcome["time"] > 3.0])
    assert (truncated.patients["end_time"] == 3.0).all()
    assert truncated.measurements["time"].max() <= 3.0
    assert truncated.events.empty


def test_event_probability_matches_direct_integral(simulated):
    cohort, result = simulated
    truncated = truncate_cohort(cohort, 2.0, endpoint=["death"])
    patients = list(truncated.patients.index[:3])
    draws = condition_new_patients(result, subset_cohort(truncated, patients), seed=8,
                                   max_draws=5, steps=5)
    probability = event_probability(result, draws, start=2.0, stop=6.0)

    # The same hazard integrated by adaptive quadrature, one draw and patient at a time.
    from bayestwin.model.quadrature import bspline_basis

    knots = np.asarray(draws.design.info["knots"])
    female = draws.design.covariates["female"]
    for d, index in enumerate(draws.draw_index):
        spline = stacked(result.idata, "spline_coef")[index]
        beta = stacked(result.idata, "beta_event")[index, 0]
        alpha = stacked(result.idata, "alpha_value")[index]
        for j in range(len(patients)):
            intercept, slope = draws.draws["coef"][d, j]

            def hazard(t, j=j, intercept=intercept, slope=slope, spline=spline, beta=beta,
                       alpha=alpha):
                log_h0 = bspline_basis(np.array([t]), knots)[0] @ spline
                return np.exp(log_h0 + beta * female[j] + alpha * (intercept + slope * t))

            cumulative, _ = quad(hazard, 2.0, 6.0, points=knots[(knots > 2) & (knots < 6)],
                                 epsabs=1e-12, epsrel=1e-10)
            # Gauss-Legendre with 15 nodes between knots: error far below 1e-6.
            assert probability[d, j] == pytest.approx(1.0 - np.exp(-cumulative), abs=1e-7)


def test_simulated_fit_recovers_association(simulated):
    _, result = simulated
    alpha = stacked(result.idata, "alpha_value")
    lower, upper = np.quantile(alpha, [0.005, 0.995])
    assert lower < JointClassicTruth().alpha < upper


def test_log_marginal_matches_grid_integral(simulated):
    """The importance estimate of log p(y_i | phi) agrees with a 2-d grid integral.

    The patient's own parameters in joint_classic are two unconstrained
    coefficients, so the integral of the block density over a fine grid is
    the exact marginal likelihood up to discretisation error.
    """
    import jax
    import jax.numpy as jnp

    from bayestwin.model.assemble import build_model
    from bayestwin.model.design import build_design

    cohort, result = simulated
    patient = chosen_patients(cohort)[2]  # four measurements and an event
    one = subset_cohort(cohort, [patient])
    draws = condition_new_patients(result, one, seed=3, max_draws=4)

    design = build_design(one, result.spec, reference=json.loads(
        result.idata.attrs["design_reference"]))
    bundle = build_model(conditioning.conditioning_spec(result.spec), design)
    plan = conditioning._plan_sites(bundle, result, draws.draw_index)
    dimension, unravel, _ = conditioning._flat_layout(plan)
    assert dimension == 2
    log_terms = conditioning._block_log_density(bundle, plan, unravel)

    fitted = result.idata.posterior["coef"].sel(patient=str(patient)).values.reshape(-1, 2)
    centre, spread = fitted.mean(axis=0), fitted.std(axis=0)
    axes = [np.linspace(c - 10 * s, c + 10 * s, 401) for c, s in zip(centre, spread, strict=True)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)
    cell = (axes[0][1] - axes[0][0]) * (axes[1][1] - axes[1][0])
    for d in range(len(draws.draw_index)):
        population = {name: values[d] for name, values in plan.population.items()}
        density = jax.jit(jax.vmap(lambda x, p=population: log_terms(x, p, bundle.data)[0][0]))
        values = np.asarray(density(jnp.asarray(grid)))
        exact = np.logaddexp.reduce(values) + np.log(cell)
        assert draws.log_marginal[d, 0] == pytest.approx(exact, abs=0.05), d


def test_population_update_weights(conditioned):
    patients, draws = conditioned
    assert draws.log_marginal.shape == (len(draws.draw_index), len(patients))
    for chosen in (None, [patients[0]]):
        weights, pareto_k = conditioning.population_update(draws, chosen)
        assert weights.shape == draws.draw_index.shape
        assert np.all(weights >= 0.0)
        assert weights.sum() == pytest.approx(1.0)
        # One patient of 120 barely moves the fit's posterior.
        assert pareto_k < conditioning.pareto_k_limit(len(weights))
        assert 1.0 / np.sum(weights**2) > 0.3 * len(weights)


def test_population_update_unknown_patient(conditioned):
    _, draws = conditioned
    with pytest.raises(ValueError, match="not among the conditioned patients"):
        conditioning.population_update(draws, ["no-such-patient"])


def test_pareto_k_limit_follows_draws():
    assert conditioning.pareto_k_limit(1000) == pytest.approx(2.0 / 3.0)
    assert conditioning.pareto_k_limit(10**8) == 0.7
