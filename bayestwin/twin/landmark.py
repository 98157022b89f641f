r"""Dynamic prediction at a landmark time, and its discrimination and accuracy.

A landmark analysis predicts, for every patient still event-free at the landmark
:math:`t_0`, the probability of the endpoint in the window
:math:`(t_0, t_0 + \Delta t]` given the marker values measured up to
:math:`t_0`:

.. math::

    \pi_i(t_0 + \Delta t \mid t_0)
      = 1 - \iint \frac{S_i(t_0 + \Delta t \mid \theta_i, \phi)}{S_i(t_0 \mid \theta_i, \phi)}
        \, p(\theta_i \mid T_i > t_0, \mathcal Y_i(t_0), \phi)\, p(\phi \mid \mathcal D)
        \, d\theta_i\, d\phi .

The population posterior :math:`p(\phi \mid \mathcal D)` comes from a fit,
which is not refitted: each patient's own parameters :math:`\theta_i` are
drawn by `bayestwin.twin.conditioning.condition_new_patients` from the cohort
truncated at the landmark (measurements up to :math:`t_0`, follow-up ending
event-free at :math:`t_0`). This is the Monte Carlo scheme that the
"Dynamic Predictions" vignette of JMbayes2 describes for ``predict``.

`event_probability` evaluates the ratio of survival functions for the classic
joint model (``models/joint_classic.toml``: one marker whose current value
enters the hazard); `landmark_predictions` runs the whole analysis and
`landmark_accuracy` scores it with the time-dependent AUC and the Brier
score of `bayestwin.validate.metrics`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayestwin.data.cohort import Cohort
from bayestwin.inference.fit import Fit
from bayestwin.model.longitudinal import patient_means
from bayestwin.model.quadrature import bspline_basis, gauss_legendre
from bayestwin.twin.conditioning import ConditionedPatients, condition_new_patients
from bayestwin.twin.draws import stacked
from bayestwin.validate.metrics import brier_score, cox_baseline_risk, time_dependent_auc

logger = logging.getLogger(__name__)


@dataclass
class LandmarkPrediction:
    r"""Predicted risks in a window after a landmark, with the observed outcomes.

    Attributes
    ----------
    landmark, horizon
        :math:`t_0` and :math:`t_0 + \Delta t`, in years on the model's time scale.
    table
        One row per patient at risk at the landmark, indexed by ``patient_id``:
        ``risk`` (posterior mean of the window probability), ``risk_lower`` and
        ``risk_upper`` (2.5% and 97.5% posterior quantiles), ``time``
        (observed end of follow-up or first endpoint event, years) and
        ``event`` (1 when that time is an endpoint event).
    risk_draws
        Window probability per population draw and patient, shape (D, P).
    conditioned
        The conditioned draws of the patients' own parameters.

    """

    landmark: float
    horizon: float
    table: pd.DataFrame
    risk_draws: np.ndarray
    conditioned: ConditionedPatients


def subset_cohort(cohort: Cohort, patient_ids: Sequence[str]) -> Cohort:
    """Return the cohort restricted to `patient_ids`, in that order.

    Raises
    ------
    ValueError
        An id is not a patient of the cohort.

    """
    ids = [str(p) for p in patient_ids]
    unknown = [p for p in ids if p not in cohort.patients.index]
    if unknown:
        raise ValueError(f"patient id(s) {unknown[:5]} not found in the cohort; expected ids "
                         f"such as {list(cohort.patients.index[:3])}")

    def rows(table: pd.DataFrame | None) -> pd.DataFrame | None:
        if table is None or "patient_id" not in table:
            return table
        return table[table["patient_id"].isin(ids)].reset_index(drop=True)

    genomics = cohort.genomics.loc[cohort.genomics.index.intersection(ids)] if (
        cohort.genomics is not None) else None
    return dataclasses.replace(
        cohort, patients=cohort.patients.loc[ids], measurements=rows(cohort.measurements),
        treatments=rows(cohort.treatments), events=rows(cohort.events), genomics=genomics,
        microbiome=rows(cohort.microbiome), diet=rows(cohort.diet))


def observed_outcome(cohort: Cohort, endpoint: Sequence[str],
                     competing: Sequence[str] = ()) -> pd.DataFrame:
    """Return each patient's follow-up time and endpoint indicator.

    The time is the first endpoint event, else the first competing event
    (censored), else the end of follow-up (censored), in years since entry.
    """
    events = cohort.events
    end = cohort.patients["end_time"].astype(float)
    first_endpoint = (events[events["event"].isin(endpoint)].groupby("patient_id")["time"]
                      .min().reindex(end.index))
    first_competing = (events[events["event"].isin(competing)].groupby("patient_id")["time"]
                       .min().reindex(end.index))
    event = first_endpoint.notna() & (first_endpoint <= end)
    time = np.fmin(end, first_endpoint.where(event))
    time = np.fmin(time, first_competing.where(first_competing < time))
    event = event & (first_endpoint <= time)
    return pd.DataFrame({"time": time.astype(float), "event": event.astype(int)})


def truncate_cohort(cohort: Cohort, landmark: float, *, endpoint: Sequence[str],
                    competing: Sequence[str] = ()) -> Cohort:
    """Return the patients at risk at `landmark` with only the data known then.

    A patient is at risk when follow-up goes beyond the landmark and no
    endpoint or competing event happened by then. Each keeps the
    measurements, treatments and other events dated up to the landmark
    (inclusive), and follow-up ends event-free at the landmark, which is what
    conditioning on :math:`T_i > t_0` needs.
    """
    outcome = observed_outcome(cohort, endpoint, competing)
    at_risk = outcome.index[outcome["time"] > landmark]
    if len(at_risk) == 0:
        raise ValueError(f"no patient is at risk at landmark {landmark:g}; the longest "
                         f"follow-up is {outcome['time'].max():g} years")
    kept = subset_cohort(cohort, at_risk)
    patients = kept.patients.copy()
    patients["end_time"] = float(landmark)
    measurements = kept.measurements[kept.measurements["time"] <= landmark].reset_index(drop=True)
    events = kept.events[kept.events["time"] <= landmark].reset_index(drop=True)
    treatments = kept.treatments[kept.treatments["start"] <= landmark].copy()
    treatments["stop"] = np.fmin(treatments["stop"].astype(float), landmark).where(
        treatments["stop"].notna())
    diet = (kept.diet[kept.diet["time"] <= landmark].reset_index(drop=True)
            if kept.diet is not None else None)
    microbiome = (kept.microbiome[kept.microbiome["time"] <= landmark].reset_index(drop=True)
                  if kept.microbiome is not None else None)
    return dataclasses.replace(kept, patients=patients, measurements=measurements,
                               events=events, treatments=treatments.reset_index(drop=True),
                               diet=diet, microbiome=microbiome)


def _check_joint_classic(fit: Fit) -> None:
    spec = fit.spec
    settings = spec.section("events")
    problems = []
    if not (spec.has("longitudinal") and spec.has("events")):
        problems.append("the longitudinal and events blocks must be on")
    if any(spec.has(block) for block in ("lipids", "burden", "imaging", "microbiome")):
        problems.append("the lipids, burden, imaging and microbiome blocks must be off")
    if list(settings.association) != ["value"]:
        problems.append(f"association must be ['value'], got {list(settings.association)}")
    if spec.competing_events:
        problems.append(f"competing events are not supported, got {spec.competing_events}")
    if problems:
        raise ValueError(f"event_probability supports the classic joint model only "
                         f"(models/joint_classic.toml); model {spec.name!r}: "
                         + "; ".join(problems))


def _window_nodes(start: float, stop: float, knots: np.ndarray,
                  n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Return Gauss-Legendre nodes and weights on [start, stop], split at the spline knots.

    The log baseline hazard is a cubic polynomial between knots, so each
    sub-interval has a smooth integrand.
    """
    inside = knots[(knots > start) & (knots < stop)]
    bounds = np.concatenate([[start], inside, [stop]])
    unit_nodes, unit_weights = gauss_legendre(n_nodes)
    width = np.diff(bounds)
    nodes = (bounds[:-1, None] + width[:, None] * unit_nodes).ravel()
    weights = (width[:, None] * unit_weights).ravel()
    return nodes, weights


