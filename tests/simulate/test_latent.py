"""Exact LDL-C and burden paths against independent references."""

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from bayestwin.data.vocabulary import DRUGS
from bayestwin.simulate import PopulationParameters
from bayestwin.simulate.latent import (
    PatientLatents,
    Trajectories,
    expm1_ratio,
    lowering_fraction,
)


def _direct_log_ldl(simulated, patient, time):
    """log L(t) from the untreated line plus every active row's shift, without segments."""
    params = simulated.config.population
    latents = simulated.latent_draws.latents
    age = latents.age_at_entry[patient] + time
    value = latents.u[patient] + latents.v[patient] * (age - params.ldl_reference_age) / 10.0
    rows = simulated.history.rows
    rows = rows[rows["patient"] == patient]
    for row in rows.itertuples():
        stop = np.inf if np.isnan(row.stop) else row.stop
        active = (row.start <= time) & (time < stop)
        group = 0 if DRUGS[row.drug].drug_class == "statin" else 1
        effect = lowering_fraction(row.drug, row.dose_mg, params)
        r = latents.responsiveness[patient, group]
        value = value + active * row.adherence * r * np.log1p(-effect)
    return value


def test_burden_matches_numerical_integral(cohort_300):
    simulated = cohort_300
    params = simulated.config.population
    latents = simulated.latent_draws.latents
    rows = simulated.history.rows
    for patient in range(0, 300, 23):
        birth = -latents.age_at_entry[patient]
        end = simulated.cohort.patients["end_time"].iloc[patient]
        own = rows[rows["patient"] == patient]
        changes = np.concatenate([own["start"].to_numpy(), own["stop"].dropna().to_numpy()])
        points = np.unique(np.clip(np.concatenate([[birth, end], changes]), birth, end))
        total = 0.0
        for low, high in zip(points[:-1], points[1:], strict=True):
            piece, _ = integrate.quad(
                lambda t, p=patient: (
                    np.exp(_direct_log_ldl(simulated, p, t)) - params.ldl_threshold
                ),
                low,
                high,
                epsabs=0.0,
                epsrel=1e-12,
                limit=200,
            )
            total += piece
        reference = np.exp(latents.log_s[patient]) * total
        exact = simulated.trajectories.burden(np.array([patient]), np.array([end]))[0]
        # Both are accurate to about 1e-12; 1e-6 is the brief's bound.
        assert abs(exact - reference) <= 1e-6 * abs(reference), patient


def test_burden_matches_fine_grid(cohort_300):
    # An independent fine-grid trapezoid over the whole life, cut at changes.
    simulated = cohort_300
    params = simulated.config.population
    latents = simulated.latent_draws.latents
    patient = 11
    end = 3.0
    rows = simulated.history.rows
    own = rows[rows["patient"] == patient]
    cuts = np.concatenate(
        [[-latents.age_at_entry[patient], end], own["start"], own["stop"].dropna()]
    )
    cuts = np.unique(np.clip(cuts, -latents.age_at_entry[patient], end))
    total = 0.0
    for low, high in zip(cuts[:-1], cuts[1:], strict=True):
        grid = np.linspace(low, high, 20001)
        mid = 0.5 * (grid[1:] + grid[:-1])
        values = np.exp(_direct_log_ldl(simulated, patient, mid)) - params.ldl_threshold
        total += np.sum(values * np.diff(grid))
    reference = np.exp(latents.log_s[patient]) * total
    exact = simulated.trajectories.burden(np.array([patient]), np.array([end]))[0]
    # Midpoint rule with 20,000 cells per piece: relative error far below 1e-6.
    assert abs(exact - reference) <= 1e-6 * abs(reference)


def test_log_ldl_matches_direct_sum(cohort_300):
    simulated = cohort_300
    times = np.linspace(-10.0, 12.0, 57)
    for patient in (0, 5, 42, 199):
        times_ok = times[times > -simulated.latent_draws.latents.age_at_entry[patient]]
        got = simulated.trajectories.log_ldl(np.full(len(times_ok), patient), times_ok)
        np.testing.assert_allclose(
            got, _direct_log_ldl(simulated, patient, times_ok), rtol=0, atol=1e-12
        )


def test_visit_ldl_uses_true_trajectory(cohort_300):
    simulated = cohort_300
    visits = simulated.design.visits
    patient, visit = np.nonzero(~np.isnan(visits))
    truth = simulated.trajectories.log_ldl(patient, visits[patient, visit])
    np.testing.assert_allclose(
        simulated.history.visit_log_ldl_true[patient, visit], truth, rtol=0, atol=1e-12
    )


def test_lab_noise_has_model_scale(cohort_2000):
    simulated = cohort_2000
    params = simulated.config.population
    visits = simulated.design.visits
    patient, visit = np.nonzero(~np.isnan(visits))
    residual = (
        np.log(simulated.history.visit_ldl[patient, visit])
        - simulated.history.visit_log_ldl_true[patient, visit]
    )
    # Student-t(5) scaled by sigma_lab: SD = sigma_lab * sqrt(5/3). With about
    # 20,000 residuals the median absolute deviation has an SE near 0.4%;
    # rounding to 0.001 mmol/L adds nothing visible at this scale.
    expected_mad = params.sigma_lab * 0.7267  # median |t_5|
    assert abs(np.median(np.abs(residual)) / expected_mad - 1.0) < 0.03
    assert abs(np.median(residual)) < 0.003


def test_untreated_segments_without_rows():
    params = PopulationParameters()
    latents = PatientLatents(
        age_at_entry=np.array([40.0, 55.0]),
        u=np.array([1.9, 2.0]),
        v=np.array([0.0, 0.05]),
        log_s=np.array([0.0, 0.3]),
        responsiveness=np.ones((2, 2)),
    )
    rows = pd.DataFrame(
        {"patient": [], "drug": [], "dose_mg": [], "start": [], "stop": [], "adherence": []}
    )
    trajectories = Trajectories(latents, rows, params)
    # With v = 0 the burden is (exp(u) - threshold) * age exactly.
    burden = trajectories.burden(np.array([0]), np.array([0.0]))[0]
    assert burden == pytest.approx((np.exp(1.9) - params.ldl_threshold) * 40.0, rel=1e-12)


def test_expm1_ratio_near_zero():
    x = np.array([0.0, 1e-12, -1e-9, 1e-3, 2.0])
    expected = [1.0, 1.0 + 0.5e-12, 1.0 - 0.5e-9, np.expm1(1e-3) / 1e-3, np.expm1(2.0) / 2.0]
    np.testing.assert_allclose(expm1_ratio(x), expected, rtol=1e-15)


def test_lowering_fraction_rejects_bad_input():
    params = PopulationParameters()
    with pytest.raises(ValueError, match="unknown drug"):
        lowering_fraction("aspirin", 100.0, params)
    with pytest.raises(ValueError, match="positive dose"):
        lowering_fraction("atorvastatin", float("nan"), params)
    assert lowering_fraction("rosuvastatin", 20.0, params) == pytest.approx(
        lowering_fraction("atorvastatin", 40.0, params)
    )
