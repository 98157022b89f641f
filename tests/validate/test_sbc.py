"""Simulation-based calibration: ranks, simultaneous ECDF bands, generators and one short run."""

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from bayestwin.spec import load_spec
from bayestwin.validate import sbc

# --- Ranks -------------------------------------------------------------------------------------


def test_rank_counts_draws_below():
    rng = np.random.default_rng(0)
    draws = np.array([0.1, 0.5, 0.9, 1.3])
    assert sbc.rank_statistic(draws, 0.0, rng) == 0
    assert sbc.rank_statistic(draws, 0.7, rng) == 2
    assert sbc.rank_statistic(draws, 2.0, rng) == 4


def test_rank_breaks_ties_uniformly():
    # A truth equal to all 4 draws must get each rank 0..4 with probability 1/5.
    rng = np.random.default_rng(1)
    ranks = [sbc.rank_statistic(np.zeros(4), 0.0, rng) for _ in range(5000)]
    counts = np.bincount(ranks, minlength=5)
    assert counts.size == 5
    # Chi-square at 4 degrees of freedom: p < 0.001 only when ties are broken unevenly.
    assert stats.chisquare(counts).pvalue > 0.001


def test_ecdf_counts_rejects_out_of_range():
    with pytest.raises(ValueError, match="0..9"):
        sbc.ecdf_counts(np.array([0, 10]), 9)


def test_ecdf_counts_cumulative():
    counts = sbc.ecdf_counts(np.array([0, 0, 2, 3]), 3)
    np.testing.assert_array_equal(counts, [2, 2, 3])


def test_replicate_seeds_reproducible_and_distinct():
    first = sbc.replicate_seeds(7, 50)
    assert first == sbc.replicate_seeds(7, 50)
    assert len(set(first)) == 50
    assert first != sbc.replicate_seeds(8, 50)
    # Seeds of the first replicates do not change when more replicates are asked for.
    assert sbc.replicate_seeds(7, 60)[:50] == first


def test_thin_evenly_spreads_draws_to_each_chain_end():
    # Two chains of 12 draws, 3 kept from each: every 4th, ending at the last draw.
    samples = {"x": np.arange(24.0).reshape(2, 12), "y": np.zeros((2, 12, 2))}
    thinned = sbc.thin_evenly(samples, rank_draws=5, chains=2)
    np.testing.assert_array_equal(thinned["x"], [3, 7, 11, 15, 19])
    assert thinned["y"].shape == (5, 2)
    with pytest.raises(ValueError, match="fewer than"):
        sbc.thin_evenly(samples, rank_draws=30, chains=2)


def test_smallest_ess_finds_the_autocorrelated_quantity():
    rng = np.random.default_rng(3)
    independent = rng.normal(size=(1, 2000))
    walk = np.cumsum(rng.normal(size=(1, 2000)), axis=1)
    samples = {"a": independent, "b": np.stack([independent[0], walk[0]], axis=-1)[None]}
    quantities = [("a", "a", ()), ("b[0]", "b", (0,)), ("b[1]", "b", (1,)),
                  ("log_lik", sbc.LOG_LIKELIHOOD, ())]
    worst, ess = sbc.smallest_ess(samples, quantities)
    assert worst == "b[1]"
    assert ess < 50


def test_settings_reject_unknown_mass():
    with pytest.raises(ValueError, match="fit, diagonal"):
        sbc.SBCSettings(mass="dense")
    with pytest.raises(ValueError, match="min_ess"):
        sbc.SBCSettings(min_ess=0)


# --- Simultaneous bands ----------------------------------------------------------------------


@pytest.mark.parametrize(("n_ranks", "max_rank", "prob"),
                         [(200, 99, 0.95), (200, 99, 1 - 0.05 / 29), (100, 19, 0.9)])
def test_band_matches_arviz(n_ranks, max_rank, prob):
    # ArviZ 0.23 computes the same band by optimisation. The coverage is a step
    # function of the pointwise level, so the two may land one count apart.
    from arviz.stats.ecdf_utils import ecdf_confidence_band

    lower, upper, coverage = sbc.simultaneous_band(n_ranks, max_rank, prob=prob)
    points = sbc.evaluation_points(max_rank)
    arviz_lower, arviz_upper = ecdf_confidence_band(n_ranks, points, points, prob=prob,
                                                    method="optimized")
    assert coverage >= prob
    assert np.max(np.abs(lower - arviz_lower * n_ranks)) <= 1.0 + 1e-9
    assert np.max(np.abs(upper - arviz_upper * n_ranks)) <= 1.0 + 1e-9


