"""Checks of patients' twins: against the simulator's truth, and against a refit.

`counterfactual_check` compares the twins of a fit to a simulated cohort with
what the simulator computes and the data never show: each patient's true
LDL-C and 10-year MACE risk under plans the patient never received. It also
draws outcomes from the true hazards after the end of follow-up. The twins start where
each patient's follow-up ends, as `bayestwin.compare.compare_plans` does.

`refit_agreement` conditions held-out patients on a fit without them
(`bayestwin.twin.conditioning`) and compares their 10-year risks with a fit
of the cohort that includes them.

`scripts/twin_validation.py` runs both and writes the tables that
docs/validation.md reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from bayestwin.compare.cohort import compare_plans
from bayestwin.data.cohort import Cohort
from bayestwin.data.vocabulary import DRUGS, LIPID_LOWERING_CLASSES
from bayestwin.exceptions import BayestwinError
from bayestwin.inference.fit import Fit
from bayestwin.inference.provenance import cohort_hash
from bayestwin.simulate import OBSERVED_PLAN, simulate_counterfactual
from bayestwin.simulate.cohort import SimulatedCohort
from bayestwin.twin.conditioning import (
    ConditionedPatients,
    condition_new_patients,
    population_update,
)
from bayestwin.twin.effects import interval, weighted_quantile
from bayestwin.twin.landmark import subset_cohort
from bayestwin.twin.scenario import parse_plan
from bayestwin.twin.stream import cohort_incidence

CHECK_SCENARIOS = (
    "atorvastatin:10",
    "rosuvastatin:40+ezetimibe:10",
    "atorvastatin:80+ezetimibe:10+evolocumab:140",
)
"""Plans of the counterfactual check: low intensity, high intensity with ezetimibe, and
triple therapy with a PCSK9 inhibitor."""


@dataclass
class CounterfactualCheck:
    """Twins of a simulated cohort against the simulator's truth.

    Attributes
    ----------
    intervals
        One row per patient, scenario and quantity (``risk_10y``, ``ldl_1y``):
        the true value, the twin's median and central interval, whether the
        interval contains the truth, and whether the patient ever received
        the plan (those rows do not count in the coverage).
    coverage
        Per scenario and quantity: patients counted and the fraction whose
        interval contains the truth.
    calibration
        Per outcome replicate: events, mean predicted and observed 5-year
        risk under current care, and the logistic calibration slope.
    pooled
        The same over all replicates pooled, and the correlation of the
        predicted with the true 5-year risks. Pooling averages out the noise
        of the drawn outcomes, not that of the patients.
    excluded
        Patients left out, with the reason (endpoint event or death during
        follow-up).

    """

    intervals: pd.DataFrame
    coverage: pd.DataFrame
    calibration: pd.DataFrame
    pooled: dict
    excluded: pd.DataFrame


def received_plan(cohort: Cohort, patient_id: str, plan_text: str) -> bool:
    """Return whether the patient ever took exactly the plan's lipid-lowering drugs and doses.

    The treatments table is cut at every start and stop of the patient's
    prescriptions. The plan counts as received when, on some piece, the set
    of (drug, dose) pairs of lipid-lowering drugs equals the plan's.
    """
    plan = parse_plan(plan_text)
    plan_drugs = {(drug, round(float(dose), 6)) for drug, dose in plan.drugs}
    rows = cohort.treatments[cohort.treatments["patient_id"] == patient_id]
    rows = rows[rows["drug"].map(lambda d: d in DRUGS
                                 and DRUGS[d].drug_class in LIPID_LOWERING_CLASSES)]
    if rows.empty:
        return not plan_drugs
    start = rows["start"].to_numpy(float)
    stop = rows["stop"].fillna(np.inf).to_numpy(float)
    cuts = np.unique(np.concatenate([start, stop[np.isfinite(stop)]]))
    for time in cuts:
        active = (start <= time) & (stop > time)
        active_drugs = {(drug, _row_dose(drug, dose))
                        for drug, dose in zip(rows["drug"][active], rows["dose_mg"][active],
                                              strict=True)}
        if active_drugs == plan_drugs:
            return True
    return False


def _row_dose(drug: str, dose: float) -> float:
    """Return a row's dose, rounded, or the catalogue dose of a single-dose drug without one."""
    if np.isfinite(dose):
        return round(float(dose), 6)
    doses = DRUGS[drug].doses_mg
    return round(float(doses[0]), 6) if len(doses) == 1 else float("nan")


