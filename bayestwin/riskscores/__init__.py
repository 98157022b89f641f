"""Published cardiovascular risk equations, used as baselines for the twins.

Each equation returns a point risk (no uncertainty interval) as a `RiskResult`
and raises `ValueError` outside its validated population. `applicable_scores`
runs all of them on a `RiskProfile` and reports why any does not apply.
See docs/riskscores.md for sources, endpoints, ranges and worked examples.
"""

from bayestwin.riskscores.aha_prevent import prevent
from bayestwin.riskscores.common import (
    MG_DL_PER_MMOL_L,
    RiskResult,
    ValidRange,
    cholesterol_mg_dl_to_mmol,
    cholesterol_mmol_to_mg_dl,
)
from bayestwin.riskscores.esc_score2 import score2
from bayestwin.riskscores.esc_score2_op import score2_op
from bayestwin.riskscores.mesa import mesa_chd
from bayestwin.riskscores.pooled_cohort import pooled_cohort_equations
from bayestwin.riskscores.select import RiskProfile, applicable_scores, esc_fh_risk_category

__all__ = [
    "MG_DL_PER_MMOL_L",
    "RiskProfile",
    "RiskResult",
    "ValidRange",
    "applicable_scores",
    "cholesterol_mg_dl_to_mmol",
    "cholesterol_mmol_to_mg_dl",
    "esc_fh_risk_category",
    "mesa_chd",
    "pooled_cohort_equations",
    "prevent",
    "score2",
    "score2_op",
]
