"""Ground truth: site names, labelled dims, per-patient truth and its JSON form."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from bayestwin.data.vocabulary import VARIANT_CLASSES
from bayestwin.simulate import truth_from_json, truth_to_json
from bayestwin.simulate.config import TAXA, TRUE_VARIANT_CLASSES

# Site names of the model documentation, with the dim of labelled sites.
MODEL_SITES = {
    "mu_u": None,
    "beta_variant": "variant_class",
    "beta_prs": None,
    "beta_male": None,
    "beta_diet": None,
    "beta_z": "factor",
    "sigma_centre": None,
    "sigma_family": None,
    "sigma_u": None,
    "mu_v": None,
    "sigma_v": None,
    "statin_emax": None,
    "statin_ed50": None,
    "effect_ezetimibe": None,
    "effect_pcsk9_antibody": None,
    "effect_pcsk9_sirna": None,
    "effect_bempedoic_acid": None,
    "sigma_r": "drug_group",
    "sigma_lab": None,
    "nu": None,
    "ldl_threshold": None,
    "gamma": "susceptibility_covariate",
    "sigma_s": None,
    "kappa0": None,
    "kappa1": None,
    "lambda0": None,
    "lambda1": None,
    "sigma_cac": None,
    "alpha_B": None,
    "alpha_L": None,
    "beta_event": "event_covariate",
    "delta0": None,
    "delta1": None,
    "delta_male": None,
    "psi": "taxon",
}


@pytest.mark.parametrize("site", sorted(MODEL_SITES))
def test_truth_has_model_site(cohort_300, site):
    truth = cohort_300.truth_population
    assert site in truth
    dim = MODEL_SITES[site]
    if dim is None:
        assert isinstance(truth[site], float)
    else:
        assert isinstance(truth[site], xr.DataArray)
        assert truth[site].dims[0] == dim


def test_truth_labels(cohort_300):
    truth = cohort_300.truth_population
    assert list(truth["beta_variant"]["variant_class"].values) == list(TRUE_VARIANT_CLASSES)
    assert float(truth["beta_variant"].sel(variant_class="ldlr_defective")) == 0.0
    assert list(truth["sigma_r"]["drug_group"].values) == ["statin", "nonstatin"]
    assert truth["microbiome_loadings"].dims == ("taxon", "factor")
    assert list(truth["psi"]["taxon"].values) == list(TAXA)
    # Loadings and means are centred over taxa, as on the centred log-ratio scale.
    np.testing.assert_allclose(truth["microbiome_loadings"].sum("taxon"), 0.0, atol=1e-4)
    assert truth["variant_class_probabilities"].sum() == pytest.approx(1.0)
    for name in (
        "weibull_shape",
        "weibull_log_rate",
        "plaque_intercept",
        "plaque_slope",
        "sigma_plaque",
        "ldl_ref",
        "burden_floor",
    ):
        assert isinstance(truth[name], float), name


def test_truth_json_round_trip(cohort_300, tmp_path):
    folder = cohort_300.write(tmp_path)
    text = (folder / "truth" / "population.json").read_text()
    assert text == truth_to_json(cohort_300.truth_population)
    parsed = truth_from_json(text)
    assert set(parsed) == set(cohort_300.truth_population)
    for name, value in cohort_300.truth_population.items():
        if isinstance(value, xr.DataArray):
            xr.testing.assert_identical(parsed[name], value.astype(float))
        else:
            assert parsed[name] == value
    assert json.loads(text)["alpha_B"] == cohort_300.truth_population["alpha_B"]


def test_patient_truth(cohort_300):
    truth = cohort_300.truth_patients
    cohort = cohort_300.cohort
    assert list(truth.index) == list(cohort.patients.index)
    for column in (
        "u",
        "v",
        "r_statin",
        "r_nonstatin",
        "s",
        "z1",
        "z2",
        "prs",
        "variant_class",
        "ldl_untreated_entry",
        "burden_entry",
        "burden_end",
        "risk_5y",
        "risk_10y",
    ):
        assert column in truth, column
    # The true class is known for every patient, including those not tested.
    assert set(truth["variant_class"]) <= set(TRUE_VARIANT_CLASSES)
    assert set(truth["variant_class"]) <= set(VARIANT_CLASSES)
    untested = cohort.genomics["variant_class"] == "not_tested"
    assert truth.loc[untested, "variant_class"].notna().all()
    assert (truth["risk_10y"] >= truth["risk_5y"]).all()
    assert truth["risk_10y"].between(0, 1).all()
    treated = truth["ldl_entry"] < truth["ldl_untreated_entry"]
    assert 0.5 < treated.mean() < 0.85  # design: 80% of index cases, 50% of relatives


def test_observed_covariates_equal_truth(cohort_300):
    cohort = cohort_300.cohort
    truth = cohort_300.truth_patients
    tested = cohort.genomics["prs"].notna()
    np.testing.assert_array_equal(cohort.genomics.loc[tested, "prs"], truth.loc[tested, "prs"])
    diet = cohort.diet.set_index("patient_id")["diet_score"]
    np.testing.assert_array_equal(diet.to_numpy(), truth.loc[diet.index, "diet_score"].to_numpy())


def _documented_parameters():
    text = (Path(__file__).resolve().parents[2] / "docs" / "simulator.md").read_text()
    block = re.search(r"<!-- parameter-table -->\n(.*?)<!-- /parameter-table -->", text, re.S)
    assert block, "docs/simulator.md lost its parameter-table markers"
    for line in block.group(1).splitlines():
        match = re.match(r"\| `(\w+)` \| ([^|]+) \|", line)
        if match:
            yield match.group(1), match.group(2).strip()


def test_documented_parameters_match_truth(cohort_300):
    truth = cohort_300.truth_population
    documented = dict(_documented_parameters())
    assert len(documented) >= 40
    for site, text in documented.items():
        value = truth[site]
        if isinstance(value, xr.DataArray):
            pairs = dict(item.rsplit(" ", 1) for item in text.split(", "))
            labels = [str(label) for label in value[value.dims[0]].values]
            assert sorted(pairs) == sorted(labels), site
            for label, number in pairs.items():
                assert float(value.sel({value.dims[0]: label})) == float(number), (site, label)
        else:
            assert value == float(text), site