def _eligible(cohort: Cohort, fit: Fit, fitted: Sequence[str]) -> tuple[list[str], pd.DataFrame]:
    """Return the fitted patients alive and free of the endpoint at the end of follow-up."""
    endpoint, competing = set(fit.spec.endpoint_events), set(fit.spec.competing_events)
    events = cohort.events.sort_values("time")
    reasons = {}
    for patient_id, event in zip(events["patient_id"], events["event"], strict=True):
        if patient_id in reasons:
            continue
        if event in endpoint:
            reasons[patient_id] = "endpoint event during follow-up"
        elif event in competing:
            reasons[patient_id] = "competing death during follow-up"
    eligible = [p for p in fitted if p not in reasons]
    excluded = pd.DataFrame({"patient_id": list(reasons), "reason": list(reasons.values())})
    return eligible, excluded


def _check_pairing(fit: Fit, simulated: SimulatedCohort) -> None:
    expected = fit.idata.attrs.get("data_sha256")
    if expected is not None and cohort_hash(simulated.cohort) != expected:
        raise BayestwinError(
            "the simulated cohort is not the one the fit was made on (data hashes differ); "
            "simulate it again with the size and seed used for the fit.")


def logistic_calibration(outcome: np.ndarray, risk: np.ndarray) -> dict[str, float]:
    """Return the logistic calibration slope of predicted risks against binary outcomes.

    The slope is the coefficient of logit(risk) in a logistic regression of
    the outcome (scikit-learn, no penalty: C = inf); 1 is ideal, below 1 means the
    predictions spread too far. ``observed_expected`` is the ratio of the
    observed event rate to the mean predicted risk.
    """
    outcome = np.asarray(outcome, dtype=int)
    risk = np.clip(np.asarray(risk, dtype=float), 1e-9, 1 - 1e-9)
    logit = np.log(risk / (1 - risk))[:, None]
    model = LogisticRegression(C=np.inf, max_iter=1000).fit(logit, outcome)
    return {"events": int(outcome.sum()), "mean_predicted": float(risk.mean()),
            "mean_observed": float(outcome.mean()),
            "observed_expected": float(outcome.mean() / risk.mean()),
            "slope": float(model.coef_[0, 0])}


