"""Hazard integration, event-time inversion and cumulative incidence."""

import numpy as np
from scipy import integrate

from bayestwin.simulate.cohort import event_linear_predictor
from bayestwin.simulate.events import (
    build_hazard_grid,
    death_cumulative_hazard,
    death_time,
    mace_log_hazard,
)


def _grid(simulated, start, end, step=1.0 / 12.0):
    design = simulated.design
    n = design.n_patients
    return build_hazard_grid(
        simulated.trajectories,
        linear_predictor=event_linear_predictor(design, simulated.config),
        male=design.male,
        window_start=np.full(n, start),
        window_end=np.full(n, end),
        step=step,
    )


def _hazard(simulated, patient):
    predictor = event_linear_predictor(simulated.design, simulated.config)
    return lambda t: float(
        np.exp(
            mace_log_hazard(simulated.trajectories, np.array([patient]), np.array([t]), predictor)[
                0
            ]
        )
    )


def _change_points(simulated, patient, start, end):
    rows = simulated.history.rows
    own = rows[rows["patient"] == patient]
    points = np.concatenate([[start, end], own["start"], own["stop"].dropna()])
    return np.unique(np.clip(points, start, end))


def test_cumulative_hazard_matches_quadrature(cohort_300):
    simulated = cohort_300
    grid = _grid(simulated, 0.0, 10.0)
    for patient in (0, 17, 60, 123, 250):
        points = _change_points(simulated, patient, 0.0, 10.0)
        reference = sum(
            integrate.quad(_hazard(simulated, patient), low, high, epsabs=0, epsrel=1e-11)[0]
            for low, high in zip(points[:-1], points[1:], strict=True)
        )
        got = grid.mace_cumulative_at(np.array([patient]), np.array([10.0]))[0]
        # 3-point Gauss-Legendre on monthly cells of a smooth integrand.
        assert abs(got - reference) <= 1e-8 * reference, patient


def test_grid_step_does_not_matter(cohort_300):
    coarse = _grid(cohort_300, 0.0, 10.0, step=1.0 / 4.0)
    fine = _grid(cohort_300, 0.0, 10.0, step=1.0 / 48.0)
    patients = np.arange(300)
    ten = np.full(300, 10.0)
    np.testing.assert_allclose(
        coarse.mace_cumulative_at(patients, ten), fine.mace_cumulative_at(patients, ten), rtol=1e-7
    )
    np.testing.assert_allclose(
        coarse.incidence_at(patients, ten), fine.incidence_at(patients, ten), rtol=1e-4
    )


def test_incidence_matches_competing_risk_integral(cohort_300):
    simulated = cohort_300
    params = simulated.config.population
    grid = _grid(simulated, 0.0, 10.0, step=1.0 / 48.0)
    design = simulated.design
    for patient in (3, 77, 150):
        hazard = _hazard(simulated, patient)
        age = design.age_at_entry[patient]
        male = design.male[patient]
        points = _change_points(simulated, patient, 0.0, 10.0)

        def mace_cumulative(t, hazard=hazard, points=points):
            inside = points[points < t]
            edges = np.append(inside, t)
            return sum(
                integrate.quad(hazard, a, b, epsrel=1e-10)[0]
                for a, b in zip(edges[:-1], edges[1:], strict=True)
            )

        def density(t, hazard=hazard, age=age, male=male, cumulative=mace_cumulative):
            death = death_cumulative_hazard(age, age + t, male, params)
            return hazard(t) * np.exp(-cumulative(t) - death)

        reference = integrate.quad(density, 0.0, 10.0, points=points[1:-1], limit=200, epsrel=1e-8)[
            0
        ]
        got = grid.incidence_at(np.array([patient]), np.array([10.0]))[0]
        # The grid treats the hazard ratio as constant within a week: error
        # of order (step * hazard)^2, far below 1e-4 relative.
        assert abs(got - reference) <= 1e-4 * reference, patient


def test_first_passage_inverts_cumulative_hazard(cohort_300):
    grid = _grid(cohort_300, 0.0, 30.0)
    rng = np.random.default_rng(4)
    targets = rng.exponential(size=300) * 0.05
    times = grid.first_passage(targets)
    reached = np.isfinite(times)
    assert reached.sum() > 20
    patients = np.flatnonzero(reached)
    cumulative = grid.mace_cumulative_at(patients, times[reached])
    # Linear interpolation inside a month: the hazard barely moves there.
    np.testing.assert_allclose(cumulative, targets[reached], rtol=1e-9)


def test_death_time_inverts_gompertz(cohort_300):
    params = cohort_300.config.population
    age = np.array([25.0, 50.0, 69.0])
    male = np.array([0.0, 1.0, 1.0])
    draws = np.array([0.1, 1.0, 3.0])
    years = death_time(age, male, draws, params)
    np.testing.assert_allclose(
        death_cumulative_hazard(age, age + years, male, params), draws, rtol=1e-12
    )


def test_observed_events_match_expected(cohort_2000):
    # Expected MACE = sum of true cumulative hazards over each follow-up
    # (a martingale identity); Poisson SD is sqrt(expected), we allow 4 SD.
    simulated = cohort_2000
    expected = simulated.truth_patients["mace_cumulative_hazard"].sum()
    observed = (simulated.cohort.events["event"] != "death_other").sum()
    assert abs(observed - expected) < 4.0 * np.sqrt(expected)


def test_incidence_is_a_probability(cohort_300):
    grid = _grid(cohort_300, 0.0, 10.0)
    patients = np.repeat(np.arange(300), 11)
    times = np.tile(np.arange(11.0), 300)
    incidence = grid.incidence_at(patients, times).reshape(300, 11)
    assert (incidence >= 0).all() and (incidence <= 1).all()
    assert (np.diff(incidence, axis=1) >= -1e-15).all()
