"""Synthetic twins, cohorts and gate results for the report tests.

Nothing here fits a model. The twin's draws are made up with a fixed seed to
look like a real FH patient's: LDL-C falls under treatment, the burden grows
with LDL-C above 1 mmol/L, and the 10-year MACE risk is near 13 %.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayestwin.data.cohort import Cohort
from bayestwin.inference.gate import GateGroup, GateResult, GateThresholds
from bayestwin.twin.api import Twin
from bayestwin.twin.effects import goal_summary, risk_table

MACE = ["mi", "stroke", "cv_death", "revascularisation", "unstable_angina"]
SCENARIOS = ["current", "atorvastatin:80", "atorvastatin:80+ezetimibe:10",
             "rosuvastatin:40+ezetimibe:10+evolocumab:140"]
# Fraction of the current LDL-C left under each scenario once it takes effect.
REMAINING = [1.0, 0.82, 0.64, 0.3, 0.5]


def make_cohort() -> Cohort:
    patients = pd.DataFrame({
        "sex": ["F"], "age_at_entry": [41.3], "entry_date": [pd.NaT], "end_time": [6.0],
        "prior_ascvd": [False], "smoking": ["former"], "diabetes": [False],
        "hypertension": [True],
    }, index=pd.Index(["P0042"], name="patient_id"))
    measurements = pd.DataFrame({
        "patient_id": "P0042",
        "time": [0.0, 2.0, 4.0, 5.8, 1.0, 5.5, 6.0],
        "marker": ["ldl_c", "ldl_c", "ldl_c", "ldl_c", "lpa", "cac", "sbp"],
        "value": [6.1, 3.9, 3.6, 3.42, 62.0, 1234.0, 138.0],
        "unit": ["mmol/L", "mmol/L", "mmol/L", "mmol/L", "mg/dL", "AU", "mmHg"],
    })
    treatments = pd.DataFrame({
        "patient_id": ["P0042", "P0042"], "drug": ["simvastatin", "atorvastatin"],
        "dose_mg": [20.0, 40.0], "start": [0.5, 2.5], "stop": [2.5, np.nan],
    })
    events = pd.DataFrame({"patient_id": pd.Series(dtype=str), "time": pd.Series(dtype=float),
                           "event": pd.Series(dtype=str)})
    genomics = pd.DataFrame({"variant_class": ["ldlr_defective"], "prs": [0.4]},
                            index=pd.Index(["P0042"], name="patient_id"))
    return Cohort(patients=patients, measurements=measurements, treatments=treatments,
                  events=events, genomics=genomics)


def make_twin(*, seed: int = 20240611, draws: int = 400, horizon: float = 10.0,
              scenarios: list[str] | None = None, converged: bool = True) -> Twin:
    scenarios = scenarios or SCENARIOS
    rng = np.random.default_rng(seed)
    times = np.round(np.arange(0.0, horizon + 1 / 24, 1 / 12), 10)
    current = 3.42 * rng.lognormal(0.0, 0.08, draws)
    response = rng.lognormal(0.0, 0.12, draws)
    frailty = rng.lognormal(0.0, 0.35, draws)
    ldl, burden, incidence, cac, positive = [], [], [], [], []
    for remaining in REMAINING[:len(scenarios)]:
        target = current * np.minimum(remaining * response, 1.0 - 0.02 * remaining)
        onset = np.exp(-times / 0.12)[:, None]
        level = (target + (current - target) * onset) * (1 + 0.004 * times[:, None])
        ldl.append(level)
        load = 48.0 + np.cumsum(np.maximum(level - 1.0, 0.0), axis=0) / 12.0
        burden.append(load)
        hazard = 0.011 * frailty * np.exp(0.02 * (load - 48.0))
        incidence.append(1.0 - np.exp(-np.cumsum(hazard, axis=0) / 12.0))
        p_positive = 1.0 / (1.0 + np.exp(-(load - 40.0) / 8.0))
        positive.append(p_positive)
        amount = np.exp(rng.normal(np.log(1234.0) + 0.01 * (load - 48.0), 0.4))
        cac.append(np.where(rng.uniform(size=load.shape) < p_positive, amount, 0.0))
    data = {name: (("scenario", "time", "draw"), np.stack(values)) for name, values in
            [("ldl", ldl), ("burden", burden), ("cac", cac), ("p_cac_positive", positive),
             ("cumulative_incidence", incidence)]}
    trajectories = xr.Dataset(data, coords={"scenario": scenarios, "time": times,
                                            "draw": np.arange(draws)})
    trajectories.attrs.update({"patient_id": "P0042", "start_years_since_entry": 6.0027})
    horizons = tuple(h for h in (5.0, 10.0) if h <= horizon)
    risks = risk_table(trajectories["cumulative_incidence"].values, scenarios, times, horizons)
    untreated = 6.1 * rng.lognormal(0.0, 0.05, draws)
    goals = pd.DataFrame([{"scenario": label, **goal_summary(
        trajectories["ldl"].sel(scenario=label).values, untreated, times, "very_high")}
        for label in scenarios])
    info = {"start": 6.0027, "category": "very_high", "endpoint": list(MACE),
            "competing": ["death_other"], "converged": converged}
    return Twin(patient_id="P0042", trajectories=trajectories, risks=risks, goals=goals,
                info=info)


def make_gate(*, passed: bool = True) -> GateResult:
    thresholds = GateThresholds()
    rhat = 1.004 if passed else 1.087
    groups = [
        GateGroup("population", ["statin_emax", "statin_ed50"], rhat, 1480.0, 1210.0,
                  "statin_ed50", "statin_emax"),
        GateGroup("patients", ["u", "v"], 1.006, 905.0 if passed else 61.0, 842.0,
                  "u[P0042]", "v[P0042]"),
    ]
    failures = [] if passed else ["R-hat 1.0870 at statin_ed50 (population)",
                                  "ESS bulk 61 / tail 842 at v[P0042] (patients)"]
    return GateResult(passed=passed, thresholds=thresholds, groups=groups,
                      divergences=0 if passed else 3, bfmi_min=0.81, failures=failures)


MODEL = {"model_name": "fh_twin.toml",
         "model_sha256": "9f2c4e1d7b3a60f58e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a09",
         "data_date": "2025-03-01"}


@pytest.fixture(scope="session")
def cohort() -> Cohort:
    return make_cohort()


@pytest.fixture(scope="session")
def twin() -> Twin:
    return make_twin()


@pytest.fixture(scope="session")
def gate() -> GateResult:
    return make_gate()


@pytest.fixture(scope="session")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    return path


@pytest.fixture(scope="session")
def poppler() -> None:
    if shutil.which("pdfinfo") is None or shutil.which("pdftoppm") is None:
        pytest.skip("pdfinfo and pdftoppm are not installed (Debian: apt-get install "
                    "poppler-utils)")


@pytest.fixture(scope="session")
def twin_factory():
    return make_twin


@pytest.fixture(scope="session")
def gate_factory():
    return make_gate


@pytest.fixture(scope="session")
def model_info() -> dict:
    return dict(MODEL)