def counterfactual_check(fit: Fit, simulated: SimulatedCohort, *,
                         scenarios: Sequence[str] = CHECK_SCENARIOS, mass: float = 0.9,
                         max_draws: int | None = 1000, outcome_replicates: int = 20,
                         seed: int = 0) -> CounterfactualCheck:
    """Compare the twins of `fit` with the simulator's counterfactual truth.

    Parameters
    ----------
    fit
        A fit of the FH twin to ``simulated.cohort``.
    simulated
        The simulated cohort, with its latent truth.
    scenarios
        Plans to check besides current care; each patient counts for the
        plans never received.
    mass
        Mass of the central credible intervals.
    max_draws
        Thin the posterior to at most this many draws.
    outcome_replicates
        Sets of outcomes drawn from the true hazards after the end of
        follow-up (common random numbers across plans), for the calibration
        of 5-year risks under current care.
    seed
        Seed of the first outcome replicate; replicate k uses seed + k.

    Raises
    ------
    BayestwinError
        The fit was not made on this simulated cohort.

    """
    _check_pairing(fit, simulated)
    cohort = simulated.cohort
    fitted = [str(p) for p in fit.idata.posterior["patient"].values]
    ids, excluded = _eligible(cohort, fit, fitted)
    plans = ["current", *scenarios]

    ten = compare_plans(fit, cohort, plans, horizon=10.0, max_draws=max_draws, mass=mass)
    five = compare_plans(fit, cohort, plans[:2], horizon=5.0, max_draws=max_draws, mass=mass)
    start = cohort.patients.loc[ids, "end_time"].to_numpy(float)
    truth = simulate_counterfactual(
        simulated, {"current": OBSERVED_PLAN, **{text: list(parse_plan(text).drugs)
                                                 for text in scenarios}},
        start=start, patients=ids, horizon=10.0, grid_step=0.25, seed=seed)

    rows = []
    for text in plans:
        predicted = {"risk_10y": ten.incidence.sel(plan=text, patient=ids).values,
                     "ldl_1y": ten.ldl.sel(plan=text, patient=ids).values}
        true = {"risk_10y": truth["risk_10y"].sel(scenario=text).values,
                "ldl_1y": truth["ldl_c"].sel(scenario=text).sel(time=1.0).values}
        received = np.array([text == "current" or received_plan(cohort, p, text) for p in ids])
        for quantity, draws in predicted.items():
            lower, upper = interval(draws, mass, axis=1)
            rows.append(pd.DataFrame({
                "patient_id": ids, "scenario": text, "quantity": quantity,
                "truth": true[quantity], "median": np.median(draws, axis=1),
                "lower": lower, "upper": upper,
                "covered": (lower <= true[quantity]) & (true[quantity] <= upper),
                "received": received}))
    intervals = pd.concat(rows, ignore_index=True)
    coverage = (intervals[~intervals["received"] | (intervals["scenario"] == "current")]
                .groupby(["scenario", "quantity"], sort=False)["covered"]
                .agg(patients="size", coverage="mean").reset_index())

    risk_5y = five.incidence.sel(plan="current", patient=ids).values.mean(axis=1)
    replicates, outcomes = [], []
    for k in range(outcome_replicates):
        drawn = truth if k == 0 else simulate_counterfactual(
            simulated, {"current": OBSERVED_PLAN}, start=start, patients=ids,
            horizon=5.0, grid_step=0.25, seed=seed + k)
        mace = drawn["sampled_mace_time"].sel(scenario="current").values
        death = drawn["sampled_death_time"].values
        outcome = (mace <= 5.0) & (mace < death)
        outcomes.append(outcome)
        replicates.append({"replicate": k, **logistic_calibration(outcome, risk_5y)})
    pooled = logistic_calibration(np.concatenate(outcomes), np.tile(risk_5y, len(outcomes)))
    true_5y = truth["risk_5y"].sel(scenario="current").values
    pooled["correlation_with_true_risk"] = float(np.corrcoef(risk_5y, true_5y)[0, 1])
    pooled["mean_true_risk"] = float(true_5y.mean())
    return CounterfactualCheck(intervals=intervals, coverage=coverage,
                               calibration=pd.DataFrame(replicates), pooled=pooled,
                               excluded=excluded)


def held_out_ids(cohort: Cohort, count: int, seed: int) -> list[str]:
    """Return `count` patient ids drawn at random without replacement, sorted."""
    ids = np.asarray(cohort.patients.index)
    if not 0 < count < len(ids):
        raise ValueError(f"count must lie between 1 and {len(ids) - 1}, got {count!r}")
    return sorted(np.random.default_rng(seed).choice(ids, count, replace=False).tolist())


