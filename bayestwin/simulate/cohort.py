"""Simulate an FH cohort with known ground truth: `simulate_cohort` and `SimulatedCohort`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayestwin.data.cohort import Cohort
from bayestwin.simulate.config import EVENT_COVARIATES, SimulatorConfig
from bayestwin.simulate.design import TIME_DECIMALS, Design, draw_design
from bayestwin.simulate.events import HazardGrid, build_hazard_grid, death_time
from bayestwin.simulate.latent import LatentDraws, Trajectories, draw_latents
from bayestwin.simulate.observe import (
    coronary_calcium,
    draw_counts,
    first_visit_after,
    lipid_panels,
    microbiome_log_abundance,
    plaque_volume,
    pretreatment_ldl,
)
from bayestwin.simulate.treatment import TreatmentHistory, simulate_treatments
from bayestwin.simulate.truth import population_truth, truth_to_json

# Each component draws from its own stream, SeedSequence(seed, spawn_key=(i,)),
# so adding a component at the end of this tuple changes no other stream.
RANDOM_COMPONENTS: tuple[str, ...] = (
    "families",
    "baseline",
    "genotyping",
    "sampling",
    "follow_up",
    "latent",
    "treatment",
    "visit_noise",
    "events",
    "lipids",
    "pretreatment",
    "cac",
    "plaque",
    "microbiome",
    "diet",
    "event_codes",
)
RISK_HORIZONS: tuple[float, ...] = (5.0, 10.0)
FLOAT_FORMAT = "%.10g"
PATIENT_FILE_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "sex",
    "age_at_entry",
    "end_time",
    "prior_ascvd",
    "smoking",
    "diabetes",
    "hypertension",
    "centre",
    "family_id",
)
"""Columns of the written ``patients.csv``, in order."""


def component_generators(seed: int) -> dict[str, np.random.Generator]:
    """Return one independent generator per simulation component for `seed`."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    return {
        name: np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(i,)))
        for i, name in enumerate(RANDOM_COMPONENTS)
    }


@dataclass
class SimulatedCohort:
    """A simulated cohort with its ground truth.

    Attributes
    ----------
    cohort
        The observed data in canonical form (`bayestwin.data.cohort.Cohort`).
    truth_population
        True population parameters by NumPyro site name (floats or labelled
        `xarray.DataArray`).
    truth_patients
        One row per patient (index ``patient_id``) with the latent values,
        the true variant class, true LDL-C and burden at entry and end, and
        true MACE probabilities from entry under the simulated plan.
    config, seed
        What produced the cohort.
    design, latent_draws, history, trajectories
        Internal state kept for `simulate_counterfactual`. `history.rows`
        continues past each patient's end of follow-up (to the censoring
        time), as the treatment would have gone without an event.

    """

    cohort: Cohort
    truth_population: dict[str, Any]
    truth_patients: pd.DataFrame
    config: SimulatorConfig
    seed: int
    design: Design
    latent_draws: LatentDraws
    history: TreatmentHistory
    trajectories: Trajectories

    def write(self, folder: str | Path) -> Path:
        """Write the cohort tables and `truth/` into `folder` and return its path.

        Files: ``patients.csv``, ``measurements.csv``, ``treatments.csv``,
        ``events.csv``, ``genomics.csv``, ``microbiome.csv``, ``diet.csv``,
        ``truth/population.json`` and ``truth/patients.csv``. They follow the
        cohort folder format: numeric times in years since entry, one unit per
        measurement row, booleans as 0/1 and empty cells for missing values.
        Rows are sorted and floats printed as ``%.10g``, so one seed gives the
        same bytes. Existing files of these names are overwritten; other files
        in the folder are left alone.
        """
        folder = Path(folder)
        (folder / "truth").mkdir(parents=True, exist_ok=True)
        cohort = self.cohort

        patients = cohort.patients.reset_index()
        _to_csv(patients.loc[:, list(PATIENT_FILE_COLUMNS)], folder / "patients.csv")
        _to_csv(cohort.measurements, folder / "measurements.csv")
        _to_csv(cohort.treatments, folder / "treatments.csv")
        _to_csv(cohort.events, folder / "events.csv")
        if cohort.genomics is not None:
            _to_csv(cohort.genomics.reset_index(), folder / "genomics.csv")
        if cohort.microbiome is not None:
            _to_csv(cohort.microbiome, folder / "microbiome.csv")
        if cohort.diet is not None:
            _to_csv(cohort.diet, folder / "diet.csv")

        (folder / "truth" / "population.json").write_text(
            truth_to_json(self.truth_population), encoding="utf-8"
        )
        _to_csv(self.truth_patients.reset_index(), folder / "truth" / "patients.csv")
        return folder


