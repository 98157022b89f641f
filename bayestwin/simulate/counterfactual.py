"""True counterfactual futures of simulated patients under alternative treatment plans.

The same patients keep their latent values (u, v, responsiveness,
susceptibility) and their treatment history up to the plan's start. From the
start every drug stops, and the plan's drugs run at the plan's adherence.
LDL-C and the burden come from the exact piecewise forms, and the cumulative
incidence of MACE with competing non-cardiovascular death from the true
hazards on a grid, so the results carry no sampling noise. They are what a
twin's predictions should reproduce.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from bayestwin.data.vocabulary import DRUGS
from bayestwin.exceptions import ScenarioError
from bayestwin.simulate.cohort import SimulatedCohort, event_linear_predictor
from bayestwin.simulate.design import DAYS_PER_YEAR, TIME_DECIMALS
from bayestwin.simulate.events import build_hazard_grid, death_time
from bayestwin.simulate.latent import Trajectories, lowering_fraction

OBSERVED_PLAN = "observed"
"""Plan value that keeps the simulated treatment history (carried past the end of follow-up)."""

Plan = Sequence[tuple[str, float | None]] | str


def describe_plan(plan: Plan) -> str:
    """Return a plan as text, for example ``atorvastatin:80+ezetimibe:10`` (``none`` when empty)."""
    if isinstance(plan, str):
        return plan
    parts = [drug if dose is None else f"{drug}:{dose:g}" for drug, dose in plan]
    return "+".join(parts) if parts else "none"


def _validate_plan(name: str, plan: Plan, params) -> list[tuple[str, float]]:
    if isinstance(plan, str):
        if plan != OBSERVED_PLAN:
            raise ScenarioError(
                f"plan {name!r} is the string {plan!r}; the only string plan is "
                f"{OBSERVED_PLAN!r}, otherwise give a list of (drug, dose_mg) pairs"
            )
        return []
    checked: list[tuple[str, float]] = []
    classes: set[str] = set()
    for item in plan:
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise ScenarioError(f"plan {name!r} has the entry {item!r}; expected (drug, dose_mg)")
        drug, dose = item
        info = DRUGS.get(drug)
        if info is None:
            raise ScenarioError(
                f"plan {name!r}: unknown drug {drug!r}; valid drugs are {sorted(DRUGS)}"
            )
        if info.drug_class in classes:
            raise ScenarioError(
                f"plan {name!r} has two drugs of class {info.drug_class!r}; keep one per class"
            )
        classes.add(info.drug_class)
        dose_value = np.nan if dose is None else float(dose)
        if info.drug_class == "statin" and not (
            min(info.doses_mg) <= dose_value <= max(info.doses_mg)
        ):
            raise ScenarioError(
                f"plan {name!r}: {drug} dose {dose!r} mg is outside the licensed range "
                f"{min(info.doses_mg):g}-{max(info.doses_mg):g} mg"
            )
        try:
            lowering_fraction(drug, dose_value, params)
        except ValueError as error:
            raise ScenarioError(f"plan {name!r}: {error}") from error
        checked.append((drug, dose_value))
    return checked


def _default_start(simulated: SimulatedCohort, positions: np.ndarray) -> np.ndarray:
    """Return the day after each patient's last measurement, in years since entry."""
    measurements = simulated.cohort.measurements
    last = measurements.groupby("patient_id", sort=False)["time"].max()
    ids = simulated.design.patient_id[positions]
    last_time = last.reindex(ids).fillna(0.0).to_numpy(float)
    return np.round(last_time + 1.0 / DAYS_PER_YEAR, TIME_DECIMALS)


def _scenario_rows(
    rows: pd.DataFrame, start: np.ndarray, plan: list[tuple[str, float]], adherence: np.ndarray
) -> pd.DataFrame:
    """Return the history cut at each patient's start plus the plan's drugs from the start."""
    patient = rows["patient"].to_numpy(int)
    cut = start[patient]
    kept = rows.loc[rows["start"].to_numpy() < cut].copy()
    stop = kept["stop"].to_numpy(float)
    kept_start = start[kept["patient"].to_numpy(int)]
    kept["stop"] = np.minimum(np.where(np.isnan(stop), np.inf, stop), kept_start)
    chosen = np.flatnonzero(np.isfinite(start))
    added = [
        pd.DataFrame(
            {
                "patient": chosen,
                "drug": drug,
                "dose_mg": dose,
                "start": start[chosen],
                "stop": np.inf,
                "adherence": adherence[chosen],
            }
        )
        for drug, dose in plan
    ]
    return pd.concat([kept, *added], ignore_index=True)