def event_probability(fit: Fit, conditioned: ConditionedPatients, *, start: float,
                      stop: float) -> np.ndarray:
    r"""Return :math:`P(T_i \le \text{stop} \mid T_i > \text{start})` per draw and patient.

    For the classic joint model the hazard is

    .. math::

        h_i(t) = h_0(t) \exp\big(\mathbf x_i^\top \boldsymbol\beta
                 + \alpha\, m_i(t)\big), \qquad m_i(t) = c_{i0} + c_{i1} t,

    with :math:`c_i` the patient's intercept and slope of the (transformed)
    marker and :math:`\log h_0` a B-spline or Weibull. The window probability
    is :math:`1 - \exp\big(-\int_\text{start}^\text{stop} h_i(t)\,dt\big)`,
    integrated by Gauss-Legendre quadrature (the model file's node count on
    each interval between spline knots).

    Parameters
    ----------
    fit
        Fit of a classic joint model (one marker, ``value`` association,
        no competing events).
    conditioned
        Draws of the patients' intercepts and slopes, from `condition_new_patients`.
    start, stop
        Window in years on the model's time scale, ``start < stop``.

    Returns
    -------
    numpy.ndarray
        Shape (D, P): draws aligned with ``conditioned.draw_index``.

    Raises
    ------
    ValueError
        The model is not a classic joint model, or the window is empty.

    """
    _check_joint_classic(fit)
    if not np.isfinite(start) or not np.isfinite(stop) or stop <= start:
        raise ValueError(f"the window ({start!r}, {stop!r}] is empty; expected start < stop")
    spec = fit.spec
    settings = spec.section("events")
    design = conditioned.design
    select = conditioned.draw_index

    # Patient intercept and slope per draw: the fixed-effect means plus the random effects.
    beta_long = stacked(fit.idata, "beta_long")[select]
    terms = list(spec.section("longitudinal").fixed_effects)
    male = np.asarray(design.covariates["male"])
    age = np.asarray(design.covariates["age_at_entry"])
    # Fixed effects shaped (F, D, 1) broadcast against the patients' covariates (P,).
    means = np.asarray(patient_means({"beta_long": beta_long.T[:, :, None]}, terms, male, age))
    random_effects = conditioned.draws["b"]
    coefficients = means.copy()
    coefficients[..., : random_effects.shape[-1]] += random_effects

    # Log hazard on the quadrature nodes of the window, shape (D, P, nodes).
    knots = np.asarray(design.info["knots"], dtype=float)
    nodes, weights = _window_nodes(float(start), float(stop), knots, settings.quadrature_nodes)
    if settings.baseline == "bspline":
        spline_coef = stacked(fit.idata, "spline_coef")[select]
        log_h0 = spline_coef @ bspline_basis(nodes, knots).T
    else:
        log_level = stacked(fit.idata, "baseline_log_hazard")[select][:, None]
        shape = stacked(fit.idata, "weibull_shape")[select][:, None]
        log_h0 = log_level + np.log(shape) + (shape - 1.0) * np.log(np.maximum(nodes, 1e-6))
    linear = np.zeros((len(select), design.n_patients))
    if settings.covariates:
        covariates = np.stack([np.asarray(design.covariates[name]) for name in
                               settings.covariates], axis=-1)
        linear = stacked(fit.idata, "beta_event")[select] @ covariates.T
    alpha = stacked(fit.idata, "alpha_value")[select]
    marker = coefficients[..., 0, None] + coefficients[..., 1, None] * nodes
    log_hazard = log_h0[:, None, :] + linear[..., None] + alpha[:, None, None] * marker
    cumulative = np.exp(log_hazard) @ weights
    return -np.expm1(-cumulative)


