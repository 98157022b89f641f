"""End-to-end steps shared by the command line and notebooks: fit files with their cohort."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

from bayestwin.data import read_cohort
from bayestwin.data.cohort import Cohort
from bayestwin.exceptions import BayestwinError, DataWarning
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
                      max_draws: int | None = 1000) -> tuple[dict, np.ndarray]:
    """Condition a patient outside the fit on the population posterior.

    Returns the patient's draws (each of shape (D, 1)) and the indices of the
    population draws they go with.
    """
    from bayestwin.twin.conditioning import condition_new_patients
    from bayestwin.twin.landmark import subset_cohort

    if patient_id not in new.patients.index:
        raise BayestwinError(f"patient {patient_id!r} not found in the new-patient cohort "
                             f"({', '.join(map(str, new.patients.index[:5]))}).")
    single = subset_cohort(new, [patient_id])
    result = condition_new_patients(fit, single, seed=seed, max_draws=max_draws)
    names = ("u", "v", "r_statin", "r_nonstatin", "log_s")
    draws = {name: np.asarray(result.draws[name]).reshape(-1, 1)
             for name in names if name in result.draws}
    return draws, np.asarray(result.draw_index)
