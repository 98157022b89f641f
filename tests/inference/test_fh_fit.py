"""The full FH twin fitted with NUTS on 200 simulated patients (slow suite)."""

import json

import arviz as az
import numpy as np
import pytest
import xarray as xr

from bayestwin.inference import load_fit

pytestmark = pytest.mark.slow


def test_fh_fit_passes_gate(fh_fit):
    assert fh_fit.gate.passed, fh_fit.gate.table()


def test_posterior_has_named_dims(fh_fit):
    posterior = fh_fit.idata.posterior
    assert posterior["u"].dims == ("chain", "draw", "patient")
    assert posterior["z"].dims == ("chain", "draw", "patient", "factor")
    assert posterior["beta_variant"].dims == ("chain", "draw", "variant_effect")
    assert posterior["loading"].dims[-2:] == ("taxon", "factor")
    for name, variable in posterior.data_vars.items():
        for dim in variable.dims:
            assert "_dim_" not in dim, f"{name} has an unnamed dim {dim}"


def test_provenance_attributes(fh_fit):
    attrs = fh_fit.idata.attrs
    versions = json.loads(attrs["package_versions"])
    assert {"jax", "numpyro", "arviz"} <= set(versions)
    assert attrs["model_name"] == "fh_twin"
    assert len(attrs["model_sha256"]) == 64
    assert len(attrs["data_sha256"]) == 64
    assert attrs["seed"] == 5
    sampler = json.loads(attrs["sampler"])
    assert sampler["chains"] == 2
    timings = json.loads(attrs["timings"])
    assert timings["gradient_evaluations"] > 0


def test_log_likelihood_group_for_loo(fh_fit):
    assert "log_likelihood" in fh_fit.idata.groups()
    assert "log_ldl" in fh_fit.idata.log_likelihood


def test_observed_data_not_stored_by_default(fh_fit):
    assert "observed_data" not in fh_fit.idata.groups()


def test_save_and_load_round_trip(fh_fit, tmp_path):
    path = fh_fit.save(tmp_path / "fit.nc")
    loaded = load_fit(path)
    xr.testing.assert_identical(loaded.idata.posterior, fh_fit.idata.posterior)
    assert loaded.spec.sha256 == fh_fit.spec.sha256
    assert loaded.gate.passed == fh_fit.gate.passed
    assert loaded.idata.attrs["data_sha256"] == fh_fit.idata.attrs["data_sha256"]


def test_untreated_ldl_tracks_truth(fh_fit, fh_simulated):
    # The default-run check of recovery; the full one (500 patients) is in the slow suite.
    truth = fh_simulated.truth_patients.loc[
        fh_fit.idata.posterior["patient"].values]
    estimate = fh_fit.idata.posterior["u"].mean(("chain", "draw")).values
    assert np.corrcoef(estimate, truth["u"])[0, 1] > 0.8


def test_summary_runs(fh_fit):
    summary = az.summary(fh_fit.idata, var_names=["mu_u", "statin_emax", "alpha_L"])
    assert len(summary) == 3
    assert pytest.approx(summary.loc["statin_emax", "mean"], abs=0.2) == 0.6
