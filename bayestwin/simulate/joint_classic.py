r"""Simulate cohorts from the classic joint model (``models/joint_classic.toml``).

Patient :math:`i` (female with probability ``p_female``) has a marker whose
transformed value follows a linear mixed model and a hazard that depends on
the marker's current linear predictor:

.. math::

    y_{ij} = m_i(t_{ij}) + \varepsilon_{ij}, \qquad
    m_i(t) = \beta_0 + \beta_\text{sex}\,\text{male}_i + b_{i0}
             + (\beta_t + \beta_{t:\text{sex}}\,\text{male}_i + b_{i1})\,t,

.. math::

    h_i(t) = \exp\big(\gamma_0 + \beta_\text{female}\,\text{female}_i
                      + \alpha\, m_i(t)\big),

with :math:`b_i \sim \mathcal N(0, \Sigma)`, :math:`\varepsilon_{ij} \sim
\mathcal N(0, \sigma_y^2)` and a constant baseline hazard
:math:`e^{\gamma_0}` (which the model's B-spline baseline contains as a
flat curve). The defaults are close to the posterior means of the model on
the Mayo PBC data (log serum bilirubin in mg/dL, time in years). Event
times are drawn by inverting the cumulative hazard, which is exact because
:math:`m_i` is linear in time. Follow-up ends at the event or at an
administrative censoring time uniform on ``censoring`` years. Visits are
yearly with jitter, from entry until the end of follow-up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from bayestwin.data.cohort import Cohort
from bayestwin.inference.seeds import check_seed


@dataclass(frozen=True)
class JointClassicTruth:
    """True parameters of the simulated classic joint model (units: log mg/dL, years)."""

    intercept: float = 0.46
    beta_sex: float = 0.26
    beta_time: float = 0.18
    beta_time_sex: float = 0.09
    sigma_intercept: float = 1.0
    sigma_slope: float = 0.18
    correlation: float = 0.4
    sigma_y: float = 0.35
    log_baseline_hazard: float = -4.0
    beta_female: float = -0.2
    alpha: float = 1.24
    p_female: float = 0.88
    censoring: tuple[float, float] = (2.0, 14.0)
    visit_interval: float = 1.0

    def as_dict(self) -> dict:
        """Return the parameters as a plain dict (for records and benchmark reports)."""
        return asdict(self)


def _event_times(log_rate: np.ndarray, slope: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """Invert H(t) = exp(log_rate) (exp(slope t) - 1) / slope = -log(U); inf when never reached."""
    target = -np.log(uniform) * np.exp(-log_rate)
    flat = np.abs(slope) < 1e-10
    safe = np.where(flat, 1.0, slope)
    argument = 1.0 + target * safe
    with np.errstate(invalid="ignore", divide="ignore"):
        time = np.where(argument > 0, np.log(argument) / safe, np.inf)
    return np.where(flat, target, time)


def simulate_joint_classic(n_patients: int, *, seed: int,
                           truth: JointClassicTruth | None = None) -> Cohort:
    """Draw a cohort of `n_patients` from the classic joint model.

    Parameters
    ----------
    n_patients
        Number of patients (at least 1).
    seed
        Seed of NumPy's generator; the same seed gives the same cohort.
    truth
        True parameters; `JointClassicTruth` defaults when None.

    Returns
    -------
    Cohort
        Patients (``sex``, ``age_at_entry``, ``end_time``), ``bilirubin``
        measurements in mg/dL (the exponential of the simulated log values),
        ``death`` events, no treatments. The cohort's ``source`` names the
        simulator; the true random effects are in ``patients`` columns
        ``true_intercept`` and ``true_slope`` (the full patient coefficients,
        fixed effects included).

    """
    seed = check_seed(seed)
    if not isinstance(n_patients, int) or n_patients < 1:
        raise ValueError(f"n_patients must be a positive integer, got {n_patients!r}")
    truth = truth or JointClassicTruth()
    rng = np.random.default_rng(seed)

    # Patients and their random effects.
    male = (rng.uniform(size=n_patients) >= truth.p_female).astype(float)
    sd = np.array([truth.sigma_intercept, truth.sigma_slope])
    correlation = np.array([[1.0, truth.correlation], [truth.correlation, 1.0]])
    random_effects = rng.multivariate_normal(np.zeros(2), correlation * np.outer(sd, sd),
                                             size=n_patients)
    intercept = truth.intercept + truth.beta_sex * male + random_effects[:, 0]
    slope = truth.beta_time + truth.beta_time_sex * male + random_effects[:, 1]

    # Event and censoring times.
    log_rate = (truth.log_baseline_hazard + truth.beta_female * (1.0 - male)
                + truth.alpha * intercept)
    event_time = _event_times(log_rate, truth.alpha * slope, rng.uniform(size=n_patients))
    censor_time = rng.uniform(*truth.censoring, size=n_patients)
    event = event_time <= censor_time
    end_time = np.where(event, event_time, censor_time)

    # Yearly visits with jitter while under follow-up.
    ids = [f"S{i + 1:05d}" for i in range(n_patients)]
    rows = []
    for i, patient in enumerate(ids):
        n_visits = int(np.floor(end_time[i] / truth.visit_interval)) + 1
        times = np.arange(n_visits) * truth.visit_interval
        times[1:] += rng.uniform(-0.15, 0.15, size=n_visits - 1) * truth.visit_interval
        times = times[times < end_time[i]]
        values = intercept[i] + slope[i] * times + truth.sigma_y * rng.standard_normal(times.size)
        rows.append(pd.DataFrame({"patient_id": patient, "time": times, "marker": "bilirubin",
                                  "value": np.exp(values), "unit": "mg/dL"}))
    measurements = pd.concat(rows, ignore_index=True)

    missing_flag = pd.array([pd.NA] * n_patients, dtype="boolean")
    patients = pd.DataFrame({
        "sex": np.where(male > 0, "M", "F").astype(object),
        "age_at_entry": rng.uniform(30.0, 75.0, size=n_patients),
        "entry_date": np.full(n_patients, np.datetime64("NaT"), dtype="datetime64[ns]"),
        "end_time": end_time,
        "prior_ascvd": missing_flag,
        "smoking": np.full(n_patients, None, dtype=object),
        "diabetes": missing_flag.copy(),
        "hypertension": missing_flag.copy(),
        "true_intercept": intercept,
        "true_slope": slope,
    }, index=pd.Index(ids, name="patient_id"))
    events = pd.DataFrame({"patient_id": np.asarray(ids, dtype=object)[event],
                           "time": end_time[event], "event": "death"})
    treatments = pd.DataFrame({
        "patient_id": pd.Series(dtype=object), "drug": pd.Series(dtype=object),
        "dose_mg": pd.Series(dtype=float), "start": pd.Series(dtype=float),
        "stop": pd.Series(dtype=float),
    })
    return Cohort(patients=patients, measurements=measurements, treatments=treatments,
                  events=events, markers=pd.DataFrame({"marker": ["bilirubin"], "unit": ["mg/dL"]}),
                  source=f"bayestwin.simulate.joint_classic (seed {seed}, {n_patients} patients)")
