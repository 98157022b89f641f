r"""Discrimination and accuracy of predicted risks for a time-to-event endpoint.

Each function takes follow-up times, event indicators and predicted risks
(the probability of the endpoint by a horizon, in [0, 1]) and wraps an
established estimator. Harrell's and Uno's concordance, the cumulative/dynamic
AUC and the IPCW Brier score come from scikit-survival, and the Cox baseline
model from lifelines. The wrappers check the inputs, raise `ValueError` with the
argument, the shape or value received and what was expected, and return plain
floats.

Notation: subject :math:`i` has follow-up time :math:`T_i`, event indicator
:math:`\delta_i` (1 for the endpoint, 0 for censoring) and predicted risk
:math:`\hat{r}_i = \hat{P}(T_i \le \tau)` by the horizon :math:`\tau`.
:math:`\hat{G}` is the Kaplan-Meier estimate of the censoring distribution,
from the training data when given and from the evaluation data otherwise.

Competing events (for example ``death_other`` when the endpoint is ``cvd``)
must be passed as censored (:math:`\delta_i = 0`). The metrics then describe
prediction of the cause-specific event in a world where competing events are
censored; they are not competing-risk (cumulative incidence) metrics.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sksurv.metrics import (
    brier_score as sksurv_brier_score,
)
from sksurv.metrics import (
    concordance_index_censored,
    concordance_index_ipcw,
    cumulative_dynamic_auc,
)
from sksurv.util import Surv


def validate_survival_inputs(
    time: ArrayLike,
    event: ArrayLike,
    risk: ArrayLike | None = None,
    *,
    names: tuple[str, str, str] = ("time", "event", "risk"),
) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.float64] | None]:
    """Check and convert follow-up times, event indicators and predicted risks.

    Parameters
    ----------
    time
        Follow-up times, finite and non-negative.
    event
        Event indicators: booleans, or numbers equal to 0 or 1.
    risk
        Predicted risks in [0, 1], or None to check only times and events.
    names
        Argument names used in error messages.

    Returns
    -------
    time, event, risk
        Float, bool and float 1-D arrays (``risk`` is None when not given).

    Raises
    ------
    ValueError
        If an array is not 1-D or the lengths differ, or fewer than two
        subjects are given. Also if a time is negative or not finite, an event
        indicator is not 0 or 1, no event is observed, or a risk is outside
        [0, 1] or not finite.

    """
    time_name, event_name, risk_name = names
    times = _one_dimensional(time, time_name)
    events_raw = _one_dimensional(event, event_name)
    if len(events_raw) != len(times):
        raise ValueError(
            f"{event_name} has shape {events_raw.shape}, expected ({len(times)},) to match "
            f"{time_name}."
        )
    if len(times) < 2:
        raise ValueError(f"{time_name} has {len(times)} subject(s); expected at least 2.")

    times = _as_float(times, time_name)
    bad_time = ~np.isfinite(times) | (times < 0)
    if bad_time.any():
        first = int(np.flatnonzero(bad_time)[0])
        raise ValueError(
            f"{time_name}[{first}] = {float(times[first])!r} is invalid; expected finite, "
            "non-negative follow-up times."
        )

    if events_raw.dtype == bool:
        events = events_raw.astype(bool)
    else:
        numbers = _as_float(events_raw, event_name)
        if not np.isin(numbers, (0.0, 1.0)).all():
            first = int(np.flatnonzero(~np.isin(numbers, (0.0, 1.0)))[0])
            raise ValueError(
                f"{event_name}[{first}] = {events_raw[first]!s} is invalid; expected 0 or 1 "
                "(or False/True)."
            )
        events = numbers == 1.0
    if not events.any():
        raise ValueError(f"{event_name} has no event; expected at least one subject with 1.")

    if risk is None:
        return times, events, None
    risks = _as_float(_one_dimensional(risk, risk_name), risk_name)
    if len(risks) != len(times):
        raise ValueError(
            f"{risk_name} has shape {risks.shape}, expected ({len(times)},) to match "
            f"{time_name}."
        )
    bad_risk = ~np.isfinite(risks) | (risks < 0) | (risks > 1)
    if bad_risk.any():
        first = int(np.flatnonzero(bad_risk)[0])
        raise ValueError(
            f"{risk_name}[{first}] = {float(risks[first])!r} is outside [0, 1]; expected predicted "
            "probabilities of the event by the horizon (not percentages or linear predictors)."
        )
    return times, events, risks


def harrell_c(
    time: ArrayLike,
    event: ArrayLike,
    risk: ArrayLike,
    *,
    horizon: float | None = None,
    tied_tol: float = 1e-8,
) -> float:
    r"""Compute Harrell's concordance index of predicted risks.

    .. math::

        C = \frac{\sum_{i \ne j} \delta_i \, 1(T_i < T_j)
                  \left[1(\hat{r}_i > \hat{r}_j) + \tfrac12 1(\hat{r}_i = \hat{r}_j)\right]}
                 {\sum_{i \ne j} \delta_i \, 1(T_i < T_j)}

    Parameters
    ----------
    time, event, risk
        Follow-up times, event indicators and predicted risks (a higher risk
        should mean an earlier event).
    horizon
        When given, follow-up is censored at the horizon first
        (:math:`T_i \to \min(T_i, \tau)`, events after :math:`\tau` become
        censored), so that only the ordering of events by the horizon counts.
    tied_tol
        Risks closer than this count as tied (half a concordant pair).

    Returns
    -------
    float
        Concordance in [0, 1]; 0.5 is random ordering.

    Notes
    -----
    Computed by `sksurv.metrics.concordance_index_censored`. Harrell's C
    depends on the censoring distribution of the data; `uno_c` does not.

    """
    times, events, risks = validate_survival_inputs(time, event, risk)
    if horizon is not None:
        check_horizon(horizon, times, events)
        events = events & (times <= horizon)
        times = np.minimum(times, horizon)
    return float(concordance_index_censored(events, times, risks, tied_tol=tied_tol)[0])


def uno_c(
    time: ArrayLike,
    event: ArrayLike,
    risk: ArrayLike,
    *,
    horizon: float | None = None,
    train_time: ArrayLike | None = None,
    train_event: ArrayLike | None = None,
    tied_tol: float = 1e-8,
) -> float:
    r"""Compute Uno's IPCW concordance index of predicted risks, truncated at a horizon.

    .. math::

        C_\tau = \frac{\sum_{i \ne j} \delta_i \hat{G}(T_i)^{-2} 1(T_i < T_j, T_i < \tau)
                       1(\hat{r}_i > \hat{r}_j)}
                      {\sum_{i \ne j} \delta_i \hat{G}(T_i)^{-2} 1(T_i < T_j, T_i < \tau)}

    with ties in risk counted as one half (Uno et al., Stat Med 2011;30:1105).

    Parameters
    ----------
    time, event, risk
        Follow-up times, event indicators and predicted risks of the
        evaluation data.
    horizon
        Truncation time :math:`\tau`; None uses the whole follow-up, which
        needs every evaluation event time within the training follow-up.
    train_time, train_event
        Data from which :math:`\hat{G}` is estimated (usually the training
        set); both or neither. Default: the evaluation data.
    tied_tol
        Risks closer than this count as tied.

    Returns
    -------
    float
        Concordance in [0, 1].

    Notes
    -----
    Computed by `sksurv.metrics.concordance_index_ipcw`. Before the call,
    events after the horizon are turned into censoring and times after it are
    capped at the last training time. Both changes leave :math:`C_\tau`
    unchanged, because such subjects only serve as the later member of a pair,
    and they keep :math:`\hat{G}` from being evaluated where it is undefined.

    """
    times, events, risks = validate_survival_inputs(time, event, risk)
    train_times, train_events = _training_data(train_time, train_event, times, events)
    if horizon is not None:
        check_horizon(horizon, times, events, train_times=train_times)
        times, events = _censor_after_horizon(times, events, horizon, train_times.max())
    elif times[events].max() > train_times.max():
        raise ValueError(
            f"time has events up to {times[events].max():g}, after the last training time "
            f"{train_times.max():g}, where the censoring distribution is unknown; pass a "
            "horizon below the last training time."
        )
    result = concordance_index_ipcw(
        Surv.from_arrays(train_events, train_times),
        Surv.from_arrays(events, times),
        risks,
        tau=horizon,
        tied_tol=tied_tol,
    )
    return float(result[0])


def time_dependent_auc(
    time: ArrayLike,
    event: ArrayLike,
    risk: ArrayLike,
    *,
    horizon: float,
    train_time: ArrayLike | None = None,
    train_event: ArrayLike | None = None,
) -> float:
    r"""Compute the cumulative/dynamic AUC of predicted risks at a horizon.

    Cases are subjects with an event by the horizon, controls are subjects
    still event-free after it, and cases are weighted by
    :math:`1/\hat{G}(T_i)` (Uno et al., JASA 2007;102:527):

    .. math::

        \mathrm{AUC}(\tau) = \frac{\sum_i \sum_j 1(\hat{r}_i > \hat{r}_j)
                                   1(T_i \le \tau, \delta_i = 1) 1(T_j > \tau)
                                   / \hat{G}(T_i)}
                                  {\sum_i 1(T_i \le \tau, \delta_i = 1) / \hat{G}(T_i)
                                   \; \sum_j 1(T_j > \tau)}

    Parameters
    ----------
    time, event, risk
        Follow-up times, event indicators and predicted risks by ``horizon``.
    horizon
        Time :math:`\tau` at which cases and controls are defined, in the
        unit of ``time``.
    train_time, train_event
        Data from which :math:`\hat{G}` is estimated; default the evaluation data.

    Returns
    -------
    float
        AUC in [0, 1].

    Notes
    -----
    Computed by `sksurv.metrics.cumulative_dynamic_auc` at the single time
    ``horizon``, after the same shortening of follow-up beyond the horizon as
    in `uno_c`, which leaves the AUC unchanged.

    """
    times, events, risks = validate_survival_inputs(time, event, risk)
    train_times, train_events = _training_data(train_time, train_event, times, events)
    check_horizon(horizon, times, events, train_times=train_times, need_controls=True)
    times, events = _censor_after_horizon(times, events, horizon, train_times.max())
    auc, _ = cumulative_dynamic_auc(
        Surv.from_arrays(train_events, train_times),
        Surv.from_arrays(events, times),
        risks,
        [horizon],
    )
    return float(auc[0])


def brier_score(
    time: ArrayLike,
    event: ArrayLike,
    risk: ArrayLike,
    *,
    horizon: float,
    train_time: ArrayLike | None = None,
    train_event: ArrayLike | None = None,
) -> float:
    r"""Compute the Brier score of predicted risks at a horizon, with IPCW.

    .. math::

        \mathrm{BS}(\tau) = \frac1n \sum_i \left[
            \frac{1(T_i \le \tau, \delta_i = 1) (1 - \hat{r}_i)^2}{\hat{G}(T_i)}
            + \frac{1(T_i > \tau) \, \hat{r}_i^2}{\hat{G}(\tau)} \right]

    (Graf et al., Stat Med 1999;18:2529). Subjects censored before the horizon
    contribute through the weights only.

    Parameters
    ----------
    time, event, risk
        Follow-up times, event indicators and predicted risks by ``horizon``.
    horizon
        Time :math:`\tau` of the prediction, in the unit of ``time``.
    train_time, train_event
        Data from which :math:`\hat{G}` is estimated; default the evaluation data.

    Returns
    -------
    float
        Brier score; 0 is perfect, and a constant prediction equal to the
        event proportion :math:`p` scores about :math:`p(1-p)`.

    Notes
    -----
    Computed by `sksurv.metrics.brier_score` on the predicted survival
    probability :math:`1 - \hat{r}_i`, which gives the same squared errors.
    Follow-up beyond the horizon is shortened as in `uno_c`, which leaves the
    score unchanged.

    """
    times, events, risks = validate_survival_inputs(time, event, risk)
    train_times, train_events = _training_data(train_time, train_event, times, events)
    check_horizon(horizon, times, events, train_times=train_times, need_controls=True)
    times, events = _censor_after_horizon(times, events, horizon, train_times.max())
    _, scores = sksurv_brier_score(
        Surv.from_arrays(train_events, train_times),
        Surv.from_arrays(events, times),
        1.0 - risks,
        [horizon],
    )
    return float(scores[0])


def cox_baseline_risk(
    train_df: pd.DataFrame,
    test_df: pd.DataFrame,
    *,
    duration_col: str,
    event_col: str,
    covariates: Sequence[str],
    horizon: float,
    penalizer: float = 0.0,
) -> pd.Series:
    r"""Fit a Cox model on training data and predict risks by a horizon on test data.

    The comparison baseline for the Bayesian models: a proportional-hazards
    model :math:`h(t \mid x) = h_0(t) \exp(x^\top \beta)` fitted by partial
    likelihood (Efron ties) with the Breslow baseline, then

    .. math::

        \hat{r}(\tau \mid x) = 1 - \hat{S}_0(\tau)^{\exp(x^\top \hat\beta)} .

    Parameters
    ----------
    train_df, test_df
        Training and test tables, one row per subject. ``test_df`` needs the
        covariate columns only.
    duration_col, event_col
        Follow-up time and event indicator columns of ``train_df``.
    covariates
        Covariate columns, numeric and complete in both tables (encode
        categories and handle missing values first).
    horizon
        Prediction time in the unit of ``duration_col``, inside the training
        follow-up.
    penalizer
        L2 penalty passed to `lifelines.CoxPHFitter` (0 = unpenalised).

    Returns
    -------
    pandas.Series
        Predicted risk by the horizon, indexed like ``test_df``, named ``risk``.

    Raises
    ------
    ValueError
        If a column is missing or has missing values, no covariate is given,
        or the horizon is not inside the training follow-up.

    """
    from lifelines import CoxPHFitter

    covariates = list(covariates)
    if not covariates:
        raise ValueError("covariates is empty; expected at least one covariate column.")
    for name, table, needed in (
        ("train_df", train_df, [duration_col, event_col, *covariates]),
        ("test_df", test_df, covariates),
    ):
        missing = [column for column in needed if column not in table.columns]
        if missing:
            raise ValueError(f"{name} lacks column(s) {missing}; expected {needed}.")
        incomplete = [column for column in needed if table[column].isna().any()]
        if incomplete:
            raise ValueError(
                f"{name} has missing values in {incomplete}; impute or drop them first."
            )
    times, events, _ = validate_survival_inputs(
        train_df[duration_col].to_numpy(), train_df[event_col].to_numpy(),
        names=(f"train_df[{duration_col!r}]", f"train_df[{event_col!r}]", "risk"),
    )
    check_horizon(horizon, times, events)

    model = CoxPHFitter(penalizer=penalizer)
    model.fit(
        train_df[[duration_col, event_col, *covariates]],
        duration_col=duration_col,
        event_col=event_col,
    )
    survival = model.predict_survival_function(test_df[covariates], times=[horizon])
    return pd.Series(1.0 - survival.iloc[0].to_numpy(), index=test_df.index, name="risk")


# Helpers --------------------------------------------------------------------


def _one_dimensional(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} has shape {array.shape}; expected a 1-D array.")
    return array


def _as_float(values: np.ndarray, name: str) -> NDArray[np.float64]:
    try:
        return values.astype(float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} contains values that are not numbers: {error}") from error


def _training_data(
    train_time: ArrayLike | None,
    train_event: ArrayLike | None,
    times: NDArray[np.float64],
    events: NDArray[np.bool_],
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Return the data for the censoring distribution: training data, else the evaluation data."""
    if train_time is None and train_event is None:
        return times, events
    if train_time is None or train_event is None:
        raise ValueError(
            "train_time and train_event must be given together; got only "
            + ("train_time." if train_event is None else "train_event.")
        )
    train_times, train_events, _ = validate_survival_inputs(
        train_time, train_event, names=("train_time", "train_event", "risk")
    )
    return train_times, train_events