def simulate_counterfactual(
    simulated: SimulatedCohort,
    plans: Mapping[str, Plan],
    *,
    start: float | Sequence[float] | None = None,
    horizon: float = 10.0,
    seed: int,
    grid_step: float = 1.0 / 12.0,
    adherence: float | None = 1.0,
    patients: Sequence[str] | None = None,
) -> xr.Dataset:
    """Compute true LDL-C, burden and MACE incidence of each patient under each plan.

    Parameters
    ----------
    simulated
        A cohort from `simulate_cohort`.
    plans
        Scenario name -> list of (drug, dose_mg) pairs taken from the start
        (dose None where a dose does not apply; an empty list means no
        lipid-lowering drug), or the string ``"observed"`` to keep the
        simulated history.
    start
        Years since entry when the plans begin: one number for every
        patient, or one per patient in the order of `patients` (of the
        cohort when `patients` is None); None (default) starts each patient
        the day after their last measurement.
    horizon
        Years after the start covered by the ``time`` dimension.
    seed
        Seed of the sampled outcome times (`sampled_mace_time`,
        `sampled_death_time`); each patient uses the same unit exponential
        draws in every scenario (common random numbers).
    grid_step
        Spacing of the ``time`` dimension, years.
    adherence
        Fraction of doses taken under every plan; None keeps each patient's
        own adherence.
    patients
        Patient ids to include; all patients when None.

    Returns
    -------
    xarray.Dataset
        - ``ldl_c`` (mmol/L), ``burden`` (mmol/L-years) and
          ``cumulative_incidence`` of MACE with competing death, with dims
          (``scenario``, ``patient``, ``time``), ``time`` in years after the
          start.
        - ``risk_5y`` and ``risk_10y`` (``scenario``, ``patient``).
        - ``sampled_mace_time`` (``scenario``, ``patient``) and
          ``sampled_death_time`` (``patient``), in years after the start.
          The MACE time is inf when no MACE occurs within max(horizon, 10)
          years.
        - ``start`` and ``age_at_start`` per patient, and ``plan`` per
          scenario as text.

        Incidence and risks are conditional on being alive and free of MACE
        at the start.

    Raises
    ------
    ScenarioError
        For an unknown drug, a dose outside the catalogue range, two drugs of
        one class, an unknown patient id or invalid start, horizon, grid step
        or adherence.

    """
    config = simulated.config
    params = config.population
    design = simulated.design
    if not plans:
        raise ScenarioError("plans is empty; give at least one scenario name -> plan")
    if not (np.isfinite(horizon) and horizon > 0):
        raise ScenarioError(f"horizon must be a positive number of years, got {horizon!r}")
    if not (np.isfinite(grid_step) and 0 < grid_step <= horizon):
        raise ScenarioError(f"grid_step must lie in (0, horizon], got {grid_step!r}")
    if adherence is not None and not 0.0 <= adherence <= 1.0:
        raise ScenarioError(f"adherence must lie in [0, 1] or be None, got {adherence!r}")
    checked = {name: _validate_plan(name, plan, params) for name, plan in plans.items()}

    # Patients, their starts and windows.
    ids = pd.Index(design.patient_id)
    if patients is None:
        positions = np.arange(design.n_patients)
    else:
        positions = ids.get_indexer(list(patients))
        if np.any(positions < 0):
            missing = [p for p, i in zip(patients, positions, strict=True) if i < 0][:5]
            raise ScenarioError(f"unknown patient ids {missing}; use ids of the simulated cohort")
    if start is None:
        start_time = _default_start(simulated, positions)
    else:
        start_time = np.asarray(start, dtype=float)
        if start_time.ndim == 0:
            start_time = np.full(len(positions), float(start_time))
        elif start_time.shape != (len(positions),):
            raise ScenarioError(
                f"start has {start_time.size} values for {len(positions)} patients; give one "
                "number, or one per patient in the order of `patients`"
            )
        bad = ~np.isfinite(start_time) | (start_time < 0)
        if bad.any():
            raise ScenarioError(
                f"start must be a non-negative number of years, got {start_time[bad][0]!r}"
                + (f" for patient {design.patient_id[positions[np.argmax(bad)]]}"
                   if start_time.size > 1 else "")
            )
    n = design.n_patients
    window_start = np.full(n, np.nan)
    window_start[positions] = start_time
    span = max(horizon, 10.0)
    steps = int(round(horizon / grid_step))
    offsets = np.arange(steps + 1) * grid_step
    output_patient = np.repeat(positions, len(offsets))
    output_time = np.repeat(start_time, len(offsets)) + np.tile(offsets, len(positions))
    marks = np.concatenate(
        [output_time, np.repeat(start_time, 2) + np.tile([5.0, 10.0], len(positions))]
    )
    marks_patient = np.concatenate([output_patient, np.repeat(positions, 2)])

    # Common random numbers for the sampled outcomes.
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
    mace_draw = np.full(n, np.nan)
    mace_draw[positions] = rng.exponential(size=len(positions))
    death_draw = rng.exponential(size=len(positions))
    age_at_start = design.age_at_entry[positions] + start_time
    sampled_death = death_time(age_at_start, design.male[positions], death_draw, params)

    linear_predictor = event_linear_predictor(design, config)
    own_adherence = simulated.history.adherence
    plan_adherence = own_adherence if adherence is None else np.full(n, float(adherence))
    shape = (len(plans), len(positions), len(offsets))
    ldl, burden, incidence = np.empty(shape), np.empty(shape), np.empty(shape)
    risk = np.empty((len(plans), len(positions), 2))
    sampled_mace = np.empty((len(plans), len(positions)))
    for k, (name, plan) in enumerate(plans.items()):
        if isinstance(plan, str):
            trajectories = simulated.trajectories
        else:
            rows = _scenario_rows(
                simulated.history.rows, window_start, checked[name], plan_adherence
            )
            trajectories = Trajectories(simulated.latent_draws.latents, rows, params)
        grid = build_hazard_grid(
            trajectories,
            linear_predictor=linear_predictor,
            male=design.male,
            window_start=window_start,
            window_end=window_start + span,
            step=min(grid_step, config.design.hazard_grid_step),
            extra_times=(marks_patient, marks),
        )
        ldl[k] = np.exp(trajectories.log_ldl(output_patient, output_time)).reshape(shape[1:])
        burden[k] = trajectories.burden(output_patient, output_time).reshape(shape[1:])
        incidence[k] = grid.incidence_at(output_patient, output_time).reshape(shape[1:])
        for j, years in enumerate((5.0, 10.0)):
            risk[k, :, j] = grid.incidence_at(positions, start_time + years)
        sampled_mace[k] = grid.first_passage(mace_draw)[positions] - start_time

    scenario = list(plans)
    patient_ids = list(design.patient_id[positions])
    dims3 = ("scenario", "patient", "time")
    dataset = xr.Dataset(
        {
            "ldl_c": (dims3, ldl, {"units": "mmol/L", "long_name": "true LDL-C"}),
            "burden": (dims3, burden, {"units": "mmol/L-years", "long_name": "true burden B"}),
            "cumulative_incidence": (
                dims3,
                incidence,
                {"long_name": "true cumulative incidence of MACE with competing death"},
            ),
            "risk_5y": (("scenario", "patient"), risk[:, :, 0]),
            "risk_10y": (("scenario", "patient"), risk[:, :, 1]),
            "sampled_mace_time": (
                ("scenario", "patient"),
                sampled_mace,
                {"units": "years after start"},
            ),
            "sampled_death_time": (("patient",), sampled_death, {"units": "years after start"}),
            "start": (("patient",), start_time, {"units": "years since entry"}),
            "age_at_start": (("patient",), age_at_start, {"units": "years"}),
            "plan": (("scenario",), [describe_plan(plans[name]) for name in scenario]),
        },
        coords={"scenario": scenario, "patient": patient_ids, "time": offsets},
        attrs={
            "seed": int(seed),
            "simulation_seed": simulated.seed,
            "horizon": float(horizon),
            "adherence": "own" if adherence is None else float(adherence),
        },
    )
    dataset["time"].attrs["units"] = "years after start"
    return dataset