def landmark_predictions(fit: Fit, cohort: Cohort, *, landmark: float, window: float, seed: int,
                         max_draws: int | None = None, steps: int = 30) -> LandmarkPrediction:
    r"""Predict the endpoint in (landmark, landmark + window] for the patients at risk then.

    Parameters
    ----------
    fit
        Fit of a classic joint model. The fit is used as it is: when it was
        made on the same cohort (as in the published PBC analyses), the
        evaluation is in-sample for the population parameters.
    cohort
        Cohort with the patients' full follow-up; it is truncated at the
        landmark before conditioning, and the follow-up after it gives the
        observed outcomes.
    landmark, window
        :math:`t_0` and :math:`\Delta t` in years since entry.
    seed
        Seed of the conditioning draws.
    max_draws, steps
        Passed to `condition_new_patients`.

    Returns
    -------
    LandmarkPrediction

    """
    if not landmark >= 0 or not window > 0:
        raise ValueError(f"expected landmark >= 0 and window > 0 (years), got landmark="
                         f"{landmark!r}, window={window!r}")
    spec = fit.spec
    truncated = truncate_cohort(cohort, landmark, endpoint=spec.endpoint_events,
                                competing=spec.competing_events)
    logger.info("landmark %g: %d patients at risk", landmark, truncated.n_patients)
    conditioned = condition_new_patients(fit, truncated, seed=seed, max_draws=max_draws,
                                         steps=steps)
    draws = event_probability(fit, conditioned, start=landmark, stop=landmark + window)
    outcome = observed_outcome(cohort, spec.endpoint_events, spec.competing_events)
    table = outcome.loc[conditioned.patients].copy()
    table.index.name = "patient_id"
    table.insert(0, "risk", draws.mean(axis=0))
    table.insert(1, "risk_lower", np.quantile(draws, 0.025, axis=0))
    table.insert(2, "risk_upper", np.quantile(draws, 0.975, axis=0))
    return LandmarkPrediction(landmark=float(landmark), horizon=float(landmark + window),
                              table=table, risk_draws=draws, conditioned=conditioned)


