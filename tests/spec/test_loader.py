"""Tests of the model-file reader: shipped files load, bad files fail clearly."""

import pytest

from bayestwin.exceptions import SpecError
from bayestwin.spec import BLOCKS, PRIORS, load_spec, parse_spec

MINIMAL = """
[model]
name = "tiny"

[blocks]
lipids = true

[priors]
mu_u = { dist = "normal", loc = 1.9, scale = 0.5 }
"""


@pytest.mark.parametrize("name", ["fh_twin", "lipid_response", "joint_classic"])
def test_shipped_models_load(name):
    spec = load_spec(name)
    assert spec.name == name
    assert len(spec.sha256) == 64
    assert spec.blocks


def test_fh_twin_switches_every_fh_block_on():
    spec = load_spec("fh_twin")
    for block in ("lipids", "treatment", "burden", "imaging", "events", "microbiome"):
        assert spec.has(block), block


@pytest.mark.parametrize("key", ["likelihood", "slope", "parameterisation", "family_effects",
                                 "untested_class"])
def test_lipid_block_matches_fh_twin(key):
    # Simulation-based calibration checks the lipid block through lipid_response, so that
    # check covers fh_twin only while both files write the block the same way.
    lipid_response = load_spec("lipid_response").section("lipids")
    fh_twin = load_spec("fh_twin").section("lipids")
    assert getattr(lipid_response, key) == getattr(fh_twin, key)


def test_fh_twin_declares_every_prior_its_blocks_use():
    spec = load_spec("fh_twin")
    # Priors that the chosen options do not use may be absent.
    unused = {"baseline_smoothness", "weibull_shape", "alpha_value", "cimt0", "cimt1",
              "sigma_cimt", "baseline_log_hazard"}
    for block in spec.blocks:
        for name in PRIORS[block]:
            if name not in unused:
                assert name in spec.priors, name


def test_minimal_file_fills_defaults():
    spec = parse_spec(MINIMAL)
    assert spec.time_scale == "age"
    assert spec.section("lipids").marker == "ldl_c"
    assert spec.section("inference").chains == 4


def test_unknown_key_names_key_and_options():
    text = MINIMAL.replace('name = "tiny"', 'name = "tiny"\ntime_scal = "age"')
    with pytest.raises(SpecError) as caught:
        parse_spec(text, source="bad.toml")
    message = str(caught.value)
    assert "bad.toml" in message
    assert "time_scal" in message
    assert "time_scale" in message


def test_unknown_section_is_rejected():
    with pytest.raises(SpecError, match=r"unknown section \[prior\]"):
        parse_spec(MINIMAL + "\n[prior]\nx = 1\n")


def test_negative_prior_scale_is_rejected():
    text = MINIMAL.replace("scale = 0.5", "scale = -0.5")
    with pytest.raises(SpecError) as caught:
        parse_spec(text)
    assert "mu_u" in str(caught.value)
    assert "positive" in str(caught.value)


def test_bad_choice_lists_valid_values():
    text = MINIMAL.replace('name = "tiny"', 'name = "tiny"\ntime_scale = "calendar"')
    with pytest.raises(SpecError, match="Valid: age, time"):
        parse_spec(text)


def test_unknown_prior_for_blocks_on():
    text = MINIMAL + 'alpha_B = { dist = "normal", loc = 0.0, scale = 1.0 }\n'
    with pytest.raises(SpecError, match="unknown prior 'alpha_B'"):
        parse_spec(text)


def test_unknown_distribution_lists_options():
    text = MINIMAL.replace('dist = "normal"', 'dist = "gaussian"')
    with pytest.raises(SpecError, match="unknown dist 'gaussian'"):
        parse_spec(text)


def test_missing_prior_parameter():
    text = MINIMAL.replace(", scale = 0.5", "")
    with pytest.raises(SpecError, match="missing parameter"):
        parse_spec(text)


def test_block_dependency_is_checked():
    text = MINIMAL.replace("lipids = true", "burden = true")
    with pytest.raises(SpecError, match="needs lipids = true"):
        parse_spec(text)


def test_unknown_endpoint_event():
    text = MINIMAL.replace("lipids = true", "lipids = true\nevents = true") + (
        '\n[endpoint]\nevents = ["heart_attack"]\n')
    with pytest.raises(SpecError, match="heart_attack"):
        parse_spec(text)


def test_missing_model_file_lists_builtins(tmp_path):
    with pytest.raises(SpecError, match="fh_twin"):
        load_spec(tmp_path / "nope.toml")


def test_invalid_toml_is_a_spec_error():
    with pytest.raises(SpecError, match="invalid TOML"):
        parse_spec("[model\nname = 1")


def test_blocks_constant_matches_schema():
    assert set(BLOCKS) == set(PRIORS)


def test_spec_layer_imports_no_ppl():
    import subprocess
    import sys

    code = ("import sys, bayestwin.spec; "
            "print(any(m.split('.')[0] in ('numpyro', 'jax', 'pymc') for m in sys.modules))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert output == "False"


NO_FAMILY = 'random_effects = ["centre"]\n'


@pytest.mark.parametrize(("lipids", "message"), [
    (NO_FAMILY + 'family_effects = "integrated"', "needs 'family' in random_effects"),
    (NO_FAMILY + 'untested_class = "family"', "needs 'family' in random_effects"),
    ('family_effects = "integrated"', "needs untested_class = 'family'"),
])
def test_integrated_family_effects_need_families_and_shared_classes(lipids, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(MINIMAL + f"\n[lipids]\n{lipids}\n")


def test_with_setting_replaces_one_key():
    spec = load_spec("fh_twin")
    changed = spec.with_setting("lipids", "family_effects", "sampled")
    assert changed.section("lipids").family_effects == "sampled"
    assert spec.section("lipids").family_effects == "integrated"
    assert changed.sha256 == spec.sha256