def _to_csv(frame: pd.DataFrame, path: Path) -> None:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == bool:
            out[column] = out[column].astype(int)
    out.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def event_linear_predictor(design: Design, config: SimulatorConfig) -> np.ndarray:
    """Return x_i beta of the MACE hazard for every patient."""
    columns = {"male": design.male, "prior_ascvd": design.prior_ascvd.astype(float)}
    beta = config.population.beta_event
    return sum(beta[name] * columns[name] for name in EVENT_COVARIATES)


def simulate_cohort(
    n_patients: int, *, seed: int, config: SimulatorConfig | None = None
) -> SimulatedCohort:
    """Simulate an FH cohort from the bayestwin generative model.

    Parameters
    ----------
    n_patients
        Number of patients (at least 1).
    seed
        Seed of all randomness; the same seed and config give the same cohort
        and byte-identical written files.
    config
        Population parameters and design; the calibrated defaults when None.

    Returns
    -------
    SimulatedCohort
        The observed cohort, the population and patient truth, and the state
        needed for counterfactuals.

    """
    if isinstance(n_patients, bool) or not isinstance(n_patients, int | np.integer):
        raise TypeError(f"n_patients must be an int, got {type(n_patients).__name__}")
    if n_patients < 1:
        raise ValueError(f"n_patients must be at least 1, got {n_patients}")
    config = SimulatorConfig() if config is None else config
    params, settings = config.population, config.design
    rngs = component_generators(seed)

    # Design, latent values and treatment histories up to censoring.
    design = draw_design(int(n_patients), settings, rngs)
    draws = draw_latents(design, params, rngs["latent"])
    visit_noise = rngs["visit_noise"].standard_t(params.nu, size=design.visits.shape)
    history = simulate_treatments(
        design, draws.latents, params, settings, rng=rngs["treatment"], visit_noise=visit_noise
    )
    trajectories = Trajectories(draws.latents, history.rows, params)

    # Events: invert the MACE cumulative hazard; Gompertz death in closed form.
    n = design.n_patients
    everyone = np.arange(n)
    linear_predictor = event_linear_predictor(design, config)
    window_end = np.maximum(design.censor_time, max(RISK_HORIZONS))
    horizon_patient = np.repeat(everyone, len(RISK_HORIZONS))
    horizon_time = np.tile(np.array(RISK_HORIZONS), n)
    grid = build_hazard_grid(
        trajectories,
        linear_predictor=linear_predictor,
        male=design.male,
        window_start=np.zeros(n),
        window_end=window_end,
        step=settings.hazard_grid_step,
        extra_times=(horizon_patient, horizon_time),
    )
    event_rng = rngs["events"]
    mace_time = grid.first_passage(event_rng.exponential(size=n))
    death = death_time(design.age_at_entry, design.male, event_rng.exponential(size=n), params)
    first = np.minimum(np.minimum(mace_time, death), design.censor_time)
    end_time = np.maximum(np.round(first, TIME_DECIMALS), 10.0**-TIME_DECIMALS)
    event = np.where(mace_time <= first, "mace", np.where(death <= first, "death_other", ""))

    cohort = _observed_cohort(design, draws, history, trajectories, end_time, event, rngs, config)
    truth_patients = _patient_truth(
        design, draws, history, trajectories, grid, end_time, mace_time, death, config
    )
    return SimulatedCohort(
        cohort=cohort,
        truth_population=population_truth(config, draws.centre_effect),
        truth_patients=truth_patients,
        config=config,
        seed=int(seed),
        design=design,
        latent_draws=draws,
        history=history,
        trajectories=trajectories,
    )


