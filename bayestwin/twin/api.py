"""Build a patient's twin: scenarios, trajectories and treatment-effect summaries."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import jax
import numpy as np
import pandas as pd
import xarray as xr

from bayestwin.data.cohort import Cohort
from bayestwin.data.vocabulary import DRUGS
from bayestwin.exceptions import ScenarioError
from bayestwin.inference.fit import Fit
from bayestwin.inference.seeds import root_key
from bayestwin.model.design import NONSTATIN_CLASSES, Design, build_design, locate_piece
from bayestwin.riskscores.select import esc_fh_risk_category
from bayestwin.twin import draws as posterior
from bayestwin.twin.effects import goal_summary, risk_table
from bayestwin.twin.scenario import Plan, parse_plan
from bayestwin.twin.trajectory import History, PlanArrays, predict

logger = logging.getLogger(__name__)


@dataclass
class Twin:
    """One patient's twin: posterior trajectories per scenario and their summaries.

    Attributes
    ----------
    patient_id
        The patient.
    trajectories
        xarray Dataset with ``ldl`` (mmol/L), ``burden`` (mmol/L-years),
        ``cac`` (AU), ``p_cac_positive`` and ``cumulative_incidence``, dims
        (scenario, time, draw); ``time`` is years after the scenario start.
    risks
        One row per scenario and horizon: risk, ARR, P(benefit), NNT.
    goals
        One row per scenario: probability of the ESC LDL-C goal and time to it.
    info
        Start, risk category, endpoint, and the fit's convergence status.

    """

    patient_id: str
    trajectories: xr.Dataset
    risks: pd.DataFrame
    goals: pd.DataFrame
    info: dict = field(default_factory=dict)


def spec_constants(fit: Fit, design: Design) -> dict:
    """Return the constants of the model file that the twin formulas need."""
    spec = fit.spec
    burden = spec.section("burden")
    events = spec.section("events")
    reference = json.loads(fit.idata.attrs.get("design_reference", "{}"))
    return {
        "reference_age": spec.reference_age if spec.time_scale == "age" else 0.0,
        "threshold": burden.threshold, "floor": burden.floor,
        "burden_reference": burden.reference, "ldl_reference": events.ldl_reference,
        "knots": np.asarray(reference.get("knots", design.info.get("knots", [0.0, 1.0]))),
        "time_scale": spec.time_scale, "has_events": spec.has("events"),
        "has_imaging": spec.has("imaging") and spec.section("imaging").cac,
        "max_horizon": events.max_horizon,
    }


def history_from_design(design: Design, patients: np.ndarray, start: np.ndarray,
                        covariate_names: list[str]) -> History:
    """Cut each patient's treatment pieces at the scenario start (years since entry)."""
    origin = design.origin[patients]
    at = origin + start
    piece_start = design.arrays["piece_start"][patients].copy()
    piece_stop = design.arrays["piece_stop"][patients].copy()
    # Treatment on the last piece goes on until the start when follow-up ended earlier.
    last = np.array([np.flatnonzero(stop > begin)[-1] if np.any(stop > begin) else 0
                     for begin, stop in zip(piece_start, piece_stop, strict=True)])
    rows = np.arange(len(patients))
    piece_stop[rows, last] = np.maximum(piece_stop[rows, last], at)
    piece_stop = np.minimum(piece_stop, at[:, None])
    piece_start = np.minimum(piece_start, at[:, None])
    covariates = (np.stack([design.covariates[name][patients] for name in covariate_names], -1)
                  if covariate_names else np.zeros((len(patients), 0)))
    change = design.arrays.get("susceptibility_change")
    return History(
        start=at, age_at_start=design.covariates["age_at_entry"][patients] + start,
        piece_start=piece_start, piece_stop=piece_stop,
        statin_dose=design.arrays["statin_dose"][patients],
        statin_adherence=design.arrays["statin_adherence"][patients],
        class_adherence=design.arrays["class_adherence"][patients],
        male=design.covariates["male"][patients], event_covariates=covariates,
        susceptibility_change=None if change is None else change[patients],
        time_varying_index=design.arrays.get("time_varying_index"),
    )


def parse_plans(spec, scenarios: list[str]) -> list[Plan]:
    """Parse scenario strings, rejecting drugs for a model without the treatment block.

    Raises
    ------
    ScenarioError
        A bad scenario, or one with drugs that the model cannot predict.

    """
    plans = [parse_plan(text) for text in scenarios]
    treated = [plan.label for plan in plans if plan.drugs]
    if treated and not spec.has("treatment"):
        raise ScenarioError(f"scenario {treated[0]!r} names lipid-lowering drugs, but model "
                            f"'{spec.name}' has no treatment block, so it cannot predict "
                            f"their effect; use 'current' (with '@diet=...' when the model "
                            f"has diet).")
    return plans


