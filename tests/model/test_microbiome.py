"""The anchored loading pattern of the microbiome factor model."""

from __future__ import annotations

import numpy as np
import numpyro
import pytest
from numpyro.handlers import seed, substitute, trace
from scipy import stats

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


def test_whitened_scores_leave_the_factor_model_unchanged(micro_design):
    """With the population fixed, the microbiome terms are a standard normal density in z_raw.

    The Gaussian factor model makes p(z) p(x | z) = p(x) N(z; m, V); with the
    Jacobian of z = m + R'^-1 e, the terms in e must be N(e; 0, I) up to a
    constant, and z must follow the textbook conditional mean for one patient.
    """
    _, spec, design = micro_design
    numpyro.enable_x64()  # the model file's dtype; the terms cancel to about 1e-12
    bundle = build_model(spec, design)
    base = trace(seed(bundle.model, 3)).get_trace(bundle.data)
    fixed = {name: site["value"] for name, site in base.items()
             if site["type"] == "sample" and not site["is_observed"] and name != "z_raw"}
    rng = np.random.default_rng(0)

    def microbiome_terms(e):
        model = substitute(seed(bundle.model, 0), data={**fixed, "z_raw": e})
        sites = trace(model).get_trace(bundle.data)
        total = sum(float(np.sum(sites[name]["fn"].log_prob(sites[name]["value"])))
                    for name in ("z_raw", "clr"))
        return total + float(np.sum(sites["z_prior"]["fn"].log_prob(sites["z_prior"]["value"]))
                             ) - float(np.sum(stats.norm.logpdf(e))), sites

    shape = base["z_raw"]["value"].shape
    values = [microbiome_terms(rng.normal(size=shape)) for _ in range(4)]
    constants = [value for value, _ in values]
    np.testing.assert_allclose(constants, constants[0], rtol=1e-9, atol=1e-6)

    # z of one sampled patient at e = 0 is the conditional mean (I + n A)^-1 Lambda' Psi^-2 sum.
    _, sites = microbiome_terms(np.zeros(shape))
    loading = np.asarray(sites["loading"]["value"])
    psi = np.asarray(fixed["psi"])
    mu = np.asarray(fixed["mu_taxa"])
    patient = int(design.arrays["sample_patient"][0])
    rows = design.arrays["clr"][design.arrays["sample_patient"] == patient]
    weighted = loading / psi[:, None] ** 2
    precision = np.eye(loading.shape[1]) + len(rows) * loading.T @ weighted
    expected = np.linalg.solve(precision, weighted.T @ (rows - mu).sum(axis=0))
    np.testing.assert_allclose(np.asarray(sites["z"]["value"])[patient], expected, rtol=1e-6)
