"""Starting values read from the data."""

from __future__ import annotations

import numpy as np
import pytest

from bayestwin.inference.init import data_start_values, factor_start_values
from bayestwin.model import microbiome
from bayestwin.model.design import build_design
from bayestwin.simulate import simulate_cohort
from bayestwin.spec import load_spec


@pytest.fixture(scope="module")
def design():
    return build_design(simulate_cohort(120, seed=4).cohort, load_spec("fh_twin"))


def _loading(design, values):
    anchors = design.arrays["anchor_index"]
    free, positive = microbiome.loading_pattern(design.arrays["clr"].shape[1], anchors)
    raw = np.zeros((design.arrays["clr"].shape[1], len(anchors)))
    raw[free] = values["loading_free"]
    raw[positive] = values["loading_anchor"]
    return raw * values["loading_scale"]


def test_factor_start_follows_the_anchored_pattern(design):
    values = factor_start_values(design)
    anchors = design.arrays["anchor_index"]
    assert np.all(values["loading_anchor"] > 0)
    assert np.all(values["loading_scale"] > 0)
    assert np.all(values["psi"] > 0)
    loading = _loading(design, values)
    # Rebuilt through the model's pattern, the start spans the data's principal axes.
    clr = design.arrays["clr"]
    _, _, axes = np.linalg.svd(clr - clr.mean(axis=0), full_matrices=False)
    projection = axes[:len(anchors)].T @ axes[:len(anchors)]
    np.testing.assert_allclose(projection @ loading, loading, atol=1e-8)


def test_factor_start_reproduces_the_sample_covariance(design):
    values = factor_start_values(design)
    loading = _loading(design, values)
    clr = design.arrays["clr"]
    model = loading @ loading.T + np.diag(values["psi"] ** 2)
    observed = np.cov(clr.T, bias=True)
    # Two factors and a diagonal recover the sample covariance's diagonal and its
    # largest off-diagonal structure.
    np.testing.assert_allclose(np.diag(model), np.diag(observed), rtol=0.05)
    assert np.corrcoef(model[np.triu_indices_from(model, 1)],
                       observed[np.triu_indices_from(observed, 1)])[0, 1] > 0.8


def test_data_start_values_include_the_factors(design):
    values = data_start_values(design)
    assert {"w", "loading_anchor", "loading_free", "mu_taxa"} <= set(values)
