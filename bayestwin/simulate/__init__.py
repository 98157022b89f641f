"""FH cohort simulator with known ground truth, calibrated to published figures.

`simulate_cohort` draws a cohort from the generative model of the model
documentation: families, genotype, Lp(a), diet, microbiome, treatment
histories, lipid panels, imaging and events. `simulate_counterfactual`
computes the same patients' true futures under other treatment plans.
"""

from bayestwin.simulate.calibration import calibration_table, markdown_table
from bayestwin.simulate.cohort import SimulatedCohort, simulate_cohort
from bayestwin.simulate.config import (
    SAMS_EXCESS_PER_1000_PY_FIRST_YEAR,
    DesignSettings,
    PopulationParameters,
    SimulatorConfig,
)
from bayestwin.simulate.counterfactual import OBSERVED_PLAN, simulate_counterfactual
from bayestwin.simulate.targets import TARGETS, Target
from bayestwin.simulate.truth import truth_from_json, truth_to_json

__all__ = [
    "OBSERVED_PLAN",
    "SAMS_EXCESS_PER_1000_PY_FIRST_YEAR",
    "TARGETS",
    "DesignSettings",
    "PopulationParameters",
    "SimulatedCohort",
    "SimulatorConfig",
    "Target",
    "calibration_table",
    "markdown_table",
    "simulate_cohort",
    "simulate_counterfactual",
    "truth_from_json",
    "truth_to_json",
]
