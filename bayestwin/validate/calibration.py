r"""Calibration of predicted risks at a horizon, for censored time-to-event data.

The method follows Austin, Harrell and van Klaveren (Stat Med 2020;39:2714,
"Graphical calibration curves and the integrated calibration index (ICI) for
survival models"). A flexible Cox model of the outcome on the complementary
log-log of the predicted risk estimates the observed risk that goes with each
predicted risk. The absolute differences between predicted and observed risks
are then summarised.

With predicted risk :math:`\hat{r}_i` by the horizon :math:`\tau` and
:math:`x_i = \log(-\log(1 - \hat{r}_i))` (cloglog), the steps are:

1. Censor follow-up at :math:`\tau`, so that the smoothing model has to hold
   only up to the horizon.
2. Fit the Cox model :math:`h(t \mid x) = h_0(t) \exp(f(x))` with :math:`f` a
   restricted cubic spline of :math:`x` (three knots by default, at the 10th,
   50th and 90th percentiles, Harrell's default placement), using
   `lifelines.CoxPHFitter`.
3. The smoothed observed risk is :math:`\tilde{r}_i = 1 - \hat{S}(\tau \mid
   x_i)`. ICI, E50, E90 and Emax are the mean, median, 90th percentile and
   maximum of :math:`|\tilde{r}_i - \hat{r}_i|`.

Perfectly calibrated risks satisfy :math:`-\log(1 - P(T \le \tau \mid
\hat{r})) = -\log(1 - \hat{r})`, that is, the cumulative hazard by
:math:`\tau` equals :math:`e^{x}`. Two summaries test this on the cloglog scale:

- the calibration slope :math:`b`, the coefficient of the Cox model
  :math:`h(t \mid x) = h_0(t) \exp(b x)` (ideal 1; below 1 means predictions
  too extreme, as after over-fitting);
- the calibration intercept :math:`a = \log \hat{H}_0(\tau)` of the model
  with the slope fixed at 1, :math:`H(t \mid x) = H_0(t) e^{x}`, where
  :math:`\hat{H}_0(\tau) = \sum_{s \le \tau} d_s / \sum_{j: T_j \ge s}
  e^{x_j}` is the Breslow estimator with offset :math:`x` (ideal 0;
  :math:`e^{a}` is the ratio of observed to predicted cumulative hazard by
  the horizon, so :math:`a > 0` means risks are underestimated).

Both summaries assume proportional hazards in :math:`x` up to the horizon,
which holds when the predictions come from a proportional-hazards model.

This differs from `lifelines.calibration.survival_probability_calibration`
(lifelines 0.30), which models the outcome with a flexible parametric
baseline and a linear term in :math:`x`, rather than a Cox model with a
spline of :math:`x`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from bayestwin.validate.metrics import check_horizon, validate_survival_inputs

if TYPE_CHECKING:
    from lifelines import CoxPHFitter
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

KNOT_QUANTILES: dict[int, tuple[float, ...]] = {
    3: (0.10, 0.50, 0.90),
    4: (0.05, 0.35, 0.65, 0.95),
    5: (0.05, 0.275, 0.50, 0.725, 0.95),
}
"""Quantiles of cloglog(predicted risk) used as spline knots, by number of knots.

