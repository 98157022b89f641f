"""The anchored loading pattern of the microbiome factor model."""

from __future__ import annotations

import numpy as np
import pytest
from numpyro.handlers import seed, trace

from bayestwin.model.assemble import build_model
from bayestwin.model.design import build_design, design_reference, factor_anchors
from bayestwin.model.microbiome import loading_pattern
from bayestwin.spec import load_spec
from bayestwin.twin.landmark import subset_cohort


def test_loading_pattern_fixes_rotation_and_sign():
    free, positive = loading_pattern(5, [3, 1])
    mask = np.zeros((5, 2), dtype=bool)
    mask[free] = True
    # Anchor of factor 1 (taxon 3) loads only on factor 1, positively.
    assert not mask[3].any()
    # Anchor of factor 2 (taxon 1) loads freely on factor 1, positively on factor 2.
    assert mask[1].tolist() == [True, False]
    assert positive[0].tolist() == [3, 1]
    assert positive[1].tolist() == [0, 1]
    assert mask.sum() == 10 - 3


def test_anchors_follow_the_principal_axes():
    rng = np.random.default_rng(4)
    loadings = np.zeros((6, 2))
    loadings[4, 0], loadings[2, 1] = 3.0, 1.5
    loadings[:, 0] += rng.normal(0, 0.1, 6)
    scores = rng.normal(size=(400, 2))
    clr = scores @ loadings.T + rng.normal(0, 0.2, (400, 6))
    assert factor_anchors(clr, 2) == [4, 2]


@pytest.fixture(scope="module")
def micro_design(request):
    simulated = request.getfixturevalue("small_simulated")
    spec = load_spec("fh_twin")
    return simulated, spec, build_design(simulated.cohort, spec)


def test_model_loadings_are_anchored(micro_design):
    _, spec, design = micro_design
    bundle = build_model(spec, design)
    sites = trace(seed(bundle.model, 3)).get_trace(bundle.data)
    loading = np.asarray(sites["loading"]["value"])
    anchors = design.arrays["anchor_index"]
    for k, row in enumerate(anchors):
        assert loading[row, k] > 0
        assert np.all(loading[row, k + 1:] == 0)
    assert design.info["factor_anchor"] == [design.coords["taxon"][a] for a in anchors]


def test_new_patients_keep_the_fit_anchors(micro_design):
    simulated, spec, design = micro_design
    reference = design_reference(design)
    assert reference["factor_anchor"] == design.info["factor_anchor"]
    measurements = simulated.cohort.measurements
    imaged = measurements.loc[measurements["marker"] == "cac", "patient_id"].unique()[:3]
    few = build_design(subset_cohort(simulated.cohort, list(imaged)), spec, reference=reference)
    assert few.info["factor_anchor"] == design.info["factor_anchor"]


def test_new_patient_without_sample_or_scan(micro_design):
    simulated, spec, design = micro_design
    cohort = subset_cohort(simulated.cohort, list(simulated.cohort.patients.index[:2]))
    cohort.measurements = cohort.measurements[cohort.measurements["marker"] == "ldl_c"]
    cohort.microbiome = cohort.microbiome.iloc[:0]
    few = build_design(cohort, spec, reference=design_reference(design))
    assert few.arrays["clr"].shape == (0, len(design.coords["taxon"]))
    assert few.arrays["cac_value"].size == 0
    bundle = build_model(spec, few)
    sites = trace(seed(bundle.model, 0)).get_trace(bundle.data)
    assert sites["z"]["value"].shape == (2, len(design.coords["factor"]))
