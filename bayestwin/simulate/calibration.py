"""Calibration of the simulator: each published figure against its simulated counterpart.

Every statistic is computed in the sub-population the figure was measured
in. Where an exact expectation is available it replaces a random draw, so
the simulated value has less Monte Carlo noise: the share with CAC = 0 is the
mean of 1 - P(CAC > 0) given the true burden at entry, and an event rate is
the summed true MACE cumulative hazard over follow-up (whose expectation is
the number of events) per 1000 person-years. `docs/simulator.md` reproduces
the table that `calibration_table` returns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import norm

from bayestwin.simulate.cohort import SimulatedCohort, event_linear_predictor
from bayestwin.simulate.events import build_hazard_grid
from bayestwin.simulate.latent import lowering_fraction
from bayestwin.simulate.targets import HIGH_INTENSITY, MODERATE_INTENSITY, TARGETS


def _rate(weights: np.ndarray, hazard: np.ndarray, years: np.ndarray) -> float:
    return float(1000.0 * np.sum(weights * hazard) / np.sum(weights * years))


def statin_reduction(simulated: SimulatedCohort, drug: str, dose_mg: float) -> np.ndarray:
    """Return each patient's true LDL-C reduction on `drug` alone, at the patient's adherence."""
    params = simulated.config.population
    truth = simulated.truth_patients
    log_remaining = np.log1p(-lowering_fraction(drug, dose_mg, params))
    change = truth["adherence"].to_numpy() * truth["r_statin"].to_numpy() * log_remaining
    return -np.expm1(change)


def _ctt_ratio(simulated: SimulatedCohort) -> float:
    """Return expected 5-year MACE with LDL-C 1 mmol/L lower from entry over that without."""
    design = simulated.design
    chosen = simulated.truth_patients["ldl_entry"].to_numpy() >= 2.0
    start = np.where(chosen, 0.0, np.nan)
    expected = []
    for shift in (0.0, 1.0):
        grid = build_hazard_grid(
            simulated.trajectories,
            linear_predictor=event_linear_predictor(design, simulated.config),
            male=design.male,
            window_start=start,
            window_end=start + 5.0,
            step=simulated.config.design.hazard_grid_step,
            ldl_shift=shift,
        )
        expected.append(grid.mace.sum())
    return float(expected[1] / expected[0])


def simulated_values(simulated: SimulatedCohort) -> dict[str, float]:
    """Return the simulated counterpart of each target, keyed by `Target.key`."""
    params = simulated.config.population
    design = simulated.design
    truth = simulated.truth_patients
    true_class = truth["variant_class"].to_numpy()
    untreated = truth["ldl_untreated_entry"].to_numpy()
    values: dict[str, float] = {}

    # Untreated LDL-C and genetics.
    null, defective = true_class == "ldlr_null", true_class == "ldlr_defective"
    values["ldl_null"] = untreated[null].mean()
    values["ldl_defective"] = untreated[defective].mean()
    values["ldl_sd"] = 0.5 * (untreated[null].std() + untreated[defective].std())
    index = design.is_index
    monogenic = np.isin(true_class, ["ldlr_null", "ldlr_defective", "apob", "pcsk9"])
    values["variant_found"] = monogenic[index].mean()
    carriers = true_class[index & monogenic]
    values["ldlr_share"] = np.isin(carriers, ["ldlr_null", "ldlr_defective"]).mean()
    values["apob_share"] = (carriers == "apob").mean()
    values["lpa_median"] = np.median(design.lpa)
    values["lpa_above_50"] = (design.lpa > 50.0).mean()
    values["lpa_above_30"] = (design.lpa > 30.0).mean()
    z_part = design.z @ np.array(list(params.beta_z.values()))
    values["microbiome_share"] = np.var(z_part) / np.var(np.log(untreated))

    # Drug effects.
    values["atorvastatin_10"] = lowering_fraction("atorvastatin", 10.0, params)
    values["high_intensity_min"] = min(lowering_fraction(d, x, params) for d, x in HIGH_INTENSITY)
    moderate = [lowering_fraction(d, x, params) for d, x in MODERATE_INTENSITY]
    values["moderate_min"], values["moderate_max"] = min(moderate), max(moderate)
    r_other = truth["r_nonstatin"].to_numpy()
    values["ezetimibe"] = np.mean(-np.expm1(r_other * np.log1p(-params.effect_ezetimibe)))
    values["pcsk9"] = np.mean(-np.expm1(r_other * np.log1p(-params.effect_pcsk9_antibody)))
    reduction = statin_reduction(simulated, "rosuvastatin", 20.0)
    values["jupiter_50"] = (reduction >= 0.5).mean()
    values["jupiter_none"] = (reduction < 0.1).mean()

    # CAC at entry, from P(CAC > 0 | B) and the log-normal given CAC > 0.
    age = design.age_at_entry
    everyone = np.arange(len(age))
    log_burden = np.log(simulated.trajectories.floored_burden(everyone, np.zeros(len(age))))
    positive = expit(params.kappa0 + params.kappa1 * log_burden)
    below_100 = norm.cdf(
        (np.log(100.0) - params.lambda0 - params.lambda1 * log_burden) / params.sigma_cac
    )
    younger = (~design.prior_ascvd) & (age >= 36.0) & (age <= 56.0)
    values["cac0_46"] = 1.0 - positive[younger].mean()
    older = ((age >= 44.0) & (age <= 64.0)).astype(float)
    groups = {
        "cac0": 1.0 - positive,
        "cac_low": positive * below_100,
        "cac_high": positive * (1.0 - below_100),
    }
    for name, weight in groups.items():
        values[f"{name}_54"] = np.sum(weight * older) / np.sum(older)

    # Event rates from the true cumulative hazard over each patient's follow-up.
    hazard = truth["mace_cumulative_hazard"].to_numpy()
    years = simulated.cohort.patients["end_time"].to_numpy()
    for name, weight in groups.items():
        values[f"rate_{name}"] = _rate(weight * older, hazard, years)
    values["ratio_cac"] = values["rate_cac_high"] / values["rate_cac0"]
    values["rate_treated"] = _rate(np.ones(len(years)), hazard, years)
    values["ctt"] = _ctt_ratio(simulated)
    values["ratio_null"] = _rate(null, hazard, years) / _rate(defective, hazard, years)
    values["ratio_monogenic"] = _rate(index & monogenic, hazard, years) / _rate(
        index & ~monogenic, hazard, years
    )
    return {key: float(value) for key, value in values.items()}


def calibration_table(simulated: SimulatedCohort) -> pd.DataFrame:
    """Return one row per target with the published value, the simulated value and the range.

    The boolean ``within`` column is true where the simulated value lies in [low, high].
    """
    values = simulated_values(simulated)
    rows = []
    for target in TARGETS:
        value = values[target.key]
        rows.append(
            {
                "key": target.key,
                "target": target.name,
                "source": target.source,
                "subpopulation": target.subpopulation,
                "published": target.published,
                "simulated": value,
                "low": target.low,
                "high": target.high,
                "unit": target.unit,
                "reason": target.reason,
                "within": target.low <= value <= target.high,
            }
        )
    return pd.DataFrame(rows)


def markdown_table(table: pd.DataFrame) -> str:
    """Format a calibration table as Markdown."""
    lines = [
        "| target | source | sub-population | published | simulated | accepted | why |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in table.itertuples(index=False):
        unit = f" {row.unit}" if row.unit else ""
        mark = "" if row.within else " (outside)"
        lines.append(
            f"| {row.target} | {row.source} | {row.subpopulation} | {row.published:.3g}{unit} "
            f"| {row.simulated:.3g}{mark} | {row.low:.3g} to {row.high:.3g} | {row.reason} |"
        )
    return "\n".join(lines) + "\n"
