"""Parameterisations of patient, group and spread parameters give the same model."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro import handlers
from numpyro.infer import Predictive
from scipy import stats

from bayestwin.model import burden, treatment
from bayestwin.model.assemble import build_model
from bayestwin.model.design import build_design
from bayestwin.model.polar import PolarTransform
from bayestwin.spec import parse_spec, resolve_model_path

CHOICES = ("centred", "non_centred", "by_data")


def fh_spec(parameterisation: str):
    text = resolve_model_path("fh_twin").read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines()
                     if not line.startswith("parameterisation =")) + "\n"
    setting = f'parameterisation = "{parameterisation}"\n'
    text = text.replace("[burden]\n", "[burden]\n" + setting, 1)
    text = text.replace("[treatment]\n", "[treatment]\n" + setting, 1)
    return parse_spec(text, source=f"fh_twin ({parameterisation})")


@pytest.fixture(scope="module")
def bundles(small_simulated):
    result = {}
    for choice in CHOICES:
        spec = fh_spec(choice)
        result[choice] = build_model(spec, build_design(small_simulated.cohort, spec))
    return result


def test_flags_follow_the_data(bundles):
    bundle = bundles["by_data"]
    design, data = bundle.design, bundle.data
    imaged = np.asarray(burden.imaged(data, design.n_patients))
    positive = design.arrays["cac_patient"][design.arrays["cac_value"] > 0]
    owners = np.concatenate([positive, design.arrays["plaque_patient"]])
    assert set(np.flatnonzero(imaged)) == set(owners.tolist())
    zero_only = set(design.arrays["cac_patient"].tolist()) - set(owners.tolist())
    assert zero_only, "the cohort should have a patient whose only scan is a CAC of zero"
    assert 0 < imaged.sum() < design.n_patients
    on_statin, on_other = (np.asarray(flag) for flag in treatment.measured_on_treatment(data))
    patient, piece = design.arrays["obs_patient"], design.arrays["obs_piece"]
    dose = design.arrays["statin_dose"][patient, piece] * design.arrays["statin_adherence"][
        patient, piece]
    assert set(np.flatnonzero(on_statin)) == set(patient[dose > 0].tolist())
    other = design.arrays["class_adherence"][patient, piece].sum(axis=-1)
    assert set(np.flatnonzero(on_other)) == set(patient[other > 0].tolist())
    assert on_statin.any()
    assert on_other.any()


def test_by_data_centres_informed_patients(bundles):
    """With by_data, xi is log s minus its covariate part for imaged patients only."""
    bundle = bundles["by_data"]
    trace = handlers.trace(handlers.seed(bundle.model, 3)).get_trace(bundle.data)
    xi = np.asarray(trace["xi"]["value"])
    sigma = float(trace["sigma_s"]["value"])
    scale = np.asarray(trace["xi"]["fn"].base_dist.scale
                       if hasattr(trace["xi"]["fn"], "base_dist") else trace["xi"]["fn"].scale)
    imaged = np.asarray(burden.imaged(bundle.data, bundle.design.n_patients))
    np.testing.assert_allclose(scale[imaged], sigma)
    np.testing.assert_allclose(scale[~imaged], 1.0)
    assert xi.shape == (bundle.design.n_patients,)


def test_all_give_the_same_prior(bundles):
    """Every patient's log s and responsiveness have the same prior under each choice."""
    sites = ["log_s", "r_statin", "r_nonstatin"]
    samples = {}
    for choice, bundle in bundles.items():
        predictive = Predictive(bundle.model, num_samples=3000, return_sites=sites)
        draws = predictive(jax.random.PRNGKey(5), bundle.data)
        samples[choice] = {site: np.asarray(draws[site]) for site in sites}
    for site in sites:
        for choice in ("non_centred", "by_data"):
            for patient in range(samples["centred"][site].shape[1]):
                result = stats.ks_2samp(samples["centred"][site][:, patient],
                                        samples[choice][site][:, patient])
                # 3 sites x 2 choices x 40 patients: Bonferroni at 0.05 is about 2e-4.
                assert result.pvalue > 2e-4, (site, choice, patient, result)


