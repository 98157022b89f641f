import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, NelsonAalenFitter

from bayestwin.validate.calibration import (
    CalibrationResult,
    breslow_with_offset,
    calibration_at_horizon,
    plot_calibration,
    restricted_cubic_spline,
)

HORIZON = 5.0


def _simulate(seed: int, n: int = 4000):
    """Exponential event times, hazard 0.05 exp(0.8 x), uniform censoring on [0, 20].

    Returns the data and the true risk by the horizon, which is a perfectly
    calibrated prediction.
    """
    rng = np.random.default_rng(seed)
    rate = 0.05 * np.exp(0.8 * rng.normal(size=n))
    event_time = rng.exponential(1 / rate)
    censor_time = rng.uniform(0, 20, size=n)
    time = np.minimum(event_time, censor_time)
    event = event_time <= censor_time
    return time, event, rate


@pytest.fixture(scope="module")
def data():
    return _simulate(seed=2024)


@pytest.fixture(scope="module")
def calibrated(data):
    time, event, rate = data
    return calibration_at_horizon(time, event, 1 - np.exp(-rate * HORIZON), horizon=HORIZON)


# Perfectly calibrated risks ----------------------------------------------------
# Tolerances come from 100 replicates of this simulation (n = 4,000, seeds
# 0-99): slope mean 1.001, SD 0.045; intercept mean 0.000, SD 0.030; ICI mean
# 0.008, SD 0.004; E90 mean 0.015, SD 0.007. Each bound is about 4 SD from the
# ideal value (ICI and E90 are never 0 because the smoothed curve is noisy).


def test_calibrated_slope_near_one(calibrated):
    assert abs(calibrated.slope - 1) < 0.18


def test_calibrated_intercept_near_zero(calibrated):
    assert abs(calibrated.intercept) < 0.12


def test_calibrated_ici_near_zero(calibrated):
    assert calibrated.ici < 0.022
    assert calibrated.e50 < 0.022
    assert calibrated.e90 < 0.045
    assert calibrated.e50 <= calibrated.e90 <= calibrated.emax


def test_calibrated_overall_risk(calibrated):
    # Kaplan-Meier risk by 5 years against the mean prediction: both estimate
    # the same marginal risk (about 0.26), with a binomial SD of about
    # sqrt(0.26 * 0.74 / 4000) = 0.007 (more under censoring), so 0.03 is
    # about 4 SD.
    assert calibrated.observed_risk == pytest.approx(calibrated.mean_predicted_risk, abs=0.03)


def test_result_shapes(calibrated, data):
    time, event, _ = data
    assert isinstance(calibrated, CalibrationResult)
    assert calibrated.n_subjects == len(time)
    assert calibrated.n_events == int((event & (time <= HORIZON)).sum())
    assert calibrated.observed.shape == calibrated.predicted.shape == (len(time),)
    assert list(calibrated.curve.columns) == ["predicted", "observed"]
    assert len(calibrated.knots) == 3


# Miscalibrated risks ---------------------------------------------------------


def test_underestimated_risk_intercept(data):
    # Predicting half the true cumulative hazard: H_true = 2 H_pred exactly, so
    # the intercept is log 2 and the slope stays 1 (same tolerances as above).
    time, event, rate = data
    result = calibration_at_horizon(time, event, 1 - np.exp(-0.5 * rate * HORIZON),
                                    horizon=HORIZON)
    assert result.intercept == pytest.approx(np.log(2), abs=0.12)
    assert result.slope == pytest.approx(1, abs=0.18)
    assert result.ici > 0.08


def test_too_extreme_risk_slope(data):
    # Predicting with 1.5 times the true log-hazard spread gives slope 2/3
    # (tolerance 0.12, about 4 SD as above).
    time, event, rate = data
    exaggerated = 0.05 * (rate / 0.05) ** 1.5
    result = calibration_at_horizon(time, event, 1 - np.exp(-exaggerated * HORIZON),
                                    horizon=HORIZON)
    assert result.slope == pytest.approx(2 / 3, abs=0.12)


# Agreement with lifelines called directly -------------------------------------


def test_smoother_matches_lifelines(calibrated, data):
    time, event, rate = data
    risk = 1 - np.exp(-rate * HORIZON)
    cloglog = np.log(-np.log(1 - risk))
    knots = np.quantile(cloglog, [0.1, 0.5, 0.9])
    np.testing.assert_allclose(calibrated.knots, knots)
    frame = pd.DataFrame(restricted_cubic_spline(cloglog, knots), columns=["a", "b"])
    frame["time"] = np.minimum(time, HORIZON)
    frame["event"] = (event & (time <= HORIZON)).astype(int)
    model = CoxPHFitter().fit(frame, duration_col="time", event_col="event")
    observed = 1 - model.predict_survival_function(frame[["a", "b"]], times=[HORIZON]).iloc[0]
    np.testing.assert_allclose(calibrated.observed, observed.to_numpy(), rtol=1e-10)


