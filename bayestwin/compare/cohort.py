"""Cohort-level treatment comparisons: plan against plan, subgroups, population impact.

Each comparison predicts every patient's cumulative incidence under each plan
with the same posterior draws, so the uncertainty of the difference is the
joint uncertainty of the model, not two independent intervals.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from bayestwin.data.cohort import Cohort
from bayestwin.data.vocabulary import DRUGS
from bayestwin.exceptions import ScenarioError
from bayestwin.inference.fit import Fit
from bayestwin.model.design import NONSTATIN_CLASSES, build_design
from bayestwin.twin import draws as posterior
from bayestwin.twin.api import esc_category, history_from_design, plan_arrays, spec_constants
from bayestwin.twin.effects import ESC_GOALS, interval
from bayestwin.twin.scenario import STRATEGIES, parse_plan
from bayestwin.twin.trajectory import PlanArrays, predict

ESC_LADDER = ( "atorvastatin:40", "atorvastatin:80", "atorvastatin:80+ezetimibe:10",
    "atorvastatin:80+ezetimibe:10+evolocumab:140",
)
"""Escalation steps of the ``esc-goal`` strategy, from least to most intensive."""

SUBGROUPS = ("variant_class", "sex", "lpa_above_50")


@dataclass
class Comparison:
    """Cohort comparison of plans.

    Attributes
    ----------
    incidence
        Cumulative incidence at the horizon, dims (plan, patient, draw).
    ldl
        LDL-C one year after the start, dims (plan, patient, draw).
    summary
        One row per plan (and subgroup when asked): mean risk, events averted
        per 1,000 patients against the reference, interval, P(plan beats reference).

    """

    incidence: xr.DataArray
    ldl: xr.DataArray
    summary: pd.DataFrame


def _strategy_plans(name: str, fit: Fit, cohort: Cohort, design, history, draws, constants,
                    patients: np.ndarray) -> PlanArrays:
    """Escalate each patient up the ladder until the median LDL-C meets the ESC goal.

    A patient at goal on current care keeps it, and no step goes below it.
    """
    if name != "esc-goal":
        raise ScenarioError(f"unknown strategy {name!r}; valid: {', '.join(STRATEGIES)}")
    offsets = np.array([0.0, 1.0])
    chosen = None
    current = None
    for text in ("current", *ESC_LADDER):
        arrays = plan_arrays(parse_plan(text), history)
        ldl = np.asarray(predict(draws, history, arrays, offsets, spec_constants={
            **constants, "has_events": False, "has_imaging": False})["ldl"])[:, :, -1]
        goals = np.array([ESC_GOALS[esc_category(cohort, design.patient_ids[p])]
                          for p in patients])
        median = np.median(ldl, axis=0)
        met = median < goals
        if chosen is None:
            chosen, current, done = arrays, median, met
            continue
        # A step that would raise LDL-C above current care is skipped.
        stronger = median <= current + 1e-9
        met = met & stronger
        # Patients not yet at goal move up one step.
        for field_name in ("statin_dose", "statin_adherence", "class_adherence", "diet_change"):
            before = getattr(chosen, field_name)
            candidate = getattr(arrays, field_name)
            move = ~done & stronger
            mask = move if before.ndim == 1 else move[:, None]
            setattr(chosen, field_name, np.where(mask, candidate, before))
        done = done | met
    return chosen


def compare_plans(fit: Fit, cohort: Cohort, plans: list[str], *, horizon: float = 10.0,
                  by: str | None = None, max_draws: int | None = 400,
                  mass: float = 0.9) -> Comparison:
    """Compare plans over every patient of `cohort` (the fit's cohort).

    Parameters
    ----------
    fit
        A fit of the FH twin.
    cohort
        The cohort the fit was made on; its fitted patients are compared.
    plans
        Scenario strings or strategy names (``esc-goal``); the first is the
        reference, usually ``current``.
    horizon
        Years after each patient's last observation.
    by
        Subgroup column: ``variant_class``, ``sex`` or ``lpa_above_50``.
    max_draws
        Thin the posterior to at most this many draws.
    mass
        Mass of the central credible intervals in the summary.

    """
    if len(plans) < 2:
        raise ScenarioError("compare needs at least two plans, e.g. current and esc-goal.")
    if by is not None and by not in SUBGROUPS:
        raise ScenarioError(f"unknown subgroup {by!r}; valid: {', '.join(SUBGROUPS)}")
    reference = json.loads(fit.idata.attrs.get("design_reference", "{}"))
    design = build_design(cohort, fit.spec, reference=reference)
    constants = spec_constants(fit, design)
    fitted = [str(p) for p in fit.idata.posterior["patient"].values]
    patients = np.array([i for i, p in enumerate(design.patient_ids) if p in fitted])
    ids = [str(design.patient_ids[i]) for i in patients]

    total = posterior.draw_count(fit.idata)
    select = (None if max_draws is None or max_draws >= total
              else np.linspace(0, total - 1, max_draws).round().astype(int))
    draws = {**posterior.population_draws(fit.idata, select=select),
             **posterior.patient_draws(fit.idata, ids, select=select)}
    end = cohort.patients.loc[ids, "end_time"].to_numpy(float)
    history = history_from_design(design, patients, end,
                                  list(fit.spec.section("events").covariates))
    offsets = np.array([0.0, 1.0, horizon]) if horizon > 1 else np.array([0.0, horizon])

    incidence, ldl = [], []
    for text in plans:
        if text in STRATEGIES:
            arrays = _strategy_plans(text, fit, cohort, design, history, draws, constants,
                                     patients)
        else:
            arrays = plan_arrays(parse_plan(text), history)
        out = predict(draws, history, arrays, offsets, spec_constants=constants)
        incidence.append(np.asarray(out["cumulative_incidence"])[:, :, -1].T)
        ldl.append(np.asarray(out["ldl"])[:, :, 1].T)
    coords = {"plan": plans, "patient": ids}
    incidence_da = xr.DataArray(np.stack(incidence), dims=("plan", "patient", "draw"),
                                coords=coords, name="cumulative_incidence")
    ldl_da = xr.DataArray(np.stack(ldl), dims=("plan", "patient", "draw"), coords=coords,
                          name="ldl")
    groups = subgroup_labels(cohort, ids, by)
    summary = summarise(incidence_da, groups, mass=mass)
    return Comparison(incidence=incidence_da, ldl=ldl_da, summary=summary)


def subgroup_labels(cohort: Cohort, ids: list[str], by: str | None) -> pd.Series:
    """Return each patient's subgroup label (``all`` when `by` is None)."""
    if by is None:
        return pd.Series("all", index=ids)
    if by == "sex":
        return cohort.patients.loc[ids, "sex"].astype(str)
    if by == "variant_class":
        if cohort.genomics is None:
            return pd.Series("not_tested", index=ids)
        return cohort.genomics["variant_class"].reindex(ids).fillna("not_tested").astype(str)
    lpa = cohort.measurements[(cohort.measurements["marker"] == "lpa")
                              & (cohort.measurements["unit"] == "mg/dL")]
    last = lpa.groupby("patient_id")["value"].last().reindex(ids)
    labels = np.where(last.isna(), "unknown", np.where(last > 50, "above_50", "50_or_less"))
    return pd.Series(labels, index=ids)


def summarise(incidence: xr.DataArray, groups: pd.Series, *, mass: float = 0.9) -> pd.DataFrame:
    """Summarise events averted against the first plan, per plan and subgroup."""
    rows = []
    reference = incidence.isel(plan=0).values  # (patient, draw)
    for group in sorted(groups.unique()):
        members = (groups == group).to_numpy()
        for index, plan in enumerate(incidence["plan"].values):
            risk = incidence.isel(plan=index).values[members]
            averted = (reference[members] - risk).sum(axis=0)  # events averted, per draw
            per_1000 = averted / members.sum() * 1000.0
            low, high = interval(per_1000, mass)
            rows.append({
                "subgroup": group, "plan": str(plan), "patients": int(members.sum()),
                "mean_risk": float(risk.mean()),
                "events_averted": float(np.median(averted)),
                "events_averted_low": float(interval(averted, mass)[0]),
                "events_averted_high": float(interval(averted, mass)[1]),
                "averted_per_1000": float(np.median(per_1000)),
                "averted_per_1000_low": float(low), "averted_per_1000_high": float(high),
                "p_beats_reference": float(np.mean(averted > 0)) if index else np.nan,
            })
    return pd.DataFrame(rows)


def ldl_effects(fit: Fit, *, mass: float = 0.9) -> pd.DataFrame:
    """Posterior of the LDL-C lowering of each drug and dose, with the spread between patients.

    The typical patient has responsiveness 1; the spread row gives the 10th
    and 90th percentiles of the fraction across patients, from sigma_r.
    """
    draws = posterior.population_draws(fit.idata)
    if "statin_emax" not in draws:
        raise ScenarioError("this fit has no treatment block, so no drug effects to report.")
    emax = np.asarray(draws["statin_emax"])
    ed50 = np.asarray(draws["statin_ed50"])
    sigma = (posterior.stacked(fit.idata, "sigma_r") if "sigma_r" in fit.idata.posterior
             else np.zeros((len(emax), 2)))
    rows = []
    for name, info in DRUGS.items():
        doses = info.doses_mg
        for dose in doses:
            if info.drug_class == "statin":
                fraction = emax * dose * info.atorvastatin_equivalence / (
                    ed50 + dose * info.atorvastatin_equivalence)
                spread = sigma[:, 0]
            elif info.drug_class in NONSTATIN_CLASSES:
                fraction = np.asarray(draws["class_effect"])[:, NONSTATIN_CLASSES.index(
                    info.drug_class)]
                spread = sigma[:, 1]
            else:
                continue
            low, high = interval(fraction, mass)
            # Patients at the 10th and 90th percentile of responsiveness.
            weak = 1.0 - np.exp(np.exp(-1.2816 * spread) * np.log1p(-fraction))
            strong = 1.0 - np.exp(np.exp(1.2816 * spread) * np.log1p(-fraction))
            rows.append({"drug": name, "class": info.drug_class, "dose_mg": dose,
                         "reduction": float(np.median(fraction)), "reduction_low": float(low),
                         "reduction_high": float(high),
                         "patient_p10": float(np.median(weak)),
                         "patient_p90": float(np.median(strong))})
    return pd.DataFrame(rows)
