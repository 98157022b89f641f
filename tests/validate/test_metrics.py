import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from sksurv.metrics import (
    brier_score as sksurv_brier_score,
)
from sksurv.metrics import (
    concordance_index_censored,
    concordance_index_ipcw,
    cumulative_dynamic_auc,
)
from sksurv.util import Surv

from bayestwin.validate.metrics import (
    brier_score,
    cox_baseline_risk,
    harrell_c,
    time_dependent_auc,
    uno_c,
)

HORIZON = 4.0


def _simulate(seed: int, n: int = 600):
    """Exponential event times with hazard 0.1 exp(x), uniform censoring on [0, 15]."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    rate = 0.1 * np.exp(x)
    event_time = rng.exponential(1 / rate)
    censor_time = rng.uniform(0, 15, size=n)
    time = np.minimum(event_time, censor_time)
    event = event_time <= censor_time
    risk = 1 - np.exp(-rate * HORIZON)
    return time, event, risk, x


@pytest.fixture(scope="module")
def data():
    return _simulate(seed=11)


# Agreement with scikit-survival called directly ----------------------------
# These check that the wrappers pass the inputs through unchanged, including
# the censoring of follow-up after the horizon done before the IPCW metrics.


def test_harrell_matches_sksurv(data):
    time, event, risk, _ = data
    expected = concordance_index_censored(event, time, risk)[0]
    assert harrell_c(time, event, risk) == expected


def test_uno_matches_sksurv(data):
    time, event, risk, _ = data
    survival = Surv.from_arrays(event, time)
    expected = concordance_index_ipcw(survival, survival, risk, tau=HORIZON)[0]
    assert uno_c(time, event, risk, horizon=HORIZON) == pytest.approx(expected, abs=1e-15)


def test_uno_with_training_data(data):
    time, event, risk, _ = data
    train, test = slice(0, 400), slice(400, None)
    expected = concordance_index_ipcw(
        Surv.from_arrays(event[train], time[train]),
        Surv.from_arrays(event[test], time[test]),
        risk[test],
        tau=HORIZON,
    )[0]
    result = uno_c(time[test], event[test], risk[test], horizon=HORIZON,
                   train_time=time[train], train_event=event[train])
    assert result == pytest.approx(expected, abs=1e-15)


def test_auc_matches_sksurv(data):
    time, event, risk, _ = data
    survival = Surv.from_arrays(event, time)
    expected = cumulative_dynamic_auc(survival, survival, risk, [HORIZON])[0][0]
    assert time_dependent_auc(time, event, risk, horizon=HORIZON) == pytest.approx(
        expected, abs=1e-15
    )


def test_brier_matches_sksurv(data):
    time, event, risk, _ = data
    survival = Surv.from_arrays(event, time)
    expected = sksurv_brier_score(survival, survival, 1 - risk, [HORIZON])[1][0]
    assert brier_score(time, event, risk, horizon=HORIZON) == pytest.approx(expected, abs=1e-15)


def test_test_time_beyond_training():
    # scikit-survival rejects test times after the last training time; the
    # wrapper caps them, which cannot change a metric at an earlier horizon.
    time = np.array([1.0, 2.0, 3.0, 5.0, 6.0, 9.0])
    event = np.array([1, 0, 1, 1, 0, 0])
    risk = np.array([0.8, 0.3, 0.6, 0.4, 0.2, 0.1])
    train_time = np.array([1.5, 2.5, 3.5, 4.5, 7.0])
    # The last training time is an event, so the censoring distribution stays
    # positive there and scikit-survival cannot extrapolate it.
    train_event = np.array([1, 0, 1, 0, 1])
    with pytest.raises(ValueError, match="largest observed time"):
        sksurv_brier_score(Surv.from_arrays(train_event.astype(bool), train_time),
                           Surv.from_arrays(event.astype(bool), time), 1 - risk, [4.0])
    # Without the subject followed to 9 (a control at the horizon 4, like its
    # capped version), scikit-survival accepts the data and agrees.
    capped = time.copy()
    capped[-1] = 7.0
    expected = sksurv_brier_score(Surv.from_arrays(train_event.astype(bool), train_time),
                                  Surv.from_arrays(event.astype(bool), capped), 1 - risk,
                                  [4.0])[1][0]
    result = brier_score(time, event, risk, horizon=4.0, train_time=train_time,
                         train_event=train_event)
    assert result == pytest.approx(expected, abs=1e-15)


# Values computed by hand -----------------------------------------------------

TINY_TIME = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
TINY_EVENT = np.array([1, 1, 0, 1, 0])


def test_harrell_by_hand():
    # Comparable pairs (i has the event and the shorter time): from time 1,
    # four pairs, all concordant; from time 2, three pairs, one discordant
    # (risk 0.5 < 0.7); from time 4, one concordant pair. C = 7/8.
    risk = np.array([0.9, 0.5, 0.7, 0.3, 0.1])
    assert harrell_c(TINY_TIME, TINY_EVENT, risk) == pytest.approx(7 / 8, abs=1e-15)


def test_harrell_tie_by_hand():
    # The discordant pair above becomes a tie, worth one half: C = 7.5/8.
    risk = np.array([0.9, 0.5, 0.5, 0.3, 0.1])
    assert harrell_c(TINY_TIME, TINY_EVENT, risk) == pytest.approx(7.5 / 8, abs=1e-15)


def test_harrell_horizon_by_hand():
    # Censored at 3.5, the event at 4 drops out: 7 pairs, 6 concordant.
    risk = np.array([0.9, 0.5, 0.7, 0.3, 0.1])
    assert harrell_c(TINY_TIME, TINY_EVENT, risk, horizon=3.5) == pytest.approx(6 / 7, abs=1e-15)


def test_uno_equals_harrell_without_censoring():
    # With no censoring every weight 1/G(T)^2 is 1, so Uno's C is Harrell's C.
    time = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    event = np.ones(6, dtype=bool)
    risk = np.array([0.9, 0.5, 0.7, 0.3, 0.4, 0.1])
    # 15 pairs; discordant: (2,3) and (4,5). C = 13/15.
    assert uno_c(time, event, risk) == pytest.approx(13 / 15, abs=1e-15)
    assert harrell_c(time, event, risk) == pytest.approx(13 / 15, abs=1e-15)


def test_auc_by_hand():
    # No censoring before the horizon 3.5: cases at 1, 2, 3 with risks 0.8,
    # 0.4, 0.6; controls with risks 0.5, 0.2, 0.3. Of the 9 case-control
    # pairs, only (0.4, 0.5) is discordant: AUC = 8/9.
    time = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    event = np.array([1, 1, 1, 0, 1, 0])
    risk = np.array([0.8, 0.4, 0.6, 0.5, 0.2, 0.3])
    assert time_dependent_auc(time, event, risk, horizon=3.5) == pytest.approx(8 / 9, abs=1e-15)


def test_brier_by_hand_without_early_censoring():
    # No censoring before 3.5, so every weight is 1:
    # cases (1-0.8)^2 + (1-0.4)^2 + (1-0.6)^2 = 0.56,
    # controls 0.5^2 + 0.2^2 + 0.3^2 = 0.38, mean (0.56 + 0.38) / 6.
    time = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    event = np.array([1, 1, 1, 0, 1, 0])
    risk = np.array([0.8, 0.4, 0.6, 0.5, 0.2, 0.3])
    assert brier_score(time, event, risk, horizon=3.5) == pytest.approx(0.94 / 6, abs=1e-15)


def test_brier_by_hand_with_censoring():
    # Censoring at 2 with 3 subjects at risk: G = 2/3 from time 2 on. The
    # subject censored at 2 has weight 0. Cases at 1 (G = 1) and 3 (G = 2/3),
    # control at 4 weighted by 1/G(3.5) = 3/2:
    # (0.2^2 + 0.4^2 * 3/2 + 0.3^2 * 3/2) / 4 = 0.10375.
    time = np.array([1.0, 2.0, 3.0, 4.0])
    event = np.array([1, 0, 1, 0])
    risk = np.array([0.8, 0.5, 0.6, 0.3])
    assert brier_score(time, event, risk, horizon=3.5) == pytest.approx(0.10375, abs=1e-15)


# Input checks -----------------------------------------------------------------


def test_mismatched_lengths_rejected(data):
    time, event, risk, _ = data
    with pytest.raises(ValueError, match=r"risk has shape \(599,\), expected \(600,\)"):
        harrell_c(time, event, risk[:-1])
    with pytest.raises(ValueError, match=r"event has shape"):
        brier_score(time, event[:10], risk, horizon=HORIZON)


def test_two_dimensional_risk_rejected(data):
    time, event, risk, _ = data
    with pytest.raises(ValueError, match="expected a 1-D array"):
        uno_c(time, event, risk[:, None])


@pytest.mark.parametrize("bad", [-0.1, 1.2, np.nan])
def test_risk_outside_unit_interval_rejected(data, bad):
    time, event, risk, _ = data
    risk = risk.copy()
    risk[3] = bad
    with pytest.raises(ValueError, match=r"risk\[3\].*outside \[0, 1\]"):
        time_dependent_auc(time, event, risk, horizon=HORIZON)


@pytest.mark.parametrize("function", [uno_c, time_dependent_auc, brier_score, harrell_c])
def test_horizon_beyond_follow_up_rejected(data, function):
    time, event, risk, _ = data
    with pytest.raises(ValueError, match="beyond follow-up"):
        function(time, event, risk, horizon=time.max() + 1)


def test_horizon_beyond_training_rejected(data):
    time, event, risk, _ = data
    with pytest.raises(ValueError, match="beyond follow-up"):
        brier_score(time, event, risk, horizon=5.0, train_time=[1.0, 2.0, 4.0],
                    train_event=[1, 0, 1])


def test_horizon_before_first_event_rejected():
    with pytest.raises(ValueError, match="before the first event"):
        brier_score([2.0, 3.0, 4.0], [0, 1, 1], [0.1, 0.2, 0.3], horizon=2.5)


def test_event_codes_checked(data):
    time, _, risk, _ = data
    with pytest.raises(ValueError, match=r"event\[0\] = 2"):
        harrell_c(time, np.full(len(time), 2), risk)
    with pytest.raises(ValueError, match="no event"):
        harrell_c(time, np.zeros(len(time)), risk)


def test_training_data_given_together(data):
    time, event, risk, _ = data
    with pytest.raises(ValueError, match="given together"):
        uno_c(time, event, risk, horizon=HORIZON, train_time=time)


# Cox baseline -------------------------------------------------------------------


def _frames(seed: int, n: int):
    time, event, risk, x = _simulate(seed, n)
    frame = pd.DataFrame({"time": time, "event": event.astype(int), "x": x, "true_risk": risk})
    return frame


def test_cox_baseline_matches_lifelines():
    train, test = _frames(3, 500), _frames(4, 200)
    test.index = test.index + 1000
    risk = cox_baseline_risk(train, test, duration_col="time", event_col="event",
                             covariates=["x"], horizon=HORIZON)
    model = CoxPHFitter().fit(train[["time", "event", "x"]], duration_col="time",
                              event_col="event")
    expected = 1 - model.predict_survival_function(test[["x"]], times=[HORIZON]).iloc[0]
    assert risk.name == "risk"
    pd.testing.assert_index_equal(risk.index, test.index)
    np.testing.assert_allclose(risk.to_numpy(), expected.to_numpy(), rtol=1e-12)


def test_cox_baseline_recovers_true_risk():
    # The simulated model is a Cox model, so with 3,000 training subjects the
    # predicted 4-year risks should be close to the true ones. Over 30 other
    # seeded pairs of draws, the mean absolute error averaged 0.008 (SD 0.005,
    # max 0.024), so the bound 0.03 is about 4 SD above the average.
    train, test = _frames(5, 3000), _frames(6, 500)
    risk = cox_baseline_risk(train, test, duration_col="time", event_col="event",
                             covariates=["x"], horizon=HORIZON)
    assert np.abs(risk - test["true_risk"]).mean() < 0.03


def test_cox_baseline_checks_inputs():
    train, test = _frames(3, 200), _frames(4, 50)
    with pytest.raises(ValueError, match=r"test_df lacks column\(s\) \['z'\]"):
        cox_baseline_risk(train.assign(z=1.0), test, duration_col="time", event_col="event",
                          covariates=["z"], horizon=HORIZON)
    with pytest.raises(ValueError, match="missing values"):
        cox_baseline_risk(train.assign(x=np.nan), test, duration_col="time",
                          event_col="event", covariates=["x"], horizon=HORIZON)
    with pytest.raises(ValueError, match="beyond follow-up"):
        cox_baseline_risk(train, test, duration_col="time", event_col="event",
                          covariates=["x"], horizon=100.0)
    with pytest.raises(ValueError, match="covariates is empty"):
        cox_baseline_risk(train, test, duration_col="time", event_col="event",
                          covariates=[], horizon=HORIZON)
