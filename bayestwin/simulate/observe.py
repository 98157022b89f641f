"""Observed measurements: lipid panels, Lp(a), blood pressure, imaging, microbiome and diet.

LDL-C, CAC, plaque volume and the microbiome counts follow the generative
model; HDL-C, triglycerides and total cholesterol are realistic companions
that no model block uses (total cholesterol obeys the Friedewald identity
TC = LDL-C + HDL-C + TG / 2.2 in mmol/L at each visit).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit, softmax

from bayestwin.simulate.config import PopulationParameters
from bayestwin.simulate.design import DAYS_PER_YEAR, TIME_DECIMALS, Design
from bayestwin.simulate.latent import Trajectories

UNITS = {
    "ldl_c": "mmol/L",
    "hdl_c": "mmol/L",
    "total_c": "mmol/L",
    "tg": "mmol/L",
    "lpa": "mg/dL",
    "sbp": "mmHg",
    "cac": "AU",
    "plaque_volume": "mm3",
}


def _frame(patient: np.ndarray, time: np.ndarray, marker: str, value: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient": np.asarray(patient, dtype=int),
            "time": np.asarray(time, dtype=float),
            "marker": marker,
            "value": np.asarray(value, dtype=float),
            "unit": UNITS[marker],
        }
    )


def first_visit_after(visits: np.ndarray, end_time: np.ndarray, years: float) -> np.ndarray:
    """Return each patient's first visit at least `years` after entry and before end_time.

    NaN where no visit qualifies.
    """
    eligible = (visits >= years) & (visits < end_time[:, None])
    index = np.argmax(eligible, axis=1)
    found = eligible[np.arange(len(visits)), index]
    return np.where(found, visits[np.arange(len(visits)), index], np.nan)


def lipid_panels(
    design: Design, visit_ldl: np.ndarray, end_time: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """Return LDL-C, HDL-C, triglycerides and total cholesterol at each visit before end_time."""
    n, n_visits = design.visits.shape
    observed = design.visits < end_time[:, None]
    hdl_level = np.log(1.45) - 0.2 * design.male + rng.normal(0.0, 0.2, n)
    tg_level = np.log(1.1) + 0.3 * design.diabetes + rng.normal(0.0, 0.35, n)
    hdl = np.round(np.exp(hdl_level[:, None] + rng.normal(0.0, 0.08, (n, n_visits))), 3)
    tg = np.round(np.exp(tg_level[:, None] + rng.normal(0.0, 0.2, (n, n_visits))), 3)
    total = np.round(visit_ldl + hdl + tg / 2.2, 3)
    patient, visit = np.nonzero(observed)
    time = design.visits[patient, visit]
    return pd.concat(
        [
            _frame(patient, time, "ldl_c", visit_ldl[patient, visit]),
            _frame(patient, time, "hdl_c", hdl[patient, visit]),
            _frame(patient, time, "tg", tg[patient, visit]),
            _frame(patient, time, "total_c", total[patient, visit]),
        ],
        ignore_index=True,
    )


def pretreatment_ldl(
    trajectories: Trajectories,
    first_statin_start: np.ndarray,
    recorded: np.ndarray,
    params: PopulationParameters,
    noise: np.ndarray,
) -> pd.DataFrame:
    """Return the untreated LDL-C recorded the day before the first statin (negative time)."""
    patient = np.flatnonzero(recorded & np.isfinite(first_statin_start))
    time = np.round(first_statin_start[patient] - 1.0 / DAYS_PER_YEAR, TIME_DECIMALS)
    log_ldl = trajectories.log_ldl(patient, time)
    value = np.round(np.exp(log_ldl + params.sigma_lab * noise[patient]), 3)
    return _frame(patient, time, "ldl_c", value)


def coronary_calcium(
    trajectories: Trajectories,
    patient: np.ndarray,
    time: np.ndarray,
    params: PopulationParameters,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Draw CAC (AU) from the hurdle: P(CAC > 0) and log CAC given CAC > 0 depend on log B.

    Positive scores are rounded to 2 decimals and kept at least 0.01 AU, so a
    positive draw never reads as zero.
    """
    log_burden = np.log(trajectories.floored_burden(patient, time))
    positive = rng.random(len(patient)) < expit(params.kappa0 + params.kappa1 * log_burden)
    log_cac = rng.normal(params.lambda0 + params.lambda1 * log_burden, params.sigma_cac)
    cac = np.where(positive, np.maximum(np.round(np.exp(log_cac), 2), 0.01), 0.0)
    return _frame(patient, time, "cac", cac)


def plaque_volume(
    trajectories: Trajectories,
    patient: np.ndarray,
    time: np.ndarray,
    params: PopulationParameters,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Draw CCTA plaque volume (mm3), log-normal around plaque_intercept + plaque_slope log B."""
    log_burden = np.log(trajectories.floored_burden(patient, time))
    log_plaque = rng.normal(
        params.plaque_intercept + params.plaque_slope * log_burden, params.sigma_plaque
    )
    volume = np.maximum(np.round(np.exp(log_plaque), 2), 0.01)
    return _frame(patient, time, "plaque_volume", volume)


def microbiome_log_abundance(
    design: Design, params: PopulationParameters, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw log-abundances eta = mean + loadings z + N(0, diag psi) for sampled patients.

    Returns the sampled patient positions and eta (sample, taxon).
    """
    patient = np.flatnonzero(design.microbiome_sampled)
    mean = np.asarray(params.microbiome_mean)
    loadings = np.asarray(params.microbiome_loadings)
    noise = rng.normal(size=(len(patient), len(mean))) * np.sqrt(np.asarray(params.psi))
    eta = mean + design.z[patient] @ loadings.T + noise
    return patient, eta


def draw_counts(
    eta: np.ndarray, library_median: float, library_log_sd: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return library sizes and multinomial counts (sample, taxon) of softmax(eta).

    Library sizes are log-normal around `library_median`.
    """
    size = np.round(library_median * np.exp(rng.normal(0.0, library_log_sd, len(eta)))).astype(int)
    counts = rng.multinomial(size, softmax(eta, axis=1))
    return size, counts
