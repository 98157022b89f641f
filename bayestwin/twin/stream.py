"""Risk summaries for many new patients, streamed batch by batch.

Each batch of patients is conditioned on the population posterior, predicted
under every scenario, reduced to a summary table, and dropped, so memory
stays flat whatever the number of patients.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from bayestwin.data.cohort import Cohort
from bayestwin.inference.fit import Fit
from bayestwin.twin.api import make_twin
from bayestwin.workflow import new_patient_draws


def stream_risk_summaries(fit: Fit, cohort: Cohort, scenarios: list[str], *,
                          batch_size: int = 250, horizons: tuple[float, ...] = (5.0, 10.0),
                          max_draws: int | None = 1000, seed: int) -> Iterator[pd.DataFrame]:
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
        Patients per yielded table.
    seed
        Root seed; patient k uses ``seed + k``.
    """
    ids = [str(p) for p in cohort.patients.index]
    horizon = max(horizons)
    for first in range(0, len(ids), batch_size):
        tables = []
        for offset, patient in enumerate(ids[first:first + batch_size]):
            number = first + offset
            draws, select = new_patient_draws(fit, cohort, patient, seed=seed + number,
                                              max_draws=max_draws)
            twin = make_twin(fit, cohort, patient, scenarios, seed=seed + number,
                             horizon=horizon, horizons=horizons, draws=draws, select=select)
            tables.append(twin.risks.assign(patient_id=patient))
        yield pd.concat(tables, ignore_index=True)
