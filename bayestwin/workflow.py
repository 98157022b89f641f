"""End-to-end steps shared by the command line and notebooks: fit files with their cohort."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

from bayestwin.data import read_cohort
from bayestwin.data.cohort import Cohort
from bayestwin.exceptions import BayestwinError, ConvergenceWarning, DataWarning
from bayestwin.inference import Fit, load_fit
from bayestwin.inference.provenance import cohort_hash

logger = logging.getLogger(__name__)

DEFAULT_SCENARIOS = (
    "current", "atorvastatin:80", "atorvastatin:80+ezetimibe:10",
    "atorvastatin:80+ezetimibe:10+evolocumab:140",
)
"""Plans a report compares when the user names none: the usual escalation steps in FH."""


def load_fit_with_cohort(path: str | Path, *, cohort: str | Path | None = None,
                         dayfirst: bool | None = None) -> tuple[Fit, Cohort]:
    """Load a fit and re-read the cohort it was fitted to, checking the data hash.

    Parameters
    ----------
    path
        The fit file.
    cohort
        The cohort folder; defaults to the path recorded in the fit.
    dayfirst
        Read dates as day-first (`bayestwin.data.read_cohort`).

    Raises
    ------
    BayestwinError
        The fit records no cohort path and none was given, or the cohort's
        data no longer match the fit's data hash.

    """
    fit = load_fit(path)
    folder = cohort or fit.idata.attrs.get("cohort_path") or None
    if not folder:
        raise BayestwinError(f"{path} does not record its cohort folder; pass --cohort DIR "
                             f"(the folder the model was fitted to).")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        data = read_cohort(folder, dayfirst=dayfirst)
    expected = fit.idata.attrs.get("data_sha256", "")
    if expected and cohort_hash(data) != expected:
        raise BayestwinError(f"the cohort in {folder} differs from the data {path} was fitted "
                             f"to (data hash mismatch). Pass the original folder with --cohort, "
                             f"or refit.")
    fit.cohort = data
    return fit, data


def new_patient_draws(fit: Fit, new: Cohort, patient_id: str, *, seed: int,
                      max_draws: int | None = 1000,
                      update_population: bool = False) -> tuple[dict, np.ndarray]:
    """Condition a patient outside the fit on the population posterior.

    Returns the patient's draws (each of shape (D, 1)) and the indices of the
    population draws they go with. With `update_population`, the pairs are
    resampled (systematic resampling) with weights proportional to the
    patient's likelihood under each population draw
    (`bayestwin.twin.conditioning.population_update`), so that the patient's
    data also update the population posterior, as a refit that adds the
    patient would. It warns (`ConvergenceWarning`) when the weights are too
    uneven to trust (Pareto k above `pareto_k_limit`); refit the cohort then.
    """
    from bayestwin.twin.conditioning import (
        condition_new_patients,
        pareto_k_limit,
        population_update,
    )
    from bayestwin.twin.landmark import subset_cohort

    if patient_id not in new.patients.index:
        raise BayestwinError(f"patient {patient_id!r} not found in the new-patient cohort "
                             f"({', '.join(map(str, new.patients.index[:5]))}).")
    single = subset_cohort(new, [patient_id])
    result = condition_new_patients(fit, single, seed=seed, max_draws=max_draws)
    names = ("u", "v", "r_statin", "r_nonstatin", "log_s")
    draws = {name: np.asarray(result.draws[name]).reshape(-1, 1)
             for name in names if name in result.draws}
    rows = np.arange(len(result.draw_index))
    if update_population:
        weights, pareto_k = population_update(result)
        logger.info("population update by patient %s: Pareto k %.2f", patient_id, pareto_k)
        limit = pareto_k_limit(len(weights))
        if pareto_k > limit:
            warnings.warn(f"the weights that add patient {patient_id} to the fit are too uneven "
                          f"to trust (Pareto k {pareto_k:.2f} > {limit:.2f}); refit the cohort "
                          "with this patient instead.", ConvergenceWarning, stacklevel=2)
        rows = systematic_resample(weights, np.random.default_rng(seed))
    return ({name: values[rows] for name, values in draws.items()},
            np.asarray(result.draw_index)[rows])


def systematic_resample(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return as many indices as `weights`, drawn by systematic resampling (sorted)."""
    count = len(weights)
    positions = (rng.uniform() + np.arange(count)) / count
    cumulative = np.cumsum(weights)
    cumulative[-1] = 1.0
    return np.searchsorted(cumulative, positions)