def plan_arrays(plan: Plan, history: History) -> PlanArrays:
    """Turn a plan into per-patient arrays; ``current`` copies the treatment at the start."""
    n = len(history.start)
    if plan.keep_current:
        piece = locate_piece(history.piece_start, np.arange(n), history.start - 1e-9)
        rows = np.arange(n)
        return PlanArrays(
            statin_dose=history.statin_dose[rows, piece],
            statin_adherence=history.statin_adherence[rows, piece] * plan.adherence,
            class_adherence=history.class_adherence[rows, piece] * plan.adherence,
            diet_change=np.full(n, plan.diet_change))
    statin_dose = 0.0
    classes = np.zeros(len(NONSTATIN_CLASSES))
    for drug, dose in plan.drugs:
        info = DRUGS[drug]
        if info.drug_class == "statin":
            statin_dose += dose * info.atorvastatin_equivalence
        else:
            classes[NONSTATIN_CLASSES.index(info.drug_class)] = plan.adherence
    return PlanArrays(
        statin_dose=np.full(n, statin_dose),
        statin_adherence=np.full(n, plan.adherence if statin_dose > 0 else 0.0),
        class_adherence=np.tile(classes, (n, 1)), diet_change=np.full(n, plan.diet_change))


def esc_category(cohort: Cohort, patient_id: str) -> str:
    """Return the ESC/EAS risk category of an FH patient: ``very_high`` or ``high``.

    FH with ASCVD or another major risk factor (diabetes, current smoking,
    hypertension, Lp(a) above 50 mg/dL) is very high risk; FH otherwise high risk.
    """
    row = cohort.patients.loc[patient_id]
    others = [bool(row.get(name, False)) for name in ("diabetes", "hypertension")]
    others.append(row.get("smoking", "never") == "current")
    lpa = cohort.measurements[(cohort.measurements["patient_id"] == patient_id)
                              & (cohort.measurements["marker"] == "lpa")
                              & (cohort.measurements["unit"] == "mg/dL")]["value"]
    others.append(bool(len(lpa)) and float(lpa.iloc[-1]) > 50.0)
    return esc_fh_risk_category(prior_ascvd=bool(row.get("prior_ascvd", False)),
                                other_major_risk_factor=any(others))


def make_twin(fit: Fit, cohort: Cohort, patient_id: str, scenarios: list[str], *,
              seed: int, start: float | None = None, horizon: float = 10.0,
              step: float = 1.0 / 12.0, horizons: tuple[float, ...] = (5.0, 10.0),
              draws: dict | None = None, select: np.ndarray | None = None,
              max_draws: int | None = None) -> Twin:
    """Build the twin of `patient_id` under each scenario.

    Parameters
    ----------
    fit
        A fit of a model with the lipids and treatment blocks (FH twin).
    cohort
        The cohort containing the patient (the fit's cohort, or a new-patient cohort).
    patient_id
        The patient's identifier in `cohort`.
    scenarios
        Plans such as ``"current"`` and ``"atorvastatin:80+ezetimibe:10"``;
        the first is the reference.
    seed
        Seed of the CAC posterior predictive draws.
    start
        Scenario start in years since entry; default the patient's last
        observation (end of follow-up).
    horizon, step
        Length and step of the time grid in years.
    horizons
        Horizons of the risk table, in years (those beyond `horizon` are dropped).
    draws
        Per-patient draws (u, v, r_statin, r_nonstatin, log_s; shape (D, 1))
        when the patient is not in the fit (`bayestwin.workflow.new_patient_draws`).
    select
        Indices of the population draws that `draws` go with.
    max_draws
        Thin the posterior to at most this many draws.

    Raises
    ------
    ScenarioError
        Unknown patient, bad scenario, start before the last observation, or a
        horizon beyond the model's support.

    """
    if patient_id not in cohort.patients.index:
        raise ScenarioError(f"patient {patient_id!r} not found in the cohort "
                            f"({cohort.n_patients} patients, e.g. "
                            f"{', '.join(map(str, cohort.patients.index[:3]))}).")
    if not scenarios:
        raise ScenarioError("give at least one scenario, e.g. 'current'.")
    plans = parse_plans(fit.spec, scenarios)
    reference = json.loads(fit.idata.attrs.get("design_reference", "{}"))
    design = build_design(cohort, fit.spec, reference=reference)
    constants = spec_constants(fit, design)
    if horizon > constants["max_horizon"]:
        raise ScenarioError(f"horizon {horizon:g} years is beyond the model's support "
                            f"(max_horizon = {constants['max_horizon']:g} years in "
                            f"[events] of the model file).")
    if horizon < max(horizons):
        horizons = tuple(h for h in horizons if h <= horizon)

    index = int(np.flatnonzero(design.patient_ids == str(patient_id))[0])
    last_observation = _last_observation(cohort, patient_id)
    if start is None:
        start = last_observation + 1.0 / 365.25
    elif start < last_observation:
        raise ScenarioError(f"scenario start {start:g} years is before the patient's last "
                            f"observation at {last_observation:g} years since entry; a twin "
                            f"predicts forward from the data.")

    total = posterior.draw_count(fit.idata)
    if select is None and max_draws is not None and max_draws < total:
        select = np.linspace(0, total - 1, max_draws).round().astype(int)
    population = posterior.population_draws(fit.idata, select=select)
    patient = draws if draws is not None else posterior.patient_draws(
        fit.idata, [str(patient_id)], select=select)
    all_draws = {**population, **patient}
    history = history_from_design(design, np.array([index]), np.array([start]),
                                  list(fit.spec.section("events").covariates))
    offsets = np.round(np.arange(0.0, horizon + step / 2, step), 10)

    key = root_key(seed)
    results = {}
    for number, plan in enumerate(plans):
        arrays = plan_arrays(plan, history)
        out = predict(all_draws, history, arrays, offsets, spec_constants=constants,
                      key=jax.random.fold_in(key, number))
        results[plan.label] = {name: np.asarray(value)[:, 0, :] for name, value in out.items()}

    labels = [plan.label for plan in plans]
    data = {name: (("scenario", "time", "draw"),
                   np.stack([results[label][name].T for label in labels]))
            for name in results[labels[0]]}
    n_draws = next(iter(results[labels[0]].values())).shape[0]
    trajectories = xr.Dataset(data, coords={"scenario": labels, "time": offsets,
                                            "draw": np.arange(n_draws)})
    trajectories["time"].attrs["units"] = "years after the scenario start"
    trajectories.attrs.update({"patient_id": str(patient_id), "start_years_since_entry": start})

    risks = (risk_table(trajectories["cumulative_incidence"].values, labels, offsets, horizons)
             if "cumulative_incidence" in trajectories else pd.DataFrame())
    marker = fit.spec.section("lipids").marker
    if fit.spec.section("model").population == "fh" and marker == "ldl_c":
        category = esc_category(cohort, patient_id)
        untreated = np.exp(np.asarray(patient["u"])[:, 0] + np.asarray(patient["v"])[:, 0] / 10.0
                           * (history.start[0] - constants["reference_age"]))
        goals = pd.DataFrame([{"scenario": label, **goal_summary(
            trajectories["ldl"].sel(scenario=label).values, untreated, offsets, category)}
            for label in labels])
    else:  # the ESC/EAS FH categories and LDL-C goals do not apply
        category, goals = "not_assessed", pd.DataFrame()
    info = {"start": start, "category": category, "endpoint": list(fit.spec.endpoint_events),
            "competing": list(fit.spec.competing_events), "converged": fit.converged,
            "marker": marker}
    return Twin(patient_id=str(patient_id), trajectories=trajectories, risks=risks, goals=goals,
                info=info)


