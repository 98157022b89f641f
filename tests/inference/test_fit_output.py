"""Output of a real NUTS fit (short lipid model): dims, provenance, log likelihood, files."""

import json

import xarray as xr

from bayestwin.inference import load_fit


def test_posterior_dims_are_named(lipid_fit):
    posterior = lipid_fit.idata.posterior
    assert posterior["u"].dims == ("chain", "draw", "patient")
    assert posterior["beta_variant"].dims == ("chain", "draw", "variant_effect")
    assert posterior["sigma_r"].dims == ("chain", "draw", "responsiveness_group")
    for name, variable in posterior.data_vars.items():
        for dim in variable.dims:
            assert "_dim_" not in dim, f"{name} has an unnamed dim {dim}"


def test_provenance(lipid_fit):
    attrs = lipid_fit.idata.attrs
    assert {"jax", "numpyro", "arviz"} <= set(json.loads(attrs["package_versions"]))
    assert attrs["model_name"] == "lipid_response"
    assert len(attrs["model_sha256"]) == 64
    assert len(attrs["data_sha256"]) == 64
    assert attrs["seed"] == 5
    assert json.loads(attrs["sampler"])["chains"] == 2
    assert json.loads(attrs["timings"])["gradient_evaluations"] > 0


def test_log_likelihood_for_loo(lipid_fit):
    assert "log_ldl" in lipid_fit.idata.log_likelihood


def test_no_observed_data_by_default(lipid_fit):
    assert "observed_data" not in lipid_fit.idata.groups()


def test_short_fit_is_flagged(lipid_fit):
    assert not lipid_fit.gate.passed
    assert "FAILED" in lipid_fit.gate.table()


def test_save_load_round_trip(lipid_fit, tmp_path):
    loaded = load_fit(lipid_fit.save(tmp_path / "fit.nc"))
    xr.testing.assert_identical(loaded.idata.posterior, lipid_fit.idata.posterior)
    assert loaded.spec.sha256 == lipid_fit.spec.sha256
    assert loaded.gate.passed == lipid_fit.gate.passed


def test_inference_data_matches_arviz_converter(lipid_fit):
    # The compiled conversion must give what az.from_numpyro gives for the same run.
    import arviz as az
    import jax
    import numpy as np
    from numpyro.infer import MCMC, NUTS

    from bayestwin.inference.fit import EXTRA_FIELDS, inference_data

    bundle = lipid_fit.bundle
    mcmc = MCMC(NUTS(bundle.model), num_warmup=5, num_samples=4, num_chains=2,
                chain_method="sequential", progress_bar=False)
    mcmc.run(jax.random.PRNGKey(0), bundle.data, extra_fields=EXTRA_FIELDS)
    ours = inference_data(mcmc, bundle)
    reference = az.from_numpyro(mcmc, coords=bundle.coords, dims=bundle.dims,
                                log_likelihood=True)
    assert ours.groups() == reference.groups()
    for group in reference.groups():
        expected, got = reference[group], ours[group]
        assert set(got.data_vars) == set(expected.data_vars), group
        for name in expected.data_vars:
            assert got[name].dims == expected[name].dims, (group, name)
            np.testing.assert_allclose(got[name].values, expected[name].values, rtol=1e-9,
                                       err_msg=f"{group}/{name}")
        assert set(got.attrs) == set(expected.attrs), group
        assert got.attrs["inference_library"] == "numpyro"
