"""Statin dose choice: event-risk benefit against statin-associated muscle symptoms.

For each dose on a grid, each posterior draw gives the risk of the endpoint
at the horizon. Muscle symptoms caused by the statin (SAMS) are rare. The
CTT meta-analysis of blinded trials (Lancet 2022) found an excess of 11 (95%
CI 6 to 16) per 1,000 person-years in the first year. The excess was larger
with higher-intensity regimens. The module turns that into a prior on the
first-year excess probability at atorvastatin-equivalent dose D:

    p_sams(D) = 0.011 * m * sqrt(D / 40),   log m ~ Normal(0, 0.25),

so 40 mg matches the published average, 80 mg gives about 1.6% and 10 mg
about 0.6%. The square-root dose shape and the multiplier's spread (which
matches the published interval) are modelling assumptions. The utility of a
dose in each draw is

    U(D) = -risk(D) - sams_weight * p_sams(D),

with `sams_weight` (default 0.2) the number of endpoint events that one
statin-attributable muscle-symptom episode is judged to be worth. The best
dose maximises the posterior mean utility; the probability that it is best is
the share of draws in which it has the highest utility.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayestwin.data.vocabulary import DRUGS
from bayestwin.exceptions import ScenarioError

SAMS_FIRST_YEAR_EXCESS = 0.011
"""Excess SAMS probability in the first year at an average regimen (CTT, Lancet 2022)."""

SAMS_REFERENCE_DOSE = 40.0
"""Atorvastatin-equivalent dose (mg) taken to carry the published average excess."""

SAMS_LOG_SD = 0.25
"""Spread of the log multiplier; 95% of it lies within a factor 1.6, like the 6-16 interval."""


@dataclass
class DoseChoice:
    """Result of a dose choice."""

    statin: str
    doses: list[float]
    expected_utility: list[float]
    risk: list[float]
    sams: list[float]
    best_dose: float
    p_best: float
    sams_weight: float

    @property
    def best_dose_label(self) -> str:
        """Plan text of the best dose, e.g. ``atorvastatin:40``."""
        return f"{self.statin}:{self.best_dose:g}"


def sams_probability(equivalent_dose: np.ndarray, multiplier: np.ndarray) -> np.ndarray:
    """Return the first-year excess SAMS probability for atorvastatin-equivalent doses."""
    return (SAMS_FIRST_YEAR_EXCESS * multiplier[:, None]
            * np.sqrt(np.asarray(equivalent_dose)[None, :] / SAMS_REFERENCE_DOSE))


def choose_dose(risks: np.ndarray, statin: str, doses: list[float], *, seed: int,
                sams_weight: float = 0.2) -> DoseChoice:
    """Pick the statin dose with the highest expected utility.

    Parameters
    ----------
    risks
        Endpoint risk at the horizon per draw and dose, shape (draw, dose).
    statin
        Statin name (catalogue), e.g. ``atorvastatin``.
    doses
        Doses in mg, in the order of `risks`' columns.
    seed
        Seed of the SAMS multiplier draws.
    sams_weight
        Endpoint events one SAMS episode is worth (documented default 0.2).

    """
    if statin not in DRUGS or DRUGS[statin].drug_class != "statin":
        raise ScenarioError(f"{statin!r} is not a statin of the catalogue.")
    if sams_weight < 0:
        raise ScenarioError(f"sams_weight must be non-negative, got {sams_weight}.")
    risks = np.asarray(risks, dtype=float)
    if risks.ndim != 2 or risks.shape[1] != len(doses):
        raise ScenarioError(f"risks must have shape (draws, {len(doses)}), got {risks.shape}.")
    rng = np.random.default_rng(seed)
    multiplier = np.exp(SAMS_LOG_SD * rng.standard_normal(risks.shape[0]))
    equivalent = np.asarray(doses) * DRUGS[statin].atorvastatin_equivalence
    sams = sams_probability(equivalent, multiplier)
    utility = -risks - sams_weight * sams
    expected = utility.mean(axis=0)
    best = int(np.argmax(expected))
    p_best = float(np.mean(np.argmax(utility, axis=1) == best))
    return DoseChoice(statin=statin, doses=[float(d) for d in doses],
                      expected_utility=expected.tolist(), risk=risks.mean(axis=0).tolist(),
                      sams=sams.mean(axis=0).tolist(), best_dose=float(doses[best]),
                      p_best=p_best, sams_weight=sams_weight)
