"""The classic joint model on the Mayo PBC data against JMbayes2's published fit.

Reference: JMbayes2 0.5-7 vignette "Univariate and Multivariate Joint Models"
(``jointFit1 <- jm(coxph(Surv(years, status2) ~ sex, pbc2.id),
lme(log(serBilir) ~ year * sex, random = ~ year | id), time_var = "year")``,
endpoint death or transplant) and vignette "Dynamic Predictions" (landmark at
5 years, window 3 years, 202 patients at risk, 40 events in the window).

The default run fits short chains (2 x 400 + 400) and checks the numbers; the
slow run fits 2 x 1000 + 1000 at target acceptance 0.99 and also requires the
convergence gate. Both fits use all patients, as the vignettes do, so the
landmark scores are in-sample for the population parameters.
"""

import warnings

import numpy as np
import pytest

from bayestwin.adapters.pbc import pbc_cohort
from bayestwin.exceptions import ConvergenceWarning
from bayestwin.inference import fit as fit_model
from bayestwin.testing import require_shared_file
from bayestwin.twin.draws import stacked
from bayestwin.twin.landmark import baseline_cox_risk, landmark_accuracy, landmark_predictions

# JMbayes2 jointFit1: posterior mean and 95% credible interval.
PUBLISHED_ALPHA = (1.2433, 1.0776, 1.4140)
PUBLISHED_FEMALE = (-0.1581, -0.6499, 0.3848)
PUBLISHED_SIGMA_B = {"intercept": 1.0028, "slope": 0.1829}
PUBLISHED_SIGMA_Y = 0.3465
# JMbayes2 Dynamic Predictions vignette (trivariate joint model, model-based weights).
PUBLISHED_AUC = 0.8282
PUBLISHED_BRIER = 0.1242
PUBLISHED_COX_AUC = 0.6736

FITS = {
    "reduced": {"chains": 2, "warmup": 400, "draws": 400, "target_accept": 0.9},
    "full": {"chains": 2, "warmup": 1000, "draws": 1000, "target_accept": 0.99},
}


@pytest.fixture(scope="module")
def cohort():
    return pbc_cohort(require_shared_file("pbc2.csv"), require_shared_file("pbc2_id.csv"),
                      markers=("bilirubin", "prothrombin", "ascites"))


@pytest.fixture(scope="module", params=["reduced", pytest.param("full", marks=pytest.mark.slow)])
def pbc_fit(request, cohort):
    settings = FITS[request.param]
    with warnings.catch_warnings():
        # The gate is checked by its own test (full fit only), not by a warning.
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = fit_model(cohort, "joint_classic", seed=20240611, progress_bar=False, **settings)
    result.label = request.param
    return result


def summary(fit, name, index=None):
    values = stacked(fit.idata, name)
    values = values if index is None else values[:, index]
    return values.mean(), np.quantile(values, [0.025, 0.975])


def test_association_inside_published_interval(pbc_fit):
    mean, (lower, upper) = summary(pbc_fit, "alpha_value")
    assert PUBLISHED_ALPHA[1] < mean < PUBLISHED_ALPHA[2]
    # Widths within 25%: both are about 4 posterior SDs of the same posterior.
    published_width = PUBLISHED_ALPHA[2] - PUBLISHED_ALPHA[1]
    assert abs((upper - lower) / published_width - 1.0) < 0.25


def test_female_effect_inside_published_interval(pbc_fit):
    mean, (lower, upper) = summary(pbc_fit, "beta_event", 0)
    assert PUBLISHED_FEMALE[1] < mean < PUBLISHED_FEMALE[2]
    published_width = PUBLISHED_FEMALE[2] - PUBLISHED_FEMALE[1]
    assert abs((upper - lower) / published_width - 1.0) < 0.25


@pytest.mark.parametrize("position, name", [(0, "intercept"), (1, "slope")])
def test_random_effect_sd_near_published(pbc_fit, position, name):
    # 10%: the posterior SD of each is about 4-7% of its mean, so 10% allows
    # for the different baseline hazards and priors of the two packages.
    mean, _ = summary(pbc_fit, "sigma_b", position)
    assert abs(mean / PUBLISHED_SIGMA_B[name] - 1.0) < 0.10


def test_residual_sd_near_published(pbc_fit):
    mean, _ = summary(pbc_fit, "sigma_y")
    assert abs(mean / PUBLISHED_SIGMA_Y - 1.0) < 0.10


def test_full_fit_passes_convergence_gate(pbc_fit):
    if pbc_fit.label != "full":
        pytest.skip("short chains are not expected to pass the gate (R-hat of 624 patient "
                    "coefficients needs about 1,000 draws per chain)")
    assert pbc_fit.gate.passed, pbc_fit.gate.table()


@pytest.fixture(scope="module")
def landmark(pbc_fit, cohort):
    prediction = landmark_predictions(pbc_fit, cohort, landmark=5.0, window=3.0, seed=5,
                                      max_draws=400)
    return prediction, landmark_accuracy(prediction.table, landmark=5.0, horizon=8.0)


def test_landmark_risk_set_matches_vignette(landmark):
    _, scores = landmark
    assert scores["n_at_risk"] == 202
    assert scores["n_events"] == 40
    assert scores["n_censored"] == 58


def test_landmark_auc_near_published(landmark):
    # Our AUC weights censoring by IPCW, JMbayes2's by the model; 0.05 covers both.
    _, scores = landmark
    assert abs(scores["auc"] - PUBLISHED_AUC) < 0.05


def test_landmark_brier_near_published(landmark):
    _, scores = landmark
    assert abs(scores["brier"] - PUBLISHED_BRIER) < 0.03


def test_landmark_acceptance_reasonable(landmark):
    prediction, _ = landmark
    assert prediction.conditioned.acceptance.min() > 0.5
    assert prediction.conditioned.mode_converged.all()


def test_joint_model_beats_baseline_cox(landmark, cohort):
    _, scores = landmark
    cox = baseline_cox_risk(cohort, landmark=5.0, window=3.0, endpoint=["death", "transplant"],
                            markers=["bilirubin"], log_markers=["bilirubin"],
                            covariates=["female"])
    cox_scores = landmark_accuracy(cox, landmark=5.0, horizon=8.0)
    assert cox_scores["n_at_risk"] == 202
    assert scores["auc"] > cox_scores["auc"] + 0.1


def test_baseline_cox_near_published(cohort):
    # The vignette's comparator: drug, age, log bilirubin, prothrombin time and
    # ascites at entry. IPCW instead of model-based weights: 0.06 allowed.
    patients = cohort.patients.copy()
    patients["d_penicillamine"] = (patients["trial_arm"] == "d_penicillamine").astype(float)
    with_arm = type(cohort)(**{**cohort.__dict__, "patients": patients})
    cox = baseline_cox_risk(with_arm, landmark=5.0, window=3.0,
                            endpoint=["death", "transplant"],
                            markers=["bilirubin", "prothrombin", "ascites"],
                            log_markers=["bilirubin"],
                            covariates=["d_penicillamine", "age_at_entry"])
    scores = landmark_accuracy(cox, landmark=5.0, horizon=8.0)
    assert abs(scores["auc"] - PUBLISHED_COX_AUC) < 0.06
