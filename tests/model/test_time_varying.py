"""Time-varying susceptibility: the burden integral by piece against a fine grid."""

from __future__ import annotations

from dataclasses import replace

import jax
import numpy as np
import pandas as pd
import pytest
from numpyro.handlers import seed, trace

from bayestwin.exceptions import SpecError
from bayestwin.model.assemble import build_model
from bayestwin.model.design import build_design
from bayestwin.spec import parse_spec, resolve_model_path
from bayestwin.twin.api import history_from_design
from bayestwin.twin.trajectory import history_state

jax.config.update("jax_enable_x64", True)

START = 6.0  # years since entry at which the burden is compared


def framingham_like_spec():
    text = resolve_model_path("framingham").read_text(encoding="utf-8")
    return parse_spec(text.replace('marker = "total_c"', 'marker = "ldl_c"')
                      .replace('events = ["cvd"]', 'events = ["mi"]'), source="test spec")


@pytest.fixture(scope="module")
def cohort(small_simulated):
    """Simulated patients who start smoking at 2 years and whose SBP rises at 4 years."""
    base = small_simulated.cohort
    ids = base.patients.index
    rows = []
    for number, patient in enumerate(ids):
        rows += [(patient, 0.0, "smoking_current", 0.0, "1"),
                 (patient, 2.0 + 0.1 * (number % 5), "smoking_current", 1.0, "1"),
                 (patient, 4.0, "sbp", 150.0 + number, "mmHg"),
                 (patient, 0.0, "diabetes", 0.0, "1")]
    extra = pd.DataFrame(rows, columns=["patient_id", "time", "marker", "value", "unit"])
    measurements = pd.concat([base.measurements, extra], ignore_index=True)
    patients = base.patients.assign(end_time=np.maximum(base.patients["end_time"], START + 1),
                                    bp_medication=False)
    return replace(base, measurements=measurements, patients=patients)


def test_time_varying_must_be_a_susceptibility_covariate():
    text = resolve_model_path("framingham").read_text(encoding="utf-8")
    text = text.replace('susceptibility = ["sbp", "smoking", "diabetes"]',
                        'susceptibility = ["sbp", "diabetes"]')
    with pytest.raises(SpecError, match="time_varying lists 'smoking'"):
        parse_spec(text, source="bad")


def test_pieces_are_cut_where_covariates_change(cohort):
    design = build_design(cohort, framingham_like_spec())
    origin = design.origin[0]
    assert np.any(np.isclose(design.arrays["piece_start"][0], origin + 2.0))
    assert np.any(np.isclose(design.arrays["piece_start"][0], origin + 4.0))
    change = design.arrays["susceptibility_change"][0]
    names = design.coords["time_varying_covariate"]
    later = design.arrays["piece_start"][0] >= origin + 4.0 - 1e-9
    smoking = change[:, names.index("smoking")]
    assert np.all(smoking[design.arrays["piece_start"][0] < origin + 2.0 - 1e-9] == 0)
    assert np.all(smoking[later] == 1)


def test_history_burden_matches_a_fine_grid(cohort):
    spec = framingham_like_spec()
    design = build_design(cohort, spec)
    bundle = build_model(spec, design)
    sites = trace(seed(bundle.model, 5)).get_trace(bundle.data)
    value = {name: np.asarray(site["value"]) for name, site in sites.items()}
    patients = np.arange(4)
    draws = {name: jax.numpy.asarray(value[name][patients])[None] for name in ("u", "v", "log_s")}
    draws["gamma"] = jax.numpy.asarray(value["gamma"])[None]
    history = history_from_design(design, patients, np.full(4, START), [])
    _, _, excess = history_state(draws, history, reference_age=spec.reference_age,
                                 threshold=spec.section("burden").threshold)
    burden = np.exp(value["log_s"][patients]) * np.asarray(excess)[0]

    names = design.coords["susceptibility_covariate"]
    gamma = value["gamma"]
    for k, p in enumerate(patients):
        end = design.origin[p] + START
        grid = np.linspace(0.0, end, 400_001)
        middle = (grid[1:] + grid[:-1]) / 2
        slope = value["v"][p] / 10.0
        level = np.exp(value["u"][p] + slope * (middle - spec.reference_age))
        piece = np.searchsorted(design.arrays["piece_start"][p], middle, side="right") - 1
        change = design.arrays["susceptibility_change"][p][piece]  # (grid, Q)
        index = [names.index(n) for n in design.coords["time_varying_covariate"]]
        rate = np.exp(value["log_s"][p] + change @ gamma[index])
        expected = np.sum(rate * (level - spec.section("burden").threshold) * np.diff(grid))
        assert burden[k] == pytest.approx(expected, rel=1e-4)


def test_model_burden_matches_the_twin_formula(cohort):
    """The model's piecewise burden (burden.excess_at with weights) equals history_state's."""
    from bayestwin.model import burden as block
    from bayestwin.model.design import locate_piece

    spec = framingham_like_spec()
    threshold = spec.section("burden").threshold
    design = build_design(cohort, spec)
    bundle = build_model(spec, design)
    sites = trace(seed(bundle.model, 8)).get_trace(bundle.data)
    value = {name: np.asarray(site["value"]) for name, site in sites.items()}
    slope = value["v"] / 10.0
    log_level = (value["u"] - slope * spec.reference_age)[:, None] + np.zeros_like(
        design.arrays["piece_start"])
    weight = np.asarray(block.piece_weight(value, design.arrays["susceptibility_change"],
                                           design.arrays["time_varying_index"]))
    excess = weight * np.asarray(block.piece_excess(
        log_level, slope, design.arrays["piece_start"], design.arrays["piece_stop"], threshold))
    cumulative = np.cumsum(excess, axis=1) - excess
    patients = np.arange(4)
    at = design.origin[patients] + START
    piece = locate_piece(design.arrays["piece_start"], patients, at)
    model = np.asarray(block.excess_at(log_level, slope, design.arrays["piece_start"], cumulative,
                                       patients, piece, at, threshold, weight=weight))

    draws = {name: jax.numpy.asarray(value[name][patients])[None] for name in ("u", "v")}
    draws["gamma"] = jax.numpy.asarray(value["gamma"])[None]
    history = history_from_design(design, patients, np.full(4, START), [])
    _, _, twin = history_state(draws, history, reference_age=spec.reference_age,
                               threshold=threshold)
    np.testing.assert_allclose(model, np.asarray(twin)[0], rtol=1e-9)


@pytest.mark.parametrize("column", [
    pd.Series([True, False, None], dtype="boolean"),
    pd.Series(["True", "false", ""]),
    pd.Series([1.0, 0.0, np.nan]),
    pd.Series(["yes", "no", None], dtype=object),
])
def test_flag_covariates_become_numbers(column):
    from bayestwin.model.design import numeric_covariate

    assert numeric_covariate(column).tolist() == [1.0, 0.0, 0.0]
