"""The convergence gate on synthetic draws whose mixing is known."""

import arviz as az
import numpy as np

from bayestwin.inference.gate import GateResult, GateThresholds, check_convergence


def _idata(mu, diverging=None):
    rng = np.random.default_rng(0)
    chains, draws = mu.shape
    stats = {"diverging": np.zeros((chains, draws), bool) if diverging is None else diverging,
             "energy": rng.standard_normal((chains, draws))}
    return az.from_dict(posterior={"mu": mu, "u": rng.standard_normal((chains, draws, 3))},
                        sample_stats=stats, dims={"u": ["patient"]})


def test_independent_draws_pass():
    rng = np.random.default_rng(1)
    result = check_convergence(_idata(rng.standard_normal((4, 1000))), population=["mu"],
                               patient=["u"])
    assert result.passed, result.table()


def test_shifted_chain_fails_rhat():
    rng = np.random.default_rng(2)
    mu = rng.standard_normal((4, 1000))
    mu[0] += 3.0  # one chain stuck elsewhere
    result = check_convergence(_idata(mu), population=["mu"], patient=["u"])
    assert not result.passed
    assert any("R-hat" in failure for failure in result.failures)


def test_divergences_fail_gate():
    rng = np.random.default_rng(3)
    diverging = np.zeros((4, 1000), bool)
    diverging[1, 10] = True
    result = check_convergence(_idata(rng.standard_normal((4, 1000)), diverging),
                               population=["mu"], patient=["u"])
    assert not result.passed
    assert result.divergences == 1


def test_few_draws_fail_ess():
    rng = np.random.default_rng(4)
    result = check_convergence(_idata(rng.standard_normal((2, 50))), population=["mu"],
                               patient=["u"])
    assert any("ESS" in failure for failure in result.failures)


def test_result_round_trips_json():
    rng = np.random.default_rng(5)
    result = check_convergence(_idata(rng.standard_normal((4, 500))), population=["mu"],
                               patient=["u"], thresholds=GateThresholds(ess_bulk_min=100))
    again = GateResult.from_json(result.to_json())
    assert again.passed == result.passed
    assert again.thresholds.ess_bulk_min == 100
    assert "Convergence gate" in again.table()