def test_uniform_ranks_stay_inside_at_stated_rate():
    n_ranks, max_rank, trials = 100, 19, 2000
    lower, upper, coverage = sbc.simultaneous_band(n_ranks, max_rank, prob=0.9)
    rng = np.random.default_rng(2)
    inside = 0
    for _ in range(trials):
        counts = sbc.ecdf_counts(rng.integers(0, max_rank + 1, n_ranks), max_rank)
        inside += bool(np.all((counts >= lower) & (counts <= upper)))
    # Four binomial standard errors (about 0.027 here) around the exact coverage.
    error = 4.0 * np.sqrt(coverage * (1 - coverage) / trials)
    assert abs(inside / trials - coverage) < error
    assert coverage == pytest.approx(0.9, abs=0.01)


@pytest.mark.parametrize(("alpha", "beta"), [(0.6, 0.6), (2.0, 1.0), (3.0, 3.0)],
                         ids=["too-narrow", "biased", "too-wide"])
def test_miscalibrated_ranks_leave_band(alpha, beta):
    # Ranks of a posterior that is too narrow (U shape), shifted, or too wide (hump).
    rng = np.random.default_rng(3)
    max_rank, n_ranks = 99, 200
    ranks = np.floor(rng.beta(alpha, beta, n_ranks) * (max_rank + 1)).astype(int)
    lower, upper, _ = sbc.simultaneous_band(n_ranks, max_rank, prob=0.95)
    counts = sbc.ecdf_counts(ranks, max_rank)
    assert np.any((counts < lower) | (counts > upper))


def test_band_check_flags_only_biased_quantity():
    rng = np.random.default_rng(4)
    n_ranks, max_rank = 200, 99
    ranks = pd.DataFrame({
        "replicate": np.arange(n_ranks), "seed": np.arange(n_ranks), "max_rank": max_rank,
        "uniform_a": rng.integers(0, max_rank + 1, n_ranks),
        "uniform_b": rng.integers(0, max_rank + 1, n_ranks),
        "biased": np.floor(rng.beta(2.0, 1.0, n_ranks) * (max_rank + 1)).astype(int),
    })
    checked = sbc.band_check(ranks, alpha=0.05)
    assert list(checked["quantity"]) == ["uniform_a", "uniform_b", "biased"]
    assert sbc.quantities_outside_band(ranks) == ["biased"]
    assert checked["band_prob"].iloc[0] == pytest.approx(1 - 0.05 / 3)


def test_bonferroni_prob_rejects_bad_alpha():
    with pytest.raises(ValueError, match="alpha"):
        sbc.bonferroni_prob(3, alpha=1.5)


# --- Event times -----------------------------------------------------------------------------


class _ConstantHazard:
    def __init__(self, rate: float) -> None:
        self.rate = rate

    def cumulative(self, until):
        return self.rate * np.asarray(until)


def test_event_times_exponential_for_constant_hazard():
    rng = np.random.default_rng(5)
    censoring = np.full(4000, 2.0)
    exit_time, event = sbc.simulate_events(_ConstantHazard(0.5), censoring, rng)
    # P(T <= 2) = 1 - exp(-1); four binomial standard errors (about 0.03).
    assert event.mean() == pytest.approx(1 - np.exp(-1.0), abs=0.03)
    assert np.all(exit_time[event == 0] == 2.0)
    # Event times follow the exponential truncated at the censoring time.
    truncated = stats.truncexpon(b=1.0, scale=2.0)
    assert stats.kstest(exit_time[event == 1], truncated.cdf).pvalue > 0.001


def test_joint_cumulative_hazard_matches_quad():
    spec = load_spec("joint_classic")
    settings = sbc.SBCSettings(patients=6, horizon=10.0)
    replicate = sbc.simulate_replicate(spec, seed=11, settings=settings)
    hazard = sbc.JointHazard(replicate.bundle, replicate.truth,
                             sbc.fixed_knots(spec, settings.horizon))
    until = np.linspace(0.5, 9.5, 6)
    ours = hazard.cumulative(until)
    for i in range(6):
        def integrand(t, i=i):
            return float(np.exp(hazard.log_hazard(np.full((6, 1), t))[i, 0]))

        reference, _ = integrate.quad(integrand, 0.0, until[i], points=hazard.knots[1:-1],
                                      limit=200)
        # quad's own error estimate is near 1e-10 relative for these smooth pieces.
        assert ours[i] == pytest.approx(reference, rel=1e-7)