def test_centred_group_effects_same_prior(small_simulated):
    """Centre effects sampled directly or standardised have the same prior."""
    samples = {}
    for listed in ("[]", '["centre"]'):
        text = resolve_model_path("fh_twin").read_text(encoding="utf-8")
        text = "\n".join(line for line in text.splitlines()
                         if not line.startswith("centred_effects =")) + "\n"
        text = text.replace("[lipids]\n", f"[lipids]\ncentred_effects = {listed}\n", 1)
        spec = parse_spec(text, source=f"fh_twin (centred_effects = {listed})")
        bundle = build_model(spec, build_design(small_simulated.cohort, spec))
        trace = handlers.trace(handlers.seed(bundle.model, 0)).get_trace(bundle.data)
        raw_scale = np.asarray(trace["centre_raw"]["fn"].base_dist.scale)
        sigma = float(trace["sigma_centre"]["value"])
        expected = sigma if listed != "[]" else 1.0
        np.testing.assert_allclose(raw_scale, expected)
        predictive = Predictive(bundle.model, num_samples=3000, return_sites=["centre_effect"])
        draws = predictive(jax.random.PRNGKey(2), bundle.data)
        samples[listed] = np.asarray(draws["centre_effect"])
    for centre in range(samples["[]"].shape[1]):
        result = stats.ks_2samp(samples["[]"][:, centre], samples['["centre"]'][:, centre])
        assert result.pvalue > 1e-3, (centre, result)


def test_polar_transform_inverse_and_jacobian():
    transform = PolarTransform()
    x = jnp.array([[-1.2, 0.3], [0.5, -2.0], [2.0, 4.0]])
    y = transform(x)
    assert bool(jnp.all(y > 0))
    np.testing.assert_allclose(transform.inv(y), x, atol=1e-4)  # float32 when run alone
    jacobian = jax.vmap(jax.jacfwd(transform))(x)
    np.testing.assert_allclose(transform.log_abs_det_jacobian(x, y),
                               np.log(np.abs(np.linalg.det(np.asarray(jacobian)))), atol=1e-5)


def test_spread_pair_keeps_each_prior(small_simulated):
    """The polar pair site gives sigma_u and sigma_family their own priors."""
    spec = fh_spec("by_data")
    bundle = build_model(spec, build_design(small_simulated.cohort, spec))
    trace = handlers.trace(handlers.seed(bundle.model, 0)).get_trace(bundle.data)
    assert trace["sigma_u_family"]["type"] == "sample"
    predictive = Predictive(bundle.model, num_samples=4000,
                            return_sites=["sigma_u", "sigma_family"])
    draws = predictive(jax.random.PRNGKey(9), bundle.data)
    for name in ("sigma_u", "sigma_family"):
        prior = spec.prior(name)
        scale = prior.params["scale"]
        result = stats.kstest(np.asarray(draws[name]), stats.halfnorm(scale=scale).cdf)
        assert result.pvalue > 1e-3, (name, result)


def _fh_variant(lipids: dict[str, str]):
    """fh_twin with `[lipids]` keys replaced."""
    lines = resolve_model_path("fh_twin").read_text(encoding="utf-8").splitlines()
    text = "\n".join(line for line in lines
                     if line.split("=")[0].strip() not in lipids) + "\n"
    settings = "".join(f'{key} = "{value}"\n' for key, value in lipids.items())
    return parse_spec(text.replace("[lipids]\n", "[lipids]\n" + settings, 1),
                      source=f"fh_twin ({lipids})")


@pytest.mark.parametrize(("site", "variants"), [
    ("u", ({"family_effects": "sampled"}, {"family_effects": "integrated"})),
    ("u", ({"family_effects": "integrated", "parameterisation": "centred"},
           {"family_effects": "integrated", "parameterisation": "non_centred"})),
])
def test_reparameterised_lipid_sites_keep_their_prior(small_simulated, site, variants):
    """Levels with the family effect integrated out (centred or not) have the same prior
    as with the family effect sampled."""
    samples = []
    for lipids in variants:
        spec = _fh_variant(lipids)
        bundle = build_model(spec, build_design(small_simulated.cohort, spec))
        predictive = Predictive(bundle.model, num_samples=3000, return_sites=[site])
        samples.append(np.asarray(predictive(jax.random.PRNGKey(4), bundle.data)[site]))
    first, second = samples
    for patient in range(first.shape[1]):
        result = stats.ks_2samp(first[:, patient], second[:, patient])
        assert result.pvalue > 1e-3, (site, patient, result)
    # Relatives' levels are correlated through the family effect in both forms.
    if site == "u":
        family = np.asarray(build_design(small_simulated.cohort, _fh_variant(variants[0]))
                            .arrays["family_index"])
        pair = next((i, j) for i in range(len(family)) for j in range(i + 1, len(family))
                    if family[i] == family[j])
        correlations = [np.corrcoef(s[:, pair[0]], s[:, pair[1]])[0, 1] for s in samples]
        assert correlations[0] == pytest.approx(correlations[1], abs=0.06)