These are the default placements of Harrell's Regression Modeling Strategies.
"""

CURVE_POINTS = 100
"""Number of predicted-risk values at which the calibration curve is evaluated."""


@dataclass(frozen=True)
class CalibrationResult:
    """Calibration of predicted risks at one horizon.

    Attributes
    ----------
    horizon
        Prediction horizon, in the unit of the follow-up times.
    slope
        Calibration slope on the cloglog scale (ideal 1).
    intercept
        Calibration intercept on the cloglog scale with the slope fixed at 1
        (ideal 0; positive when risks are underestimated).
    ici, e50, e90, emax
        Mean, median, 90th percentile and maximum absolute difference between
        predicted and smoothed observed risk.
    observed_risk
        Kaplan-Meier risk by the horizon in the whole sample.
    mean_predicted_risk
        Mean predicted risk.
    n_subjects
        Number of subjects.
    n_events
        Events at or before the horizon.
    predicted
        Predicted risk of each subject, as given.
    observed
        Smoothed observed risk of each subject.
    curve
        ``predicted`` and ``observed`` on an even grid of predicted risks
        from the smallest to the largest prediction, for plotting.
    knots
        Spline knots on the cloglog scale.

    """

    horizon: float
    slope: float
    intercept: float
    ici: float
    e50: float
    e90: float
    emax: float
    observed_risk: float
    mean_predicted_risk: float
    n_subjects: int
    n_events: int
    predicted: NDArray[np.float64]
    observed: NDArray[np.float64]
    curve: pd.DataFrame
    knots: tuple[float, ...]


def calibration_at_horizon(
    time: ArrayLike,
    event: ArrayLike,
    risk: ArrayLike,
    *,
    horizon: float,
    n_knots: int = 3,
) -> CalibrationResult:
    """Estimate the calibration of predicted risks by a horizon.

    See the module docstring for the method and the definitions.

    Parameters
    ----------
    time
        Follow-up times, in the unit of ``horizon``.
    event
        Event indicators for the endpoint (competing events as 0).
    risk
        Predicted probabilities of the endpoint by ``horizon``, strictly
        between 0 and 1 because the method works on cloglog(risk).
    horizon
        Prediction horizon, below the last follow-up time.
    n_knots
        Number of spline knots: 3, 4 or 5. More knots follow the curve more
        closely and need more events.

    Returns
    -------
    CalibrationResult
        Summaries, per-subject observed risks and the curve for plotting.

    Raises
    ------
    ValueError
        If the inputs are invalid (see `validate_survival_inputs`) or a risk
        is exactly 0 or 1. Also if the horizon is outside follow-up or before
        the first event, ``n_knots`` is not 3, 4 or 5, or the predictions take
        too few distinct values to place the knots.

    """
    from lifelines import CoxPHFitter, KaplanMeierFitter

    times, events, risks = validate_survival_inputs(time, event, risk)
    if n_knots not in KNOT_QUANTILES:
        raise ValueError(f"n_knots={n_knots!r} is invalid; expected one of 3, 4 or 5.")
    if ((risks <= 0) | (risks >= 1)).any():
        first = int(np.flatnonzero((risks <= 0) | (risks >= 1))[0])
        raise ValueError(
            f"risk[{first}] = {float(risks[first])!r} is invalid for calibration; expected risks "
            "strictly between 0 and 1, because the method uses log(-log(1 - risk)); clip "
            "risks that were rounded to 0 or 1."
        )
    check_horizon(horizon, times, events)

    # Censor at the horizon and move to the cloglog scale.
    censored_events = events & (times <= horizon)
    censored_times = np.minimum(times, horizon)
    cloglog = np.log(-np.log1p(-risks))
    knots = _knots(cloglog, n_knots)

    # Smoothing model: Cox regression on a restricted cubic spline of cloglog.
    basis = restricted_cubic_spline(cloglog, knots)
    spline_columns = [f"spline_{k}" for k in range(basis.shape[1])]
    frame = pd.DataFrame(basis, columns=spline_columns)
    frame["time"] = censored_times
    frame["event"] = censored_events.astype(int)
    smoother = CoxPHFitter().fit(frame, duration_col="time", event_col="event")
    observed = _risk_at(smoother, frame[spline_columns], horizon)
    differences = np.abs(observed - risks)

    # Calibration slope and intercept on the cloglog scale.
    linear = pd.DataFrame({"cloglog": cloglog, "time": censored_times,
                           "event": censored_events.astype(int)})
    slope = float(CoxPHFitter().fit(linear, duration_col="time", event_col="event")
                  .params_["cloglog"])
    intercept = float(np.log(breslow_with_offset(censored_times, censored_events,
                                                 cloglog, horizon=horizon)))

    # Curve on an even grid of predicted risks, and the overall comparison.
    grid = np.linspace(risks.min(), risks.max(), CURVE_POINTS)
    grid_basis = restricted_cubic_spline(np.log(-np.log1p(-grid)), knots)
    curve = pd.DataFrame({
        "predicted": grid,
        "observed": _risk_at(smoother, pd.DataFrame(grid_basis, columns=spline_columns),
                             horizon),
    })
    kaplan_meier = KaplanMeierFitter().fit(times, events)
    observed_risk = 1.0 - float(kaplan_meier.predict(horizon))

    return CalibrationResult(
        horizon=float(horizon),
        slope=slope,
        intercept=intercept,
        ici=float(differences.mean()),
        e50=float(np.median(differences)),
        e90=float(np.quantile(differences, 0.9)),
        emax=float(differences.max()),
        observed_risk=observed_risk,
        mean_predicted_risk=float(risks.mean()),
        n_subjects=len(times),
        n_events=int(censored_events.sum()),
        predicted=risks,
        observed=observed,
        curve=curve,
        knots=tuple(float(k) for k in knots),
    )


def restricted_cubic_spline(x: ArrayLike, knots: ArrayLike) -> NDArray[np.float64]:
    r"""Evaluate the restricted (natural) cubic spline basis with Harrell's scaling.

    For knots :math:`t_1 < \dots < t_k` the basis is :math:`x` and, for
    :math:`j = 1, \dots, k - 2`,

    .. math::

        s_j(x) = \frac{(x - t_j)_+^3
                 - (x - t_{k-1})_+^3 \frac{t_k - t_j}{t_k - t_{k-1}}
                 + (x - t_k)_+^3 \frac{t_{k-1} - t_j}{t_k - t_{k-1}}}
                {(t_k - t_1)^2},

    which is cubic between the knots and linear beyond the outer ones.

    Parameters
    ----------
    x
        Values at which to evaluate the basis.
    knots
        At least three strictly increasing knots.

    Returns
    -------
    ndarray
        Shape ``(len(x), len(knots) - 1)``: the linear term, then the
        ``len(knots) - 2`` nonlinear terms.

    """
    values = np.asarray(x, dtype=float)
    knots = np.asarray(knots, dtype=float)
    if knots.ndim != 1 or len(knots) < 3 or not (np.diff(knots) > 0).all():
        raise ValueError(
            f"knots={knots.tolist()!r} is invalid; expected at least 3 strictly increasing values."
        )
    last, second_last = knots[-1], knots[-2]
    scale = (last - knots[0]) ** 2
    columns = [values]
    for knot in knots[:-2]:
        term = (
            _positive_cube(values - knot)
            - _positive_cube(values - second_last) * (last - knot) / (last - second_last)
            + _positive_cube(values - last) * (second_last - knot) / (last - second_last)
        )
        columns.append(term / scale)
    return np.column_stack(columns)


def breslow_with_offset(
    time: NDArray[np.float64],
    event: NDArray[np.bool_],
    offset: NDArray[np.float64],
    *,
    horizon: float,
) -> float:
    r"""Estimate the baseline cumulative hazard by a horizon with a fixed offset.

    Breslow's estimator for the model :math:`H(t \mid x) = H_0(t) e^{x}` with
    the coefficient of :math:`x` fixed at 1:

    .. math::

        \hat{H}_0(\tau) = \sum_{s \le \tau} \frac{d_s}{\sum_{j: T_j \ge s} e^{x_j}},

    where :math:`s` runs over the distinct event times and :math:`d_s` is the
    number of events at :math:`s`. With :math:`x = 0` it is the
    Nelson-Aalen estimator.

    Parameters
    ----------
    time, event
        Follow-up times and event indicators (validated arrays).
    offset
        Offset :math:`x_j` of each subject.
    horizon
        Time :math:`\tau` at which the cumulative hazard is evaluated.

    Returns
    -------
    float
        :math:`\hat{H}_0(\tau)`.

    """
    weights = np.exp(offset)
    event_times = np.unique(time[event & (time <= horizon)])
    total = 0.0
    for event_time in event_times:
        deaths = np.count_nonzero(event & (time == event_time))
        total += deaths / weights[time >= event_time].sum()
    return total


def plot_calibration(
    result: CalibrationResult,
    *,
    ax: Axes | None = None,
    label: str | None = None,
    time_unit: str = "years",
) -> Figure:
    """Plot the smoothed calibration curve with the distribution of predicted risks.

    Parameters
    ----------
    result
        Output of `calibration_at_horizon`.
    ax
        Matplotlib Axes to draw on. When None, a new figure gets two axes: the
        curve above and a histogram of the predicted risks below.
    label
        Legend label of the curve; default ``"smoothed observed"``.
    time_unit
        Unit of the horizon, for the axis labels.

    Returns
    -------
    matplotlib.figure.Figure
        The figure that contains the plot.

    """
    import matplotlib.pyplot as plt

    # Axes: a new figure with a histogram panel, or the caller's Axes.
    histogram_ax = None
    if ax is None:
        figure, (ax, histogram_ax) = plt.subplots(
            2, 1, sharex=True, figsize=(5.5, 6.0),
            gridspec_kw={"height_ratios": (4, 1), "hspace": 0.08},
        )
    else:
        figure = ax.figure

    # Curve, the line of perfect calibration and the summaries.
    # A second curve on the same Axes reuses its diagonal and widens the limits if needed.
    upper = float(max(result.curve["predicted"].max(), result.curve["observed"].max()))
    limit = min(1.0, upper * 1.05)
    diagonal = [line for line in ax.get_lines() if line.get_label() == "perfect calibration"]
    if diagonal:
        limit = max(limit, float(ax.get_xlim()[1]))
        diagonal[0].set_data([0, limit], [0, limit])
    else:
        ax.plot([0, limit], [0, limit], linestyle="--", color="grey", linewidth=1,
                label="perfect calibration")
    ax.plot(result.curve["predicted"], result.curve["observed"],
            label=label or "smoothed observed")
    ax.set_xlim(0, limit)
    ax.set_ylim(0, limit)
    ax.set_ylabel(f"Observed risk by {result.horizon:g} {time_unit}")
    ax.set_title(
        f"ICI {result.ici:.3f}, E50 {result.e50:.3f}, E90 {result.e90:.3f}, "
        f"slope {result.slope:.2f}",
        fontsize="medium",
    )
    ax.legend(loc="upper left", frameon=False)

    # Distribution of the predictions.
    xlabel = f"Predicted risk by {result.horizon:g} {time_unit}"
    if histogram_ax is not None:
        histogram_ax.hist(result.predicted, bins=40, range=(0, limit), color="grey")
        histogram_ax.set_yticks([])
        histogram_ax.set_xlabel(xlabel)
    else:
        ax.set_xlabel(xlabel)
    return figure


def _knots(cloglog: NDArray[np.float64], n_knots: int) -> NDArray[np.float64]:
    knots = np.quantile(cloglog, KNOT_QUANTILES[n_knots])
    if not (np.diff(knots) > 0).all():
        raise ValueError(
            f"risk takes too few distinct values to place {n_knots} spline knots at the "
            f"quantiles {KNOT_QUANTILES[n_knots]}; expected predictions that vary between "
            "subjects (try n_knots=3)."
        )
    return knots


def _positive_cube(values: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.maximum(values, 0.0) ** 3


def _risk_at(model: CoxPHFitter, covariates: pd.DataFrame, horizon: float) -> NDArray[np.float64]:
    """Return 1 - S(horizon | covariates) from a fitted lifelines Cox model."""
    survival = model.predict_survival_function(covariates, times=[horizon])
    return 1.0 - survival.iloc[0].to_numpy(dtype=float)
