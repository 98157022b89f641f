"""The two parameterisations of the patients' untreated LDL-C level give the same model."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from numpyro.infer import Predictive
from scipy import stats

from bayestwin.model.assemble import build_model
from bayestwin.model.design import build_design
from bayestwin.spec import parse_spec, resolve_model_path


def lipid_spec(parameterisation: str):
    text = resolve_model_path("lipid_response").read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines()
                     if not line.startswith("parameterisation =")) + "\n"
    text = text.replace('[lipids]\n', f'[lipids]\nparameterisation = "{parameterisation}"\n', 1)
    return parse_spec(text, source=f"lipid_response ({parameterisation})")


@pytest.mark.parametrize("parameterisation", ["centred", "non_centred"])
def test_parameterisation_key_is_read(small_simulated, parameterisation):
    spec = lipid_spec(parameterisation)
    bundle = build_model(spec, build_design(small_simulated.cohort, spec))
    draws = Predictive(bundle.model, num_samples=2)(jax.random.PRNGKey(0), bundle.data)
    assert ("w_std" in draws) == (parameterisation == "non_centred")


def test_both_give_the_same_prior_of_the_level(small_simulated):
    """The prior of every patient's u (tested in each class or not) agrees between the two."""
    samples = {}
    for parameterisation in ("centred", "non_centred"):
        spec = lipid_spec(parameterisation)
        bundle = build_model(spec, build_design(small_simulated.cohort, spec))
        predictive = Predictive(bundle.model, num_samples=4000, return_sites=["u"])
        samples[parameterisation] = np.asarray(
            predictive(jax.random.PRNGKey(11), bundle.data)["u"])
    for patient in range(samples["centred"].shape[1]):
        result = stats.ks_2samp(samples["centred"][:, patient],
                                samples["non_centred"][:, patient])
        assert result.pvalue > 1e-4, (patient, result)  # 40 patients: Bonferroni 0.004