def test_joint_visits_before_exit():
    spec = load_spec("joint_classic")
    replicate = sbc.simulate_replicate(spec, seed=12, settings=sbc.SBCSettings(patients=8))
    cohort = replicate.cohort
    exit_time = cohort.patients["end_time"].reindex(cohort.measurements["patient_id"])
    assert np.all(cohort.measurements["time"].to_numpy() < exit_time.to_numpy())
    assert len(cohort.measurements) == 8 * sbc.JOINT_VISITS
    assert replicate.bundle.data["long_value"].shape == (8 * sbc.JOINT_VISITS,)


# --- Generators and the prior draw -----------------------------------------------------------


def test_lipid_replicate_reproducible():
    spec = load_spec("lipid_response")
    settings = sbc.SBCSettings(patients=8)
    first = sbc.simulate_replicate(spec, seed=21, settings=settings)
    again = sbc.simulate_replicate(spec, seed=21, settings=settings)
    other = sbc.simulate_replicate(spec, seed=22, settings=settings)
    np.testing.assert_array_equal(first.bundle.data["obs_log_value"],
                                  again.bundle.data["obs_log_value"])
    assert first.truth.keys() == again.truth.keys()
    for name in first.truth:
        np.testing.assert_array_equal(first.truth[name], again.truth[name])
    assert not np.allclose(first.truth["mu_u"], other.truth["mu_u"])


def test_lipid_design_shapes_fixed_across_seeds():
    # The sampler compiles once per run only when every replicate has the same shapes.
    from bayestwin.model.design import build_design

    spec = load_spec("lipid_response")
    shapes = []
    for seed in (1, 2, 3):
        cohort = sbc.lipid_design(spec, patients=12, rng=np.random.default_rng(seed))
        design = build_design(cohort, spec)
        arrays = {**design.arrays, **design.covariates}
        shapes.append({name: np.shape(value) for name, value in arrays.items()})
        assert design.masks["prs"].tolist() == [True] * 10 + [False] * 2
        assert len(design.coords["family"]) == 6
    assert shapes[0] == shapes[1] == shapes[2]


def test_model_kind_rejects_other_blocks():
    with pytest.raises(ValueError, match="fh_twin"):
        sbc.model_kind(load_spec("fh_twin"))


# --- End to end ------------------------------------------------------------------------------


def test_sbc_machinery_end_to_end(tmp_path):
    # A few tiny replicates: this checks the plumbing, not calibration.
    from matplotlib.figure import Figure

    settings = sbc.SBCSettings(patients=6, warmup=60, rank_draws=9, thin=2)
    ranks, diagnostics = sbc.run_sbc("lipid_response", replicates=3, seed=31,
                                     settings=settings)
    quantities = sbc.rank_quantities(ranks)
    assert list(ranks.columns[:3]) == ["replicate", "seed", "max_rank"]
    assert "log_lik" in quantities
    assert {"mu_u", "statin_emax", "sigma_r[statin]", "u[P00]", "u[P01]"} <= set(quantities)
    assert len(ranks) == 3
    values = ranks[quantities].to_numpy()
    assert values.min() >= 0
    assert values.max() <= 9
    assert list(ranks["seed"]) == sbc.replicate_seeds(31, 3)
    assert {"divergences", "min_ess_bulk", "seconds"} <= set(diagnostics.columns)
    assert (diagnostics["draws_per_chain"] == 18).all()

    path = tmp_path / "ranks.csv"
    ranks.to_csv(path, index=False)
    reread = pd.read_csv(path)
    assert list(reread.columns) == list(ranks.columns)
    checked = sbc.band_check(reread)
    assert len(checked) == len(quantities)
    figure = sbc.plot_sbc(reread, title="test")
    assert isinstance(figure, Figure)


@pytest.mark.parametrize("chains", [1, 2])
def test_min_ess_extends_each_chain(chains):
    # An ESS out of reach: each chain runs its one batch and max_extensions more.
    spec = load_spec("lipid_response")
    settings = sbc.SBCSettings(patients=6, warmup=40, rank_draws=10, thin=2, chains=chains,
                               min_ess=10_000, max_extensions=2)
    result = sbc.run_replicate(spec, seed=5, settings=settings)
    assert result["diagnostics"]["draws_per_chain"] == 3 * settings.draws_per_chain
    assert max(result["ranks"].values()) <= 10