def _observed_cohort(design, draws, history, trajectories, end_time, event, rngs, config) -> Cohort:
    params, settings = config.population, config.design
    n = design.n_patients
    ids = design.patient_id

    # Patients.
    patients = pd.DataFrame(
        {
            "patient_id": ids,
            "sex": np.where(design.male == 1.0, "M", "F"),
            "age_at_entry": design.age_at_entry,
            "entry_date": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]"),
            "end_time": end_time,
            "prior_ascvd": design.prior_ascvd,
            "smoking": design.smoking,
            "diabetes": design.diabetes,
            "hypertension": design.hypertension,
            "centre": design.centre,
            "family_id": design.family_id,
        }
    ).set_index("patient_id")

    # Measurements: lipids at visits, untreated LDL-C before entry, Lp(a),
    # blood pressure and imaging at entry, repeat imaging at a later visit.
    pretreatment_rng = rngs["pretreatment"]
    recorded = pretreatment_rng.random(n) < settings.pretreatment_ldl_recorded
    pre_noise = pretreatment_rng.standard_t(params.nu, size=n)
    entry = np.zeros(n)
    cac_repeat_time = first_visit_after(design.visits, end_time, 3.0)
    plaque_repeat_time = first_visit_after(design.visits, end_time, 2.0)
    cac_patient, cac_time = _schedule(design.cac_at_entry, design.cac_repeat, cac_repeat_time)
    plaque_patient, plaque_time = _schedule(
        design.plaque_at_entry, design.plaque_repeat, plaque_repeat_time
    )
    frames = [
        lipid_panels(design, history.visit_ldl, end_time, rngs["lipids"]),
        pretreatment_ldl(trajectories, history.first_statin_start, recorded, params, pre_noise),
        pd.DataFrame(
            {
                "patient": np.arange(n),
                "time": entry,
                "marker": "lpa",
                "value": design.lpa,
                "unit": "mg/dL",
            }
        ),
        pd.DataFrame(
            {
                "patient": np.arange(n),
                "time": entry,
                "marker": "sbp",
                "value": design.sbp,
                "unit": "mmHg",
            }
        ),
        coronary_calcium(trajectories, cac_patient, cac_time, params, rngs["cac"]),
        plaque_volume(trajectories, plaque_patient, plaque_time, params, rngs["plaque"]),
    ]
    measurements = pd.concat(frames, ignore_index=True)
    measurements = _with_ids(measurements, ids).sort_values(
        ["patient_id", "time", "marker"], kind="mergesort", ignore_index=True
    )

    # Treatments seen during follow-up; a period still running at the end is ongoing.
    rows = history.rows
    seen = rows["start"].to_numpy() < end_time[rows["patient"].to_numpy()]
    treatments = _with_ids(rows.loc[seen].copy(), ids)
    ongoing = treatments["stop"].to_numpy() >= end_time[rows.loc[seen, "patient"].to_numpy()]
    treatments["stop"] = np.where(ongoing, np.nan, treatments["stop"])
    treatments = treatments.loc[:, ["patient_id", "drug", "dose_mg", "start", "stop", "adherence"]]
    treatments = treatments.sort_values(
        ["patient_id", "start", "drug"], kind="mergesort", ignore_index=True
    )

    # Events: the first MACE (with a code) or non-cardiovascular death.
    codes = list(settings.mace_codes)
    code = rngs["event_codes"].choice(codes, size=n, p=[settings.mace_codes[c] for c in codes])
    has_event = event != ""
    events = pd.DataFrame(
        {
            "patient_id": ids[has_event],
            "time": end_time[has_event],
            "event": np.where(event == "mace", code, event)[has_event],
        }
    ).reset_index(drop=True)

    # Genomics, microbiome and diet.
    tested = design.observed_class != "not_tested"
    genomics = pd.DataFrame(
        {
            "patient_id": ids,
            "variant_class": design.observed_class,
            "prs": np.where(tested, design.prs, np.nan),
        }
    ).set_index("patient_id")
    sampled, eta = microbiome_log_abundance(design, params, rngs["microbiome"])
    _, counts = draw_counts(
        eta, settings.library_size_median, settings.library_size_log_sd, rngs["microbiome"]
    )
    taxa = np.asarray(params.taxa, dtype=object)
    microbiome = pd.DataFrame(
        {
            "patient_id": np.repeat(ids[sampled], len(taxa)),
            "time": 0.0,
            "taxon": np.tile(taxa, len(sampled)),
            "count": counts.reshape(-1).astype(np.int64),
        }
    ).sort_values(["patient_id", "time", "taxon"], kind="mergesort", ignore_index=True)
    diet_rng = rngs["diet"]
    saturated = np.clip(11.5 - 2.0 * design.diet_score + diet_rng.normal(0.0, 1.5, n), 4.0, 25.0)
    recorded_diet = design.diet_recorded
    diet = pd.DataFrame(
        {
            "patient_id": ids[recorded_diet],
            "time": 0.0,
            "diet_score": design.diet_score[recorded_diet],
            "saturated_fat_pct": np.round(saturated, 1)[recorded_diet],
        }
    )
    return Cohort(
        patients=patients,
        measurements=measurements,
        treatments=treatments,
        events=events,
        genomics=genomics,
        microbiome=microbiome,
        diet=diet,
        source="bayestwin.simulate",
    )