def check_horizon(
    horizon: float,
    times: NDArray[np.float64],
    events: NDArray[np.bool_],
    *,
    train_times: NDArray[np.float64] | None = None,
    need_controls: bool = False,
) -> None:
    """Raise ValueError unless the horizon lies inside follow-up with an event by then.

    The horizon must be positive and below the last follow-up time of the
    evaluation data and of ``train_times`` when given. At least one event must
    occur at or before it. With ``need_controls``, at least one subject must
    also be followed beyond it.
    """
    if not np.isscalar(horizon) or not np.isfinite(horizon) or horizon <= 0:
        raise ValueError(f"horizon={horizon!r} is invalid; expected a positive finite time.")
    last_time = times.max() if train_times is None else min(times.max(), train_times.max())
    if horizon >= last_time:
        raise ValueError(
            f"horizon={horizon:g} is beyond follow-up; expected a time below the last "
            f"follow-up time {last_time:g} (of the evaluation data and of the training data "
            "used for the censoring weights)."
        )
    if not (events & (times <= horizon)).any():
        raise ValueError(
            f"horizon={horizon:g} is before the first event at {times[events].min():g}; "
            "expected a horizon with at least one event by then."
        )
    if need_controls and not (times > horizon).any():
        raise ValueError(
            f"horizon={horizon:g} leaves no subject event-free after it; expected a shorter "
            "horizon."
        )


def _censor_after_horizon(
    times: NDArray[np.float64],
    events: NDArray[np.bool_],
    horizon: float,
    last_train_time: float,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Censor evaluation follow-up after the horizon, without changing metrics at the horizon.

    In the Brier score, the AUC and Uno's C truncated at the horizon, a subject
    followed beyond the horizon counts only as event-free at the horizon. So
    its later event is dropped and its time is capped at the last training
    time, which is still after the horizon. The censoring distribution is
    then never evaluated beyond the training follow-up, where it is undefined.
    """
    after = times > horizon
    return np.where(after, np.minimum(times, last_train_time), times), events & ~after
