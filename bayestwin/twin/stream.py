"""Risks of many patients at once: batched conditioning, prediction and summaries.

`cohort_incidence` predicts the cumulative incidence of the endpoint for a
group of conditioned patients in one pass (arrays of shape (draw, patient,
time)). `stream_risk_summaries` conditions new patients batch by batch,
predicts every scenario, reduces each patient to a risk table and drops the
draws, so memory stays flat whatever the number of patients.
"""

from __future__ import annotations

from collections.abc import Iterator

import jax
import numpy as np
import pandas as pd

from bayestwin.data.cohort import Cohort
from bayestwin.exceptions import ScenarioError
from bayestwin.inference.fit import Fit
from bayestwin.twin import draws as posterior
from bayestwin.twin.api import history_from_design, parse_plans, plan_arrays, spec_constants
from bayestwin.twin.conditioning import ConditionedPatients, condition_new_patients
from bayestwin.twin.effects import risk_table
from bayestwin.twin.trajectory import predict


def conditioned_draws(fit: Fit, conditioned: ConditionedPatients) -> dict:
    """Return population and patient draws (draw axis first) for `predict`."""
    population = posterior.population_draws(fit.idata, select=conditioned.draw_index)
    patients = {name: jax.numpy.asarray(conditioned.draws[name])
                for name in posterior.PATIENT_DRAW_SITES if name in conditioned.draws}
    return {**population, **patients}


def cohort_incidence(fit: Fit, conditioned: ConditionedPatients, scenarios: list[str], *,
                     start: np.ndarray, offsets: np.ndarray) -> dict[str, np.ndarray]:
    """Predict the cumulative incidence of the endpoint for every conditioned patient.

    Parameters
    ----------
    fit
        The cohort fit the patients were conditioned on.
    conditioned
        Patients conditioned on `fit` (`condition_new_patients`).
    scenarios
        Plans such as ``"current"``.
    start
        Each patient's scenario start in years since entry, shape (P,).
    offsets
        Years after the start, increasing from 0.

    Returns
    -------
    dict
        Scenario label -> cumulative incidence draws, shape (D, P, len(offsets)).

    """
    design = conditioned.design
    constants = spec_constants(fit, design)
    if offsets[-1] > constants["max_horizon"]:
        raise ScenarioError(f"horizon {offsets[-1]:g} years is beyond the model's support "
                            f"(max_horizon = {constants['max_horizon']:g} years).")
    history = history_from_design(design, np.arange(design.n_patients), np.asarray(start, float),
                                  list(fit.spec.section("events").covariates))
    draws = conditioned_draws(fit, conditioned)
    out = {}
    for plan in parse_plans(fit.spec, scenarios):
        result = predict(draws, history, plan_arrays(plan, history), np.asarray(offsets),
                         spec_constants=constants)
        out[plan.label] = np.asarray(result["cumulative_incidence"])
    return out


def last_observation_times(cohort: Cohort) -> np.ndarray:
    """Return each patient's last measurement or event time (years since entry), 0 without."""
    times = pd.concat([cohort.measurements[["patient_id", "time"]],
                       cohort.events[["patient_id", "time"]]])
    last = times.groupby("patient_id")["time"].max()
    return last.reindex(cohort.patients.index).fillna(0.0).to_numpy(float)


def stream_risk_summaries(fit: Fit, cohort: Cohort, scenarios: list[str], *,
                          batch_size: int = 250, horizons: tuple[float, ...] = (5.0, 10.0),
                          max_draws: int | None = 1000, seed: int,
                          start: float | None = None) -> Iterator[pd.DataFrame]:
    """Yield one risk table per batch of new patients (columns as `Twin.risks` plus patient_id).

    Parameters
    ----------
    fit
        The cohort fit; patients in `cohort` are conditioned on it without refitting.
    cohort
        New patients in the cohort format.
    scenarios
        Plans; the first is the reference.
    batch_size
        Patients conditioned and predicted together.
    horizons
        Horizons of the risk table, in years.
    max_draws
        Use at most this many population draws.
    seed
        Root seed; batch k uses ``seed + k``.
    start
        Scenario start in years since entry for every patient; default the
        day after each patient's last observation.

    """
    from bayestwin.twin.landmark import subset_cohort

    ids = [str(p) for p in cohort.patients.index]
    horizon = max(horizons)
    offsets = np.asarray(sorted(set(horizons) | {0.0}), dtype=float)
    labels = [plan.label for plan in parse_plans(fit.spec, scenarios)]
    for number, first in enumerate(range(0, len(ids), batch_size)):
        batch = subset_cohort(cohort, ids[first:first + batch_size])
        conditioned = condition_new_patients(fit, batch, seed=seed + number,
                                             max_draws=max_draws)
        begin = (last_observation_times(batch) + 1.0 / 365.25 if start is None
                 else np.full(batch.n_patients, float(start)))
        incidence = cohort_incidence(fit, conditioned, scenarios, start=begin, offsets=offsets)
        stacked = np.stack([incidence[label] for label in labels])  # (scenario, D, P, time)
        tables = []
        for p, patient in enumerate(conditioned.patients):
            table = risk_table(np.transpose(stacked[:, :, p, :], (0, 2, 1)), labels, offsets,
                               tuple(h for h in horizons if h <= horizon))
            tables.append(table.assign(patient_id=patient))
        yield pd.concat(tables, ignore_index=True)