def _schedule(at_entry: np.ndarray, repeat: np.ndarray, repeat_time: np.ndarray):
    """Return (patient, time) of entry scans and of repeats that fall before the end."""
    first = np.flatnonzero(at_entry)
    again = np.flatnonzero(repeat & np.isfinite(repeat_time))
    patient = np.concatenate([first, again])
    time = np.concatenate([np.zeros(len(first)), repeat_time[again]])
    return patient, time


def _with_ids(frame: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    frame = frame.copy()
    frame.insert(0, "patient_id", ids[frame["patient"].to_numpy(int)])
    return frame.drop(columns="patient")


def _patient_truth(
    design, draws, history, trajectories, grid: HazardGrid, end_time, mace_time, death, config
) -> pd.DataFrame:
    n = design.n_patients
    everyone = np.arange(n)
    latents = draws.latents
    entry = np.zeros(n)
    truth = pd.DataFrame(
        {
            "patient_id": design.patient_id,
            "variant_class": design.variant_class,
            "is_index": design.is_index,
            "prs": design.prs,
            "diet_score": design.diet_score,
            "z1": design.z[:, 0],
            "z2": design.z[:, 1],
            "centre_effect": draws.centre_effect[
                [list(design.centre_names).index(c) for c in design.centre]
            ],
            "family_effect": draws.family_effect,
            "u": latents.u,
            "v": latents.v,
            "r_statin": latents.responsiveness[:, 0],
            "r_nonstatin": latents.responsiveness[:, 1],
            "s": np.exp(latents.log_s),
            "adherence": history.adherence,
            "ldl_untreated_entry": np.exp(trajectories.untreated_log_ldl(everyone, entry)),
            "ldl_entry": np.exp(trajectories.log_ldl(everyone, entry)),
            "ldl_end": np.exp(trajectories.log_ldl(everyone, end_time)),
            "burden_entry": trajectories.burden(everyone, entry),
            "burden_end": trajectories.burden(everyone, end_time),
            "mace_cumulative_hazard": grid.mace_cumulative_at(everyone, end_time),
            "mace_time_latent": mace_time,
            "death_time_latent": death,
            "censor_time": design.censor_time,
        }
    )
    for horizon in RISK_HORIZONS:
        truth[f"risk_{horizon:g}y"] = grid.incidence_at(everyone, np.full(n, horizon))
    return truth.set_index("patient_id")