def _last_observation(cohort: Cohort, patient_id: str) -> float:
    times = [cohort.measurements.loc[cohort.measurements["patient_id"] == patient_id, "time"]]
    times.append(cohort.events.loc[cohort.events["patient_id"] == patient_id, "time"])
    values = pd.concat(times)
    return float(values.max()) if len(values) else 0.0


def current_drugs(cohort: Cohort, patient_id: str, at: float) -> list[tuple[str, float]]:
    """Return the lipid-lowering (drug, dose) pairs a patient takes at time `at`."""
    rows = cohort.treatments[cohort.treatments["patient_id"] == patient_id]
    stop = rows["stop"].fillna(np.inf)
    active = rows[(rows["start"] <= at) & (stop > at) & rows["drug"].isin(list(DRUGS))]
    return [(drug, float(dose)) for drug, dose in zip(active["drug"], active["dose_mg"],
                                                          strict=True)]


def choose_statin_dose(fit: Fit, cohort: Cohort, patient_id: str, *, seed: int,
                       statin: str = "atorvastatin", doses: list[float] | None = None,
                       horizon: float = 10.0, sams_weight: float = 0.2,
                       draws: dict | None = None, select: np.ndarray | None = None,
                       max_draws: int | None = 400):
    """Weigh each dose of `statin` (with the patient's current add-on drugs) for one patient.

    Returns a `bayestwin.twin.dose.DoseChoice`.
    """
    from bayestwin.twin.dose import choose_dose

    doses = list(doses or DRUGS[statin].doses_mg)
    start = _last_observation(cohort, patient_id) + 1.0 / 365.25
    add_ons = [f"{drug}:{dose:g}" for drug, dose in current_drugs(cohort, patient_id, start)
               if DRUGS[drug].drug_class != "statin"]
    scenarios = ["+".join([f"{statin}:{dose:g}", *add_ons]) for dose in doses]
    twin = make_twin(fit, cohort, patient_id, scenarios, seed=seed, horizon=horizon,
                     horizons=(horizon,), draws=draws, select=select, max_draws=max_draws)
    incidence = twin.trajectories["cumulative_incidence"].sel(time=horizon, method="nearest")
    risks = incidence.transpose("draw", "scenario").values
    return choose_dose(risks, statin, doses, seed=seed, sams_weight=sams_weight)