def refit_agreement(without: Fit, with_all: Fit, cohort: Cohort, patient_ids: Sequence[str], *,
                    scenarios: Sequence[str] = ("current", "atorvastatin:80+ezetimibe:10"),
                    horizon: float = 10.0, mass: float = 0.9, max_draws: int | None = 1000,
                    seed: int = 0) -> pd.DataFrame:
    """Compare held-out patients conditioned on `without` with their twins in `with_all`.

    Both twins start at each patient's end of follow-up. The difference has
    two sources, and the table separates them by also conditioning the same
    patients on `with_all`, whose population draws already saw them:

    - ``method_*``: conditioned on `with_all` against the twin in `with_all`.
      The population draws are the same, so this is the error of the
      conditioning itself (Metropolis-Hastings noise and its Laplace
      proposal).
    - ``total_*``: conditioned on `without` against the twin in `with_all`,
      which adds what the held-out patients teach the fit about the
      population parameters, and the Monte Carlo noise of a second fit.
    - ``updated_*``: as ``total_*``, with the population draws of `without`
      weighted by each held-out patient's own likelihood
      (`population_update`): that patient's refit without the others. The
      column ``pareto_k`` gives the reliability of those weights (trust
      them up to `bayestwin.twin.conditioning.pareto_k_limit`).

    Returns one row per patient and scenario with the medians and central
    intervals of the risk by `horizon` from the four twins, the differences
    of medians in percentage points and the ratios of interval widths.

    Raises
    ------
    BayestwinError
        A patient is in `without`, or missing from `with_all`.

    """
    ids = [str(p) for p in patient_ids]
    in_without = set(map(str, without.idata.posterior["patient"].values))
    in_with = set(map(str, with_all.idata.posterior["patient"].values))
    if in_without & set(ids):
        raise BayestwinError(f"patients {sorted(in_without & set(ids))[:5]} are in the fit "
                             "without the held-out patients; hold them out of that fit.")
    if set(ids) - in_with:
        raise BayestwinError(f"patients {sorted(set(ids) - in_with)[:5]} are missing from the "
                             "refit; it must include every held-out patient.")
    new = subset_cohort(cohort, ids)
    start = new.patients["end_time"].to_numpy(float)
    offsets = np.array([0.0, horizon])

    def conditioned_on(fit: Fit) -> tuple[dict, ConditionedPatients]:
        patients = condition_new_patients(fit, new, seed=seed, max_draws=max_draws)
        risks = cohort_incidence(fit, patients, list(scenarios), start=start, offsets=offsets)
        return {label: value[:, :, -1] for label, value in risks.items()}, patients

    held_out, conditioned = conditioned_on(without)
    acceptance = conditioned.acceptance
    updates = {patient: population_update(conditioned, [patient]) for patient in ids}
    again, _ = conditioned_on(with_all)
    plans = list(scenarios) if len(scenarios) > 1 else [*scenarios, *scenarios]
    refit = compare_plans(with_all, cohort, plans, horizon=horizon, max_draws=max_draws,
                          mass=mass)

    def summary(draws: np.ndarray) -> tuple[float, float, float]:
        low, high = interval(draws, mass)
        return float(np.median(draws)), float(low), float(high)

    def weighted_summary(draws: np.ndarray, weights: np.ndarray) -> tuple[float, float, float]:
        tail = (1.0 - mass) / 2.0
        median, low, high = weighted_quantile(draws, weights, [0.5, tail, 1.0 - tail])
        return float(median), float(low), float(high)

    rows = []
    for text in scenarios:
        label = parse_plan(text).label
        refit_draws = refit.incidence.sel(plan=text, patient=ids).values
        for j, patient_id in enumerate(ids):
            twins = {"conditioned": summary(held_out[label][:, j]),
                     "updated": weighted_summary(held_out[label][:, j],
                                                 updates[patient_id][0]),
                     "conditioned_on_refit": summary(again[label][:, j]),
                     "refit": summary(refit_draws[j])}
            row = {"patient_id": patient_id, "scenario": text,
                   "acceptance": float(acceptance[j]),
                   "pareto_k": updates[patient_id][1]}
            for name, (median, low, high) in twins.items():
                row.update({f"{name}_median": median, f"{name}_lower": low,
                            f"{name}_upper": high})
            width = {name: high - low for name, (_, low, high) in twins.items()}
            row["total_median_difference_pp"] = 100 * (twins["conditioned"][0]
                                                        - twins["refit"][0])
            row["total_width_ratio"] = width["conditioned"] / width["refit"]
            row["updated_median_difference_pp"] = 100 * (twins["updated"][0]
                                                          - twins["refit"][0])
            row["updated_width_ratio"] = width["updated"] / width["refit"]
            row["method_median_difference_pp"] = 100 * (twins["conditioned_on_refit"][0]
                                                         - twins["refit"][0])
            row["method_width_ratio"] = width["conditioned_on_refit"] / width["refit"]
            rows.append(row)
    return pd.DataFrame(rows)
