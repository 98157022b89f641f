"""Treatment-effect summaries: risks, absolute risk reduction, benefit, NNT.

The NNT follows Altman (BMJ 1998;317:1309): NNT = 1 / ARR, reported as a
number needed to treat for one to benefit (NNTB) when the ARR is positive
and to harm (NNTH) when it is negative. When the credible interval of the
ARR contains zero, the NNT interval runs from NNTB through infinity to NNTH.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class NNT:
    """A number needed to treat with its credible interval, Altman's convention."""

    median: float
    lower_arr: float
    upper_arr: float

    @property
    def kind(self) -> str:
        """``benefit`` (NNTB) when the median ARR is positive, ``harm`` (NNTH) otherwise."""
        return "benefit" if self.median > 0 else "harm"

    def text(self, *, language: str = "en") -> str:
        """Format as ``NNTB 12 (8 to 25)`` or ``NNTB 40 (NNTB 12 to inf to NNTH 50)``."""
        benefit, harm = ("NNTB", "NNTH") if language == "en" else ("NST", "NNN")
        infinity = "∞"

        def number(arr: float) -> str:
            return f"{abs(1.0 / arr):.0f}" if arr != 0 else infinity

        label = benefit if self.median > 0 else harm
        centre = number(self.median)
        if self.lower_arr > 0 or self.upper_arr < 0:
            low, high = sorted([abs(1.0 / self.lower_arr), abs(1.0 / self.upper_arr)])
            word = " to " if language == "en" else " à "
            return f"{label} {centre} ({low:.0f}{word}{high:.0f})"
        word = " to " if language == "en" else " à "
        return (f"{label} {centre} ({benefit} {number(self.upper_arr)}{word}{infinity}"
                f"{word}{harm} {number(self.lower_arr)})")


def interval(values: np.ndarray, mass: float = 0.9, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return the equal-tailed credible interval of `mass` along `axis`."""
    tail = (1.0 - mass) / 2.0
    return np.quantile(values, tail, axis=axis), np.quantile(values, 1.0 - tail, axis=axis)


def weighted_quantile(values: np.ndarray, weights: np.ndarray, probabilities) -> np.ndarray:
    """Return quantiles of 1-d `values` under normalised `weights` (inverted weighted ECDF).

    With equal weights it gives ``np.quantile(values, probabilities,
    method="inverted_cdf")``.
    """
    order = np.argsort(values)
    cumulative = np.cumsum(np.asarray(weights, dtype=float)[order])
    cumulative /= cumulative[-1]
    # The small offset keeps a probability equal to a cumulative weight on that value
    # despite rounding in the sum.
    position = np.searchsorted(cumulative, np.asarray(probabilities, dtype=float) - 1e-12)
    return np.asarray(values)[order][np.minimum(position, len(values) - 1)]


def risk_table(incidence: np.ndarray, scenarios: list[str], offsets: np.ndarray,
               horizons: tuple[float, ...], *, reference: int = 0, mass: float = 0.9,
               relevant: float = 0.02) -> pd.DataFrame:
    """Summarise cumulative-incidence draws of one patient per scenario and horizon.

    Parameters
    ----------
    incidence
        Draws of cumulative incidence, shape (scenario, time, draw).
    scenarios
        Scenario labels; `reference` indexes the reference plan.
    offsets
        Years after the start of each time point.
    horizons
        Horizons in years; each must be on the grid.
    reference
        Index of the reference scenario.
    mass
        Credible mass of the intervals (0.9: 90% intervals).
    relevant
        Absolute risk reduction that counts as clinically relevant (0.02 = 2
        percentage points).

    """
    rows = []
    for horizon in horizons:
        position = int(np.argmin(np.abs(offsets - horizon)))
        if abs(offsets[position] - horizon) > 1e-6:
            raise ValueError(f"horizon {horizon} years is not on the time grid "
                             f"(0 to {offsets[-1]:g} years)")
        reference_risk = incidence[reference, position]
        for index, label in enumerate(scenarios):
            risk = incidence[index, position]
            arr = reference_risk - risk
            low, high = interval(risk, mass)
            arr_low, arr_high = interval(arr, mass)
            median_arr = float(np.median(arr))
            row = {
                "scenario": label, "horizon": horizon, "risk": float(np.median(risk)),
                "risk_low": float(low), "risk_high": float(high),
                "arr": median_arr, "arr_low": float(arr_low), "arr_high": float(arr_high),
                "p_benefit": float(np.mean(arr > 0)), "p_relevant": float(np.mean(arr > relevant)),
            }
            if index == reference:
                row.update(arr=0.0, arr_low=0.0, arr_high=0.0, p_benefit=math.nan,
                           p_relevant=math.nan, nnt=math.nan, nnt_text="reference")
            else:
                nnt = NNT(median_arr, float(arr_low), float(arr_high))
                row["nnt"] = 1.0 / median_arr if median_arr != 0 else math.inf
                row["nnt_text"] = nnt.text()
            rows.append(row)
    return pd.DataFrame(rows)


ESC_GOALS = {"very_high": 1.4, "high": 1.8}
"""ESC/EAS 2019 LDL-C goals in mmol/L, with at least a 50% reduction from baseline."""


def goal_summary(ldl: np.ndarray, untreated: np.ndarray, offsets: np.ndarray,
                 category: str) -> dict:
    """Return the probability of meeting the ESC LDL-C goal and the time to reach it.

    Parameters
    ----------
    ldl
        LDL-C draws of one scenario, shape (time, draw).
    untreated
        Untreated LDL-C draws at the start, shape (draw,), for the 50% rule.
    offsets
        Years after the start of each time point.
    category
        ``very_high`` or ``high`` (ESC risk category).

    """
    goal = ESC_GOALS[category]
    met = (ldl < goal) & (ldl <= 0.5 * untreated[None, :])
    probability = met.mean(axis=1)
    reached = np.flatnonzero(probability >= 0.5)
    return {
        "goal_mmol_l": goal,
        "p_goal": float(probability[-1]),
        "years_to_goal": float(offsets[reached[0]]) if reached.size else math.nan,
    }