def test_slope_matches_lifelines(calibrated, data):
    time, event, rate = data
    frame = pd.DataFrame({
        "x": np.log(rate * HORIZON),
        "time": np.minimum(time, HORIZON),
        "event": (event & (time <= HORIZON)).astype(int),
    })
    model = CoxPHFitter().fit(frame, duration_col="time", event_col="event")
    assert calibrated.slope == pytest.approx(model.params_["x"], rel=1e-10)


# Building blocks -----------------------------------------------------------------


def test_breslow_zero_offset_is_nelson_aalen(data):
    time, event, _ = data
    fitter = NelsonAalenFitter(nelson_aalen_smoothing=False).fit(time, event)
    expected = fitter.cumulative_hazard_at_times([HORIZON]).iloc[0]
    result = breslow_with_offset(time, event, np.zeros(len(time)), horizon=HORIZON)
    assert result == pytest.approx(expected, rel=1e-12)


def test_breslow_by_hand():
    # Events at 1 and 3; at time 1 all offsets e^x = 1, 2, 1, 2 are at risk
    # (sum 6), at time 3 the last two (sum 3): 1/6 + 1/3 = 0.5.
    time = np.array([1.0, 2.0, 3.0, 4.0])
    event = np.array([True, False, True, False])
    offset = np.log([1.0, 2.0, 1.0, 2.0])
    assert breslow_with_offset(time, event, offset, horizon=3.5) == pytest.approx(0.5)


def test_spline_linear_outside_knots():
    knots = np.array([-2.0, 0.0, 1.0, 3.0])
    left = restricted_cubic_spline(np.array([-5.0, -3.0]), knots)
    np.testing.assert_array_equal(left[:, 1:], 0.0)
    right = restricted_cubic_spline(np.array([4.0, 5.0, 6.0]), knots)
    second_difference = right[2] - 2 * right[1] + right[0]
    np.testing.assert_allclose(second_difference, 0.0, atol=1e-12)


def test_spline_term_by_hand():
    # Knots 0, 1, 2 at x = 3: ((3)^3 - (2)^3 * 2 + (1)^3 * 1) / 2^2 = 3.
    basis = restricted_cubic_spline(np.array([3.0]), np.array([0.0, 1.0, 2.0]))
    np.testing.assert_allclose(basis, [[3.0, 3.0]])


# Input checks -------------------------------------------------------------------


def test_risk_of_zero_rejected(data):
    time, event, rate = data
    risk = 1 - np.exp(-rate * HORIZON)
    risk[0] = 0.0
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        calibration_at_horizon(time, event, risk, horizon=HORIZON)


def test_calibration_inputs_checked(data):
    time, event, rate = data
    risk = 1 - np.exp(-rate * HORIZON)
    with pytest.raises(ValueError, match="beyond follow-up"):
        calibration_at_horizon(time, event, risk, horizon=50.0)
    with pytest.raises(ValueError, match=r"risk has shape \(10,\)"):
        calibration_at_horizon(time, event, risk[:10], horizon=HORIZON)
    with pytest.raises(ValueError, match="n_knots=6"):
        calibration_at_horizon(time, event, risk, horizon=HORIZON, n_knots=6)
    with pytest.raises(ValueError, match="too few distinct values"):
        calibration_at_horizon(time, event, np.full(len(time), 0.2), horizon=HORIZON)


# Plot ------------------------------------------------------------------------------


def test_plot_returns_figure(calibrated):
    figure = plot_calibration(calibrated)
    try:
        assert isinstance(figure, matplotlib.figure.Figure)
        assert len(figure.axes) == 2
        assert "ICI" in figure.axes[0].get_title()
    finally:
        plt.close(figure)


def test_plot_on_given_axes(calibrated):
    figure, ax = plt.subplots()
    try:
        assert plot_calibration(calibrated, ax=ax, label="model") is figure
        assert ax.get_legend_handles_labels()[1] == ["perfect calibration", "model"]
    finally:
        plt.close(figure)


def test_two_curves_share_one_diagonal(calibrated):
    figure, ax = plt.subplots()
    try:
        plot_calibration(calibrated, ax=ax, label="twin")
        plot_calibration(calibrated, ax=ax, label="Cox")
        assert ax.get_legend_handles_labels()[1] == ["perfect calibration", "twin", "Cox"]
    finally:
        plt.close(figure)
