"""models/framingham.toml on the Framingham teaching data: arrays and a finite density."""

from __future__ import annotations

import jax
import numpy as np
import numpyro
import pytest
from numpyro.infer.util import initialize_model

from bayestwin.adapters.framingham import framingham_cohort
from bayestwin.data import read_cohort, write_cohort
from bayestwin.inference.init import data_start_values, init_to_median_jittered
from bayestwin.model.assemble import build_model
from bayestwin.model.design import build_design
from bayestwin.spec import load_spec


@pytest.fixture(scope="module")
def cohort(frmgham2_path):
    return framingham_cohort(frmgham2_path)


@pytest.mark.filterwarnings("ignore::bayestwin.exceptions.DataWarning")  # 31 high values, real
def test_written_cohort_reads_back(cohort, tmp_path):
    """The CLI chain starts from the written folder, so it must pass the reader."""
    write_cohort(cohort, tmp_path / "framingham")
    back = read_cohort(tmp_path / "framingham")
    assert back.n_patients == cohort.n_patients
    assert set(back.patients["smoking"]) == {"current", "not_current"}


def test_design_follows_the_exams(cohort):
    spec = load_spec("framingham")
    design = build_design(cohort, spec)
    assert design.coords["time_varying_covariate"] == ["sbp", "smoking", "diabetes"]
    # Birth to exam 1, then up to two exams, then the rest of follow-up.
    assert design.arrays["piece_start"].shape == (cohort.n_patients, 4)
    change = design.arrays["susceptibility_change"]
    changed = (np.abs(change) > 0).any(axis=1).mean(axis=0)
    assert changed[0] > 0.8  # SBP differs between exams for most participants
    assert 0.05 < changed[1] < 0.4  # some stop or start smoking
    assert design.arrays["event_flag"].sum() == (cohort.events["event"] == "cvd").sum()


def test_log_density_is_finite(cohort):
    spec = load_spec("framingham")
    design = build_design(cohort, spec)
    numpyro.enable_x64()  # as fit does for float64 model files
    bundle = build_model(spec, design)
    info = initialize_model(jax.random.PRNGKey(0), bundle.model, model_args=(bundle.data,),
                            init_strategy=init_to_median_jittered(
                                values=data_start_values(design)))
    value, gradient = jax.value_and_grad(info.potential_fn)(info.param_info.z)
    assert np.isfinite(value)
    assert all(np.all(np.isfinite(g)) for g in jax.tree_util.tree_leaves(gradient))


@pytest.fixture(scope="module")
def structural(cohort):
    """Prior draws of the Framingham model for 150 participants (a structural stand-in)."""
    from bayestwin.testing import prior_fit
    from bayestwin.twin.landmark import subset_cohort

    small = subset_cohort(cohort, list(cohort.patients.index[:150]))
    return small, prior_fit(small, "framingham", draws=40, seed=1)


def test_twin_without_drugs_or_fh_rules(structural):
    from bayestwin.exceptions import ScenarioError
    from bayestwin.twin.api import make_twin

    small, fit = structural
    patient = str(small.patients.index[3])
    twin = make_twin(fit, small, patient, ["current"], seed=1)
    assert twin.info["category"] == "not_assessed"
    assert twin.info["marker"] == "total_c"
    assert twin.goals.empty
    assert twin.risks["risk"].between(0, 1).all()
    with pytest.raises(ScenarioError, match="no treatment block"):
        make_twin(fit, small, patient, ["current", "atorvastatin:40"], seed=1)


@pytest.mark.parametrize("language, endpoint, marker", [
    ("en", "Risk of cardiovascular disease (CVD)", "Total cholesterol"),
    ("fr", "Risque de maladie cardiovasculaire (MCV)", "Cholestérol total"),
])
def test_report_names_the_endpoint_and_marker(structural, tmp_path, language, endpoint, marker):
    from bayestwin.report import write_reports
    from bayestwin.twin.api import make_twin

    small, fit = structural
    patient = str(small.patients.index[3])
    twin = make_twin(fit, small, patient, ["current"], seed=1)
    [path] = write_reports(twin, cohort=small, gate=fit.gate, model_name=fit.spec.name,
                           model_sha256=fit.spec.sha256, data_date="2026-12-05",
                           out_dir=tmp_path, languages=[language], formats=["html"],
                           risk_profile=None)
    html = path.read_text(encoding="utf-8")
    assert endpoint in html
    assert marker in html
    assert "MACE" not in html
    assert "hdl_c" in html  # why the published scores do not apply
