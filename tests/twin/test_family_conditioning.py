"""Conditioning relatives on a fit whose family effects were integrated out.

The fit stores family effects drawn from their exact conditional posterior.
Conditioning a patient who is in the fit, with that patient's own data and
the stored family effect, is then one Gibbs step from the posterior, so the
patient's level must come back with the fit's posterior mean and spread.
"""

import warnings

import arviz as az
import numpy as np
import pytest

from bayestwin.exceptions import ConvergenceWarning
from bayestwin.inference import fit as fit_model
from bayestwin.spec import parse_spec, resolve_model_path
from bayestwin.twin.conditioning import condition_new_patients
from bayestwin.twin.landmark import subset_cohort

CHAINS, DRAWS = 2, 300


def family_spec(parameterisation: str):
    """Return lipid_response (family effects integrated out) with `parameterisation` levels."""
    text = resolve_model_path("lipid_response").read_text(encoding="utf-8")
    assert 'family_effects = "integrated"' in text
    assert 'untested_class = "family"' in text
    text = text.replace("[lipids]\n", f'[lipids]\nparameterisation = "{parameterisation}"\n', 1)
    return parse_spec(text, source=f"lipid_response with {parameterisation} levels")


def fit_family(cohort, parameterisation: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit_model(cohort, family_spec(parameterisation), seed=2, chains=CHAINS,
                         warmup=300, draws=DRAWS, progress_bar=False)


@pytest.fixture(scope="module")
def family_fit(small_simulated):
    """The fit of lipid_response as shipped, with centred levels."""
    return fit_family(small_simulated.cohort, "centred")


def test_fit_stores_family_effects(family_fit):
    posterior = family_fit.idata.posterior
    assert family_fit.spec.section("lipids").family_effects == "integrated"
    assert posterior["family_effect"].dims == ("chain", "draw", "family")
    assert "level_centre" not in posterior
    np.testing.assert_allclose(posterior["family_raw"] * posterior["sigma_family"],
                               posterior["family_effect"], rtol=1e-6)


def check_relatives(cohort, family_fit):
    sizes = cohort.patients["family_id"].value_counts()
    families = list(sizes[sizes >= 2].index[:2])
    assert families, "the cohort should have a family with two patients or more"
    patients = [str(p) for p in cohort.patients.index
                if cohort.patients.loc[p, "family_id"] in families]
    with warnings.catch_warnings():
        # A draw with a heavy-tailed residual can stall the Newton search for a family: once
        # in 600 draws (nu = 3.5) when lipid_response sampled standardised responsiveness.
        # Metropolis-Hastings keeps such a draw exact, so up to 1% of draws may miss the mode.
        warnings.filterwarnings("ignore", message="the Newton search", category=ConvergenceWarning)
        conditioned = condition_new_patients(family_fit, subset_cohort(cohort, patients), seed=8)
    assert conditioned.mode_misses.max() <= 0.01 * CHAINS * DRAWS
    fitted = family_fit.idata.posterior["u"]
    for j, patient in enumerate(patients):
        ours = conditioned.draws["u"][:, j].reshape(CHAINS, DRAWS)
        theirs = fitted.sel(patient=patient).values
        error = theirs.std() * np.sqrt(1.0 / az.ess(theirs) + 1.0 / az.ess(ours))
        assert abs(ours.mean() - theirs.mean()) < 4.0 * error, patient
        assert ours.std() / theirs.std() == pytest.approx(1.0, abs=0.2), patient


def test_relatives_in_fit_recover_their_levels(small_simulated, family_fit):
    check_relatives(small_simulated.cohort, family_fit)


@pytest.mark.slow
def test_relatives_with_standardised_levels(small_simulated):
    check_relatives(small_simulated.cohort, fit_family(small_simulated.cohort, "non_centred"))
