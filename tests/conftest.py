"""Fits shared by the test session, so that each model is built or sampled once."""

from __future__ import annotations

import gc
import warnings

import jax
import numpyro
import pytest

# Two CPU devices let the two chains of the shared fits run in parallel. This
# must happen before JAX starts, which is why it sits at the top of conftest.
numpyro.set_host_device_count(2)


@pytest.fixture(autouse=True, scope="session")
def _compilation_cache(tmp_path_factory):
    """Keep compiled programs on disk for the session.

    Several tests fit the same model to the same data with other seeds or
    settings that do not change the program, and `_release_compiled_code`
    drops the programs held in memory after each module. A program needed
    again is read back from this folder instead of being compiled again:
    the three short fits of tests/inference/test_seeding.py went from 150 s
    to 68-79 s (two runs). The folder is new for each session, so no run depends on another.
    """
    jax.config.update("jax_compilation_cache_dir", str(tmp_path_factory.mktemp("jax_cache")))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    yield
    jax.config.update("jax_compilation_cache_dir", None)


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_code():
    """Drop JAX's compiled programs after each test module.

    Every compiled program keeps its code mapped in memory until the JIT
    caches are cleared, and one NUTS fit adds about 4,000 memory maps. Over
    the whole suite a single process passed the kernel's limit
    (vm.max_map_count, 65,530 by default) and XLA aborted while compiling.
    Fits shared between modules keep their draws; only compiled code goes.
    """
    yield
    jax.clear_caches()
    gc.collect()


FH_PATIENTS = 200
"""Cohort size of the NUTS fit of the full FH twin in the slow suite."""


@pytest.fixture(scope="session")
def fh_simulated():
    from bayestwin.simulate import simulate_cohort

    return simulate_cohort(FH_PATIENTS, seed=11)


@pytest.fixture(scope="session")
def fh_fit(fh_simulated):
    """The full FH twin fitted with NUTS to 200 simulated patients, 2 chains (slow)."""
    from bayestwin.inference import fit

    return fit(fh_simulated.cohort, "fh_twin", seed=5, chains=2, warmup=1000, draws=1000,
               progress_bar=False)


@pytest.fixture(scope="session")
def small_simulated():
    from bayestwin.simulate import simulate_cohort

    return simulate_cohort(40, seed=7)


@pytest.fixture(scope="session")
def lipid_fit(small_simulated):
    """A short NUTS fit of the lipid model: real fit output, not converged on purpose."""
    from bayestwin.exceptions import ConvergenceWarning
    from bayestwin.inference import fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(small_simulated.cohort, "lipid_response", seed=5, chains=2, warmup=100,
                   draws=100, progress_bar=False)


@pytest.fixture(scope="session")
def twin_simulated():
    from bayestwin.simulate import simulate_cohort

    return simulate_cohort(60, seed=11)


@pytest.fixture(scope="session")
def fh_structural_fit(twin_simulated):
    """The full FH twin with prior draws in place of posterior draws.

    For tests of structure (dims, shapes, bad requests, files), not of values:
    sampling the full model takes minutes, drawing from its prior a second.
    Its gate is marked passed so that the report path runs.
    """
    from bayestwin.testing import prior_fit

    return prior_fit(twin_simulated.cohort, "fh_twin", draws=200, seed=3)