def landmark_accuracy(table: pd.DataFrame, *, landmark: float, horizon: float) -> dict[str, float]:
    """Score window risks: time-dependent AUC and IPCW Brier score at the horizon.

    Parameters
    ----------
    table
        One row per patient at risk at the landmark with ``risk``, ``time``
        and ``event`` (as in `LandmarkPrediction.table`).
    landmark, horizon
        The landmark and the end of the window, in years.

    Returns
    -------
    dict
        ``auc`` and ``brier`` (`bayestwin.validate.metrics`, censoring
        weights from the patients at risk), ``n_at_risk``, ``n_events``
        (endpoint events in the window) and ``n_censored`` (censored in the
        window).

    """
    time = table["time"].to_numpy(float)
    event = table["event"].to_numpy(int)
    risk = table["risk"].to_numpy(float)
    in_window = (time > landmark) & (time <= horizon)
    return {
        "auc": time_dependent_auc(time, event, risk, horizon=horizon),
        "brier": brier_score(time, event, risk, horizon=horizon),
        "n_at_risk": int(len(table)),
        "n_events": int(np.sum(in_window & (event == 1))),
        "n_censored": int(np.sum(in_window & (event == 0))),
    }


def baseline_cox_risk(cohort: Cohort, *, landmark: float, window: float,
                      endpoint: Sequence[str], markers: Sequence[str],
                      log_markers: Sequence[str] = (), covariates: Sequence[str] = ("female",),
                      ) -> pd.DataFrame:
    r"""Return window risks of a Cox model on baseline values for the patients at risk.

    The comparator of the published landmark analyses: a proportional-hazards
    model fitted on all patients with each marker's first measurement
    (log-transformed for `log_markers`) and baseline covariates, then
    :math:`1 - S(t_0 + \Delta t \mid x) / S(t_0 \mid x)`.

    Parameters
    ----------
    cohort
        Full cohort (not truncated).
    landmark, window
        :math:`t_0` and :math:`\Delta t` in years.
    endpoint
        Event codes of the endpoint.
    markers
        Markers whose first value enters the model; a patient without one is
        dropped from the Cox fit and gets no prediction.
    log_markers
        Markers of `markers` entered on the log scale.
    covariates
        ``female`` (from ``sex``) or numeric columns of the patients table.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``patient_id``: ``risk``, ``time``, ``event``.

    """
    patients = cohort.patients
    frame = observed_outcome(cohort, endpoint)
    for name in covariates:
        frame[name] = ((patients["sex"] == "F").astype(float) if name == "female"
                       else pd.to_numeric(patients[name], errors="coerce"))
    measurements = cohort.measurements.sort_values(["patient_id", "time"])
    for marker in markers:
        first = (measurements[measurements["marker"] == marker].groupby("patient_id")["value"]
                 .first().reindex(frame.index))
        frame[marker] = np.log(first) if marker in log_markers else first
    frame = frame.dropna()
    columns = [*markers, *covariates]
    at_risk = frame[frame["time"] > landmark]
    to_landmark = cox_baseline_risk(frame, at_risk, duration_col="time", event_col="event",
                                    covariates=columns, horizon=landmark)
    to_horizon = cox_baseline_risk(frame, at_risk, duration_col="time", event_col="event",
                                   covariates=columns, horizon=landmark + window)
    risk = 1.0 - (1.0 - to_horizon) / (1.0 - to_landmark)
    return pd.DataFrame({"risk": risk, "time": at_risk["time"], "event": at_risk["event"]})
