"""Inference: NUTS configuration, seeds, the convergence gate, saving and loading fits."""

from bayestwin.inference.fit import Fit, fit, patient_variables, population_variables
from bayestwin.inference.gate import GateResult, GateThresholds, check_convergence
from bayestwin.inference.io import load_fit, save_fit

__all__ = [
    "Fit", "GateResult", "GateThresholds", "check_convergence", "fit", "load_fit",
    "patient_variables", "population_variables", "save_fit",
]
