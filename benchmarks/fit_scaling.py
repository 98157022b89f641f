"""Fit the full FH twin on simulated cohorts of growing size and report speed and ESS.

Usage (run from the repository root; not part of the tests):

    .venv/bin/python benchmarks/fit_scaling.py --patients 250 1000 4000 --chains 4 \
        --warmup 1000 --draws 1000 --seed 1

For each size it reports wall time, compile time (first gradient), gradient
evaluations while sampling, time per gradient, min bulk and tail ESS over the
population parameters (and of their squares), ESS per second and per
gradient, the gate and the peak resident memory. Results are printed as a
Markdown table. ``--gradient-only`` skips the fits and reports the compile
time and the time per gradient, in the model file's precision.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpyro


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[250, 1000, 4000])
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--gradient-only", action="store_true",
                        help="time the compilation and the gradient only, without fitting")
    args = parser.parse_args()
    numpyro.set_host_device_count(min(args.chains, os.cpu_count() or 1))

    import arviz as az
    import jax
    import numpy as np
    from numpyro.infer.util import initialize_model

    from bayestwin.inference import fit, population_variables
    from bayestwin.model.assemble import build_model
    from bayestwin.model.design import build_design
    from bayestwin.simulate import simulate_cohort
    from bayestwin.spec import load_spec

    spec = load_spec("fh_twin")
    if spec.section("inference").dtype == "float64":
        numpyro.enable_x64()  # as `fit` does, so that the gradient is timed in the same precision
    rows = []
    for n in args.patients:
        simulated = simulate_cohort(n, seed=args.seed)

        # Compile time: the first gradient of the potential, measured apart.
        bundle = build_model(spec, build_design(simulated.cohort, spec))
        info = initialize_model(jax.random.PRNGKey(0), bundle.model, model_args=(bundle.data,))
        gradient = jax.jit(jax.grad(info.potential_fn))
        started = time.perf_counter()
        jax.block_until_ready(gradient(info.param_info.z))
        compile_seconds = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(20):
            jax.block_until_ready(gradient(info.param_info.z))
        gradient_ms = (time.perf_counter() - started) / 20 * 1000
        if args.gradient_only:
            rows.append({"patients": n, "compile_s": compile_seconds, "gradient_ms": gradient_ms,
                         "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                         / 1024 ** 2})
            print(rows[-1], flush=True)
            continue

        started = time.perf_counter()
        result = fit(simulated.cohort, spec, seed=args.seed, chains=args.chains,
                     warmup=args.warmup, draws=args.draws, progress_bar=False)
        wall = time.perf_counter() - started
        names = population_variables(result.idata)
        summary = az.summary(result.idata, var_names=names, kind="diagnostics")
        squared = result.idata.posterior[names] ** 2
        summary_squared = az.summary(az.convert_to_inference_data(squared), kind="diagnostics")
        steps = int(result.idata.sample_stats["n_steps"].sum())
        bulk = float(summary["ess_bulk"].min())
        rows.append({
            "patients": n, "wall_s": wall, "compile_s": compile_seconds,
            "gradient_ms": gradient_ms, "gradients": steps,
            "min_bulk_ess": bulk, "min_tail_ess": float(summary["ess_tail"].min()),
            "min_bulk_ess_sq": float(summary_squared["ess_bulk"].min()),
            "max_rhat": float(summary["r_hat"].max()), "ess_per_s": bulk / wall,
            "ess_per_gradient": bulk / max(steps, 1),
            "divergences": result.gate.divergences, "gate": result.gate.passed,
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2,
        })
        print(rows[-1], flush=True)

    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(f"{value:.3g}" if isinstance(value, float) else str(value)
                                for value in row.values()) + " |")
    del np


if __name__ == "__main__":
    main()
