"""Bad model input: each gives one clear error naming the key or the table."""

import dataclasses

import pytest

from bayestwin.exceptions import CohortError, SpecError
from bayestwin.inference import fit
from bayestwin.spec import load_spec, parse_spec


def test_block_without_its_table_names_table(small_simulated):
    cohort = dataclasses.replace(small_simulated.cohort, microbiome=None)
    with pytest.raises(CohortError) as caught:
        fit(cohort, "fh_twin", seed=1, chains=1, warmup=5, draws=5, progress_bar=False)
    message = str(caught.value)
    assert "microbiome" in message
    assert "microbiome = false" in message


def test_unknown_key_in_model_file_is_rejected(tmp_path, small_simulated):
    text = load_spec("lipid_response").text.replace("[treatment]", "[treatment]\nrespons = true")
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SpecError, match="unknown key 'respons'"):
        fit(small_simulated.cohort, path, seed=1)


def test_negative_prior_scale_names_prior():
    text = load_spec("lipid_response").text.replace(
        'sigma_u = { dist = "half_normal", scale = 0.3 }',
        'sigma_u = { dist = "half_normal", scale = -0.3 }')
    with pytest.raises(SpecError, match="sigma_u"):
        parse_spec(text)


def test_missing_prior_is_named(small_simulated):
    text = load_spec("lipid_response").text.replace(
        'sigma_lab = { dist = "half_normal", scale = 0.2 }\n', "")
    spec = parse_spec(text, source="no_sigma_lab.toml")
    with pytest.raises(SpecError, match="prior 'sigma_lab'"):
        fit(small_simulated.cohort, spec, seed=1, chains=1, warmup=5, draws=5,
            progress_bar=False)
